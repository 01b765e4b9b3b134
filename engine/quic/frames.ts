// RFC 9000 §19 (frame formats), §12.4 (frame type encoding), §16 (varints): every QUIC v1 frame, encode and decode; draft-ietf-quic-ack-frequency-14 §4-5 (ACK_FREQUENCY, IMMEDIATE_ACK).
/**
 * Exports:
 * - `Frame` (typed union, `type` = qlog snake_case name), `AckFrame`, `AckRange`, `StreamFrame`, `CryptoFrame`, `EcnCounts`,
 *   `AckFrequencyFrame`.
 * - `encodeFrame(w, frame)`, `encodeFrames(frames)` → bytes, `frameSize(frame)`.
 * - `decodeFrame(reader)` → Frame, `decodeFrames(payload, packetKind?)` → Frame[]; both throw only QuicError:
 *   FRAME_ENCODING_ERROR (truncated/invalid/unknown type), PROTOCOL_VIOLATION (forbidden in packetKind, empty payload,
 *   non-minimal type encoding).
 * - Packetizer helpers: `streamFrameHeaderSize`, `cryptoFrameHeaderSize`, `maxStreamDataFitting`, `maxCryptoDataFitting`.
 * - `ackDelayMs(rawAckDelay, ackDelayExponent)`, `encodeAckDelay(ms, ackDelayExponent)`.
 * - `MAX_STREAM_COUNT` (2^60), `MAX_VARINT` (2^62 - 1). Numbers above 2^53 (e.g. "unlimited" limits) decode approximately.
 */

import { DecodeError, Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { varintLength } from '../wire/varint.js';
import { QuicError, errorCode, frameEncodingError, protocolViolation, type ErrorCode } from './errors.js';
import { assertFrameAllowed, frameNameOfCode, type PacketSpaceKind } from './frame-table.js';

export const MAX_VARINT = 2 ** 62 - 1;
export const MAX_STREAM_COUNT = 2 ** 60;

/** Inclusive packet number range; ACK frames list them from the highest down. */
export interface AckRange {
  readonly smallest: number;
  readonly largest: number;
}

export interface EcnCounts {
  readonly ect0: number;
  readonly ect1: number;
  readonly ce: number;
}

export interface AckFrame {
  readonly type: 'ack';
  /** Descending, disjoint, non-adjacent ranges; ranges[0].largest is the Largest Acknowledged. */
  readonly ranges: readonly AckRange[];
  /** Raw ACK Delay field: microseconds >> ack_delay_exponent (the receiver scales it, RFC 9000 §19.3). */
  readonly ackDelay: number;
  readonly ecn?: EcnCounts;
}

export interface StreamFrame {
  readonly type: 'stream';
  readonly streamId: number;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly fin: boolean;
  /** Encode with a Length field (default true); false only for the last frame of a packet. Set on decode from the LEN bit. */
  readonly explicitLength?: boolean;
}

export interface CryptoFrame {
  readonly type: 'crypto';
  readonly offset: number;
  readonly data: Uint8Array;
}

/** draft-ietf-quic-ack-frequency-14 §4: how the sender of this frame wants to be acknowledged. */
export interface AckFrequencyFrame {
  readonly type: 'ack_frequency';
  readonly sequence: number;
  /** Ack-eliciting packets the receiver may get before it must acknowledge (1 = every second one, RFC 9000's default). */
  readonly ackElicitingThreshold: number;
  /** Requested max_ack_delay in microseconds (the transport parameter is in milliseconds). */
  readonly requestedMaxAckDelayUs: number;
  /** Reordering that triggers an immediate ACK: 0 never, 1 any gap (RFC 9000's default), n a gap n packets deep. */
  readonly reorderingThreshold: number;
}

export type Frame =
  | { readonly type: 'padding'; readonly length: number }
  | { readonly type: 'ping' }
  | AckFrame
  | { readonly type: 'reset_stream'; readonly streamId: number; readonly errorCode: ErrorCode; readonly finalSize: number }
  | { readonly type: 'stop_sending'; readonly streamId: number; readonly errorCode: ErrorCode }
  | CryptoFrame
  | { readonly type: 'new_token'; readonly token: Uint8Array }
  | StreamFrame
  | { readonly type: 'max_data'; readonly maximum: number }
  | { readonly type: 'max_stream_data'; readonly streamId: number; readonly maximum: number }
  | { readonly type: 'max_streams'; readonly bidi: boolean; readonly maximum: number }
  | { readonly type: 'data_blocked'; readonly limit: number }
  | { readonly type: 'stream_data_blocked'; readonly streamId: number; readonly limit: number }
  | { readonly type: 'streams_blocked'; readonly bidi: boolean; readonly limit: number }
  | { readonly type: 'new_connection_id'; readonly sequence: number; readonly retirePriorTo: number; readonly connectionId: Uint8Array; readonly resetToken: Uint8Array }
  | { readonly type: 'retire_connection_id'; readonly sequence: number }
  | { readonly type: 'path_challenge'; readonly data: Uint8Array }
  | { readonly type: 'path_response'; readonly data: Uint8Array }
  | {
      readonly type: 'connection_close';
      /** true: 0x1d (application close, no frame type); false: 0x1c. */
      readonly application: boolean;
      readonly errorCode: ErrorCode;
      /** 0x1c only: the frame type that triggered the error (0 when unknown). */
      readonly frameType: number;
      readonly reason: string;
    }
  | { readonly type: 'handshake_done' }
  | AckFrequencyFrame
  | { readonly type: 'immediate_ack' };

/** The ACK Delay field in milliseconds: raw · 2^exponent microseconds (RFC 9000 §19.3). */
export function ackDelayMs(rawAckDelay: number, ackDelayExponent = 3): number {
  return (rawAckDelay * 2 ** ackDelayExponent) / 1000;
}

export function encodeAckDelay(ms: number, ackDelayExponent = 3): number {
  return Math.max(0, Math.floor((ms * 1000) / 2 ** ackDelayExponent));
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

// ---------------------------------------------------------------------------------------------------------------------
// Encoding

function streamTypeByte(f: StreamFrame): number {
  return 0x08 | (f.offset > 0 ? 0x04 : 0) | (f.explicitLength !== false ? 0x02 : 0) | (f.fin ? 0x01 : 0);
}

export function encodeFrame(w: Writer, f: Frame): void {
  switch (f.type) {
    case 'padding':
      w.zeros(f.length);
      return;
    case 'ping':
      w.u8(0x01);
      return;
    case 'ack': {
      if (f.ranges.length === 0) throw new RangeError('ACK frame without ranges');
      const first = f.ranges[0]!;
      w.u8(f.ecn ? 0x03 : 0x02).varint(first.largest).varint(f.ackDelay).varint(f.ranges.length - 1).varint(first.largest - first.smallest);
      let prevSmallest = first.smallest;
      for (let i = 1; i < f.ranges.length; i++) {
        const r = f.ranges[i]!;
        const gap = prevSmallest - r.largest - 2;
        if (gap < 0 || r.smallest > r.largest) throw new RangeError('ACK ranges must be descending and non-adjacent');
        w.varint(gap).varint(r.largest - r.smallest);
        prevSmallest = r.smallest;
      }
      if (f.ecn) w.varint(f.ecn.ect0).varint(f.ecn.ect1).varint(f.ecn.ce);
      return;
    }
    case 'reset_stream':
      w.u8(0x04).varint(f.streamId).varint(f.errorCode).varint(f.finalSize);
      return;
    case 'stop_sending':
      w.u8(0x05).varint(f.streamId).varint(f.errorCode);
      return;
    case 'crypto':
      w.u8(0x06).varint(f.offset).varint(f.data.length).bytes(f.data);
      return;
    case 'new_token':
      w.u8(0x07).varint(f.token.length).bytes(f.token);
      return;
    case 'stream':
      w.u8(streamTypeByte(f)).varint(f.streamId);
      if (f.offset > 0) w.varint(f.offset);
      if (f.explicitLength !== false) w.varint(f.data.length);
      w.bytes(f.data);
      return;
    case 'max_data':
      w.u8(0x10).varint(f.maximum);
      return;
    case 'max_stream_data':
      w.u8(0x11).varint(f.streamId).varint(f.maximum);
      return;
    case 'max_streams':
      w.u8(f.bidi ? 0x12 : 0x13).varint(f.maximum);
      return;
    case 'data_blocked':
      w.u8(0x14).varint(f.limit);
      return;
    case 'stream_data_blocked':
      w.u8(0x15).varint(f.streamId).varint(f.limit);
      return;
    case 'streams_blocked':
      w.u8(f.bidi ? 0x16 : 0x17).varint(f.limit);
      return;
    case 'new_connection_id':
      if (f.connectionId.length < 1 || f.connectionId.length > 20 || f.resetToken.length !== 16) throw new RangeError('NEW_CONNECTION_ID needs a 1..20-byte CID and a 16-byte token');
      w.u8(0x18).varint(f.sequence).varint(f.retirePriorTo).vec(1, f.connectionId).bytes(f.resetToken);
      return;
    case 'retire_connection_id':
      w.u8(0x19).varint(f.sequence);
      return;
    case 'path_challenge':
    case 'path_response':
      if (f.data.length !== 8) throw new RangeError(`${f.type} data must be 8 bytes`);
      w.u8(f.type === 'path_challenge' ? 0x1a : 0x1b).bytes(f.data);
      return;
    case 'connection_close': {
      const reason = utf8Encoder.encode(f.reason);
      w.u8(f.application ? 0x1d : 0x1c).varint(f.errorCode);
      if (!f.application) w.varint(f.frameType);
      w.varint(reason.length).bytes(reason);
      return;
    }
    case 'handshake_done':
      w.u8(0x1e);
      return;
    case 'ack_frequency':
      w.varint(0xaf).varint(f.sequence).varint(f.ackElicitingThreshold).varint(f.requestedMaxAckDelayUs).varint(f.reorderingThreshold);
      return;
    case 'immediate_ack':
      w.u8(0x1f);
      return;
  }
}

export function encodeFrames(frames: readonly Frame[]): Uint8Array {
  const w = new Writer(256);
  for (const f of frames) encodeFrame(w, f);
  return w.finish();
}

/** Encoded size of one frame. */
export function frameSize(f: Frame): number {
  // The frames every packet carries are sized arithmetically (the packetizer asks for each one); rarer ones are encoded.
  switch (f.type) {
    case 'padding':
      return f.length;
    case 'ping':
    case 'handshake_done':
    case 'immediate_ack':
      return 1;
    case 'stream':
      return streamFrameHeaderSize(f.streamId, f.offset, f.data.length, f.explicitLength !== false) + f.data.length;
    case 'crypto':
      return cryptoFrameHeaderSize(f.offset, f.data.length) + f.data.length;
    case 'max_data':
      return 1 + varintLength(f.maximum);
    case 'max_stream_data':
      return 1 + varintLength(f.streamId) + varintLength(f.maximum);
    case 'ack':
      if (f.ranges.length && !f.ecn) {
        const first = f.ranges[0]!;
        let n = 1 + varintLength(first.largest) + varintLength(f.ackDelay) + varintLength(f.ranges.length - 1) + varintLength(first.largest - first.smallest);
        let prevSmallest = first.smallest;
        for (let i = 1; i < f.ranges.length; i++) {
          const r = f.ranges[i]!;
          const gap = prevSmallest - r.largest - 2;
          if (gap < 0 || r.smallest > r.largest) break; // malformed: let the encoder below report it
          n += varintLength(gap) + varintLength(r.largest - r.smallest);
          prevSmallest = r.smallest;
          if (i === f.ranges.length - 1) return n;
        }
        if (f.ranges.length === 1) return n;
      }
      break;
  }
  const w = new Writer(64);
  encodeFrame(w, f);
  return w.length;
}

// ---------------------------------------------------------------------------------------------------------------------
// Packetizer sizing

export function streamFrameHeaderSize(streamId: number, offset: number, dataLength: number, withLength = true): number {
  return 1 + varintLength(streamId) + (offset > 0 ? varintLength(offset) : 0) + (withLength ? varintLength(dataLength) : 0);
}

export function cryptoFrameHeaderSize(offset: number, dataLength: number): number {
  return 1 + varintLength(offset) + varintLength(dataLength);
}

const VARINT_BOUNDS: [number, number][] = [
  [1, 63],
  [2, 16383],
  [4, 1073741823],
  [8, MAX_VARINT],
];

/** Largest n for which `base` + Length(n) + n fits in `space`; 0 when not even one byte fits. */
function largestFitting(space: number, base: number): number {
  let best = 0;
  for (let i = 0; i < VARINT_BOUNDS.length; i++) {
    const width = VARINT_BOUNDS[i]![0];
    const max = VARINT_BOUNDS[i]![1];
    const n = Math.min(space - base - width, max);
    if (n > best) best = n;
  }
  return best;
}

/** Most STREAM data bytes a frame with a Length field can carry in `space` bytes (the packetizer fills packets exactly). */
export function maxStreamDataFitting(space: number, streamId: number, offset: number): number {
  return largestFitting(space, 1 + varintLength(streamId) + (offset > 0 ? varintLength(offset) : 0));
}

export function maxCryptoDataFitting(space: number, offset: number): number {
  return largestFitting(space, 1 + varintLength(offset));
}

// ---------------------------------------------------------------------------------------------------------------------
// Decoding

/** Varint as a number; values above 2^53 (legal "unlimited" limits) are rounded rather than rejected. */
function vn(r: Reader): number {
  // Only 8-byte varints can exceed 2^53; the rest (stream IDs, ACK fields, limits) are read without BigInt.
  if (r.pos < r.end && r.buf[r.pos]! >> 6 !== 3) return r.varint();
  return Number(r.varintBig());
}

/** An error code: all 62 bits exact (a bigint only when above 2^53 - 1). */
function codeVarint(r: Reader): ErrorCode {
  if (r.pos < r.end && r.buf[r.pos]! >> 6 !== 3) return r.varint();
  return errorCode(r.varintBig());
}

/** Limits are checked on the exact bigint: 2^60 + 1 rounds to 2^60 as a double and would slip through. */
function vnAtMost(r: Reader, max: bigint, what: string, code: number): number {
  const v = r.varintBig();
  if (v > max) throw frameEncodingError(`${what} exceeds ${max}`, code);
  return Number(v);
}

const MAX_VARINT_BIG = (1n << 62n) - 1n;

/** Offset of a STREAM/CRYPTO frame whose end (offset + length) must stay within 2^62 - 1 (RFC 9000 §19.6, §19.8). */
function checkedEnd(offset: bigint | number, length: number, code: number): number {
  // A 1-, 2- or 4-byte offset (below 2^30) cannot reach the limit: only 8-byte ones need the exact BigInt sum.
  if (typeof offset === 'number') return offset;
  if (offset + BigInt(length) > MAX_VARINT_BIG) throw frameEncodingError('frame data extends beyond 2^62 - 1', code);
  return Number(offset);
}

/** A frame offset varint: a number when it is shorter than 8 bytes, else a bigint for checkedEnd's exact test. */
function offsetVarint(r: Reader): bigint | number {
  if (r.remaining > 0 && r.buf[r.pos]! >> 6 !== 3) return r.varint();
  return r.varintBig();
}

function decodeBody(r: Reader, code: number): Frame {
  switch (code) {
    case 0x01:
      return { type: 'ping' };
    case 0x02:
    case 0x03: {
      const largest = vn(r);
      const ackDelay = vn(r);
      const count = vn(r);
      const firstRange = vn(r);
      if (firstRange > largest) throw frameEncodingError('ACK First ACK Range exceeds Largest Acknowledged', code);
      // Each further range takes at least two bytes: bound the loop by the input, not by the attacker's count.
      if (count > r.remaining / 2) throw frameEncodingError('ACK Range Count exceeds the frame', code);
      const ranges: AckRange[] = [{ smallest: largest - firstRange, largest }];
      let smallest = largest - firstRange;
      for (let i = 0; i < count; i++) {
        const gap = vn(r);
        const len = vn(r);
        const hi = smallest - gap - 2;
        const lo = hi - len;
        if (lo < 0) throw frameEncodingError('ACK range goes below packet number 0', code);
        ranges.push({ smallest: lo, largest: hi });
        smallest = lo;
      }
      const ecn = code === 0x03 ? { ect0: vn(r), ect1: vn(r), ce: vn(r) } : undefined;
      return ecn ? { type: 'ack', ranges, ackDelay, ecn } : { type: 'ack', ranges, ackDelay };
    }
    case 0x04:
      return { type: 'reset_stream', streamId: vn(r), errorCode: codeVarint(r), finalSize: vn(r) };
    case 0x05:
      return { type: 'stop_sending', streamId: vn(r), errorCode: codeVarint(r) };
    case 0x06: {
      const offset = offsetVarint(r);
      const data = r.vecVarint();
      return { type: 'crypto', offset: checkedEnd(offset, data.length, code), data };
    }
    case 0x07: {
      const token = r.vecVarint();
      if (token.length === 0) throw frameEncodingError('NEW_TOKEN with an empty token', code);
      return { type: 'new_token', token };
    }
    case 0x10:
      return { type: 'max_data', maximum: vn(r) };
    case 0x11:
      return { type: 'max_stream_data', streamId: vn(r), maximum: vn(r) };
    case 0x12:
    case 0x13: {
      const maximum = vnAtMost(r, 1n << 60n, 'MAX_STREAMS', code);
      return { type: 'max_streams', bidi: code === 0x12, maximum };
    }
    case 0x14:
      return { type: 'data_blocked', limit: vn(r) };
    case 0x15:
      return { type: 'stream_data_blocked', streamId: vn(r), limit: vn(r) };
    case 0x16:
    case 0x17: {
      const limit = vnAtMost(r, 1n << 60n, 'STREAMS_BLOCKED', code);
      return { type: 'streams_blocked', bidi: code === 0x16, limit };
    }
    case 0x18: {
      const sequenceBig = r.varintBig();
      const retireBig = r.varintBig();
      const connectionId = r.vec(1);
      if (connectionId.length < 1 || connectionId.length > 20) throw frameEncodingError(`NEW_CONNECTION_ID with a ${connectionId.length}-byte connection ID`, code);
      const sequence = Number(sequenceBig);
      const retirePriorTo = Number(retireBig);
      if (retireBig > sequenceBig) throw frameEncodingError('NEW_CONNECTION_ID Retire Prior To exceeds its Sequence Number', code);
      return { type: 'new_connection_id', sequence, retirePriorTo, connectionId, resetToken: r.bytes(16) };
    }
    case 0x19:
      return { type: 'retire_connection_id', sequence: vn(r) };
    case 0x1a:
      return { type: 'path_challenge', data: r.bytes(8) };
    case 0x1b:
      return { type: 'path_response', data: r.bytes(8) };
    case 0x1c:
    case 0x1d: {
      const errorCode = codeVarint(r);
      const frameType = code === 0x1c ? vn(r) : 0;
      const reason = utf8Decoder.decode(r.vecVarint());
      return { type: 'connection_close', application: code === 0x1d, errorCode, frameType, reason };
    }
    case 0x1e:
      return { type: 'handshake_done' };
    case 0x1f:
      return { type: 'immediate_ack' };
    case 0xaf:
      return { type: 'ack_frequency', sequence: vn(r), ackElicitingThreshold: vn(r), requestedMaxAckDelayUs: vn(r), reorderingThreshold: vn(r) };
  }
  if (code >= 0x08 && code <= 0x0f) {
    const streamId = vn(r);
    const offsetBig = code & 0x04 ? offsetVarint(r) : 0;
    const explicitLength = (code & 0x02) !== 0;
    const data = explicitLength ? r.vecVarint() : r.rest();
    const offset = checkedEnd(offsetBig, data.length, code);
    return { type: 'stream', streamId, offset, data, fin: (code & 0x01) !== 0, explicitLength };
  }
  throw frameEncodingError(`unknown frame type 0x${code.toString(16)}`, code);
}

/**
 * Decodes one frame at the reader's position (consecutive PADDING bytes become one frame).
 * Throws QuicError only: FRAME_ENCODING_ERROR for malformed or unknown frames, PROTOCOL_VIOLATION for a non-minimal type.
 */
export function decodeFrame(r: Reader): Frame {
  const start = r.pos;
  let code: number;
  try {
    code = r.varint();
  } catch {
    throw frameEncodingError('truncated frame type');
  }
  if (r.pos - start !== varintLength(code)) throw protocolViolation(`frame type 0x${code.toString(16)} uses a longer encoding than necessary`, code);
  if (code === 0x00) {
    let n = 1;
    while (r.pos < r.end && r.buf[r.pos] === 0) {
      r.pos++;
      n++;
    }
    return { type: 'padding', length: n };
  }
  try {
    return decodeBody(r, code);
  } catch (e) {
    if (e instanceof QuicError) throw e;
    if (e instanceof DecodeError) throw frameEncodingError(`${frameNameOfCode(code) ?? 'frame'}: ${e.message}`, code);
    throw frameEncodingError(`${frameNameOfCode(code) ?? 'frame'}: ${(e as Error)?.message ?? String(e)}`, code);
  }
}

/**
 * Decodes a packet payload. With `packetKind`, frames not permitted in that packet type raise PROTOCOL_VIOLATION
 * (RFC 9000 §12.4), as does a payload with no frames.
 */
export function decodeFrames(payload: Uint8Array, packetKind?: PacketSpaceKind): Frame[] {
  if (payload.length === 0) throw protocolViolation('packet payload contains no frames');
  const r = new Reader(payload);
  const frames: Frame[] = [];
  while (!r.atEnd()) {
    const at = r.pos;
    const f = decodeFrame(r);
    if (packetKind) {
      // Re-read the type for the permission check (it was minimal, so one-byte types are the byte itself).
      const code = payload[at]! < 0x40 ? payload[at]! : new Reader(payload, at).varint();
      assertFrameAllowed(code, packetKind);
    }
    frames.push(f);
  }
  return frames;
}
