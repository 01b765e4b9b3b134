// X.509 for the engine (RFC 5280 certificates and path validation, RFC 7468 PEM, RFC 6125 names): one import for callers.

export { DerReader, Tag, type DerNode } from './der.js';
export { UnsupportedAlgorithmError, type CertSignatureAlgorithm } from './algorithms.js';
export {
  commonNames, describeCertificate, KeyUsage, parseCertificate,
  type Certificate, type DistinguishedName, type Extension, type NameConstraints,
} from './certificate.js';
export { loadCertificateChain, loadPrivateKey, pemBlocks, pemDecode, pemEncode, publicKeyFromSpki, type PemBlock } from './pem.js';
export { privateKeyFromPkcs1, privateKeyFromPkcs8, privateKeyFromSec1 } from './keys.js';
export { certificateNames, matchesHostname, verifyChain, type VerifyChainOptions } from './verify.js';
export { formatIp, parseIp } from './ip.js';
export { OID } from './oids.js';
