// Peer authentication for RFC 8446 §4.4.2.4: the certificate chain is checked by engine/tls/x509 (RFC 5280 §6); this module is the one call site.

import type { CryptoProvider, PublicKey } from '../crypto/provider.js';
import { DecodeError } from '../wire/reader.js';
import { Alert, TlsError } from './api.js';
import { parseCertificate } from './x509/certificate.js';
import { verifyChain } from './x509/verify.js';
import { UnsupportedAlgorithmError } from './x509/algorithms.js';

export interface PeerCertificateCheck {
  readonly crypto: CryptoProvider;
  readonly anchors: readonly Uint8Array[];
  /** Server identity to match; omitted for client certificates. */
  readonly hostname?: string;
  readonly now: number;
  /** Skip chain, name and date checks: the leaf key is still returned so CertificateVerify is checked. */
  readonly insecure?: boolean;
  readonly purpose: 'server' | 'client';
}

/** The leaf's public key once the chain is trusted (or, with `insecure`, without looking at the chain). */
export function authenticatePeerCertificate(chain: readonly Uint8Array[], check: PeerCertificateCheck): PublicKey {
  if (chain.length === 0) throw new TlsError(Alert.decode_error, 'empty certificate chain');
  if (!check.insecure) {
    return verifyChain(chain, { crypto: check.crypto, anchors: check.anchors, hostname: check.hostname, now: check.now, purpose: check.purpose }).publicKey;
  }
  try {
    return parseCertificate(chain[0]!).publicKey;
  } catch (e) {
    if (e instanceof UnsupportedAlgorithmError) throw new TlsError(Alert.unsupported_certificate, `leaf certificate: ${e.message}`);
    if (e instanceof DecodeError) throw new TlsError(Alert.bad_certificate, `leaf certificate: ${e.message}`);
    throw e;
  }
}
