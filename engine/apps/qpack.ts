// QPACK field sections with the static table only (RFC 9204 §4.1.1, §4.5; dynamic table capacity 0), Huffman per RFC 7541.

import { STATIC_TABLE } from './qpack-static-table.js';
import { huffmanDecode, huffmanEncode, huffmanEncodedLength, HuffmanError } from './huffman.js';

export type Field = readonly [name: string, value: string];

/** QPACK_DECOMPRESSION_FAILED (RFC 9204 §6) with a reason. */
export class QpackError extends Error {
  override name = 'QpackError';
  readonly code = 0x200;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

const exact = new Map<string, number>();
const byName = new Map<string, number>();
STATIC_TABLE.forEach(([n, v], i) => {
  if (!exact.has(`${n}\0${v}`)) exact.set(`${n}\0${v}`, i);
  if (!byName.has(n)) byName.set(n, i);
});

/** HPACK prefixed integer (RFC 7541 §5.1) with `prefix` bits; `flags` are the bits above the prefix. */
function writeInt(out: number[], flags: number, prefix: number, value: number): void {
  const max = (1 << prefix) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 128) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

function writeString(out: number[], flags: number, prefix: number, s: string): void {
  const raw = enc.encode(s);
  const huffLen = huffmanEncodedLength(raw);
  if (huffLen < raw.length) {
    writeInt(out, flags | (1 << prefix), prefix, huffLen);
    for (const b of huffmanEncode(raw)) out.push(b);
  } else {
    writeInt(out, flags, prefix, raw.length);
    for (const b of raw) out.push(b);
  }
}

/** Encodes a field section: static references where possible, otherwise literals (never indexed into a dynamic table). */
export function encodeFieldSection(fields: readonly Field[]): Uint8Array {
  const out: number[] = [0x00, 0x00]; // Required Insert Count 0, Delta Base 0
  for (const [rawName, value] of fields) {
    const name = rawName.toLowerCase();
    const full = exact.get(`${name}\0${value}`);
    if (full !== undefined) {
      writeInt(out, 0b1100_0000, 6, full); // indexed field line, static
      continue;
    }
    const ref = byName.get(name);
    if (ref !== undefined) {
      writeInt(out, 0b0101_0000, 4, ref); // literal with static name reference, N=0
      writeString(out, 0, 7, value);
    } else {
      writeString(out, 0b0010_0000, 3, name); // literal with literal name, N=0
      writeString(out, 0, 7, value);
    }
  }
  return Uint8Array.from(out);
}

class Cursor {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new QpackError('truncated field section');
    return this.b[this.pos++]!;
  }
  int(prefix: number, first: number): number {
    const max = (1 << prefix) - 1;
    let v = first & max;
    if (v < max) return v;
    let m = 1;
    for (;;) {
      const b = this.byte();
      v += (b & 0x7f) * m;
      m *= 128;
      if (v > Number.MAX_SAFE_INTEGER || m > 2 ** 56) throw new QpackError('integer too large');
      if (!(b & 0x80)) return v;
    }
  }
  string(prefix: number, first: number): string {
    const huff = (first >> prefix) & 1;
    const len = this.int(prefix, first);
    if (this.pos + len > this.b.length) throw new QpackError('truncated string');
    const raw = this.b.subarray(this.pos, this.pos + len);
    this.pos += len;
    try {
      return dec.decode(huff ? huffmanDecode(raw) : raw);
    } catch (e) {
      if (e instanceof HuffmanError) throw new QpackError(e.message);
      throw e;
    }
  }
}

function staticEntry(i: number): Field {
  const e = STATIC_TABLE[i];
  if (!e) throw new QpackError(`static table index ${i} out of range`);
  return e;
}

/** Decodes a field section; any dynamic-table reference is an error because we advertise capacity 0. */
export function decodeFieldSection(block: Uint8Array, maxSize = 64 * 1024): Field[] {
  const c = new Cursor(block);
  const ric = c.int(8, c.byte());
  const base = c.byte();
  c.int(7, base);
  if (ric !== 0) throw new QpackError('field section references the dynamic table (capacity is 0)');
  const fields: Field[] = [];
  let size = 0;
  while (c.pos < block.length) {
    const b = c.byte();
    let f: Field;
    if (b & 0x80) {
      if (!(b & 0x40)) throw new QpackError('dynamic table reference');
      f = staticEntry(c.int(6, b));
    } else if (b & 0x40) {
      if (!(b & 0x10)) throw new QpackError('dynamic table name reference');
      const name = staticEntry(c.int(4, b))[0];
      f = [name, c.string(7, c.byte())];
    } else if (b & 0x20) {
      const name = c.string(3, b);
      f = [name, c.string(7, c.byte())];
    } else {
      throw new QpackError('post-base reference without a dynamic table');
    }
    size += f[0].length + f[1].length + 32;
    if (size > maxSize) throw new QpackError('field section exceeds the size limit');
    fields.push(f);
  }
  return fields;
}
