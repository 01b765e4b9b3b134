// The quiche peer: an hq-interop and h3 client and server following the endpoint contract (interop/peers/README.md),
// driving quiche 0.18's own transport, loss recovery, congestion control and TLS (BoringSSL) through its N-API binding.
// This file owns the UDP sockets, the timers and the HTTP/0.9 layer. ALPN h3 is NOT quiche's HTTP/3 (the binding has
// no quiche::h3): it is crosswire's HTTP/3 client and server (engine/apps/h3.ts, QPACK static table only) over
// quiche's streams (transport.ts). quiche still does all the QUIC work; only the HTTP/3 framing is ours, which is why
// peer.yaml labels the mode "crosswire's HTTP/3 over quiche" and result.json carries that label.
//
// What quiche's binding cannot do decides the unsupported (exit 127) test cases: it has no cipher-suite setting
// (chacha20), no way to start a key update (keyupdate), no QUIC v2 (v2), no ECN access from node:dgram (ecn), and this
// program does not migrate actively (connectionmigration).

import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createHmac, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import { loadQuiche, type HostPort, type Quiche, type QuicheConfig, type QuicheConnection } from './binding.js';
import { QuicheStreamTransport } from './transport.js';
import { H3Client, H3Server } from '../../../engine/apps/h3.js';
import type { FileSource } from '../../../engine/apps/transport.js';

/** The ALPNs this peer speaks; h3 is crosswire's HTTP/3 layer over quiche's streams (see above). */
const ALPNS = ['hq-interop', 'h3'] as const;
type Alpn = (typeof ALPNS)[number];
/** H3_NO_ERROR (RFC 9114 §8.1): the application close code of a finished h3 connection. */
const H3_NO_ERROR = 0x100;
/** Length of the connection IDs this program chooses (short headers carry no length). */
const CID_LEN = 16;
/** quiche's idle timeout (both roles) and the client's give-up time without a packet from the server. */
const IDLE_MS = 60_000;
const SEND_BUF = 1500;
const RECV_BUF = 65_536;
/** How long the first connection of resumption/zerortt waits for a session ticket after its downloads. */
const TICKET_WAIT_MS = 3_000;
/** Paths (client addresses) a server connection can see: rebindings it survives (see commonConfig). */
const PATH_LIMIT = 64;
/** Retry tokens are good for this long. */
const TOKEN_LIFETIME_MS = 10_000;

const CLIENT_CASES = new Set([
  'handshake',
  'transfer',
  'multiplexing',
  'retry',
  'resumption',
  'zerortt',
  'multiconnect',
  'rebind-port',
  'rebind-addr',
  'http3', // over ALPN h3 only: crosswire's HTTP/3 over quiche's streams
]);
const SERVER_CASES = new Set([...CLIENT_CASES, 'chacha20', 'keyupdate']);

/** The TLS 1.3 suites BoringSSL negotiates (all three; the client's offer decides). */
const TLS13_SUITES = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

class Unsupported extends Error {}
class CertificateError extends Error {}

function log(role: string, msg: string): void {
  process.stdout.write(`quiche ${role}: ${msg}\n`);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

const TLS_ALERTS: Record<number, string> = {
  10: 'unexpected_message',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  50: 'decode_error',
  51: 'decrypt_error',
  80: 'internal_error',
  109: 'missing_extension',
  112: 'unrecognized_name',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

function errorText(e: { isApp: boolean; errorCode: number; reason: Uint8Array } | null): string {
  if (!e) return 'none';
  const reason = Buffer.from(e.reason).toString('utf8');
  const code = e.errorCode;
  const alert = !e.isApp && code >= 0x100 && code <= 0x1ff ? `, TLS alert ${code - 0x100} ${TLS_ALERTS[code - 0x100] ?? ''}`.trimEnd() : '';
  return `${e.isApp ? 'application' : 'transport'} error 0x${code.toString(16)}${alert}${reason ? ` (${reason})` : ''}`;
}

/** One key log file per connection (quiche's setKeylog truncates what it opens), appended to SSLKEYLOGFILE. */
class Keylogs {
  private dir?: string;
  private seq = 0;
  constructor(private readonly target: string | undefined) {}
  get enabled(): boolean {
    return !!this.target;
  }
  fileFor(label: string): string | undefined {
    if (!this.target) return undefined;
    this.dir ??= mkdtempSync(join(tmpdir(), 'crosswire-quiche-keylog-'));
    return join(this.dir, `${++this.seq}-${label}.keys`);
  }
  collect(file: string | undefined): void {
    if (!file || !this.target) return;
    try {
      const text = readFileSync(file);
      if (text.length > 0) appendFileSync(this.target, text);
      rmSync(file, { force: true });
    } catch {
      // nothing was written for this connection
    }
  }
  cleanup(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function commonConfig(cfg: QuicheConfig, q: Quiche, keylogs: Keylogs, server: boolean, alpns: readonly Alpn[]): void {
  if (keylogs.enabled) cfg.logKeys();
  cfg.setApplicationProtos([...alpns]);
  cfg.setMaxIdleTimeout(IDLE_MS);
  cfg.setMaxRecvUdpPayloadSize(65_527);
  cfg.setMaxSendUdpPayloadSize(q.MAX_DATAGRAM_SIZE);
  cfg.setInitialMaxData(16 * 1024 * 1024);
  cfg.setInitialMaxStreamDataBidiLocal(8 * 1024 * 1024);
  cfg.setInitialMaxStreamDataBidiRemote(8 * 1024 * 1024);
  cfg.setInitialMaxStreamDataUni(1024 * 1024);
  cfg.setInitialMaxStreamsBidi(server ? 128 : 0);
  // HTTP/3 needs the peer's control and QPACK streams (RFC 9114 §6.2) in both directions; hq-interop uses none.
  cfg.setInitialMaxStreamsUni(alpns.includes('h3') ? 16 : server ? 3 : 0);
  cfg.setMaxConnectionWindow(q.MAX_CONNECTION_WINDOW);
  cfg.setMaxStreamWindow(q.MAX_STREAM_WINDOW);
  // quiche 0.18 keeps at most active_connection_id_limit paths per connection and does not recycle old ones: with the
  // default (2) a server stops answering after the client's second NAT rebinding. Room for many rebindings instead.
  if (server) cfg.setActiveConnectionIdLimit(PATH_LIMIT);
}

/** A dgram socket with a count of sends still in flight, so it closes only once they have left. */
class Socket {
  private pending = 0;
  private closed = false;
  private onIdle?: () => void;
  constructor(readonly sock: dgram.Socket) {}
  send(data: Buffer, to: HostPort): void {
    if (this.closed) return;
    this.pending++;
    this.sock.send(data, to.port, to.host, () => {
      if (--this.pending === 0 && this.onIdle) this.onIdle();
    });
  }
  /** Sends every packet quiche has ready now. */
  flush(conn: QuicheConnection): void {
    for (;;) {
      const out = Buffer.allocUnsafe(SEND_BUF);
      let r: ReturnType<QuicheConnection['send']>;
      try {
        r = conn.send(out);
      } catch {
        return; // quiche closed the connection; its error is read from localError()
      }
      if (r === null) return;
      this.send(out.subarray(0, r[0]), r[1].to);
    }
  }
  close(): Promise<void> {
    this.closed = true;
    return new Promise((res) => {
      const done = () => {
        try {
          this.sock.close(() => res());
        } catch {
          res();
        }
      };
      if (this.pending === 0) done();
      else this.onIdle = done;
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Client

/**
 * The client's one UDP socket, shared by all its connections in turn (multiconnect, resumption): a relay in front
 * of the server may serve a single client address. Datagrams go to the connection whose source CID they carry.
 */
class ClientSocket extends Socket {
  private readonly handlers = new Map<string, (msg: Buffer, from: HostPort) => void>();
  local!: HostPort;

  constructor(
    private readonly q: Quiche,
    family: 'udp4' | 'udp6',
  ) {
    super(dgram.createSocket({ type: family, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 }));
    this.sock.on('error', () => {}); // reported by the connection running at the time (onError)
    this.sock.on('message', (msg, rinfo) => {
      let dcid: Uint8Array;
      try {
        dcid = this.q.Header.fromSlice(msg, CID_LEN).dcid;
      } catch {
        return; // not QUIC
      }
      this.handlers.get(hex(dcid))?.(msg, { host: rinfo.address, port: rinfo.port });
    });
  }

  bind(): Promise<void> {
    return new Promise((res, rej) => {
      this.sock.once('error', rej);
      this.sock.bind(0, () => {
        this.sock.off('error', rej);
        const a = this.sock.address();
        this.local = { host: a.address, port: a.port };
        res();
      });
    });
  }

  register(scid: Uint8Array, onMessage: (msg: Buffer, from: HostPort) => void): void {
    this.handlers.set(hex(scid), onMessage);
  }

  unregister(scid: Uint8Array): void {
    this.handlers.delete(hex(scid));
  }

  onError(handler: (e: Error) => void): () => void {
    this.sock.on('error', handler);
    return () => this.sock.off('error', handler);
  }
}

interface ClientEnv {
  q: Quiche;
  sock: ClientSocket;
  cfg: QuicheConfig;
  keylogs: Keylogs;
  peer: HostPort;
  serverName: string;
  downloads: string;
  alpn: Alpn;
}

interface ConnectionPlan {
  label: string;
  urls: URL[];
  session?: Uint8Array;
  earlyData: boolean;
  waitForTicket: boolean;
}

interface ConnectionOutcome {
  session: Uint8Array | null;
  resumed: boolean;
  earlyRequests: number;
  bytes: number;
}

interface Download {
  url: URL;
  file: string;
  request: Buffer;
  requestSent: number;
  streamId?: number;
  fd?: number;
  bytes: number;
  done: boolean;
}

function runClientConnection(env: ClientEnv, plan: ConnectionPlan): Promise<ConnectionOutcome> {
  const { q, cfg, keylogs, peer } = env;
  return new Promise((resolvePromise, rejectPromise) => {
    const { sock } = env;
    const local = sock.local;
    const scid = randomBytes(CID_LEN);
    let offError: (() => void) | undefined;
    const downloads: Download[] = plan.urls.map((url) => ({
      url,
      file: join(env.downloads, basename(decodeURIComponent(url.pathname)) || 'index.html'),
      request: Buffer.from(`GET ${url.pathname}\r\n`),
      requestSent: 0,
      bytes: 0,
      done: false,
    }));
    const byStream = new Map<number, Download>();
    let nextToOpen = 0;
    let nextStreamId = 0;
    let partial: Download | undefined;
    let conn: QuicheConnection;
    // ALPN h3: crosswire's HTTP/3 client over quiche's streams (see the top of this file).
    let h3: { t: QuicheStreamTransport; client: H3Client } | undefined;
    let h3Error: string | undefined;
    let keylogFile: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let lastPacket = Date.now();
    let watchdog: NodeJS.Timeout | undefined;
    let ticketDeadline: number | undefined;
    let ticketPoll: NodeJS.Timeout | undefined;
    let stepQueued = false;
    let ipChecked = false;
    let earlyRequests = 0;
    let finished = false;
    let closing = false;
    const started = Date.now();
    const buf = Buffer.allocUnsafe(RECV_BUF);

    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      if (ticketPoll) clearTimeout(ticketPoll);
      if (watchdog) clearInterval(watchdog);
      for (const d of downloads) if (d.fd !== undefined) closeSync(d.fd);
      if (h3) earlyRequests = h3.t.earlyStreams;
      const outcome: ConnectionOutcome = {
        session: conn?.session() ?? null,
        resumed: conn?.isResumed() ?? false,
        earlyRequests,
        bytes: downloads.reduce((n, d) => n + d.bytes, 0),
      };
      if (conn && !err) {
        const s = conn.stats();
        const secs = (Date.now() - started) / 1000;
        log(
          'client',
          `${plan.label}: ${downloads.length} file(s), ${outcome.bytes} bytes in ${secs.toFixed(2)} s; resumed=${outcome.resumed} ` +
            `early-data-requests=${earlyRequests} packets sent=${s.sent} recv=${s.recv} lost=${s.lost}`,
        );
      }
      sock.unregister(scid);
      offError?.();
      keylogs.collect(keylogFile);
      if (err) rejectPromise(err);
      else resolvePromise(outcome);
    };

    /** Ends the connection (CONNECTION_CLOSE with `code`: INTERNAL_ERROR unless told) and the run with `msg`. */
    const fail = (msg: string, code = 0x1) => {
      if (conn && !conn.isClosed()) {
        try {
          conn.close(false, code, Buffer.from(''));
        } catch {
          // already closing
        }
        sock.flush(conn);
      }
      finish(new Error(`${plan.label}: ${msg}`));
    };

    /** Writes what is left of a request; true once all of it (and the FIN) went to quiche. */
    const writeRequest = (d: Download): boolean => {
      const rest = d.request.subarray(d.requestSent);
      let n: number | null;
      try {
        n = conn.streamSend(d.streamId!, rest, true);
      } catch (e) {
        if ((e as Error).message === 'StreamLimit') return false;
        throw e;
      }
      d.requestSent += n ?? 0;
      return d.requestSent === d.request.length;
    };

    // Requests go out in stream order as far as the server's stream limit and quiche's send capacity (flow control,
    // and a multiple of the congestion window) let them; a request that only partly fit is finished first.
    const openRequests = () => {
      while (partial !== undefined) {
        if (!writeRequest(partial)) return;
        partial = undefined;
      }
      while (nextToOpen < downloads.length && conn.peerStreamsLeftBidi() > 0) {
        const d = downloads[nextToOpen];
        d.streamId = nextStreamId;
        const before = conn.peerStreamsLeftBidi();
        const done = writeRequest(d);
        if (!done && d.requestSent === 0 && conn.peerStreamsLeftBidi() === before) {
          d.streamId = undefined; // nothing went out and quiche made no stream: try this one again later
          return;
        }
        if (conn.isInEarlyData()) earlyRequests++;
        d.fd = openSync(d.file, 'w');
        byStream.set(d.streamId, d);
        nextToOpen++;
        nextStreamId += 4;
        if (!done) {
          partial = d;
          return;
        }
      }
    };

    const readStreams = () => {
      for (const id of conn.readable()) {
        const d = byStream.get(id);
        for (;;) {
          let r: [number, boolean] | null;
          try {
            r = conn.streamRecv(id, buf);
          } catch (e) {
            const m = /^StreamReset\((\d+)\)$/.exec((e as Error).message);
            const what = m ? `reset by the server (code ${m[1]})` : (e as Error).message;
            throw new Error(`stream ${id}${d ? ` (${d.url.pathname})` : ''}: ${what}`);
          }
          if (r === null) break;
          const [n, fin] = r;
          if (!d) continue; // a stream this client never opened: drain and drop
          if (n > 0) writeSync(d.fd!, buf, 0, n);
          d.bytes += n;
          if (fin) {
            closeSync(d.fd!);
            d.fd = undefined;
            d.done = true;
            break;
          }
        }
      }
    };

    /** h3: requests go out as crosswire's HTTP/3 client opens streams; responses land in the files through its sink. */
    const startH3 = () => {
      const t = new QuicheStreamTransport(q, conn, 'client');
      const byPath = new Map(downloads.map((d) => [d.url.pathname + d.url.search, d]));
      const fileOf = (d: Download) => (d.fd ??= openSync(d.file, 'w'));
      const client = new H3Client(t, plan.urls[0]!.host, {
        onData(path, chunk) {
          const d = byPath.get(path);
          if (!d) return;
          writeSync(fileOf(d), chunk);
          d.bytes += chunk.length;
        },
        onComplete(path, ok, detail) {
          const d = byPath.get(path);
          if (!d) return;
          closeSync(fileOf(d));
          d.fd = undefined;
          d.done = true;
          if (!ok) h3Error ??= `${path}: ${detail ?? 'failed'}`;
        },
      });
      for (const path of byPath.keys()) client.request(path);
      h3 = { t, client };
    };

    const h3Step = () => {
      const { t, client } = h3!;
      if (conn.isEstablished() || conn.isInEarlyData()) client.pump();
      for (const id of conn.readable()) client.onReadable(id);
      for (const [id, code] of t.resets.splice(0)) client.onReset(id, code);
      for (const id of conn.writable()) client.onWritable(id);
      if (conn.isEstablished() || conn.isInEarlyData()) client.pump();
      if (h3Error) throw new Error(`HTTP/3 (crosswire's, over quiche): ${h3Error}`);
    };

    const checkIpSan = () => {
      // quiche checks the name only for DNS names (it is given none for an IP literal): check the IP SAN here.
      if (ipChecked || !isIP(env.serverName)) return;
      ipChecked = true;
      const chain = conn.peerCertChain();
      if (!chain || chain.length === 0) throw new Error('server sent no certificate');
      const leaf = new X509Certificate(Buffer.from(chain[0]));
      if (!leaf.checkIP(env.serverName)) throw new CertificateError(`server certificate is not valid for ${env.serverName}`);
    };

    const armTimer = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      const t = conn.timeout();
      if (t !== null) timer = setTimeout(onTimer, Math.max(0, t));
    };

    const step = () => {
      if (finished) return;
      try {
        if (conn.isEstablished()) {
          checkIpSan();
          if (plan.earlyData && !conn.isResumed()) throw new Error('0-RTT: the server did not resume the session');
        }
        if (h3) h3Step();
        else {
          if (conn.isEstablished() || conn.isInEarlyData()) openRequests();
          readStreams();
        }
      } catch (e) {
        // A certificate this client rejects closes with the TLS alert bad_certificate (0x100 + 42), as quiche would.
        fail((e as Error).message, e instanceof CertificateError ? 0x12a : 0x1);
        return;
      }
      const allDone = downloads.every((d) => d.done);
      if (allDone && !closing) {
        if (plan.waitForTicket && conn.session() === null) {
          ticketDeadline ??= Date.now() + TICKET_WAIT_MS;
          if (Date.now() > ticketDeadline) {
            fail(`no session ticket from the server within ${TICKET_WAIT_MS} ms`);
            return;
          }
        } else {
          closing = true;
          try {
            conn.close(true, h3 ? H3_NO_ERROR : 0, Buffer.from(''));
          } catch {
            // already closing
          }
          sock.flush(conn);
          finish();
          return;
        }
      }
      sock.flush(conn);
      if (conn.isClosed()) {
        if (allDone) finish();
        else if (conn.isTimedOut()) fail('idle timeout (quiche closed the connection)');
        else if (conn.peerError()) fail(`server closed the connection: ${errorText(conn.peerError())}`);
        else fail(`connection closed: ${errorText(conn.localError())}`);
        return;
      }
      if (conn.peerError() && !allDone) {
        fail(`server closed the connection: ${errorText(conn.peerError())}`);
        return;
      }
      armTimer();
      // Waiting for a ticket: look again soon even when quiche has no timer due before then.
      if (allDone && ticketDeadline !== undefined && !ticketPoll) {
        ticketPoll = setTimeout(() => {
          ticketPoll = undefined;
          step();
        }, 50);
      }
    };

    const onTimer = () => {
      timer = undefined;
      if (finished) return;
      conn.onTimeout();
      step();
    };

    offError = sock.onError((e) => fail(`socket: ${e.message}`));
    sock.register(scid, (msg, from) => {
      if (finished) return;
      lastPacket = Date.now();
      try {
        conn.recv(msg, { from, to: local });
      } catch (e) {
        const le = conn.localError();
        if (le) {
          sock.flush(conn);
          fail(`${(e as Error).message}: ${errorText(le)}`);
          return;
        }
        // 'Done' and friends: nothing in the datagram for this connection
      }
      // Datagrams that arrive together are all handed to quiche before one step answers them (fewer ACKs).
      if (!stepQueued) {
        stepQueued = true;
        setImmediate(() => {
          stepQueued = false;
          step();
        });
      }
    });

    try {
      conn = q.Connection.connect(isIP(env.serverName) ? null : env.serverName, scid, local, peer, cfg);
      keylogFile = keylogs.fileFor(plan.label);
      if (keylogFile) conn.setKeylog(keylogFile);
      if (plan.session) conn.setSession(plan.session);
      if (env.alpn === 'h3') startH3();
      sock.flush(conn); // the first flight: quiche enters early data only after it
      if (plan.earlyData) {
        if (!conn.isInEarlyData()) throw new Error('0-RTT: quiche did not enter early data with the session ticket');
        if (h3) h3Step();
        else openRequests();
        sock.flush(conn);
      }
    } catch (e) {
      fail((e as Error).message);
      return;
    }
    armTimer();
    watchdog = setInterval(() => {
      if (Date.now() - lastPacket > IDLE_MS) fail(`no packet from the server for ${IDLE_MS / 1000} s`);
    }, 1000);
  });
}

async function runClient(q: Quiche, env: NodeJS.ProcessEnv, testcase: string): Promise<void> {
  const urls = (env.REQUESTS ?? '')
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map((s) => new URL(s));
  if (urls.length === 0) throw new Error('REQUESTS is empty');
  const downloads = env.DOWNLOADS || '/downloads';
  mkdirSync(downloads, { recursive: true });
  const caFile = env.CA || (env.CERTS ? join(env.CERTS, 'ca.pem') : undefined);
  if (!caFile || !existsSync(caFile)) throw new Error(`no CA to verify the server with (CA=${caFile ?? ''})`);

  const keylogs = new Keylogs(env.SSLKEYLOGFILE);
  const cfg = q.Config.withBoringSslCtx(true, false, readFileSync(caFile), null, null, null);
  const alpn = (env.ALPN || 'hq-interop') as Alpn;
  commonConfig(cfg, q, keylogs, false, [alpn]);
  if (testcase === 'zerortt') cfg.enableEarlyData();

  const first = urls[0];
  const serverName = first.hostname.replace(/^\[(.*)\]$/, '$1');
  const host = env.HOST || serverName;
  const port = Number(env.PORT || first.port || 443);
  const address = isIP(host) ? host : (await lookup(host)).address;
  const sock = new ClientSocket(q, isIP(address) === 6 ? 'udp6' : 'udp4');
  await sock.bind();
  const cenv: ClientEnv = { q, sock, cfg, keylogs, peer: { host: address, port }, serverName, downloads, alpn };

  try {
    switch (testcase) {
      case 'multiconnect':
        for (let i = 0; i < urls.length; i++) {
          await runClientConnection(cenv, { label: `connection ${i + 1}`, urls: [urls[i]], earlyData: false, waitForTicket: false });
        }
        break;
      case 'resumption':
      case 'zerortt': {
        const early = testcase === 'zerortt';
        const one = await runClientConnection(cenv, { label: 'connection 1', urls: [urls[0]], earlyData: false, waitForTicket: true });
        if (!one.session) throw new Error('connection 1: no session to resume');
        const two = await runClientConnection(cenv, {
          label: 'connection 2',
          urls: urls.slice(1),
          session: one.session,
          earlyData: early,
          waitForTicket: false,
        });
        if (!two.resumed) throw new Error('connection 2: the server did not resume the session');
        if (early && two.earlyRequests === 0 && urls.length > 1) throw new Error('connection 2: no request went out as 0-RTT');
        break;
      }
      default:
        await runClientConnection(cenv, { label: 'connection 1', urls, earlyData: false, waitForTicket: false });
    }
  } finally {
    await sock.close();
    keylogs.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Server

/** QUIC variable-length integer at `at`: [value, length], or undefined past the end. */
function varint(b: Buffer, at: number): [number, number] | undefined {
  if (at >= b.length) return undefined;
  const len = 1 << (b[at]! >> 6);
  if (at + len > b.length) return undefined;
  let v = b[at]! & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[at + i]!;
  return [v, len];
}

/** How many of the QUIC v1 long-header packets coalesced in a datagram are 0-RTT (RFC 9000 §17.2). */
function countZeroRttPackets(d: Buffer): number {
  let n = 0;
  let at = 0;
  while (at + 7 <= d.length && (d[at]! & 0x80) !== 0 && d.readUInt32BE(at + 1) === 1) {
    const type = (d[at]! >> 4) & 0x03; // 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry
    if (type === 3) break;
    let p = at + 5;
    p += 1 + d[p]!; // DCID
    if (p >= d.length) break;
    p += 1 + d[p]!; // SCID
    if (type === 0) {
      const token = varint(d, p);
      if (!token) break;
      p += token[1] + token[0];
    }
    const length = varint(d, p);
    if (!length) break;
    if (type === 1) n++;
    at = p + length[1] + length[0];
  }
  return n;
}

interface Response {
  data: Buffer;
  offset: number;
}

interface ServerConn {
  n: number;
  conn: QuicheConnection;
  cids: string[];
  remote: string;
  /** Request bytes of streams not answered yet. */
  requests: Map<number, Buffer[]>;
  /** Streams answered (reset or response queued): later bytes on them are drained and ignored. */
  answered: Set<number>;
  /** Responses with bytes (or the FIN) still to hand to quiche. */
  responses: Map<number, Response>;
  timer?: NodeJS.Timeout;
  keylogFile?: string;
  established: boolean;
  earlyRequests: number;
  served: number;
  retried: boolean;
  stepQueued: boolean;
  zeroRttPackets: number;
  /** ALPN h3: crosswire's HTTP/3 server over quiche's streams (see the top of this file). */
  h3?: { t: QuicheStreamTransport; server: H3Server };
}

class Server {
  private readonly conns = new Map<string, ServerConn>();
  private readonly live = new Set<ServerConn>();
  private readonly tokenKey = randomBytes(32);
  private readonly recvBuf = Buffer.allocUnsafe(RECV_BUF);
  /** The files h3 connections serve (crosswire's HTTP/3 server reads them through this FileSource). */
  private readonly fileCache = new Map<string, Buffer | undefined>();
  private readonly files: FileSource = {
    size: (path) => this.cachedFile(path)?.length,
    read: (path, offset, length) => this.cachedFile(path)!.subarray(offset, offset + length),
  };
  private count = 0;
  private local!: HostPort;
  private sock!: Socket;

  constructor(
    private readonly q: Quiche,
    private readonly cfg: QuicheConfig,
    private readonly keylogs: Keylogs,
    private readonly www: string,
    private readonly retry: boolean,
    private readonly alpns: readonly Alpn[],
  ) {}

  private cachedFile(path: string): Buffer | undefined {
    if (!this.fileCache.has(path)) this.fileCache.set(path, this.readFile(path));
    return this.fileCache.get(path);
  }

  listen(host: string, port: number): Promise<void> {
    const raw = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    this.sock = new Socket(raw);
    raw.on('message', (msg, rinfo) => {
      try {
        this.onDatagram(msg, { host: rinfo.address, port: rinfo.port });
      } catch (e) {
        // A datagram quiche refuses (odd connection ID lengths, …) costs that datagram, never the server.
        log('server', `datagram from ${rinfo.address}:${rinfo.port} dropped: ${(e as Error).message}`);
      }
    });
    return new Promise((res, rej) => {
      raw.once('error', rej);
      raw.bind(port, host, () => {
        raw.off('error', rej);
        raw.on('error', (e) => log('server', `socket error: ${e.message}`));
        const a = raw.address();
        this.local = { host: a.address, port: a.port };
        log('server', `listening on ${host}:${a.port} (quiche 0.18, ALPN ${this.alpns.join(', ')}${this.alpns.includes('h3') ? "; h3 is crosswire's HTTP/3 over quiche" : ''}${this.retry ? ', Retry' : ''})`);
        res();
      });
    });
  }

  async stop(): Promise<void> {
    for (const c of this.live) {
      try {
        c.conn.close(true, 0, Buffer.from(''));
      } catch {
        // already closing
      }
      this.sock.flush(c.conn);
      this.forget(c);
    }
    await this.sock.close();
    this.keylogs.cleanup();
  }

  private onDatagram(msg: Buffer, from: HostPort): void {
    if (msg.length < 1) return;
    // The version comes first: quiche's Header.fromSlice misreads packets of versions it does not know (a v2
    // Initial looks like 0-RTT to it), so those are answered with Version Negotiation before any parsing.
    if ((msg[0] & 0x80) !== 0) {
      if (msg.length < 7) return;
      const version = msg.readUInt32BE(1);
      if (version === 0) return; // Version Negotiation is never sent to a server
      if (!this.q.versionIsSupported(version)) {
        this.versionNegotiation(msg, from, version);
        return;
      }
    }
    let hdr;
    try {
      hdr = this.q.Header.fromSlice(msg, CID_LEN);
    } catch {
      return; // not QUIC
    }
    let c = this.conns.get(hex(hdr.dcid));
    if (!c) {
      if (hdr.ty !== this.q.Type.Initial || msg.length < this.q.MIN_CLIENT_INITIAL_LEN) return;
      c = this.accept(hdr, from);
      if (!c) return;
    }
    const addr = `${from.host}:${from.port}`;
    if (addr !== c.remote) {
      log('server', `connection ${c.n}: packets now from ${addr} (was ${c.remote})`);
      c.remote = addr;
    }
    const zeroRtt = countZeroRttPackets(msg);
    try {
      c.conn.recv(msg, { from, to: this.local });
    } catch (e) {
      const le = c.conn.localError();
      if (le) log('server', `connection ${c.n}: ${(e as Error).message}: ${errorText(le)}`);
    }
    if (zeroRtt > 0) {
      c.zeroRttPackets += zeroRtt;
      // Requests complete now came in this datagram's 0-RTT packets, if quiche took them as early data.
      if (c.conn.isInEarlyData()) {
        if (this.isH3(c)) {
          const before = c.h3!.server.served;
          this.h3Step(c);
          c.earlyRequests += c.h3!.server.served - before;
        } else this.readRequests(c, true);
      }
    }
    // Datagrams that arrive together are all handed to quiche before one step answers them.
    if (!c.stepQueued) {
      c.stepQueued = true;
      const conn = c;
      setImmediate(() => {
        conn.stepQueued = false;
        this.step(conn);
      });
    }
  }

  private versionNegotiation(msg: Buffer, from: HostPort, version: number): void {
    if (msg.length < this.q.MIN_CLIENT_INITIAL_LEN) return; // only for datagrams that could carry an Initial
    const dcidLen = msg[5];
    if (6 + dcidLen >= msg.length) return;
    const dcid = msg.subarray(6, 6 + dcidLen);
    const scidLen = msg[6 + dcidLen];
    if (7 + dcidLen + scidLen > msg.length) return;
    const scid = msg.subarray(7 + dcidLen, 7 + dcidLen + scidLen);
    const out = Buffer.allocUnsafe(SEND_BUF);
    let n: number;
    try {
      n = this.q.negotiateVersion(scid, dcid, out);
    } catch (e) {
      log('server', `version negotiation for 0x${version.toString(16)} failed: ${(e as Error).message}`);
      return;
    }
    log('server', `version 0x${version.toString(16)} from ${from.host}:${from.port}: sent Version Negotiation`);
    this.sock.send(out.subarray(0, n), from);
  }

  private mintToken(from: HostPort, odcid: Uint8Array, retryScid: Uint8Array): Buffer {
    const expiry = Buffer.alloc(8);
    expiry.writeBigUInt64BE(BigInt(Date.now() + TOKEN_LIFETIME_MS));
    const body = Buffer.concat([expiry, Buffer.from([odcid.length]), odcid]);
    return Buffer.concat([body, this.tokenMac(from, body, retryScid)]);
  }

  private tokenMac(from: HostPort, body: Uint8Array, retryScid: Uint8Array): Buffer {
    return createHmac('sha256', this.tokenKey).update(from.host).update(body).update(retryScid).digest().subarray(0, 16);
  }

  /** The original DCID if the token is one this server minted for this address and this Retry, unexpired. */
  private checkToken(token: Uint8Array, from: HostPort, dcid: Uint8Array): Buffer | undefined {
    const t = Buffer.from(token);
    if (t.length < 9 + 16) return undefined;
    const odcidLen = t[8];
    const bodyLen = 9 + odcidLen;
    if (t.length !== bodyLen + 16) return undefined;
    const body = t.subarray(0, bodyLen);
    if (!timingSafeEqual(t.subarray(bodyLen), this.tokenMac(from, body, dcid))) return undefined;
    if (Number(t.readBigUInt64BE(0)) < Date.now()) return undefined;
    return Buffer.from(t.subarray(9, bodyLen));
  }

  private accept(hdr: { dcid: Uint8Array; scid: Uint8Array; token?: Uint8Array; version: number }, from: HostPort): ServerConn | undefined {
    const token = hdr.token ?? new Uint8Array(0);
    let scid: Uint8Array;
    let odcid: Uint8Array | null = null;
    const cids: string[] = [];
    if (this.retry) {
      if (token.length === 0) {
        const retryScid = randomBytes(CID_LEN);
        const out = Buffer.allocUnsafe(SEND_BUF);
        const n = this.q.retry(hdr.scid, hdr.dcid, retryScid, this.mintToken(from, hdr.dcid, retryScid), hdr.version, out);
        this.sock.send(out.subarray(0, n), from);
        log('server', `Retry to ${from.host}:${from.port}`);
        return undefined;
      }
      const original = this.checkToken(token, from, hdr.dcid);
      if (!original || hdr.dcid.length !== CID_LEN) {
        log('server', `invalid Retry token from ${from.host}:${from.port}: dropped`);
        return undefined;
      }
      odcid = original;
      scid = hdr.dcid;
    } else {
      scid = randomBytes(CID_LEN);
      // Until the client hears from us it keeps using the DCID it chose (resent Initials, 0-RTT): route it too.
      cids.push(hex(hdr.dcid));
    }
    cids.push(hex(scid));
    const conn = this.q.Connection.accept(scid, odcid, this.local, from, this.cfg);
    const c: ServerConn = {
      n: ++this.count,
      conn,
      cids,
      remote: `${from.host}:${from.port}`,
      requests: new Map(),
      answered: new Set(),
      responses: new Map(),
      established: false,
      earlyRequests: 0,
      served: 0,
      retried: odcid !== null,
      stepQueued: false,
      zeroRttPackets: 0,
    };
    c.keylogFile = this.keylogs.fileFor(`server-${c.n}`);
    if (c.keylogFile) conn.setKeylog(c.keylogFile);
    for (const k of cids) this.conns.set(k, c);
    this.live.add(c);
    log('server', `connection ${c.n} from ${c.remote}${c.retried ? ' (after Retry)' : ''}`);
    return c;
  }

  private step(c: ServerConn): void {
    const { conn } = c;
    if (!c.established && conn.isEstablished()) {
      c.established = true;
      log('server', `connection ${c.n}: established, resumed=${conn.isResumed()} alpn=${Buffer.from(conn.applicationProto()).toString()}`);
    }
    try {
      if (this.isH3(c)) {
        const before = c.h3!.server.served;
        this.h3Step(c);
        c.served += c.h3!.server.served - before;
      } else {
        this.readRequests(c);
        this.writeResponses(c);
      }
    } catch (e) {
      log('server', `connection ${c.n}: ${(e as Error).message}`);
    }
    this.sock.flush(conn);
    if (conn.isClosed()) {
      this.forget(c);
      return;
    }
    if (c.timer) clearTimeout(c.timer);
    c.timer = undefined;
    const t = conn.timeout();
    if (t !== null) {
      c.timer = setTimeout(() => {
        c.timer = undefined;
        conn.onTimeout();
        this.step(c);
      }, Math.max(0, t));
    }
  }

  /** True when the connection negotiated h3 (its HTTP/3 server is made on first sight). */
  private isH3(c: ServerConn): boolean {
    if (c.h3) return true;
    if (Buffer.from(c.conn.applicationProto()).toString() !== 'h3') return false;
    const t = new QuicheStreamTransport(this.q, c.conn, 'server');
    c.h3 = { t, server: new H3Server(t, this.files) };
    return true;
  }

  private h3Step(c: ServerConn): void {
    const { conn } = c;
    const { t, server } = c.h3!;
    if (conn.isEstablished()) server.start();
    for (const id of conn.readable()) server.onReadable(id);
    t.resets.splice(0); // a reset request stream needs no answer
    for (const id of conn.writable()) server.onWritable(id);
    server.pumpAll();
  }

  private forget(c: ServerConn): void {
    if (!this.live.delete(c)) return;
    if (c.timer) clearTimeout(c.timer);
    for (const k of c.cids) this.conns.delete(k);
    const s = c.conn.stats();
    const why = c.conn.isTimedOut() ? 'idle timeout' : c.conn.peerError() ? `peer: ${errorText(c.conn.peerError())}` : `local: ${errorText(c.conn.localError())}`;
    log(
      'server',
      `connection ${c.n} closed (${why}): resumed=${c.conn.isResumed()} requests=${c.served} early-data-requests=${c.earlyRequests} 0rtt-packets=${c.zeroRttPackets} ` +
        `packets sent=${s.sent} recv=${s.recv} lost=${s.lost} bytes sent=${s.sentBytes}`,
    );
    this.keylogs.collect(c.keylogFile);
  }

  private readRequests(c: ServerConn, early = false): void {
    const { conn } = c;
    for (const id of conn.readable()) {
      const answered = c.answered.has(id);
      let parts = c.requests.get(id);
      if (!parts && !answered) c.requests.set(id, (parts = []));
      let fin = false;
      for (;;) {
        let r: [number, boolean] | null;
        try {
          r = conn.streamRecv(id, this.recvBuf);
        } catch {
          c.requests.delete(id); // reset by the client
          parts = undefined;
          break;
        }
        if (r === null) break;
        if (r[0] > 0 && parts) parts.push(Buffer.from(this.recvBuf.subarray(0, r[0])));
        if (r[1]) {
          fin = true;
          break;
        }
      }
      if (!parts) continue;
      const req = Buffer.concat(parts);
      if (!fin && !req.includes(0x0a)) {
        c.requests.set(id, [req]);
        continue;
      }
      c.requests.delete(id);
      c.answered.add(id);
      if (early) c.earlyRequests++;
      this.respond(c, id, req.toString('latin1'));
    }
  }

  private respond(c: ServerConn, id: number, request: string): void {
    const m = /^GET\s+(\S+)/.exec(request);
    const data = m ? this.readFile(m[1]) : undefined;
    if (!data) {
      log('server', `connection ${c.n}: stream ${id}: ${m ? `no such file ${m[1]}` : 'not a GET request'}: reset`);
      try {
        c.conn.streamShutdown(id, this.q.Shutdown.Write, 0x1);
      } catch {
        // stream already gone
      }
      return;
    }
    c.served++;
    c.responses.set(id, { data, offset: 0 });
  }

  private readFile(urlPath: string): Buffer | undefined {
    let p: string;
    try {
      p = decodeURIComponent(urlPath.split('?')[0]);
    } catch {
      return undefined;
    }
    const full = resolve(this.www, '.' + (p.startsWith('/') ? p : '/' + p));
    if (full !== this.www && !full.startsWith(this.www + sep)) return undefined;
    try {
      if (!statSync(full).isFile()) return undefined;
      return readFileSync(full);
    } catch {
      return undefined;
    }
  }

  private writeResponses(c: ServerConn): void {
    for (const [id, r] of c.responses) {
      for (;;) {
        const rest = r.data.subarray(r.offset);
        let n: number | null;
        try {
          n = c.conn.streamSend(id, rest, true);
        } catch {
          c.responses.delete(id); // the client stopped the stream
          break;
        }
        if (n === null) break; // no capacity now: quiche lists the stream as writable again later
        r.offset += n;
        if (n === rest.length) {
          c.responses.delete(id); // all written, FIN included
          break;
        }
        if (n === 0) break;
      }
    }
  }
}

async function runServer(q: Quiche, env: NodeJS.ProcessEnv, testcase: string): Promise<void> {
  const certFile = env.CERT || (env.CERTS ? join(env.CERTS, 'cert.pem') : undefined);
  const keyFile = env.KEY || (env.CERTS ? join(env.CERTS, 'priv.key') : undefined);
  if (!certFile || !keyFile || !existsSync(certFile) || !existsSync(keyFile)) {
    throw new Error(`certificate or key missing (CERT=${certFile ?? ''} KEY=${keyFile ?? ''})`);
  }
  const www = resolve(env.WWW || '/www');
  const keylogs = new Keylogs(env.SSLKEYLOGFILE);
  const cfg = q.Config.withBoringSslCtx(false, false, null, [readFileSync(keyFile)], [readFileSync(certFile)], null);
  // The runner names the pair's ALPN; without it (by hand) both are offered and the client's choice decides.
  const alpns: Alpn[] = env.ALPN ? [env.ALPN as Alpn] : [...ALPNS];
  commonConfig(cfg, q, keylogs, true, alpns);
  cfg.enableEarlyData();
  cfg.setTicketKey(randomBytes(48));
  const server = new Server(q, cfg, keylogs, www, testcase === 'retry', alpns);
  await server.listen(env.HOST || '::', Number(env.PORT || 443));
  await new Promise<void>((res) => {
    const stop = () => res();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await server.stop();
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const env = process.env;
  const role = env.ROLE ?? '';
  const testcase = env.TESTCASE ?? '';
  try {
    if (role !== 'client' && role !== 'server') throw new Error(`ROLE must be client or server (got '${role}')`);
    if ((env.PROTOCOL ?? 'quic') !== 'quic') throw new Unsupported(`protocol ${env.PROTOCOL} (quiche speaks QUIC only)`);
    if (env.ALPN && !(ALPNS as readonly string[]).includes(env.ALPN)) throw new Unsupported(`ALPN ${env.ALPN} (this peer speaks ${ALPNS.join(', ')} only)`);
    if (env.CIPHER) {
      // quiche's Config has no cipher-suite setting (BoringSSL picks the TLS 1.3 suite): a client cannot force one.
      // A server still negotiates whichever of BoringSSL's suites the client offers alone, so it runs on.
      if (role === 'client' || !TLS13_SUITES.has(env.CIPHER)) {
        throw new Unsupported(`CIPHER ${env.CIPHER}: quiche's Config cannot restrict the TLS 1.3 cipher suites`);
      }
    }
    if (env.QUIC_VERSION && env.QUIC_VERSION !== '1') throw new Unsupported(`QUIC version ${env.QUIC_VERSION} (quiche 0.18 has version 1 only)`);
    if (testcase === 'http3' && env.ALPN && env.ALPN !== 'h3') throw new Unsupported(`test case http3 over ALPN ${env.ALPN}`);
    const cases = role === 'client' ? CLIENT_CASES : SERVER_CASES;
    if (!cases.has(testcase)) throw new Unsupported(`test case '${testcase}'`);
    const q = loadQuiche(env);
    if (role === 'client') await runClient(q, env, testcase);
    else await runServer(q, env, testcase);
    return 0;
  } catch (e) {
    if (e instanceof Unsupported) {
      process.stderr.write(`quiche ${role || 'endpoint'}: unsupported: ${e.message}\n`);
      return 127;
    }
    process.stderr.write(`quiche ${role || 'endpoint'}: ${(e as Error).message}\n`);
    return 1;
  }
}

process.exit(await main());
