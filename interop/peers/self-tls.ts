// The `self` peer for TLS 1.3 over TCP (RFC 8446 over RFC 9293; HTTP/1.1 GET per RFC 9112) in virtual time: our TLS
// record connection (engine/tls/record-connection.ts) and HTTP/1.1 framing (engine/apps/http1.ts) as stream
// applications on the simulator's stream pipe — the same engine `crosswire get --tcp` and `serve tls://` run over
// node:net, without sockets, timers or a clock. (QUIC and DTLS self roles live in self.ts.)

import { createHash, type Hash } from 'node:crypto';
import { nodeCrypto } from '../../engine/crypto/node.js';
import { cryptoProvider, type CryptoProvider } from '../../engine/crypto/index.js';
import { seededRandom, type RandomSource } from '../../engine/crypto/random.js';
import { createTlsSession } from '../../engine/tls/session.js';
import { TlsError, alertName, type CipherSuiteName, type SessionTicket, type TlsConfig } from '../../engine/tls/api.js';
import { TlsRecordConnection } from '../../engine/tls/record-connection.js';
import { encodeRequest, encodeResponseHead, HttpError, RequestParser, ResponseParser, type Headers } from '../../engine/apps/http1.js';
import type { StreamApp, StreamPipe, StreamSocket } from '../../simulator/stream-pipe.js';
import { SIMULATION_CLOCK_MS, type SimulationPki } from '../runner/pki.js';
import type { GeneratedFiles } from '../runner/content.js';
import type { Scenario } from '../scenario/model.js';
import { VERSION } from '../version.js';

/** What self does over TLS/TCP in virtual time (a scenario's `requires` is checked against these). */
export const SELF_TLS_FEATURES = [
  'tls', 'handshake', 'transfer', 'resumption', 'keyupdate', 'chacha20', 'hrr', 'client-auth',
  'tls-resumption', 'tls-keyupdate', 'tls-hrr', 'tls-client-auth',
] as const;

const clock = (): number => SIMULATION_CLOCK_MS;

export interface TlsRoleContext {
  scenario: Scenario;
  seed: number;
  pki: SimulationPki;
  files: GeneratedFiles;
  /** NSS key log lines (the wire analysis opens protected records with them). */
  keyLog: (line: string) => void;
}

function rng(ctx: TlsRoleContext, label: string): RandomSource {
  return seededRandom(`${ctx.seed}/tls/${label}`, (d) => nodeCrypto.hash('sha256', d));
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** One client connection, as the runner reports it. */
export interface TlsClientRecord {
  id: number;
  path: string;
  startedAt: number;
  handshakeAt?: number;
  finishedAt?: number;
  resumed?: boolean;
  helloRetry?: boolean;
  cipherSuite?: string;
  keyUpdates: number;
  status?: number;
  bytes: number;
  digest?: string;
  /** The body arrived whole (Content-Length met, or close_notify after a close-delimited body). */
  complete: boolean;
  /** Why the connection failed, as the CLI would say it; undefined when it did not. */
  failure?: string;
  /** The alert that ended it (sent or received). */
  alert?: { name: string; sent: boolean };
  lastByteAt?: number;
}

interface ClientConn {
  rec: TlsClientRecord;
  tls: TlsRecordConnection;
  sock?: StreamSocket;
  parser: ResponseParser;
  hash: Hash;
  /** Response complete or failed: we closed our side. */
  settled: boolean;
  peerEnded: boolean;
}

/**
 * HTTP/1.1 GET over TLS 1.3, one request per connection, connections one after another (as `crosswire get --tcp`
 * with several URLs does); with resumption every connection after the first offers the newest ticket.
 */
export class TlsHttpClient implements StreamApp {
  readonly records: TlsClientRecord[] = [];
  private readonly plan: string[];
  private readonly conns = new Map<number, ClientConn>();
  private ticket: SessionTicket | undefined;
  private pipe: StreamPipe | undefined;
  private stopped = false;
  private readonly crypto: CryptoProvider;

  /** Connections the client meant to make. */
  get planned(): number {
    return this.plan.length;
  }

  constructor(private readonly ctx: TlsRoleContext, paths: readonly string[]) {
    this.crypto = cryptoProvider(ctx.scenario.client.crypto ?? 'node');
    const n = ctx.scenario.client.connections;
    this.plan = [];
    for (let c = 0; c < n; c++) for (const p of paths) this.plan.push(p);
  }

  /** Every planned connection finished, or one failed (the client stops there, as the CLI does). */
  get done(): boolean {
    return this.stopped || (this.records.length === this.plan.length && [...this.conns.values()].every((c) => c.settled && c.peerEnded));
  }

  start(pipe: StreamPipe, now: number): void {
    this.pipe = pipe;
    this.next(now);
  }

  private config(i: number): TlsConfig {
    const c = this.ctx.scenario.client;
    const s = this.ctx.scenario;
    const own = c.clientCertificate ? this.ctx.pki.leaf(c.clientCertificate) : undefined;
    return {
      role: 'client',
      crypto: this.crypto,
      random: rng(this.ctx, `client/conn-${i}`),
      clock,
      serverName: 'localhost',
      alpn: [c.alpn ?? 'http/1.1'],
      verify: { ca: [this.ctx.pki.ca] },
      ...(c.cipherSuites ? { cipherSuites: c.cipherSuites as CipherSuiteName[] } : {}),
      ...(c.groups ? { groups: c.groups } : {}),
      ...(own ? { certificateChain: own.chain, privateKey: own.key } : {}),
      ...(this.ticket && (c.resumption || s.client.zerortt) ? { session: this.ticket } : {}),
      keyLog: this.ctx.keyLog,
    };
  }

  private next(now: number): void {
    if (this.stopped || !this.pipe) return;
    const i = this.records.length;
    if (i >= this.plan.length) return;
    const rec: TlsClientRecord = { id: i + 1, path: this.plan[i]!, startedAt: now, keyUpdates: 0, bytes: 0, complete: false };
    this.records.push(rec);
    const tls = new TlsRecordConnection(createTlsSession(this.config(i)), this.crypto);
    const conn: ClientConn = { rec, tls, parser: new ResponseParser('GET'), hash: createHash('sha256'), settled: false, peerEnded: false };
    const sock = this.pipe.connect();
    conn.sock = sock;
    this.conns.set(sock.id, conn);
  }

  opened(sock: StreamSocket, now: number): void {
    const c = this.conns.get(sock.id)!;
    c.tls.start();
    this.pump(c, now);
  }

  data(sock: StreamSocket, data: Uint8Array, now: number): void {
    const c = this.conns.get(sock.id)!;
    if (c.rec.failure && c.tls.failed) return;
    c.tls.receive(data);
    this.pump(c, now);
  }

  ended(sock: StreamSocket, now: number): void {
    const c = this.conns.get(sock.id)!;
    c.peerEnded = true;
    if (!c.settled) {
      // As `get --tcp` over node:net: a FIN ends our writing too (no alert, no close_notify after it), except when
      // the server's close_notify came first.
      const quiet = !c.tls.readClosed;
      if (!c.tls.handshakeDone) this.fail(c, 'handshake failed: the server closed the TCP connection during the TLS handshake', now, !quiet);
      else {
        try {
          // No close_notify: a close-delimited body cannot be trusted (RFC 8446 §6.1); a Content-Length one can.
          if (c.parser.delimitedByClose && !c.tls.readClosed) throw new HttpError('the body may be truncated: the server closed TCP without close_notify');
          c.parser.end();
          this.finish(c, now);
        } catch (e) {
          this.fail(c, `HTTP: ${describe(e)}`, now, !quiet);
        }
      }
      if (c.sock && !c.sock.writeEnded) c.sock.end();
    }
    this.after(c, now);
  }

  reset(sock: StreamSocket, now: number): void {
    const c = this.conns.get(sock.id)!;
    c.peerEnded = true;
    if (!c.settled) this.fail(c, `${c.tls.handshakeDone ? 'connection' : 'handshake'} failed: the connection was reset (ECONNRESET)`, now, false);
    this.after(c, now);
  }

  /** Moves TLS output to the socket and handles what the connection reports. */
  private pump(c: ClientConn, now: number): void {
    for (;;) {
      const out = c.tls.pollOutput();
      if (out && c.sock && !c.sock.writeEnded) c.sock.write(out);
      const ev = c.tls.pollEvent();
      if (!ev && !out) break;
      if (!ev) continue;
      switch (ev.type) {
        case 'handshake-complete': {
          const session = c.tls.session;
          c.rec.handshakeAt = now;
          c.rec.resumed = session.resumed;
          c.rec.helloRetry = session.helloRetry;
          c.rec.cipherSuite = session.suite?.name;
          if (this.ctx.scenario.client.keyUpdate) c.tls.keyUpdate(true);
          c.tls.write(encodeRequest({ host: 'localhost', target: c.rec.path, headers: [['User-Agent', `crosswire/${VERSION}`], ['Connection', 'close']] }));
          break;
        }
        case 'data':
          if (c.settled) break;
          try {
            for (const b of c.parser.feed(ev.data)) {
              c.hash.update(b);
              c.rec.bytes += b.length;
              c.rec.lastByteAt = now;
            }
            if (c.parser.head) c.rec.status = c.parser.head.status;
            if (c.parser.done) this.finish(c, now);
          } catch (e) {
            this.fail(c, `HTTP: ${describe(e)}`, now);
          }
          break;
        case 'ticket':
          this.ticket = ev.ticket;
          break;
        case 'key-update':
          if (ev.direction === 'write') c.rec.keyUpdates++;
          break;
        case 'peer-closed':
          if (!c.settled) {
            try {
              c.parser.end();
              this.finish(c, now);
            } catch (e) {
              this.fail(c, `HTTP: ${describe(e)}`, now);
            }
          }
          break;
        case 'error': {
          const e = ev.error;
          c.rec.alert = { name: alertName(e.alert), sent: !e.remote };
          if (!c.settled) this.fail(c, `${c.tls.handshakeDone ? 'connection' : 'handshake'} failed: ${e.message}`, now);
          break;
        }
      }
    }
  }

  private finish(c: ClientConn, now: number): void {
    if (c.settled) return;
    c.settled = true;
    c.rec.finishedAt = now;
    c.rec.digest = c.hash.digest('hex');
    const status = c.parser.head?.status ?? 0;
    c.rec.complete = status >= 200 && status <= 299;
    if (!c.rec.complete) c.rec.failure = `HTTP ${status} for ${c.rec.path}`;
    this.closeSide(c, now);
  }

  private fail(c: ClientConn, reason: string, now: number, close = true): void {
    if (c.settled) return;
    c.settled = true;
    c.rec.failure = reason;
    c.rec.finishedAt = now;
    if (close) this.closeSide(c, now);
    this.stopped = true;
  }

  /** close_notify (unless an alert already went), then FIN. */
  private closeSide(c: ClientConn, now: number): void {
    if (!c.tls.writeClosed) c.tls.close();
    this.pump(c, now);
    if (c.sock && !c.sock.writeEnded) c.sock.end();
  }

  private after(c: ClientConn, now: number): void {
    if (c.settled && c.peerEnded && !this.stopped && c.rec.failure === undefined) this.next(now);
  }
}

/** One server connection, as the runner reports it. */
export interface TlsServerRecord {
  id: number;
  handshakeAt?: number;
  resumed?: boolean;
  helloRetry?: boolean;
  keyUpdates: number;
  request?: string;
  failure?: string;
  /** The alert that ended it (sent or received). */
  alert?: { name: string; sent: boolean };
}

interface ServerConn {
  rec: TlsServerRecord;
  tls: TlsRecordConnection;
  sock: StreamSocket;
  parser: RequestParser;
  answered: boolean;
}

/** A static file server over HTTP/1.1 (one request per connection, `Connection: close`), like `crosswire serve tls://`. */
export class TlsHttpServer implements StreamApp {
  readonly records: TlsServerRecord[] = [];
  private readonly conns = new Map<number, ServerConn>();
  private readonly ticketKey: Uint8Array | undefined;
  private readonly crypto: CryptoProvider;

  constructor(private readonly ctx: TlsRoleContext) {
    this.crypto = cryptoProvider(ctx.scenario.server.crypto ?? 'node');
    this.ticketKey = ctx.scenario.server.tickets ? rng(ctx, 'server/ticket-key')(32) : undefined;
  }

  private config(id: number): TlsConfig {
    const s = this.ctx.scenario.server;
    const leaf = this.ctx.pki.leaf(s.certificate);
    const auth = s.clientAuth ?? 'none';
    return {
      role: 'server',
      crypto: this.crypto,
      random: rng(this.ctx, `server/conn-${id}`),
      clock,
      alpn: s.alpn ? [s.alpn] : ['http/1.1'],
      certificateChain: leaf.chain,
      privateKey: leaf.key,
      ...(s.cipherSuites ? { cipherSuites: s.cipherSuites as CipherSuiteName[] } : {}),
      ...(s.groups ? { groups: s.groups } : {}),
      ...(this.ticketKey ? { ticketKey: this.ticketKey } : {}),
      ...(auth !== 'none' ? { verify: { ca: [this.ctx.pki.ca] }, requestClientCertificate: true, requireClientCertificate: auth === 'required' } : {}),
      keyLog: this.ctx.keyLog,
    };
  }

  opened(sock: StreamSocket): void {
    const rec: TlsServerRecord = { id: sock.id, keyUpdates: 0 };
    this.records.push(rec);
    this.conns.set(sock.id, { rec, tls: new TlsRecordConnection(createTlsSession(this.config(sock.id)), this.crypto), sock, parser: new RequestParser(), answered: false });
  }

  data(sock: StreamSocket, data: Uint8Array, now: number): void {
    const c = this.conns.get(sock.id)!;
    c.tls.receive(data);
    this.pump(c, now);
  }

  ended(sock: StreamSocket, now: number): void {
    const c = this.conns.get(sock.id)!;
    if (!c.tls.handshakeDone && !c.rec.failure) c.rec.failure = 'the client closed the TCP connection during the TLS handshake';
    this.close(c, now);
  }

  reset(sock: StreamSocket): void {
    const c = this.conns.get(sock.id)!;
    c.rec.failure ??= 'the connection was reset';
  }

  private pump(c: ServerConn, now: number): void {
    for (;;) {
      const out = c.tls.pollOutput();
      if (out && !c.sock.writeEnded) c.sock.write(out);
      const ev = c.tls.pollEvent();
      if (!ev && !out) break;
      if (!ev) continue;
      switch (ev.type) {
        case 'handshake-complete':
          c.rec.handshakeAt = now;
          c.rec.resumed = c.tls.session.resumed;
          c.rec.helloRetry = c.tls.session.helloRetry;
          break;
        case 'data':
          if (!c.answered) this.request(c, ev.data, now);
          break;
        case 'key-update':
          if (ev.direction === 'write') c.rec.keyUpdates++;
          break;
        case 'peer-closed':
          this.close(c, now);
          break;
        case 'error':
          c.rec.failure = ev.error instanceof TlsError ? ev.error.message : describe(ev.error);
          c.rec.alert = { name: alertName(ev.error.alert), sent: !ev.error.remote };
          this.flush(c);
          if (!c.sock.writeEnded) c.sock.end();
          break;
        case 'ticket':
          break;
      }
    }
  }

  private flush(c: ServerConn): void {
    for (let out = c.tls.pollOutput(); out; out = c.tls.pollOutput()) if (!c.sock.writeEnded) c.sock.write(out);
  }

  private request(c: ServerConn, data: Uint8Array, now: number): void {
    let req;
    try {
      req = c.parser.feed(data);
    } catch (e) {
      return this.respond(c, 400, 'Bad Request', new TextEncoder().encode('bad request\n'), now);
    }
    if (!req) return;
    c.rec.request = `${req.method} ${req.target}`;
    if (this.ctx.scenario.server.keyUpdate) c.tls.keyUpdate(false);
    const path = req.target.split(/[?#]/, 1)[0]!;
    const size = this.ctx.files.size(path);
    if (req.method !== 'GET' || size === undefined) return this.respond(c, 404, 'Not Found', new TextEncoder().encode('not found\n'), now);
    this.respond(c, 200, 'OK', this.ctx.files.read(path, 0, size), now);
  }

  private respond(c: ServerConn, status: number, reason: string, body: Uint8Array, now: number): void {
    c.answered = true;
    const headers: Headers = [['Server', `crosswire/${VERSION}`], ['Content-Type', 'application/octet-stream'], ['Content-Length', String(body.length)], ['Connection', 'close']];
    const head = encodeResponseHead(status, reason, headers);
    const all = new Uint8Array(head.length + body.length);
    all.set(head);
    all.set(body, head.length);
    c.tls.write(all);
    this.close(c, now);
  }

  private close(c: ServerConn, now: number): void {
    if (!c.tls.writeClosed) c.tls.close();
    this.pump(c, now);
    if (!c.sock.writeEnded) c.sock.end();
  }
}
