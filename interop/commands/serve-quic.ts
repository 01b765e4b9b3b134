// `crosswire serve quic://host:port --cert F --key F (--root DIR | --echo) [--retry]`: our QUIC server (RFC 9000) with
// HTTP/3 and hq-interop file serving (ALPN picks), or echo; stateless Retry on request.

import { QuicServer } from '../../engine/quic/server.js';
import { QuicServerApp } from '../../engine/apps/quic-app.js';
import { DirectoryFiles } from '../../engine/io/directory-files.js';
import { monotonicNow, UdpEndpointDriver } from '../../engine/io/udp.js';
import { openQlogFile, qlogDir } from '../../engine/io/qlog-file.js';
import { systemRandom } from '../../engine/io/system.js';
import { describeInternalError } from '../runner/internal-errors.js';
import { EXIT_OK, usageError, verboseLogger, type Target } from '../cli-util.js';
import { serverConfig } from '../cli-util-tls.js';
import { describeClose, quicConfig, type QuicFlags, quicCrypto } from '../cli-util-quic.js';
import type { ServeFlags } from './serve-tls.js';
import { addressKey } from '../../engine/endpoint.js';
import { existsSync, statSync } from 'node:fs';

export interface ServeQuicFlags extends ServeFlags, QuicFlags {
  retry?: boolean;
}

export async function serveQuic(target: Target, flags: ServeQuicFlags): Promise<number> {
  const log = verboseLogger(!!flags.v);
  if (flags.root && !(existsSync(flags.root) && statSync(flags.root).isDirectory())) throw usageError(`--root ${flags.root} is not a directory`);
  const alpnDefault = flags.echo ? ['echo', 'h3', 'hq-interop'] : ['h3', 'hq-interop'];
  const tls = { ...serverConfig(flags, alpnDefault, quicCrypto(flags)), earlyData: true };
  const qdir = qlogDir(flags.qlog);
  const qlogFiles: { close(): void }[] = [];
  const server = new QuicServer({
    config: quicConfig(flags, tls),
    retry: !!flags.retry,
    tokenKey: systemRandom(16),
    resetKey: systemRandom(32),
    issueNewTokens: true,
    qlogFor: qdir
      ? (odcid) => {
          const f = openQlogFile(qdir, `${odcid}_server`, 'server', odcid);
          qlogFiles.push(f);
          return f.sink;
        }
      : undefined,
    onEvent: (e) => {
      if (e.type === 'dropped') log(`dropped ${e.length} bytes from ${e.from.host}:${e.from.port}: ${e.reason}`);
      else if (e.type === 'retry') log(`sent Retry to ${e.to.host}:${e.to.port}`);
      else if (e.type === 'version-negotiation') log(`sent Version Negotiation to ${e.to.host}:${e.to.port} (offered 0x${e.offered.toString(16)})`);
    },
  });
  const files = flags.root ? new DirectoryFiles(flags.root) : 'echo';
  const app = new QuicServerApp(files, monotonicNow, (c, e) => {
    const peer = `${c.remoteAddress.host}:${c.remoteAddress.port}`;
    if (e.type === 'key-update') log(`key update to generation ${e.generation} (${e.initiator === 'remote' ? 'initiated by the client' : 'initiated by us'}) with ${peer}`);
    else if (e.type === 'early-data') log(`0-RTT ${e.accepted ? 'accepted' : 'rejected'} from ${peer}`);
    else if (e.type === 'closing') {
      log(`connection with ${peer} closing: ${describeClose(e.info)}`);
      // Always printed: a server bug must be visible without -v.
      for (const err of c.internalErrors) process.stderr.write(`crosswire: internal error on the connection with ${peer}: ${describeInternalError(err)}\n`);
    }
  });
  const seen = new Set<unknown>();
  const afterInput = () => {
    for (let c = server.accept(); c; c = server.accept()) {
      log(`connection from ${c.remoteAddress.host}:${c.remoteAddress.port}`);
    }
    app.poll(server.connections);
    if (flags.v) {
      for (const c of server.connections) {
        if (!seen.has(c) && c.tls.handshakeComplete) {
          seen.add(c);
          log(`handshake complete with ${c.remoteAddress.host}:${c.remoteAddress.port}: ${c.tls.suite?.name}, ALPN ${c.tls.alpn}, resumed: ${c.tls.resumed ? 'yes' : 'no'}`);
        }
      }
    }
  };
  let driver: UdpEndpointDriver;
  try {
    driver = await UdpEndpointDriver.open(server, target.host, target.port, { afterInput });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw usageError(`cannot listen on ${target.host}:${target.port}: ${err.code ?? err.message}`);
  }
  // Signal handlers go in before "listening on": a supervisor may signal the moment it reads that line.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  process.stderr.write(`listening on ${addressKey(driver.local)}\n`);
  await stopped;
  await driver.close();
  for (const f of qlogFiles) f.close();
  if (files !== 'echo') files.close();
  return EXIT_OK;
}
