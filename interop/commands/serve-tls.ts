// `crosswire serve tls://`: TLS 1.3 over TCP (RFC 8446) with an HTTP/1.1 static file server (RFC 9112) or an echo service.

import { statSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server, AddressInfo } from 'node:net';
import { HttpError, RequestParser, encodeResponseHead, targetToSegments, type Headers } from '../../engine/apps/http1.js';
import { listenTls, type TlsSocket } from '../../engine/io/tcp.js';
import { concat, utf8 } from '../../engine/wire/bytes.js';
import { VERSION, describeError, usageError, verboseLogger, type Target } from '../cli-util.js';
import { cliCrypto, handshakeSummary, newSession, recordTracer, serverConfig, type TlsServerFlags } from '../cli-util-tls.js';

export interface ServeFlags extends TlsServerFlags {
  root?: string;
  echo?: boolean;
  v?: boolean;
}

export async function serveTls(target: Target, flags: ServeFlags): Promise<number> {
  const log = verboseLogger(!!flags.v);
  const root = checkRoot(flags.root);
  // Load credentials once up front so a bad --cert/--key is a usage error before we bind.
  const config = serverConfig(flags, root ? ['http/1.1'] : undefined);
  const live = new Set<TlsSocket>();
  let nextId = 1;

  let server: Server;
  try {
    server = await listenTls({
      host: target.host,
      port: target.port,
      crypto: cliCrypto(),
      createSession: () => newSession(config),
      record: flags.v ? { onRecord: recordTracer(log) } : undefined,
      onConnection: (tls) => {
        const id = nextId++;
        live.add(tls);
        tls.on('close', () => live.delete(tls));
        tls.on('error', (e) => log(`#${id}: ${describeError(e, tls.connection.handshakeDone ? 'connection' : 'handshake').line}`));
        // 'secure' fires before the first application data is dispatched, so the summary precedes any echo of it.
        tls.once('secure', () => log(`#${id}: ${handshakeSummary(tls.session)}`));
        if (root) serveFiles(tls, root, (line) => log(`#${id}: ${line}`));
        else tls.pipe(tls);
      },
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw usageError(`cannot listen on ${target.host}:${target.port}: ${err.code ?? err.message}`);
  }
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
  // Handlers go in before the announcement: a supervisor may signal the instant it reads "listening on".
  const stopped = new Promise<void>((done) => {
    const stop = (signal: string) => {
      log(`${signal}: shutting down`);
      server.close();
      for (const tls of live) tls.destroy();
      done();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  process.stderr.write(`listening on ${shown}\n`);
  await stopped;
  return 0;
}

/** A checked --root: the directory, resolved; a usage error (exit 2) when it is not a readable directory. */
export function checkRoot(flag: string | undefined): string | undefined {
  if (!flag) return undefined;
  const root = resolve(flag);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw usageError(`--root ${flag} is not a readable directory`);
  return root;
}

/**
 * HTTP/1.1 file serving shared by TLS and DTLS: request bytes go in (`feed`), the one response comes out once a request
 * is complete (Connection: close, GET and HEAD of regular files under `root`, traversal answered as 404).
 */
export class FileResponder {
  private readonly parser = new RequestParser();
  answered = false;
  constructor(
    private readonly root: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The response to send, once; undefined while the request is incomplete (or after it was answered). */
  feed(chunk: Uint8Array): Uint8Array | undefined {
    if (this.answered) return undefined;
    let req;
    try {
      req = this.parser.feed(chunk);
    } catch (e) {
      this.log(`bad request: ${(e as HttpError).message}`);
      return this.respond(400, 'Bad Request', text('bad request'));
    }
    if (!req) return undefined;
    this.log(`${req.method} ${req.target}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.respond(405, 'Method Not Allowed', text('only GET and HEAD'));
    const segments = targetToSegments(req.target);
    // Traversal attempts get the same 404 as a missing file: nothing outside the root is confirmed or denied.
    if (!segments) return this.respond(404, 'Not Found', text('not found'));
    let path = join(this.root, ...segments);
    try {
      if (statSync(path).isDirectory()) path = join(path, 'index.html');
      const st = statSync(path);
      if (!st.isFile()) return this.respond(404, 'Not Found', text('not found'));
      const body = new Uint8Array(readFileSync(path));
      return this.respond(200, 'OK', body, req.method === 'HEAD', 'application/octet-stream');
    } catch {
      return this.respond(404, 'Not Found', text('not found'));
    }
  }

  private respond(status: number, reason: string, body: Uint8Array, headOnly = false, type = 'text/plain; charset=utf-8'): Uint8Array {
    this.answered = true;
    const headers: Headers = [
      ['Server', `crosswire/${VERSION}`],
      ['Content-Type', type],
      ['Content-Length', String(body.length)],
      ['Connection', 'close'],
    ];
    return headOnly ? encodeResponseHead(status, reason, headers) : concat(encodeResponseHead(status, reason, headers), body);
  }
}

const text = (s: string) => utf8.encode(s + '\n');

/** One request per connection (Connection: close), GET and HEAD of regular files under `root`. */
function serveFiles(tls: TlsSocket, root: string, log: (line: string) => void): void {
  const files = new FileResponder(root, log);
  tls.on('data', (chunk: Buffer) => {
    const response = files.feed(new Uint8Array(chunk));
    if (!response) return;
    // One write, so a small response leaves in a single record.
    tls.write(response);
    tls.end();
  });
  tls.on('end', () => {
    if (!files.answered) tls.end();
  });
}
