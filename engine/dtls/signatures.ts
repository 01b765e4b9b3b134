// TLS 1.2 signature_algorithms code points (RFC 5246 §7.4.1.4.1, RFC 8446 §4.2.3 numbering for RSA-PSS) mapped to
// provider algorithms. In TLS 1.2 an ECDSA code point names only the hash: the curve comes from the certificate key.

import type { PrivateKey, PublicKey, SignatureAlgorithm } from '../crypto/provider.js';

export const SignatureScheme = {
  ecdsa_sha256: 0x0403,
  ecdsa_sha384: 0x0503,
  rsa_pkcs1_sha256: 0x0401,
  rsa_pkcs1_sha384: 0x0501,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
} as const;

/** What our client offers, strongest-common first. */
export const OFFERED_SIGNATURE_SCHEMES: readonly number[] = [
  SignatureScheme.ecdsa_sha256,
  SignatureScheme.ecdsa_sha384,
  SignatureScheme.rsa_pss_rsae_sha256,
  SignatureScheme.rsa_pss_rsae_sha384,
  SignatureScheme.rsa_pkcs1_sha256,
  SignatureScheme.rsa_pkcs1_sha384,
];

type KeyShape = { kind: 'ec'; curve: 'secp256r1' | 'secp384r1' } | { kind: 'rsa' } | { kind: 'ed25519' };

/** The provider algorithm for a code point and key, or undefined when they do not fit together. */
export function providerAlgorithm(scheme: number, key: KeyShape): SignatureAlgorithm | undefined {
  if (key.kind === 'ec') {
    const p256 = key.curve === 'secp256r1';
    if (scheme === SignatureScheme.ecdsa_sha256) return p256 ? 'ecdsa_secp256r1_sha256' : 'ecdsa_secp384r1_sha256';
    if (scheme === SignatureScheme.ecdsa_sha384) return p256 ? 'ecdsa_secp256r1_sha384' : 'ecdsa_secp384r1_sha384';
    return undefined;
  }
  if (key.kind === 'rsa') {
    switch (scheme) {
      case SignatureScheme.rsa_pkcs1_sha256: return 'rsa_pkcs1_sha256';
      case SignatureScheme.rsa_pkcs1_sha384: return 'rsa_pkcs1_sha384';
      case SignatureScheme.rsa_pss_rsae_sha256: return 'rsa_pss_rsae_sha256';
      case SignatureScheme.rsa_pss_rsae_sha384: return 'rsa_pss_rsae_sha384';
    }
  }
  return undefined;
}

/** Server side: the scheme to sign ServerKeyExchange with, from what the client offered, in our preference order. */
export function chooseSignatureScheme(key: PrivateKey, offered: readonly number[]): number | undefined {
  const ours =
    key.kind === 'ec'
      ? key.curve === 'secp384r1'
        ? [SignatureScheme.ecdsa_sha384, SignatureScheme.ecdsa_sha256]
        : [SignatureScheme.ecdsa_sha256, SignatureScheme.ecdsa_sha384]
      : key.kind === 'rsa'
        ? [SignatureScheme.rsa_pss_rsae_sha256, SignatureScheme.rsa_pkcs1_sha256, SignatureScheme.rsa_pss_rsae_sha384, SignatureScheme.rsa_pkcs1_sha384]
        : [];
  return ours.find((s) => offered.includes(s));
}

export function keyShape(key: PublicKey | PrivateKey): KeyShape {
  return key.kind === 'ec' ? { kind: 'ec', curve: key.curve } : key.kind === 'rsa' ? { kind: 'rsa' } : { kind: 'ed25519' };
}
