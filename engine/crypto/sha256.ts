// SHA-256 (FIPS 180-4 §6.2) and HMAC-SHA-256 (RFC 2104) in plain JavaScript, for the short inputs of a TLS 1.3 key
// schedule (RFC 8446 §7.1): HKDF labels, Finished keys, seeded random blocks.
//
// Why not node:crypto: a createHmac()/createHash() call costs 3–8 µs of object set-up and boundary crossing for a
// single 64-byte block, while one compression here takes about 0.5 µs. An HMAC key's two padded blocks are compressed
// once and the states kept, so HKDF-Expand-Label (one block of info) costs two compressions. For long inputs (the
// handshake transcript, multi-kilobyte certificates) OpenSSL's hardware SHA wins, and the node backend keeps it.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const W = new Int32Array(64);

function compress(st: Int32Array, blk: Uint8Array, off: number): void {
  const w = W;
  for (let i = 0; i < 16; i++, off += 4) w[i] = (blk[off]! << 24) | (blk[off + 1]! << 16) | (blk[off + 2]! << 8) | blk[off + 3]!;
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15]!;
    const w2 = w[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = st[0]!, b = st[1]!, c = st[2]!, d = st[3]!, e = st[4]!, f = st[5]!, g = st[6]!, h = st[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  st[0] = (st[0]! + a) | 0;
  st[1] = (st[1]! + b) | 0;
  st[2] = (st[2]! + c) | 0;
  st[3] = (st[3]! + d) | 0;
  st[4] = (st[4]! + e) | 0;
  st[5] = (st[5]! + f) | 0;
  st[6] = (st[6]! + g) | 0;
  st[7] = (st[7]! + h) | 0;
}

/** Scratch for a message and its padding (callers keep inputs to at most a few blocks; longer ones grow it). */
let scratch = new Uint8Array(256);

/**
 * Hashes `parts` (in order) into `st`, a state that has already absorbed `prefix` bytes (0, or 64 for an HMAC pad
 * block), pads, and writes the 32-byte digest at `out[outOff]`. `st` is consumed.
 */
function finish(st: Int32Array, prefix: number, parts: readonly Uint8Array[], out: Uint8Array, outOff: number): void {
  let len = 0;
  for (let j = 0; j < parts.length; j++) len += parts[j]!.length;
  const padded = (len + 9 + 63) & ~63;
  if (scratch.length < padded) scratch = new Uint8Array(padded * 2);
  const m = scratch;
  let o = 0;
  for (let j = 0; j < parts.length; j++) {
    const p = parts[j]!;
    if (p.length > 32) {
      m.set(p, o);
      o += p.length;
    } else for (let i = 0; i < p.length; i++) m[o++] = p[i]!;
  }
  m[o++] = 0x80;
  while (o < padded - 8) m[o++] = 0;
  // Bit length, big-endian 64-bit (inputs here stay far below 2^53 bits).
  const bits = (prefix + len) * 8;
  const hi = Math.floor(bits / 0x100000000);
  m[o++] = hi >>> 24;
  m[o++] = hi >>> 16;
  m[o++] = hi >>> 8;
  m[o++] = hi;
  m[o++] = bits >>> 24;
  m[o++] = bits >>> 16;
  m[o++] = bits >>> 8;
  m[o++] = bits;
  for (let off = 0; off < padded; off += 64) compress(st, m, off);
  for (let i = 0; i < 8; i++) {
    const v = st[i]!;
    out[outOff++] = v >>> 24;
    out[outOff++] = v >>> 16;
    out[outOff++] = v >>> 8;
    out[outOff++] = v;
  }
}

export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  finish(IV.slice(), 0, [data], out, 0);
  return out;
}

/** An HMAC-SHA-256 key with its ipad and opad blocks already compressed. */
export interface HmacSha256Key {
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

export function hmacSha256Key(key: Uint8Array): HmacSha256Key {
  const k = new Uint8Array(64);
  if (key.length > 64) k.set(sha256(key));
  else k.set(key);
  const pad = new Uint8Array(64);
  const inner = IV.slice();
  const outer = IV.slice();
  for (let i = 0; i < 64; i++) pad[i] = k[i]! ^ 0x36;
  compress(inner, pad, 0);
  for (let i = 0; i < 64; i++) pad[i] = k[i]! ^ 0x5c;
  compress(outer, pad, 0);
  return { inner, outer };
}

const innerDigest = new Uint8Array(32);
const innerList = [innerDigest];
const state = new Int32Array(8);

/** HMAC-SHA-256(key, parts concatenated) into out[outOff..outOff+32). */
export function hmacSha256Into(key: HmacSha256Key, parts: readonly Uint8Array[], out: Uint8Array, outOff = 0): void {
  state.set(key.inner);
  finish(state, 64, parts, innerDigest, 0);
  state.set(key.outer);
  finish(state, 64, innerList, out, outOff);
}

export function hmacSha256(key: HmacSha256Key, ...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32);
  hmacSha256Into(key, parts, out, 0);
  return out;
}
