// AES-128/AES-256 single-block encryption (FIPS 197) for QUIC header protection (RFC 9001 §5.4.3): one block per packet.
//
// Why not noble's block function: it looks up two merged 64K-entry tables (512 KiB) per round, which is fast while they
// sit in cache (a tight loop) but misses cache on nearly every lookup inside a transfer, where the rest of the stack
// runs between two packets: 4+ µs per mask measured in the P1 run against 1.7–2.8 µs in isolation. The classic
// 32-bit T-table form below needs 4 KiB of tables (four 256-entry Uint32Arrays and the S-box), which stay in L1.
// Constant-time is not a goal here: the sample is ciphertext and the key protects only header bits (as in noble's
// table form too).

const SBOX = new Uint8Array(256);
const TE0 = new Uint32Array(256);
const TE1 = new Uint32Array(256);
const TE2 = new Uint32Array(256);
const TE3 = new Uint32Array(256);

/** Multiplication by x in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1. */
const xtime = (a: number): number => ((a << 1) ^ (a & 0x80 ? 0x1b : 0)) & 0xff;

(() => {
  // S-box from the multiplicative inverse and the affine map (FIPS 197 §5.1.1), walking the field with generator 3.
  let p = 1;
  let q = 1;
  do {
    p = p ^ xtime(p); // p · 3
    // q · 3^-1: q /= 3 by the standard shift-xor chain
    q = (q ^ (q << 1)) & 0xff;
    q = (q ^ (q << 2)) & 0xff;
    q = (q ^ (q << 4)) & 0xff;
    if (q & 0x80) q ^= 0x09;
    const x = q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ ((q << 4) | (q >> 4));
    SBOX[p] = (x ^ 0x63) & 0xff;
  } while (p !== 1);
  SBOX[0] = 0x63;
  for (let i = 0; i < 256; i++) {
    const s = SBOX[i]!;
    const s2 = xtime(s);
    const s3 = s2 ^ s;
    const t = ((s2 << 24) | (s << 16) | (s << 8) | s3) >>> 0;
    TE0[i] = t;
    TE1[i] = ((t >>> 8) | (t << 24)) >>> 0;
    TE2[i] = ((t >>> 16) | (t << 16)) >>> 0;
    TE3[i] = ((t >>> 24) | (t << 8)) >>> 0;
  }
})();

const subWord = (w: number): number => ((SBOX[w >>> 24]! << 24) | (SBOX[(w >>> 16) & 0xff]! << 16) | (SBOX[(w >>> 8) & 0xff]! << 8) | SBOX[w & 0xff]!) >>> 0;

/** Round keys as big-endian 32-bit words (FIPS 197 §5.2): 44 for AES-128, 60 for AES-256. */
export function expandAesKey(key: Uint8Array): Uint32Array {
  const nk = key.length / 4;
  if (nk !== 4 && nk !== 8) throw new RangeError(`AES key must be 16 or 32 bytes, got ${key.length}`);
  const total = 4 * (nk + 7);
  const w = new Uint32Array(total);
  for (let i = 0; i < nk; i++) w[i] = ((key[4 * i]! << 24) | (key[4 * i + 1]! << 16) | (key[4 * i + 2]! << 8) | key[4 * i + 3]!) >>> 0;
  let rcon = 1;
  for (let i = nk; i < total; i++) {
    let t = w[i - 1]!;
    if (i % nk === 0) {
      t = (subWord(((t << 8) | (t >>> 24)) >>> 0) ^ (rcon << 24)) >>> 0;
      rcon = xtime(rcon);
    } else if (nk > 6 && i % nk === 4) t = subWord(t);
    w[i] = (w[i - nk]! ^ t) >>> 0;
  }
  return w;
}

/**
 * Encrypts the 16 bytes of `input` at `offset` under round keys `rk` and writes the first `n` (≤ 16) bytes of the
 * ciphertext block to `out`. Allocates nothing.
 */
export function aesEncryptBlockPrefix(rk: Uint32Array, input: Uint8Array, offset: number, out: Uint8Array, n: number): void {
  const rounds = rk.length / 4 - 1;
  let s0 = ((input[offset]! << 24) | (input[offset + 1]! << 16) | (input[offset + 2]! << 8) | input[offset + 3]!) ^ rk[0]!;
  let s1 = ((input[offset + 4]! << 24) | (input[offset + 5]! << 16) | (input[offset + 6]! << 8) | input[offset + 7]!) ^ rk[1]!;
  let s2 = ((input[offset + 8]! << 24) | (input[offset + 9]! << 16) | (input[offset + 10]! << 8) | input[offset + 11]!) ^ rk[2]!;
  let s3 = ((input[offset + 12]! << 24) | (input[offset + 13]! << 16) | (input[offset + 14]! << 8) | input[offset + 15]!) ^ rk[3]!;
  let k = 4;
  for (let r = 1; r < rounds; r++, k += 4) {
    const t0 = TE0[s0 >>> 24]! ^ TE1[(s1 >>> 16) & 0xff]! ^ TE2[(s2 >>> 8) & 0xff]! ^ TE3[s3 & 0xff]! ^ rk[k]!;
    const t1 = TE0[s1 >>> 24]! ^ TE1[(s2 >>> 16) & 0xff]! ^ TE2[(s3 >>> 8) & 0xff]! ^ TE3[s0 & 0xff]! ^ rk[k + 1]!;
    const t2 = TE0[s2 >>> 24]! ^ TE1[(s3 >>> 16) & 0xff]! ^ TE2[(s0 >>> 8) & 0xff]! ^ TE3[s1 & 0xff]! ^ rk[k + 2]!;
    const t3 = TE0[s3 >>> 24]! ^ TE1[(s0 >>> 16) & 0xff]! ^ TE2[(s1 >>> 8) & 0xff]! ^ TE3[s2 & 0xff]! ^ rk[k + 3]!;
    s0 = t0;
    s1 = t1;
    s2 = t2;
    s3 = t3;
  }
  // Final round: SubBytes, ShiftRows, AddRoundKey (no MixColumns); only the words asked for are computed.
  const o0 = ((SBOX[s0 >>> 24]! << 24) | (SBOX[(s1 >>> 16) & 0xff]! << 16) | (SBOX[(s2 >>> 8) & 0xff]! << 8) | SBOX[s3 & 0xff]!) ^ rk[k]!;
  out[0] = o0 >>> 24;
  if (n > 1) out[1] = (o0 >>> 16) & 0xff;
  if (n > 2) out[2] = (o0 >>> 8) & 0xff;
  if (n > 3) out[3] = o0 & 0xff;
  if (n <= 4) return;
  const words = [s0, s1, s2, s3];
  for (let j = 1; j * 4 < n; j++) {
    const a = words[j]!;
    const b = words[(j + 1) & 3]!;
    const c = words[(j + 2) & 3]!;
    const d = words[(j + 3) & 3]!;
    const o = ((SBOX[a >>> 24]! << 24) | (SBOX[(b >>> 16) & 0xff]! << 16) | (SBOX[(c >>> 8) & 0xff]! << 8) | SBOX[d & 0xff]!) ^ rk[k + j]!;
    for (let i = 0; i < 4 && 4 * j + i < n; i++) out[4 * j + i] = (o >>> (24 - 8 * i)) & 0xff;
  }
}
