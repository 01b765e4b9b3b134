// Server certificate checks for the DTLS client (RFC 5246 §7.4.2, RFC 5280 §6 via the shared X.509 verifier,
// RFC 6125 names): the chain is verified by default; `insecure` only skips chain, name and date checks.

import type { CryptoProvider, PublicKey } from '../crypto/provider.js';
import { Alert, TlsError } from '../tls/api.js';
import { parseCertificate } from '../tls/x509/certificate.js';
import { verifyChain } from '../tls/x509/verify.js';
import { DecodeError } from '../wire/reader.js';

export interface PeerCertificateCheck {
  readonly crypto: CryptoProvider;
  readonly anchors: readonly Uint8Array[];
  readonly hostname?: string;
  /** Wall-clock milliseconds. */
  readonly now: number;
  readonly insecure: boolean;
}

/** The leaf's public key, or a TlsError carrying the alert to send. */
export function verifyPeerCertificate(chain: readonly Uint8Array[], check: PeerCertificateCheck): PublicKey {
  if (check.insecure) {
    try {
      return parseCertificate(chain[0]!).publicKey;
    } catch (e) {
      if (e instanceof DecodeError) throw new TlsError(Alert.bad_certificate, `cannot parse the server certificate: ${e.message}`);
      throw e;
    }
  }
  const leaf = verifyChain(chain, { crypto: check.crypto, anchors: check.anchors, hostname: check.hostname, now: check.now });
  return leaf.publicKey;
}
