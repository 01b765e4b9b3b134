// Certification path building and validation (RFC 5280 §6.1, RFC 4158 §2–§3 ideas), server identity (RFC 6125 §6; RFC 9525 §6.3), alerts per RFC 8446 §6.2.

import type { CryptoProvider, SignatureAlgorithm } from '../../crypto/provider.js';
import { DecodeError } from '../../wire/reader.js';
import { Alert, TlsError } from '../api.js';
import { ecdsaAlgorithm, UnsupportedAlgorithmError } from './algorithms.js';
import { commonNames, KeyUsage, parseCertificate, type Certificate, type DistinguishedName, type GeneralSubtrees } from './certificate.js';
import { parseIp } from './ip.js';
import { extensionName, OID } from './oids.js';

export interface VerifyChainOptions {
  readonly crypto: CryptoProvider;
  /** Trust anchors as DER certificates (engine/io/trust-store.ts loads them). */
  readonly anchors: readonly Uint8Array[];
  /** DNS name or IP literal the leaf must be valid for; omitted = no identity check (e.g. client certificates). */
  readonly hostname?: string;
  /** Milliseconds since the epoch: the instant validity periods are checked against. */
  readonly now: number;
  /** Required extendedKeyUsage when the extension is present; default 'server'. */
  readonly purpose?: 'server' | 'client';
}

/** Presented intermediates beyond this depth are not explored: real chains have 1–3, loops and bombs have more. */
const MAX_INTERMEDIATES = 8;
/** Enough alternative paths to get past a bad cross-sign without letting crafted input explode the search. */
const MAX_PATHS = 16;
/** Issuer candidates examined per verification: bounds the work a crafted chain of look-alike CAs can cause. */
const MAX_CANDIDATES = 64;
const MIN_RSA_BITS = 2048;

interface AnchorSet {
  readonly source: readonly Uint8Array[];
  readonly bySubject: Map<string, Certificate[]>;
  readonly byDer: Map<string, Certificate>;
  readonly count: number;
}

const anchorSets = new WeakMap<readonly Uint8Array[], AnchorSet>();
/**
 * Outcome of each (certificate, issuer) signature check, keyed by backend and both encodings. A check is a pure function
 * of those bytes, so repeated handshakes with one server (scenarios run hundreds) skip the public-key operations.
 */
const signatureResults = new Map<string, string | null>();
const SIGNATURE_CACHE_SIZE = 1024;
const parsedAnchors = new WeakMap<Uint8Array, Certificate | null>();

/**
 * Validates `chain` (leaf first, then intermediates in any order; extras ignored) against `anchors`.
 * Returns the parsed leaf, or throws TlsError carrying the alert to send and a message a user can act on.
 */
export function verifyChain(chain: readonly Uint8Array[], opts: VerifyChainOptions): Certificate {
  try {
    return verify(chain, opts);
  } catch (e) {
    if (e instanceof TlsError) throw e;
    // Whatever slipped through must still become an alert, not an exception that tears down the caller.
    throw new TlsError(Alert.internal_error, `certificate verification failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function verify(chain: readonly Uint8Array[], opts: VerifyChainOptions): Certificate {
  const purpose = opts.purpose ?? 'server';
  // NaN would make every validity comparison false, i.e. silently skip the date checks.
  if (!Number.isFinite(opts.now)) throw new TlsError(Alert.internal_error, `certificate verification needs the current time; got ${opts.now}`);
  if (chain.length === 0)
    throw purpose === 'client'
      ? new TlsError(Alert.certificate_required, 'the client sent no certificate')
      : new TlsError(Alert.decode_error, 'the server sent an empty certificate chain');
  const leaf = parseLeaf(chain[0]!);
  const intermediates: Certificate[] = [];
  const skipped: string[] = [];
  const seen = new Set([certKey(leaf)]);
  for (let i = 1; i < chain.length; i++) {
    // Repeats add no new path, only search work (some servers send their intermediate twice).
    const key = derKey(chain[i]!);
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      intermediates.push(parseCached(chain[i]!, key));
    } catch (e) {
      // An unusable extra certificate is harmless unless the path needed it; remember why for the unknown_ca message.
      skipped.push(`certificate #${i + 1} in the chain was ignored: ${(e as Error).message}`);
    }
  }
  const anchors = anchorSet(opts.anchors);
  const search = new PathSearch(opts.crypto, anchors, intermediates);
  search.from(leaf, []);

  let firstError: TlsError | undefined;
  for (const path of search.paths) {
    const err = validatePath(path, opts.now, purpose);
    if (!err) {
      checkLeaf(leaf, opts.hostname, purpose);
      return leaf;
    }
    firstError ??= err;
  }
  if (firstError) throw firstError;
  if (search.signatureFailures.length > 0) throw new TlsError(Alert.bad_certificate, search.signatureFailures[0]!);
  throw new TlsError(Alert.unknown_ca, unknownCaMessage(search, anchors, skipped));
}

/**
 * Leaf certificates parsed lately, by their encoding. A parse is a pure function of the bytes and Certificate objects
 * are never modified, so a client that meets the same server again (a scenario opens fifty connections, a fuzz sweep
 * thousands) reuses the object — and with it the backend's imported public key, cached per key object, which the
 * CertificateVerify check would otherwise import again on every handshake.
 */
const parsedCertificates = new Map<string, Certificate>();
/** Leaves and the intermediates sent with them: a handful of servers' chains. */
const PARSED_CACHE_SIZE = 32;

/**
 * parseCertificate through the cache above, keyed by `key` (derKey of `der`). Intermediates go through it too: the
 * server's chain repeats on every handshake, and parsing the CA certificate it carries cost as much as the leaf
 * (issue 15: 7 ms of each 50-handshake seed). Failures are not cached; they throw as parseCertificate does.
 */
function parseCached(der: Uint8Array, key: string): Certificate {
  const hit = parsedCertificates.get(key);
  if (hit) return hit;
  // Parsed from a private copy: the object outlives this handshake, the caller's buffer may not stay as it is.
  const cert = parseCertificate(der.slice());
  parsedCertificates.set(key, cert);
  if (parsedCertificates.size > PARSED_CACHE_SIZE) parsedCertificates.delete(parsedCertificates.keys().next().value!);
  return cert;
}

function parseLeaf(der: Uint8Array): Certificate {
  try {
    return parseCached(der, derKey(der));
  } catch (e) {
    if (e instanceof UnsupportedAlgorithmError) throw new TlsError(Alert.unsupported_certificate, `the peer's certificate uses an unsupported algorithm: ${e.message}`);
    if (e instanceof DecodeError) throw new TlsError(Alert.bad_certificate, `the peer's certificate cannot be parsed: ${e.message}`);
    throw e;
  }
}

function anchorSet(list: readonly Uint8Array[]): AnchorSet {
  let set = anchorSets.get(list);
  // The cache is per array; a caller that appended or replaced anchors since gets a fresh index.
  if (set && set.source.length === list.length && set.source.every((d, i) => d === list[i])) return set;
  const bySubject = new Map<string, Certificate[]>();
  const byDer = new Map<string, Certificate>();
  for (const der of list) {
    let cert = parsedAnchors.get(der);
    if (cert === undefined) {
      try {
        cert = parseCertificate(der);
      } catch {
        cert = null; // an anchor this engine cannot use can never terminate a path; skipping it is all we can do
      }
      parsedAnchors.set(der, cert);
    }
    if (!cert) continue;
    const key = nameKey(cert.subject);
    const same = bySubject.get(key);
    if (same) same.push(cert);
    else bySubject.set(key, [cert]);
    byDer.set(certKey(cert), cert);
  }
  set = { source: [...list], bySubject, byDer, count: byDer.size };
  anchorSets.set(list, set);
  return set;
}

/**
 * Name comparison key. RFC 5280 §7.1 compares names after case folding and whitespace normalisation; comparing the
 * RFC 4514 text folded the same way also equates PrintableString and UTF8String encodings of one name.
 */
function nameKey(name: DistinguishedName): string {
  return name.text.toLowerCase().replace(/\s+/g, ' ').trim();
}

/** derKey of the encodings of parsed (cached) certificates, which are private copies that never change. */
const derKeys = new WeakMap<Uint8Array, string>();

function derKey(der: Uint8Array): string {
  return Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
}

function certKey(cert: Certificate): string {
  let k = derKeys.get(cert.der);
  if (k === undefined) derKeys.set(cert.der, (k = derKey(cert.der)));
  return k;
}

/** Depth-first path building; a path lists leaf … anchor, the anchor last. */
class PathSearch {
  readonly paths: Certificate[][] = [];
  readonly signatureFailures: string[] = [];
  /** The certificate where the search ran out of issuers furthest from the leaf, for the unknown_ca message. */
  deadEnd?: Certificate;
  private deadEndDepth = -1;
  private readonly checked = new Set<string>();
  private budget = MAX_CANDIDATES;

  constructor(
    private readonly crypto: CryptoProvider,
    private readonly anchors: AnchorSet,
    private readonly intermediates: readonly Certificate[],
  ) {}

  from(cert: Certificate, below: Certificate[]): void {
    if (this.paths.length >= MAX_PATHS) return;
    const path = [...below, cert];
    const pinned = this.anchors.byDer.get(certKey(cert));
    if (pinned) {
      this.paths.push(path);
      return;
    }
    let found = false;
    const issuerKey = nameKey(cert.issuer);
    for (const anchor of this.anchors.bySubject.get(issuerKey) ?? []) {
      if (this.signedBy(cert, anchor)) {
        found = true;
        this.paths.push([...path, anchor]);
      }
    }
    if (below.length < MAX_INTERMEDIATES) {
      for (const next of this.intermediates) {
        if (path.includes(next) || nameKey(next.subject) !== issuerKey) continue;
        if (this.signedBy(cert, next)) {
          found = true;
          this.from(next, path);
        }
      }
    }
    if (!found && below.length > this.deadEndDepth) {
      this.deadEnd = cert;
      this.deadEndDepth = below.length;
    }
  }

  private signedBy(cert: Certificate, issuer: Certificate): boolean {
    // Differing key identifiers mean a different key under the same name (a rolled-over CA): not a candidate at all,
    // so it neither costs a signature check nor turns "unknown CA" into "bad signature".
    if (cert.authorityKeyId && issuer.subjectKeyId && !sameBytes(cert.authorityKeyId, issuer.subjectKeyId)) return false;
    if (this.budget-- <= 0) return false;
    const key = `${this.crypto.name}|${certKey(cert)}|${certKey(issuer)}`;
    let failure = signatureResults.get(key);
    if (failure === undefined) {
      failure = signatureProblem(this.crypto, cert, issuer);
      if (signatureResults.size >= SIGNATURE_CACHE_SIZE) signatureResults.clear();
      signatureResults.set(key, failure);
    }
    if (failure && !this.checked.has(key)) this.signatureFailures.push(failure);
    this.checked.add(key);
    return failure === null;
  }
}

/** null when `issuer`'s key verifies `cert`'s signature, otherwise the reason. */
function signatureProblem(crypto: CryptoProvider, cert: Certificate, issuer: Certificate): string | null {
  const info = cert.signatureAlgorithmInfo;
  const key = issuer.publicKey;
  const who = `the signature on '${cert.subject.text}' by '${issuer.subject.text}'`;
  const needs = { ecdsa: 'ec', 'rsa-pkcs1': 'rsa', 'rsa-pss': 'rsa', ed25519: 'ed25519' } as const;
  if (needs[info.family] !== key.kind) return `${who} uses ${info.name} but the issuer's key is ${describeKey(issuer)}`;
  if (info.hash === 'sha1') return `${who} uses ${info.name}; SHA-1 signatures are no longer accepted`;
  if (key.kind === 'rsa' && bitLength(key.n) < MIN_RSA_BITS)
    return `${who} is made with a ${bitLength(key.n)}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`;
  let alg: SignatureAlgorithm | undefined = info.algorithm;
  if (key.kind === 'ec') alg = ecdsaAlgorithm(key.curve, info.hash);
  if (!alg) return `${who} uses ${info.name} with a ${describeKey(issuer)} key, which is not supported`;
  let ok = false;
  try {
    ok = crypto.verify(alg, key, cert.tbs, cert.signature);
  } catch {
    ok = false; // a provider rejecting malformed signature bytes means the same as a failed check
  }
  return ok ? null : `${who} does not verify (${info.name}): the certificate was altered or not issued by that key`;
}

function bitLength(n: bigint): number {
  return n.toString(2).length;
}

function describeKey(cert: Certificate): string {
  const k = cert.publicKey;
  return k.kind === 'ec' ? `EC ${k.curve}` : k.kind === 'rsa' ? `RSA-${bitLength(k.n)}` : 'Ed25519';
}

function role(path: readonly Certificate[], i: number): string {
  if (i === 0) return 'certificate';
  return i === path.length - 1 ? 'trust anchor' : 'intermediate certificate';
}

/** RFC 5280 §6.1.3–§6.1.4 checks on one built path; returns the first failure. */
function validatePath(path: readonly Certificate[], now: number, purpose: 'server' | 'client'): TlsError | undefined {
  const last = path.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = path[i]!;
    if (now < c.notBefore)
      return new TlsError(Alert.certificate_expired, `${role(path, i)} '${c.subject.text}' is not valid before ${iso(c.notBefore)} (now ${iso(now)})`);
    if (now > c.notAfter)
      return new TlsError(Alert.certificate_expired, `${role(path, i)} '${c.subject.text}' expired at ${iso(c.notAfter)} (now ${iso(now)})`);
  }
  for (let i = 0; i <= last; i++) {
    const c = path[i]!;
    const isAnchor = i === last;
    // Anchors are trusted as configured (RFC 5280 §6.1.1(d)); their own extensions other than constraints are not judged.
    if (!isAnchor && c.unknownCriticalExtensions.length > 0)
      return new TlsError(
        Alert.unsupported_certificate,
        `${role(path, i)} '${c.subject.text}' has critical extension(s) crosswire does not understand: ${c.unknownCriticalExtensions.map(extensionName).join(', ')}`,
      );
    if (i === 0) continue;
    const bc = c.basicConstraints;
    if (isAnchor ? bc?.ca === false : !bc?.ca)
      return new TlsError(Alert.bad_certificate, `${role(path, i)} '${c.subject.text}' issued '${path[i - 1]!.subject.text}' but is not a CA (basicConstraints ${bc ? 'CA:FALSE' : 'missing'})`);
    if (c.keyUsage !== undefined && !(c.keyUsage & KeyUsage.keyCertSign))
      return new TlsError(Alert.bad_certificate, `${role(path, i)} '${c.subject.text}' issued '${path[i - 1]!.subject.text}' but its keyUsage lacks keyCertSign`);
    if (bc?.pathLen !== undefined) {
      // Self-issued intermediates (key rollover) do not count toward the limit (RFC 5280 §6.1.4(l)).
      const below = path.slice(1, i).filter((x) => nameKey(x.subject) !== nameKey(x.issuer)).length;
      if (below > bc.pathLen)
        return new TlsError(Alert.bad_certificate, `${role(path, i)} '${c.subject.text}' allows ${bc.pathLen} intermediate(s) below it (pathlen) but the chain has ${below}`);
    }
    if (c.nameConstraints) {
      const err = nameConstraintViolation(path, i);
      if (err) return err;
    }
    if (!isAnchor) {
      const eku = ekuProblem(c, purpose);
      if (eku) return new TlsError(Alert.unsupported_certificate, `${role(path, i)} '${c.subject.text}' ${eku}`);
    }
  }
  return undefined;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

const PURPOSE_OID = { server: OID.serverAuth, client: OID.clientAuth } as const;
const PURPOSE_TEXT = { server: 'TLS server authentication', client: 'TLS client authentication' } as const;
const EKU_NAMES: Record<string, string> = {
  [OID.serverAuth]: 'serverAuth',
  [OID.clientAuth]: 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

function ekuProblem(c: Certificate, purpose: 'server' | 'client'): string | undefined {
  const eku = c.extKeyUsage;
  if (!eku || eku.includes(PURPOSE_OID[purpose]) || eku.includes(OID.anyExtendedKeyUsage)) return undefined;
  const allowed = eku.map((o) => EKU_NAMES[o] ?? o).join(', ') || 'nothing';
  return `is not valid for ${PURPOSE_TEXT[purpose]}: its extendedKeyUsage allows only ${allowed}`;
}

/** Identity and usage checks on the leaf, once a trusted path exists. */
function checkLeaf(leaf: Certificate, hostname: string | undefined, purpose: 'server' | 'client'): void {
  if (hostname !== undefined && !matchesHostname(leaf, hostname))
    throw new TlsError(
      Alert.bad_certificate,
      `hostname '${hostname}' does not match the certificate '${leaf.subject.text}', which is valid for ${certificateNames(leaf)}`,
    );
  const eku = ekuProblem(leaf, purpose);
  if (eku) throw new TlsError(Alert.unsupported_certificate, `certificate '${leaf.subject.text}' ${eku}`);
  // RFC 8446 §4.4.2.2: the key must be allowed to sign when keyUsage is present.
  if (leaf.keyUsage !== undefined && !(leaf.keyUsage & KeyUsage.digitalSignature))
    throw new TlsError(Alert.unsupported_certificate, `certificate '${leaf.subject.text}' keyUsage lacks digitalSignature, so its key may not sign the handshake`);
}

/** The identities a certificate is valid for, as a user would write them ('DNS:localhost, IP:127.0.0.1'). */
export function certificateNames(cert: Certificate): string {
  const san = cert.subjectAltNames;
  const names = [...san.dns.map((d) => `DNS:${d}`), ...san.ip.map((ip) => `IP:${ip}`)];
  if (san.dns.length === 0) names.push(...commonNames(cert.subject).map((cn) => `CN=${cn}${cert.hasSubjectAltName ? '' : ' (no subjectAltName)'}`));
  return names.length ? names.join(', ') : 'no names at all';
}

/**
 * RFC 6125 §6.4 / RFC 9525 §6.3: IP literals match iPAddress names only; DNS names match dNSName entries, with a
 * wildcard only as the whole left-most label covering exactly one label; the subject CN is consulted only when the
 * certificate has no dNSName at all.
 */
export function matchesHostname(cert: Certificate, hostname: string): boolean {
  const ip = parseIp(hostname);
  if (ip) return cert.subjectAltNames.ip.some((s) => sameBytes(parseIp(s), ip));
  const host = normalizeDns(hostname);
  // A '*' in the name asked for is never a real host; without this '*.example.com' would match its own wildcard.
  if (!host || host.includes('*')) return false;
  const san = cert.subjectAltNames.dns;
  const candidates = san.length > 0 ? san : commonNames(cert.subject);
  return candidates.some((p) => dnsPatternMatches(p, host));
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}

function normalizeDns(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export function dnsPatternMatches(pattern: string, host: string): boolean {
  const p = normalizeDns(pattern);
  if (!p || !host) return false;
  if (!p.includes('*')) return p === host;
  if (!p.startsWith('*.') || p.indexOf('*', 1) >= 0) return false;
  const base = p.slice(2);
  // '*.com' would cover a whole TLD; require the wildcard to sit under at least two fixed labels.
  if (base.split('.').length < 2 || base.split('.').some((l) => l === '')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === base;
}

/** RFC 5280 §4.2.1.10 for DNS and IP names of every certificate below the constraining issuer. */
function nameConstraintViolation(path: readonly Certificate[], issuerIndex: number): TlsError | undefined {
  const nc = path[issuerIndex]!.nameConstraints!;
  const by = `${role(path, issuerIndex)} '${path[issuerIndex]!.subject.text}'`;
  for (let j = 0; j < issuerIndex; j++) {
    const c = path[j]!;
    for (const dns of c.subjectAltNames.dns) {
      if (nc.permitted.dns.length > 0 && !nc.permitted.dns.some((base) => dnsWithin(dns, base)))
        return new TlsError(Alert.bad_certificate, `name DNS:${dns} in '${c.subject.text}' is outside the names permitted by ${by} (${nc.permitted.dns.join(', ')})`);
      const ex = nc.excluded.dns.find((base) => dnsWithin(dns, base));
      if (ex !== undefined) return new TlsError(Alert.bad_certificate, `name DNS:${dns} in '${c.subject.text}' is excluded by ${by} (${ex})`);
    }
    for (const ipText of c.subjectAltNames.ip) {
      const ip = parseIp(ipText)!;
      if (permittedFamily(nc.permitted, ip.length) && !nc.permitted.ip.some((r) => ipWithin(ip, r)))
        return new TlsError(Alert.bad_certificate, `name IP:${ipText} in '${c.subject.text}' is outside the addresses permitted by ${by}`);
      if (nc.excluded.ip.some((r) => ipWithin(ip, r)))
        return new TlsError(Alert.bad_certificate, `name IP:${ipText} in '${c.subject.text}' is excluded by ${by}`);
    }
  }
  return undefined;
}

function permittedFamily(t: GeneralSubtrees, len: number): boolean {
  return t.ip.some((r) => r.length === len * 2);
}

/** 'example.com' covers itself and its subdomains; '.example.com' only subdomains (the common reading of §4.2.1.10). */
function dnsWithin(name: string, base: string): boolean {
  const n = normalizeDns(name);
  const b = normalizeDns(base);
  if (b === '') return true;
  if (b.startsWith('.')) return n.endsWith(b);
  return n === b || n.endsWith(`.${b}`);
}

function ipWithin(ip: Uint8Array, range: Uint8Array): boolean {
  if (range.length !== ip.length * 2) return false;
  for (let i = 0; i < ip.length; i++) {
    const mask = range[ip.length + i]!;
    if ((ip[i]! & mask) !== (range[i]! & mask)) return false;
  }
  return true;
}

function unknownCaMessage(search: PathSearch, anchors: AnchorSet, skipped: readonly string[]): string {
  const end = search.deadEnd!;
  const self = nameKey(end.subject) === nameKey(end.issuer);
  const base = self
    ? `self-signed certificate '${end.subject.text}' is not among the ${anchors.count} trust anchor(s)`
    : `no trust anchor or presented intermediate issued '${end.subject.text}' (issuer '${end.issuer.text}'; ${anchors.count} trust anchor(s) checked)`;
  return [base, ...skipped].join('; ');
}
