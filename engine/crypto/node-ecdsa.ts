// Deterministic ECDSA signing for the node backend (RFC 6979 §3.2 nonces, SEC 1 §4.1.3 signing, low-S as noble emits).
// node:crypto only signs with a random k, and noble's pure-JS point multiplication costs about a millisecond per
// P-256 signature; here the one scalar multiplication (k·G) runs in OpenSSL through an ECDH object whose "public key"
// for the private scalar k is exactly k·G, the HMAC-DRBG runs on sha256.ts (P-256) or node:crypto HMAC (P-384), and the
// rest is BigInt arithmetic modulo n. The bytes equal noble's sign(digest, d, { prehash: false, format: 'der' }) (test/crypto.spec.ts checks).

import { invert } from '@noble/curves/abstract/modular.js';
import { createECDH, createHmac, type ECDH } from 'node:crypto';
import { hmacSha256, hmacSha256Key } from './sha256.js';

interface Curve {
  readonly openssl: string;
  readonly n: bigint;
  readonly bytes: number;
  readonly hash: 'sha256' | 'sha384';
}

const CURVES: Record<'secp256r1' | 'secp384r1', Curve> = {
  secp256r1: { openssl: 'prime256v1', n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n, bytes: 32, hash: 'sha256' },
  secp384r1: {
    openssl: 'secp384r1',
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    bytes: 48,
    hash: 'sha384',
  },
};

/** One ECDH object per curve, reused: only its private scalar is set per signature (k), and nothing else is kept. */
const ecdhByCurve: Partial<Record<'secp256r1' | 'secp384r1', ECDH>> = {};

function toBig(b: Uint8Array): bigint {
  return b.length ? BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')) : 0n;
}

function toBytes(x: bigint, length: number): Buffer {
  return Buffer.from(x.toString(16).padStart(length * 2, '0'), 'hex');
}

/** DER INTEGER body of a non-negative value: minimal big-endian, a leading zero when the top bit is set. */
function derInteger(x: bigint): Buffer {
  let hex = x.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let b = Buffer.from(hex, 'hex');
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.alloc(1), b]);
  return Buffer.concat([Buffer.from([0x02, b.length]), b]);
}

/**
 * Signs a message digest (already hashed with the curve's own hash: the TLS 1.3 pairs) with private scalar `d`.
 * Returns undefined for combinations it does not cover, so the caller can fall back to noble.
 */
export function ecdsaSignDeterministic(curveName: 'secp256r1' | 'secp384r1', hash: string, d: Uint8Array, digest: Uint8Array): Uint8Array | undefined {
  const c = CURVES[curveName];
  // bits2int needs truncation when the hash is longer than the order; only the matched pairs are handled here.
  if (c.hash !== hash || digest.length !== c.bytes || d.length !== c.bytes) return undefined;
  const x = toBig(d);
  if (x <= 0n || x >= c.n) return undefined;
  const e = toBig(digest) % c.n; // bits2int(h) mod n; qlen = hlen here
  const h1 = toBytes(e, c.bytes); // bits2octets(h)
  const xo = toBytes(x, c.bytes); // int2octets(x)
  // Every HMAC here has a key of its own (K changes between nearly every call): keying sha256.ts's HMAC and running it
  // costs 1.5 µs against 2.7 µs for a createHmac call (issue 15); SHA-384 stays on node:crypto.
  const hmac = (key: Uint8Array, ...parts: Uint8Array[]): Buffer => {
    if (c.hash === 'sha256') {
      const out = hmacSha256(hmacSha256Key(key), ...parts);
      return Buffer.from(out.buffer, out.byteOffset, out.length);
    }
    const m = createHmac(c.hash, key);
    for (const p of parts) m.update(p);
    return m.digest();
  };
  // RFC 6979 §3.2 steps b–f.
  let v: Buffer = Buffer.alloc(c.bytes, 0x01);
  let k: Buffer = Buffer.alloc(c.bytes, 0x00);
  k = hmac(k, v, Buffer.from([0x00]), xo, h1);
  v = hmac(k, v);
  k = hmac(k, v, Buffer.from([0x01]), xo, h1);
  v = hmac(k, v);
  const ecdh = (ecdhByCurve[curveName] ??= createECDH(c.openssl));
  for (let attempt = 0; attempt < 64; attempt++) {
    v = hmac(k, v); // tlen = qlen = hlen: one block is T
    const kk = toBig(v);
    if (kk >= 1n && kk < c.n) {
      ecdh.setPrivateKey(v);
      const point = ecdh.getPublicKey(null, 'uncompressed'); // k·G
      const r = toBig(point.subarray(1, 1 + c.bytes)) % c.n;
      if (r !== 0n) {
        let s = (invert(kk, c.n) * ((e + r * x) % c.n)) % c.n;
        if (s !== 0n) {
          if (s > c.n >> 1n) s = c.n - s; // low-S, as noble's sign() normalises
          const body = Buffer.concat([derInteger(r), derInteger(s)]);
          return new Uint8Array(Buffer.concat([Buffer.from([0x30, body.length]), body]));
        }
      }
    }
    k = hmac(k, v, Buffer.from([0x00]));
    v = hmac(k, v);
  }
  return undefined;
}
