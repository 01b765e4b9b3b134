// The simulated QUIC server side of a scenario (RFC 9000 §5.2, §8.1 via QuicServer): serves generated files over
// hq-interop or HTTP/3 to every accepted connection and records what each connection did.

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../../engine/endpoint.js';
import type { QuicConnection } from '../../engine/quic/connection.js';
import type { CloseInfo, ConnectionEvent } from '../../engine/quic/connection-events.js';
import { QuicServer, type ServerOptions } from '../../engine/quic/server.js';
import { HqServer } from '../../engine/apps/hq.js';
import { H3Server } from '../../engine/apps/h3.js';
import type { FileSource } from '../../engine/apps/transport.js';
import { ConnectionTransport } from './stream-transport.js';

export interface ServerConnectionRecord {
  keyUpdates: number;
  handshakeAt?: number;
  resumed?: boolean;
  earlyData?: boolean;
  closeInfo?: CloseInfo;
  served: number;
}

type ServerApp = { onReadable(id: number): void; onWritable(id: number): void; pumpAll?(): void; start?(): void; served: number };

class ServerSession {
  readonly transport: ConnectionTransport;
  private app: ServerApp | undefined;
  readonly record: ServerConnectionRecord = { keyUpdates: 0, served: 0 };
  /** Closed and its final events read (ServerHost stops visiting it). */
  drained = false;

  constructor(
    readonly conn: QuicConnection,
    private readonly files: FileSource | undefined,
  ) {
    this.transport = new ConnectionTransport(conn);
  }

  /** The application follows the negotiated ALPN; scripted scenarios (no files) run none and drive streams themselves. */
  private appFor(): ServerApp | undefined {
    if (this.app || !this.files) return this.app;
    const alpn = this.conn.tls.alpn;
    if (alpn === 'h3') this.app = new H3Server(this.transport, this.files);
    else if (alpn === 'hq-interop') this.app = new HqServer(this.transport, this.files);
    return this.app;
  }

  process(now: number, scripted: boolean): void {
    this.transport.now = now;
    if (scripted) {
      // The step interpreter reads this connection's events itself.
      return;
    }
    for (let e = this.conn.pollEvent(); e; e = this.conn.pollEvent()) this.onEvent(e, now);
    this.pump();
  }

  pump(): void {
    const app = this.app;
    if (!app) return;
    app.pumpAll?.();
    this.record.served = app.served;
  }

  onEvent(e: ConnectionEvent, now: number): void {
    const r = this.record;
    switch (e.type) {
      case 'handshake-complete':
        r.handshakeAt = now;
        r.resumed = e.resumed;
        this.appFor()?.start?.();
        break;
      case 'stream-readable':
        this.appFor()?.onReadable(e.streamId);
        break;
      case 'stream-writable':
        this.appFor()?.onWritable(e.streamId);
        break;
      case 'early-data':
        r.earlyData = e.accepted;
        break;
      case 'key-update':
        r.keyUpdates++;
        break;
      case 'closing':
      case 'closed':
        r.closeInfo ??= e.info;
        break;
    }
  }
}

export interface ServerHostOptions extends ServerOptions {
  /** Files to serve; absent for scripted scenarios. */
  files?: FileSource;
  /** Leave connection events to a step interpreter. */
  scripted?: boolean;
  /** Keep every accepted connection to the end (connections() lists them), not only the live ones. */
  keepSessions?: boolean;
}

export class ServerHost implements DatagramEndpoint {
  readonly server: QuicServer;
  /** Every connection the server accepted, in order (QuicServer forgets closed ones). */
  readonly records: ServerConnectionRecord[] = [];
  /**
   * Scripted runs and keepSessions only. Otherwise, as in ClientFleet, nothing outlives a session's draining but its
   * record and its connection's internal-error list.
   */
  private readonly sessions: ServerSession[] = [];
  private readonly errorLists: Error[][] = [];
  retries = 0;

  constructor(private readonly opts: ServerHostOptions) {
    this.server = new QuicServer({
      ...opts,
      onEvent: (e) => {
        if (e.type === 'retry') this.retries++;
        opts.onEvent?.(e);
      },
    });
  }

  /** Every accepted connection (needs keepSessions or scripted; otherwise drained ones are gone). */
  connections(): QuicConnection[] {
    return this.sessions.map((s) => s.conn);
  }

  connection(i: number): QuicConnection | undefined {
    return this.sessions[i]?.conn;
  }

  /** Exceptions caught as INTERNAL_ERROR (engine bugs): in routing, then in each accepted connection. */
  get internalErrors(): Error[] {
    return [...this.server.internalErrors, ...this.errorLists.flat()];
  }

  /**
   * The sessions whose connection has not closed and been read to the end, in accept order: a fifty-connection run
   * (handshakeloss) otherwise visits every finished session on every datagram.
   */
  private active: ServerSession[] = [];

  private afterInput(now: number): void {
    for (let c = this.server.accept(); c; c = this.server.accept()) {
      const s = new ServerSession(c, this.opts.files);
      this.records.push(s.record);
      this.errorLists.push(c.internalErrors);
      if (this.opts.scripted || this.opts.keepSessions) this.sessions.push(s);
      this.active.push(s);
    }
    // A session closed before this input still has its last events (closing, closed) to read: once more, then no more.
    let drained = false;
    for (const s of this.active) {
      if (s.conn.phase === 'closed') drained = s.drained = true;
      s.process(now, !!this.opts.scripted);
    }
    if (drained) this.active = this.active.filter((s) => !s.drained);
  }

  receiveDatagram(data: Uint8Array, from: Address, now: number, local?: Address): void {
    this.server.receiveDatagram(data, from, now, local);
    this.afterInput(now);
  }

  pollDatagrams(now: number): OutgoingDatagram[] {
    if (!this.opts.scripted) for (const s of this.active) if (s.conn.phase !== 'closed') s.pump();
    return this.server.pollDatagrams(now);
  }

  nextTimeout(): number | undefined {
    return this.server.nextTimeout();
  }

  handleTimeout(now: number): void {
    this.server.handleTimeout(now);
    this.afterInput(now);
  }
}
