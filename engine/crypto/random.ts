// Injected randomness: the engine never calls Math.random or crypto.getRandomValues itself (DESIGN.md §4).

/** Fills n bytes. Implementations: a seeded deterministic stream (simulator) or the OS CSPRNG (engine/io only). */
export type RandomSource = (n: number) => Uint8Array;

/**
 * Deterministic byte stream from a seed: SHA-256 in counter mode over (label, seed). Not for secrets that must be
 * unpredictable in production; it exists so simulated runs are bit-for-bit reproducible.
 */
export function seededRandom(seed: string | number, hashFn: (data: Uint8Array) => Uint8Array): RandomSource {
  const base = new TextEncoder().encode(`crosswire-rng/${seed}/`);
  // One block for every refill, only its counter rewritten: hashFn must not keep it (a hash does not).
  const block = new Uint8Array(base.length + 8);
  block.set(base);
  const counterView = new DataView(block.buffer, base.length, 8);
  let counter = 0;
  let pool: Uint8Array = new Uint8Array(0);
  let off = 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      if (off >= pool.length) {
        counterView.setFloat64(0, counter++);
        pool = hashFn(block);
        off = 0;
      }
      const take = Math.min(n - o, pool.length - off);
      out.set(pool.subarray(off, off + take), o);
      o += take;
      off += take;
    }
    return out;
  };
}
