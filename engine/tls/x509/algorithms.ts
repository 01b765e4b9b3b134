// AlgorithmIdentifier (RFC 5280 §4.1.1.2) for signatures: RFC 4055 §3.1 (RSASSA-PSS parameters), RFC 5758 §3.2 (ECDSA), RFC 8410 §3 (Ed25519), RFC 8017 App. C.

import type { SignatureAlgorithm } from '../../crypto/provider.js';
import { DecodeError } from '../../wire/reader.js';
import { contextTag, DerReader, readNull, readOid, readSmallInt, Tag, type DerNode } from './der.js';
import { OID } from './oids.js';

/**
 * Well-formed DER naming an algorithm or key type the engine cannot use (P-521, Ed448, DSA, odd PSS parameters).
 * It is a DecodeError so parsers keep their single error type; verify.ts reports it as unsupported_certificate.
 */
export class UnsupportedAlgorithmError extends DecodeError {
  override name = 'UnsupportedAlgorithmError';
}

export interface AlgorithmIdentifier {
  readonly oid: string;
  /** The parameters element, when present. */
  readonly params?: DerNode;
}

export function readAlgorithmIdentifier(node: DerNode): AlgorithmIdentifier {
  if (node.tag !== Tag.SEQUENCE) throw new DecodeError(`DER: AlgorithmIdentifier at offset ${node.start} is not a SEQUENCE`);
  const r = DerReader.of(node);
  const oid = readOid(r.expect(Tag.OID, 'algorithm OID'));
  const params = r.atEnd() ? undefined : r.next();
  r.done('AlgorithmIdentifier');
  return params ? { oid, params } : { oid };
}

export type SignatureHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export interface CertSignatureAlgorithm {
  /**
   * The TLS-style algorithm. For ECDSA the curve is not part of the X.509 identifier (it is the issuer key's);
   * the value names the hash's customary curve, and `forKey` picks the exact one once the issuer key is known.
   */
  readonly algorithm: SignatureAlgorithm;
  readonly hash: SignatureHash;
  readonly family: 'ecdsa' | 'rsa-pkcs1' | 'rsa-pss' | 'ed25519';
  /** Readable name for messages ('ecdsa-with-SHA256', 'RSASSA-PSS(SHA-256)'). */
  readonly name: string;
  readonly oid: string;
}

const HASH_OIDS: Record<string, SignatureHash> = {
  [OID.sha1]: 'sha1',
  [OID.sha256]: 'sha256',
  [OID.sha384]: 'sha384',
  [OID.sha512]: 'sha512',
};

const HASH_LENGTH: Record<SignatureHash, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

const SIMPLE: Record<string, Omit<CertSignatureAlgorithm, 'oid'> & { nullParams: 'required' | 'absent' | 'either' }> = {
  [OID.ecdsaWithSha256]: { algorithm: 'ecdsa_secp256r1_sha256', hash: 'sha256', family: 'ecdsa', name: 'ecdsa-with-SHA256', nullParams: 'absent' },
  [OID.ecdsaWithSha384]: { algorithm: 'ecdsa_secp384r1_sha384', hash: 'sha384', family: 'ecdsa', name: 'ecdsa-with-SHA384', nullParams: 'absent' },
  // RFC 4055 §5 says NULL; some old issuers omit it, which every major stack tolerates.
  [OID.sha256WithRSAEncryption]: { algorithm: 'rsa_pkcs1_sha256', hash: 'sha256', family: 'rsa-pkcs1', name: 'sha256WithRSAEncryption', nullParams: 'either' },
  [OID.sha384WithRSAEncryption]: { algorithm: 'rsa_pkcs1_sha384', hash: 'sha384', family: 'rsa-pkcs1', name: 'sha384WithRSAEncryption', nullParams: 'either' },
  [OID.sha512WithRSAEncryption]: { algorithm: 'rsa_pkcs1_sha512', hash: 'sha512', family: 'rsa-pkcs1', name: 'sha512WithRSAEncryption', nullParams: 'either' },
  [OID.sha1WithRSAEncryption]: { algorithm: 'rsa_pkcs1_sha1', hash: 'sha1', family: 'rsa-pkcs1', name: 'sha1WithRSAEncryption', nullParams: 'either' },
  [OID.ed25519]: { algorithm: 'ed25519', hash: 'sha512', family: 'ed25519', name: 'Ed25519', nullParams: 'absent' },
};

const UNSUPPORTED_NAMES: Record<string, string> = {
  [OID.ecdsaWithSha512]: 'ecdsa-with-SHA512',
  [OID.ed448]: 'Ed448',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10040.4.3': 'dsa-with-sha1',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-sha256',
};

/** Maps a certificate's signatureAlgorithm to the provider's algorithm; UnsupportedAlgorithmError for the rest. */
export function signatureAlgorithmOf(node: DerNode): CertSignatureAlgorithm {
  const { oid, params } = readAlgorithmIdentifier(node);
  const simple = SIMPLE[oid];
  if (simple) {
    const { nullParams, ...alg } = simple;
    if (params) {
      if (nullParams === 'absent') throw new DecodeError(`${alg.name} must not carry parameters`);
      readNull(params);
    } else if (nullParams === 'required') {
      throw new DecodeError(`${alg.name} requires NULL parameters`);
    }
    return { ...alg, oid };
  }
  if (oid === OID.rsassaPss) return pssAlgorithm(params);
  throw new UnsupportedAlgorithmError(`signature algorithm ${UNSUPPORTED_NAMES[oid] ?? oid} is not supported`);
}

function hashOf(node: DerNode, what: string): SignatureHash {
  const alg = readAlgorithmIdentifier(node);
  if (alg.params) readNull(alg.params);
  const h = HASH_OIDS[alg.oid];
  if (!h) throw new UnsupportedAlgorithmError(`RSASSA-PSS ${what} ${alg.oid} is not supported`);
  return h;
}

/** RSASSA-PSS-params (RFC 4055 §3.1). Only the TLS-usable shape maps: MGF1 with the same hash, salt length = hash length. */
function pssAlgorithm(params: DerNode | undefined): CertSignatureAlgorithm {
  if (!params || params.tag !== Tag.SEQUENCE) throw new DecodeError('RSASSA-PSS signature algorithm without RSASSA-PSS-params');
  const r = DerReader.of(params);
  let hash: SignatureHash = 'sha1';
  let mgfHash: SignatureHash = 'sha1';
  let salt = 20;
  const h = r.optional(contextTag(0, true));
  if (h) hash = hashOf(DerReader.of(h).expect(Tag.SEQUENCE, 'hashAlgorithm'), 'hash');
  const m = r.optional(contextTag(1, true));
  if (m) {
    const mgf = readAlgorithmIdentifier(DerReader.of(m).expect(Tag.SEQUENCE, 'maskGenAlgorithm'));
    if (mgf.oid !== OID.mgf1) throw new UnsupportedAlgorithmError(`RSASSA-PSS mask generation function ${mgf.oid} is not supported`);
    if (!mgf.params) throw new DecodeError('RSASSA-PSS MGF1 without a hash');
    mgfHash = hashOf(mgf.params, 'MGF1 hash');
  }
  const s = r.optional(contextTag(2, true));
  if (s) salt = readSmallInt(DerReader.of(s).expect(Tag.INTEGER, 'saltLength'), 'RSASSA-PSS salt length');
  const t = r.optional(contextTag(3, true));
  if (t && readSmallInt(DerReader.of(t).expect(Tag.INTEGER, 'trailerField'), 'RSASSA-PSS trailer field') !== 1)
    throw new DecodeError('RSASSA-PSS trailer field must be 1');
  r.done('RSASSA-PSS-params');
  const name = `RSASSA-PSS(${hash.toUpperCase()}, MGF1-${mgfHash.toUpperCase()}, salt ${salt})`;
  if (hash !== mgfHash || salt !== HASH_LENGTH[hash] || hash === 'sha1')
    throw new UnsupportedAlgorithmError(`signature algorithm ${name} is not supported (need MGF1 with the same SHA-2 hash and salt = hash length)`);
  const algorithm = hash === 'sha256' ? 'rsa_pss_rsae_sha256' : hash === 'sha384' ? 'rsa_pss_rsae_sha384' : 'rsa_pss_rsae_sha512';
  return { algorithm, hash, family: 'rsa-pss', name, oid: OID.rsassaPss };
}

/** The exact ECDSA algorithm for an issuer key's curve, or undefined when the curve/hash pair has no provider name. */
export function ecdsaAlgorithm(curve: 'secp256r1' | 'secp384r1', hash: SignatureHash): SignatureAlgorithm | undefined {
  if (hash === 'sha256') return curve === 'secp256r1' ? 'ecdsa_secp256r1_sha256' : 'ecdsa_secp384r1_sha256';
  if (hash === 'sha384') return curve === 'secp256r1' ? 'ecdsa_secp256r1_sha384' : 'ecdsa_secp384r1_sha384';
  return undefined;
}

