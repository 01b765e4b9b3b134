// SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104) on @noble/hashes for the short inputs of a TLS 1.3 key schedule
// (RFC 8446 §7.1): HKDF labels, Finished keys, seeded random blocks, RFC 6979 nonces.
//
// Why not node:crypto for these: a createHmac()/createHash() call costs 3–8 µs of object set-up and boundary crossing
// for a single 64-byte block. An HMAC key here is keyed once (its two padded blocks absorbed) and cloned per message,
// so HKDF-Expand-Label costs two compressions in JS (~2.4 µs per HMAC against ~4 µs for createHmac, issue 15). For long
// inputs (the handshake transcript, multi-kilobyte certificates) OpenSSL's hardware SHA wins, and the node backend
// keeps it.

import { hmac, type _HMAC } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** An HMAC-SHA-256 key with its ipad and opad blocks already absorbed; never updated itself, only cloned. */
export type HmacSha256Key = _HMAC<ReturnType<typeof nobleSha256.create>>;

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

export function hmacSha256Key(key: Uint8Array): HmacSha256Key {
  return hmac.create(nobleSha256, key);
}

/** One reused clone target: the calls are synchronous, so a single scratch state serves every key. */
let scratch: HmacSha256Key | undefined;

/** HMAC-SHA-256(key, parts concatenated) into out[outOff..outOff+32). */
export function hmacSha256Into(key: HmacSha256Key, parts: readonly Uint8Array[], out: Uint8Array, outOff = 0): void {
  const m = (scratch = key._cloneInto(scratch));
  for (let i = 0; i < parts.length; i++) m.update(parts[i]!);
  m.digestInto(outOff === 0 && out.length === 32 ? out : out.subarray(outOff, outOff + 32));
}

export function hmacSha256(key: HmacSha256Key, ...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32);
  hmacSha256Into(key, parts, out, 0);
  return out;
}
