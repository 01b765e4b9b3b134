// The connection's streams (RFC 9000 §2–§4, §19.4–§19.14): creation and limits, connection-level flow control, stream frames in and out.

import { QuicError, TransportErrorCode, type ErrorCode } from './errors.js';
import type { Frame, StreamFrame } from './frames.js';
import { maxStreamDataFitting, streamFrameHeaderSize } from './frames.js';
import { ReceiveWindow, SendCredit, StreamCountWindow } from './flow-control.js';
import { SendStream } from './stream-send.js';
import { RecvStream } from './stream-recv.js';
import { hasRecvHalf, hasSendHalf, isLocallyInitiated, makeStreamId, streamDirection, streamIndex, type Role, type StreamDirection } from './stream-id.js';
import type { TransportSettings } from './config.js';
import type { TransportParameters } from './transport-params.js';
import type { ConnectionEvent } from './connection-events.js';

export interface StreamEntry {
  readonly id: number;
  readonly send?: SendStream;
  readonly recv?: RecvStream;
  /** Bytes of this stream counted against the connection receive window so far. */
  connCounted: number;
  /** Bytes of this stream counted as consumed at connection level (read, or abandoned by reset). */
  connConsumed: number;
  /** Stream-count credit already returned to the peer for this stream. */
  released: boolean;
}

const DIRECTIONS: readonly StreamDirection[] = ['bidi', 'uni'];

/** What controlFrames() returns when nothing is due (nearly every packet): shared, never written to. */
const NO_FRAMES: readonly Frame[] = Object.freeze([]);

/** Frame types by code, for the frameType field of stream errors. */
const T = { reset_stream: 0x04, stop_sending: 0x05, stream: 0x08, max_stream_data: 0x11, stream_data_blocked: 0x15 } as const;

export class StreamManager {
  readonly streams = new Map<number, StreamEntry>();
  /** Next index of a stream we open, per direction. */
  private readonly nextLocal = { bidi: 0, uni: 0 };
  /** Peer credit for streams we open (MAX_STREAMS). */
  readonly localOpenCredit: { bidi: SendCredit; uni: SendCredit };
  /** Credit we give the peer to open streams. */
  readonly peerOpenWindow: { bidi: StreamCountWindow; uni: StreamCountWindow };
  /** Highest index of peer-initiated streams opened so far, per direction (-1 = none). */
  private readonly peerOpened = { bidi: -1, uni: -1 };
  readonly connSend: SendCredit;
  readonly connRecv: ReceiveWindow;
  private connReceivedTotal = 0;
  private connConsumedTotal = 0;
  private peer: TransportParameters | undefined;
  private rr = 0;
  /**
   * The streams in creation order (the map's order), rebuilt only when a stream is created or forgotten: the round
   * robin indexes it, and the per-packet scans walk it instead of the map's iterator.
   */
  private list: StreamEntry[] | undefined;
  /** Streams whose STREAM_DATA_BLOCKED / MAX_STREAM_DATA / STREAMS_BLOCKED frames were lost. */
  private readonly lostControl: Frame[] = [];
  private streamsBlockedPending: { bidi?: number; uni?: number } = {};

  constructor(
    private readonly role: Role,
    private readonly local: TransportSettings,
    private readonly emit: (e: ConnectionEvent) => void,
    private readonly maxWindow: number,
    /** How many unacknowledged bytes a stream may buffer; read on every write (it follows the congestion window). */
    private readonly sendBufferLimit?: () => number,
  ) {
    this.localOpenCredit = { bidi: new SendCredit(0), uni: new SendCredit(0) };
    this.peerOpenWindow = { bidi: new StreamCountWindow(local.initialMaxStreamsBidi), uni: new StreamCountWindow(local.initialMaxStreamsUni) };
    this.connSend = new SendCredit(0);
    this.connRecv = new ReceiveWindow({ initial: local.initialMaxData, max: Math.max(maxWindow, local.initialMaxData) });
  }

  /** The peer's transport parameters (or remembered ones for 0-RTT): initial credit for everything we send. */
  applyPeerParameters(tp: TransportParameters): void {
    this.peer = tp;
    this.connSend.raise(tp.initialMaxData);
    if (this.localOpenCredit.bidi.raise(tp.initialMaxStreamsBidi)) this.emit({ type: 'streams-available', bidi: true });
    if (this.localOpenCredit.uni.raise(tp.initialMaxStreamsUni)) this.emit({ type: 'streams-available', bidi: false });
    for (const s of this.streams.values()) {
      if (s.send) s.send.credit.raise(this.initialSendCredit(s.id));
    }
  }

  private initialSendCredit(id: number): number {
    const tp = this.peer;
    if (!tp) return 0;
    if (streamDirection(id) === 'uni') return tp.initialMaxStreamDataUni;
    // The peer's "local" limit applies to streams it opened, its "remote" limit to streams we opened.
    return isLocallyInitiated(id, this.role) ? tp.initialMaxStreamDataBidiRemote : tp.initialMaxStreamDataBidiLocal;
  }

  private initialRecvWindow(id: number): number {
    if (streamDirection(id) === 'uni') return this.local.initialMaxStreamDataUni;
    return isLocallyInitiated(id, this.role) ? this.local.initialMaxStreamDataBidiLocal : this.local.initialMaxStreamDataBidiRemote;
  }

  private create(id: number): StreamEntry {
    const send = hasSendHalf(id, this.role) ? new SendStream(id, this.initialSendCredit(id), this.sendBufferLimit) : undefined;
    const recv = hasRecvHalf(id, this.role) ? new RecvStream(id, this.initialRecvWindow(id), this.maxWindow) : undefined;
    const entry: StreamEntry = { id, send, recv, connCounted: 0, connConsumed: 0, released: false };
    this.streams.set(id, entry);
    this.list = undefined;
    return entry;
  }

  canOpen(dir: StreamDirection): boolean {
    return this.nextLocal[dir] < this.localOpenCredit[dir].limit;
  }

  /** Opens a local stream, or returns undefined when the peer's MAX_STREAMS does not allow it yet. */
  open(dir: StreamDirection): number | undefined {
    if (!this.canOpen(dir)) {
      this.streamsBlockedPending[dir] = this.localOpenCredit[dir].limit;
      return undefined;
    }
    const id = makeStreamId(this.nextLocal[dir]++, this.role, dir);
    this.create(id);
    return id;
  }

  /**
   * Finds the stream a frame refers to, creating peer-initiated streams (and all lower-numbered ones of the type) on
   * first mention. Throws STREAM_STATE_ERROR for streams that cannot exist and STREAM_LIMIT_ERROR beyond MAX_STREAMS.
   */
  lookup(id: number, frameType: number, needs: 'send' | 'recv'): StreamEntry | undefined {
    const existing = this.streams.get(id);
    const dir = streamDirection(id);
    if (isLocallyInitiated(id, this.role)) {
      if (streamIndex(id) >= this.nextLocal[dir]) {
        throw new QuicError(TransportErrorCode.STREAM_STATE_ERROR, `stream ${id} not opened by us yet`, { frameType });
      }
    } else {
      const index = streamIndex(id);
      if (!this.peerOpenWindow[dir].allows(index)) {
        throw new QuicError(TransportErrorCode.STREAM_LIMIT_ERROR, `peer stream ${id} beyond MAX_STREAMS ${this.peerOpenWindow[dir].limit}`, { frameType });
      }
    }
    const halfOk = needs === 'send' ? hasSendHalf(id, this.role) : hasRecvHalf(id, this.role);
    if (!halfOk) {
      throw new QuicError(TransportErrorCode.STREAM_STATE_ERROR, `stream ${id} has no ${needs === 'send' ? 'sending' : 'receiving'} part here`, { frameType });
    }
    if (existing) return existing;
    if (isLocallyInitiated(id, this.role)) return undefined; // already closed and forgotten
    const index = streamIndex(id);
    if (index <= this.peerOpened[dir]) return undefined; // closed and forgotten
    for (let i = this.peerOpened[dir] + 1; i <= index; i++) {
      const sid = makeStreamId(i, this.role === 'client' ? 'server' : 'client', dir);
      this.create(sid);
      this.emit({ type: 'stream-opened', streamId: sid });
    }
    this.peerOpened[dir] = index;
    return this.streams.get(id);
  }

  // ---- incoming frames ----

  onStreamFrame(f: StreamFrame): void {
    const s = this.lookup(f.streamId, T.stream, 'recv');
    if (!s?.recv) return;
    const before = s.recv.readable();
    const grew = s.recv.receive(f.offset, f.data, f.fin, T.stream);
    this.countReceived(s, grew, T.stream);
    if (s.recv.readable() > before || s.recv.state === 'data-recvd') this.emit({ type: 'stream-readable', streamId: s.id });
  }

  private countReceived(s: StreamEntry, grew: number, frameType: number): void {
    if (grew <= 0) return;
    s.connCounted += grew;
    this.connReceivedTotal += grew;
    if (!this.connRecv.onReceived(this.connReceivedTotal)) {
      throw new QuicError(TransportErrorCode.FLOW_CONTROL_ERROR, `connection data ${this.connReceivedTotal} beyond MAX_DATA ${this.connRecv.limit}`, { frameType });
    }
  }

  onResetStream(f: { streamId: number; errorCode: ErrorCode; finalSize: number }, now: number, rtt: number): void {
    const s = this.lookup(f.streamId, T.reset_stream, 'recv');
    if (!s?.recv) return;
    const wasReset = s.recv.resetCode !== undefined;
    const grew = s.recv.onReset(f.errorCode, f.finalSize, T.reset_stream);
    this.countReceived(s, grew, T.reset_stream);
    // Unread bytes of a reset stream will never be read: return their credit to the connection window.
    this.consume(s, s.recv.finalSize ?? s.connCounted, now, rtt);
    if (!wasReset && s.recv.resetCode !== undefined) this.emit({ type: 'stream-reset', streamId: s.id, errorCode: f.errorCode });
    this.maybeRelease(s);
  }

  onStopSending(f: { streamId: number; errorCode: ErrorCode }): void {
    const s = this.lookup(f.streamId, T.stop_sending, 'send');
    if (!s?.send) return;
    const first = s.send.stopSendingCode === undefined;
    s.send.onStopSending(f.errorCode);
    if (first) this.emit({ type: 'stream-stop-sending', streamId: s.id, errorCode: f.errorCode });
  }

  onMaxStreamData(f: { streamId: number; maximum: number }): void {
    const s = this.lookup(f.streamId, T.max_stream_data, 'send');
    if (!s?.send) return;
    if (s.send.credit.raise(f.maximum) && s.send.writable() > 0) this.emit({ type: 'stream-writable', streamId: s.id });
  }

  onStreamDataBlocked(f: { streamId: number }): void {
    this.lookup(f.streamId, T.stream_data_blocked, 'recv');
  }

  onMaxData(maximum: number): void {
    if (this.connSend.raise(maximum)) {
      for (const s of this.streams.values()) if (s.send && s.send.writable() > 0) this.emit({ type: 'stream-writable', streamId: s.id });
    }
  }

  onMaxStreams(bidi: boolean, maximum: number): void {
    if (maximum > 2 ** 60) throw new QuicError(TransportErrorCode.FRAME_ENCODING_ERROR, 'MAX_STREAMS beyond 2^60', { frameType: bidi ? 0x12 : 0x13 });
    if (this.localOpenCredit[bidi ? 'bidi' : 'uni'].raise(maximum)) this.emit({ type: 'streams-available', bidi });
  }

  // ---- application side ----

  get(id: number): StreamEntry | undefined {
    return this.streams.get(id);
  }

  read(id: number, max: number, now: number, rtt: number): { data: Uint8Array; fin: boolean } {
    const s = this.streams.get(id);
    if (!s?.recv) return { data: new Uint8Array(0), fin: false };
    const data = s.recv.read(max, now, rtt);
    this.consume(s, s.recv.bytesRead, now, rtt);
    const fin = s.recv.isFinished;
    this.maybeRelease(s);
    return { data, fin };
  }

  private consume(s: StreamEntry, upTo: number, now: number, rtt: number): void {
    if (upTo <= s.connConsumed) return;
    this.connConsumedTotal += upTo - s.connConsumed;
    s.connConsumed = upTo;
    this.connRecv.onConsumed(this.connConsumedTotal, now, rtt);
  }

  stopSending(id: number, code: ErrorCode, now: number, rtt: number): boolean {
    const s = this.streams.get(id);
    if (!s?.recv) return false;
    const ok = s.recv.stopSending(code);
    // Discarded bytes count as consumed so the connection window keeps moving.
    this.consume(s, s.recv.highestReceived, now, rtt);
    return ok;
  }

  /** Forgets streams whose both halves are finished; peer-initiated ones return stream-count credit. */
  maybeRelease(s: StreamEntry): void {
    const sendDone = !s.send || s.send.isClosed;
    const recvDone = !s.recv || s.recv.isClosed || (s.recv.stopSendingCode !== undefined && s.recv.state !== 'recv' && s.recv.state !== 'size-known');
    if (!sendDone || !recvDone || s.released) return;
    s.released = true;
    this.streams.delete(s.id);
    this.list = undefined;
    if (!isLocallyInitiated(s.id, this.role)) this.peerOpenWindow[streamDirection(s.id)].onStreamClosed();
  }

  // ---- outgoing frames ----

  /** Control frames for streams and the connection: flow-control updates, blocked signals, resets, stop requests. */
  controlFrames(): readonly Frame[] {
    // Asked for every packet and nearly always empty: the result array is allocated only when a frame is due.
    let out: Frame[] | undefined = this.lostControl.length ? this.lostControl.splice(0) : undefined;
    const maxData = this.connRecv.takeUpdate();
    if (maxData !== undefined) (out ??= []).push({ type: 'max_data', maximum: maxData });
    for (let d = 0; d < DIRECTIONS.length; d++) {
      const dir = DIRECTIONS[d]!;
      const m = this.peerOpenWindow[dir].takeUpdate();
      if (m !== undefined) (out ??= []).push({ type: 'max_streams', bidi: dir === 'bidi', maximum: m });
      const b = this.streamsBlockedPending[dir];
      if (b !== undefined) (out ??= []).push({ type: 'streams_blocked', bidi: dir === 'bidi', limit: b });
    }
    if (this.streamsBlockedPending.bidi !== undefined || this.streamsBlockedPending.uni !== undefined) this.streamsBlockedPending = {};
    if (this.connSend.available() === 0 && this.anyStreamWaiting() && this.connSend.takeBlocked()) (out ??= []).push({ type: 'data_blocked', limit: this.connSend.limit });
    const list = this.entries();
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      const reset = s.send?.takeReset();
      if (reset) (out ??= []).push({ type: 'reset_stream', streamId: s.id, errorCode: reset.code, finalSize: reset.finalSize });
      const stop = s.recv?.takeStopSending();
      if (stop !== undefined) (out ??= []).push({ type: 'stop_sending', streamId: s.id, errorCode: stop });
      const msd = s.recv?.takeWindowUpdate();
      if (msd !== undefined) (out ??= []).push({ type: 'max_stream_data', streamId: s.id, maximum: msd });
      if (s.send?.isBlocked() && s.send.credit.takeBlocked()) (out ??= []).push({ type: 'stream_data_blocked', streamId: s.id, limit: s.send.credit.limit });
    }
    return out ?? NO_FRAMES;
  }

  private anyStreamWaiting(): boolean {
    const list = this.entries();
    for (let i = 0; i < list.length; i++) {
      const send = list[i]!.send;
      if (send && !send.isBlocked() && send.hasData()) return true;
    }
    return false;
  }

  hasStreamData(): boolean {
    const list = this.entries();
    for (let i = 0; i < list.length; i++) {
      const send = list[i]!.send;
      if (!send) continue;
      if (send.hasData() && (this.connSend.available() > 0 || send.hasRetransmitOrFin())) return true;
    }
    return false;
  }

  private entries(): StreamEntry[] {
    return (this.list ??= [...this.streams.values()]);
  }

  /** One STREAM frame filling at most `room` bytes, rotating among streams for fairness. */
  nextStreamFrame(room: number, mayEndPacket = false): StreamFrame | undefined {
    const list = this.entries();
    for (let k = 0; k < list.length; k++) {
      const s = list[(this.rr + k) % list.length]!;
      if (!s.send?.hasData()) continue;
      const offset = s.send.nextOffset();
      // A frame that ends the packet needs no Length field (RFC 9000 §19.8): those bytes carry data instead.
      const bareHeader = streamFrameHeaderSize(s.id, offset, 0, false);
      const fit = mayEndPacket ? room - bareHeader : maxStreamDataFitting(room, s.id, offset);
      if (fit <= 0 && !(s.send.hasRetransmitOrFin() && room >= 1 + 8 + 8 + 2)) continue;
      const next = s.send.nextChunk(fit, this.connSend.available());
      if (!next) continue;
      this.connSend.consume(next.newBytes);
      this.rr = (this.rr + k + 1) % Math.max(1, list.length);
      const chunk = next.chunk;
      // Shorter data keeps its Length (more frames may follow) unless the field itself no longer fits.
      const bare = mayEndPacket && streamFrameHeaderSize(s.id, chunk.offset, chunk.data.length, true) + chunk.data.length > room;
      return bare
        ? { type: 'stream', streamId: s.id, offset: chunk.offset, data: chunk.data, fin: chunk.fin, explicitLength: false }
        : { type: 'stream', streamId: s.id, offset: chunk.offset, data: chunk.data, fin: chunk.fin };
    }
    return undefined;
  }

  // ---- acknowledgements and losses of frames we sent ----

  /**
   * Streams that gained buffer room from the ACK frame being processed: one stream-writable event each, once the whole
   * frame is handled (emitAckedWritable), rather than one per acknowledged STREAM frame — an ACK commonly covers
   * several packets, and the application refills each stream completely on the first event anyway.
   */
  private readonly ackedWritable: StreamEntry[] = [];

  onFrameAcked(f: Frame): void {
    if (f.type === 'stream') {
      const s = this.streams.get(f.streamId);
      if (!s?.send) return;
      const wasClosed = s.send.isClosed;
      s.send.onAcked(f.offset, f.data.length, f.fin);
      if (!wasClosed && s.send.state === 'data-recvd') this.emit({ type: 'stream-finished', streamId: s.id });
      // Room only grows while an ACK frame is processed (acknowledgements never end or reset a stream).
      if (s.send.writable() > 0 && !this.ackedWritable.includes(s)) this.ackedWritable.push(s);
      this.maybeRelease(s);
    } else if (f.type === 'reset_stream') {
      const s = this.streams.get(f.streamId);
      s?.send?.onResetAcked();
      if (s) this.maybeRelease(s);
    }
  }

  /** Emits the stream-writable events gathered while one ACK frame was processed (see onFrameAcked). */
  emitAckedWritable(): void {
    const list = this.ackedWritable;
    for (let i = 0; i < list.length; i++) this.emit({ type: 'stream-writable', streamId: list[i]!.id });
    list.length = 0;
  }

  onFrameLost(f: Frame): void {
    switch (f.type) {
      case 'stream':
        this.streams.get(f.streamId)?.send?.onLost(f.offset, f.data.length, f.fin);
        return;
      case 'reset_stream':
        this.streams.get(f.streamId)?.send?.onResetLost();
        return;
      case 'stop_sending':
        this.streams.get(f.streamId)?.recv?.onStopSendingLost();
        return;
      case 'max_data':
        this.connRecv.requeueUpdate();
        return;
      case 'max_stream_data': {
        const r = this.streams.get(f.streamId)?.recv;
        if (r && r.state === 'recv') r.window.requeueUpdate();
        return;
      }
      case 'max_streams':
        this.peerOpenWindow[f.bidi ? 'bidi' : 'uni'].requeueUpdate();
        return;
      case 'data_blocked':
        if (this.connSend.stillBlockedAt(f.limit)) this.lostControl.push(f);
        return;
      case 'stream_data_blocked': {
        const s = this.streams.get(f.streamId)?.send;
        if (s?.credit.stillBlockedAt(f.limit)) this.lostControl.push(f);
        return;
      }
      case 'streams_blocked':
        if (this.localOpenCredit[f.bidi ? 'bidi' : 'uni'].limit === f.limit) this.lostControl.push(f);
        return;
      default:
        return;
    }
  }
}

/**
 * Unacknowledged bytes one stream may hold: two congestion windows, so a sender that may have a window in flight also
 * has the next one queued while ACKs travel (on a fast path a fixed 1 MiB ran dry between ACKs: loopback, 64 KiB
 * datagrams, 75-80 -> 90-96 MB/s at 4 MiB), never under 1 MiB and never over 16 MiB per stream. Whole bytes: CUBIC's
 * window is fractional, and a fractional limit became a fractional write length and file offset (a server crash).
 */
export function sendBufferLimitFor(window: number): number {
  return Math.min(16 << 20, Math.max(1 << 20, Math.floor(2 * window)));
}
