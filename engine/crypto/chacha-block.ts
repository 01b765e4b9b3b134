// The ChaCha20 block function (RFC 8439 §2.3) for QUIC ChaCha20 header protection (RFC 9001 §5.4.4).
//
// Header protection needs exactly one keystream block at an attacker-chosen 32-bit counter. noble's stream API
// refuses counter 0xffffffff (its no-wrap policy for multi-block streams), yet that is a legal sample, so the
// single block is computed here; the key words are decoded once per key instead of once per packet.

import type { HeaderProtection } from './provider.js';
import { chachaMaskInputs } from './common.js';

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

function readLE32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** Returns a function computing the first `length` (≤ 64) keystream bytes of block (counter, nonce) under `key`. */
export function chacha20BlockFunction(key: Uint8Array): (counter: number, nonce: Uint8Array, length: number) => Uint8Array {
  if (key.length !== 32) throw new RangeError('ChaCha20 key must be 32 bytes');
  const initial = new Uint32Array(16);
  // "expand 32-byte k"
  initial[0] = 0x61707865;
  initial[1] = 0x3320646e;
  initial[2] = 0x79622d32;
  initial[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) initial[4 + i] = readLE32(key, i * 4);
  const x = new Uint32Array(16);
  const quarter = (a: number, b: number, c: number, d: number) => {
    x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 16);
    x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 12);
    x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 8);
    x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 7);
  };
  return (counter, nonce, length) => {
    initial[12] = counter >>> 0;
    initial[13] = readLE32(nonce, 0);
    initial[14] = readLE32(nonce, 4);
    initial[15] = readLE32(nonce, 8);
    x.set(initial);
    for (let round = 0; round < 10; round++) {
      quarter(0, 4, 8, 12); quarter(1, 5, 9, 13); quarter(2, 6, 10, 14); quarter(3, 7, 11, 15);
      quarter(0, 5, 10, 15); quarter(1, 6, 11, 12); quarter(2, 7, 8, 13); quarter(3, 4, 9, 14);
    }
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      const word = (x[i >> 2] + initial[i >> 2]) >>> 0;
      out[i] = word >>> (8 * (i & 3));
    }
    return out;
  };
}

/** RFC 9001 §5.4.4 ChaCha20 header protection: the mask is the first five keystream bytes of the sample's block. */
export function chachaHeaderProtection(key: Uint8Array): HeaderProtection {
  const block = chacha20BlockFunction(key);
  return {
    mask(sample) {
      // Keystream XOR five zero bytes is the keystream itself.
      const { counter, nonce } = chachaMaskInputs(sample);
      return block(counter, nonce, 5);
    },
  };
}
