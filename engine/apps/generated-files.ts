// Deterministic file content for simulations and benchmarks: byte i of a path is a cheap keyed mix of (path, i),
// so servers stream any size without storing it and clients check "files identical" by recomputing.

import type { FileSource } from './transport.js';

function pathKey(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Fills out[k] with the byte at offset + k of `path`. */
export function generatedBytes(path: string, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const key = pathKey(path);
  for (let k = 0; k < length; k++) {
    let x = Math.imul((offset + k) ^ key, 0x9e3779b1);
    x ^= x >>> 15;
    x = Math.imul(x, 0x85ebca77);
    out[k] = (x >>> 13) & 0xff;
  }
  return out;
}

/** Files named like quic-interop-runner's: any path whose size is registered. */
export class GeneratedFiles implements FileSource {
  private readonly sizes = new Map<string, number>();

  add(path: string, size: number): this {
    this.sizes.set(path, size);
    return this;
  }

  size(path: string): number | undefined {
    return this.sizes.get(path);
  }

  read(path: string, offset: number, length: number): Uint8Array {
    return generatedBytes(path, offset, length);
  }
}
