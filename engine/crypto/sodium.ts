// CryptoProvider 'sodium': the node backend with ChaCha20-Poly1305 (RFC 8439 §2.8) and ChaCha20 header protection
// (RFC 9001 §5.4.4) on libsodium through the optional npm package sodium-native.
//
// node:crypto needs a cipher object per packet for ChaCha20-Poly1305 (OpenSSL takes the nonce at init), and that
// object, not the cipher, is most of its cost; libsodium takes key, nonce and buffers in one call with nothing to
// allocate (issue 15: 12.5 µs against 3.2 µs per 1200-byte seal+open). AES-GCM stays on node:crypto: libsodium has
// no AES-128-GCM, and its AES-256-GCM needs AES-NI at run time. Everything else (hashes, key exchange, signatures) is
// the node backend's, so a handshake is byte-for-byte the same whichever of the two runs it.
//
// The package is loaded on first use, not imported: an install without it (or on a platform it has no prebuilt
// binary for) keeps every other backend working and fails only when 'sodium' is chosen, naming the package.

import { createRequire } from 'node:module';
import { CryptoError, type Aead, type AeadName, type CryptoProvider, type HeaderProtection, type HeaderProtectionName } from './provider.js';
import { HP_KEY_LENGTH, chachaMaskInputs } from './common.js';
import { nodeCrypto } from './node.js';

/** The few sodium-native calls used here (the package ships no type declarations). */
export interface SodiumNative {
  crypto_aead_chacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array): number;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(c: Uint8Array, mac: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array): number;
  crypto_stream_chacha20_ietf_xor_ic(c: Uint8Array, m: Uint8Array, n: Uint8Array, ic: number, k: Uint8Array): void;
}

export const SODIUM_PACKAGE = 'sodium-native';

function requireSodium(): unknown {
  return createRequire(import.meta.url)(SODIUM_PACKAGE);
}

function makeAead(sodium: SodiumNative, key: Uint8Array): Aead {
  if (key.length !== 32) throw new CryptoError(`chacha20-poly1305: key must be 32 bytes, got ${key.length}`);
  const k = Uint8Array.from(key);
  return {
    keyLength: 32,
    tagLength: 16,
    seal(nonce, plaintext, aad) {
      if (nonce.length !== 12) throw new CryptoError('chacha20-poly1305: nonce must be 12 bytes');
      const out = new Uint8Array(plaintext.length + 16);
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, plaintext, aad, null, nonce, k);
      return out;
    },
    sealInPlace(nonce, packet, aadLength, plaintextLength) {
      // libsodium encrypts in place (c === m) and writes the tag after it: no buffer is allocated or copied.
      if (nonce.length !== 12) throw new CryptoError('chacha20-poly1305: nonce must be 12 bytes');
      const end = aadLength + plaintextLength;
      const body = packet.subarray(aadLength, end);
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt_detached(body, packet.subarray(end, end + 16), body, packet.subarray(0, aadLength), null, nonce, k);
    },
    open(nonce, ciphertext, aad) {
      if (nonce.length !== 12 || ciphertext.length < 16) return null;
      const out = new Uint8Array(ciphertext.length - 16);
      try {
        // Throws on a bad tag; libsodium then wipes `out`, which is dropped anyway.
        sodium.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, ciphertext, aad, nonce, k);
      } catch {
        return null;
      }
      return out;
    },
  };
}

/** Five zero bytes XORed with the keystream give the mask; never written to, so every key shares them. */
const ZEROS = new Uint8Array(5);

function makeHeaderProtection(sodium: SodiumNative, key: Uint8Array): HeaderProtection {
  if (key.length !== HP_KEY_LENGTH.chacha20) throw new CryptoError('chacha20 header protection: key must be 32 bytes');
  const k = Uint8Array.from(key);
  return {
    mask(sample) {
      // The _ic variant takes the sample's counter as is, 0xffffffff included (RFC 9001 §5.4.4 allows any value).
      const { counter, nonce } = chachaMaskInputs(sample);
      const out = new Uint8Array(5);
      sodium.crypto_stream_chacha20_ietf_xor_ic(out, ZEROS, nonce, counter, k);
      return out;
    },
  };
}

/** The 'sodium' provider over a loaded sodium-native module. */
export function sodiumCryptoFrom(sodium: SodiumNative): CryptoProvider {
  return {
    ...nodeCrypto,
    name: 'sodium',
    aead: (name: AeadName, key: Uint8Array) => (name === 'chacha20-poly1305' ? makeAead(sodium, key) : nodeCrypto.aead(name, key)),
    headerProtection: (name: HeaderProtectionName, key: Uint8Array) =>
      name === 'chacha20' ? makeHeaderProtection(sodium, key) : nodeCrypto.headerProtection(name, key),
  };
}

let loaded: CryptoProvider | undefined;

/**
 * The 'sodium' provider, loading sodium-native on the first call. `load` stands in for the package's require (tests
 * pass one that fails, to see the error a user without the package gets).
 */
export function sodiumCrypto(load: () => unknown = requireSodium): CryptoProvider {
  if (loaded && load === requireSodium) return loaded;
  let sodium: SodiumNative;
  try {
    sodium = load() as SodiumNative;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new CryptoError(
      `crypto backend 'sodium' needs the npm package ${SODIUM_PACKAGE}, which could not be loaded (${why}); install it with \`npm install ${SODIUM_PACKAGE}\` or choose the node or noble backend`,
    );
  }
  if (typeof sodium?.crypto_aead_chacha20poly1305_ietf_encrypt !== 'function' || typeof sodium.crypto_stream_chacha20_ietf_xor_ic !== 'function') {
    throw new CryptoError(`crypto backend 'sodium': the loaded ${SODIUM_PACKAGE} lacks the ChaCha20-Poly1305 IETF functions`);
  }
  const provider = sodiumCryptoFrom(sodium);
  if (load === requireSodium) loaded = provider;
  return provider;
}
