// Shared by the QUIC commands (get, connect, serve): QUIC configuration from flags, qlog files, close reasons.

import { CRYPTO_BACKENDS, cryptoProvider, isCryptoBackendName, type CryptoProvider } from '../engine/crypto/index.js';
import { openQlogFile, qlogDir, type QlogFile } from '../engine/io/qlog-file.js';
import { systemClock, systemRandom } from '../engine/io/system.js';
import { DEFAULT_TRANSPORT, type QuicConfig, type QuicTlsOptions } from '../engine/quic/config.js';
import type { CloseInfo } from '../engine/quic/connection-events.js';
import { transportErrorName } from '../engine/quic/errors.js';
import type { QlogEvent, QlogSink } from '../engine/quic/qlog.js';
import { QUIC_V1, QUIC_V2 } from '../engine/quic/version.js';
import { alertName, type TlsConfig } from '../engine/tls/api.js';
import { createTlsSession } from '../engine/tls/session.js';
import { hex } from '../engine/wire/bytes.js';
import { usageError } from './cli-util.js';

export interface QuicFlags {
  'quic-version'?: number;
  crypto?: string;
  qlog?: string;
  cc?: string;
  /** Initiate a 1-RTT key update every this many packets (RFC 9001 §6); the command builder must declare the flag. */
  'key-update'?: number;
  /** Largest UDP payload to send; PMTU discovery probes up to it (1200 turns probing off). The builder must declare it. */
  'max-datagram-size'?: number;
  /** false (`--no-ack-frequency`): neither advertise nor use the ACK Frequency extension. The builder must declare it. */
  'ack-frequency'?: boolean;
}

export const CRYPTO_FLAG_HELP = 'QUIC: crypto backend for packet protection (default node; sodium runs ChaCha20-Poly1305 on libsodium and needs the npm package sodium-native)';

/** QUIC's packet AEAD is the hot path: the node:crypto backend by default, noble or sodium on request. */
export function quicCrypto(flags: QuicFlags): CryptoProvider {
  const name = flags.crypto ?? 'node';
  if (!isCryptoBackendName(name)) throw usageError(`--crypto must be ${CRYPTO_BACKENDS.join(', ')}, not ${name}`);
  try {
    return cryptoProvider(name);
  } catch (e) {
    // A chosen backend whose package is missing is a usage problem: one line naming the package, no stack.
    throw usageError((e as Error).message);
  }
}

export function quicVersions(flags: QuicFlags): { version: number; versions: number[] } {
  const v = flags['quic-version'] ?? 1;
  if (v === 1) return { version: QUIC_V1, versions: [QUIC_V1, QUIC_V2] };
  if (v === 2) return { version: QUIC_V2, versions: [QUIC_V2, QUIC_V1] };
  throw usageError(`--quic-version must be 1 or 2, not ${v}`);
}

/** The QUIC half of a TLS config (QUIC sets role, crypto, random, clock, quic and transport parameters itself). */
export function quicTlsOptions(tls: TlsConfig): QuicTlsOptions {
  const { role: _r, crypto: _c, random: _x, clock: _k, quic: _q, quicTransportParameters: _t, ...rest } = tls;
  return rest;
}

export function quicConfig(flags: QuicFlags, tls: TlsConfig, extra: Partial<QuicConfig> = {}): QuicConfig {
  const cc = flags.cc ?? 'cubic';
  if (cc !== 'newreno' && cc !== 'cubic' && cc !== 'bbr') throw usageError(`--cc must be newreno, cubic or bbr, not ${cc}`);
  const ku = flags['key-update'];
  if (ku !== undefined && !(Number.isInteger(ku) && ku > 0)) throw usageError(`--key-update must be a positive packet count, not ${ku}`);
  const mds = flags['max-datagram-size'];
  if (mds !== undefined && !(Number.isInteger(mds) && mds >= 1200 && mds <= 65527)) throw usageError(`--max-datagram-size must be a byte count from 1200 to 65527, not ${mds}`);
  return {
    crypto: quicCrypto(flags),
    random: systemRandom,
    clock: systemClock,
    createTls: createTlsSession,
    tls: quicTlsOptions(tls),
    congestionControl: cc,
    ...quicVersions(flags),
    ...(ku ? { keyUpdateAfterPackets: ku } : {}),
    // Sending larger datagrams is only half of it: the peer searches up to our max_udp_payload_size, so we advertise
    // that we accept as much as we would send (never less than the 1472 default).
    ...(mds !== undefined ? { maxDatagramSize: mds, transport: { maxUdpPayloadSize: Math.max(DEFAULT_TRANSPORT.maxUdpPayloadSize, mds) } } : {}),
    ...(flags['ack-frequency'] === false ? { ackFrequency: false } : {}),
    ...extra,
  };
}

/**
 * A qlog sink for one connection whose file name (the ODCID) is known only after the connection exists: events are
 * buffered until `bind(odcid)`.
 */
export function deferredQlog(flagDir: string | undefined, vantage: 'client' | 'server'): { sink?: QlogSink; bind(odcid: Uint8Array): void; close(): void; path?: () => string | undefined } {
  const dir = qlogDir(flagDir);
  if (!dir) return { bind() {}, close() {} };
  let file: QlogFile | undefined;
  const early: QlogEvent[] = [];
  return {
    sink: (e) => (file ? file.sink(e) : early.push(e)),
    bind(odcid) {
      if (file) return;
      const id = hex(odcid);
      file = openQlogFile(dir, `${id}_${vantage}`, vantage, id);
      for (const e of early.splice(0)) file.sink(e);
    },
    close: () => file?.close(),
    path: () => file?.path,
  };
}

/** One line for how a connection ended, naming the TLS alert for CRYPTO_ERRORs. */
export function describeClose(info: CloseInfo): string {
  if (info.cause === 'idle-timeout') return 'idle timeout: no packets from the peer';
  if (info.cause === 'stateless-reset') return 'stateless reset from the peer';
  if (info.cause === 'version-negotiation') return 'version negotiation failed: no common QUIC version';
  const who = info.initiator === 'remote' ? 'peer closed the connection' : 'closed the connection';
  let what: string;
  if (info.kind === 'application') what = `application error 0x${info.errorCode.toString(16)}`;
  else if (typeof info.errorCode === 'number' && info.errorCode >= 0x100 && info.errorCode < 0x200) what = `TLS alert ${alertName(info.errorCode - 0x100)} (CRYPTO_ERROR 0x${info.errorCode.toString(16)})`;
  else what = transportErrorName(info.errorCode);
  return `${who}: ${what}${info.reason ? `: ${info.reason}` : ''}`;
}
