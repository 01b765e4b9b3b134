// Generated file content for simulated transfers: bytes are a pure function of (path, offset), so the server needs no
// disk and the client can check "files identical" by hashing what it received against the same generator.

import { createHash, type Hash } from 'node:crypto';
import type { FileSource, ResponseSink } from '../../engine/apps/transport.js';

/** Bytes are produced in blocks; each block's PRNG state is keyed by SHA-256(path, block number). */
const BLOCK = 64 * 1024;

export class GeneratedFiles implements FileSource {
  private readonly sizes = new Map<string, number>();
  private readonly digests = new Map<string, string>();

  constructor(files: Iterable<[string, number]> = []) {
    for (const [p, n] of files) this.sizes.set(p, n);
  }

  add(path: string, size: number): void {
    this.sizes.set(path, size);
  }

  size(path: string): number | undefined {
    return this.sizes.get(path);
  }

  read(path: string, offset: number, length: number): Uint8Array {
    const size = this.sizes.get(path) ?? 0;
    const end = Math.min(size, offset + length);
    const out = new Uint8Array(Math.max(0, end - offset));
    let o = 0;
    for (let pos = offset; pos < end; ) {
      const b = Math.floor(pos / BLOCK);
      const from = pos - b * BLOCK;
      const take = Math.min(end - pos, BLOCK - from);
      const block = this.block(path, b, from + take);
      out.set(block.subarray(from, from + take), o);
      o += take;
      pos += take;
    }
    return out;
  }

  /** SHA-256 of the whole file as the generator defines it. */
  digest(path: string): string {
    const known = this.digests.get(path);
    if (known) return known;
    const h = createHash('sha256');
    const size = this.sizes.get(path) ?? 0;
    for (let off = 0; off < size; off += BLOCK) h.update(this.read(path, off, BLOCK));
    const d = hex(h.digest());
    this.digests.set(path, d);
    return d;
  }

  private block(path: string, b: number, upTo: number): Uint8Array {
    return generatedBlock(path, b, upTo);
  }
}

/**
 * Blocks generated so far, shared by every GeneratedFiles of the thread (the bytes are a pure function of path and
 * block number), each generated only as far as some read needed: a scenario's 1 KiB file used to cost a fresh 64 KiB
 * block per run (~0.5 ms, a twentieth of a handshake.yaml seed). Bounded like the per-instance cache it replaces.
 */
interface BlockState {
  bytes: Uint8Array;
  filled: number;
  x: number;
  y: number;
  z: number;
  w: number;
}
const generated = new Map<string, BlockState>();

function generatedBlock(path: string, b: number, upTo: number): Uint8Array {
  const key = `${path}#${b}`;
  let g = generated.get(key);
  if (!g) {
    const seed = createHash('sha256').update(`crosswire content/${path}/${b}`).digest();
    const dv = new DataView(seed.buffer, seed.byteOffset, 16);
    g = { bytes: new Uint8Array(0), filled: 0, x: dv.getUint32(0) | 1, y: dv.getUint32(4), z: dv.getUint32(8), w: dv.getUint32(12) };
    // A few blocks are reused constantly (small files, many connections); keep the cache bounded.
    if (generated.size > 64) generated.clear();
    generated.set(key, g);
  }
  const need = Math.min(BLOCK, Math.ceil(upTo / 4) * 4);
  if (g.filled < need) {
    if (g.bytes.length < need) {
      const grown = new Uint8Array(Math.min(BLOCK, Math.max(need, 4096, g.bytes.length * 2)));
      grown.set(g.bytes.subarray(0, g.filled));
      g.bytes = grown;
    }
    const view = new DataView(g.bytes.buffer);
    // xorshift128: cheap and fully determined by the seed; content only has to be unpredictable to a buggy stack.
    let { x, y, z, w } = g;
    for (let i = g.filled; i < need; i += 4) {
      const t = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
      view.setUint32(i, w);
    }
    Object.assign(g, { x, y, z, w, filled: need });
  }
  return g.bytes;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/**
 * What a client downloaded, per path: streaming digests and byte counts, plus completion status. Hashed with
 * node:crypto: noble's SHA-256 over every byte was 14% of a 10 MB goodput run (a checksum, not the engine's crypto).
 */
export class DownloadLedger implements ResponseSink {
  readonly files = new Map<string, { bytes: number; hash: Hash; ok?: boolean; detail?: string; digest?: string }>();
  bytes = 0;
  completed = 0;
  failed = 0;
  firstByteAt: number | undefined;
  lastByteAt: number | undefined;
  /** Set by the owner before each input, so byte timestamps are in simulated time. */
  now = 0;

  private entry(path: string) {
    let e = this.files.get(path);
    if (!e) this.files.set(path, (e = { bytes: 0, hash: createHash('sha256') }));
    return e;
  }

  onData(path: string, chunk: Uint8Array): void {
    const e = this.entry(path);
    e.bytes += chunk.length;
    e.hash.update(chunk);
    this.bytes += chunk.length;
    this.firstByteAt ??= this.now;
    this.lastByteAt = this.now;
  }

  onComplete(path: string, ok: boolean, detail?: string): void {
    const e = this.entry(path);
    e.ok = ok;
    e.detail = detail;
    e.digest = hex(e.hash.digest());
    if (ok) this.completed++;
    else this.failed++;
  }
}
