// AES-GCM with 96-bit nonces (NIST SP 800-38D §7.1-§7.2, RFC 5116 §5.1-§5.2) assembled from noble's AES block and GHASH.
//
// noble's gcm() is built per message: it re-expands the AES key and rebuilds the GHASH multiplication table on every
// packet, which is most of its cost for 1200-byte QUIC packets. Here both are built once per key and only the
// per-message state (counter block, GHASH accumulator) is fresh. The message layout follows SP 800-38D exactly:
// J0 = nonce || 0^31 || 1, tag = MSB128(GHASH(A || C || len(A) || len(C))) XOR E(J0), payload CTR from inc32(J0).

import { nobleAes, noblePolyval } from './noble-packages.js';

type Ghash = InstanceType<ReturnType<typeof noblePolyval>['GHASH']>;

/** GHASH whose accumulator can be cleared, so the key-derived table is built once rather than per packet. */
function reusableGhash(hashKey: Uint8Array, lengthHint: number): Ghash & { reset(): void } {
  const g = new (noblePolyval().GHASH)(hashKey, lengthHint) as Ghash & { s0: number; s1: number; s2: number; s3: number; finished: boolean };
  return Object.assign(g, {
    reset(): void {
      g.s0 = 0;
      g.s1 = 0;
      g.s2 = 0;
      g.s3 = 0;
      g.finished = false;
    },
  });
}

// A length hint above 64 KiB selects noble's largest (8-bit) table window: the fastest per block once built.
const LARGE_WINDOW_HINT = 64 * 1024 + 1;

export interface GcmKey {
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Returns null on authentication failure; the plaintext is only produced after the tag checked out. */
  open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null;
}

const aligned = (b: Uint8Array): Uint8Array => (b.byteOffset % 4 === 0 ? b : Uint8Array.from(b));

export function gcmKey(key: Uint8Array): GcmKey {
  const aes = nobleAes().unsafe;
  const xk = aes.expandKeyLE(key);
  const hashKey = aes.encryptBlock(xk, new Uint8Array(16)); // H = E(K, 0^128)
  const ghash = reusableGhash(hashKey, LARGE_WINDOW_HINT);
  const lengths = new Uint8Array(16);
  const lengthView = new DataView(lengths.buffer);
  const tagOut = new Uint8Array(16);

  /** Returns the counter block set to inc32(J0) and the tag mask E(J0). */
  function counterAndMask(nonce: Uint8Array): { counter: Uint8Array; mask: Uint8Array } {
    const counter = new Uint8Array(16);
    counter.set(nonce);
    counter[15] = 1;
    const mask = aes.encryptBlock(xk, Uint8Array.from(counter));
    counter[15] = 2;
    return { counter, mask };
  }

  function tag(aad: Uint8Array, ciphertext: Uint8Array, mask: Uint8Array): Uint8Array {
    // Lengths in bits as two 64-bit big-endian words; packet sizes keep both far below 2^53.
    lengthView.setUint32(0, Math.floor(aad.length / 0x20000000));
    lengthView.setUint32(4, (aad.length * 8) >>> 0);
    lengthView.setUint32(8, Math.floor(ciphertext.length / 0x20000000));
    lengthView.setUint32(12, (ciphertext.length * 8) >>> 0);
    ghash.reset();
    if (aad.length) ghash.update(aad);
    if (ciphertext.length) ghash.update(ciphertext);
    ghash.update(lengths);
    ghash.digestInto(tagOut);
    const t = new Uint8Array(16);
    for (let i = 0; i < 16; i++) t[i] = tagOut[i] ^ mask[i];
    return t;
  }

  return {
    seal(nonce, plaintext, aad) {
      const { counter, mask } = counterAndMask(nonce);
      const out = new Uint8Array(plaintext.length + 16);
      const body = out.subarray(0, plaintext.length);
      if (plaintext.length) aes.ctr32(xk, false, counter, aligned(plaintext), body);
      out.set(tag(aad, body, mask), plaintext.length);
      return out;
    },
    open(nonce, ciphertext, aad) {
      if (ciphertext.length < 16) return null;
      const body = ciphertext.subarray(0, ciphertext.length - 16);
      const received = ciphertext.subarray(ciphertext.length - 16);
      const { counter, mask } = counterAndMask(nonce);
      const expected = tag(aad, body, mask);
      let diff = 0;
      for (let i = 0; i < 16; i++) diff |= expected[i] ^ received[i];
      if (diff !== 0) return null;
      const out = new Uint8Array(body.length);
      if (body.length) aes.ctr32(xk, false, counter, aligned(body), out);
      return out;
    },
  };
}
