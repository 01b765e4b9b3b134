// `crosswire get https://…` over QUIC (RFC 9000) with HTTP/3 (RFC 9114) or hq-interop: one download, body to stdout or --out.

import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionTicket } from '../../engine/tls/api.js';
import { QuicConnection } from '../../engine/quic/connection.js';
import type { ConnectionEvent } from '../../engine/quic/connection-events.js';
import { versionName } from '../../engine/quic/version.js';
import { QuicClientApp, type AppProtocol } from '../../engine/apps/quic-app.js';
import { monotonicNow, UdpEndpointDriver, wildcardFor } from '../../engine/io/udp.js';
import { BufferedOutput } from '../../engine/io/buffered-output.js';
import { CliError, EXIT_FAILURE, EXIT_OK, resolvePeer, usageError, verboseLogger, type Target } from '../cli-util.js';
import { clientConfig, listFlag, loadTicketFile, saveTicketFile } from '../cli-util-tls.js';
import { deferredQlog, describeClose, quicConfig, type QuicFlags, quicCrypto } from '../cli-util-quic.js';
import { hostPort, timeoutError, timeoutMs } from '../cli-timeout.js';
import type { GetFlags } from './get-tcp.js';

export interface GetQuicFlags extends GetFlags, QuicFlags {
  '0rtt'?: boolean;
  timeout?: number;
  /** More paths on the same connection (quic-interop-runner's client: every URL over one connection). */
  morePaths?: string[];
  /** Write each body to this folder under its path's file name instead of stdout / --out. */
  'out-dir'?: string;
}

/** The file a path's body goes to in --out-dir: its last segment (index.html for '/'). */
export function downloadName(path: string): string {
  const clean = path.split('?')[0]!;
  const last = clean.slice(clean.lastIndexOf('/') + 1);
  return last && last !== '.' && last !== '..' ? last : 'index.html';
}

const APP_PROTOCOLS: readonly AppProtocol[] = ['h3', 'hq-interop'];

export async function getOverQuic(target: Target, flags: GetQuicFlags): Promise<number> {
  const log = verboseLogger(!!flags.v);
  const alpn = listFlag(flags.alpn);
  const protocol = (alpn[0] ?? 'h3') as AppProtocol;
  if (!APP_PROTOCOLS.includes(protocol)) throw usageError(`--alpn for QUIC must be h3 or hq-interop, not ${protocol}`);
  const saved = flags.resume ? loadTicketFile(flags.resume) : undefined;
  if (flags.resume) log(saved ? `loaded ticket from ${flags.resume}` : `no usable ticket in ${flags.resume}`);
  if (flags['0rtt'] && !saved) log('--0rtt without a saved ticket: this connection cannot send 0-RTT (it will save one for the next run)');
  const wantEarly = !!flags['0rtt'] && !!saved;

  const limitMs = timeoutMs(flags.timeout);
  const tls = { ...clientConfig(flags, target.host, saved, [protocol], quicCrypto(flags)), earlyData: wantEarly };
  const { remote, fallbacks, nothingListens } = await resolvePeer(target.host, target.port);
  const qlog = deferredQlog(flags.qlog, 'client');
  const config = quicConfig(flags, tls, { session: saved, qlog: qlog.sink });

  const paths = [target.path, ...(flags.morePaths ?? [])];
  const outputs = new Map<string, { out: BufferedOutput; fd?: number }>();
  const open = (file: string) => {
    try {
      return openSync(file, 'w');
    } catch (e) {
      throw usageError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  if (flags['out-dir']) {
    for (const p of paths) {
      const fd = open(join(flags['out-dir'], downloadName(p)));
      outputs.set(p, { out: new BufferedOutput(fd), fd });
    }
  } else {
    if (paths.length > 1) throw usageError('several URLs need --out-dir (one file per URL)');
    const fd = flags.out ? open(flags.out) : undefined;
    outputs.set(target.path, { out: new BufferedOutput(fd), ...(fd !== undefined ? { fd } : {}) });
  }
  let received = 0;
  const failures: string[] = [];
  let completed = 0;
  let outcome: { ok: boolean; detail?: string } | undefined;
  const conn = new QuicConnection({ role: 'client', config, remote, now: monotonicNow() });
  qlog.bind(conn.originalDcid);
  const app = new QuicClientApp(
    conn,
    protocol,
    target.port === 443 ? target.host : `${target.host}:${target.port}`,
    {
      onHeaders: (_p, status) => log(`HTTP/3 status ${status}`),
      onData: (p, chunk) => {
        received += chunk.length;
        outputs.get(p)?.out.write(chunk);
      },
      onComplete: (p, ok, detail) => {
        completed++;
        if (!ok) failures.push(paths.length > 1 ? `${p}: ${detail ?? 'failed'}` : (detail ?? 'failed'));
        if (completed === paths.length) outcome = failures.length ? { ok: false, detail: failures.join('; ') } : { ok: true };
      },
    },
    monotonicNow,
    wantEarly,
  );
  for (const p of paths) app.request(p);
  log(`connecting to ${remote.host}:${remote.port} over ${versionName(config.version!)}, ALPN ${protocol}${saved ? ', resuming' : ''}${wantEarly ? ' with 0-RTT' : ''}`);

  let newest: SessionTicket | undefined;
  let seen = 0;
  const started = monotonicNow();
  let finish!: (r: { code: number; line?: string }) => void;
  const done = new Promise<{ code: number; line?: string }>((resolve) => (finish = resolve));
  let closing = false;
  const onEvent = (e: ConnectionEvent) => {
    if (e.type === 'handshake-complete') log(`handshake complete: ${versionName(e.version)}, ALPN ${e.alpn ?? 'none'}, ${conn.tls.suite?.name ?? '?'}, resumed: ${e.resumed ? 'yes' : 'no'} (${(monotonicNow() - started).toFixed(1)} ms)`);
    else if (e.type === 'early-data') log(`0-RTT ${e.accepted ? 'accepted' : 'rejected'} by the server`);
    else if (e.type === 'retry') log('server sent a Retry; following it');
    else if (e.type === 'version-changed') log(`version changed to ${versionName(e.version)} (${e.reason})`);
    else if (e.type === 'key-update') log(`key update to generation ${e.generation} (${e.initiator})`);
    else if (e.type === 'ticket') newest = e.ticket;
    else if ((e.type === 'closed' || e.type === 'closing') && !closing) finish({ code: EXIT_FAILURE, line: describeClose(e.info) });
  };
  const afterInput = () => {
    app.poll();
    for (; seen < app.events.length; seen++) onEvent(app.events[seen]!);
    if (outcome && !closing && app.idle) {
      closing = true;
      log(`received ${received} bytes in ${(monotonicNow() - started).toFixed(1)} ms`);
      // H3_NO_ERROR for HTTP/3, NO_ERROR (0) for hq-interop; the engine then sends CONNECTION_CLOSE.
      conn.close(protocol === 'h3' ? 0x100 : 0, '', true, monotonicNow());
      // The download is done, and not the whole closing period (3×PTO) is waited out: driver.close() below sends the
      // CONNECTION_CLOSE and lets the send complete before it closes the socket (a fixed 50 ms pause here used to).
      finish(outcome.ok ? { code: EXIT_OK } : { code: EXIT_FAILURE, line: `request failed: ${outcome.detail}` });
    }
  };
  const driver = await UdpEndpointDriver.open(conn, wildcardFor(remote.host), 0, {
    afterInput,
    // A connected socket is the only way node reports ICMP port unreachable (as ECONNREFUSED), so a closed port
    // fails at once instead of after --timeout.
    connect: remote,
    // ... and one address of the name refusing moves on to the next (localhost: 127.0.0.1 and ::1).
    fallbacks,
    onFallback: (r, next) => log(`nothing listens on udp ${r.host}:${r.port}; trying ${next.host}`),
    onError: (e) =>
      finish({ code: EXIT_FAILURE, line: e.code === 'ECONNREFUSED' ? nothingListens : `udp socket error: ${e.code ?? e.message}` }),
  });
  const tried = () => {
    const a = driver.peer ?? remote;
    return `udp ${hostPort(a.host, a.port)}${a.host !== target.host ? ` (${target.host})` : ''}`;
  };
  const guard = limitMs > 0 ? setTimeout(() => finish({ code: EXIT_FAILURE, line: timeoutError('no complete response from', tried(), limitMs).message }), limitMs) : undefined;
  const onSigint = () => finish({ code: EXIT_FAILURE, line: 'interrupted' });
  process.once('SIGINT', onSigint);
  // 0-RTT: the requests must be queued before the first flight leaves, so they ride in it (RFC 9001 §4.6.1).
  app.poll();
  driver.kick();
  const result = await done;
  clearTimeout(guard);
  process.off('SIGINT', onSigint);
  await driver.close();
  qlog.close();
  for (const { out, fd } of outputs.values()) {
    out.flush();
    if (fd !== undefined) closeSync(fd);
  }
  if (flags.resume && newest) {
    saveTicketFile(flags.resume, newest);
    log(`saved ticket to ${flags.resume}`);
  }
  if (result.code !== EXIT_OK) throw new CliError(result.line ?? 'download failed', result.code);
  return EXIT_OK;
}
