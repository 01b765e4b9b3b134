// Glue between a QuicConnection and the applications (hq-interop, HTTP/3, echo): a StreamTransport adapter and
// event routing. Used by the CLI (real sockets) and the scenario runner (virtual time) alike.

import type { DatagramEndpoint, OutgoingDatagram } from '../endpoint.js';
import type { QuicConnection } from '../quic/connection.js';
import type { ConnectionEvent } from '../quic/connection-events.js';
import { H3Client, H3Server } from './h3.js';
import { HqClient, HqServer } from './hq.js';
import { EchoServer } from './echo.js';
import type { FileSource, ResponseSink, StreamTransport } from './transport.js';

/** Adapts a connection to the stream-level interface the applications use; `now` supplies the caller's clock. */
export function connectionTransport(conn: QuicConnection, now: () => number): StreamTransport {
  return {
    role: conn.role,
    openStream: (dir) => conn.openStream(dir),
    // The apps write file chunks, frames they built and bytes they read, and never touch them again: no copy needed.
    write: (id, data, fin = false) => conn.writeStream(id, data, fin, true),
    read: (id, max) => conn.readStream(id, max, now()),
    reset: (id, code) => void conn.resetStream(id, code),
    stopSending: (id, code) => void conn.stopSending(id, code, now()),
    closeConnection: (code, reason) => conn.close(code, reason, true, now()),
  };
}

export type AppProtocol = 'h3' | 'hq-interop';

/** The client side of a download session on one connection. */
export class QuicClientApp {
  private app: HqClient | H3Client | undefined;
  private readonly queued: string[] = [];
  private readonly t: StreamTransport;
  handshakeDone = false;
  closed = false;
  /**
   * The connection-level events seen so far (handshake, tickets, key updates, version changes, close…), for callers that
   * log them. The per-stream data events (readable, writable, finished), one or more per packet of a download, are
   * handled here and not kept: a long transfer would otherwise hold every one of them.
   */
  readonly events: ConnectionEvent[] = [];

  constructor(
    readonly conn: QuicConnection,
    private readonly protocol: AppProtocol,
    private readonly authority: string,
    private readonly sink: ResponseSink,
    now: () => number,
    /** Start requests before the handshake completes (0-RTT); otherwise they wait for handshake-complete. */
    private readonly early = false,
  ) {
    this.t = connectionTransport(conn, now);
  }

  request(path: string): void {
    if (this.app) this.app.request(path);
    else this.queued.push(path);
  }

  get completed(): number {
    return this.app?.completed ?? 0;
  }

  get failed(): number {
    return this.app?.failed ?? 0;
  }

  /** All requests answered (or failed). */
  get idle(): boolean {
    return this.queued.length === 0 && (!this.app || this.app.idle);
  }

  private ensureApp(): HqClient | H3Client {
    if (!this.app) {
      this.app = this.protocol === 'h3' ? new H3Client(this.t, this.authority, this.sink) : new HqClient(this.t, this.sink);
      for (const p of this.queued.splice(0)) this.app.request(p);
    }
    return this.app;
  }

  /** Drains connection events into the application; call after every input to the connection. */
  poll(): void {
    if (this.early && !this.handshakeDone && !this.closed) this.ensureApp().pump();
    for (let e = this.conn.pollEvent(); e; e = this.conn.pollEvent()) {
      if (e.type !== 'stream-readable' && e.type !== 'stream-writable' && e.type !== 'stream-finished') this.events.push(e);
      switch (e.type) {
        case 'handshake-complete':
          this.handshakeDone = true;
          this.ensureApp().pump();
          break;
        case 'stream-readable':
          this.app?.onReadable(e.streamId);
          break;
        case 'stream-reset':
          this.app?.onReset(e.streamId, e.errorCode);
          break;
        case 'stream-writable':
        case 'streams-available':
        case 'early-data':
          this.app?.pump();
          break;
        case 'closing':
        case 'closed':
          this.closed = true;
          break;
      }
    }
    if (this.handshakeDone && !this.closed) this.app?.pump();
  }
}

/**
 * The server side: serves `files` on every accepted connection with the protocol its ALPN chose (h3 or hq-interop),
 * or echoes every stream when `files` is 'echo' (or the ALPN is "echo").
 */
export class QuicServerApp {
  private readonly apps = new Map<QuicConnection, HqServer | H3Server | EchoServer>();
  /** Connections whose application failed: closing, and never given a new application. */
  private readonly failed = new WeakSet<QuicConnection>();

  constructor(
    private readonly files: FileSource | 'echo',
    private readonly now: () => number,
    /** Sees every connection event after the app has; the CLI logs key updates and closes with it. */
    private readonly observe?: (conn: QuicConnection, e: ConnectionEvent) => void,
  ) {}

  private appFor(conn: QuicConnection): HqServer | H3Server | EchoServer | undefined {
    let app = this.apps.get(conn);
    if (app) return app;
    const alpn = conn.tls.alpn;
    if (!alpn) return undefined;
    const t = connectionTransport(conn, this.now);
    if (this.files === 'echo' || alpn === 'echo') app = new EchoServer(t);
    else app = alpn === 'h3' ? new H3Server(t, this.files) : new HqServer(t, this.files);
    this.apps.set(conn, app);
    return app;
  }

  /**
   * Drains events of every connection; call after every input to the server endpoint. A fault in one connection's
   * application (a bug, a file that cannot be read) closes that connection with an internal error and keeps the stack
   * in its `internalErrors`; the other connections and the server go on.
   */
  poll(connections: Iterable<QuicConnection>): void {
    for (const conn of connections) {
      try {
        this.pollOne(conn);
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        conn.internalErrors.push(error);
        // H3_INTERNAL_ERROR for HTTP/3; hq-interop and echo define no codes, so the transport's INTERNAL_ERROR value.
        const code = this.apps.get(conn) instanceof H3Server ? 0x102 : 0x1;
        this.apps.delete(conn);
        this.failed.add(conn);
        conn.close(code, `internal error: ${error.message}`, true, this.now());
        for (let ev = conn.pollEvent(); ev; ev = conn.pollEvent()) this.observe?.(conn, ev);
      }
    }
  }

  private pollOne(conn: QuicConnection): void {
    for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
      const app = this.failed.has(conn) ? undefined : this.appFor(conn);
      switch (e.type) {
        case 'handshake-complete':
          if (app instanceof H3Server) app.start();
          break;
        case 'stream-readable':
        case 'stream-opened':
          app?.onReadable(e.streamId);
          break;
        case 'stream-writable':
          app?.onWritable(e.streamId);
          break;
        case 'closed':
          this.apps.delete(conn);
          break;
      }
      this.observe?.(conn, e);
    }
    this.apps.get(conn)?.pumpAll();
  }

  get served(): number {
    let n = 0;
    for (const a of this.apps.values()) n += a instanceof EchoServer ? 0 : a.served;
    return n;
  }
}

/**
 * Wraps an endpoint so an application sees every connection event right after each input (datagram, timer, poll),
 * and records the caller's latest `now` in `clock` for the application's reads.
 */
export function withApp(inner: DatagramEndpoint, poll: () => void, clock: { now: number }): DatagramEndpoint {
  return {
    receiveDatagram(d, from, now, local) {
      clock.now = now;
      inner.receiveDatagram(d, from, now, local);
      poll();
    },
    pollDatagrams(now): OutgoingDatagram[] {
      clock.now = now;
      poll();
      return inner.pollDatagrams(now);
    },
    nextTimeout: () => inner.nextTimeout(),
    handleTimeout(now) {
      clock.now = now;
      inner.handleTimeout(now);
      poll();
    },
  };
}
