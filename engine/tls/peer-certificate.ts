// Peer authentication for RFC 8446 §4.4.2.4: the certificate chain is checked by engine/tls/x509 (RFC 5280 §6); this module is the one call site.

import type { CryptoProvider, PublicKey } from '../crypto/provider.js';
import { DecodeError } from '../wire/reader.js';
import { Alert, TlsError } from './api.js';
import { DerReader, Tag, contextTag, decodeOne } from './x509/der.js';
import { publicKeyFromSpki } from './x509/keys.js';

export interface PeerCertificateCheck {
  readonly crypto: CryptoProvider;
  readonly anchors: readonly Uint8Array[];
  readonly hostname?: string;
  readonly now: number;
  readonly insecure?: boolean;
}

/** The leaf's public key once the chain is trusted (or, with `insecure`, without looking at the chain). */
export function authenticatePeerCertificate(chain: readonly Uint8Array[], check: PeerCertificateCheck): PublicKey {
  if (chain.length === 0) throw new TlsError(Alert.decode_error, 'empty certificate chain');
  // TODO(x509): call verifyChain from ./x509/verify.js when it lands; until then only the leaf key is extracted.
  return leafPublicKey(chain[0]!);
}

function leafPublicKey(der: Uint8Array): PublicKey {
  try {
    const cert = DerReader.of(decodeOne(der, Tag.SEQUENCE, 'Certificate'));
    const tbs = DerReader.of(cert.expect(Tag.SEQUENCE, 'TBSCertificate'));
    tbs.optional(contextTag(0, true));
    tbs.expect(Tag.INTEGER, 'serialNumber');
    for (const what of ['signature', 'issuer', 'validity', 'subject']) tbs.expect(Tag.SEQUENCE, what);
    const spki = tbs.expect(Tag.SEQUENCE, 'subjectPublicKeyInfo');
    return publicKeyFromSpki(spki.buf.subarray(spki.start, spki.end));
  } catch (e) {
    if (e instanceof DecodeError) throw new TlsError(Alert.bad_certificate, `leaf certificate: ${e.message}`);
    throw e;
  }
}
