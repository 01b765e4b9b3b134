// An OpenSSL-style QUIC API (DESIGN.md §3, after OpenSSL's openssl-quic(7)) over the sans-I/O connection (RFC 9000 §2–§3 streams, §10 closing).

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../endpoint.js';
import type { QuicConnection } from './connection.js';
import { checkErrorCode, type ErrorCode } from './errors.js';
import type { CloseInfo, ConnectionEvent } from './connection-events.js';
import type { StreamDirection } from './stream-id.js';
import { isLocallyInitiated, streamDirection } from './stream-id.js';

/** Read side of a stream, as SSL_get_stream_read_state reports it. */
export type StreamReadState = 'none' | 'ok' | 'finished' | 'reset-remote' | 'reset-local' | 'connection-closed';
/** Write side of a stream, as SSL_get_stream_write_state reports it. */
export type StreamWriteState = 'none' | 'ok' | 'finished' | 'reset-remote' | 'reset-local' | 'connection-closed';

/** SSL_set_incoming_stream_policy: what happens to streams the peer opens. */
export type IncomingStreamPolicy = 'auto' | 'accept' | 'reject';

/** SSL_set_default_stream_mode: 'auto-bidi' binds the connection object to one stream; 'none' is multi-stream mode. */
export type DefaultStreamMode = 'auto-bidi' | 'auto-uni' | 'none';

export interface ShutdownOptions {
  /** Skip waiting for streams to drain: send CONNECTION_CLOSE at once (SSL_SHUTDOWN_FLAG_RAPID). */
  readonly rapid?: boolean;
  readonly appErrorCode?: ErrorCode;
  readonly reason?: string;
}

/** Blocking mode: when an async call cannot finish, it asks the driver to move the network forward. */
export interface ApiDriver {
  /** Resolves after at least one input (datagram or timer) has been processed, or time has advanced. */
  wait(): Promise<void>;
  /**
   * Sends what the connection has ready now. Blocking calls that create output (a write the buffer took whole, FIN)
   * call it, as a blocking SSL_write does: otherwise the bytes would wait for the next datagram or timer, and an
   * idle peer sends neither.
   */
  flush?(): void;
}

export interface ApiOptions {
  readonly defaultStreamMode?: DefaultStreamMode;
  readonly incomingStreamPolicy?: IncomingStreamPolicy;
  /** Application error code used when rejecting incoming streams. */
  readonly incomingRejectCode?: ErrorCode;
  /** The clock for calls that need `now` (reads update flow-control windows; shutdown starts timers). */
  readonly clock: () => number;
  readonly driver?: ApiDriver;
}

export class QuicApiError extends Error {
  override name = 'QuicApiError';
  constructor(
    message: string,
    readonly closeInfo?: CloseInfo,
  ) {
    super(message);
  }
}

/** A stream object (an OpenSSL QUIC stream SSL). */
export class QuicStream {
  /** RESET_STREAM code the peer sent (SSL_get_stream_read_error_code). */
  peerResetCode: ErrorCode | undefined;
  /** STOP_SENDING code the peer sent (SSL_get_stream_write_error_code). */
  peerStopSendingCode: ErrorCode | undefined;
  private localReset = false;
  private localStop = false;
  private concluded = false;
  private finRead = false;

  constructor(
    readonly id: number,
    private readonly api: QuicApi,
  ) {}

  get direction(): StreamDirection {
    return streamDirection(this.id);
  }

  get isLocal(): boolean {
    return isLocallyInitiated(this.id, this.api.connection.role);
  }

  private get conn(): QuicConnection {
    return this.api.connection;
  }

  get readState(): StreamReadState {
    this.api.pump();
    if (this.direction === 'uni' && this.isLocal) return 'none';
    if (this.peerResetCode !== undefined) return 'reset-remote';
    if (this.localStop) return 'reset-local';
    if (this.finRead) return 'finished';
    if (this.api.connectionEnded) return 'connection-closed';
    return 'ok';
  }

  get writeState(): StreamWriteState {
    this.api.pump();
    if (this.direction === 'uni' && !this.isLocal) return 'none';
    if (this.localReset) return 'reset-local';
    if (this.peerStopSendingCode !== undefined) return 'reset-remote';
    if (this.concluded) return 'finished';
    if (this.api.connectionEnded) return 'connection-closed';
    return 'ok';
  }

  /** Non-blocking read: bytes, 'want-read' when none are available yet, or the terminal read state. */
  read(max = 65536): Uint8Array | 'want-read' | Exclude<StreamReadState, 'ok'> {
    this.api.pump();
    const state = this.readState;
    if (state !== 'ok') return state;
    const r = this.conn.readStream(this.id, max, this.api.now());
    if (r.fin) this.finRead = true;
    if (r.data.length) return r.data;
    return this.finRead ? 'finished' : 'want-read';
  }

  /** Non-blocking write: bytes accepted, 'want-write' when the send buffer is full, or the terminal write state. */
  write(data: Uint8Array): number | 'want-write' | Exclude<StreamWriteState, 'ok'> {
    this.api.pump();
    const state = this.writeState;
    if (state !== 'ok') return state;
    if (!data.length) return 0;
    const n = this.conn.writeStream(this.id, data);
    return n > 0 ? n : 'want-write';
  }

  /** FIN (SSL_stream_conclude). */
  conclude(): boolean {
    this.api.pump();
    if (this.writeState !== 'ok') return false;
    this.concluded = this.conn.concludeStream(this.id);
    return this.concluded;
  }

  /** RESET_STREAM with an application error code (SSL_stream_reset). */
  reset(appErrorCode: ErrorCode): boolean {
    if (this.writeState === 'none' || this.localReset) return false;
    this.localReset = this.conn.resetStream(this.id, appErrorCode);
    return this.localReset;
  }

  /** STOP_SENDING: we will not read any more. */
  stopSending(appErrorCode: ErrorCode): boolean {
    if (this.readState !== 'ok') return false;
    this.localStop = this.conn.stopSending(this.id, appErrorCode, this.api.now());
    return this.localStop;
  }

  /** @internal */
  onPeerReset(code: ErrorCode): void {
    this.peerResetCode ??= code;
  }

  /** @internal */
  onPeerStopSending(code: ErrorCode): void {
    this.peerStopSendingCode ??= code;
  }

  // ---- blocking mode ----

  /** Resolves with data (at least one byte) or the terminal read state. */
  async readAsync(max = 65536): Promise<Uint8Array | Exclude<StreamReadState, 'ok'>> {
    for (;;) {
      const r = this.read(max);
      if (r !== 'want-read') return r;
      await this.api.waitForProgress();
    }
  }

  /** Reads until FIN; rejects if the stream is reset or the connection ends first. */
  async readAllAsync(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const r = await this.readAsync();
      if (r instanceof Uint8Array) {
        parts.push(r);
        continue;
      }
      if (r === 'finished') return concatAll(parts);
      throw new QuicApiError(`stream ${this.id} ended without FIN: ${r}${this.peerResetCode !== undefined ? ` (code ${this.peerResetCode})` : ''}`, this.api.closeInfo);
    }
  }

  /** Writes everything (waiting for buffer space), then optionally concludes. */
  async writeAllAsync(data: Uint8Array, conclude = false): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const r = this.write(data.subarray(off));
      if (typeof r === 'number') {
        off += r;
        continue;
      }
      if (r !== 'want-write') throw new QuicApiError(`stream ${this.id} cannot be written: ${r}`, this.api.closeInfo);
      await this.api.waitForProgress();
    }
    if (conclude) this.conclude();
    this.api.flush();
  }
}

/**
 * The connection object (an OpenSSL QUIC connection SSL). It is also a DatagramEndpoint, so the same drivers (the UDP
 * adapter, the simulator, test wiring) that move a bare connection can move it.
 */
export class QuicApi implements DatagramEndpoint {
  private readonly streams = new Map<number, QuicStream>();
  private readonly acceptQueue: QuicStream[] = [];
  private defaultStream: QuicStream | undefined;
  private defaultMode: DefaultStreamMode;
  private policy: IncomingStreamPolicy;
  private rejectCode: ErrorCode;
  private shutdownRequested: ShutdownOptions | undefined;
  handshakeComplete = false;

  constructor(
    readonly connection: QuicConnection,
    private readonly opts: ApiOptions,
  ) {
    this.defaultMode = opts.defaultStreamMode ?? 'auto-bidi';
    this.policy = opts.incomingStreamPolicy ?? 'auto';
    this.rejectCode = checkErrorCode(opts.incomingRejectCode ?? 0);
  }

  now(): number {
    return this.opts.clock();
  }

  get closeInfo(): CloseInfo | undefined {
    return this.connection.closeInfo;
  }

  /** The connection is closing, draining or closed: streams can no longer move data. */
  get connectionEnded(): boolean {
    const p = this.connection.phase;
    return p === 'closing' || p === 'draining' || p === 'closed';
  }

  /** Fully terminated (SSL_get_shutdown complete / the connection may be freed). */
  get isTerminated(): boolean {
    return this.connection.phase === 'closed';
  }

  /** Drains connection events into stream and queue state. Every API call does this first. */
  pump(): void {
    if (this.pumping) return; // stream getters pump too; events must be handled once, in order
    this.pumping = true;
    try {
      for (let e = this.connection.pollEvent(); e; e = this.connection.pollEvent()) this.onEvent(e);
      this.continueShutdown();
    } finally {
      this.pumping = false;
    }
  }

  private pumping = false;

  private onEvent(e: ConnectionEvent): void {
    switch (e.type) {
      case 'handshake-complete':
        this.handshakeComplete = true;
        return;
      case 'stream-opened':
        this.onIncomingStream(e.streamId);
        return;
      case 'stream-reset':
        this.streamFor(e.streamId)?.onPeerReset(e.errorCode);
        return;
      case 'stream-stop-sending':
        this.streamFor(e.streamId)?.onPeerStopSending(e.errorCode);
        return;
      default:
        return;
    }
  }

  private streamFor(id: number): QuicStream | undefined {
    let s = this.streams.get(id);
    if (!s && this.connection.streams.get(id)) {
      s = new QuicStream(id, this);
      this.streams.set(id, s);
    }
    return s;
  }

  private onIncomingStream(id: number): void {
    const s = new QuicStream(id, this);
    this.streams.set(id, s);
    // Default stream mode: the first peer stream becomes the default stream if we have none yet (a first read waits for it).
    if (this.defaultMode !== 'none' && !this.defaultStream && this.policy !== 'reject') {
      this.defaultStream = s;
      return;
    }
    const accept = this.policy === 'accept' || (this.policy === 'auto' && this.defaultMode === 'none');
    if (accept) {
      this.acceptQueue.push(s);
      return;
    }
    // Rejected: stop the peer sending and abandon our half (RFC 9000 §3.5).
    s.stopSending(this.rejectCode);
    s.reset(this.rejectCode);
  }

  // ---- configuration ----

  setDefaultStreamMode(mode: DefaultStreamMode): void {
    this.defaultMode = mode;
  }

  setIncomingStreamPolicy(policy: IncomingStreamPolicy, appErrorCode: ErrorCode = 0): void {
    this.policy = policy;
    this.rejectCode = checkErrorCode(appErrorCode);
  }

  get acceptQueueLength(): number {
    this.pump();
    return this.acceptQueue.length;
  }

  // ---- multi-stream mode ----

  /** SSL_new_stream: a new locally-initiated stream, or 'want-streams' while the peer's MAX_STREAMS forbids it. */
  newStream(direction: StreamDirection): QuicStream | 'want-streams' | 'connection-closed' {
    this.pump();
    if (this.connectionEnded) return 'connection-closed';
    const id = this.connection.openStream(direction);
    if (id === undefined) return 'want-streams';
    const s = new QuicStream(id, this);
    this.streams.set(id, s);
    return s;
  }

  /** SSL_accept_stream: the next queued peer-initiated stream, if any. */
  acceptStream(): QuicStream | undefined {
    this.pump();
    return this.acceptQueue.shift();
  }

  async newStreamAsync(direction: StreamDirection): Promise<QuicStream> {
    for (;;) {
      const s = this.newStream(direction);
      if (s instanceof QuicStream) return s;
      if (s === 'connection-closed') throw new QuicApiError('connection closed', this.closeInfo);
      await this.waitForProgress();
    }
  }

  async acceptStreamAsync(): Promise<QuicStream> {
    for (;;) {
      const s = this.acceptStream();
      if (s) return s;
      if (this.connectionEnded) throw new QuicApiError('connection closed while waiting for a stream', this.closeInfo);
      await this.waitForProgress();
    }
  }

  // ---- default stream mode ----

  /** The stream bound to the connection object, created on first write (or adopted on first peer stream). */
  get defaultStreamObject(): QuicStream | undefined {
    return this.defaultStream;
  }

  private ensureDefaultForWrite(): QuicStream | 'want-write' | 'none' {
    this.pump();
    if (this.defaultStream) return this.defaultStream;
    if (this.defaultMode === 'none') return 'none';
    const s = this.newStream(this.defaultMode === 'auto-uni' ? 'uni' : 'bidi');
    if (!(s instanceof QuicStream)) return 'want-write';
    this.defaultStream = s;
    return s;
  }

  /** SSL_write on the connection: the default stream (a locally-initiated one is opened on the first write). */
  write(data: Uint8Array): number | 'want-write' | Exclude<StreamWriteState, 'ok'> {
    const s = this.ensureDefaultForWrite();
    if (s === 'none') return 'none';
    if (s === 'want-write') return this.connectionEnded ? 'connection-closed' : 'want-write';
    return s.write(data);
  }

  /** SSL_read on the connection: the default stream; before any write this waits for the peer to open one. */
  read(max = 65536): Uint8Array | 'want-read' | Exclude<StreamReadState, 'ok'> {
    this.pump();
    if (this.defaultMode === 'none') return 'none';
    if (!this.defaultStream) return this.connectionEnded ? 'connection-closed' : 'want-read';
    return this.defaultStream.read(max);
  }

  conclude(): boolean {
    this.pump();
    return this.defaultStream?.conclude() ?? false;
  }

  get streamReadState(): StreamReadState {
    this.pump();
    return this.defaultStream?.readState ?? (this.connectionEnded ? 'connection-closed' : 'none');
  }

  get streamWriteState(): StreamWriteState {
    this.pump();
    return this.defaultStream?.writeState ?? (this.connectionEnded ? 'connection-closed' : 'none');
  }

  async readAsync(max = 65536): Promise<Uint8Array | Exclude<StreamReadState, 'ok'>> {
    for (;;) {
      const r = this.read(max);
      if (r !== 'want-read') return r;
      await this.waitForProgress();
    }
  }

  async writeAsync(data: Uint8Array, conclude = false): Promise<void> {
    for (;;) {
      const s = this.ensureDefaultForWrite();
      if (s instanceof QuicStream) return s.writeAllAsync(data, conclude);
      if (s === 'none') throw new QuicApiError('no default stream in multi-stream mode');
      if (this.connectionEnded) throw new QuicApiError('connection closed', this.closeInfo);
      await this.waitForProgress();
    }
  }

  // ---- handshake and shutdown ----

  /** SSL_do_handshake: true when done, 'want-read' while in progress. Throws once the connection failed. */
  doHandshake(): true | 'want-read' {
    this.pump();
    if (this.handshakeComplete) return true;
    if (this.connectionEnded) throw new QuicApiError(`handshake failed: ${this.closeInfo?.reason ?? 'connection closed'}`, this.closeInfo);
    return 'want-read';
  }

  async handshakeAsync(): Promise<void> {
    while (this.doHandshake() !== true) await this.waitForProgress();
  }

  /**
   * SSL_shutdown_ex: starts closing. Without `rapid`, waits until every stream's data is acknowledged before sending
   * CONNECTION_CLOSE. Returns 'complete' once the connection is terminated, else 'in-progress'.
   */
  shutdown(opts: ShutdownOptions = {}): 'complete' | 'in-progress' {
    if (opts.appErrorCode !== undefined) checkErrorCode(opts.appErrorCode);
    this.shutdownRequested ??= opts;
    this.pump();
    return this.isTerminated ? 'complete' : 'in-progress';
  }

  private continueShutdown(): void {
    const req = this.shutdownRequested;
    if (!req || this.connectionEnded) return;
    if (!req.rapid) {
      for (const s of this.connection.streams.streams.values()) {
        if (s.send && !s.send.isClosed && s.send.state !== 'ready') return;
      }
    }
    this.connection.close(req.appErrorCode ?? 0, req.reason ?? '', true, this.now());
  }

  async shutdownAsync(opts: ShutdownOptions = {}): Promise<void> {
    while (this.shutdown(opts) !== 'complete') await this.waitForProgress();
  }

  // ---- event loop integration ----

  /** SSL_get_event_timeout: the deadline (ms, same clock) by which handleEvents must run, or undefined for none. */
  eventTimeout(): number | undefined {
    return this.connection.nextTimeout();
  }

  /** SSL_handle_events: processes expired timers. */
  handleEvents(now = this.now()): void {
    const t = this.connection.nextTimeout();
    if (t !== undefined && t <= now) this.connection.handleTimeout(now);
    this.pump();
  }

  /** SSL_net_read_desired: whether the network side should be polled for incoming datagrams. */
  get netReadDesired(): boolean {
    return this.connection.phase !== 'closed';
  }

  /** SSL_net_write_desired: whether the connection has datagrams ready to go out. */
  get netWriteDesired(): boolean {
    return this.connection.wantsToWrite(this.now());
  }

  /** Blocking mode: hand what is ready to the driver now (no-op without a driver or in non-blocking use). */
  flush(): void {
    this.opts.driver?.flush?.();
  }

  /** Blocking mode: let the driver move the network forward once. */
  async waitForProgress(): Promise<void> {
    if (!this.opts.driver) throw new QuicApiError('blocking call without a driver (non-blocking mode: use the want-read/want-write results)');
    await this.opts.driver.wait();
    this.pump();
  }

  // ---- DatagramEndpoint ----

  receiveDatagram(data: Uint8Array, from: Address, now: number, local?: Address): void {
    this.connection.receiveDatagram(data, from, now, local);
    this.pump();
  }

  pollDatagrams(now: number): OutgoingDatagram[] {
    this.pump();
    return this.connection.pollDatagrams(now);
  }

  nextTimeout(): number | undefined {
    return this.connection.nextTimeout();
  }

  handleTimeout(now: number): void {
    this.connection.handleTimeout(now);
    this.pump();
  }
}

function concatAll(parts: Uint8Array[]): Uint8Array {
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
