// RSA signatures (RFC 8017 §4 I2OSP/OS2IP, §5.2 RSASP1/RSAVP1 with CRT, §8.1/§9.1 RSASSA-PSS + EMSA-PSS, §8.2/§9.2 RSASSA-PKCS1-v1_5, B.2.1 MGF1).
//
// Backend-neutral: callers supply the hash, so the noble backend and the node backend's deterministic PSS path
// share one encoder. Timing: bigint arithmetic is not constant time; this signs for a test harness's own server
// with throwaway keys, which is an accepted trade-off here, not a general-purpose RSA.

import { CryptoError } from './provider.js';

/** A hash function as RSA needs it: name (for DigestInfo), output length, one-shot digest. */
export interface RsaHash {
  readonly name: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  readonly outputLen: number;
  digest(data: Uint8Array): Uint8Array;
}

export interface RsaPublicParams {
  n: bigint;
  e: bigint;
}

export interface RsaPrivateParams extends RsaPublicParams {
  d: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qinv: bigint;
}

// DER of DigestInfo's AlgorithmIdentifier + OCTET STRING header (RFC 8017 §9.2 note 1), NULL parameters present.
const DIGEST_INFO_PREFIX: Record<RsaHash['name'], string> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

export function byteLength(n: bigint): number {
  return Math.ceil(bitLength(n) / 8);
}

/** OS2IP: big-endian unsigned. */
export function os2ip(bytes: Uint8Array): bigint {
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex.length === 0 ? 0n : BigInt('0x' + hex);
}

/** I2OSP: big-endian, left-padded to exactly `length` bytes; throws CryptoError if x does not fit. */
export function i2osp(x: bigint, length: number): Uint8Array {
  if (x < 0n) throw new CryptoError('i2osp: negative integer');
  const hex = x.toString(16);
  if (hex.length > length * 2) throw new CryptoError('i2osp: integer too large');
  const padded = hex.padStart(length * 2, '0');
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = parseInt(padded.substr(i * 2, 2), 16);
  return out;
}

/** base^exp mod m by left-to-right square-and-multiply. */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (m === 1n) return 0n;
  let result = 1n;
  let b = ((base % m) + m) % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

/** RSAVP1: s^e mod n, with the representative range check. */
function rsavp1(key: RsaPublicParams, s: bigint): bigint | null {
  if (s <= 0n || s >= key.n) return null;
  return modPow(s, key.e, key.n);
}

/**
 * RSASP1 via the Chinese Remainder Theorem (about 4× faster than m^d mod n). The result is checked with the
 * public exponent before release, because a faulty CRT half would otherwise leak a factor of n (Boneh-DeMillo-Lipton).
 */
function rsasp1(key: RsaPrivateParams, m: bigint): bigint {
  if (m < 0n || m >= key.n) throw new CryptoError('RSA message representative out of range');
  const s1 = modPow(m, key.dp, key.p);
  const s2 = modPow(m, key.dq, key.q);
  const h = (((s1 - s2) % key.p) + key.p) % key.p * key.qinv % key.p;
  const s = s2 + h * key.q;
  if (modPow(s, key.e, key.n) !== m) throw new CryptoError('RSA CRT signature self-check failed (inconsistent private key)');
  return s;
}

/** MGF1 (RFC 8017 B.2.1). */
function mgf1(hash: RsaHash, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const block = new Uint8Array(seed.length + 4);
  block.set(seed);
  let filled = 0;
  for (let counter = 0; filled < length; counter++) {
    new DataView(block.buffer).setUint32(seed.length, counter);
    const t = hash.digest(block);
    const take = Math.min(t.length, length - filled);
    out.set(t.subarray(0, take), filled);
    filled += take;
  }
  return out;
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with the given salt. */
export function emsaPssEncode(hash: RsaHash, message: Uint8Array, emBits: number, salt: Uint8Array): Uint8Array {
  const hLen = hash.outputLen;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + salt.length + 2) throw new CryptoError('RSA key too small for PSS with this hash');
  const mHash = hash.digest(message);
  const mPrime = new Uint8Array(8 + hLen + salt.length);
  mPrime.set(mHash, 8);
  mPrime.set(salt, 8 + hLen);
  const h = hash.digest(mPrime);
  const dbLen = emLen - hLen - 1;
  const db = new Uint8Array(dbLen);
  db[dbLen - salt.length - 1] = 0x01;
  db.set(salt, dbLen - salt.length);
  const mask = mgf1(hash, h, dbLen);
  for (let i = 0; i < dbLen; i++) db[i] ^= mask[i];
  db[0] &= 0xff >>> (8 * emLen - emBits);
  const em = new Uint8Array(emLen);
  em.set(db);
  em.set(h, dbLen);
  em[emLen - 1] = 0xbc;
  return em;
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with a fixed salt length. */
export function emsaPssVerify(hash: RsaHash, message: Uint8Array, em: Uint8Array, emBits: number, saltLength: number): boolean {
  const hLen = hash.outputLen;
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < hLen + saltLength + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const dbLen = emLen - hLen - 1;
  const maskedDb = em.subarray(0, dbLen);
  const h = em.subarray(dbLen, dbLen + hLen);
  const unusedBits = 8 * emLen - emBits;
  if (unusedBits > 0 && (maskedDb[0] & (0xff << (8 - unusedBits)) & 0xff) !== 0) return false;
  const db = mgf1(hash, h, dbLen);
  for (let i = 0; i < dbLen; i++) db[i] ^= maskedDb[i];
  db[0] &= 0xff >>> unusedBits;
  const psLen = emLen - hLen - saltLength - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(dbLen - saltLength);
  const mPrime = new Uint8Array(8 + hLen + saltLength);
  mPrime.set(hash.digest(message), 8);
  mPrime.set(salt, 8 + hLen);
  return bytesEqual(hash.digest(mPrime), h);
}

/** EMSA-PKCS1-v1_5-ENCODE (RFC 8017 §9.2). */
export function emsaPkcs1Encode(hash: RsaHash, message: Uint8Array, emLen: number): Uint8Array {
  const prefix = hexBytes(DIGEST_INFO_PREFIX[hash.name]);
  const tLen = prefix.length + hash.outputLen;
  if (emLen < tLen + 11) throw new CryptoError('RSA key too small for PKCS#1 v1.5 with this hash');
  const em = new Uint8Array(emLen);
  em[1] = 0x01;
  em.fill(0xff, 2, emLen - tLen - 1);
  em.set(prefix, emLen - tLen);
  em.set(hash.digest(message), emLen - hash.outputLen);
  return em;
}

/** RSASSA-PSS-SIGN; the salt (hash-length, per TLS 1.3 §4.2.3) comes from the caller's random source. */
export function rsaPssSign(key: RsaPrivateParams, hash: RsaHash, message: Uint8Array, random: (n: number) => Uint8Array): Uint8Array {
  const modBits = bitLength(key.n);
  const em = emsaPssEncode(hash, message, modBits - 1, random(hash.outputLen));
  return i2osp(rsasp1(key, os2ip(em)), byteLength(key.n));
}

/** RSASSA-PSS-VERIFY with salt length = hash length and MGF1 over the same hash. */
export function rsaPssVerify(key: RsaPublicParams, hash: RsaHash, message: Uint8Array, signature: Uint8Array): boolean {
  const k = byteLength(key.n);
  if (signature.length !== k) return false;
  const m = rsavp1(key, os2ip(signature));
  if (m === null) return false;
  const modBits = bitLength(key.n);
  const emLen = Math.ceil((modBits - 1) / 8);
  if (m >= 1n << BigInt(emLen * 8)) return false;
  return emsaPssVerify(hash, message, i2osp(m, emLen), modBits - 1, hash.outputLen);
}

export function rsaPkcs1Sign(key: RsaPrivateParams, hash: RsaHash, message: Uint8Array): Uint8Array {
  const k = byteLength(key.n);
  return i2osp(rsasp1(key, os2ip(emsaPkcs1Encode(hash, message, k))), k);
}

/** Verification re-encodes and compares (RFC 8017 §8.2.2), so no lenient DigestInfo parser is exposed to attackers. */
export function rsaPkcs1Verify(key: RsaPublicParams, hash: RsaHash, message: Uint8Array, signature: Uint8Array): boolean {
  const k = byteLength(key.n);
  if (signature.length !== k) return false;
  const m = rsavp1(key, os2ip(signature));
  if (m === null) return false;
  let expected: Uint8Array;
  try {
    expected = emsaPkcs1Encode(hash, message, k);
  } catch {
    return false;
  }
  return bytesEqual(i2osp(m, k), expected);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}
