// CryptoProvider over node:crypto (OpenSSL): AEAD (RFC 5116, RFC 8439 §2.8), QUIC header protection (RFC 9001 §5.4.3-§5.4.4), HKDF (RFC 5869), ECDHE (RFC 8446 §7.4), signatures (RFC 8446 §4.2.3).
//
// Where OpenSSL would take a decision out of the seeded run's hands, this backend keeps it deterministic instead:
// ECDSA signing uses noble's RFC 6979 nonces (node:crypto only signs with random k) and RSA-PSS salts come from the
// injected random (the EMSA-PSS block is built here and only the raw RSA private operation runs in OpenSSL).
// ECDSA P-256/P-384 signing computes the RFC 6979 nonce here and only k·G in OpenSSL (node-ecdsa.ts): the same bytes
// as noble at a fraction of the cost. ChaCha20 header protection (one block at the sample's counter per packet) uses
// chacha-block.ts, which is faster than a node:crypto cipher object per sample; bench/crypto.ts measures both.

import {
  constants,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  hash as oneShotHash,
  privateEncrypt,
  sign as nodeSign,
  verify as nodeVerify,
  type Hash,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import {
  CryptoError,
  type Aead,
  type AeadName,
  type CryptoProvider,
  type EcdhGroup,
  type EcdhKeyPair,
  type HashName,
  type HeaderProtection,
  type HeaderProtectionName,
  type PrivateKey,
  type PublicKey,
  type SignatureAlgorithm,
} from './provider.js';
import { AEAD_KEY_LENGTH, HP_KEY_LENGTH, allZero, describeAlgorithm, drawP256Scalar } from './common.js';
import { byteLength, bitLength, emsaPssEncode, i2osp, type RsaHash } from './rsa.js';
import { nobleCrypto } from './noble.js';
import { chachaHeaderProtection } from './chacha-block.js';
import { ecdsaSignDeterministic } from './node-ecdsa.js';
import { hmacSha256, hmacSha256Into, hmacSha256Key, sha256, type HmacSha256Key } from './sha256.js';

const HASH_LENGTH: Record<HashName, number> = { sha256: 32, sha384: 48 };
const RSA_HASH_LENGTH: Record<RsaHash['name'], number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/** A fresh Uint8Array (not a Buffer view into Node's shared pool) so callers may keep or mutate it safely. */
function own(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

function wrapHasher(h: Hash): ReturnType<CryptoProvider['hasher']> {
  return {
    update(data: Uint8Array) {
      h.update(data);
    },
    digest: () => own(h.copy().digest()),
    clone: () => wrapHasher(h.copy()),
  };
}

/**
 * Inputs up to this size are hashed by sha256.ts; longer ones by OpenSSL, whose hardware SHA wins on bulk data. Measured
 * here (issue 15): JS 0.6 µs at 32 bytes, 1.3 µs at 200, 5.1 µs at 1024; node's one-shot crypto.hash 1.3, 1.3, 1.7 µs.
 */
const JS_SHA256_MAX = 192;

/**
 * The last few HKDF PRKs with their HMAC pad blocks compressed (RFC 8446 labels expand one secret two or three times
 * in a row: key, iv, hp; or two traffic secrets). A small ring by array identity, not a WeakMap: a WeakMap entry would
 * live as long as its secret, and connections keep their traffic secrets (issue 15 measured +5 KiB per idle
 * connection). An entry is used only while the array still holds the bytes it was made from, so a caller that reuses
 * or changes a buffer can never get a stale key.
 */
const PRK_CACHE_SIZE = 4;
const prkCache: { prk: Uint8Array; bytes: Uint8Array; key: HmacSha256Key }[] = [];
let prkNext = 0;

function prkKey(prk: Uint8Array): HmacSha256Key {
  for (let j = 0; j < prkCache.length; j++) {
    const e = prkCache[j]!;
    if (e.prk !== prk || e.bytes.length !== prk.length) continue;
    let same = true;
    for (let i = 0; i < prk.length; i++) if (e.bytes[i] !== prk[i]) same = false;
    if (same) return e.key;
  }
  const key = hmacSha256Key(prk);
  prkCache[prkNext] = { prk, bytes: new Uint8Array(prk), key }; // not slice(): on a Buffer that would alias
  prkNext = (prkNext + 1) % PRK_CACHE_SIZE;
  return key;
}

// A one-off HMAC-SHA-256 (HKDF-Extract, Finished, binders) keys sha256.ts's HMAC and runs it: 1.5 µs against 2.7 µs for
// createHmac's whole call with a 32-byte key and message (issue 15). Long messages and SHA-384 go to OpenSSL.
function hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array {
  if (hash === 'sha256' && data.length <= JS_SHA256_MAX) return hmacSha256(hmacSha256Key(key), data);
  return own(createHmac(hash, key).update(data).digest());
}

function hkdfExtract(hash: HashName, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  // RFC 5869 §2.2: an absent salt is HashLen zeros, which HMAC's zero-padding of short keys makes identical to an empty key.
  return hmac(hash, salt, ikm);
}

function hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const hLen = HASH_LENGTH[hash];
  if (length > 255 * hLen) throw new CryptoError(`HKDF-Expand: length ${length} exceeds 255 * HashLen`);
  if (hash === 'sha256' && info.length <= JS_SHA256_MAX) return hkdfExpandSha256(prk, info, length);
  // T(i) = HMAC(PRK, T(i-1) || info || i), fed as one buffer: every update() is a call into OpenSSL, and a handshake
  // derives dozens of short labels (packet keys, IVs, header-protection keys, the key schedule), nearly all one block.
  const input = Buffer.allocUnsafe(hLen + info.length + 1);
  input.set(info, hLen);
  const out = new Uint8Array(length);
  for (let i = 1, filled = 0; filled < length; i++) {
    input[hLen + info.length] = i;
    const previous = createHmac(hash, prk).update(i === 1 ? input.subarray(hLen) : input).digest();
    const take = Math.min(previous.length, length - filled);
    out.set(previous.subarray(0, take), filled);
    filled += take;
    input.set(previous, 0);
  }
  return out;
}

/** hkdfExpand for SHA-256 on sha256.ts: T(i) = HMAC(PRK, T(i-1) || info || i), written straight into the output. */
function hkdfExpandSha256(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const key = prkKey(prk);
  const blocks = Math.ceil(length / 32);
  const out = new Uint8Array(blocks * 32);
  const counter = new Uint8Array(1);
  for (let i = 1; i <= blocks; i++) {
    counter[0] = i;
    hmacSha256Into(key, i === 1 ? [info, counter] : [out.subarray((i - 2) * 32, (i - 1) * 32), info, counter], out, (i - 1) * 32);
  }
  return blocks * 32 === length ? out : out.slice(0, length);
}

function makeAead(name: AeadName, key: Uint8Array): Aead {
  const keyLength = AEAD_KEY_LENGTH[name];
  if (key.length !== keyLength) throw new CryptoError(`${name}: key must be ${keyLength} bytes, got ${key.length}`);
  // A KeyObject is imported once; passing raw bytes would re-validate and copy the key on every packet.
  const secret = createSecretKey(key);
  // GCM and ChaCha20-Poly1305 both default to 16-byte tags and need no plaintext length up front (only CCM does), so
  // no per-packet options objects are passed: each call into node:crypto is a boundary crossing worth avoiding.
  return {
    keyLength,
    tagLength: 16,
    seal(nonce, plaintext, aad) {
      if (nonce.length !== 12) throw new CryptoError(`${name}: nonce must be 12 bytes`);
      const cipher = createCipheriv(name as 'aes-128-gcm', secret, nonce);
      cipher.setAAD(aad);
      const out = new Uint8Array(plaintext.length + 16);
      out.set(cipher.update(plaintext));
      cipher.final();
      out.set(cipher.getAuthTag(), plaintext.length);
      return out;
    },
    sealInPlace(nonce, packet, aadLength, plaintextLength) {
      // seal() without its output buffer: the ciphertext and tag go straight into the packet (one 1200-byte
      // allocation and copy fewer per packet sent).
      if (nonce.length !== 12) throw new CryptoError(`${name}: nonce must be 12 bytes`);
      const cipher = createCipheriv(name as 'aes-128-gcm', secret, nonce);
      cipher.setAAD(packet.subarray(0, aadLength));
      const end = aadLength + plaintextLength;
      packet.set(cipher.update(packet.subarray(aadLength, end)), aadLength);
      cipher.final();
      packet.set(cipher.getAuthTag(), end);
    },
    open(nonce, ciphertext, aad) {
      if (nonce.length !== 12 || ciphertext.length < 16) return null;
      const bodyLength = ciphertext.length - 16;
      try {
        // No options object: GCM and ChaCha20-Poly1305 take the 16-byte tag by default (only CCM and OCB need it).
        const decipher = createDecipheriv(name as 'aes-128-gcm', secret, nonce);
        decipher.setAAD(aad);
        decipher.setAuthTag(ciphertext.subarray(bodyLength));
        const plain = decipher.update(ciphertext.subarray(0, bodyLength));
        decipher.final(); // throws on a bad tag: the plaintext above is then never returned
        // update() hands back a Buffer of its own (not a view into Node's shared pool): a plain Uint8Array view of it
        // avoids a copy while keeping Uint8Array semantics (Buffer's slice() would alias instead of copying).
        return new Uint8Array(plain.buffer, plain.byteOffset, plain.length);
      } catch {
        return null;
      }
    },
  };
}

function makeHeaderProtection(name: HeaderProtectionName, key: Uint8Array): HeaderProtection {
  if (key.length !== HP_KEY_LENGTH[name]) throw new CryptoError(`${name} header protection: key must be ${HP_KEY_LENGTH[name]} bytes`);
  // ChaCha20's sample is its counter and nonce, so OpenSSL would need a cipher object per sample: the noble backend's
  // single-block code serves it. For AES one ECB cipher per key is fed every sample: AES-NI needs no lookup tables, so
  // it costs the same inside a transfer as alone (P1 run, issue 15: 2.8–4.9 µs per mask, against 5–8.7 µs for noble's
  // table-driven AES, whose 512 KiB of tables miss cache between two packets).
  if (name === 'chacha20') return chachaHeaderProtection(key);
  const ecb = createCipheriv(name === 'aes-128' ? 'aes-128-ecb' : 'aes-256-ecb', key, null);
  ecb.setAutoPadding(false);
  return {
    mask(sample) {
      if (sample.length < 16) throw new CryptoError('header protection sample must be 16 bytes');
      // The packet path hands exactly the 16-byte sample: no second view of it per mask.
      return ecb.update(sample.length === 16 ? sample : sample.subarray(0, 16)).subarray(0, 5);
    },
  };
}

// Raw X25519 keys go in and out as JWK: OpenSSL 3's DER decoders and encoders cost about 1.4 ms per PKCS#8 import
// and 0.4 ms per SPKI export here, JWK about 0.15 ms and 0.02 ms (bench/crypto.ts "x25519 generate + derive").
// A private OKP JWK is imported from `d` alone (node builds it with the raw-private-key call and derives the public
// half itself); `x` must still be a string, so it is left empty rather than computed twice.
const b64url = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');

function ecdhGenerate(group: EcdhGroup, random: (n: number) => Uint8Array): EcdhKeyPair {
  if (group === 'x25519') {
    const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64url(random(32)), x: '' }, format: 'jwk' });
    // The private key's own JWK carries the public half: no second KeyObject (createPublicKey) per key share.
    const publicKey = own(Buffer.from(privateKey.export({ format: 'jwk' }).x ?? '', 'base64url'));
    if (publicKey.length !== 32) throw new CryptoError('x25519: key generation failed');
    return {
      group,
      publicKey,
      deriveSecret(peer) {
        if (peer.length !== 32) throw new CryptoError('x25519 public key must be 32 bytes');
        let shared: Uint8Array;
        try {
          const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(peer) }, format: 'jwk' });
          shared = own(diffieHellman({ privateKey, publicKey }));
        } catch {
          // OpenSSL refuses to derive from low-order points itself.
          throw new CryptoError('x25519: low-order peer public key');
        }
        if (allZero(shared)) throw new CryptoError('x25519: all-zero shared secret');
        return shared;
      },
    };
  }
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(drawP256Scalar(random));
  const publicKey = own(ecdh.getPublicKey(null, 'uncompressed'));
  return {
    group,
    publicKey,
    deriveSecret(peer) {
      if (peer.length !== 65 || peer[0] !== 0x04) throw new CryptoError('secp256r1 key share must be a 65-byte uncompressed point');
      try {
        return own(ecdh.computeSecret(peer));
      } catch {
        throw new CryptoError('secp256r1: peer public key is not a valid curve point');
      }
    },
  };
}

const b64u = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');
const bigB64u = (n: bigint) => b64u(i2osp(n, Math.max(1, byteLength(n))));
const JWK_CURVE = { secp256r1: 'P-256', secp384r1: 'P-384' } as const;
const COORD_LENGTH = { secp256r1: 32, secp384r1: 48 } as const;

const publicKeyCache = new WeakMap<PublicKey, KeyObject>();
const privateKeyCache = new WeakMap<PrivateKey, KeyObject>();

/**
 * Imports from the parsed fields (as the noble backend uses them) so both backends judge the same key; the SPKI
 * is the fallback for encodings JWK cannot express, such as compressed EC points.
 */
function importPublicKey(key: PublicKey): KeyObject {
  const cached = publicKeyCache.get(key);
  if (cached) return cached;
  let jwk: JsonWebKey | undefined;
  if (key.kind === 'rsa') jwk = { kty: 'RSA', n: bigB64u(key.n), e: bigB64u(key.e) };
  else if (key.kind === 'ed25519') jwk = { kty: 'OKP', crv: 'Ed25519', x: b64u(key.key) };
  else {
    const len = COORD_LENGTH[key.curve];
    if (key.point.length === 1 + 2 * len && key.point[0] === 0x04) {
      jwk = { kty: 'EC', crv: JWK_CURVE[key.curve], x: b64u(key.point.subarray(1, 1 + len)), y: b64u(key.point.subarray(1 + len)) };
    }
  }
  const imported = jwk ? createPublicKey({ key: jwk, format: 'jwk' }) : createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' });
  publicKeyCache.set(key, imported);
  return imported;
}

function importPrivateKey(key: PrivateKey): KeyObject {
  const cached = privateKeyCache.get(key);
  if (cached) return cached;
  let jwk: JsonWebKey;
  if (key.kind === 'rsa') {
    jwk = {
      kty: 'RSA', n: bigB64u(key.n), e: bigB64u(key.e), d: bigB64u(key.d), p: bigB64u(key.p), q: bigB64u(key.q),
      dp: bigB64u(key.dp), dq: bigB64u(key.dq), qi: bigB64u(key.qinv),
    };
  } else if (key.kind === 'ed25519') jwk = { kty: 'OKP', crv: 'Ed25519', d: b64u(key.seed), x: b64u(key.publicKey) };
  else throw new CryptoError('EC private keys are signed through the deterministic noble path');
  const imported = createPrivateKey({ key: jwk, format: 'jwk' });
  privateKeyCache.set(key, imported);
  return imported;
}

function verify(alg: SignatureAlgorithm, key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const spec = describeAlgorithm(alg);
    switch (spec.kind) {
      case 'ecdsa':
        if (key.kind !== 'ec' || key.curve !== spec.curve) return false;
        // OpenSSL accepts high-S and rejects non-canonical DER, the same policy as the noble backend.
        return nodeVerify(spec.hash, message, { key: importPublicKey(key), dsaEncoding: 'der' }, signature);
      case 'ed25519':
        if (key.kind !== 'ed25519') return false;
        return nodeVerify(null, message, importPublicKey(key), signature);
      case 'rsa-pss':
        if (key.kind !== 'rsa') return false;
        return nodeVerify(spec.hash, message, {
          key: importPublicKey(key),
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        }, signature);
      case 'rsa-pkcs1':
        if (key.kind !== 'rsa') return false;
        return nodeVerify(spec.hash, message, { key: importPublicKey(key), padding: constants.RSA_PKCS1_PADDING }, signature);
    }
  } catch {
    return false;
  }
}

function nodeRsaHash(name: RsaHash['name']): RsaHash {
  return { name, outputLen: RSA_HASH_LENGTH[name], digest: (d) => createHash(name).update(d).digest() };
}

function sign(alg: SignatureAlgorithm, key: PrivateKey, message: Uint8Array, random: (n: number) => Uint8Array): Uint8Array {
  const spec = describeAlgorithm(alg);
  switch (spec.kind) {
    case 'ecdsa': {
      if (key.kind === 'ec' && key.curve === spec.curve) {
        const signature = ecdsaSignDeterministic(spec.curve, spec.hash, key.d, createHash(spec.hash).update(message).digest());
        if (signature) return signature;
      }
      return nobleCrypto.sign(alg, key, message, random); // other curve/hash pairings, and its error messages
    }
    case 'ed25519':
      if (key.kind !== 'ed25519') throw new CryptoError('ed25519 needs an Ed25519 key');
      return own(nodeSign(null, message, importPrivateKey(key)));
    case 'rsa-pss': {
      if (key.kind !== 'rsa') throw new CryptoError(`${alg} needs an RSA key`);
      const hash = nodeRsaHash(spec.hash);
      const k = byteLength(key.n);
      const em = emsaPssEncode(hash, message, bitLength(key.n) - 1, random(hash.outputLen));
      const block = new Uint8Array(k); // EM may be one byte shorter than the modulus: left-pad for RSASP1
      block.set(em, k - em.length);
      return own(privateEncrypt({ key: importPrivateKey(key), padding: constants.RSA_NO_PADDING }, block));
    }
    case 'rsa-pkcs1':
      if (key.kind !== 'rsa') throw new CryptoError(`${alg} needs an RSA key`);
      return own(nodeSign(spec.hash, message, { key: importPrivateKey(key), padding: constants.RSA_PKCS1_PADDING }));
  }
}

export const nodeCrypto: CryptoProvider = {
  name: 'node',
  hashLength: (hash) => HASH_LENGTH[hash],
  // crypto.hash: one call, no Hash object (node ≥ 20.12; package.json asks for 20.19).
  hash: (hash, data) => (hash === 'sha256' && data.length <= JS_SHA256_MAX ? sha256(data) : own(oneShotHash(hash, data, 'buffer'))),
  hasher: (hash) => wrapHasher(createHash(hash)),
  hmac,
  hkdfExtract,
  hkdfExpand,
  aead: makeAead,
  headerProtection: makeHeaderProtection,
  ecdhGenerate,
  verify,
  sign,
};
