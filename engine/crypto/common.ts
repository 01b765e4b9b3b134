// Backend-independent tables for the crypto providers: key sizes (RFC 5116 §5, RFC 8439 §2.8), the ChaCha20 header-protection input split (RFC 9001 §5.4.4) and TLS SignatureScheme meanings (RFC 8446 §4.2.3).

import { CryptoError, type AeadName, type HeaderProtectionName, type SignatureAlgorithm } from './provider.js';

export const AEAD_KEY_LENGTH: Record<AeadName, number> = {
  'aes-128-gcm': 16,
  'aes-256-gcm': 32,
  'chacha20-poly1305': 32,
};

export const HP_KEY_LENGTH: Record<HeaderProtectionName, number> = {
  'aes-128': 16,
  'aes-256': 32,
  chacha20: 32,
};

/** RFC 9001 §5.4.4: the first 4 sample bytes are the block counter (little-endian), the remaining 12 the nonce. */
export function chachaMaskInputs(sample: Uint8Array): { counter: number; nonce: Uint8Array } {
  if (sample.length < 16) throw new CryptoError('header protection sample must be 16 bytes');
  const counter = (sample[0] | (sample[1] << 8) | (sample[2] << 16) | (sample[3] << 24)) >>> 0;
  return { counter, nonce: sample.subarray(4, 16) };
}

/** The order n of secp256r1's base point (SEC 2 §2.4.2), big-endian. */
const P256_ORDER = Uint8Array.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'.match(/../g)!, (h) => parseInt(h, 16));

/** 0 < d < n for a 32-byte big-endian d. */
function isP256Scalar(d: Uint8Array): boolean {
  if (allZero(d)) return false;
  for (let i = 0; i < 32; i++) if (d[i] !== P256_ORDER[i]) return d[i]! < P256_ORDER[i]!;
  return false; // d = n
}

/**
 * Draws secp256r1 scalars from the injected random until one lies in [1, n-1] (FIPS 186-5 A.2.2 rejection
 * sampling). Every backend uses this, so the same seed yields the same key share whichever backend runs.
 */
export function drawP256Scalar(random: (n: number) => Uint8Array): Uint8Array {
  for (let attempt = 0; attempt < 64; attempt++) {
    const d = Uint8Array.from(random(32));
    if (d.length === 32 && isP256Scalar(d)) return d;
  }
  throw new CryptoError('random source produced no valid P-256 scalar in 64 draws');
}

export function allZero(b: Uint8Array): boolean {
  let acc = 0;
  for (const x of b) acc |= x;
  return acc === 0;
}

export type SignatureSpec =
  | { kind: 'ecdsa'; curve: 'secp256r1' | 'secp384r1'; hash: 'sha256' | 'sha384' }
  | { kind: 'ed25519' }
  | { kind: 'rsa-pss'; hash: 'sha256' | 'sha384' | 'sha512' }
  | { kind: 'rsa-pkcs1'; hash: 'sha1' | 'sha256' | 'sha384' | 'sha512' };

const SPECS: Record<SignatureAlgorithm, SignatureSpec> = {
  ecdsa_secp256r1_sha256: { kind: 'ecdsa', curve: 'secp256r1', hash: 'sha256' },
  ecdsa_secp384r1_sha384: { kind: 'ecdsa', curve: 'secp384r1', hash: 'sha384' },
  ecdsa_secp256r1_sha384: { kind: 'ecdsa', curve: 'secp256r1', hash: 'sha384' },
  ecdsa_secp384r1_sha256: { kind: 'ecdsa', curve: 'secp384r1', hash: 'sha256' },
  rsa_pss_rsae_sha256: { kind: 'rsa-pss', hash: 'sha256' },
  rsa_pss_rsae_sha384: { kind: 'rsa-pss', hash: 'sha384' },
  rsa_pss_rsae_sha512: { kind: 'rsa-pss', hash: 'sha512' },
  rsa_pkcs1_sha256: { kind: 'rsa-pkcs1', hash: 'sha256' },
  rsa_pkcs1_sha384: { kind: 'rsa-pkcs1', hash: 'sha384' },
  rsa_pkcs1_sha512: { kind: 'rsa-pkcs1', hash: 'sha512' },
  rsa_pkcs1_sha1: { kind: 'rsa-pkcs1', hash: 'sha1' },
  ed25519: { kind: 'ed25519' },
};

/** Splits a SignatureAlgorithm into primitive, curve and hash; throws CryptoError for names outside the union. */
export function describeAlgorithm(alg: SignatureAlgorithm): SignatureSpec {
  const spec = SPECS[alg];
  if (!spec) throw new CryptoError(`unsupported signature algorithm ${String(alg)}`);
  return spec;
}
