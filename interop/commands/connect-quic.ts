// `crosswire connect quic://host:port`: s_client-like over QUIC (RFC 9000) on the default stream of the OpenSSL-style
// API: stdin goes out on a client-initiated bidirectional stream, concluded (FIN) at stdin EOF; the peer's data → stdout.

import { connectQuic } from '../../engine/io/quic-udp.js';
import { versionName } from '../../engine/quic/version.js';
import { CliError, EXIT_FAILURE, EXIT_OK, resolvePeer, verboseLogger, type Target } from '../cli-util.js';
import { clientConfig, listFlag } from '../cli-util-tls.js';
import { deferredQlog, describeClose, quicConfig, type QuicFlags, quicCrypto } from '../cli-util-quic.js';
import type { ConnectFlags } from './connect-tls.js';
import { hostPort, timeoutError, timeoutMs, withTimeout } from '../cli-timeout.js';

export interface ConnectQuicFlags extends ConnectFlags, QuicFlags {}

export async function connectOverQuic(target: Target, flags: ConnectQuicFlags): Promise<number> {
  const log = verboseLogger(!!flags.v);
  const limitMs = timeoutMs(flags.timeout);
  const alpn = listFlag(flags.alpn);
  const tls = clientConfig(flags, target.host, undefined, alpn.length ? alpn : ['echo'], quicCrypto(flags));
  const { remote, fallbacks, nothingListens } = await resolvePeer(target.host, target.port);
  const qlog = deferredQlog(flags.qlog, 'client');
  let refused: string | undefined;
  const { api, runner } = await connectQuic({
    host: remote.host,
    port: remote.port,
    config: quicConfig(flags, tls, { qlog: qlog.sink }),
    udp: {
      // Connected, so an ICMP port unreachable comes back (as ECONNREFUSED): the next address of the name is tried, and
      // when none is left a closed port fails at once, not at the idle timeout.
      connect: remote,
      fallbacks,
      onFallback: (r, next) => log(`nothing listens on udp ${r.host}:${r.port}; trying ${next.host}`),
      onError: (e) => {
        if (e.code !== 'ECONNREFUSED' || refused) return;
        refused = nothingListens;
        api.connection.close(0, 'ICMP port unreachable', false, api.now());
      },
    },
  });
  qlog.bind(api.connection.originalDcid);
  const fail = (line: string) => new CliError(line, EXIT_FAILURE);
  try {
    const tried = () => {
      const a = runner.peer ?? remote;
      return `udp ${hostPort(a.host, a.port)}${a.host !== target.host ? ` (${target.host})` : ''}`;
    };
    let timedOut: CliError | undefined;
    try {
      await withTimeout(api.handshakeAsync(), limitMs, () => {
        timedOut = timeoutError('no QUIC handshake with', tried(), limitMs);
        api.connection.close(0, 'handshake timeout', false, api.now());
        return timedOut;
      });
    } catch {
      throw timedOut ?? fail(refused ?? (api.closeInfo ? describeClose(api.closeInfo) : 'handshake failed'));
    }
    const c = api.connection;
    const peer = runner.peer ?? remote;
    log(`connected to ${peer.host}:${peer.port}: ${versionName(c.version)}, ${c.tls.suite?.name ?? '?'}, ALPN ${c.tls.alpn ?? 'none'}`);

    // stdin → the default stream (opened by the first write), FIN at EOF
    let uploaded = false;
    const upload = (async () => {
      for await (const chunk of process.stdin) await api.writeAsync(new Uint8Array(chunk as Buffer));
      await api.writeAsync(new Uint8Array(0), true);
      log('stdin closed: stream concluded');
      uploaded = true;
    })();
    // Like s_client, the peer's FIN ends the session even if stdin is still open; an upload that fails because the
    // connection closed is reported by the read loop below, so its rejection needs no second report.
    upload.catch(() => {});
    // the default stream → stdout, until the peer's FIN or a reset
    for (;;) {
      const r = await api.readAsync();
      if (r instanceof Uint8Array) {
        if (r.length) process.stdout.write(r);
        continue;
      }
      if (r === 'finished') break;
      if (r === 'reset-remote') throw fail(`the peer reset the stream (error code ${api.defaultStreamObject?.peerResetCode ?? '?'})`);
      if (r === 'connection-closed') throw fail(refused ?? (api.closeInfo ? describeClose(api.closeInfo) : 'connection closed'));
      throw fail(`stream ended: ${r}`);
    }
    // A graceful shutdown waits for our stream to drain, which never happens while stdin is still open: close at once then.
    await api.shutdownAsync({ rapid: !uploaded });
    return EXIT_OK;
  } finally {
    await runner.close();
    qlog.close();
  }
}
