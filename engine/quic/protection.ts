// RFC 9001 §5.1–§5.5 (packet protection keys, Initial secrets, AEAD, header protection), §6 (key update), RFC 9369 §3.3 (v2 labels and salt).
/**
 * Exports:
 * - `PacketKeys` (one direction, one generation: secret, key, iv, hp key, AEAD and header-protection instances).
 * - `derivePacketKeys(crypto, suite, secret, version)`, `initialSecrets(crypto, version, clientDcid)`,
 *   `initialKeys(crypto, version, clientDcid)` → `{ client, server }`, `nextGenerationKeys(crypto, keys)` (key update:
 *   new secret/key/iv, same header-protection key).
 * - `packetNonce(iv, pn)`, `protectPacket(keys, header, pnOffset, pn, payload)` → protected packet bytes,
 *   `protectPacketInPlace(keys, packet, pnOffset, pn)` (header, payload and tag room already laid out in one buffer),
 *   `removeHeaderProtection(keys, packet, pnOffset, largestPn)` → `UnprotectedHeader | null`,
 *   `openPayload(keys, unprotected, packet)` → plaintext | null, `unprotectPacket(...)` (both steps) → `OpenedPacket | null`.
 * - `SAMPLE_LENGTH` (16), `AEAD_TAG_LENGTH` (16), `minPayloadForSample(pnLength)`, `aeadLimits(suite)` (RFC 9001 §6.6).
 * Every failure on received bytes returns null: the connection drops such packets (RFC 9001 §5.5) and never throws.
 */

import type { Aead, CryptoProvider, HeaderProtection } from '../crypto/provider.js';
import { hkdfExpandLabel } from '../crypto/hkdf-label.js';
import { CIPHER_SUITES, type CipherSuite } from '../tls/api.js';
import { FIRST_BYTE } from './packet.js';
import { decodePacketNumber } from './packet-number.js';
import { versionParams, QUIC_V1 } from './version.js';

export const SAMPLE_LENGTH = 16;
export const AEAD_TAG_LENGTH = 16;

export interface PacketKeys {
  readonly version: number;
  readonly suite: CipherSuite;
  /** The traffic secret these keys came from (kept for the next key-update generation). */
  readonly secret: Uint8Array;
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
  readonly hp: Uint8Array;
  readonly aead: Aead;
  readonly headerProtection: HeaderProtection;
}

function labelsFor(version: number) {
  return (versionParams(version) ?? versionParams(QUIC_V1)!).labels;
}

/** Packet protection keys from a TLS traffic secret (RFC 9001 §5.1), with the version's labels. */
export function derivePacketKeys(crypto: CryptoProvider, suite: CipherSuite, secret: Uint8Array, version: number): PacketKeys {
  const labels = labelsFor(version);
  const empty = new Uint8Array(0);
  const key = hkdfExpandLabel(crypto, suite.hash, secret, labels.key, empty, suite.keyLength);
  const iv = hkdfExpandLabel(crypto, suite.hash, secret, labels.iv, empty, 12);
  const hp = hkdfExpandLabel(crypto, suite.hash, secret, labels.hp, empty, suite.keyLength);
  return { version, suite, secret, key, iv, hp, aead: crypto.aead(suite.aead, key), headerProtection: crypto.headerProtection(suite.hp, hp) };
}

/** client_initial_secret and server_initial_secret from the client's first Destination Connection ID (RFC 9001 §5.2). */
export function initialSecrets(crypto: CryptoProvider, version: number, clientDcid: Uint8Array): { initial: Uint8Array; client: Uint8Array; server: Uint8Array } {
  const params = versionParams(version);
  if (!params) throw new RangeError(`no Initial salt for version 0x${version.toString(16)}`);
  const initial = crypto.hkdfExtract('sha256', params.initialSalt, clientDcid);
  const empty = new Uint8Array(0);
  return {
    initial,
    client: hkdfExpandLabel(crypto, 'sha256', initial, 'client in', empty, 32),
    server: hkdfExpandLabel(crypto, 'sha256', initial, 'server in', empty, 32),
  };
}

/**
 * Initial keys of the last few client DCIDs, per provider. They are a pure function of (version, DCID), and one
 * handshake derives the same ones up to three times: the server's trial decryption of a first Initial, the server
 * connection and, in a simulation, the client in the same process (each derivation is 9 HMACs, two AEAD key imports
 * and two header-protection key schedules). PacketKeys are immutable and their AEAD and mask objects keep no state
 * between calls, so sharing them is safe; the cache only changes how often the work is done, never a result.
 */
const INITIAL_CACHE_SIZE = 8;
const initialCache = new WeakMap<CryptoProvider, Map<string, { client: PacketKeys; server: PacketKeys }>>();

/** Initial packet keys of both directions; Initial packets always use AES-128-GCM with SHA-256. */
export function initialKeys(crypto: CryptoProvider, version: number, clientDcid: Uint8Array): { client: PacketKeys; server: PacketKeys } {
  let cache = initialCache.get(crypto);
  if (!cache) initialCache.set(crypto, (cache = new Map()));
  let key = `${version}:`;
  for (let i = 0; i < clientDcid.length; i++) key += clientDcid[i]! < 16 ? '0' + clientDcid[i]!.toString(16) : clientDcid[i]!.toString(16);
  const hit = cache.get(key);
  if (hit) return hit;
  const s = initialSecrets(crypto, version, clientDcid);
  const suite = CIPHER_SUITES.TLS_AES_128_GCM_SHA256;
  const keys = { client: derivePacketKeys(crypto, suite, s.client, version), server: derivePacketKeys(crypto, suite, s.server, version) };
  cache.set(key, keys);
  if (cache.size > INITIAL_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return keys;
}

/** The next 1-RTT secret (RFC 9001 §6.1): "quic ku" / "quicv2 ku". */
export function nextGenerationSecret(crypto: CryptoProvider, suite: CipherSuite, secret: Uint8Array, version: number): Uint8Array {
  return hkdfExpandLabel(crypto, suite.hash, secret, labelsFor(version).ku, new Uint8Array(0), crypto.hashLength(suite.hash));
}

/** Keys after a key update: the header protection key is not updated (RFC 9001 §6), only key and IV. */
export function nextGenerationKeys(crypto: CryptoProvider, keys: PacketKeys): PacketKeys {
  const secret = nextGenerationSecret(crypto, keys.suite, keys.secret, keys.version);
  const next = derivePacketKeys(crypto, keys.suite, secret, keys.version);
  return { ...next, hp: keys.hp, headerProtection: keys.headerProtection };
}

/**
 * Packets one key generation may protect (confidentiality) and forged packets it may reject (integrity) before a key
 * update or close with AEAD_LIMIT_REACHED (RFC 9001 §6.6, for packets up to 2^16 bytes).
 */
export function aeadLimits(suite: CipherSuite): { confidentiality: number; integrity: number } {
  return suite.aead === 'chacha20-poly1305' ? { confidentiality: Infinity, integrity: 2 ** 36 } : { confidentiality: 2 ** 23, integrity: 2 ** 52 };
}

/** AEAD nonce: the IV XOR the packet number, left-padded to the IV length (RFC 9001 §5.3). */
export function packetNonce(iv: Uint8Array, pn: number): Uint8Array {
  return packetNonceInto(new Uint8Array(iv.length), iv, pn);
}

/**
 * The nonce of the packet being sealed or opened: every AEAD backend reads it during the call and keeps no reference
 * (node:crypto copies it into OpenSSL, noble into its own state), so one array serves every packet instead of one per
 * packet (issue 15). Two lengths exist in practice (12 for every QUIC suite); another length gets its own array.
 */
let NONCE_SCRATCH = new Uint8Array(12);

function scratchNonce(iv: Uint8Array, pn: number): Uint8Array {
  if (NONCE_SCRATCH.length !== iv.length) NONCE_SCRATCH = new Uint8Array(iv.length);
  return packetNonceInto(NONCE_SCRATCH, iv, pn);
}

function packetNonceInto(nonce: Uint8Array, iv: Uint8Array, pn: number): Uint8Array {
  nonce.set(iv);
  const n = nonce.length;
  // Packet numbers stay below 2^62 and, as numbers, exact below 2^53: split into 32-bit halves instead of dividing per byte.
  const lo = pn >>> 0;
  nonce[n - 1]! ^= lo & 0xff;
  nonce[n - 2]! ^= (lo >>> 8) & 0xff;
  nonce[n - 3]! ^= (lo >>> 16) & 0xff;
  nonce[n - 4]! ^= lo >>> 24;
  for (let hi = Math.floor(pn / 0x1_0000_0000), i = n - 5; hi > 0 && i >= 0; i--, hi = Math.floor(hi / 256)) nonce[i]! ^= hi & 0xff;
  return nonce;
}

/** Smallest plaintext payload that leaves room for the header-protection sample (the sample assumes a 4-byte PN). */
export function minPayloadForSample(pnLength: number): number {
  return Math.max(0, 4 + SAMPLE_LENGTH - AEAD_TAG_LENGTH - pnLength);
}

function isLong(firstByte: number): boolean {
  return (firstByte & FIRST_BYTE.LONG) !== 0;
}

/**
 * Seals `payload` under `header` (which ends with the truncated packet number at pnOffset) and applies header protection.
 * Throws RangeError if the payload is too short to sample: that is a bug in the caller's padding, not attacker input.
 */
export function protectPacket(keys: PacketKeys, header: Uint8Array, pnOffset: number, pn: number, payload: Uint8Array): Uint8Array {
  const pnLength = (header[0]! & FIRST_BYTE.PN_LENGTH) + 1;
  if (pnOffset + pnLength !== header.length) throw new RangeError('header must end with the packet number');
  const out = new Uint8Array(header.length + payload.length + AEAD_TAG_LENGTH);
  out.set(header);
  out.set(payload, header.length);
  protectPacketInPlace(keys, out, pnOffset, pn);
  return out;
}

/**
 * protectPacket without copies: `packet` holds the unprotected header (ending with the truncated packet number at
 * pnOffset), the plaintext payload, then AEAD_TAG_LENGTH bytes of room for the tag; it is sealed and masked in place.
 */
export function protectPacketInPlace(keys: Pick<PacketKeys, 'aead' | 'iv' | 'headerProtection'>, packet: Uint8Array, pnOffset: number, pn: number): void {
  const pnLength = (packet[0]! & FIRST_BYTE.PN_LENGTH) + 1;
  const headerLength = pnOffset + pnLength;
  const payloadLength = packet.length - headerLength - AEAD_TAG_LENGTH;
  if (payloadLength < minPayloadForSample(pnLength)) throw new RangeError(`payload of ${payloadLength} byte(s) is too short for the header protection sample`);
  const nonce = scratchNonce(keys.iv, pn);
  if (keys.aead.sealInPlace) keys.aead.sealInPlace(nonce, packet, headerLength, payloadLength);
  else {
    // Both backends return the ciphertext in memory of their own, so writing it over the plaintext is safe.
    const sealed = keys.aead.seal(nonce, packet.subarray(headerLength, headerLength + payloadLength), packet.subarray(0, headerLength));
    packet.set(sealed, headerLength);
  }
  const mask = keys.headerProtection.mask(packet.subarray(pnOffset + 4, pnOffset + 4 + SAMPLE_LENGTH));
  packet[0]! ^= mask[0]! & (isLong(packet[0]!) ? FIRST_BYTE.LONG_PROTECTED : FIRST_BYTE.SHORT_PROTECTED);
  for (let i = 0; i < pnLength; i++) packet[pnOffset + i]! ^= mask[1 + i]!;
}

export interface UnprotectedHeader {
  /** The header with protection removed (a copy; the received bytes are not modified). */
  readonly header: Uint8Array;
  readonly firstByte: number;
  readonly pnLength: 1 | 2 | 3 | 4;
  readonly truncatedPn: number;
  /** Full packet number reconstructed against the largest received in this space. */
  readonly pn: number;
  /** Short headers only: the key phase bit. */
  readonly keyPhase: boolean;
  /** Reserved bits after unprotection; non-zero is a PROTOCOL_VIOLATION once the packet authenticates (RFC 9000 §17.2). */
  readonly reservedBits: number;
}

/** Removes header protection; null when the packet is too short to carry a sample. largestPn: -1 when none received yet. */
export function removeHeaderProtection(keys: Pick<PacketKeys, 'headerProtection'>, packet: Uint8Array, pnOffset: number, largestPn: number): UnprotectedHeader | null {
  if (pnOffset < 1 || packet.length < pnOffset + 4 + SAMPLE_LENGTH) return null;
  const mask = keys.headerProtection.mask(packet.subarray(pnOffset + 4, pnOffset + 4 + SAMPLE_LENGTH));
  const long = isLong(packet[0]!);
  const firstByte = packet[0]! ^ (mask[0]! & (long ? FIRST_BYTE.LONG_PROTECTED : FIRST_BYTE.SHORT_PROTECTED));
  const pnLength = ((firstByte & FIRST_BYTE.PN_LENGTH) + 1) as 1 | 2 | 3 | 4;
  const header = packet.slice(0, pnOffset + pnLength);
  header[0] = firstByte;
  let truncatedPn = 0;
  for (let i = 0; i < pnLength; i++) {
    header[pnOffset + i]! ^= mask[1 + i]!;
    truncatedPn = truncatedPn * 256 + header[pnOffset + i]!;
  }
  return {
    header,
    firstByte,
    pnLength,
    truncatedPn,
    pn: decodePacketNumber(largestPn, truncatedPn, 8 * pnLength),
    keyPhase: !long && (firstByte & FIRST_BYTE.KEY_PHASE) !== 0,
    reservedBits: firstByte & (long ? FIRST_BYTE.LONG_RESERVED : FIRST_BYTE.SHORT_RESERVED),
  };
}

/** Decrypts the payload that follows an unprotected header; null when authentication fails. */
export function openPayload(keys: Pick<PacketKeys, 'aead' | 'iv'>, unprotected: UnprotectedHeader, packet: Uint8Array): Uint8Array | null {
  const ciphertext = packet.subarray(unprotected.header.length);
  if (ciphertext.length < AEAD_TAG_LENGTH) return null;
  try {
    return keys.aead.open(scratchNonce(keys.iv, unprotected.pn), ciphertext, unprotected.header);
  } catch {
    return null; // a backend that throws on a bad tag is still a drop, never an exception for the connection
  }
}

export interface OpenedPacket extends UnprotectedHeader {
  readonly payload: Uint8Array;
}

/** Header protection removal and payload decryption in one step; null on any failure. */
export function unprotectPacket(keys: PacketKeys, packet: Uint8Array, pnOffset: number, largestPn: number): OpenedPacket | null {
  let h: UnprotectedHeader | null;
  try {
    h = removeHeaderProtection(keys, packet, pnOffset, largestPn);
  } catch {
    return null;
  }
  if (!h) return null;
  const payload = openPayload(keys, h, packet);
  return payload ? { ...h, payload } : null;
}
