// `crosswire serve <quic|tls|dtls>://host:port --cert --key` (DESIGN.md §5): our server, a static file server (--root)
// or an echo server (--echo).
//
// The protocol comes from the URL scheme; each one registers a server in SERVE_PROTOCOLS.

import type { Argv, CommandModule } from 'yargs';
import { CRYPTO_BACKENDS } from '../../engine/crypto/index.js';
import { CRYPTO_FLAG_HELP } from '../cli-util-quic.js';
import { parseTarget, runCommand, usageError, type Target } from '../cli-util.js';
import { serveTls, type ServeFlags } from './serve-tls.js';
import { serveDtls } from './dtls.js';
import { serveQuic } from './serve-quic.js';

export type Serve = (target: Target, flags: ServeFlags) => Promise<number>;

export const SERVE_PROTOCOLS: Record<string, Serve> = {
  tls: serveTls,
  dtls: (target, flags) => serveDtls(target, flags),
  quic: serveQuic,
};

/** Flags that only some protocols use (the rest of serve's flags apply to all three). */
const ONLY_FOR: Record<string, string[]> = {
  'client-ca': ['tls', 'quic'],
  'key-update': ['quic'],
  'ack-frequency': ['quic'],
  'max-datagram-size': ['quic'],
  retry: ['quic'],
  'quic-version': ['quic'],
  qlog: ['quic'],
  crypto: ['quic'],
  cc: ['quic'],
};

export const serveCommand: CommandModule<object, ServeFlags & { url: string }> = {
  command: 'serve <url>',
  describe: 'run our server on quic://, tls:// or dtls://host:port: files (--root DIR) or echo (--echo)',
  builder: (y: Argv) =>
    y
      .positional('url', { type: 'string', demandOption: true, describe: 'quic://, tls:// or dtls://host:port (port 0 picks a free one)' })
      .option('cert', { type: 'string', demandOption: true, describe: 'certificate chain (PEM), leaf first' })
      .option('key', { type: 'string', demandOption: true, describe: 'private key (PEM)' })
      .option('root', { type: 'string', describe: 'serve files from this directory (QUIC: hq-interop and h3; TLS and DTLS: HTTP/1.1)' })
      .option('echo', { type: 'boolean', describe: 'echo every byte back' })
      .option('client-ca', { type: 'string', describe: 'require a client certificate issued by these trust anchors (PEM)' })
      .option('alpn', { type: 'string', array: true, describe: 'ALPN protocol(s) to accept' })
      .option('cipher', { type: 'string', array: true, describe: 'TLS 1.3 cipher suite(s), in preference order' })
      .option('group', { type: 'string', array: true, describe: 'key exchange group(s): x25519, secp256r1' })
      .option('keylog', { type: 'string', describe: 'append NSS key log lines to this file (also SSLKEYLOGFILE)' })
      .option('v', { alias: 'verbose', type: 'boolean', default: false, describe: 'log connections and handshakes to stderr' })
      .option('key-update', { type: 'number', describe: 'QUIC: initiate a 1-RTT key update every N packets sent' })
      .option('ack-frequency', { type: 'boolean', describe: 'QUIC: the ACK Frequency extension, draft-ietf-quic-ack-frequency-14 (default on; --no-ack-frequency: RFC 9000 ACKs only)' })
      .option('max-datagram-size', { type: 'number', describe: 'QUIC: largest UDP payload to send; PMTU discovery probes up to it (default 1472, 1200 = no probing)' })
      .option('retry', { type: 'boolean', default: false, describe: 'QUIC: stateless Retry for every new connection (address validation)' })
      .option('quic-version', { type: 'number', choices: [1, 2], describe: 'QUIC: preferred version (both are accepted)' })
      .option('qlog', { type: 'string', describe: 'QUIC: write qlog files to this directory (also QLOGDIR)' })
      .option('crypto', { type: 'string', choices: [...CRYPTO_BACKENDS], describe: CRYPTO_FLAG_HELP })
      .option('cc', { type: 'string', choices: ['newreno', 'cubic', 'bbr'], describe: 'QUIC: congestion controller (default cubic; bbr paces at the measured bottleneck rate and does not back off on random loss)' })
      .conflicts('root', 'echo') as unknown as Argv<ServeFlags & { url: string }>,
  handler: (argv) =>
    runCommand(async () => {
      const target = parseTarget(argv.url, Object.keys(SERVE_PROTOCOLS), { listen: true });
      if (!argv.root && !argv.echo) throw usageError('choose what to serve: --root DIR or --echo');
      // A flag the protocol does not use would be silently ignored: refuse it instead (issue 14 item 20).
      for (const [flag, protocols] of Object.entries(ONLY_FOR)) {
        const given = argv[flag as keyof typeof argv];
        if (given === undefined || given === false || !protocols.length || protocols.includes(target.scheme)) continue;
        throw usageError(`--${flag} does not apply to ${target.scheme}:// (${protocols.join(', ')} only)`);
      }
      return SERVE_PROTOCOLS[target.scheme]!(target, argv);
    }),
};
