// HPACK/QPACK Huffman string coding (RFC 7541 §5.2 and Appendix B; RFC 9204 §4.1.2).

import { HUFFMAN_CODES } from './huffman-table.js';

export class HuffmanError extends Error {
  override name = 'HuffmanError';
}

/** Decoding tree as flat arrays: node i has children next[2i], next[2i+1]; a negative entry is -(symbol+1). */
const next: number[] = [0, 0];
let nodes = 1;
for (let sym = 0; sym < HUFFMAN_CODES.length; sym++) {
  const [code, bits] = HUFFMAN_CODES[sym]!;
  let n = 0;
  for (let i = bits - 1; i >= 0; i--) {
    const bit = Math.floor(code / 2 ** i) & 1;
    const slot = 2 * n + bit;
    if (i === 0) {
      next[slot] = -(sym + 1);
    } else {
      if (!next[slot]) {
        next[slot] = nodes++;
        next.push(0, 0);
      }
      n = next[slot]!;
    }
  }
}

export function huffmanEncodedLength(data: Uint8Array): number {
  let bits = 0;
  for (const b of data) bits += HUFFMAN_CODES[b]![1];
  return Math.ceil(bits / 8);
}

export function huffmanEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(data));
  let acc = 0; // pending bits, at most 7 + 30 — kept below 2^53 by flushing bytes eagerly
  let accBits = 0;
  let o = 0;
  for (const b of data) {
    const [code, bits] = HUFFMAN_CODES[b]!;
    acc = acc * 2 ** bits + code;
    accBits += bits;
    while (accBits >= 8) {
      accBits -= 8;
      out[o++] = Math.floor(acc / 2 ** accBits) & 0xff;
      acc %= 2 ** accBits;
    }
  }
  // Pad with the most significant bits of EOS (all ones), as §5.2 requires.
  if (accBits > 0) out[o++] = ((acc << (8 - accBits)) | ((1 << (8 - accBits)) - 1)) & 0xff;
  return out;
}

export function huffmanDecode(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let n = 0;
  let depth = 0; // bits consumed since the last symbol, to police padding
  let allOnes = true;
  for (const byte of data) {
    for (let i = 7; i >= 0; i--) {
      const bit = (byte >> i) & 1;
      const v = next[2 * n + bit]!;
      depth++;
      allOnes &&= bit === 1;
      if (v < 0) {
        const sym = -v - 1;
        if (sym === 256) throw new HuffmanError('EOS symbol inside a Huffman string');
        out.push(sym);
        n = 0;
        depth = 0;
        allOnes = true;
      } else if (v === 0) {
        throw new HuffmanError('invalid Huffman code');
      } else {
        n = v;
      }
    }
  }
  // Leftover bits must be a prefix of EOS (all ones) and shorter than 8 bits.
  if (depth > 7 || !allOnes) throw new HuffmanError('invalid Huffman padding');
  return Uint8Array.from(out);
}
