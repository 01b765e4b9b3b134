// Byte reader for every wire format in the engine: big-endian integers, QUIC varints (RFC 9000 §16), length-prefixed vectors.

/** Thrown on truncated or malformed input; callers at the engine boundary turn it into a protocol error or a drop. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

export class Reader {
  pos = 0;
  readonly end: number;

  constructor(readonly buf: Uint8Array, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new DecodeError(`truncated: need ${n} byte(s) at offset ${this.pos}, have ${this.end - this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const b = this.buf, p = this.pos;
    this.pos += 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u24(): number {
    this.need(3);
    const b = this.buf, p = this.pos;
    this.pos += 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  u32(): number {
    this.need(4);
    const b = this.buf, p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  /** 48-bit unsigned (DTLS sequence numbers). */
  u48(): number {
    const hi = this.u16();
    return hi * 0x1_0000_0000 + this.u32();
  }

  u64(): bigint {
    const hi = BigInt(this.u32());
    return (hi << 32n) | BigInt(this.u32());
  }

  /** QUIC variable-length integer as a number (exact up to 2^53; larger values throw). */
  varint(): number {
    this.need(1);
    const first = this.buf[this.pos]!;
    const len = 1 << (first >> 6);
    this.need(len);
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + this.buf[this.pos + i]!;
    if (v > Number.MAX_SAFE_INTEGER) throw new DecodeError('varint exceeds 2^53');
    this.pos += len;
    return v;
  }

  /** QUIC varint as bigint (for 62-bit values such as error codes that may exceed 2^53). */
  varintBig(): bigint {
    this.need(1);
    const first = this.buf[this.pos]!;
    const len = 1 << (first >> 6);
    this.need(len);
    let v = BigInt(first & 0x3f);
    for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(this.buf[this.pos + i]!);
    this.pos += len;
    return v;
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  /** Vector with a big-endian length prefix of lenBytes (1, 2, 3) bytes. */
  vec(lenBytes: 1 | 2 | 3): Uint8Array {
    const n = lenBytes === 1 ? this.u8() : lenBytes === 2 ? this.u16() : this.u24();
    return this.bytes(n);
  }

  /** Vector with a QUIC varint length prefix. */
  vecVarint(): Uint8Array {
    return this.bytes(this.varint());
  }

  /** A sub-reader over a length-prefixed region; the parent skips past it. */
  sub(lenBytes: 1 | 2 | 3): Reader {
    const v = this.vec(lenBytes);
    return new Reader(v);
  }

  peekU8(): number {
    this.need(1);
    return this.buf[this.pos]!;
  }
}
