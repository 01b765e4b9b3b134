// `crosswire get --tcp`: one HTTP/1.1 GET (RFC 9112) over TLS 1.3 over TCP (RFC 8446), with resumption tickets saved to a file.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { SessionTicket } from '../../engine/tls/api.js';
import { encodeRequest, ResponseParser } from '../../engine/apps/http1.js';
import { connectTls, type TlsSocket } from '../../engine/io/tcp.js';
import { CliError, EXIT_FAILURE, describeError, usageError, verboseLogger, type Target } from '../cli-util.js';
import {
  cliCrypto,
  clientConfig,
  handshakeSummary,
  loadTicketFile,
  newSession,
  recordTracer,
  saveTicketFile,
  type TlsClientFlags,
} from '../cli-util-tls.js';
import { VERSION } from '../cli-util.js';
import { hostPort, timeoutError, timeoutMs, withTimeout } from '../cli-timeout.js';

export interface GetFlags extends TlsClientFlags {
  tcp?: boolean;
  out?: string;
  resume?: string;
  v?: boolean;
  /** TLS over TCP: send KeyUpdate(update_requested) before the request (RFC 8446 §4.6.3); any value > 0. */
  'key-update'?: number;
  /** Seconds until the whole response must have arrived (default 30; 0: no limit). */
  timeout?: number;
}

/** Opens the TLS connection; a failure is reported as a handshake failure with the alert in it. */
export async function openTlsClient(target: Target, flags: TlsClientFlags & { v?: boolean }, ticket?: SessionTicket, defaultAlpn?: string[]): Promise<TlsSocket> {
  const log = verboseLogger(!!flags.v);
  const config = clientConfig(flags, target.host, ticket, defaultAlpn);
  const session = newSession(config);
  log(`connecting to ${target.host}:${target.port} (server name ${config.serverName}${ticket ? ', offering a saved ticket' : ''})`);
  try {
    const tls = await connectTls({ host: target.host, port: target.port, session, crypto: cliCrypto(), record: flags.v ? { onRecord: recordTracer(log) } : undefined });
    log(handshakeSummary(session));
    return tls;
  } catch (e) {
    throw new CliError(describeError(e, 'handshake').line, describeError(e).code);
  }
}

/** The address a TCP client tried, as messages print it: the connected peer once known, else the URL's host. */
function tcpTried(target: Target, tls: TlsSocket | undefined): string {
  const ip = tls?.socket.remoteAddress;
  return `tcp ${hostPort(ip ?? target.host, target.port)}${ip && ip !== target.host ? ` (${target.host})` : ''}`;
}

export async function getOverTcp(target: Target, flags: GetFlags): Promise<number> {
  const ms = timeoutMs(flags.timeout);
  let socket: TlsSocket | undefined;
  return withTimeout(getOverTcpUntimed(target, flags, (s) => (socket = s)), ms, () => {
    socket?.destroy();
    return timeoutError('no complete response from', tcpTried(target, socket), ms);
  });
}

async function getOverTcpUntimed(target: Target, flags: GetFlags, onSocket: (s: TlsSocket) => void): Promise<number> {
  const log = verboseLogger(!!flags.v);
  const saved = flags.resume ? loadTicketFile(flags.resume) : undefined;
  if (flags.resume) log(saved ? `loaded ticket from ${flags.resume}` : `no usable ticket in ${flags.resume}`);
  let out: WriteStream | NodeJS.WriteStream = process.stdout;
  if (flags.out) {
    const file = createWriteStream(flags.out);
    await new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', (e: NodeJS.ErrnoException) => reject(usageError(`cannot write --out ${flags.out}: ${e.code ?? e.message}`)));
    });
    out = file;
  }
  const tls = await openTlsClient(target, flags, saved, ['http/1.1']);
  onSocket(tls);
  let newest: SessionTicket | undefined;
  tls.on('ticket', (t: SessionTicket) => (newest = t));

  const parser = new ResponseParser('GET');
  try {
    // The request then travels under our next-generation keys, and the response under the server's.
    if (flags['key-update']) tls.keyUpdate(true);
    tls.write(encodeRequest({
      host: target.authority,
      target: target.path,
      headers: [['User-Agent', `crosswire/${VERSION}`], ['Accept', '*/*'], ['Connection', 'close']],
    }));
    // Events rather than for-await: leaving a for-await loop destroys the stream, which would skip close_notify.
    await new Promise<void>((resolve, reject) => {
      const settle = (fn: () => void) => {
        try {
          fn();
        } catch (e) {
          reject(e);
        }
      };
      tls.on('data', (chunk: Buffer) =>
        settle(() => {
          for (const b of parser.feed(new Uint8Array(chunk))) out.write(b);
          if (parser.done) resolve();
        }),
      );
      tls.on('end', () =>
        settle(() => {
          parser.end();
          resolve();
        }),
      );
      tls.on('error', reject);
    });
  } catch (e) {
    throw new CliError(describeError(e).line, describeError(e).code);
  } finally {
    await closeGracefully(tls);
    if (out !== process.stdout) await new Promise<void>((resolve) => (out as WriteStream).end(() => resolve()));
  }
  if (tls.truncated) {
    // Without close_notify an attacker could have cut a body that only the connection's end delimits (RFC 8446 §6.1).
    if (parser.delimitedByClose) throw new CliError('HTTP: the body may be truncated: the server closed TCP without close_notify', EXIT_FAILURE);
    log('the server closed TCP without close_notify');
  }
  if (flags.resume && newest) {
    saveTicketFile(flags.resume, newest);
    log(`saved ticket to ${flags.resume}`);
  }
  const head = parser.head!;
  log(`HTTP ${head.status} ${head.reason}`);
  if (head.status < 200 || head.status > 299) {
    throw new CliError(`HTTP ${head.status}${head.reason ? ' ' + head.reason : ''} for ${target.path}`, EXIT_FAILURE);
  }
  return 0;
}

/** close_notify, then wait (briefly) for the socket to close so the alert is on the wire before we exit. */
export async function closeGracefully(tls: TlsSocket): Promise<void> {
  if (tls.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    tls.socket.once('close', done);
    const timer = setTimeout(done, 1000);
    timer.unref();
    tls.on('error', () => {});
    tls.end();
    // We are not reading any more: let buffered plaintext drain so the socket can see the peer's FIN.
    tls.resume();
  });
}
