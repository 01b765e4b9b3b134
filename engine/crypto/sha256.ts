// SHA-256 (FIPS 180-4 §4.2.2, §5.3.3, §6.2) and HMAC-SHA-256 (RFC 2104) for the short inputs of a TLS 1.3 key
// schedule (RFC 8446 §7.1): HKDF labels, Finished keys, HKDF-Extract, seeded random blocks, RFC 6979 nonces.
//
// Why our own compression function rather than noble's or node:crypto's for these:
// - a createHmac()/createHash() call costs 3–8 µs of object set-up and boundary crossing for a single 64-byte block;
// - noble's streaming objects allocate per call (a DataView per digest, clones of two hash objects per HMAC): 2.4–2.8 µs
//   per HKDF-Expand-Label and 10–13% of a handshake's profile in GC and copies (issue 15, bench/memory.ts profile).
// Here a key is eight state words after its ipad block and eight after its opad block; a message runs through one
// scratch block and the state in place, so an HKDF-Expand of one block is two compressions and no allocation. For long
// inputs (the handshake transcript, multi-kilobyte certificates) OpenSSL's hardware SHA wins, and the node backend
// keeps it.

/** FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
  0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
  0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
  0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
  0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** FIPS 180-4 §5.3.3: the initial hash value. */
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** The message schedule: one per process is enough, every call here runs to completion synchronously. */
const W = new Int32Array(64);

/** Absorbs the 64-byte block at block[off..off+64) into state (FIPS 180-4 §6.2.2). */
function compress(state: Int32Array, block: Uint8Array, off: number): void {
  for (let t = 0; t < 16; t++, off += 4) W[t] = (block[off]! << 24) | (block[off + 1]! << 16) | (block[off + 2]! << 8) | block[off + 3]!;
  for (let t = 16; t < 64; t++) {
    const x = W[t - 15]!;
    const y = W[t - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** A message being hashed: its state, the partial block, and the bytes absorbed so far (for the length padding). */
const state = new Int32Array(8);
const block = new Uint8Array(64);
let blockUsed = 0;
let absorbed = 0;

function begin(from: Int32Array, alreadyAbsorbed: number): void {
  state.set(from);
  blockUsed = 0;
  absorbed = alreadyAbsorbed;
}

function absorb(data: Uint8Array): void {
  let i = 0;
  const n = data.length;
  absorbed += n;
  if (blockUsed) {
    const take = Math.min(64 - blockUsed, n);
    for (; i < take; i++) block[blockUsed++] = data[i]!;
    if (blockUsed < 64) return;
    compress(state, block, 0);
    blockUsed = 0;
  }
  for (; n - i >= 64; i += 64) compress(state, data, i);
  for (; i < n; i++) block[blockUsed++] = data[i]!;
}

/** FIPS 180-4 §5.1.1 padding, then the digest's eight words big-endian into out[off..off+32). */
function finish(out: Uint8Array, off: number): void {
  const bits = absorbed * 8;
  block[blockUsed++] = 0x80;
  if (blockUsed > 56) {
    block.fill(0, blockUsed);
    compress(state, block, 0);
    blockUsed = 0;
  }
  block.fill(0, blockUsed, 56);
  // Inputs here are far below 2^32 bytes; the high word still carries what a longer length would need.
  const hi = Math.floor(bits / 0x100000000);
  block[56] = hi >>> 24;
  block[57] = hi >>> 16;
  block[58] = hi >>> 8;
  block[59] = hi;
  block[60] = bits >>> 24;
  block[61] = bits >>> 16;
  block[62] = bits >>> 8;
  block[63] = bits;
  compress(state, block, 0);
  for (let i = 0; i < 8; i++, off += 4) {
    const v = state[i]!;
    out[off] = v >>> 24;
    out[off + 1] = v >>> 16;
    out[off + 2] = v >>> 8;
    out[off + 3] = v;
  }
}

export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  begin(IV, 0);
  absorb(data);
  finish(out, 0);
  return out;
}

/** An HMAC-SHA-256 key: the hash states after its ipad block and after its opad block (RFC 2104 §2). */
export interface HmacSha256Key {
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

const pad = new Uint8Array(64);

export function hmacSha256Key(key: Uint8Array): HmacSha256Key {
  // RFC 2104 §2: a key longer than the block is hashed first; a shorter one is zero-padded.
  const k = key.length > 64 ? sha256(key) : key;
  const inner = new Int32Array(IV);
  const outer = new Int32Array(IV);
  pad.fill(0x36);
  for (let i = 0; i < k.length; i++) pad[i] = k[i]! ^ 0x36;
  compress(inner, pad, 0);
  pad.fill(0x5c);
  for (let i = 0; i < k.length; i++) pad[i] = k[i]! ^ 0x5c;
  compress(outer, pad, 0);
  return { inner, outer };
}

/** The inner digest, between the two passes. */
const innerDigest = new Uint8Array(32);

/** HMAC-SHA-256(key, parts concatenated) into out[outOff..outOff+32). */
export function hmacSha256Into(key: HmacSha256Key, parts: readonly Uint8Array[], out: Uint8Array, outOff = 0): void {
  begin(key.inner, 64);
  for (let i = 0; i < parts.length; i++) absorb(parts[i]!);
  finish(innerDigest, 0);
  begin(key.outer, 64);
  absorb(innerDigest);
  finish(out, outOff);
}

export function hmacSha256(key: HmacSha256Key, ...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32);
  hmacSha256Into(key, parts, out, 0);
  return out;
}
