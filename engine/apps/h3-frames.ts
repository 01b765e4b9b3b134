// HTTP/3 frames, settings and stream types (RFC 9114 §6.2, §7.2, §8.1) with an incremental parser for stream bytes.

import { Reader, DecodeError } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';

export const H3FrameType = { DATA: 0x0, HEADERS: 0x1, CANCEL_PUSH: 0x3, SETTINGS: 0x4, PUSH_PROMISE: 0x5, GOAWAY: 0x7, MAX_PUSH_ID: 0xd } as const;
export const H3StreamType = { CONTROL: 0x00, PUSH: 0x01, QPACK_ENCODER: 0x02, QPACK_DECODER: 0x03 } as const;
export const H3Setting = { QPACK_MAX_TABLE_CAPACITY: 0x1, MAX_FIELD_SECTION_SIZE: 0x6, QPACK_BLOCKED_STREAMS: 0x7 } as const;

export const H3Error = {
  NO_ERROR: 0x100,
  GENERAL_PROTOCOL_ERROR: 0x101,
  INTERNAL_ERROR: 0x102,
  STREAM_CREATION_ERROR: 0x103,
  CLOSED_CRITICAL_STREAM: 0x104,
  FRAME_UNEXPECTED: 0x105,
  FRAME_ERROR: 0x106,
  EXCESSIVE_LOAD: 0x107,
  ID_ERROR: 0x108,
  SETTINGS_ERROR: 0x109,
  MISSING_SETTINGS: 0x10a,
  REQUEST_REJECTED: 0x10b,
  REQUEST_CANCELLED: 0x10c,
  REQUEST_INCOMPLETE: 0x10d,
  MESSAGE_ERROR: 0x10e,
  CONNECT_ERROR: 0x10f,
  VERSION_FALLBACK: 0x110,
} as const;

/** A connection-level HTTP/3 error: the application closes the QUIC connection with `code`. */
export class H3ProtocolError extends Error {
  override name = 'H3ProtocolError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface H3Frame {
  type: number;
  payload: Uint8Array;
}

export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  return new Writer(payload.length + 16).varint(type).varint(payload.length).bytes(payload).finish();
}

/** Frame header only, so large DATA payloads are not copied. */
export function encodeFrameHeader(type: number, length: number): Uint8Array {
  return new Writer(16).varint(type).varint(length).finish();
}

export function encodeSettings(settings: ReadonlyMap<number, number>): Uint8Array {
  const w = new Writer(32);
  for (const [k, v] of settings) w.varint(k).varint(v);
  return encodeFrame(H3FrameType.SETTINGS, w.finish());
}

/** HTTP/2 setting identifiers that must not appear in HTTP/3 (RFC 9114 §7.2.4.1). */
const H2_ONLY_SETTINGS = new Set([0x2, 0x3, 0x4, 0x5]);

export function decodeSettings(payload: Uint8Array): Map<number, number> {
  const r = new Reader(payload);
  const out = new Map<number, number>();
  try {
    while (!r.atEnd()) {
      // Grease identifiers and values may use the full 62-bit range (RFC 9114 §7.2.4.1): read them as bigints and keep
      // only what fits a number; unknown settings are ignored anyway.
      const bigId = r.varintBig();
      const bigValue = r.varintBig();
      if (bigId > BigInt(Number.MAX_SAFE_INTEGER)) continue;
      const id = Number(bigId);
      const value = bigValue > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(bigValue);
      if (H2_ONLY_SETTINGS.has(id)) throw new H3ProtocolError(H3Error.SETTINGS_ERROR, `HTTP/2 setting 0x${id.toString(16)} in HTTP/3 SETTINGS`);
      if (out.has(id)) throw new H3ProtocolError(H3Error.SETTINGS_ERROR, `duplicate setting 0x${id.toString(16)}`);
      out.set(id, value);
    }
  } catch (e) {
    if (e instanceof DecodeError) throw new H3ProtocolError(H3Error.FRAME_ERROR, 'malformed SETTINGS frame');
    throw e;
  }
  return out;
}

/**
 * A varint as a number, saturating at 2^53 - 1: grease frame and stream types use the whole 62-bit space and are
 * merely "unknown" to us, which the saturated value still is. Throws DecodeError only when truncated.
 */
export function saturatingVarint(r: Reader): number {
  const v = r.varintBig();
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** Reserved frame and stream types (0x1f * N + 0x21) are ignored by receivers (RFC 9114 §7.2.8, §6.2.3). */
export function isReservedType(t: number): boolean {
  return t >= 0x21 && (t - 0x21) % 0x1f === 0;
}

/** HTTP/2 frame types with no HTTP/3 meaning: receiving one is H3_FRAME_UNEXPECTED (RFC 9114 §7.2.8). */
export const H2_ONLY_FRAMES = new Set([0x2, 0x6, 0x8, 0x9]);

/**
 * Incremental frame parser for one stream: push bytes as they arrive, pull complete frames. DATA payloads are
 * delivered in pieces (type DATA, partial payloads) so a large body never has to sit whole in memory.
 */
/** The parser's empty buffer (never written to). */
const NOTHING = new Uint8Array(0);

export class FrameParser {
  private buf: Uint8Array = NOTHING;
  private dataLeft = 0;

  constructor(private readonly maxFrame = 1 << 20) {}

  /**
   * Adds bytes that arrived. They are kept as a view, not copied (a download pushes every packet's worth): the caller
   * hands them over and never modifies them afterwards, as StreamTransport.read() results are.
   */
  push(bytes: Uint8Array): void {
    if (this.buf.length === 0) this.buf = bytes;
    else {
      const n = new Uint8Array(this.buf.length + bytes.length);
      n.set(this.buf);
      n.set(bytes, this.buf.length);
      this.buf = n;
    }
  }

  /** True when no partial frame is buffered (a FIN here is clean). */
  get idle(): boolean {
    return this.buf.length === 0 && this.dataLeft === 0;
  }

  next(): H3Frame | undefined {
    if (this.dataLeft > 0) {
      if (this.buf.length === 0) return undefined;
      const n = Math.min(this.dataLeft, this.buf.length);
      // A DATA payload usually takes the whole buffer (one packet's worth): then it is handed over as it is.
      const whole = n === this.buf.length;
      const payload = whole ? this.buf : this.buf.subarray(0, n);
      this.buf = whole ? NOTHING : this.buf.subarray(n);
      this.dataLeft -= n;
      return { type: H3FrameType.DATA, payload };
    }
    if (this.buf.length === 0) return undefined;
    const r = new Reader(this.buf);
    let type: number;
    let len: number;
    try {
      type = saturatingVarint(r);
      len = saturatingVarint(r);
    } catch {
      return undefined; // header incomplete
    }
    if (type === H3FrameType.DATA) {
      this.buf = this.buf.subarray(r.pos);
      this.dataLeft = len;
      if (len === 0) return { type, payload: new Uint8Array(0) };
      return this.next() ?? { type, payload: new Uint8Array(0) };
    }
    if (len > this.maxFrame) throw new H3ProtocolError(H3Error.EXCESSIVE_LOAD, `frame of ${len} bytes exceeds the limit`);
    if (r.remaining < len) return undefined;
    const payload = this.buf.slice(r.pos, r.pos + len);
    this.buf = this.buf.subarray(r.pos + len);
    return { type, payload };
  }
}
