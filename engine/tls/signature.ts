// CertificateVerify (RFC 8446 §4.4.3) and the TLS 1.3 signature schemes of §4.2.3: choosing a scheme for a key, signing, verifying.

import type { CryptoProvider, PrivateKey, PublicKey } from '../crypto/provider.js';
import { concat } from '../wire/bytes.js';
import { Alert, TlsError, type SignatureScheme } from './api.js';
import type { RandomSource } from '../crypto/random.js';

export const DEFAULT_SIGNATURE_SCHEMES: readonly SignatureScheme[] = [
  'ecdsa_secp256r1_sha256',
  'ecdsa_secp384r1_sha384',
  'rsa_pss_rsae_sha256',
  'rsa_pss_rsae_sha384',
  'ed25519',
];

/** Schemes a key of this type can produce; in TLS 1.3 an ECDSA curve fixes its hash (§4.2.3). */
function schemesForKey(key: PrivateKey | PublicKey): SignatureScheme[] {
  switch (key.kind) {
    case 'ec':
      return key.curve === 'secp256r1' ? ['ecdsa_secp256r1_sha256'] : ['ecdsa_secp384r1_sha384'];
    case 'ed25519':
      return ['ed25519'];
    case 'rsa':
      return ['rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384'];
  }
}

/** The first scheme in the peer's preference order that our key can make, or undefined. */
export function chooseSignatureScheme(key: PrivateKey, peerSchemes: readonly SignatureScheme[], ours: readonly SignatureScheme[]): SignatureScheme | undefined {
  const usable = schemesForKey(key).filter((s) => ours.includes(s));
  return peerSchemes.find((s) => usable.includes(s));
}

const PAD = new Uint8Array(64).fill(0x20);
const enc = new TextEncoder();

/** The signed content: 64 spaces, a context string naming the role, a zero byte, the transcript hash. */
export function certificateVerifyContent(signer: 'client' | 'server', transcriptHash: Uint8Array): Uint8Array {
  return concat(PAD, enc.encode(`TLS 1.3, ${signer} CertificateVerify`), Uint8Array.of(0), transcriptHash);
}

export function signCertificateVerify(
  crypto: CryptoProvider,
  scheme: SignatureScheme,
  key: PrivateKey,
  signer: 'client' | 'server',
  transcriptHash: Uint8Array,
  random: RandomSource,
): Uint8Array {
  return crypto.sign(scheme, key, certificateVerifyContent(signer, transcriptHash), random);
}

/** Checks the peer's CertificateVerify: the scheme must be one we offered and fit the key; a bad signature is decrypt_error. */
export function verifyCertificateVerify(
  crypto: CryptoProvider,
  scheme: SignatureScheme | undefined,
  offered: readonly SignatureScheme[],
  key: PublicKey,
  signer: 'client' | 'server',
  transcriptHash: Uint8Array,
  signature: Uint8Array,
): void {
  if (!scheme || !offered.includes(scheme)) throw new TlsError(Alert.illegal_parameter, 'CertificateVerify uses a signature scheme we did not offer');
  if (!schemesForKey(key).includes(scheme)) throw new TlsError(Alert.illegal_parameter, `signature scheme ${scheme} does not fit the certificate key`);
  let ok = false;
  try {
    ok = crypto.verify(scheme, key, certificateVerifyContent(signer, transcriptHash), signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new TlsError(Alert.decrypt_error, `${signer} CertificateVerify signature does not verify`);
}
