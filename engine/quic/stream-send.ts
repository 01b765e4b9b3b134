// The sending half of a stream (RFC 9000 §2.2, §3.1, §19.4, §19.8): bytes stay buffered until acknowledged; lost ranges are resent.

import type { ErrorCode } from './errors.js';
import { RangeSet } from './stream-ranges.js';
import { SendCredit } from './flow-control.js';

/** RFC 9000 §3.1 sending-part states. */
export type SendState = 'ready' | 'send' | 'data-sent' | 'data-recvd' | 'reset-sent' | 'reset-recvd';

export interface StreamChunk {
  readonly offset: number;
  readonly data: Uint8Array;
  readonly fin: boolean;
}

export class SendStream {
  state: SendState = 'ready';
  readonly credit: SendCredit;
  /**
   * Bytes from `bufferBase` upward, kept until acknowledged, as the written chunks themselves: appending and freeing
   * an acknowledged prefix then cost nothing per byte already buffered (one contiguous buffer made both O(buffer)).
   */
  private readonly buffer = new SendBuffer();
  private bufferBase = 0;
  /** Total bytes written by the application (the next write offset). */
  private written = 0;
  private finWritten = false;
  /** Highest offset ever sent: the flow-control credit this stream has consumed. */
  private highestSent = 0;
  private readonly pending = new RangeSet();
  private readonly acked = new RangeSet();
  private finPending = false;
  private finAcked = false;
  resetCode: ErrorCode | undefined;
  private resetPending = false;
  /** Error code of a STOP_SENDING the peer sent, if any. */
  stopSendingCode: ErrorCode | undefined;

  constructor(
    readonly id: number,
    peerMaxStreamData: number,
    /** Local buffering limit: write() accepts no more than this many unacknowledged bytes (a function: read per call). */
    private readonly maxBuffered: number | (() => number) = 1 << 20,
  ) {
    this.credit = new SendCredit(peerMaxStreamData);
  }

  get writeOffset(): number {
    return this.written;
  }

  get finalSize(): number {
    return this.resetCode !== undefined ? this.highestSent : this.written;
  }

  get isFinished(): boolean {
    return this.finWritten;
  }

  /** Room left in the local buffer. */
  writable(): number {
    if (this.finWritten || this.resetCode !== undefined) return 0;
    const limit = typeof this.maxBuffered === 'number' ? this.maxBuffered : this.maxBuffered();
    return Math.max(0, limit - (this.written - this.bufferBase));
  }

  /**
   * Buffers as much of `data` as fits; returns the number of bytes accepted. The accepted bytes are copied unless
   * `borrow` says the caller hands them over and never modifies them afterwards (the apps' file chunks and frames).
   */
  write(data: Uint8Array, fin = false, borrow = false): number {
    if (this.finWritten || this.resetCode !== undefined) return 0;
    const n = Math.min(data.length, this.writable());
    if (n > 0) {
      this.buffer.append(this.written, borrow ? (n === data.length ? data : data.subarray(0, n)) : data.slice(0, n));
      this.pending.add(this.written, this.written + n);
      this.written += n;
    }
    if (fin && n === data.length) this.conclude();
    if (this.state === 'ready' && (n > 0 || this.finWritten)) this.state = 'send';
    return n;
  }

  conclude(): void {
    if (this.finWritten || this.resetCode !== undefined) return;
    this.finWritten = true;
    this.finPending = true;
    if (this.state === 'ready') this.state = 'send';
  }

  /** Abandons the stream (RESET_STREAM). Returns false when it already ended. */
  reset(code: ErrorCode): boolean {
    if (this.resetCode !== undefined || this.state === 'data-recvd') return false;
    this.resetCode = code;
    this.resetPending = true;
    this.pending.clear();
    this.finPending = false;
    this.buffer.clear();
    this.bufferBase = this.written;
    this.state = 'reset-sent';
    return true;
  }

  /** Whether a STREAM frame has anything to carry now (new data within credit, retransmissions, or a bare FIN). */
  hasData(): boolean {
    if (this.resetCode !== undefined) return false;
    if (!this.pending.isEmpty() && (this.pending.startAt(0) < this.highestSent || this.credit.available() > 0)) return true;
    return this.finPending && this.pending.isEmpty();
  }

  /** Offset of the next chunk nextChunk() would send (for sizing the frame header). */
  nextOffset(): number {
    return this.pending.isEmpty() ? this.written : this.pending.startAt(0);
  }

  /** Data that costs no new flow-control credit: a retransmission or a bare FIN. */
  hasRetransmitOrFin(): boolean {
    if (this.resetCode !== undefined) return false;
    if (!this.pending.isEmpty()) return this.pending.startAt(0) < this.highestSent;
    return this.finPending;
  }

  /** Whether new data is waiting only on the peer's MAX_STREAM_DATA. */
  isBlocked(): boolean {
    return this.resetCode === undefined && !this.pending.isEmpty() && this.pending.startAt(0) >= this.highestSent && this.credit.available() === 0;
  }

  /**
   * The next STREAM frame payload: at most `maxBytes` of the lowest pending range. `connectionCredit` limits bytes
   * never sent before (retransmissions are free). Returns the chunk and how much new credit it consumed.
   */
  nextChunk(maxBytes: number, connectionCredit: number): { chunk: StreamChunk; newBytes: number } | undefined {
    if (this.resetCode !== undefined) return undefined;
    if (!this.pending.isEmpty()) {
      const start = this.pending.startAt(0);
      // Invariant (onAcked removes acknowledged bytes from pending): everything pending is still buffered.
      if (start < this.bufferBase) throw new Error(`stream ${this.id}: pending bytes from ${start} lie below the send buffer (${this.bufferBase})`);
      const rangeEnd = this.pending.endAt(0);
      let end = Math.min(rangeEnd, start + Math.max(0, maxBytes));
      if (end > this.highestSent) {
        const newAllowed = Math.min(this.credit.available(), connectionCredit);
        end = Math.min(end, Math.max(this.highestSent, start) + newAllowed);
      }
      if (end > start) {
        const newBytes = Math.max(0, end - Math.max(start, this.highestSent));
        this.pending.remove(start, end);
        if (newBytes > 0) {
          this.credit.consume(newBytes);
          this.highestSent = end;
        }
        const fin = this.finPending && end === this.written && this.pending.isEmpty();
        if (fin) this.finPending = false;
        const data = this.buffer.read(start, end);
        this.afterSend();
        return { chunk: { offset: start, data, fin }, newBytes };
      }
      return undefined;
    }
    if (this.finPending) {
      this.finPending = false;
      this.afterSend();
      return { chunk: { offset: this.written, data: new Uint8Array(0), fin: true }, newBytes: 0 };
    }
    return undefined;
  }

  private afterSend(): void {
    if (this.state === 'send' && this.finWritten && this.pending.isEmpty() && !this.finPending) this.state = 'data-sent';
  }

  onAcked(offset: number, length: number, fin: boolean): void {
    if (this.resetCode !== undefined) return;
    const end = offset + length;
    this.acked.add(offset, end);
    // The same bytes may also be queued for resending: a PTO re-queues frames of packets still in flight, and a
    // packet declared lost may have a copy in another packet. Once acknowledged they never need to go again, and the
    // buffer below may be freed right here, so no pending range may keep pointing into it.
    this.pending.remove(offset, end);
    if (fin) {
      this.finAcked = true;
      this.finPending = false;
    }
    // Free the acknowledged prefix of the buffer.
    const contiguous = this.acked.contiguousEnd(this.bufferBase);
    if (contiguous > this.bufferBase) {
      this.buffer.releaseBefore(contiguous);
      this.bufferBase = contiguous;
    }
    if (this.finWritten && this.finAcked && this.acked.containsRange(0, this.written)) this.state = 'data-recvd';
    else this.afterSend();
  }

  onLost(offset: number, length: number, fin: boolean): void {
    if (this.resetCode !== undefined) return;
    // Only re-queue what the peer has not acknowledged through another packet.
    const end = offset + length;
    let at = Math.max(offset, this.bufferBase);
    for (let i = 0; i < this.acked.size; i++) {
      const s = this.acked.startAt(i);
      const e = this.acked.endAt(i);
      if (e <= at) continue;
      if (s >= end) break;
      if (s > at) this.pending.add(at, s);
      at = Math.max(at, e);
    }
    if (at < end) this.pending.add(at, end);
    if (fin && !this.finAcked) this.finPending = true;
    if (this.state === 'data-sent' && (!this.pending.isEmpty() || this.finPending)) this.state = 'send';
  }

  /** RESET_STREAM to (re)send, once. */
  takeReset(): { code: ErrorCode; finalSize: number } | undefined {
    if (!this.resetPending || this.resetCode === undefined) return undefined;
    this.resetPending = false;
    return { code: this.resetCode, finalSize: this.highestSent };
  }

  onResetLost(): void {
    if (this.state === 'reset-sent') this.resetPending = true;
  }

  onResetAcked(): void {
    if (this.state === 'reset-sent') this.state = 'reset-recvd';
  }

  /** The peer sent STOP_SENDING: answer with RESET_STREAM carrying its code (RFC 9000 §3.5). */
  onStopSending(code: ErrorCode): void {
    this.stopSendingCode ??= code;
    if (this.state !== 'data-recvd') this.reset(code);
  }

  /** Terminal: all data acknowledged or the reset acknowledged. */
  get isClosed(): boolean {
    return this.state === 'data-recvd' || this.state === 'reset-recvd';
  }
}

/**
 * The unacknowledged bytes of a send stream as a queue of immutable chunks keyed by stream offset. Reads inside one
 * chunk are views (no copy); a read spanning chunks copies only the bytes it returns.
 */
class SendBuffer {
  private chunks: { offset: number; data: Uint8Array }[] = [];
  /** Index of the first live chunk: releasing advances it, and the array is compacted only now and then. */
  private head = 0;

  append(offset: number, data: Uint8Array): void {
    if (data.length) this.chunks.push({ offset, data });
  }

  /** Bytes [start, end) of the stream; the caller guarantees they are buffered. */
  read(start: number, end: number): Uint8Array {
    let i = this.find(start);
    const first = this.chunks[i];
    if (!first || start < first.offset) throw new Error(`send buffer: bytes ${start}..${end} are not buffered`);
    const from = start - first.offset;
    if (end - first.offset <= first.data.length) return first.data.subarray(from, end - first.offset);
    const out = new Uint8Array(end - start);
    let at = 0;
    for (let o = start; o < end; i++) {
      const c = this.chunks[i]!;
      const part = c.data.subarray(o - c.offset, Math.min(c.data.length, end - c.offset));
      out.set(part, at);
      at += part.length;
      o += part.length;
    }
    return out;
  }

  /** Forgets every chunk that lies wholly below `offset` (acknowledged). */
  releaseBefore(offset: number): void {
    while (this.head < this.chunks.length) {
      const c = this.chunks[this.head]!;
      if (c.offset + c.data.length > offset) break;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
  }

  /** Index of the chunk holding `offset` (binary search over the live chunks). */
  private find(offset: number): number {
    let lo = this.head;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.chunks[mid]!.offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
