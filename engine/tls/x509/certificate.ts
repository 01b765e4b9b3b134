// X.509 v3 certificate decoding (RFC 5280 §4.1 structure, §4.2.1 standard extensions; names printed per RFC 4514 §2).

import type { PublicKey, SignatureAlgorithm } from '../../crypto/provider.js';
import { equal } from '../../wire/bytes.js';
import { DecodeError } from '../../wire/reader.js';
import { signatureAlgorithmOf, type CertSignatureAlgorithm } from './algorithms.js';
import {
  contents, contextTag, decodeOne, DerReader, encoded, readAscii, readBoolean, readInteger, readNamedBits,
  readOctetAlignedBits, readOctetString, readOid, readSmallInt, readString, readTime, Tag, type DerNode,
} from './der.js';
import { formatIp } from './ip.js';
import { publicKeyFromSpkiNode } from './keys.js';
import { ATTRIBUTE_NAMES, OID } from './oids.js';

/** KeyUsage bits (RFC 5280 §4.2.1.3): bit i of the ASN.1 definition is `1 << i` in `Certificate.keyUsage`. */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

export interface NameAttribute {
  readonly oid: string;
  /** Short name ('CN', 'O') or the dotted OID when there is none. */
  readonly type: string;
  readonly value: string;
}

export interface DistinguishedName {
  /** The Name exactly as encoded; issuer/subject chaining compares these bytes first. */
  readonly der: Uint8Array;
  /** RFC 4514 order (most specific first), e.g. 'CN=localhost, O=Example, C=US'. */
  readonly text: string;
  /** RDNs in encoded order (least specific first); multi-valued RDNs contribute several entries. */
  readonly attributes: readonly NameAttribute[];
}

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** Contents of extnValue (the DER of the extension's own structure). */
  readonly value: Uint8Array;
}

export interface NameConstraints {
  readonly permitted: GeneralSubtrees;
  readonly excluded: GeneralSubtrees;
}

export interface GeneralSubtrees {
  readonly dns: readonly string[];
  /** Address octets followed by mask octets (8 bytes for IPv4, 32 for IPv6). */
  readonly ip: readonly Uint8Array[];
  readonly email: readonly string[];
  /** Subtrees of other name forms (directoryName, URI, …), which the verifier does not evaluate. */
  readonly other: number;
}

export interface Certificate {
  readonly der: Uint8Array;
  /** The TBSCertificate exactly as encoded: the bytes the issuer signed. */
  readonly tbs: Uint8Array;
  readonly version: 1 | 2 | 3;
  readonly serial: bigint;
  /** Serial number in upper-case hex without the DER sign octet, as `openssl x509 -serial` prints it ('00' for zero). */
  readonly serialHex: string;
  /** See CertSignatureAlgorithm.algorithm: for ECDSA the curve is resolved against the issuer key at verification. */
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly signatureAlgorithmInfo: CertSignatureAlgorithm;
  readonly signature: Uint8Array;
  readonly issuer: DistinguishedName;
  readonly subject: DistinguishedName;
  /** Milliseconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly publicKey: PublicKey;
  readonly subjectAltNames: { readonly dns: string[]; readonly ip: string[]; readonly email: string[]; readonly uri: string[] };
  /** True when the certificate has a subjectAltName extension at all (RFC 6125 §6.4.4: then CN is not a fallback). */
  readonly hasSubjectAltName: boolean;
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLen?: number };
  readonly keyUsage?: number;
  readonly extKeyUsage?: string[];
  readonly subjectKeyId?: Uint8Array;
  readonly authorityKeyId?: Uint8Array;
  readonly nameConstraints?: NameConstraints;
  readonly extensions: readonly Extension[];
  /** OIDs of critical extensions this parser does not understand; verify.ts rejects chains containing them. */
  readonly unknownCriticalExtensions: string[];
}

const HANDLED_EXTENSIONS = new Set<string>([
  OID.subjectAltName, OID.basicConstraints, OID.keyUsage, OID.extKeyUsage, OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier, OID.nameConstraints,
  // Policies are accepted without policy processing, which equals RFC 5280 §6.1 with user-initial-policy-set = anyPolicy
  // and no explicit policy required — what browsers and OpenSSL do by default.
  OID.certificatePolicies,
]);

/** Parses a DER certificate. Throws DecodeError (or its subclass UnsupportedAlgorithmError) and nothing else. */
export function parseCertificate(der: Uint8Array): Certificate {
  try {
    return parse(der);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    // A parser bug must still surface as the module's one error type, never as a crash in a handshake.
    throw new DecodeError(`certificate: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parse(input: Uint8Array): Certificate {
  const der = input.slice();
  const outer = DerReader.of(decodeOne(der, Tag.SEQUENCE, 'Certificate'));
  const tbsNode = outer.expect(Tag.SEQUENCE, 'tbsCertificate');
  const sigAlgNode = outer.expect(Tag.SEQUENCE, 'signatureAlgorithm');
  const signature = readOctetAlignedBits(outer.expect(Tag.BIT_STRING, 'signatureValue'), 'signatureValue');
  outer.done('Certificate');

  const r = DerReader.of(tbsNode);
  let version: 1 | 2 | 3 = 1;
  const v = r.optional(contextTag(0, true));
  if (v) {
    const n = readSmallInt(DerReader.of(v).expect(Tag.INTEGER, 'version'), 'version');
    if (n > 2) throw new DecodeError(`certificate version ${n + 1} is unknown`);
    version = (n + 1) as 1 | 2 | 3;
  }
  const serialNode = r.expect(Tag.INTEGER, 'serialNumber');
  const serial = readInteger(serialNode);
  const innerSigAlg = r.expect(Tag.SEQUENCE, 'signature');
  if (!equal(encoded(innerSigAlg), encoded(sigAlgNode)))
    throw new DecodeError('certificate signatureAlgorithm differs from tbsCertificate.signature (RFC 5280 §4.1.1.2)');
  const issuer = readName(r.expect(Tag.SEQUENCE, 'issuer'));
  const validity = DerReader.of(r.expect(Tag.SEQUENCE, 'validity'));
  const notBefore = readTime(validity.next());
  const notAfter = readTime(validity.next());
  validity.done('Validity');
  const subject = readName(r.expect(Tag.SEQUENCE, 'subject'));
  const publicKey = publicKeyFromSpkiNode(r.expect(Tag.SEQUENCE, 'subjectPublicKeyInfo'));
  r.optional(contextTag(1, false)); // issuerUniqueID
  r.optional(contextTag(2, false)); // subjectUniqueID
  const extNode = r.optional(contextTag(3, true));
  r.done('TBSCertificate');

  const extensions = extNode ? readExtensions(extNode) : [];
  const sigAlg = signatureAlgorithmOf(sigAlgNode);
  const cert: Mutable<Certificate> = {
    der,
    tbs: encoded(tbsNode),
    version,
    serial,
    serialHex: serialHex(contents(serialNode)),
    signatureAlgorithm: sigAlg.algorithm,
    signatureAlgorithmInfo: sigAlg,
    signature,
    issuer,
    subject,
    notBefore,
    notAfter,
    publicKey,
    subjectAltNames: { dns: [], ip: [], email: [], uri: [] },
    hasSubjectAltName: false,
    extensions,
    unknownCriticalExtensions: [],
  };
  for (const ext of extensions) applyExtension(cert, ext);
  return cert;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function serialHex(v: Uint8Array): string {
  return hexUpper(v.length > 1 && v[0] === 0 ? v.subarray(1) : v);
}

function hexUpper(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s.toUpperCase();
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue). */
export function readName(node: DerNode): DistinguishedName {
  const attributes: NameAttribute[] = [];
  const rdnTexts: string[] = [];
  const rdns = DerReader.of(node);
  while (!rdns.atEnd()) {
    const set = DerReader.of(rdns.expect(Tag.SET, 'RelativeDistinguishedName'));
    const parts: string[] = [];
    if (set.atEnd()) throw new DecodeError('empty RelativeDistinguishedName');
    while (!set.atEnd()) {
      const atv = DerReader.of(set.expect(Tag.SEQUENCE, 'AttributeTypeAndValue'));
      const oid = readOid(atv.expect(Tag.OID, 'attribute type'));
      const valueNode = atv.next();
      atv.done('AttributeTypeAndValue');
      const type = ATTRIBUTE_NAMES[oid] ?? oid;
      let value: string;
      let shown: string;
      try {
        value = readString(valueNode);
        shown = escapeRdnValue(value);
      } catch (e) {
        if (!(e instanceof DecodeError) || STRING_TAGS.has(valueNode.tag)) throw e;
        // Non-string attribute values print as '#' + hex of their encoding (RFC 4514 §2.4).
        value = `#${hexUpper(encoded(valueNode)).toLowerCase()}`;
        shown = value;
      }
      attributes.push({ oid, type, value });
      parts.push(`${type}=${shown}`);
    }
    rdnTexts.push(parts.join('+'));
  }
  return { der: encoded(node).slice(), text: rdnTexts.reverse().join(', '), attributes };
}

const STRING_TAGS = new Set<number>([Tag.UTF8_STRING, Tag.PRINTABLE_STRING, Tag.T61_STRING, Tag.IA5_STRING, Tag.VISIBLE_STRING, Tag.UNIVERSAL_STRING, Tag.BMP_STRING]);

function escapeRdnValue(v: string): string {
  let s = v.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  if (s.startsWith('#') || s.startsWith(' ')) s = `\\${s}`;
  if (s.endsWith(' ') && s.length > 1) s = `${s.slice(0, -1)}\\ `;
  return s;
}

function readExtensions(node: DerNode): Extension[] {
  const list = DerReader.of(DerReader.of(node).expect(Tag.SEQUENCE, 'Extensions'));
  const out: Extension[] = [];
  const seen = new Set<string>();
  while (!list.atEnd()) {
    const r = DerReader.of(list.expect(Tag.SEQUENCE, 'Extension'));
    const oid = readOid(r.expect(Tag.OID, 'extnID'));
    const c = r.optional(Tag.BOOLEAN);
    const critical = c ? readBoolean(c) : false;
    const value = readOctetString(r.expect(Tag.OCTET_STRING, 'extnValue'));
    r.done('Extension');
    if (seen.has(oid)) throw new DecodeError(`extension ${oid} appears twice (RFC 5280 §4.2)`);
    seen.add(oid);
    out.push({ oid, critical, value });
  }
  return out;
}

function applyExtension(cert: Mutable<Certificate>, ext: Extension): void {
  switch (ext.oid) {
    case OID.subjectAltName:
      cert.hasSubjectAltName = true;
      readGeneralNames(decodeOne(ext.value, Tag.SEQUENCE, 'subjectAltName'), cert.subjectAltNames);
      return;
    case OID.basicConstraints: {
      const r = DerReader.of(decodeOne(ext.value, Tag.SEQUENCE, 'BasicConstraints'));
      const caNode = r.optional(Tag.BOOLEAN);
      const pathNode = r.optional(Tag.INTEGER);
      r.done('BasicConstraints');
      const ca = caNode ? readBoolean(caNode) : false;
      cert.basicConstraints = pathNode ? { ca, pathLen: readSmallInt(pathNode, 'pathLenConstraint') } : { ca };
      return;
    }
    case OID.keyUsage:
      cert.keyUsage = readNamedBits(decodeOne(ext.value, Tag.BIT_STRING, 'KeyUsage'));
      return;
    case OID.extKeyUsage: {
      const r = DerReader.of(decodeOne(ext.value, Tag.SEQUENCE, 'ExtKeyUsageSyntax'));
      const list: string[] = [];
      while (!r.atEnd()) list.push(readOid(r.expect(Tag.OID, 'KeyPurposeId')));
      cert.extKeyUsage = list;
      return;
    }
    case OID.subjectKeyIdentifier:
      cert.subjectKeyId = readOctetString(decodeOne(ext.value, Tag.OCTET_STRING, 'SubjectKeyIdentifier')).slice();
      return;
    case OID.authorityKeyIdentifier: {
      const r = DerReader.of(decodeOne(ext.value, Tag.SEQUENCE, 'AuthorityKeyIdentifier'));
      const id = r.optional(contextTag(0, false));
      if (id) cert.authorityKeyId = contents(id).slice();
      return;
    }
    case OID.nameConstraints:
      cert.nameConstraints = readNameConstraints(ext.value);
      return;
    case OID.certificatePolicies:
      decodeOne(ext.value, Tag.SEQUENCE, 'certificatePolicies');
      return;
    default:
      if (ext.critical && !HANDLED_EXTENSIONS.has(ext.oid)) cert.unknownCriticalExtensions.push(ext.oid);
  }
}

/** GeneralNames (RFC 5280 §4.2.1.6); forms other than DNS, IP, e-mail and URI are skipped. */
function readGeneralNames(node: DerNode, out: Certificate['subjectAltNames']): void {
  if (node.tag !== Tag.SEQUENCE) throw new DecodeError('subjectAltName is not a SEQUENCE');
  const r = DerReader.of(node);
  if (r.atEnd()) throw new DecodeError('subjectAltName is empty (RFC 5280 §4.2.1.6 requires at least one name)');
  while (!r.atEnd()) {
    const n = r.next();
    switch (n.tag) {
      case contextTag(1, false):
        out.email.push(readAscii(n, 'rfc822Name'));
        break;
      case contextTag(2, false):
        out.dns.push(readAscii(n, 'dNSName'));
        break;
      case contextTag(6, false):
        out.uri.push(readAscii(n, 'uniformResourceIdentifier'));
        break;
      case contextTag(7, false): {
        const ip = contents(n);
        if (ip.length !== 4 && ip.length !== 16) throw new DecodeError(`iPAddress name of ${ip.length} bytes (must be 4 or 16)`);
        out.ip.push(formatIp(ip));
        break;
      }
      default:
        if ((n.tag & 0xc0) !== 0x80) throw new DecodeError(`GeneralName with non-context tag ${n.tag.toString(16)}`);
    }
  }
}

/** NameConstraints (RFC 5280 §4.2.1.10). */
function readNameConstraints(value: Uint8Array): NameConstraints {
  const r = DerReader.of(decodeOne(value, Tag.SEQUENCE, 'NameConstraints'));
  const permitted = r.optional(contextTag(0, true));
  const excluded = r.optional(contextTag(1, true));
  r.done('NameConstraints');
  return { permitted: readSubtrees(permitted), excluded: readSubtrees(excluded) };
}

function readSubtrees(node: DerNode | undefined): GeneralSubtrees {
  const out = { dns: [] as string[], ip: [] as Uint8Array[], email: [] as string[], other: 0 };
  if (!node) return out;
  const r = DerReader.of(node);
  while (!r.atEnd()) {
    const st = DerReader.of(r.expect(Tag.SEQUENCE, 'GeneralSubtree'));
    const base = st.next();
    // minimum/maximum are fixed at 0/absent by RFC 5280; tolerate and ignore them.
    while (!st.atEnd()) st.next();
    switch (base.tag) {
      case contextTag(2, false):
        out.dns.push(readAscii(base, 'dNSName constraint'));
        break;
      case contextTag(1, false):
        out.email.push(readAscii(base, 'rfc822Name constraint'));
        break;
      case contextTag(7, false): {
        const v = contents(base);
        if (v.length !== 8 && v.length !== 32) throw new DecodeError(`iPAddress constraint of ${v.length} bytes (must be 8 or 32)`);
        out.ip.push(v.slice());
        break;
      }
      default:
        out.other++;
    }
  }
  return out;
}

/** Common name values of a DN (for the RFC 6125 §6.4.4 fallback and messages). */
export function commonNames(name: DistinguishedName): string[] {
  return name.attributes.filter((a) => a.oid === OID.commonName).map((a) => a.value);
}

/** A few lines describing a certificate for verbose CLI output and reports. */
export function describeCertificate(cert: Certificate): string {
  const k = cert.publicKey;
  const key = k.kind === 'ec' ? `EC ${k.curve}` : k.kind === 'rsa' ? `RSA ${k.n.toString(2).length} bits` : 'Ed25519';
  const san = [...cert.subjectAltNames.dns.map((d) => `DNS:${d}`), ...cert.subjectAltNames.ip.map((i) => `IP:${i}`)];
  const lines = [
    `subject: ${cert.subject.text}`,
    `issuer: ${cert.issuer.text}`,
    `serial: ${cert.serialHex}`,
    `valid: ${new Date(cert.notBefore).toISOString()} to ${new Date(cert.notAfter).toISOString()}`,
    `key: ${key}; signed with ${cert.signatureAlgorithmInfo.name}`,
  ];
  if (san.length) lines.push(`names: ${san.join(', ')}`);
  if (cert.basicConstraints?.ca) lines.push(`CA${cert.basicConstraints.pathLen !== undefined ? `, pathlen ${cert.basicConstraints.pathLen}` : ''}`);
  return lines.join('\n');
}
