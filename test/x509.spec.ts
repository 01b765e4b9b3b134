import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, verify as nodeVerify, constants, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { makePki } from './helpers/pki.js';
import { DecodeError } from '../engine/wire/reader.js';
import { cryptoProvider, type CryptoBackendName } from '../engine/crypto/index.js';
import type { CryptoProvider, PrivateKey, SignatureAlgorithm } from '../engine/crypto/provider.js';
import { Alert, TlsError, alertName } from '../engine/tls/api.js';
import { DerReader, decodeOne, encodeOid, readInteger, readOid, readTime, Tag } from '../engine/tls/x509/der.js';
import { describeCertificate, KeyUsage, parseCertificate } from '../engine/tls/x509/certificate.js';
import { loadCertificateChain, loadPrivateKey, pemDecode, pemEncode, publicKeyFromSpki } from '../engine/tls/x509/pem.js';
import { privateKeyFromPkcs8 } from '../engine/tls/x509/keys.js';
import { formatIp, parseIp } from '../engine/tls/x509/ip.js';
import { dnsPatternMatches, matchesHostname, verifyChain } from '../engine/tls/x509/verify.js';
import { loadSystemStore, loadTrustAnchors, TrustStoreError } from '../engine/io/trust-store.js';
import { OID } from '../engine/tls/x509/oids.js';

const pki = makePki();
const read = (p: string) => readFileSync(p, 'utf8');
const certDer = (p: string): Uint8Array => loadCertificateChain(read(p))[0]!;
const chainDer = (p: string): Uint8Array[] => loadCertificateChain(read(p));
const caDer = certDer(pki.ca);
const interDer = certDer(join(pki.dir, 'inter.pem'));
const LEAVES = ['ec', 'p384', 'rsa', 'ed25519'] as const;

function ossl(args: string[]): string {
  return execFileSync('openssl', args, { cwd: pki.dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Issues an extra certificate from `issuer` (a PKI base name) with the given extensions, for cases makePki lacks. */
function issueExtra(name: string, issuer: string, ext: string, opts: { keyAlg?: string[]; cn?: string; digest?: string; sigopt?: string[] } = {}): Uint8Array {
  ossl(['genpkey', ...(opts.keyAlg ?? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']), '-out', `${name}.key`]);
  ossl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${opts.cn ?? 'localhost'}`]);
  writeFileSync(join(pki.dir, `${name}.ext`), ext);
  ossl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.pem`,
    '-days', '30', `-${opts.digest ?? 'sha256'}`, ...(opts.sigopt ?? []), '-extfile', `${name}.ext`]);
  return certDer(join(pki.dir, `${name}.pem`));
}

function selfSigned(name: string, keyAlg: string[], extra: string[] = [], cn = name): Uint8Array {
  ossl(['genpkey', ...keyAlg, '-out', `${name}.key`]);
  ossl(['req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', ...extra]);
  return certDer(join(pki.dir, `${name}.pem`));
}

const SERVER_EXT = 'subjectAltName=DNS:localhost,DNS:*.test.crosswire,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n';

function tlsAlert(fn: () => unknown): { alert: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof TlsError)) throw e;
    return { alert: alertName(e.alert), message: e.message };
  }
  return { alert: 'none', message: '' };
}

/** The server certificate of RFC 8448 §3 (a self-signed 1024-bit RSA certificate, CN=rsa). */
const RFC8448_CERT = Buffer.from(
  '308201ac30820115a003020102020102300d06092a864886f70d01010b050030' +
  '0e310c300a06035504031303727361301e170d3136303733303031323335395a' +
  '170d3236303733303031323335395a300e310c300a0603550403130372736130' +
  '819f300d06092a864886f70d010101050003818d0030818902818100b4bb498f' +
  '8279303d980836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91' +
  'd015abbc9a95137ace6c1af19eaa6af98c7ced43120998e187a80ee0ccb0524b' +
  '1b018c3e0b63264d449a6d38e22a5fda430846748030530ef0461c8ca9d9efbf' +
  'ae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f02030100' +
  '01a31a301830090603551d1304023000300b0603551d0f0404030205a0300d06' +
  '092a864886f70d01010b05000381810085aad2a0e5b9276b908c65f73a726717' +
  '0618a54c5f8a7b337d2df7a594365417f2eae8f8a58c8f8172f9319cf36b7fd6' +
  'c55b80f21a03015156726096fd335e5e67f2dbf102702e608ccae6bec1fc63a4' +
  '2a99be5c3eb7107c3c54e9b9eb2bd5203b1c3b84e0a8b2f759409ba3eac9d91d' +
  '402dcc0cc8f8961229ac9187b42b4de1',
  'hex',
);

test.describe('DER primitives', () => {
  test('X.690 §8.19 OID example and arcs above 2^53 round-trip', () => {
    const enc = encodeOid('1.2.840.113549');
    expect(Buffer.from(enc).toString('hex')).toBe('06062a864886f70d');
    expect(readOid(decodeOne(enc, Tag.OID, 'oid'))).toBe('1.2.840.113549');
    const big = '2.25.329800735698586629295641978511506172918';
    expect(readOid(decodeOne(encodeOid(big), Tag.OID, 'oid'))).toBe(big);
  });

  test('INTEGER is two’s complement and must be minimal', () => {
    const int = (hex: string) => readInteger(decodeOne(Buffer.from(hex, 'hex'), Tag.INTEGER, 'int'));
    expect(int('020100')).toBe(0n);
    expect(int('02020080')).toBe(128n);
    expect(int('020180')).toBe(-128n);
    expect(int('0202ff7f')).toBe(-129n);
    expect(() => int('0202007f')).toThrow(DecodeError);
    expect(() => int('0202ff80')).toThrow(DecodeError);
    expect(() => int('0200')).toThrow(DecodeError);
  });

  test('lengths: long form, non-minimal and indefinite forms rejected, overruns detected', () => {
    const long = new Uint8Array([0x04, 0x81, 0x80, ...new Array(128).fill(7)]);
    expect(decodeOne(long, Tag.OCTET_STRING, 'os').end).toBe(131);
    expect(() => decodeOne(Buffer.from('04810107', 'hex'), Tag.OCTET_STRING, 'os')).toThrow(/non-minimal/);
    expect(() => decodeOne(Buffer.from('3080020100 0000'.replace(/ /g, ''), 'hex'), Tag.SEQUENCE, 's')).toThrow(/indefinite/);
    expect(() => decodeOne(Buffer.from('0405aabb', 'hex'), Tag.OCTET_STRING, 'os')).toThrow(/claims 5/);
    expect(() => decodeOne(Buffer.from('0401aabb', 'hex'), Tag.OCTET_STRING, 'os')).toThrow(/trailing/);
    expect(() => new DerReader(Buffer.from('02', 'hex')).next()).toThrow(DecodeError);
  });

  test('times: RFC 5280 §4.1.2.5 UTCTime century window and GeneralizedTime', () => {
    const t = (tag: number, s: string) => readTime(decodeOne(new Uint8Array([tag, s.length, ...Buffer.from(s, 'latin1')]), tag, 't'));
    expect(t(Tag.UTC_TIME, '491231235959Z')).toBe(Date.UTC(2049, 11, 31, 23, 59, 59));
    expect(t(Tag.UTC_TIME, '500101000000Z')).toBe(Date.UTC(1950, 0, 1));
    expect(t(Tag.GENERALIZED_TIME, '20500101000000Z')).toBe(Date.UTC(2050, 0, 1));
    expect(t(Tag.GENERALIZED_TIME, '99991231235959Z')).toBe(Date.UTC(9999, 11, 31, 23, 59, 59));
    expect(t(Tag.GENERALIZED_TIME, '00010101000000Z')).toBe(new Date('0001-01-01T00:00:00Z').getTime());
    for (const bad of ['4912312359Z', '491331235959Z', '490230000000Z', '491231235959+0100']) expect(() => t(Tag.UTC_TIME, bad)).toThrow(DecodeError);
  });

  test('IP literals: parsing and RFC 5952 canonical text', () => {
    expect(formatIp(parseIp('127.0.0.1')!)).toBe('127.0.0.1');
    expect(formatIp(parseIp('2001:DB8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    expect(formatIp(parseIp('[::1]')!)).toBe('::1');
    expect(formatIp(parseIp('::ffff:192.0.2.1')!)).toBe('::ffff:c000:201');
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '1::2::3', 'localhost', '1:2:3:4:5:6:7:8:9', '']) expect(parseIp(bad)).toBeUndefined();
  });
});

test.describe('certificate parsing against node:crypto and openssl', () => {
  for (const kind of [...LEAVES, 'client', 'expired'] as const) {
    test(`${kind} leaf: every field matches X509Certificate`, () => {
      const der = certDer(pki.leaf[kind].cert);
      const cert = parseCertificate(der);
      const x = new X509Certificate(der);
      expect(cert.version).toBe(3);
      expect(BigInt(`0x${cert.serialHex}`)).toBe(BigInt(`0x${x.serialNumber}`));
      expect(`serial=${cert.serialHex}\n`).toBe(ossl(['x509', '-in', pki.leaf[kind].cert, '-noout', '-serial']));
      expect(cert.subject.text).toBe(x.subject.split('\n').reverse().join(', '));
      expect(cert.issuer.text).toBe(x.issuer.split('\n').reverse().join(', '));
      expect(cert.notBefore).toBe(new Date(x.validFrom).getTime());
      expect(cert.notAfter).toBe(new Date(x.validTo).getTime());
      expect(Buffer.from(cert.publicKey.spki).equals(x.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
      // The tbs range is exactly what the CA signed: node verifies the signature over our slice with the CA key.
      const caKey = new X509Certificate(caDer).publicKey;
      expect(nodeVerify('sha256', cert.tbs, caKey, cert.signature)).toBe(true);
      expect(cert.signatureAlgorithm).toBe('ecdsa_secp256r1_sha256');
      expect(cert.basicConstraints).toEqual({ ca: false });
      expect(cert.unknownCriticalExtensions).toEqual([]);
      if (kind === 'client') {
        expect(cert.extKeyUsage).toEqual([OID.clientAuth]);
        expect(cert.keyUsage).toBe(KeyUsage.digitalSignature);
        expect(cert.subjectAltNames).toEqual({ dns: [], ip: [], email: [], uri: [] });
        expect(cert.hasSubjectAltName).toBe(false);
      } else {
        expect(x.subjectAltName).toBe('DNS:localhost, DNS:*.test.crosswire, IP Address:127.0.0.1');
        expect(cert.subjectAltNames.dns).toEqual(['localhost', '*.test.crosswire']);
        expect(cert.subjectAltNames.ip).toEqual(['127.0.0.1']);
        expect(cert.extKeyUsage).toEqual([OID.serverAuth]);
        expect(cert.keyUsage).toBe(KeyUsage.digitalSignature | KeyUsage.keyEncipherment);
      }
      const jwk = x.publicKey.export({ format: 'jwk' });
      const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
      const pk = cert.publicKey;
      if (pk.kind === 'ec') {
        expect(pk.curve).toBe(kind === 'p384' ? 'secp384r1' : 'secp256r1');
        const n = pk.curve === 'secp256r1' ? 32 : 48;
        expect([b64u(pk.point.subarray(1, 1 + n)), b64u(pk.point.subarray(1 + n))]).toEqual([jwk.x, jwk.y]);
      } else if (pk.kind === 'rsa') {
        expect(kind).toBe('rsa');
        expect(pk.n.toString(16)).toBe(Buffer.from(jwk.n!, 'base64url').toString('hex').replace(/^0+/, ''));
        expect(pk.e).toBe(65537n);
      } else {
        expect(kind).toBe('ed25519');
        expect(b64u(pk.key)).toBe(jwk.x);
      }
      expect(publicKeyFromSpki(pk.spki)).toEqual(pk);
    });
  }

  test('RFC 8448 §3 server certificate: fields, exact tbs, pinned verification in and after its validity', () => {
    const der = new Uint8Array(RFC8448_CERT);
    const cert = parseCertificate(der);
    expect(cert.version).toBe(3);
    expect(cert.serialHex).toBe('02');
    expect(cert.subject.text).toBe('CN=rsa');
    expect(cert.issuer.text).toBe('CN=rsa');
    expect(cert.notBefore).toBe(Date.UTC(2016, 6, 30, 1, 23, 59));
    expect(cert.notAfter).toBe(Date.UTC(2026, 6, 30, 1, 23, 59));
    expect(cert.signatureAlgorithm).toBe('rsa_pkcs1_sha256');
    expect(cert.basicConstraints).toEqual({ ca: false });
    expect(cert.keyUsage).toBe(KeyUsage.digitalSignature | KeyUsage.keyEncipherment);
    expect(cert.hasSubjectAltName).toBe(false);
    const pk = cert.publicKey;
    expect(pk.kind === 'rsa' && pk.e === 65537n && pk.n.toString(2).length === 1024).toBe(true);
    if (pk.kind === 'rsa') expect(pk.n.toString(16).startsWith('b4bb498f8279303d')).toBe(true);
    expect(nodeVerify('sha256', cert.tbs, createPublicKey({ key: Buffer.from(pk.spki), format: 'der', type: 'spki' }), cert.signature)).toBe(true);
    const opts = { crypto: cryptoProvider(), anchors: [der], hostname: 'rsa', now: Date.UTC(2020, 0, 1) };
    expect(verifyChain([der], opts).subject.text).toBe('CN=rsa');
    const wrong = tlsAlert(() => verifyChain([der], { ...opts, hostname: 'localhost' }));
    expect(wrong.alert).toBe('bad_certificate');
    expect(wrong.message).toContain('valid for CN=rsa (no subjectAltName)');
    const late = tlsAlert(() => verifyChain([der], { ...opts, now: Date.UTC(2027, 0, 1) }));
    expect(late.alert).toBe('certificate_expired');
    expect(late.message).toContain('expired at 2026-07-30T01:23:59.000Z');
  });

  test('CA and intermediate: basicConstraints, pathLen, keyUsage, key identifiers', () => {
    const ca = parseCertificate(caDer);
    expect(ca.basicConstraints).toEqual({ ca: true });
    expect(ca.keyUsage).toBe(KeyUsage.keyCertSign | KeyUsage.cRLSign);
    expect(ca.subject.text).toBe('CN=crosswire test CA');
    expect(ca.subject.der).toEqual(ca.issuer.der);
    const inter = parseCertificate(interDer);
    expect(inter.basicConstraints).toEqual({ ca: true, pathLen: 0 });
    expect(inter.authorityKeyId).toEqual(ca.subjectKeyId);
    const text = ossl(['x509', '-in', 'inter.pem', '-noout', '-text']);
    expect(text).toContain('CA:TRUE, pathlen:0');
  });

  test('signature algorithms: ecdsa-with-SHA384, sha256/384/512WithRSA, RSASSA-PSS with parameters, Ed25519', () => {
    const rsaCa = selfSigned('rsa-ca', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const edCa = selfSigned('ed-ca', ['-algorithm', 'ED25519']);
    const p384Ca = selfSigned('p384-ca', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']);
    expect(parseCertificate(edCa).signatureAlgorithm).toBe('ed25519');
    const issued = (name: string, ca: string, opts: { digest?: string; sigopt?: string[] } = {}) => {
      issueExtra(name, ca, SERVER_EXT, opts);
      return name;
    };
    const cases: [string, string, SignatureAlgorithm, string][] = [
      ['rsa-sha256', issued('sig-rsa256', 'rsa-ca'), 'rsa_pkcs1_sha256', 'sha256WithRSAEncryption'],
      ['rsa-sha384', issued('sig-rsa384', 'rsa-ca', { digest: 'sha384' }), 'rsa_pkcs1_sha384', 'sha384WithRSAEncryption'],
      ['rsa-sha512', issued('sig-rsa512', 'rsa-ca', { digest: 'sha512' }), 'rsa_pkcs1_sha512', 'sha512WithRSAEncryption'],
      ['pss-sha256', issued('sig-pss256', 'rsa-ca', { sigopt: ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:digest'] }), 'rsa_pss_rsae_sha256', 'rsassaPss'],
      ['pss-sha384', issued('sig-pss384', 'rsa-ca', { digest: 'sha384', sigopt: ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:digest'] }), 'rsa_pss_rsae_sha384', 'rsassaPss'],
      ['ed25519', issued('sig-ed', 'ed-ca', { digest: 'sha512' }), 'ed25519', 'ED25519'],
      ['ecdsa-sha384', issued('sig-p384', 'p384-ca', { digest: 'sha384' }), 'ecdsa_secp384r1_sha384', 'ecdsa-with-SHA384'],
    ];
    const anchors = [rsaCa, edCa, p384Ca];
    for (const [name, file, alg, opensslName] of cases) {
      const der = certDer(join(pki.dir, `${file}.pem`));
      const cert = parseCertificate(der);
      expect(cert.signatureAlgorithm, name).toBe(alg);
      expect(ossl(['x509', '-in', `${file}.pem`, '-noout', '-text']), name).toContain(`Signature Algorithm: ${opensslName}`);
      for (const backend of ['noble', 'node'] as const)
        expect(verifyChain([der], { crypto: cryptoProvider(backend), anchors, hostname: 'localhost', now: Date.now() }).serialHex, `${name}/${backend}`).toBe(cert.serialHex);
    }
    // PSS with salt length ≠ hash length has no TLS SignatureScheme: refused clearly, as a DecodeError subclass.
    const odd = issueExtra('sig-pss-odd', 'rsa-ca', SERVER_EXT, { sigopt: ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:20'] });
    expect(() => parseCertificate(odd)).toThrow(DecodeError);
    expect(() => parseCertificate(odd)).toThrow(/salt 20.*not supported/);
    expect(tlsAlert(() => verifyChain([odd], { crypto: cryptoProvider(), anchors, now: Date.now() })).alert).toBe('unsupported_certificate');
  });

  test('RFC 8410 §10.1 and §10.3 Ed25519 examples: SPKI, PKCS#8 v1 and v2 (attributes + public key)', () => {
    const spki = pemDecode('-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n')[0]!;
    const pub = publicKeyFromSpki(spki);
    expect(pub.kind).toBe('ed25519');
    const pubHex = '19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1';
    if (pub.kind === 'ed25519') expect(Buffer.from(pub.key).toString('hex')).toBe(pubHex);
    const v1 = loadPrivateKey('-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n');
    const v2 = loadPrivateKey(
      '-----BEGIN PRIVATE KEY-----\nMHICAQEwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n' +
        'oB8wHQYKKoZIhvcNAQkJFDEPDA1DdXJkbGUgQ2hhaXJzgSEAGb9ECWmEzf6FQbrB\nZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PRIVATE KEY-----\n',
    );
    for (const k of [v1, v2]) {
      expect(k.kind).toBe('ed25519');
      if (k.kind !== 'ed25519') continue;
      expect(Buffer.from(k.seed).toString('hex')).toBe('d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842');
      expect(Buffer.from(k.publicKey).toString('hex')).toBe(pubHex);
    }
  });

  test('PEM: labels, several blocks, text around blocks, errors', () => {
    const bundle = `subject=junk\n${read(pki.leaf.chain.cert)}\n# comment\n`;
    expect(pemDecode(bundle).length).toBe(2);
    expect(pemDecode(bundle, 'CERTIFICATE').length).toBe(2);
    expect(pemDecode(bundle, 'PRIVATE KEY').length).toBe(0);
    expect(pemEncode(caDer, 'CERTIFICATE')).toBe(read(pki.ca).replace(/\r/g, ''));
    expect(() => loadCertificateChain(read(pki.leaf.ec.key))).toThrow(/no CERTIFICATE block found \(found PRIVATE KEY\)/);
    expect(() => pemDecode('-----BEGIN CERTIFICATE-----\nAAA*\n-----END CERTIFICATE-----')).toThrow(DecodeError);
    expect(() => pemDecode('-----BEGIN CERTIFICATE-----\nAAAA\n')).toThrow(/no matching/);
  });
});

test.describe('private keys', () => {
  function nodeKey(path: string): KeyObject {
    return createPublicKey(createPrivateKey(read(path)));
  }

  function checkSigns(key: PrivateKey, pub: KeyObject, backend: CryptoBackendName): void {
    const crypto = cryptoProvider(backend);
    const msg = new TextEncoder().encode(`crosswire ${backend} ${key.kind}`);
    const random = (n: number) => new Uint8Array(n).fill(7);
    if (key.kind === 'ec') {
      const alg = key.curve === 'secp256r1' ? 'ecdsa_secp256r1_sha256' : 'ecdsa_secp384r1_sha384';
      const sig = crypto.sign(alg, key, msg, random);
      expect(nodeVerify(key.curve === 'secp256r1' ? 'sha256' : 'sha384', msg, pub, sig)).toBe(true);
    } else if (key.kind === 'ed25519') {
      expect(nodeVerify(null, msg, pub, crypto.sign('ed25519', key, msg, random))).toBe(true);
    } else {
      const pss = crypto.sign('rsa_pss_rsae_sha256', key, msg, random);
      expect(nodeVerify('sha256', msg, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pss)).toBe(true);
      expect(nodeVerify('sha256', msg, pub, crypto.sign('rsa_pkcs1_sha256', key, msg, random))).toBe(true);
    }
  }

  for (const kind of [...LEAVES, 'client'] as const) {
    test(`PKCS#8 ${kind} key signs verifiably (noble and node backends)`, () => {
      const path = pki.leaf[kind].key;
      const key = loadPrivateKey(read(path));
      const jwk = createPrivateKey(read(path)).export({ format: 'jwk' });
      if (key.kind === 'ec') expect(Buffer.from(key.d).toString('base64url')).toBe(jwk.d);
      if (key.kind === 'ed25519') expect(Buffer.from(key.seed).toString('base64url')).toBe(jwk.d);
      if (key.kind === 'rsa') expect(key.d.toString(16)).toBe(Buffer.from(jwk.d!, 'base64url').toString('hex').replace(/^0+/, ''));
      for (const backend of ['noble', 'node'] as const) checkSigns(key, nodeKey(path), backend);
    });
  }

  test('SEC1 "EC PRIVATE KEY" and PKCS#1 "RSA PRIVATE KEY" load; encrypted keys get a clear error', () => {
    const sec1 = ossl(['ec', '-in', 'p384.key']);
    expect(sec1).toContain('BEGIN EC PRIVATE KEY');
    const ec = loadPrivateKey(sec1);
    expect(ec).toEqual(loadPrivateKey(read(pki.leaf.p384.key)));
    checkSigns(ec, nodeKey(pki.leaf.p384.key), 'noble');
    // `openssl ecparam -genkey` puts an EC PARAMETERS block first; it must be skipped, and a SEC1 key without its
    // public point still loads (the point is derived).
    const noPub = ossl(['ec', '-in', 'ec.key', '-no_public']);
    const withParams = `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${noPub}`;
    expect(loadPrivateKey(withParams)).toEqual(loadPrivateKey(read(pki.leaf.ec.key)));
    const pkcs1 = ossl(['rsa', '-in', 'rsa.key', '-traditional']);
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    const rsa = loadPrivateKey(pkcs1);
    expect(rsa).toEqual(loadPrivateKey(read(pki.leaf.rsa.key)));
    checkSigns(rsa, nodeKey(pki.leaf.rsa.key), 'node');
    const enc8 = ossl(['pkey', '-in', 'ec.key', '-aes256', '-passout', 'pass:secret']);
    expect(() => loadPrivateKey(enc8)).toThrow(/encrypted.*openssl pkey/);
    const encLegacy = ossl(['ec', '-in', 'ec.key', '-aes256', '-passout', 'pass:secret']);
    expect(encLegacy).toContain('Proc-Type: 4,ENCRYPTED');
    expect(() => loadPrivateKey(encLegacy)).toThrow(/encrypted/);
    expect(() => loadPrivateKey(read(pki.ca))).toThrow(/no private key found \(found CERTIFICATE\)/);
    const x448 = ossl(['genpkey', '-algorithm', 'X448']);
    expect(() => loadPrivateKey(x448)).toThrow(/X448 is not supported/);
  });
});

test.describe('chain verification', () => {
  const verify = (chain: Uint8Array[], more: { hostname?: string; anchors?: Uint8Array[]; purpose?: 'server' | 'client'; backend?: CryptoBackendName; now?: number } = {}) =>
    verifyChain(chain, { crypto: cryptoProvider(more.backend ?? 'noble'), anchors: more.anchors ?? [caDer], hostname: 'hostname' in more ? more.hostname : 'localhost', now: more.now ?? Date.now(), purpose: more.purpose });

  for (const backend of ['noble', 'node'] as const) {
    test(`good chains verify with the ${backend} backend`, () => {
      for (const kind of LEAVES) {
        const leaf = verify(chainDer(pki.leaf[kind].cert), { backend });
        expect(leaf.subject.text).toBe('CN=localhost');
      }
      const [leaf, inter] = chainDer(pki.leaf.chain.cert) as [Uint8Array, Uint8Array];
      const other = certDer(join(pki.dir, 'other-ca.pem'));
      const leafSerial = parseCertificate(leaf).serialHex;
      for (const chain of [[leaf, inter], [leaf, other, inter], [leaf, inter, caDer], [leaf, caDer, other, inter, inter]])
        expect(verify(chain, { backend }).serialHex).toBe(leafSerial);
      // Without the intermediate, or with the intermediate as the leaf's only anchor.
      expect(tlsAlert(() => verify([leaf], { backend })).alert).toBe('unknown_ca');
      expect(verify([leaf], { backend, anchors: [interDer] }).serialHex).toBe(leafSerial);
    });
  }

  test('expired leaf → certificate_expired; a not-yet-valid time too', () => {
    const r = tlsAlert(() => verify(chainDer(pki.leaf.expired.cert)));
    expect(r.alert).toBe('certificate_expired');
    expect(r.message).toContain("'CN=localhost' expired at 2021-01-01T00:00:00.000Z");
    const early = tlsAlert(() => verify(chainDer(pki.leaf.ec.cert), { now: Date.UTC(2001, 0, 1) }));
    expect(early.alert).toBe('certificate_expired');
    expect(early.message).toMatch(/is not valid before/);
    // Inside the expired leaf's window the leaf is fine, but the CA (minted today) was not yet valid: every cert is checked.
    const inWindow = tlsAlert(() => verify(chainDer(pki.leaf.expired.cert), { now: Date.UTC(2020, 6, 1) }));
    expect(inWindow.alert).toBe('certificate_expired');
    expect(inWindow.message).toMatch(/trust anchor 'CN=crosswire test CA' is not valid before/);
  });

  test('untrusted issuer → unknown_ca naming the missing issuer; self-signed leaf → unknown_ca', () => {
    const r = tlsAlert(() => verify(chainDer(pki.leaf.untrusted.cert)));
    expect(r.alert).toBe('unknown_ca');
    expect(r.message).toContain("issuer 'CN=untrusted test CA'");
    const self = tlsAlert(() => verify([certDer(join(pki.dir, 'other-ca.pem'))], { hostname: undefined }));
    expect(self.alert).toBe('unknown_ca');
    expect(self.message).toContain("self-signed certificate 'CN=untrusted test CA' is not among the 1 trust anchor(s)");
    expect(tlsAlert(() => verify(chainDer(pki.leaf.ec.cert), { anchors: [] })).alert).toBe('unknown_ca');
  });

  test('hostname: mismatch → bad_certificate naming both sides; IP SAN; RFC 6125 wildcards', () => {
    const chain = chainDer(pki.leaf.ec.cert);
    const r = tlsAlert(() => verify(chain, { hostname: 'example.org' }));
    expect(r.alert).toBe('bad_certificate');
    expect(r.message).toContain("hostname 'example.org' does not match the certificate 'CN=localhost'");
    expect(r.message).toContain('DNS:localhost, DNS:*.test.crosswire, IP:127.0.0.1');
    for (const ok of ['localhost', 'LOCALHOST', 'localhost.', '127.0.0.1', 'a.test.crosswire', 'A.Test.Crosswire', 'xn--bcher-kva.test.crosswire'])
      expect(verify(chain, { hostname: ok }).subject.text, ok).toBe('CN=localhost');
    for (const bad of ['a.b.test.crosswire', 'test.crosswire', '.test.crosswire', '127.0.0.2', '::1', '[::1]', 'localhost.localdomain', 'crosswire'])
      expect(tlsAlert(() => verify(chain, { hostname: bad })).alert, bad).toBe('bad_certificate');
    expect(verify(chain, { hostname: undefined }).subject.text).toBe('CN=localhost');
  });

  test('wildcard patterns: left-most whole label only, never over a public suffix-like single label', () => {
    const m = dnsPatternMatches;
    expect(m('*.example.com', 'www.example.com')).toBe(true);
    expect(m('*.example.com', 'example.com')).toBe(false);
    expect(m('*.example.com', 'a.b.example.com')).toBe(false);
    expect(m('*.com', 'example.com')).toBe(false);
    expect(m('w*.example.com', 'www.example.com')).toBe(false);
    expect(m('www.*.com', 'www.example.com')).toBe(false);
    expect(m('*.*.example.com', 'a.b.example.com')).toBe(false);
    expect(m('Example.COM.', 'example.com')).toBe(true);
  });

  test('CN is used only without a dNSName SAN', () => {
    const noSan = issueExtra('cn-only', 'ca', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n', { cn: 'cn.test' });
    expect(verify([noSan], { hostname: 'cn.test' }).subject.text).toBe('CN=cn.test');
    const ipOnly = issueExtra('ip-only', 'ca', 'subjectAltName=IP:10.1.2.3\nbasicConstraints=critical,CA:FALSE\n', { cn: 'cn2.test' });
    expect(verify([ipOnly], { hostname: 'cn2.test' }).subject.text).toBe('CN=cn2.test');
    expect(verify([ipOnly], { hostname: '10.1.2.3' }).subject.text).toBe('CN=cn2.test');
    const both = issueExtra('cn-and-san', 'ca', 'subjectAltName=DNS:san.test\nbasicConstraints=critical,CA:FALSE\n', { cn: 'cn3.test' });
    const r = tlsAlert(() => verify([both], { hostname: 'cn3.test' }));
    expect(r.alert).toBe('bad_certificate');
    expect(r.message).toContain('valid for DNS:san.test');
  });

  test('a flipped signature byte or altered tbs byte → bad_certificate', () => {
    for (const kind of ['ec', 'rsa', 'ed25519'] as const) {
      const der = chainDer(pki.leaf[kind].cert)[0]!;
      const cert = parseCertificate(der);
      const sigAt = der.length - cert.signature.length;
      for (const at of [sigAt + cert.signature.length - 1, sigAt + 8]) {
        const bad = der.slice();
        bad[at]! ^= 0x01;
        for (const backend of ['noble', 'node'] as const) {
          const r = tlsAlert(() => verify([bad], { backend }));
          expect(r.alert, `${kind}@${at}/${backend}`).toBe('bad_certificate');
          expect(r.message).toMatch(/does not verify|cannot be parsed/);
        }
      }
      // Altering the subject key inside the tbs keeps the DER valid but breaks the CA's signature.
      const spkiEnd = Buffer.from(der).indexOf(Buffer.from(cert.publicKey.spki)) + cert.publicKey.spki.length;
      const alt = der.slice();
      alt[spkiEnd - 1]! ^= 0x40;
      expect(tlsAlert(() => verify([alt])).message).toContain("the signature on 'CN=localhost' by 'CN=crosswire test CA' does not verify");
    }
  });

  test('issuer constraints: CA:FALSE issuer, missing keyCertSign, pathLen exceeded → bad_certificate', () => {
    const leafIssuer = issueExtra('not-a-ca', 'ca', SERVER_EXT, { cn: 'not a ca' });
    const fromLeaf = issueExtra('from-leaf', 'not-a-ca', SERVER_EXT);
    let r = tlsAlert(() => verify([fromLeaf, leafIssuer]));
    expect(r.alert).toBe('bad_certificate');
    expect(r.message).toContain("'CN=not a ca' issued 'CN=localhost' but is not a CA (basicConstraints CA:FALSE)");
    const noSign = issueExtra('no-certsign', 'ca', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,cRLSign\n', { cn: 'no certsign' });
    const fromNoSign = issueExtra('from-no-certsign', 'no-certsign', SERVER_EXT);
    r = tlsAlert(() => verify([fromNoSign, noSign]));
    expect(r.alert).toBe('bad_certificate');
    expect(r.message).toContain('keyUsage lacks keyCertSign');
    const inter2 = issueExtra('inter2', 'inter', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n', { cn: 'second intermediate' });
    const deep = issueExtra('deep-leaf', 'inter2', SERVER_EXT);
    r = tlsAlert(() => verify([deep, interDer, inter2]));
    expect(r.alert).toBe('bad_certificate');
    expect(r.message).toContain("'CN=crosswire intermediate' allows 0 intermediate(s) below it (pathlen) but the chain has 1");
    // The same second-level intermediate is fine when it is itself the anchor.
    expect(verify([deep], { anchors: [inter2] }).subject.text).toBe('CN=localhost');
  });

  test('extendedKeyUsage: purpose checked (unsupported_certificate), unknown critical extension refused', () => {
    const client = chainDer(pki.leaf.client.cert);
    expect(verify(client, { purpose: 'client', hostname: undefined }).subject.text).toBe('CN=crosswire client');
    let r = tlsAlert(() => verify(client, { hostname: undefined }));
    expect(r.alert).toBe('unsupported_certificate');
    expect(r.message).toContain('not valid for TLS server authentication: its extendedKeyUsage allows only clientAuth');
    expect(tlsAlert(() => verify(chainDer(pki.leaf.ec.cert), { purpose: 'client' })).alert).toBe('unsupported_certificate');
    const crit = issueExtra('crit', 'ca', `${SERVER_EXT}1.2.3.4.5=critical,ASN1:NULL\n`);
    expect(parseCertificate(crit).unknownCriticalExtensions).toEqual(['1.2.3.4.5']);
    r = tlsAlert(() => verify([crit]));
    expect(r.alert).toBe('unsupported_certificate');
    expect(r.message).toContain('critical extension(s) crosswire does not understand: 1.2.3.4.5');
    const nonCrit = issueExtra('noncrit', 'ca', `${SERVER_EXT}1.2.3.4.5=ASN1:NULL\n`);
    expect(verify([nonCrit]).subject.text).toBe('CN=localhost');
  });

  test('name constraints on an intermediate are enforced for DNS and IP names', () => {
    const nc = issueExtra('nc-inter', 'ca', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nnameConstraints=critical,permitted;DNS:good.test,permitted;IP:10.0.0.0/255.0.0.0\n', { cn: 'constrained' });
    const inside = issueExtra('nc-in', 'nc-inter', 'subjectAltName=DNS:www.good.test,IP:10.9.9.9\n');
    expect(verify([inside, nc], { hostname: 'www.good.test' }).subject.text).toBe('CN=localhost');
    const outside = issueExtra('nc-out', 'nc-inter', 'subjectAltName=DNS:www.evil.test\n');
    const r = tlsAlert(() => verify([outside, nc], { hostname: 'www.evil.test' }));
    expect(r.alert).toBe('bad_certificate');
    expect(r.message).toContain('DNS:www.evil.test');
    const badIp = issueExtra('nc-ip', 'nc-inter', 'subjectAltName=DNS:a.good.test,IP:192.168.1.1\n');
    expect(tlsAlert(() => verify([badIp, nc], { hostname: 'a.good.test' })).message).toContain('IP:192.168.1.1');
  });

  test('a same-named CA with another key is not an issuer (unknown_ca); duplicated intermediates stay cheap', () => {
    selfSigned('impostor-ca', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], [], 'crosswire test CA');
    const forged = issueExtra('impostor-leaf', 'impostor-ca', SERVER_EXT);
    const r = tlsAlert(() => verify([forged]));
    expect(r.alert).toBe('unknown_ca');
    expect(r.message).toContain("issuer 'CN=crosswire test CA'");
    const [leaf, inter] = chainDer(pki.leaf.chain.cert) as [Uint8Array, Uint8Array];
    const copies = Array.from({ length: 200 }, () => inter.slice());
    expect(verify([leaf, ...copies]).subject.text).toBe('CN=localhost');
  });

  test('weak signatures are refused: SHA-1, RSA keys under 2048 bits', () => {
    const ecSha1 = issueExtra('sha1-ec-leaf', 'ca', SERVER_EXT, { digest: 'sha1' });
    expect(() => parseCertificate(ecSha1)).toThrow(/ecdsa-with-SHA1 is not supported/);
    let r = tlsAlert(() => verify([ecSha1]));
    expect(r.alert).toBe('unsupported_certificate');
    const rsaCa = selfSigned('rsa-sha1-ca', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const rsaSha1 = issueExtra('sha1-rsa-leaf', 'rsa-sha1-ca', SERVER_EXT, { digest: 'sha1' });
    expect(parseCertificate(rsaSha1).signatureAlgorithm).toBe('rsa_pkcs1_sha1');
    r = tlsAlert(() => verify([rsaSha1], { anchors: [rsaCa] }));
    expect(r.alert).toBe('bad_certificate');
    expect(r.message).toContain('SHA-1 signatures are no longer accepted');
    const smallCa = selfSigned('rsa1024-ca', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']);
    const fromSmall = issueExtra('from-rsa1024', 'rsa1024-ca', SERVER_EXT);
    r = tlsAlert(() => verify([fromSmall], { anchors: [smallCa] }));
    expect(r.alert).toBe('bad_certificate');
    expect(r.message).toContain('1024-bit RSA key; at least 2048 bits are required');
    expect(matchesHostname(parseCertificate(chainDer(pki.leaf.ec.cert)[0]!), '*.test.crosswire')).toBe(false);
    expect(describeCertificate(parseCertificate(caDer))).toContain('subject: CN=crosswire test CA\nissuer: CN=crosswire test CA');
    expect(tlsAlert(() => verify(chainDer(pki.leaf.ec.cert), { now: Number.NaN })).alert).toBe('internal_error');
  });

  test('signature results are cached per backend: a repeat verification does no public-key work', () => {
    const base = cryptoProvider('noble');
    let calls = 0;
    const counting = (name: string): CryptoProvider => ({
      ...base,
      name,
      verify: (...args: Parameters<CryptoProvider['verify']>) => {
        calls++;
        return base.verify(...args);
      },
    });
    const chain = chainDer(pki.leaf.chain.cert);
    const run = (c: CryptoProvider) => verifyChain(chain, { crypto: c, anchors: [caDer], hostname: 'localhost', now: Date.now() });
    const a = counting(`counting-${Math.random()}`);
    run(a);
    expect(calls).toBe(2); // leaf by intermediate, intermediate by anchor
    run(a);
    expect(calls).toBe(2);
    run(counting(`counting-${Math.random()}`));
    expect(calls).toBe(4);
  });

  test('the leaf itself may be the trust anchor; an empty chain is refused', () => {
    const ec = chainDer(pki.leaf.ec.cert);
    expect(verify(ec, { anchors: [ec[0]!] }).subject.text).toBe('CN=localhost');
    expect(tlsAlert(() => verify([])).alert).toBe('decode_error');
    // Anchors are indexed once per array, but an array changed in place is re-indexed.
    const anchors: Uint8Array[] = [];
    expect(tlsAlert(() => verify(ec, { anchors })).alert).toBe('unknown_ca');
    anchors.push(caDer);
    expect(verify(ec, { anchors }).subject.text).toBe('CN=localhost');
    expect(tlsAlert(() => verify([], { purpose: 'client' })).alert).toBe('certificate_required');
    expect(Alert.bad_certificate).toBe(42);
  });
});

/** Attribute values of node's one-per-line name text ('CN=x\nO=y', multi-valued RDNs joined with '+'), unescaped. */
function nodeNameValues(text: string): string {
  return text.split('\n').map((l) => l.slice(l.indexOf('=') + 1).replace(/\\(.)/g, '$1')).join('|');
}

test('differential: verifyChain and `openssl verify` agree on accept/reject', () => {
  issueExtra('d-inter2', 'inter', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n', { cn: 'second intermediate' });
  issueExtra('d-deep', 'd-inter2', SERVER_EXT);
  issueExtra('d-notca', 'ca', SERVER_EXT, { cn: 'not a ca' });
  issueExtra('d-from-notca', 'd-notca', SERVER_EXT);
  issueExtra('d-nosign', 'ca', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,cRLSign\n', { cn: 'no certsign' });
  issueExtra('d-from-nosign', 'd-nosign', SERVER_EXT);
  issueExtra('d-crit', 'ca', `${SERVER_EXT}1.2.3.4.5=critical,ASN1:NULL\n`);
  issueExtra('d-nc', 'ca', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nnameConstraints=critical,permitted;DNS:good.test\n', { cn: 'constrained' });
  issueExtra('d-nc-out', 'd-nc', 'subjectAltName=DNS:www.evil.test\n');
  issueExtra('d-nc-in', 'd-nc', 'subjectAltName=DNS:www.good.test\n');
  issueExtra('d-cn-ip', 'ca', 'subjectAltName=IP:10.1.2.3\nbasicConstraints=critical,CA:FALSE\n', { cn: 'cn.test' });
  issueExtra('d-cn-dns', 'ca', 'subjectAltName=DNS:san.test\nbasicConstraints=critical,CA:FALSE\n', { cn: 'cn.test' });
  issueExtra('d-cn-only', 'ca', 'basicConstraints=critical,CA:FALSE\n', { cn: 'cn.test' });
  const f = (n: string) => join(pki.dir, `${n}.pem`);
  type Case = { name: string; leaf: string; inters?: string[]; purpose?: 'server' | 'client'; host?: string; ip?: string };
  const cases: Case[] = [
    ...LEAVES.map((k) => ({ name: k, leaf: pki.leaf[k].cert, host: 'localhost' })),
    { name: 'via intermediate', leaf: f('chain-leaf'), inters: [f('inter')], host: 'a.test.crosswire' },
    { name: 'missing intermediate', leaf: f('chain-leaf') },
    { name: 'expired', leaf: pki.leaf.expired.cert },
    { name: 'untrusted', leaf: pki.leaf.untrusted.cert },
    { name: 'pathlen', leaf: f('d-deep'), inters: [f('inter'), f('d-inter2')] },
    { name: 'CA:FALSE issuer', leaf: f('d-from-notca'), inters: [f('d-notca')] },
    { name: 'no keyCertSign', leaf: f('d-from-nosign'), inters: [f('d-nosign')] },
    { name: 'unknown critical extension', leaf: f('d-crit') },
    { name: 'client cert for a server', leaf: pki.leaf.client.cert },
    { name: 'client cert for a client', leaf: pki.leaf.client.cert, purpose: 'client' },
    { name: 'server cert for a client', leaf: pki.leaf.ec.cert, purpose: 'client' },
    { name: 'wrong host', leaf: pki.leaf.ec.cert, host: 'example.org' },
    { name: 'two-label wildcard', leaf: pki.leaf.ec.cert, host: 'a.b.test.crosswire' },
    { name: 'IP SAN', leaf: pki.leaf.ec.cert, ip: '127.0.0.1' },
    { name: 'other IP', leaf: pki.leaf.ec.cert, ip: '127.0.0.2' },
    { name: 'name constraints: outside', leaf: f('d-nc-out'), inters: [f('d-nc')] },
    { name: 'name constraints: inside', leaf: f('d-nc-in'), inters: [f('d-nc')] },
    { name: 'CN without any SAN', leaf: f('d-cn-only'), host: 'cn.test' },
    { name: 'CN beside an IP-only SAN', leaf: f('d-cn-ip'), host: 'cn.test' },
    { name: 'CN beside a DNS SAN', leaf: f('d-cn-dns'), host: 'cn.test' },
  ];
  const verdicts: string[] = [];
  for (const c of cases) {
    const args = ['verify', '-CAfile', pki.ca, '-purpose', c.purpose === 'client' ? 'sslclient' : 'sslserver'];
    if (c.inters) {
      const bundle = join(pki.dir, 'd-untrusted.pem');
      writeFileSync(bundle, c.inters.map(read).join(''));
      args.push('-untrusted', bundle);
    }
    if (c.host) args.push('-verify_hostname', c.host);
    if (c.ip) args.push('-verify_ip', c.ip);
    let opensslOk = true;
    try {
      execFileSync('openssl', [...args, c.leaf], { stdio: 'pipe' });
    } catch {
      opensslOk = false;
    }
    const chain = [certDer(c.leaf), ...(c.inters ?? []).map(certDer)];
    const ours = tlsAlert(() => verifyChain(chain, { crypto: cryptoProvider(), anchors: [caDer], hostname: c.host ?? c.ip, now: Date.now(), purpose: c.purpose }));
    verdicts.push(`${c.name}: openssl ${opensslOk ? 'ok' : 'reject'}, crosswire ${ours.alert === 'none' ? 'ok' : 'reject'}`);
    expect(ours.alert === 'none', `${c.name}: ${ours.message}`).toBe(opensslOk);
  }
  console.log(verdicts.join('\n'));
});

test.describe('trust store', () => {
  test('the whole system store loads, and nearly every certificate parses', () => {
    const report = loadSystemStore();
    const total = report.anchors.length + report.skipped.length;
    const bundleCount = (read('/etc/ssl/certs/ca-certificates.crt').match(/BEGIN CERTIFICATE/g) ?? []).length;
    expect(total).toBe(bundleCount);
    console.log(`system store: ${report.anchors.length} of ${total} certificates parse; skipped: ${JSON.stringify(report.skipped)}`);
    expect(report.anchors.length).toBeGreaterThanOrEqual(Math.ceil(total * 0.95));
    const names = new Set(report.anchors.map((d) => parseCertificate(d).subject.text));
    expect(names.size).toBeGreaterThan(100);
    // Every usable system certificate agrees with node:crypto on serial, validity, key and names.
    const mismatches: string[] = [];
    for (const der of report.anchors) {
      const c = parseCertificate(der);
      const x = new X509Certificate(der);
      const same = (what: string, a: unknown, b: unknown) => {
        if (a !== b) mismatches.push(`${c.subject.text}: ${what} ${String(a)} ≠ ${String(b)}`);
      };
      same('serial', BigInt(`0x${c.serialHex}`), BigInt(`0x${x.serialNumber}`));
      same('notBefore', c.notBefore, new Date(x.validFrom).getTime());
      same('notAfter', c.notAfter, new Date(x.validTo).getTime());
      same('spki', Buffer.from(c.publicKey.spki).toString('hex'), x.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
      same('subject', c.subject.attributes.map((a) => a.value).join('|'), nodeNameValues(x.subject));
      same('issuer', c.issuer.attributes.map((a) => a.value).join('|'), nodeNameValues(x.issuer));
      same('ca', c.basicConstraints?.ca ?? false, x.ca);
    }
    expect(mismatches).toEqual([]);
    const anchors = loadTrustAnchors();
    expect(anchors.length).toBe(report.anchors.length);
    expect(loadTrustAnchors()).toBe(anchors); // same array: verifyChain's parsed-anchor cache survives across handshakes
    // Our test CA is not in it.
    expect(tlsAlert(() => verifyChain(chainDer(pki.leaf.ec.cert), { crypto: cryptoProvider(), anchors, hostname: 'localhost', now: Date.now() })).alert).toBe('unknown_ca');
  });

  test('directory fallback: every *.pem/*.crt once, broken and unusable certificates skipped', () => {
    const dir = join(pki.dir, 'certs-dir');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ca.pem'), read(pki.ca));
    symlinkSync(join(dir, 'ca.pem'), join(dir, 'a1b2c3d4.0.crt')); // Debian's hash links point at the same file
    writeFileSync(join(dir, 'chain.crt'), read(pki.leaf.chain.cert));
    writeFileSync(join(dir, 'broken.pem'), `${pemEncode(caDer.subarray(0, 60), 'CERTIFICATE')}-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n`);
    writeFileSync(join(dir, 'ignored.txt'), read(pki.leaf.ec.cert));
    symlinkSync(join(dir, 'gone.pem'), join(dir, 'dangling.pem'));
    const saved = { file: process.env.SSL_CERT_FILE, dir: process.env.SSL_CERT_DIR };
    try {
      process.env.SSL_CERT_FILE = join(dir, 'no-bundle-here.crt');
      process.env.SSL_CERT_DIR = dir;
      const report = loadSystemStore();
      expect(report.source).toBe(dir);
      expect(report.anchors.map((d) => parseCertificate(d).subject.text).sort()).toEqual(['CN=crosswire intermediate', 'CN=crosswire test CA', 'CN=localhost']);
      expect(report.skipped.length).toBe(1); // the truncated certificate; the block with bad base64 never decodes
      expect(report.skipped[0]!.reason).toMatch(/DER/);
      process.env.SSL_CERT_DIR = join(dir, 'missing');
      expect(() => loadSystemStore()).toThrow(TrustStoreError);
      expect(() => loadSystemStore()).toThrow(/pass --ca/);
    } finally {
      for (const [k, v] of [['SSL_CERT_FILE', saved.file], ['SSL_CERT_DIR', saved.dir]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  test('a CA file: PEM or DER; unreadable or broken files are TrustStoreErrors naming the file', () => {
    expect(loadTrustAnchors(pki.ca)).toEqual([caDer]);
    const derPath = join(pki.dir, 'ca.der');
    writeFileSync(derPath, caDer);
    expect(loadTrustAnchors(derPath)).toEqual([caDer]);
    expect(() => loadTrustAnchors(join(pki.dir, 'missing.pem'))).toThrow(TrustStoreError);
    expect(() => loadTrustAnchors(join(pki.dir, 'missing.pem'))).toThrow(/missing\.pem: ENOENT/);
    expect(() => loadTrustAnchors(pki.leaf.ec.key)).toThrow(/ec\.key: PEM: no CERTIFICATE block/);
    const broken = join(pki.dir, 'broken.pem');
    writeFileSync(broken, pemEncode(caDer.subarray(0, 100), 'CERTIFICATE'));
    expect(() => loadTrustAnchors(broken)).toThrow(/broken\.pem: PEM: certificate #1 cannot be parsed/);
  });
});

test.describe('malformed input only ever raises DecodeError', () => {
  function mutate(rng: () => number, src: Uint8Array): Uint8Array {
    const b = Array.from(src);
    const ops = 1 + Math.floor(rng() * 4);
    for (let k = 0; k < ops; k++) {
      const at = Math.floor(rng() * b.length);
      switch (Math.floor(rng() * 6)) {
        case 0: b[at] = Math.floor(rng() * 256); break;
        case 1: b[at]! ^= 1 << Math.floor(rng() * 8); break;
        case 2: b.splice(at); break;
        case 3: b.splice(at, 1 + Math.floor(rng() * 8)); break;
        case 4: b.splice(at, 0, ...Array.from({ length: 1 + Math.floor(rng() * 4) }, () => Math.floor(rng() * 256))); break;
        case 5: b[at] = [0x00, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff, 0x30, 0xa3][Math.floor(rng() * 9)]!; break;
      }
    }
    return new Uint8Array(b);
  }

  const expectOnlyDecodeError = (fn: () => unknown, what: string) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof DecodeError)) throw new Error(`${what}: threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    }
  };

  test('5000 seeded mutations of certificates, SPKIs and keys, 1000 of PEM text, 2000 random inputs', () => {
    const rng = seedrandom('crosswire-x509-fuzz');
    const certs = [...LEAVES, 'client', 'expired'].map((k) => certDer(pki.leaf[k as 'ec'].cert)).concat([caDer, interDer]);
    const spkis = certs.map((d) => parseCertificate(d).publicKey.spki);
    const keys = [...LEAVES].map((k) => pemDecode(read(pki.leaf[k].key), 'PRIVATE KEY')[0]!);
    let parsedOk = 0;
    let verifyOutcomes = 0;
    for (let i = 0; i < 5000; i++) {
      const which = i % 4;
      if (which < 2) {
        const m = mutate(rng, certs[Math.floor(rng() * certs.length)]!);
        expectOnlyDecodeError(() => {
          parseCertificate(m);
          parsedOk++;
        }, `cert mutation ${i}`);
        if (i % 16 === 0) {
          try {
            verifyChain([m, interDer], { crypto: cryptoProvider(), anchors: [caDer], hostname: 'localhost', now: Date.now() });
          } catch (e) {
            if (!(e instanceof TlsError)) throw new Error(`verify mutation ${i}: threw ${(e as Error).name}: ${(e as Error).message}`);
            verifyOutcomes++;
          }
        }
      } else if (which === 2) {
        const m = mutate(rng, spkis[Math.floor(rng() * spkis.length)]!);
        expectOnlyDecodeError(() => publicKeyFromSpki(m), `spki mutation ${i}`);
      } else {
        const m = mutate(rng, keys[Math.floor(rng() * keys.length)]!);
        expectOnlyDecodeError(() => privateKeyFromPkcs8(m), `key mutation ${i}`);
      }
    }
    // Mangled PEM text: loaders report DecodeError, never anything else.
    const pemTexts = [read(pki.leaf.chain.cert), read(pki.leaf.rsa.key), read(pki.leaf.ed25519.key)];
    for (let i = 0; i < 500; i++) {
      const src = pemTexts[i % pemTexts.length]!;
      const m = new TextDecoder('latin1').decode(mutate(rng, new TextEncoder().encode(src)));
      expectOnlyDecodeError(() => loadCertificateChain(m), `pem chain ${i}`);
      expectOnlyDecodeError(() => loadPrivateKey(m), `pem key ${i}`);
    }
    // Pure random bytes, and random bytes behind a plausible SEQUENCE header.
    for (let i = 0; i < 1000; i++) {
      const n = Math.floor(rng() * 200);
      const r = Uint8Array.from({ length: n }, () => Math.floor(rng() * 256));
      expectOnlyDecodeError(() => parseCertificate(r), `random ${i}`);
      expectOnlyDecodeError(() => parseCertificate(new Uint8Array([0x30, 0x81, n, ...r])), `random seq ${i}`);
    }
    // Some mutations land in the signature or in don't-care bytes and still parse: the fuzzer reaches deep code.
    expect(parsedOk).toBeGreaterThan(50);
    expect(verifyOutcomes).toBeGreaterThan(100);
  });
});
