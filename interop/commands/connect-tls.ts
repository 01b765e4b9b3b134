// `crosswire connect tls://`: TLS 1.3 over TCP (RFC 8446) as a pipe; stdin EOF sends close_notify (§6.1), then we wait for the peer's.

import { CliError, describeError, verboseLogger, type Target } from '../cli-util.js';
import { hostPort, timeoutError, timeoutMs, withTimeout } from '../cli-timeout.js';
import type { TlsClientFlags } from '../cli-util-tls.js';
import { openTlsClient } from './get-tcp.js';

export interface ConnectFlags extends TlsClientFlags {
  v?: boolean;
  /** Seconds the handshake may take (default 30; 0: no limit); the session itself has no limit. */
  timeout?: number;
}

export async function connectOverTls(target: Target, flags: ConnectFlags): Promise<number> {
  const log = verboseLogger(!!flags.v);
  const ms = timeoutMs(flags.timeout);
  const tls = await withTimeout(openTlsClient(target, flags), ms, () => timeoutError('no TLS handshake with', `tcp ${hostPort(target.host, target.port)}`, ms));
  await new Promise<void>((resolve, reject) => {
    tls.on('error', (e) => reject(new CliError(describeError(e).line, describeError(e).code)));
    tls.on('end', () => resolve());
    tls.pipe(process.stdout, { end: false });
    process.stdin.pipe(tls);
    process.stdin.on('end', () => log('stdin closed: sent close_notify, waiting for the peer to close'));
  });
  if (tls.truncated) log('the peer closed TCP without close_notify');
  process.stdin.unpipe(tls);
  process.stdin.pause();
  tls.end();
  return 0;
}
