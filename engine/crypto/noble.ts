// Pure-JS CryptoProvider over @noble/*: AEAD (RFC 5116, RFC 8439 §2.8), QUIC header protection (RFC 9001 §5.4.3-§5.4.4), HKDF (RFC 5869), ECDHE (RFC 8446 §7.4), signatures (RFC 8446 §4.2.3).

import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { hmac } from '@noble/hashes/hmac.js';
import { extract, expand } from '@noble/hashes/hkdf.js';
import { nobleAes, nobleChacha, nobleEdwards, nobleNist } from './noble-packages.js';
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
import { rsaPkcs1Sign, rsaPkcs1Verify, rsaPssSign, rsaPssVerify, type RsaHash } from './rsa.js';
import { chachaHeaderProtection } from './chacha-block.js';
import { gcmKey } from './noble-gcm.js';
import { AEAD_KEY_LENGTH, HP_KEY_LENGTH, allZero, describeAlgorithm, drawP256Scalar } from './common.js';

const HASHES = { sha1, sha256, sha384, sha512 } as const;

function rsaHash(name: RsaHash['name']): RsaHash {
  const fn = HASHES[name];
  return { name, outputLen: fn.outputLen, digest: (d) => fn(d) };
}

type NobleHasher = ReturnType<typeof sha256.create> | ReturnType<typeof sha384.create>;

function wrapHasher(h: NobleHasher): ReturnType<CryptoProvider['hasher']> {
  return {
    update(data: Uint8Array) {
      h.update(data);
    },
    // noble's digest() finalises the state, so snapshot first: transcripts are hashed at many points.
    digest: () => h.clone().digest(),
    clone: () => wrapHasher(h.clone()),
  };
}

function makeAead(name: AeadName, key: Uint8Array): Aead {
  const keyLength = AEAD_KEY_LENGTH[name];
  if (key.length !== keyLength) throw new CryptoError(`${name}: key must be ${keyLength} bytes, got ${key.length}`);
  const k = Uint8Array.from(key);
  // GCM keeps its expanded key and GHASH table across packets (noble-gcm.ts); ChaCha20-Poly1305 has no per-key
  // precomputation worth keeping, its Poly1305 key is per nonce anyway.
  const gcmState = name === 'chacha20-poly1305' ? undefined : gcmKey(k);
  return {
    keyLength,
    tagLength: 16,
    seal(nonce, plaintext, aad) {
      if (nonce.length !== 12) throw new CryptoError(`${name}: nonce must be 12 bytes`);
      return gcmState ? gcmState.seal(nonce, plaintext, aad) : nobleChacha().chacha20poly1305(k, nonce, aad).encrypt(plaintext);
    },
    open(nonce, ciphertext, aad) {
      if (nonce.length !== 12 || ciphertext.length < 16) return null;
      try {
        return gcmState ? gcmState.open(nonce, ciphertext, aad) : nobleChacha().chacha20poly1305(k, nonce, aad).decrypt(ciphertext);
      } catch {
        return null;
      }
    },
  };
}

/** Scratch block of every AES header-protection key (see makeHeaderProtection). */
const HP_BLOCK = new Uint8Array(16);

function makeHeaderProtection(name: HeaderProtectionName, key: Uint8Array): HeaderProtection {
  if (key.length !== HP_KEY_LENGTH[name]) throw new CryptoError(`${name} header protection: key must be ${HP_KEY_LENGTH[name]} bytes`);
  if (name === 'chacha20') {
    return chachaHeaderProtection(key);
  }
  // Expand the AES key once (a fresh ecb() would rerun the key schedule per sample) and encrypt in one scratch block:
  // header protection runs twice per packet, so it allocates only the 5-byte mask it returns.
  const aes = nobleAes().unsafe;
  const expanded = aes.expandKeyLE(key);
  const block = HP_BLOCK; // shared: mask() is synchronous and returns a copy (one scratch array less per key, issue 15)
  return {
    mask(sample) {
      if (sample.length < 16) throw new CryptoError('header protection sample must be 16 bytes');
      block.set(sample.subarray(0, 16));
      aes.encryptBlock(expanded, block);
      return block.slice(0, 5);
    },
  };
}

function ecdhGenerate(group: EcdhGroup, random: (n: number) => Uint8Array): EcdhKeyPair {
  if (group === 'x25519') {
    const priv = Uint8Array.from(random(32)); // a private copy: the caller's buffer may be reused by the RNG
    const publicKey = nobleEdwards().x25519.getPublicKey(priv);
    return {
      group,
      publicKey,
      deriveSecret(peer) {
        if (peer.length !== 32) throw new CryptoError('x25519 public key must be 32 bytes');
        let shared: Uint8Array;
        try {
          shared = nobleEdwards().x25519.getSharedSecret(priv, peer);
        } catch {
          throw new CryptoError('x25519: low-order peer public key');
        }
        // RFC 8446 §7.4.2: an all-zero result means a low-order point and MUST abort.
        if (allZero(shared)) throw new CryptoError('x25519: all-zero shared secret');
        return shared;
      },
    };
  }
  const d = drawP256Scalar(random);
  const publicKey = nobleNist().p256.getPublicKey(d, false);
  return {
    group,
    publicKey,
    deriveSecret(peer) {
      // RFC 8446 §4.2.8.2: only the uncompressed form is valid in TLS 1.3 key shares.
      if (peer.length !== 65 || peer[0] !== 0x04) throw new CryptoError('secp256r1 key share must be a 65-byte uncompressed point');
      let shared: Uint8Array;
      try {
        shared = nobleNist().p256.getSharedSecret(d, peer, true);
      } catch {
        throw new CryptoError('secp256r1: peer public key is not a valid curve point');
      }
      return shared.subarray(1); // x-coordinate only (RFC 8446 §7.4.1)
    },
  };
}

function ecdsaCurve(curve: 'secp256r1' | 'secp384r1') {
  return curve === 'secp256r1' ? nobleNist().p256 : nobleNist().p384;
}

function verify(alg: SignatureAlgorithm, key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const spec = describeAlgorithm(alg);
    switch (spec.kind) {
      case 'ecdsa': {
        if (key.kind !== 'ec' || key.curve !== spec.curve) return false;
        const digest = HASHES[spec.hash](message);
        // lowS: false because OpenSSL and most CAs emit high-S signatures; malleability is irrelevant for TLS.
        return ecdsaCurve(spec.curve).verify(signature, digest, key.point, { prehash: false, lowS: false, format: 'der' });
      }
      case 'ed25519':
        if (key.kind !== 'ed25519') return false;
        // zip215: false gives RFC 8032 strict decoding, matching OpenSSL, so both backends agree on edge cases.
        return nobleEdwards().ed25519.verify(signature, message, key.key, { zip215: false });
      case 'rsa-pss':
        if (key.kind !== 'rsa') return false;
        return rsaPssVerify(key, rsaHash(spec.hash), message, signature);
      case 'rsa-pkcs1':
        if (key.kind !== 'rsa') return false;
        return rsaPkcs1Verify(key, rsaHash(spec.hash), message, signature);
    }
  } catch {
    // Malformed DER, off-curve points, bad lengths: all are simply "not a valid signature".
    return false;
  }
}

function sign(alg: SignatureAlgorithm, key: PrivateKey, message: Uint8Array, random: (n: number) => Uint8Array): Uint8Array {
  const spec = describeAlgorithm(alg);
  switch (spec.kind) {
    case 'ecdsa': {
      if (key.kind !== 'ec' || key.curve !== spec.curve) throw new CryptoError(`${alg} needs a ${spec.curve} EC key`);
      const digest = HASHES[spec.hash](message);
      return ecdsaCurve(spec.curve).sign(digest, key.d, { prehash: false, format: 'der' });
    }
    case 'ed25519':
      if (key.kind !== 'ed25519') throw new CryptoError('ed25519 needs an Ed25519 key');
      return nobleEdwards().ed25519.sign(message, key.seed);
    case 'rsa-pss':
      if (key.kind !== 'rsa') throw new CryptoError(`${alg} needs an RSA key`);
      return rsaPssSign(key, rsaHash(spec.hash), message, random);
    case 'rsa-pkcs1':
      if (key.kind !== 'rsa') throw new CryptoError(`${alg} needs an RSA key`);
      return rsaPkcs1Sign(key, rsaHash(spec.hash), message);
  }
}

export const nobleCrypto: CryptoProvider = {
  name: 'noble',
  hashLength: (hash: HashName) => HASHES[hash].outputLen,
  hash: (hash, data) => HASHES[hash](data),
  hasher: (hash) => wrapHasher(HASHES[hash].create()),
  hmac: (hash, key, data) => hmac(HASHES[hash], key, data),
  // noble's extract takes (hash, ikm, salt): the reverse of RFC 5869's argument order.
  hkdfExtract: (hash, salt, ikm) => extract(HASHES[hash], ikm, salt),
  hkdfExpand: (hash, prk, info, length) => {
    if (length > 255 * HASHES[hash].outputLen) throw new CryptoError(`HKDF-Expand: length ${length} exceeds 255 * HashLen`);
    return expand(HASHES[hash], prk, info, length);
  },
  aead: makeAead,
  headerProtection: makeHeaderProtection,
  ecdhGenerate,
  verify,
  sign,
};
