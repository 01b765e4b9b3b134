// `crosswire connect dtls://` and `crosswire serve dtls://` (DESIGN.md §5): DTLS 1.2 (RFC 6347) over UDP.
// Client: each stdin line is one application-data record, received records go to stdout, stdin EOF sends close_notify.
// Server: HelloVerifyRequest cookies on by default (RFC 6347 §4.2.1), --echo returns every record to its sender.

import type { Readable, Writable } from 'node:stream';
import type { EcdhGroup } from '../../engine/crypto/provider.js';
import { cryptoProvider } from '../../engine/crypto/index.js';
import { DtlsClient, DtlsServer, DTLS_SUITES, type DtlsConfig, type DtlsEvent, type DtlsSuiteName } from '../../engine/dtls/index.js';
import { addressKey, type Address } from '../../engine/endpoint.js';
import { bindUdp, monotonicNow, UdpEndpointDriver, wildcardFor } from '../../engine/io/udp.js';
import { keyLogFile, keyLogPath } from '../../engine/io/keylog.js';
import { systemClock, systemRandom } from '../../engine/io/system.js';
import { loadTrustAnchors } from '../../engine/io/trust-store.js';
import { alertName, TlsError } from '../../engine/tls/api.js';
import { CliError, EXIT_FAILURE, resolvePeer, usageError, type Target } from '../cli-util.js';
import { listFlag, loadCredentials } from '../cli-util-tls.js';
import { checkRoot, FileResponder } from './serve-tls.js';
import { hostPort, timeoutError, timeoutMs } from '../cli-timeout.js';

export interface DtlsClientFlags {
  ca?: string;
  insecure?: boolean;
  servername?: string;
  alpn?: string[];
  cipher?: string[];
  group?: string[];
  keylog?: string;
  v?: boolean;
  /** Largest datagram to send (default 1200). */
  pmtu?: number;
  /**
   * Echo workloads: after stdin ends, wait until every line has come back before closing, re-sending lines not yet
   * echoed every second (DTLS does not retransmit application data, so a lost or reordered record is otherwise gone).
   */
  'await-echo'?: boolean;
  /** Seconds the handshake may take (default 30; 0: no limit). */
  timeout?: number;
}

export interface DtlsServerFlags {
  cert: string;
  key: string;
  echo?: boolean;
  /** Serve files under this directory: HTTP/1.1 requests in DTLS records, the response, then close_notify. */
  root?: string;
  alpn?: string[];
  cipher?: string[];
  group?: string[];
  keylog?: string;
  v?: boolean;
  pmtu?: number;
  /**
   * The HelloVerifyRequest round is always on from the CLI (serve's --retry defaults to false for QUIC, so it cannot
   * mean "off" here); programs embedding the server may turn it off with this.
   */
  noCookies?: boolean;
}

/** Where a command reads and writes; the CLI passes the process streams, tests their own. */
export interface DtlsIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Server: stops it (the CLI uses SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Server: called once bound, with the local address. */
  onListening?: (local: Address) => void;
}

/** How long `connect` waits for the peer's close_notify after sending ours. */
const CLOSE_WAIT_MS = 3000;

const processIo = (): DtlsIo => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });

function parseSuites(v: string[] | undefined): DtlsSuiteName[] | undefined {
  const names = listFlag(v);
  if (!names.length) return undefined;
  return names.map((n) => {
    if (!(n in DTLS_SUITES)) throw usageError(`unknown DTLS cipher suite ${n} (expected ${Object.keys(DTLS_SUITES).join(', ')})`);
    return n as DtlsSuiteName;
  });
}

function parseGroups(v: string[] | undefined): EcdhGroup[] | undefined {
  const names = listFlag(v);
  if (!names.length) return undefined;
  const aliases: Record<string, EcdhGroup> = { x25519: 'x25519', X25519: 'x25519', secp256r1: 'secp256r1', 'P-256': 'secp256r1', prime256v1: 'secp256r1' };
  return names.map((n) => aliases[n] ?? (() => { throw usageError(`unknown group ${n} (expected x25519 or secp256r1)`); })());
}

function keyLog(flag: string | undefined): ((line: string) => void) | undefined {
  const path = keyLogPath(flag);
  return path ? keyLogFile(path) : undefined;
}

function describeAlert(e: TlsError): string {
  return `DTLS failed: ${e.message}`;
}

/** `crosswire connect dtls://host:port`: resolves with the exit code. */
export async function connectDtls(target: Target, flags: DtlsClientFlags, io: DtlsIo = processIo()): Promise<number> {
  const log = (line: string) => (flags.v ? io.stderr.write(`crosswire: ${line}\n`) : undefined);
  const limitMs = timeoutMs(flags.timeout);
  let ca: Uint8Array[] = [];
  if (!flags.insecure) {
    try {
      ca = loadTrustAnchors(flags.ca);
    } catch (e) {
      throw usageError((e as Error).message);
    }
  }
  const config: DtlsConfig = {
    crypto: cryptoProvider(),
    random: systemRandom,
    clock: systemClock,
    serverName: flags.servername ?? target.host,
    ca,
    insecure: !!flags.insecure,
    alpn: listFlag(flags.alpn).length ? listFlag(flags.alpn) : undefined,
    cipherSuites: parseSuites(flags.cipher),
    groups: parseGroups(flags.group),
    keyLog: keyLog(flags.keylog),
    pmtu: flags.pmtu,
  };
  // Resolved once, to addresses: the client accepts replies only from its peer's address, so it must hold an address,
  // not the name (which never matches a datagram's source and left the handshake waiting forever).
  const { remote, fallbacks, nothingListens } = await resolvePeer(target.host, target.port);
  let socket;
  try {
    socket = await bindUdp(wildcardFor(remote.host), 0);
  } catch (e) {
    throw new CliError(`cannot open a UDP socket: ${(e as Error).message}`);
  }
  const client = new DtlsClient(config, remote, monotonicNow());

  // Events are handled by the session below, which exists once the driver does; nothing arrives before that.
  let handle: (e: DtlsEvent) => void = () => {};
  let refused: () => void = () => {};
  const driver = await UdpEndpointDriver.attach(client, socket, {
    afterInput: () => {
      for (let e = client.pollEvent(); e; e = client.pollEvent()) handle(e);
    },
    // Connected: an ICMP port unreachable (ECONNREFUSED) moves on to the name's next address, and fails at once when
    // none is left instead of retransmitting the ClientHello into nothing.
    connect: remote,
    fallbacks,
    onFallback: (r, next) => log(`nothing listens on udp ${r.host}:${r.port}; trying ${next.host}`),
    onError: (e) => {
      if (e.code === 'ECONNREFUSED') refused();
    },
  });
  const peer = () => driver.peer ?? remote;
  log(`connecting to ${addressKey(peer())}`);
  return await new Promise<number>((resolve) => {
    let finished = false;
    let stdinDone = false;
    let pending: Uint8Array = new Uint8Array(0);
    // --await-echo: the lines sent, what came back, and a re-send timer for the ones still missing.
    const awaitEcho = !!flags['await-echo'];
    const sentLines: Uint8Array[] = [];
    let echoed = '';
    let resend: NodeJS.Timeout | undefined;
    const td = new TextDecoder();
    const missing = () => sentLines.filter((l) => !echoed.includes(td.decode(l)));
    const closeNow = () => {
      if (resend) clearInterval(resend);
      resend = undefined;
      log('stdin closed: sent close_notify, waiting for the peer to close');
      client.close();
      driver.kick();
      // UDP may lose the peer's close_notify: do not wait for it forever.
      setTimeout(() => finish(0), CLOSE_WAIT_MS).unref();
    };
    // The handshake has --timeout to complete; the session after it has no limit.
    const handshakeTimer =
      limitMs > 0
        ? setTimeout(() => {
            if (client.handshakeComplete) return;
            const a = peer();
            io.stderr.write(`crosswire: ${timeoutError('no DTLS handshake with', `udp ${hostPort(a.host, a.port)}${a.host !== target.host ? ` (${target.host})` : ''}`, limitMs).message}\n`);
            finish(EXIT_FAILURE);
          }, limitMs)
        : undefined;
    const finish = (code: number) => {
      if (resend) clearInterval(resend);
      clearTimeout(handshakeTimer);
      if (finished) return;
      finished = true;
      io.stdin.off('data', onData);
      io.stdin.off('end', onEnd);
      io.stdin.pause();
      void driver.close().then(() => resolve(code));
    };
    const sendLines = (eof: boolean) => {
      if (!client.handshakeComplete || client.closed) return;
      let nl: number;
      while ((nl = pending.indexOf(0x0a)) >= 0) {
        const line = pending.subarray(0, nl + 1);
        client.send(line);
        if (awaitEcho) sentLines.push(line.slice());
        pending = pending.subarray(nl + 1);
      }
      if (eof) {
        if (pending.length) {
          client.send(pending);
          if (awaitEcho) sentLines.push(pending.slice());
        }
        pending = new Uint8Array(0);
        if (!awaitEcho || missing().length === 0) closeNow();
        else if (!resend) {
          let tries = 0;
          resend = setInterval(() => {
            if (client.closed) return;
            if (++tries > 30) {
              io.stderr.write(`crosswire: ${missing().length} of ${sentLines.length} line(s) never came back after 30 re-sends\n`);
              finish(EXIT_FAILURE);
              return;
            }
            for (const l of missing()) client.send(l);
            driver.kick();
          }, 1000);
        }
      }
      driver.kick();
    };
    const onData = (chunk: Buffer) => {
      const next = new Uint8Array(pending.length + chunk.length);
      next.set(pending);
      next.set(chunk, pending.length);
      pending = next;
      sendLines(false);
    };
    const onEnd = () => {
      stdinDone = true;
      sendLines(true);
    };
    const onEvent = (e: DtlsEvent) => {
      switch (e.type) {
        case 'hello-verify-request':
          log(`HelloVerifyRequest: cookie of ${e.cookieLength} bytes`);
          break;
        case 'handshake-complete':
          clearTimeout(handshakeTimer);
          log(`handshake complete: DTLS 1.2 ${e.summary.suite} ${e.summary.group}${e.summary.alpn ? ` alpn=${e.summary.alpn}` : ''} with ${addressKey(peer())}`);
          sendLines(stdinDone);
          break;
        case 'data':
          io.stdout.write(e.data);
          if (awaitEcho) {
            echoed += td.decode(e.data);
            if (stdinDone && resend && missing().length === 0) closeNow();
          }
          break;
        case 'alert':
          if (!e.sent) log(`received ${e.level} alert ${alertName(e.description)}`);
          break;
        case 'closed':
          if (e.error) {
            io.stderr.write(`crosswire: ${describeAlert(e.error)}\n`);
            finish(EXIT_FAILURE);
          } else {
            log('peer closed (close_notify)');
            finish(0);
          }
          break;
      }
    };
    handle = onEvent;
    refused = () => {
      if (client.handshakeComplete) return;
      io.stderr.write(`crosswire: ${nothingListens}\n`);
      finish(EXIT_FAILURE);
    };
    io.stdin.on('data', onData);
    io.stdin.on('end', onEnd);
  });
}

/** `crosswire serve dtls://host:port --cert F --key F [--echo]`: runs until SIGINT/SIGTERM (or io.signal). */
export async function serveDtls(target: Target, flags: DtlsServerFlags, io: DtlsIo = processIo()): Promise<number> {
  const verbose = (line: string) => (flags.v ? io.stderr.write(`crosswire: ${line}\n`) : undefined);
  // A key that does not belong to the certificate would only show up as the client's decrypt_error: refuse it here.
  const credentials = loadCredentials(flags.cert, flags.key, 'server');
  const root = checkRoot(flags.root);
  // --root: HTTP/1.1 over DTLS records, one request per association (as `openssl s_server -dtls -WWW` answers).
  const files = new Map<string, FileResponder>();
  const server = new DtlsServer({
    crypto: cryptoProvider(),
    random: systemRandom,
    clock: systemClock,
    certificateChain: credentials.chain,
    privateKey: credentials.key,
    alpn: listFlag(flags.alpn).length ? listFlag(flags.alpn) : undefined,
    cipherSuites: parseSuites(flags.cipher),
    groups: parseGroups(flags.group),
    keyLog: keyLog(flags.keylog),
    pmtu: flags.pmtu,
    cookies: !flags.noCookies,
  });
  let socket;
  try {
    socket = await bindUdp(target.host, target.port);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw usageError(`cannot listen on ${target.host}:${target.port}: ${err.code ?? err.message}`);
  }
  const onEvents = () => {
    for (let e = server.pollEvent(); e; e = server.pollEvent()) {
      const who = addressKey(e.peer);
      const ev = e.event;
      if (ev.type === 'handshake-complete') verbose(`${who}: handshake complete: DTLS 1.2 ${ev.summary.suite} ${ev.summary.group}`);
      else if (ev.type === 'data') {
        if (root) {
          let f = files.get(who);
          if (!f) files.set(who, (f = new FileResponder(root, (l) => verbose(`${who}: ${l}`))));
          const response = f.feed(ev.data);
          const c = server.connection(e.peer);
          if (response && c?.handshakeComplete && !c.closing) {
            server.send(e.peer, response);
            server.close(e.peer);
          }
        } else if (flags.echo) {
          // The association may already be gone (its close_notify came in the same datagram): nothing to echo to.
          if (server.connection(e.peer)?.handshakeComplete && !server.connection(e.peer)?.closing) server.send(e.peer, ev.data);
        }
        else io.stdout.write(ev.data);
      } else if (ev.type === 'closed') files.delete(who), verbose(`${who}: ${ev.error ? describeAlert(ev.error) : 'closed'}`);
    }
  };
  const driver = await UdpEndpointDriver.attach(server, socket, { afterInput: onEvents });
  io.stderr.write(`listening on ${addressKey(driver.local)}\n`);
  io.onListening?.(driver.local);
  await new Promise<void>((done) => {
    const stop = (why: string) => {
      verbose(`${why}: shutting down`);
      server.close();
      driver.kick();
      done();
    };
    if (io.signal) {
      if (io.signal.aborted) stop('aborted');
      else io.signal.addEventListener('abort', () => stop('aborted'), { once: true });
    } else {
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    }
  });
  await driver.close();
  return 0;
}
