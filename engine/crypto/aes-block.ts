// FIPS-197 §5.1-§5.2 (AES-128/256 cipher and key expansion) for single blocks: QUIC header protection (RFC 9001 §5.4.3).
//
// Header protection encrypts one 16-byte sample per packet. A general AES implementation pays per call for what only a
// bulk cipher needs (word views over the input, result objects); this one keeps the expanded key as 32-bit words and the
// round function as four lookup tables combining SubBytes, ShiftRows and MixColumns, and writes the 5 mask bytes into a
// buffer owned by the key. Tables and key schedule are built from the field arithmetic, not copied constants.

const SBOX = new Uint8Array(256);
/** T0[x] = the MixColumns column of S(x) as a big-endian word (2·S, S, S, 3·S); T1..T3 are its byte rotations. */
const T0 = new Uint32Array(256);
const T1 = new Uint32Array(256);
const T2 = new Uint32Array(256);
const T3 = new Uint32Array(256);

/** Multiplication by x in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1. */
const xtime = (b: number): number => ((b << 1) ^ (b & 0x80 ? 0x1b : 0)) & 0xff;

(function buildTables() {
  // Powers of the generator 3 enumerate the field's non-zero elements: log/antilog tables give inverses.
  const exp = new Uint8Array(256);
  const log = new Uint8Array(256);
  for (let i = 0, p = 1; i < 255; i++) {
    exp[i] = p;
    log[p] = i;
    p ^= xtime(p); // p · 3
  }
  for (let x = 0; x < 256; x++) {
    const inv = x === 0 ? 0 : exp[(255 - log[x]!) % 255]!;
    // The affine transformation of §5.1.1: b ^ rotl(b,1) ^ rotl(b,2) ^ rotl(b,3) ^ rotl(b,4) ^ 0x63.
    let s = inv;
    for (let r = 1; r <= 4; r++) s ^= ((inv << r) | (inv >>> (8 - r))) & 0xff;
    SBOX[x] = s ^ 0x63;
  }
  for (let x = 0; x < 256; x++) {
    const s = SBOX[x]!;
    const s2 = xtime(s);
    const t = ((s2 << 24) | (s << 16) | (s << 8) | (s2 ^ s)) >>> 0;
    T0[x] = t;
    T1[x] = ((t >>> 8) | (t << 24)) >>> 0;
    T2[x] = ((t >>> 16) | (t << 16)) >>> 0;
    T3[x] = ((t >>> 24) | (t << 8)) >>> 0;
  }
})();

const subWord = (w: number): number => ((SBOX[w >>> 24]! << 24) | (SBOX[(w >>> 16) & 0xff]! << 16) | (SBOX[(w >>> 8) & 0xff]! << 8) | SBOX[w & 0xff]!) >>> 0;

/** The round keys of §5.2 as big-endian words; 16- and 32-byte keys (AES-128, AES-256). */
export function expandAesKey(key: Uint8Array): Uint32Array {
  const nk = key.length / 4;
  if (nk !== 4 && nk !== 8) throw new RangeError(`AES key must be 16 or 32 bytes, got ${key.length}`);
  const rounds = nk + 6;
  const w = new Uint32Array(4 * (rounds + 1));
  for (let i = 0; i < nk; i++) w[i] = ((key[4 * i]! << 24) | (key[4 * i + 1]! << 16) | (key[4 * i + 2]! << 8) | key[4 * i + 3]!) >>> 0;
  for (let i = nk, rcon = 1; i < w.length; i++) {
    let t = w[i - 1]!;
    if (i % nk === 0) {
      t = (subWord(((t << 8) | (t >>> 24)) >>> 0) ^ (rcon << 24)) >>> 0;
      rcon = xtime(rcon);
    } else if (nk > 6 && i % nk === 4) {
      t = subWord(t);
    }
    w[i] = (w[i - nk]! ^ t) >>> 0;
  }
  return w;
}

/**
 * Encrypts the 16 bytes of `input` starting at `offset` with the expanded key and writes the first `outLength` (≤ 16)
 * bytes of the ciphertext into `out`. Header protection needs only 5 of them.
 */
export function aesEncryptBlock(w: Uint32Array, input: Uint8Array, offset: number, out: Uint8Array, outLength = 16): void {
  const rounds = w.length / 4 - 1;
  const word = (i: number) => (input[offset + i]! << 24) | (input[offset + i + 1]! << 16) | (input[offset + i + 2]! << 8) | input[offset + i + 3]!;
  let s0 = word(0) ^ w[0]!;
  let s1 = word(4) ^ w[1]!;
  let s2 = word(8) ^ w[2]!;
  let s3 = word(12) ^ w[3]!;
  let k = 4;
  for (let r = 1; r < rounds; r++, k += 4) {
    const t0 = T0[s0 >>> 24]! ^ T1[(s1 >>> 16) & 0xff]! ^ T2[(s2 >>> 8) & 0xff]! ^ T3[s3 & 0xff]! ^ w[k]!;
    const t1 = T0[s1 >>> 24]! ^ T1[(s2 >>> 16) & 0xff]! ^ T2[(s3 >>> 8) & 0xff]! ^ T3[s0 & 0xff]! ^ w[k + 1]!;
    const t2 = T0[s2 >>> 24]! ^ T1[(s3 >>> 16) & 0xff]! ^ T2[(s0 >>> 8) & 0xff]! ^ T3[s1 & 0xff]! ^ w[k + 2]!;
    const t3 = T0[s3 >>> 24]! ^ T1[(s0 >>> 16) & 0xff]! ^ T2[(s1 >>> 8) & 0xff]! ^ T3[s2 & 0xff]! ^ w[k + 3]!;
    s0 = t0;
    s1 = t1;
    s2 = t2;
    s3 = t3;
  }
  // Final round: SubBytes and ShiftRows without MixColumns.
  const last = (a: number, b: number, c: number, d: number, rk: number) =>
    ((SBOX[a >>> 24]! << 24) | (SBOX[(b >>> 16) & 0xff]! << 16) | (SBOX[(c >>> 8) & 0xff]! << 8) | SBOX[d & 0xff]!) ^ rk;
  putWord(out, 0, last(s0, s1, s2, s3, w[k]!), outLength);
  if (outLength > 4) putWord(out, 4, last(s1, s2, s3, s0, w[k + 1]!), outLength - 4);
  if (outLength > 8) putWord(out, 8, last(s2, s3, s0, s1, w[k + 2]!), outLength - 8);
  if (outLength > 12) putWord(out, 12, last(s3, s0, s1, s2, w[k + 3]!), outLength - 12);
}

/** The first `n` (capped at 4) bytes of big-endian word `v` at out[at]. */
function putWord(out: Uint8Array, at: number, v: number, n: number): void {
  for (let i = 0; i < 4 && i < n; i++) out[at + i] = (v >>> (24 - 8 * i)) & 0xff;
}
