// The receiving half of a stream (RFC 9000 §2.2, §3.2, §4.5): out-of-order reassembly, final-size checks, flow-control credit.

import { QuicError, TransportErrorCode, type ErrorCode } from './errors.js';
import { ReceiveWindow } from './flow-control.js';

/** RFC 9000 §3.2 receiving-part states. */
export type RecvState = 'recv' | 'size-known' | 'data-recvd' | 'data-read' | 'reset-recvd' | 'reset-read';

interface Segment {
  offset: number;
  data: Uint8Array;
}

export class RecvStream {
  state: RecvState = 'recv';
  readonly window: ReceiveWindow;
  /** Segments beyond the read offset, sorted and non-overlapping. */
  private segments: Segment[] = [];
  private readOffset = 0;
  private finalSizeValue: number | undefined;
  resetCode: ErrorCode | undefined;
  /** STOP_SENDING we asked for: no more data is delivered to the application. */
  stopSendingCode: ErrorCode | undefined;
  private stopSendingPending = false;

  constructor(
    readonly id: number,
    localMaxStreamData: number,
    maxWindow?: number,
  ) {
    this.window = new ReceiveWindow({ initial: localMaxStreamData, max: maxWindow });
  }

  get finalSize(): number | undefined {
    return this.finalSizeValue;
  }

  get bytesRead(): number {
    return this.readOffset;
  }

  get highestReceived(): number {
    return this.window.highestReceived;
  }

  /**
   * A STREAM frame arrived. Returns how far the highest received offset advanced (connection-level credit used).
   * Throws QuicError FLOW_CONTROL_ERROR or FINAL_SIZE_ERROR (RFC 9000 §4.5).
   */
  receive(offset: number, data: Uint8Array, fin: boolean, frameType?: number): number {
    const end = offset + data.length;
    this.checkFinalSize(end, fin, frameType);
    const before = this.window.highestReceived;
    if (!this.window.onReceived(end)) {
      throw new QuicError(TransportErrorCode.FLOW_CONTROL_ERROR, `stream ${this.id}: data to ${end} beyond MAX_STREAM_DATA ${this.window.limit}`, { frameType: frameType });
    }
    const grew = this.window.highestReceived - before;
    if (this.state === 'reset-recvd' || this.state === 'reset-read' || this.state === 'data-read') return grew;
    if (fin && this.finalSizeValue === undefined) {
      this.finalSizeValue = end;
      if (this.state === 'recv') this.state = 'size-known';
    }
    if (this.stopSendingCode === undefined) this.insert(offset, data);
    if (this.finalSizeValue !== undefined && this.state === 'size-known' && this.contiguousEnd() >= this.finalSizeValue) this.state = 'data-recvd';
    return grew;
  }

  private checkFinalSize(end: number, fin: boolean, frameType?: number): void {
    const known = this.finalSizeValue;
    if (known !== undefined) {
      if (end > known || (fin && end !== known)) {
        throw new QuicError(TransportErrorCode.FINAL_SIZE_ERROR, `stream ${this.id}: final size ${known} contradicted by ${fin ? 'FIN at' : 'data to'} ${end}`, { frameType: frameType });
      }
    } else if (fin && end < this.window.highestReceived) {
      throw new QuicError(TransportErrorCode.FINAL_SIZE_ERROR, `stream ${this.id}: FIN at ${end} below received data ${this.window.highestReceived}`, { frameType: frameType });
    }
  }

  private insert(offset: number, data: Uint8Array): void {
    let start = Math.max(offset, this.readOffset);
    const end = offset + data.length;
    if (end <= start) return;
    // Segments are views of the frames' bytes (each decrypted payload is a buffer of its own): nothing is copied until
    // the application reads across segments.
    const last = this.segments[this.segments.length - 1];
    if (!last || last.offset + last.data.length <= start) {
      this.segments.push({ offset: start, data: start === offset ? data : data.subarray(start - offset) });
      return;
    }
    // Keep the bytes we already hold; fill only the gaps (duplicates with different content are the sender's bug).
    const out: Segment[] = [];
    let i = 0;
    while (i < this.segments.length && this.segments[i]!.offset + this.segments[i]!.data.length <= start) out.push(this.segments[i++]!);
    while (i < this.segments.length && start < end) {
      const seg = this.segments[i]!;
      if (seg.offset >= end) break;
      if (seg.offset > start) out.push({ offset: start, data: data.subarray(start - offset, seg.offset - offset) });
      out.push(seg);
      start = Math.max(start, seg.offset + seg.data.length);
      i++;
    }
    if (start < end) out.push({ offset: start, data: data.subarray(start - offset, end - offset) });
    while (i < this.segments.length) out.push(this.segments[i++]!);
    this.segments = out;
  }

  private contiguousEnd(): number {
    let at = this.readOffset;
    for (const s of this.segments) {
      if (s.offset > at) break;
      at = Math.max(at, s.offset + s.data.length);
    }
    return at;
  }

  /** Bytes readable now, in order. */
  readable(): number {
    if (this.resetCode !== undefined || this.stopSendingCode !== undefined) return 0;
    return this.contiguousEnd() - this.readOffset;
  }

  /** True when every byte up to the final size has been read by the application. */
  get isFinished(): boolean {
    return this.state === 'data-read';
  }

  /** Reads up to `max` in-order bytes. `now`/`rtt` drive window auto-tuning. */
  read(max: number, now: number, rtt: number): Uint8Array {
    if (this.resetCode !== undefined || this.stopSendingCode !== undefined) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    let want = max;
    while (want > 0 && this.segments.length && this.segments[0]!.offset === this.readOffset) {
      const seg = this.segments[0]!;
      if (seg.data.length <= want) {
        parts.push(seg.data);
        this.segments.shift();
        this.readOffset += seg.data.length;
        want -= seg.data.length;
      } else {
        parts.push(seg.data.subarray(0, want));
        this.segments[0] = { offset: seg.offset + want, data: seg.data.subarray(want) };
        this.readOffset += want;
        want = 0;
      }
    }
    if (this.finalSizeValue !== undefined && this.readOffset === this.finalSizeValue && (this.state === 'data-recvd' || this.state === 'size-known')) {
      this.state = 'data-read';
    } else if (this.finalSizeValue === undefined) {
      this.window.onConsumed(this.readOffset, now, rtt);
    }
    // One segment (the usual case: the application reads what one packet brought) is handed over as it is.
    if (parts.length === 1) return parts[0]!;
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /**
   * RESET_STREAM arrived. Returns the connection-level credit it implies beyond what was received.
   * Throws FLOW_CONTROL_ERROR / FINAL_SIZE_ERROR on inconsistent final sizes.
   */
  onReset(code: ErrorCode, finalSize: number, frameType?: number): number {
    this.checkFinalSize(finalSize, true, frameType);
    const before = this.window.highestReceived;
    if (!this.window.onReceived(finalSize)) {
      throw new QuicError(TransportErrorCode.FLOW_CONTROL_ERROR, `stream ${this.id}: final size ${finalSize} beyond MAX_STREAM_DATA`, { frameType: frameType });
    }
    this.finalSizeValue = finalSize;
    if (this.state === 'data-read' || this.state === 'reset-recvd' || this.state === 'reset-read') return this.window.highestReceived - before;
    this.resetCode = code;
    this.state = 'reset-recvd';
    this.segments = [];
    return this.window.highestReceived - before;
  }

  /** The application saw the reset. */
  acknowledgeReset(): void {
    if (this.state === 'reset-recvd') this.state = 'reset-read';
  }

  /** Asks the peer to stop (STOP_SENDING). Buffered data is dropped. */
  stopSending(code: ErrorCode): boolean {
    if (this.stopSendingCode !== undefined || this.state === 'data-read' || this.state === 'reset-read' || this.state === 'reset-recvd') return false;
    this.stopSendingCode = code;
    this.segments = [];
    // Only worth telling the peer while it may still send.
    this.stopSendingPending = this.state === 'recv' || this.state === 'size-known';
    return true;
  }

  takeStopSending(): ErrorCode | undefined {
    if (!this.stopSendingPending) return undefined;
    this.stopSendingPending = false;
    return this.stopSendingCode;
  }

  onStopSendingLost(): void {
    if (this.stopSendingCode !== undefined && (this.state === 'recv' || this.state === 'size-known')) this.stopSendingPending = true;
  }

  /** Wants a MAX_STREAM_DATA frame: only while the peer may still send more. */
  takeWindowUpdate(): number | undefined {
    if (this.state !== 'recv') {
      this.window.takeUpdate();
      return undefined;
    }
    return this.window.takeUpdate();
  }

  /** Terminal states: the stream can be forgotten once the application has seen the end. */
  get isClosed(): boolean {
    return this.state === 'data-read' || this.state === 'reset-read';
  }
}
