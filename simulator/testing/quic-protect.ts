// Minimal QUIC packet protection for capture tests and the benchmark (RFC 9001 §5.1-5.4, AES-128-GCM suites only):
// derive packet keys from a secret, seal a payload and apply header protection. The engine's real codec lives in
// engine/quic; this exists so simulator tests can build wire images tshark decrypts, without depending on it.

import { ecb, gcm } from '@noble/ciphers/aes.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex } from '../../engine/wire/bytes.js';
import { Writer } from '../../engine/wire/writer.js';

export const INITIAL_SALT_V1 = fromHex('38762cf7f55934b34d179ae6a4c80cadccbb7f0a');

export interface PacketKeys {
  key: Uint8Array;
  iv: Uint8Array;
  hp: Uint8Array;
}

function expandLabel(secret: Uint8Array, label: string, length: number): Uint8Array {
  const info = new Writer(64).u16(length).vec(1, new TextEncoder().encode('tls13 ' + label)).vec(1, new Uint8Array(0)).finish();
  return expand(sha256, secret, info, length);
}

export function packetKeys(secret: Uint8Array): PacketKeys {
  return { key: expandLabel(secret, 'quic key', 16), iv: expandLabel(secret, 'quic iv', 12), hp: expandLabel(secret, 'quic hp', 16) };
}

/** Client and server Initial secrets from the client's first Destination Connection ID (RFC 9001 §5.2). */
export function initialSecrets(dcid: Uint8Array): { client: Uint8Array; server: Uint8Array } {
  const initial = extract(sha256, dcid, INITIAL_SALT_V1);
  return { client: expandLabel(initial, 'client in', 32), server: expandLabel(initial, 'server in', 32) };
}

/** The first byte of the 5-byte header-protection mask source: AES-ECB of the 16-byte sample. */
export function hpMask(hp: Uint8Array, sample: Uint8Array): Uint8Array {
  return ecb(hp, { disablePadding: true }).encrypt(sample).subarray(0, 5);
}

/**
 * Protects one packet: `header` is the unprotected header ending with the packet number (its length `pnLength`),
 * whose Length field (long headers) must already count pnLength + payload + 16.
 */
export function protect(keys: PacketKeys, header: Uint8Array, pnLength: number, pn: number, payload: Uint8Array): Uint8Array {
  const nonce = keys.iv.slice();
  for (let i = 0; i < 8; i++) nonce[11 - i]! ^= Number((BigInt(pn) >> BigInt(8 * i)) & 0xffn);
  const sealed = gcm(keys.key, nonce, header).encrypt(payload);
  const out = new Uint8Array(header.length + sealed.length);
  out.set(header);
  out.set(sealed, header.length);
  const pnOffset = header.length - pnLength;
  const mask = hpMask(keys.hp, out.subarray(pnOffset + 4, pnOffset + 20));
  out[0] = out[0]! ^ (mask[0]! & (out[0]! & 0x80 ? 0x0f : 0x1f));
  for (let i = 0; i < pnLength; i++) out[pnOffset + i] = out[pnOffset + i]! ^ mask[1 + i]!;
  return out;
}

/** A v1 long header (Initial) with a 2-byte Length and the given packet number encoding. */
export function initialHeader(dcid: Uint8Array, scid: Uint8Array, pn: number, pnLength: number, payloadLength: number): Uint8Array {
  const w = new Writer(64).u8(0xc0 | (pnLength - 1)).u32(1).vec(1, dcid).vec(1, scid).varint(0);
  w.varintFixed(pnLength + payloadLength + 16, 2);
  for (let i = pnLength - 1; i >= 0; i--) w.u8((pn >>> (8 * i)) & 0xff);
  return w.finish();
}

/** A short header with key phase bit `keyPhase` and a `pnLength`-byte packet number. */
export function shortHeader(dcid: Uint8Array, pn: number, pnLength: number, keyPhase = 0): Uint8Array {
  const w = new Writer(32).u8(0x40 | (keyPhase << 2) | (pnLength - 1)).bytes(dcid);
  for (let i = pnLength - 1; i >= 0; i--) w.u8((pn >>> (8 * i)) & 0xff);
  return w.finish();
}
