// `crosswire get <url>` (DESIGN.md §5): one HTTP GET over TLS 1.3/TCP (HTTP/1.1, --tcp) or QUIC (HTTP/3 / hq-interop).
//
// The transport is picked from the URL scheme and --tcp; each transport registers a fetcher in GET_TRANSPORTS.

import type { Argv, CommandModule } from 'yargs';
import { CRYPTO_BACKENDS } from '../../engine/crypto/index.js';
import { CRYPTO_FLAG_HELP } from '../cli-util-quic.js';
import { parseTarget, runCommand, usageError, type Target } from '../cli-util.js';
import { getOverTcp, type GetFlags } from './get-tcp.js';
import { downloadName, getOverQuic } from './get-quic.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type GetFetcher = (target: Target, flags: GetFlags) => Promise<number>;

/** Transport key → fetcher. 'https+tcp' is TLS 1.3 over TCP; QUIC registers 'https' (h3 / hq-interop). */
export const GET_TRANSPORTS: Record<string, GetFetcher> = {
  'https+tcp': getOverTcp,
  https: getOverQuic,
};

function transportKey(target: Target, flags: GetFlags): string {
  return flags.tcp ? `${target.scheme}+tcp` : target.scheme;
}

export const getCommand: CommandModule<object, GetFlags & { urls: string[]; 'out-dir'?: string }> = {
  command: 'get <urls..>',
  describe: 'HTTP GET over QUIC (default) or TLS 1.3 over TCP (--tcp, HTTP/1.1); several URLs of one server: one QUIC connection, files in --out-dir',
  builder: (y: Argv) =>
    y
      .positional('urls', { type: 'string', array: true, demandOption: true, describe: 'https://host:port/path (several: same server, needs --out-dir)' })
      .option('tcp', { type: 'boolean', default: false, describe: 'TLS 1.3 over TCP with HTTP/1.1 instead of QUIC' })
      .option('ca', { type: 'string', describe: 'trust anchors (PEM); default: the system store' })
      .option('insecure', { type: 'boolean', default: false, describe: 'skip certificate verification (explicit opt-out)' })
      .option('servername', { type: 'string', describe: 'SNI and the name the certificate must match (default: the URL host)' })
      .option('alpn', { type: 'string', array: true, describe: 'ALPN protocol(s) to offer' })
      .option('cipher', { type: 'string', array: true, describe: 'TLS 1.3 cipher suite(s), e.g. TLS_AES_256_GCM_SHA384' })
      .option('group', { type: 'string', array: true, describe: 'key exchange group(s): x25519, secp256r1' })
      .option('cert', { type: 'string', describe: 'client certificate chain (PEM) for servers that ask for one' })
      .option('key', { type: 'string', describe: 'private key of --cert (PEM)' })
      .option('keylog', { type: 'string', describe: 'append NSS key log lines to this file (also SSLKEYLOGFILE)' })
      .option('out', { type: 'string', describe: 'write the body to this file instead of stdout' })
      .option('out-dir', { type: 'string', describe: 'write each body to this folder under its URL\'s file name (quic-interop-runner\'s /downloads)' })
      .option('resume', { type: 'string', describe: 'session ticket file: resume with it if present, save the newest ticket after the run' })
      .option('v', { alias: 'verbose', type: 'boolean', default: false, describe: 'print handshake details and records to stderr' })
      .option('quic-version', { type: 'number', choices: [1, 2], describe: 'QUIC: version of the first Initial (default 1; v2 is offered for compatible upgrade)' })
      .option('0rtt', { type: 'boolean', default: false, describe: 'QUIC: send the request as 0-RTT with the --resume ticket' })
      .option('qlog', { type: 'string', describe: 'QUIC: write qlog 0.3 JSON-SEQ files to this directory (also QLOGDIR)' })
      .option('crypto', { type: 'string', choices: [...CRYPTO_BACKENDS], describe: CRYPTO_FLAG_HELP })
      .option('cc', { type: 'string', choices: ['newreno', 'cubic', 'bbr'], describe: 'QUIC: congestion controller (default cubic; bbr paces at the measured bottleneck rate and does not back off on random loss)' })
      .option('key-update', { type: 'number', describe: 'QUIC: initiate a 1-RTT key update every N packets sent; --tcp: send KeyUpdate(update_requested) before the request' })
      .option('ack-frequency', { type: 'boolean', describe: 'QUIC: the ACK Frequency extension, draft-ietf-quic-ack-frequency-14 (default on; --no-ack-frequency: RFC 9000 ACKs only)' })
      .option('max-datagram-size', { type: 'number', describe: 'QUIC: largest UDP payload to send; PMTU discovery probes up to it (default 1472, 1200 = no probing)' })
      .option('connection-per-url', { type: 'boolean', default: false, describe: 'QUIC: fetch each URL over its own connection, one after another, in this one process (quic-interop-runner\'s multiconnect; --tcp always does)' })
      .option('timeout', { type: 'number', describe: 'give up when the response has not fully arrived after this many seconds, QUIC and --tcp (default 30; 0: no limit); the message names the address tried' }) as unknown as Argv<GetFlags & { urls: string[]; 'out-dir'?: string }>,
  handler: (argv) =>
    runCommand(async () => {
      const targets = argv.urls.map((u) => parseTarget(u, ['https']));
      const target = targets[0]!;
      for (const t of targets) if (t.host !== target.host || t.port !== target.port) throw usageError(`every URL must name the same server: ${t.host}:${t.port} differs from ${target.host}:${target.port}`);
      if (targets.length > 1 && !argv['out-dir']) throw usageError('several URLs need --out-dir (one file per URL)');
      if (argv['out-dir'] && argv.out) throw usageError('--out and --out-dir exclude each other');
      const key = transportKey(target, argv);
      const fetcher = GET_TRANSPORTS[key];
      if (!fetcher) {
        throw usageError(argv.tcp ? `--tcp does not support ${target.scheme}://` : 'HTTP/3 over QUIC is not available in this build yet; add --tcp for HTTP/1.1 over TLS 1.3/TCP');
      }
      if (argv['out-dir']) mkdirSync(argv['out-dir'], { recursive: true });
      // QUIC carries every path on one connection; HTTP/1.1 over TCP (and QUIC with --connection-per-url) fetches them
      // one connection after another — in one process, where a script starting `get` per URL pays a Node start each.
      if (key === 'https' && !argv['connection-per-url']) return fetcher(target, { ...argv, morePaths: targets.slice(1).map((t) => t.path) } as GetFlags);
      let code = 0;
      for (const t of targets) {
        const out = argv['out-dir'] ? join(argv['out-dir'], downloadName(t.path)) : argv.out;
        code = await fetcher(t, { ...argv, ...(out ? { out } : {}) });
        if (code !== 0) return code;
      }
      return code;
    }),
};
