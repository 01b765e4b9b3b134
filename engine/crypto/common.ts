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
