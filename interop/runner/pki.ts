// Simulation PKI (RFC 5280 §4.1 certificate structure, RFC 5480/8410 key encodings): a CA and leaves made in-process.
// Every byte is a function of fixed labels, so certificates — and therefore traces — are identical in every run.

import { createECDH, createPrivateKey, createPublicKey } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { nodeCrypto } from '../../engine/crypto/node.js';
import type { PrivateKey } from '../../engine/crypto/provider.js';
import { loadPrivateKey } from '../../engine/tls/x509/pem.js';

export type CertificateKind = 'ec' | 'p384' | 'rsa' | 'ed25519';

/** The fixed wall-clock instant simulated runs live at: certificate dates and ticket ages are checked against it. */
export const SIMULATION_CLOCK_MS = Date.UTC(2025, 0, 1);

export interface SimulationPki {
  /** DER trust anchor for clients. */
  readonly ca: Uint8Array;
  /** DER chain (leaf, CA) and key per certificate kind, for CN=localhost with DNS SAN localhost. */
  leaf(kind: CertificateKind): { chain: Uint8Array[]; key: PrivateKey };
}

// RSA key generation is slow and random; a fixed key keeps RSA runs reproducible. Simulation use only.
const FIXED_RSA_KEY = `-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCmnyjZw08eogY4
noXf+yk8JdgoMhS6I3klE/wRuBphbtfWb83V7RtqgIyW5esYVlu3t5UvN2saMbTW
NNWuv3W9Jk5DWSX/7zbLlKstIA3Xdt+v6YrCPRv88fWLP2qXtncjC7jgj5hu8yhr
Vn6F8LdjQXGhI9+biXgwQMahN7bdLu3zR/CLFzWM/ClUHFtoC5astCBwbC5YLwE2
vdls/GJfdttUP8bUnBpBV7jv7/6QvTZxW2OUoO1otp55oabTLcpsCKUG/JAIYjae
cpkLcp5G6jJwyVUPkfzy1fthkxp8bYqxpbqDmRmdfSkLOkgS5WQH57DQ0zppVJqP
pHJivq1dAgMBAAECggEAKRKUxFFDwJ5aADz7bUIBYSVHCmmF+HhkFYK+oTOLtTbY
l7CJwdEn7/HuNghJEn+/LiNf7/quOQ/FrwPpJKFniY/WvP1Nw7AZBsgIBiCfqNxR
uZBNNyJPMuQGDiQ8x1cgORBbq2daQQdJkGQK3kN/QUVRmFI6faG+cc6V6AnO1uij
tO+POVZsjRNP3MM65WrCi6vg6/tNAMamhDYMrMnE1kL6lL2E6UyBBpUUY7SsaFNK
+WdExMSR4DmYq02IwoZUtETWCdkpdiGVA5148xfw0ccMSBPg/L0vdG1FW7dKSY6z
QyqhNSkVSFhYf7SXKtXJN7KhAiUpefCmDGhmq82IQQKBgQDWU1p3wXMtxQJxVarh
owafCNCtP6OGht3zKygFuISpc1PUsN/VWCK+8GadfLBRcy7qaOmoT3mUdQA/8Xkg
UMXyw+B8O6v6jnNzwY7JjBosLH8Y3q/5orR1JwjGoo/qYLGNtDNmbfjlx01/O7wS
uV9fGqqeGssE9tfrOLCi7AKljQKBgQDHBTbSm3AeezOPNDFt+DWBd1JJZ9S7FfQI
Bpm6HY31/omaTNnzcC+6kWtlH7iNK0CAeUyRm/CGNntj69hnk3yZAZX8ijrmpzii
nLQy4K0lhYbgujQ3RQZI2BpRhgi34ioLgezIv+hUJA/Max60IXWZ+JpZpL2oNLMa
GLdSt48rEQKBgG8/wPvcfE7LrmLp1tNcbflq9/aVy+nuY5LvWczuZF4YsPD8BpOV
NiPqYTlqGZONuFKQtohZCIDY4pJOY1M02isTJZkW2EQsYR064UUY5hT729Uq8ikg
HY+Z/WIty4obOs6VNQD8IHAVLdLXTN5jPm/9RYbf3XXsM1Ozj2xiGVWZAoGBAJE5
Xs3DmsbDQ9ZFUaRbMD/un97sozB5Tn7kwhwrIMHWIPa1CX036bwMDP/Xa8WnQAP/
fz3pOlPVQaiiGmFKH+tOWvHStDRG5W7TRjKx++abTtaBSUTjWzigaGQAmDAGGoQX
JH9Aefmb7uNNbzQmDjhyTb8IFVS+T8rFKlBznUbhAoGBAJn8+OMg+7cJa2014tNU
ggwzej/IPmWqib29L8qAq0nFX0Bu7vHu8GVcgIoq+TE9Ch3S6FtvNAEpuUF1UnfW
RIdx49GGmg+0jKnmvEB5gMMXbYP40eQ0GaxzWNx5TjuA7izdhdVdMNwPTc4iC7p6
KNqrwZGa9I4hcqMwmqCMbXVJ
-----END PRIVATE KEY-----`;

// ----------------------------------------------------------------------------------------------- DER encoding

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v >>>= 8) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = concatAll(parts);
  const head = [tag, ...len(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const seq = (...p: Uint8Array[]): Uint8Array => tlv(0x30, ...p);
const set = (...p: Uint8Array[]): Uint8Array => tlv(0x31, ...p);
const explicit = (n: number, ...p: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...p);
const octets = (b: Uint8Array): Uint8Array => tlv(0x04, b);
const bits = (b: Uint8Array): Uint8Array => tlv(0x03, new Uint8Array([0]), b);
const utf8 = (s: string): Uint8Array => tlv(0x0c, new TextEncoder().encode(s));
const bool = (v: boolean): Uint8Array => tlv(0x01, new Uint8Array([v ? 0xff : 0]));

function int(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  do {
    out.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (out[0]! & 0x80) out.unshift(0);
  return tlv(0x02, new Uint8Array(out));
}

function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const a of arcs.slice(2)) {
    const enc: number[] = [];
    let v = a;
    do {
      enc.unshift((v & 0x7f) | (enc.length ? 0x80 : 0));
      v >>>= 7;
    } while (v > 0);
    out.push(...enc);
  }
  return tlv(0x06, new Uint8Array(out));
}

function utcTime(ms: number): Uint8Array {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, new TextEncoder().encode(s));
}

const name = (cn: string): Uint8Array => seq(set(seq(oid('2.5.4.3'), utf8(cn))));

// ----------------------------------------------------------------------------------------------- keys

interface KeyPair {
  key: PrivateKey;
  spki: Uint8Array;
}

const label = (s: string): Uint8Array => new TextEncoder().encode(`crosswire simulation pki/${s}`);

function ecKey(curve: 'secp256r1' | 'secp384r1', tag: string): KeyPair {
  const d = curve === 'secp256r1' ? sha256(label(tag)) : sha384(label(tag));
  // d·G through OpenSSL: the same uncompressed point as noble's getPublicKey, without noble's ~70 ms of precomputed
  // tables that every worker thread of a sweep would build for two keys.
  const ecdh = createECDH(curve === 'secp256r1' ? 'prime256v1' : 'secp384r1');
  ecdh.setPrivateKey(d);
  const point = new Uint8Array(ecdh.getPublicKey(null, 'uncompressed'));
  const curveOid = curve === 'secp256r1' ? '1.2.840.10045.3.1.7' : '1.3.132.0.34';
  return { key: { kind: 'ec', curve, d, publicPoint: point }, spki: seq(seq(oid('1.2.840.10045.2.1'), oid(curveOid)), bits(point)) };
}

function edKey(tag: string): KeyPair {
  const seed = sha256(label(tag));
  const pub = ed25519.getPublicKey(seed);
  return { key: { kind: 'ed25519', seed, publicKey: pub }, spki: seq(seq(oid('1.3.101.112')), bits(pub)) };
}

function rsaKey(): KeyPair {
  const spki = createPublicKey(createPrivateKey(FIXED_RSA_KEY)).export({ type: 'spki', format: 'der' });
  return { key: loadPrivateKey(FIXED_RSA_KEY), spki: new Uint8Array(spki) };
}

// ----------------------------------------------------------------------------------------------- certificates

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const NOT_BEFORE = Date.UTC(2020, 0, 1);
const NOT_AFTER = Date.UTC(2049, 11, 31);

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function keyId(spki: Uint8Array): Uint8Array {
  return sha256(spki).subarray(0, 20);
}

function certificate(opts: { serial: number; subject: string; issuer: string; spki: Uint8Array; issuerSpki: Uint8Array; signer: PrivateKey; ca: boolean }): Uint8Array {
  const exts = [
    extension('2.5.29.19', true, opts.ca ? seq(bool(true)) : seq()),
    // keyUsage: keyCertSign|cRLSign for the CA, digitalSignature for leaves (BIT STRING with unused-bit counts).
    extension('2.5.29.15', true, opts.ca ? tlv(0x03, new Uint8Array([1, 0x06])) : tlv(0x03, new Uint8Array([7, 0x80]))),
    extension('2.5.29.14', false, octets(keyId(opts.spki))),
    extension('2.5.29.35', false, seq(tlv(0x80, keyId(opts.issuerSpki)))),
  ];
  if (!opts.ca) exts.push(extension('2.5.29.17', false, seq(tlv(0x82, new TextEncoder().encode('localhost')))));
  const tbs = seq(
    explicit(0, int(2)),
    int(opts.serial),
    ECDSA_SHA256,
    name(opts.issuer),
    seq(utcTime(NOT_BEFORE), utcTime(NOT_AFTER)),
    name(opts.subject),
    opts.spki,
    explicit(3, seq(...exts)),
  );
  // ECDSA nonces are RFC 6979 deterministic, so the random source is never drawn from.
  const sig = nodeCrypto.sign('ecdsa_secp256r1_sha256', opts.signer, tbs, () => new Uint8Array(0)); // bytes equal noble's (crypto spec)
  return seq(tbs, ECDSA_SHA256, bits(sig));
}

let cached: SimulationPki | undefined;

/** The process-wide simulation PKI (built on first use; pure function of the labels above). */
export function simulationPki(): SimulationPki {
  if (cached) return cached;
  const caKey = ecKey('secp256r1', 'ca');
  const ca = certificate({ serial: 1, subject: 'crosswire simulation CA', issuer: 'crosswire simulation CA', spki: caKey.spki, issuerSpki: caKey.spki, signer: caKey.key, ca: true });
  const leaves = new Map<CertificateKind, { chain: Uint8Array[]; key: PrivateKey }>();
  const makers: Record<CertificateKind, () => KeyPair> = {
    ec: () => ecKey('secp256r1', 'leaf-ec'),
    p384: () => ecKey('secp384r1', 'leaf-p384'),
    ed25519: () => edKey('leaf-ed25519'),
    rsa: rsaKey,
  };
  const serials: Record<CertificateKind, number> = { ec: 2, p384: 3, ed25519: 4, rsa: 5 };
  cached = {
    ca,
    leaf(kind) {
      let l = leaves.get(kind);
      if (!l) {
        const k = makers[kind]();
        const cert = certificate({ serial: serials[kind], subject: 'localhost', issuer: 'crosswire simulation CA', spki: k.spki, issuerSpki: caKey.spki, signer: caKey.key, ca: false });
        l = { chain: [cert, ca], key: k.key };
        leaves.set(kind, l);
      }
      return l;
    },
  };
  return cached;
}
