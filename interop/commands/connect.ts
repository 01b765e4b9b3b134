// `crosswire connect <quic|tls|dtls>://host:port` (DESIGN.md §5): s_client-like, stdin → peer, peer → stdout.
//
// The protocol comes from the URL scheme; each one registers a connector in CONNECT_PROTOCOLS.

import type { Argv, CommandModule } from 'yargs';
import { CRYPTO_BACKENDS } from '../../engine/crypto/index.js';
import { CRYPTO_FLAG_HELP } from '../cli-util-quic.js';
import { parseTarget, runCommand, type Target } from '../cli-util.js';
import { connectOverTls, type ConnectFlags } from './connect-tls.js';
import { connectDtls } from './dtls.js';
import { connectOverQuic } from './connect-quic.js';

export type Connector = (target: Target, flags: ConnectFlags) => Promise<number>;

export const CONNECT_PROTOCOLS: Record<string, Connector> = {
  tls: connectOverTls,
  dtls: (target, flags) => connectDtls(target, flags),
  quic: connectOverQuic,
};

export const connectCommand: CommandModule<object, ConnectFlags & { url: string }> = {
  command: 'connect <url>',
  describe: 'interactive client: stdin to the peer, the peer to stdout (quic://, tls:// or dtls://host:port)',
  builder: (y: Argv) =>
    y
      .positional('url', { type: 'string', demandOption: true, describe: 'quic://host:port, tls://host:port or dtls://host:port' })
      .option('ca', { type: 'string', describe: 'trust anchors (PEM); default: the system store' })
      .option('insecure', { type: 'boolean', default: false, describe: 'skip certificate verification (explicit opt-out)' })
      .option('servername', { type: 'string', describe: 'SNI and the name the certificate must match (default: the URL host)' })
      .option('alpn', { type: 'string', array: true, describe: 'ALPN protocol(s) to offer' })
      .option('cipher', { type: 'string', array: true, describe: 'TLS 1.3 cipher suite(s)' })
      .option('group', { type: 'string', array: true, describe: 'key exchange group(s): x25519, secp256r1' })
      .option('cert', { type: 'string', describe: 'client certificate chain (PEM)' })
      .option('key', { type: 'string', describe: 'private key of --cert (PEM)' })
      .option('keylog', { type: 'string', describe: 'append NSS key log lines to this file (also SSLKEYLOGFILE)' })
      .option('v', { alias: 'verbose', type: 'boolean', default: false, describe: 'print handshake details and records to stderr' })
      .option('timeout', { type: 'number', describe: 'give up when the handshake has not completed after this many seconds (default 30; 0: no limit); the message names the address tried' })
      .option('quic-version', { type: 'number', choices: [1, 2], describe: 'QUIC: version of the first Initial (default 1)' })
      .option('qlog', { type: 'string', describe: 'QUIC: write qlog files to this directory (also QLOGDIR)' })
      .option('crypto', { type: 'string', choices: [...CRYPTO_BACKENDS], describe: CRYPTO_FLAG_HELP })
      .option('await-echo', { type: 'boolean', default: false, describe: 'DTLS: after stdin ends, wait until every line came back, re-sending missing lines every second, then close' }) as unknown as Argv<ConnectFlags & { url: string }>,
  handler: (argv) =>
    runCommand(async () => {
      const target = parseTarget(argv.url, Object.keys(CONNECT_PROTOCOLS));
      return CONNECT_PROTOCOLS[target.scheme]!(target, argv);
    }),
};
