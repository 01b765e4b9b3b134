// Key encodings: SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, RFC 5480 §2, RFC 8410 §4, RFC 8017 App. A.1), PKCS#8 (RFC 5208 §5, RFC 5958 §2), SEC1 ECPrivateKey (RFC 5915 §3), PKCS#1 RSAPrivateKey (RFC 8017 App. A.1.2).

import { nobleEdwards, nobleNist } from '../../crypto/noble-packages.js';
import type { PrivateKey, PublicKey } from '../../crypto/provider.js';
import { DecodeError } from '../../wire/reader.js';
import { UnsupportedAlgorithmError, readAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithms.js';
import { contextTag, decodeOne, DerReader, encoded, readInteger, readNull, readOctetAlignedBits, readOctetString, readOid, readSmallInt, Tag, type DerNode } from './der.js';
import { OID } from './oids.js';

type Curve = 'secp256r1' | 'secp384r1';

const CURVE_BY_OID: Record<string, Curve> = { [OID.prime256v1]: 'secp256r1', [OID.secp384r1]: 'secp384r1' };
const FIELD_BYTES: Record<Curve, number> = { secp256r1: 32, secp384r1: 48 };
const CURVE_NAMES: Record<string, string> = { [OID.secp521r1]: 'secp521r1 (P-521)', '1.3.132.0.10': 'secp256k1', '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1' };

const KEY_TYPE_NAMES: Record<string, string> = {
  [OID.ed448]: 'Ed448',
  '1.3.101.110': 'X25519',
  '1.3.101.111': 'X448',
  '1.2.840.10040.4.1': 'DSA',
};

function namedCurve(params: DerNode | undefined): Curve {
  if (!params) throw new DecodeError('EC key without curve parameters');
  if (params.tag !== Tag.OID) throw new UnsupportedAlgorithmError('EC keys with explicit curve parameters are not supported (only named curves)');
  const oid = readOid(params);
  const curve = CURVE_BY_OID[oid];
  if (!curve) throw new UnsupportedAlgorithmError(`EC curve ${CURVE_NAMES[oid] ?? oid} is not supported (P-256 and P-384 are)`);
  return curve;
}

function checkPoint(curve: Curve, point: Uint8Array): void {
  const n = FIELD_BYTES[curve];
  if (point.length === n + 1 && (point[0] === 2 || point[0] === 3))
    throw new UnsupportedAlgorithmError(`compressed ${curve} public keys are not supported`);
  if (point.length !== 2 * n + 1 || point[0] !== 4) throw new DecodeError(`${curve} public key is not an uncompressed point of ${2 * n + 1} bytes`);
}

function rsaPublic(bits: Uint8Array): { n: bigint; e: bigint } {
  const r = DerReader.of(decodeOne(bits, Tag.SEQUENCE, 'RSAPublicKey'));
  const n = readInteger(r.expect(Tag.INTEGER, 'RSA modulus'));
  const e = readInteger(r.expect(Tag.INTEGER, 'RSA public exponent'));
  r.done('RSAPublicKey');
  if (n <= 0n || e <= 0n) throw new DecodeError('RSA public key with a non-positive modulus or exponent');
  return { n, e };
}

function keyTypeError(alg: AlgorithmIdentifier): UnsupportedAlgorithmError {
  return new UnsupportedAlgorithmError(`public key type ${KEY_TYPE_NAMES[alg.oid] ?? alg.oid} is not supported (EC P-256/P-384, Ed25519 and RSA are)`);
}

/** SubjectPublicKeyInfo → PublicKey, from a node inside a larger structure (the certificate parser). */
export function publicKeyFromSpkiNode(node: DerNode): PublicKey {
  if (node.tag !== Tag.SEQUENCE) throw new DecodeError(`DER: SubjectPublicKeyInfo at offset ${node.start} is not a SEQUENCE`);
  const spki = encoded(node).slice();
  const r = DerReader.of(node);
  const alg = readAlgorithmIdentifier(r.expect(Tag.SEQUENCE, 'SPKI algorithm'));
  const bits = readOctetAlignedBits(r.expect(Tag.BIT_STRING, 'subjectPublicKey'), 'subjectPublicKey');
  r.done('SubjectPublicKeyInfo');
  switch (alg.oid) {
    case OID.ecPublicKey: {
      const curve = namedCurve(alg.params);
      checkPoint(curve, bits);
      return { kind: 'ec', curve, point: bits.slice(), spki };
    }
    case OID.ed25519:
      if (alg.params) throw new DecodeError('Ed25519 key must not carry parameters');
      if (bits.length !== 32) throw new DecodeError(`Ed25519 public key is ${bits.length} bytes, not 32`);
      return { kind: 'ed25519', key: bits.slice(), spki };
    case OID.rsaEncryption:
    case OID.rsassaPss: {
      // id-RSASSA-PSS keys (RFC 4055 §1.2) share the RSAPublicKey body; their parameters only restrict use.
      if (alg.oid === OID.rsaEncryption && alg.params) readNull(alg.params);
      return { kind: 'rsa', ...rsaPublic(bits), spki };
    }
    default:
      throw keyTypeError(alg);
  }
}

/** SubjectPublicKeyInfo DER → PublicKey. Malformed → DecodeError; unsupported key types → UnsupportedAlgorithmError. */
export function publicKeyFromSpki(spki: Uint8Array): PublicKey {
  return publicKeyFromSpkiNode(decodeOne(spki, Tag.SEQUENCE, 'SubjectPublicKeyInfo'));
}

function fixedLength(bytes: Uint8Array, n: number, what: string): Uint8Array {
  // OpenSSL sometimes drops leading zero octets of the private scalar; restore the fixed width the curve code expects.
  if (bytes.length > n) throw new DecodeError(`${what} is ${bytes.length} bytes, more than ${n}`);
  const out = new Uint8Array(n);
  out.set(bytes, n - bytes.length);
  return out;
}

function derivePoint(curve: Curve, d: Uint8Array): Uint8Array {
  try {
    return nobleNist()[curve === 'secp256r1' ? 'p256' : 'p384'].getPublicKey(d, false);
  } catch {
    throw new DecodeError(`${curve} private key is out of range`);
  }
}

/** SEC1 ECPrivateKey; `outerCurve` comes from the PKCS#8 AlgorithmIdentifier when wrapped. */
function ecPrivateKey(der: Uint8Array, outerCurve?: Curve): PrivateKey {
  const r = DerReader.of(decodeOne(der, Tag.SEQUENCE, 'ECPrivateKey'));
  if (readSmallInt(r.expect(Tag.INTEGER, 'ECPrivateKey version'), 'ECPrivateKey version') !== 1) throw new DecodeError('ECPrivateKey version must be 1');
  const raw = readOctetString(r.expect(Tag.OCTET_STRING, 'privateKey'));
  let curve = outerCurve;
  const params = r.optional(contextTag(0, true));
  if (params) {
    const inner = namedCurve(DerReader.of(params).next());
    if (curve && inner !== curve) throw new DecodeError(`ECPrivateKey curve ${inner} contradicts the PKCS#8 algorithm curve ${curve}`);
    curve = inner;
  }
  let point: Uint8Array | undefined;
  const pub = r.optional(contextTag(1, true));
  if (pub) point = readOctetAlignedBits(DerReader.of(pub).expect(Tag.BIT_STRING, 'publicKey'), 'EC publicKey');
  r.done('ECPrivateKey');
  if (!curve) throw new DecodeError('EC private key does not name its curve');
  const d = fixedLength(raw, FIELD_BYTES[curve], `${curve} private key`);
  if (point) checkPoint(curve, point);
  return { kind: 'ec', curve, d, publicPoint: point ? point.slice() : derivePoint(curve, d) };
}

/** PKCS#1 RSAPrivateKey (two-prime only). */
function rsaPrivateKey(der: Uint8Array): PrivateKey {
  const r = DerReader.of(decodeOne(der, Tag.SEQUENCE, 'RSAPrivateKey'));
  const version = readSmallInt(r.expect(Tag.INTEGER, 'RSAPrivateKey version'), 'RSAPrivateKey version');
  if (version !== 0) throw new UnsupportedAlgorithmError('multi-prime RSA private keys are not supported');
  const int = (what: string) => {
    const v = readInteger(r.expect(Tag.INTEGER, what));
    if (v <= 0n) throw new DecodeError(`RSA ${what} must be positive`);
    return v;
  };
  const key = {
    kind: 'rsa' as const,
    n: int('modulus'), e: int('publicExponent'), d: int('privateExponent'), p: int('prime1'), q: int('prime2'),
    dp: int('exponent1'), dq: int('exponent2'), qinv: int('coefficient'),
  };
  r.done('RSAPrivateKey');
  if (key.p * key.q !== key.n) throw new DecodeError('RSA private key is inconsistent: p·q ≠ n');
  return key;
}

function ed25519PrivateKey(curvePrivateKey: Uint8Array, publicKey?: Uint8Array): PrivateKey {
  const seed = readOctetString(decodeOne(curvePrivateKey, Tag.OCTET_STRING, 'CurvePrivateKey'));
  if (seed.length !== 32) throw new DecodeError(`Ed25519 private key is ${seed.length} bytes, not 32`);
  const derived = nobleEdwards().ed25519.getPublicKey(seed);
  if (publicKey && (publicKey.length !== 32 || publicKey.some((b, i) => b !== derived[i])))
    throw new DecodeError('Ed25519 private key does not match its embedded public key');
  return { kind: 'ed25519', seed: seed.slice(), publicKey: derived };
}

/** PKCS#8 PrivateKeyInfo / OneAsymmetricKey ("PRIVATE KEY"). */
export function privateKeyFromPkcs8(der: Uint8Array): PrivateKey {
  const r = DerReader.of(decodeOne(der, Tag.SEQUENCE, 'PrivateKeyInfo'));
  const version = readSmallInt(r.expect(Tag.INTEGER, 'PrivateKeyInfo version'), 'PrivateKeyInfo version');
  if (version > 1) throw new DecodeError(`PrivateKeyInfo version ${version} is unknown`);
  const alg = readAlgorithmIdentifier(r.expect(Tag.SEQUENCE, 'privateKeyAlgorithm'));
  const body = readOctetString(r.expect(Tag.OCTET_STRING, 'privateKey'));
  r.optional(contextTag(0, true)); // attributes: nothing the engine needs
  const pubNode = r.optional(contextTag(1, false));
  r.done('PrivateKeyInfo');
  switch (alg.oid) {
    case OID.ecPublicKey:
      return ecPrivateKey(body, namedCurve(alg.params));
    case OID.ed25519:
      return ed25519PrivateKey(body, pubNode ? readPublicKeyBits(pubNode) : undefined);
    case OID.rsaEncryption:
    case OID.rsassaPss:
      return rsaPrivateKey(body);
    default:
      throw new UnsupportedAlgorithmError(`private key type ${KEY_TYPE_NAMES[alg.oid] ?? alg.oid} is not supported (EC P-256/P-384, Ed25519 and RSA are)`);
  }
}

function readPublicKeyBits(node: DerNode): Uint8Array {
  const v = node.buf.subarray(node.valueStart, node.end);
  if (v.length === 0 || v[0] !== 0) throw new DecodeError('OneAsymmetricKey publicKey is not a whole number of octets');
  return v.subarray(1);
}

/** SEC1 "EC PRIVATE KEY". */
export function privateKeyFromSec1(der: Uint8Array): PrivateKey {
  return ecPrivateKey(der);
}

/** PKCS#1 "RSA PRIVATE KEY". */
export function privateKeyFromPkcs1(der: Uint8Array): PrivateKey {
  return rsaPrivateKey(der);
}
