// RFC 9000 §15 and §17.2 (versions, long-header types), RFC 9001 §5.2 and §5.8 (v1 salt, Retry key), RFC 9369 §3 (QUIC v2).
/**
 * Exports:
 * - `QUIC_V1`, `QUIC_V2`, `SUPPORTED_VERSIONS`, `versionParams(v)` → `VersionParams | undefined` (salt, labels, Retry key/nonce, type codes).
 * - `LongPacketType` ('initial' | '0rtt' | 'handshake' | 'retry'), `longTypeFromBits(version, bits)`, `longTypeBits(version, type)`.
 * - `isReservedVersion(v)` (0x?a?a?a?a greasing pattern), `greaseVersion(random)`, `isSupportedVersion(v)`, `versionName(v)`.
 */

import { fromHex } from '../wire/bytes.js';

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

/** Preference order used when we pick among versions (v1 first: it is what every peer speaks). */
export const SUPPORTED_VERSIONS: readonly number[] = [QUIC_V1, QUIC_V2];

export type LongPacketType = 'initial' | '0rtt' | 'handshake' | 'retry';

export interface VersionParams {
  readonly version: number;
  readonly initialSalt: Uint8Array;
  /** HKDF-Expand-Label labels for packet key, IV, header protection key and key update. */
  readonly labels: { readonly key: string; readonly iv: string; readonly hp: string; readonly ku: string };
  /** AES-128-GCM key and nonce for the Retry Integrity Tag. */
  readonly retryKey: Uint8Array;
  readonly retryNonce: Uint8Array;
  /** The two-bit long-header type code of each packet type (v2 permutes them to fight ossification). */
  readonly typeCodes: Readonly<Record<LongPacketType, number>>;
}

const V1: VersionParams = {
  version: QUIC_V1,
  initialSalt: fromHex('38762cf7f55934b34d179ae6a4c80cadccbb7f0a'),
  labels: { key: 'quic key', iv: 'quic iv', hp: 'quic hp', ku: 'quic ku' },
  retryKey: fromHex('be0c690b9f66575a1d766b54e368c84e'),
  retryNonce: fromHex('461599d35d632bf2239825bb'),
  typeCodes: { initial: 0b00, '0rtt': 0b01, handshake: 0b10, retry: 0b11 },
};

const V2: VersionParams = {
  version: QUIC_V2,
  initialSalt: fromHex('0dede3def700a6db819381be6e269dcbf9bd2ed9'),
  labels: { key: 'quicv2 key', iv: 'quicv2 iv', hp: 'quicv2 hp', ku: 'quicv2 ku' },
  retryKey: fromHex('8fb4b01b56ac48e260fbcbcead7ccc92'),
  retryNonce: fromHex('d86969bc2d7c6d9990efb04a'),
  typeCodes: { initial: 0b01, '0rtt': 0b10, handshake: 0b11, retry: 0b00 },
};

export function versionParams(version: number): VersionParams | undefined {
  return version === QUIC_V1 ? V1 : version === QUIC_V2 ? V2 : undefined;
}

export function isSupportedVersion(version: number): boolean {
  return versionParams(version) !== undefined;
}

/** Reserved versions (RFC 9000 §15) follow 0x?a?a?a?a; endpoints send them to exercise version negotiation. */
export function isReservedVersion(version: number): boolean {
  return ((version & 0x0f0f0f0f) >>> 0) === 0x0a0a0a0a;
}

/** A reserved version with random high nibbles, drawn from the injected random source. */
export function greaseVersion(random: (n: number) => Uint8Array): number {
  const r = random(4);
  return (((r[0]! & 0xf0) << 24) | ((r[1]! & 0xf0) << 16) | ((r[2]! & 0xf0) << 8) | (r[3]! & 0xf0) | 0x0a0a0a0a) >>> 0;
}

/** Packet type of a long header's two type bits for a known version; undefined for unknown versions. */
export function longTypeFromBits(version: number, bits: number): LongPacketType | undefined {
  const p = versionParams(version);
  if (!p) return undefined;
  for (const [type, code] of Object.entries(p.typeCodes)) if (code === (bits & 3)) return type as LongPacketType;
  return undefined;
}

/** Two-bit type code for `type` under `version`; v1 codes for an unknown version (callers validate versions first). */
export function longTypeBits(version: number, type: LongPacketType): number {
  return (versionParams(version) ?? V1).typeCodes[type];
}

export function versionName(version: number): string {
  if (version === QUIC_V1) return 'v1';
  if (version === QUIC_V2) return 'v2';
  if (version === 0) return 'version-negotiation';
  if (isReservedVersion(version)) return `reserved(0x${version.toString(16).padStart(8, '0')})`;
  return `0x${version.toString(16).padStart(8, '0')}`;
}
