// RFC 9000 §17.2.5 (Retry packet), RFC 9001 §5.8 (Retry Integrity Tag), RFC 9369 §3.3.3 (v2 Retry key and nonce).
/**
 * Exports:
 * - `RetryPacket` { version, dcid, scid, token, tag }.
 * - `buildRetry(crypto, { version, dcid, scid, token, originalDcid, unusedBits? })` → packet bytes with its tag.
 * - `parseRetry(packet)` → RetryPacket (throws DecodeError), `verifyRetry(crypto, packet, originalDcid)` → boolean
 *   (never throws), `retryIntegrityTag(crypto, version, originalDcid, packetWithoutTag)`.
 */

import type { CryptoProvider } from '../crypto/provider.js';
import { DecodeError, Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { equal } from '../wire/bytes.js';
import { FIRST_BYTE, MAX_CID_LENGTH } from './packet.js';
import { longTypeBits, longTypeFromBits, versionParams } from './version.js';

const TAG_LENGTH = 16;

export interface RetryPacket {
  readonly version: number;
  readonly dcid: Uint8Array;
  readonly scid: Uint8Array;
  readonly token: Uint8Array;
  readonly tag: Uint8Array;
}

/** AES-128-GCM over the Retry pseudo-packet (ODCID length, ODCID, Retry without tag) with an empty plaintext. */
export function retryIntegrityTag(crypto: CryptoProvider, version: number, originalDcid: Uint8Array, packetWithoutTag: Uint8Array): Uint8Array {
  const params = versionParams(version);
  if (!params) throw new RangeError(`no Retry key for version 0x${version.toString(16)}`);
  const pseudo = new Writer(1 + originalDcid.length + packetWithoutTag.length).vec(1, originalDcid).bytes(packetWithoutTag).finish();
  return crypto.aead('aes-128-gcm', params.retryKey).seal(params.retryNonce, new Uint8Array(0), pseudo);
}

export interface RetryFields {
  readonly version: number;
  /** The client's Source Connection ID. */
  readonly dcid: Uint8Array;
  /** The connection ID the server chooses; the client uses it as its new Destination Connection ID. */
  readonly scid: Uint8Array;
  readonly token: Uint8Array;
  /** The Destination Connection ID of the client's Initial (authenticated, not sent). */
  readonly originalDcid: Uint8Array;
  /** The four unused low bits of the first byte (arbitrary; default 0). */
  readonly unusedBits?: number;
}

export function buildRetry(crypto: CryptoProvider, f: RetryFields): Uint8Array {
  if (f.token.length === 0) throw new RangeError('a Retry token must not be empty');
  const w = new Writer(64 + f.token.length);
  w.u8(FIRST_BYTE.LONG | FIRST_BYTE.FIXED | (longTypeBits(f.version, 'retry') << 4) | ((f.unusedBits ?? 0) & 0x0f));
  w.u32(f.version).vec(1, f.dcid).vec(1, f.scid).bytes(f.token);
  const body = w.finish();
  const tag = retryIntegrityTag(crypto, f.version, f.originalDcid, body);
  const out = new Uint8Array(body.length + TAG_LENGTH);
  out.set(body);
  out.set(tag, body.length);
  return out;
}

export function parseRetry(packet: Uint8Array): RetryPacket {
  const r = new Reader(packet);
  const first = r.u8();
  const version = r.u32();
  if ((first & FIRST_BYTE.LONG) === 0 || longTypeFromBits(version, (first >> 4) & 3) !== 'retry') throw new DecodeError('not a Retry packet');
  const dcid = r.vec(1);
  const scid = r.vec(1);
  if (dcid.length > MAX_CID_LENGTH || scid.length > MAX_CID_LENGTH) throw new DecodeError('Retry connection ID longer than 20 bytes');
  if (r.remaining < TAG_LENGTH) throw new DecodeError('Retry packet shorter than its integrity tag');
  const token = r.bytes(r.remaining - TAG_LENGTH);
  return { version, dcid, scid, token, tag: r.bytes(TAG_LENGTH) };
}

/** True when the Retry's tag authenticates it against the client's original DCID. Never throws. */
export function verifyRetry(crypto: CryptoProvider, packet: Uint8Array, originalDcid: Uint8Array): boolean {
  try {
    const p = parseRetry(packet);
    const expected = retryIntegrityTag(crypto, p.version, originalDcid, packet.subarray(0, packet.length - TAG_LENGTH));
    return equal(expected, p.tag);
  } catch {
    return false;
  }
}
