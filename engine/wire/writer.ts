// Byte writer for every wire format: a growable cursor that reserves length fields and fills them when the nested part ends.

import { varintLength } from './varint.js';

export class Writer {
  private buf: Uint8Array;
  pos = 0;
  /** Open length fields; created on the first begin(), since most writers (every outgoing packet's) never nest. */
  private stack: { at: number; width: number }[] | undefined;

  /** `initial`: a starting capacity, or a buffer to write into from its first byte (replaced by a copy if outgrown). */
  constructor(initial: number | Uint8Array = 256) {
    this.buf = typeof initial === 'number' ? new Uint8Array(initial) : initial;
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u24(v: number): this {
    this.ensure(3);
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf[this.pos++] = (v >>> 24) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u48(v: number): this {
    this.u16(Math.floor(v / 0x1_0000_0000));
    return this.u32(v >>> 0);
  }

  u64(v: bigint): this {
    this.u32(Number((v >> 32n) & 0xffffffffn));
    return this.u32(Number(v & 0xffffffffn));
  }

  /** QUIC varint, minimal encoding (RFC 9000 §16). */
  varint(v: number | bigint): this {
    // Packet numbers, offsets, lengths and stream IDs below 2^30 take this inline path (several per packet).
    if (typeof v === 'number' && v >= 0 && v < 0x4000_0000 && Math.floor(v) === v) {
      const at = this.pos;
      if (v < 0x40) {
        this.ensure(1);
        this.buf[at] = v;
        this.pos = at + 1;
      } else if (v < 0x4000) {
        this.ensure(2);
        this.buf[at] = 0x40 | (v >>> 8);
        this.buf[at + 1] = v & 0xff;
        this.pos = at + 2;
      } else {
        this.ensure(4);
        this.buf[at] = 0x80 | (v >>> 24);
        this.buf[at + 1] = (v >>> 16) & 0xff;
        this.buf[at + 2] = (v >>> 8) & 0xff;
        this.buf[at + 3] = v & 0xff;
        this.pos = at + 4;
      }
      return this;
    }
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return this.varintFixed(v, varintLength(v));
    const n = typeof v === 'bigint' ? v : BigInt(v);
    if (n < 0n || n >= 1n << 62n) throw new RangeError(`varint out of range: ${v}`);
    const len = varintLength(n);
    return this.varintFixed(n, len);
  }

  /** QUIC varint forced to a given width (1, 2, 4 or 8 bytes). */
  varintFixed(v: number | bigint, len: 1 | 2 | 4 | 8): this {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return this.varintFixedNumber(v, len);
    let n = typeof v === 'bigint' ? v : BigInt(v);
    this.ensure(len);
    const prefix = len === 1 ? 0 : len === 2 ? 1 : len === 4 ? 2 : 3;
    for (let i = len - 1; i >= 0; i--) {
      this.buf[this.pos + i] = Number(n & 0xffn);
      n >>= 8n;
    }
    if (n !== 0n) throw new RangeError(`varint ${v} does not fit in ${len} bytes`);
    this.buf[this.pos] = (this.buf[this.pos]! & 0x3f) | (prefix << 6);
    this.pos += len;
    return this;
  }

  /** varintFixed for a non-negative safe integer, without BigInt (byte arithmetic is exact below 2^53). */
  private varintFixedNumber(v: number, len: 1 | 2 | 4 | 8): this {
    if (len < 8 && v >= 2 ** (8 * len - 2)) throw new RangeError(`varint ${v} does not fit in ${len} bytes`);
    this.ensure(len);
    const b = this.buf;
    const at = this.pos;
    if (len === 1) b[at] = v;
    else if (len === 2) {
      b[at] = 0x40 | (v >>> 8);
      b[at + 1] = v & 0xff;
    } else if (len === 4) {
      b[at] = 0x80 | (v >>> 24);
      b[at + 1] = (v >>> 16) & 0xff;
      b[at + 2] = (v >>> 8) & 0xff;
      b[at + 3] = v & 0xff;
    } else {
      const hi = Math.floor(v / 0x1_0000_0000);
      const lo = v >>> 0;
      b[at] = 0xc0 | (hi >>> 24);
      b[at + 1] = (hi >>> 16) & 0xff;
      b[at + 2] = (hi >>> 8) & 0xff;
      b[at + 3] = hi & 0xff;
      b[at + 4] = lo >>> 24;
      b[at + 5] = (lo >>> 16) & 0xff;
      b[at + 6] = (lo >>> 8) & 0xff;
      b[at + 7] = lo & 0xff;
    }
    this.pos += len;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  /** Vector with a fixed-width length prefix. */
  vec(lenBytes: 1 | 2 | 3, b: Uint8Array): this {
    this.begin(lenBytes);
    this.bytes(b);
    return this.end();
  }

  /** Reserve a length field of `width` bytes (1, 2, 3, or 'varint2'/'varint4' for QUIC); call end() after the content. */
  begin(width: 1 | 2 | 3 | 4 | 'varint2' | 'varint4'): this {
    const w = width === 'varint2' ? -2 : width === 'varint4' ? -4 : width;
    const bytes = w < 0 ? -w : w;
    this.ensure(bytes);
    (this.stack ??= []).push({ at: this.pos, width: w });
    this.pos += bytes;
    return this;
  }

  end(): this {
    const open = this.stack?.pop();
    if (!open) throw new Error('Writer.end() without begin()');
    const bytes = open.width < 0 ? -open.width : open.width;
    const len = this.pos - open.at - bytes;
    if (open.width < 0) {
      const save = this.pos;
      this.pos = open.at;
      this.varintFixed(len, bytes as 2 | 4);
      this.pos = save;
      return this;
    }
    if (len >= 2 ** (8 * bytes)) throw new RangeError(`length ${len} does not fit in ${bytes} byte(s)`);
    for (let i = bytes - 1, v = len; i >= 0; i--, v = Math.floor(v / 256)) this.buf[open.at + i] = v & 0xff;
    return this;
  }

  /** Patch a byte already written (e.g. a QUIC first byte after PN length is known). */
  setU8(at: number, v: number): void {
    this.buf[at] = v & 0xff;
  }

  /** Copy of the written bytes. */
  finish(): Uint8Array {
    if (this.stack?.length) throw new Error('Writer.finish() with open length fields');
    return this.buf.slice(0, this.pos);
  }

  /** View of the written bytes (valid until the next write). */
  view(): Uint8Array {
    return this.pos === this.buf.length ? this.buf : this.buf.subarray(0, this.pos);
  }
}
