// The simulated QUIC client side of a scenario (RFC 9000 §5 connections, RFC 9001 §4.6 0-RTT, §6 key update): one
// datagram endpoint running N connections one after another or side by side, each downloading the scenario's files.

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../../engine/endpoint.js';
import { QuicConnection } from '../../engine/quic/connection.js';
import type { QuicConfig } from '../../engine/quic/config.js';
import type { CloseInfo, ConnectionEvent } from '../../engine/quic/connection-events.js';
import type { SessionTicket } from '../../engine/tls/api.js';
import { HqClient } from '../../engine/apps/hq.js';
import { H3Client } from '../../engine/apps/h3.js';
import { DownloadLedger } from './content.js';
import { ConnectionTransport } from './stream-transport.js';

export interface ClientPlan {
  connections: number;
  parallel: boolean;
  alpn: 'h3' | 'hq-interop';
  paths: string[];
  /** Offer the previous connection's ticket to the next one. */
  resumption: boolean;
  zerortt: boolean;
  keyUpdate: boolean;
  /** Step-scripted scenarios: no application; the script reads the connection's events itself. */
  scripted?: boolean;
  clientHost: string;
  basePort: number;
  server: Address;
  /** Config for connection i (0-based), resuming `ticket` when given. */
  config(i: number, ticket?: SessionTicket): QuicConfig;
}

/** What one connection did, for the expectations. */
export interface ClientConnectionRecord {
  index: number;
  startedAt: number;
  handshakeAt?: number;
  finishedAt?: number;
  resumed?: boolean;
  version?: number;
  alpn?: string;
  cipherSuite?: string;
  earlyData?: boolean;
  retried: boolean;
  keyUpdates: number;
  closeInfo?: CloseInfo;
  ledger: DownloadLedger;
  offeredTicket: boolean;
}

interface App {
  request(path: string): void;
  pump(): void;
  onReadable(id: number): void;
  onReset(id: number, code: number | bigint): void;
  readonly idle: boolean;
  completed: number;
  failed: number;
}

class ClientSession {
  readonly transport: ConnectionTransport;
  readonly app: App;
  ticket: SessionTicket | undefined;
  /** Closed and its final events read: nothing more will happen on it. */
  drained = false;
  private keyUpdateDone = false;
  private closed = false;

  constructor(
    readonly conn: QuicConnection,
    readonly record: ClientConnectionRecord,
    readonly local: Address,
    private readonly plan: ClientPlan,
  ) {
    this.transport = new ConnectionTransport(conn);
    this.app = plan.alpn === 'h3' ? new H3Client(this.transport, 'localhost', record.ledger) : new HqClient(this.transport, record.ledger);
    for (const p of plan.paths) this.app.request(p);
  }

  /** All requests answered (or failed) and the connection is closing, or the connection died. */
  get finished(): boolean {
    return this.record.finishedAt !== undefined || this.conn.phase === 'closed' || this.conn.phase === 'draining' || this.conn.phase === 'closing';
  }

  get gone(): boolean {
    return this.conn.phase === 'closed';
  }

  begin(now: number): void {
    this.setNow(now);
    // With a ticket and 0-RTT on, requests go out before the handshake completes (RFC 9001 §4.6.1).
    if (this.plan.zerortt && this.record.offeredTicket) this.app.pump();
  }

  setNow(now: number): void {
    this.transport.now = now;
    this.record.ledger.now = now;
  }

  process(now: number): void {
    this.setNow(now);
    if (this.plan.scripted) return;
    for (let e = this.conn.pollEvent(); e; e = this.conn.pollEvent()) this.onEvent(e, now);
    if (this.record.handshakeAt !== undefined) this.app.pump();
    const r = this.record;
    if (this.plan.keyUpdate && !this.keyUpdateDone && this.conn.handshakeConfirmed && r.ledger.bytes > 0) {
      this.keyUpdateDone = true;
      this.conn.initiateKeyUpdate(); // when refused for now, the connection remembers and updates as soon as it may
    }
    if (r.finishedAt === undefined && r.handshakeAt !== undefined && this.app.idle && this.app.completed + this.app.failed >= this.plan.paths.length) {
      r.finishedAt = now;
      if (!this.closed) {
        this.closed = true;
        this.conn.close(0, '', true, now);
      }
    }
  }

  private onEvent(e: ConnectionEvent, now: number): void {
    const r = this.record;
    switch (e.type) {
      case 'handshake-complete':
        r.handshakeAt = now;
        r.resumed = e.resumed;
        r.version = e.version;
        r.alpn = e.alpn;
        r.cipherSuite = this.conn.tls.suite?.name;
        this.app.pump();
        break;
      case 'stream-readable':
        this.app.onReadable(e.streamId);
        break;
      case 'stream-reset':
        this.app.onReset(e.streamId, e.errorCode);
        break;
      case 'stream-writable':
      case 'streams-available':
        this.app.pump();
        break;
      case 'early-data':
        r.earlyData = e.accepted;
        break;
      case 'ticket':
        this.ticket ??= e.ticket;
        break;
      case 'key-update':
        r.keyUpdates++;
        break;
      case 'retry':
        r.retried = true;
        break;
      case 'version-changed':
        r.version = e.version;
        break;
      case 'closing':
      case 'closed':
        r.closeInfo ??= e.info;
        break;
    }
  }
}

export class ClientFleet implements DatagramEndpoint {
  readonly records: ClientConnectionRecord[] = [];
  /**
   * Scripted plans only (connection(i)). Otherwise nothing outlives a session's draining but its record and its
   * connection's internal-error list: fifty finished connections held to the end of a run made every young-generation
   * GC copy them (issue 15: about a quarter of a handshakeloss sweep's scavenge time).
   */
  private readonly sessions: ClientSession[] = [];
  /** Each connection's own internalErrors array, by connection index (the connection appends to it). */
  private readonly errorLists: Error[][] = [];
  /**
   * The sessions not yet drained, in opening order: a drained session is closed (so also finished) and stays so, so the
   * per-datagram loops below need not visit the fifty behind a handshakeloss run.
   */
  private active: ClientSession[] = [];
  /** null: that port's connection drained and was let go; like the closed connection, it ignores what still arrives. */
  private readonly byPort = new Map<number, ClientSession | null>();
  private lastTicket: SessionTicket | undefined;

  constructor(private readonly plan: ClientPlan, now = 0) {
    const first = plan.parallel ? plan.connections : Math.min(1, plan.connections);
    for (let i = 0; i < first; i++) this.open(now);
  }

  /** Every planned connection was opened and has finished its work (or died). */
  get done(): boolean {
    return this.records.length === this.plan.connections && this.active.every((s) => s.finished);
  }

  /** Exceptions the connections caught as INTERNAL_ERROR (engine bugs), in connection order. */
  get internalErrors(): Error[] {
    return this.errorLists.flat();
  }

  /** The session objects, for scripted (API) scenarios that drive one connection directly. */
  connection(i: number): QuicConnection | undefined {
    return this.sessions[i]?.conn;
  }

  private open(now: number): void {
    const i = this.records.length;
    const ticket = this.plan.resumption ? this.lastTicket : undefined;
    const local: Address = { host: this.plan.clientHost, port: this.plan.basePort + i };
    const record: ClientConnectionRecord = { index: i, startedAt: now, retried: false, keyUpdates: 0, ledger: new DownloadLedger(), offeredTicket: !!ticket };
    const conn = new QuicConnection({ role: 'client', config: this.plan.config(i, ticket), remote: this.plan.server, local, now });
    const s = new ClientSession(conn, record, local, this.plan);
    this.records.push(record);
    this.errorLists.push(conn.internalErrors);
    if (this.plan.scripted) this.sessions.push(s);
    this.active.push(s);
    this.byPort.set(local.port, s);
    s.begin(now);
  }

  private live(): ClientSession[] {
    // Not gone implies not drained: the active list holds every live session.
    return this.active.filter((s) => !s.gone);
  }

  private afterInput(now: number): void {
    // Sessions that closed during this input still have their last events (closing, closed) to read.
    const active = this.active;
    let drained = false;
    for (const s of active) {
      if (s.gone) drained = s.drained = true;
      s.process(now);
      if (s.ticket) this.lastTicket = s.ticket;
    }
    if (drained) {
      this.active = active.filter((s) => !s.drained);
      // The port map is the last reference to a drained session: a tombstone takes its place.
      for (const s of active) if (s.drained) this.byPort.set(s.local.port, null);
    }
    // Sequential workloads: the next connection starts once the previous one is done with its downloads.
    while (!this.plan.parallel && this.records.length < this.plan.connections && this.active.every((s) => s.finished)) this.open(now);
  }

  receiveDatagram(data: Uint8Array, from: Address, now: number, local?: Address): void {
    // Datagrams come back to the port the connection sent from; after a NAT rebinding, to the newest connection.
    const mapped = local ? this.byPort.get(local.port) : undefined;
    const s = mapped === null ? undefined : mapped || this.live().at(-1);
    if (!s) {
      if (mapped === null) this.afterInput(now); // as the closed connection it replaces would have
      return;
    }
    s.conn.receiveDatagram(data, from, now, local ?? s.local);
    this.afterInput(now);
  }

  pollDatagrams(now: number): OutgoingDatagram[] {
    const out: OutgoingDatagram[] = [];
    for (const s of this.live()) {
      s.setNow(now);
      for (const d of s.conn.pollDatagrams(now)) out.push({ data: d.data, to: d.to, from: d.from ?? s.local });
    }
    return out;
  }

  nextTimeout(): number | undefined {
    let min: number | undefined;
    for (const s of this.live()) {
      const t = s.conn.nextTimeout();
      if (t !== undefined && (min === undefined || t < min)) min = t;
    }
    return min;
  }

  handleTimeout(now: number): void {
    for (const s of this.live()) {
      const t = s.conn.nextTimeout();
      if (t !== undefined && t <= now) s.conn.handleTimeout(now);
    }
    this.afterInput(now);
  }
}
