// Connection configuration (RFC 9000 §7.4, §18.2 transport parameter values we advertise; RFC 9001 §6.6 key update cadence; draft-ietf-quic-ack-frequency-14 §3 switch).

import type { CryptoProvider } from '../crypto/provider.js';
import type { RandomSource } from '../crypto/random.js';
import type { SessionTicket, TlsConfig, TlsSession } from '../tls/api.js';
import type { QlogSink } from './qlog.js';
import { QUIC_V1, SUPPORTED_VERSIONS } from './version.js';

/** Limits we grant the peer and timers we ask for; they become our transport parameters. */
export interface TransportSettings {
  /** max_idle_timeout in ms; 0 disables (RFC 9000 §10.1). */
  maxIdleTimeoutMs: number;
  maxUdpPayloadSize: number;
  initialMaxData: number;
  initialMaxStreamDataBidiLocal: number;
  initialMaxStreamDataBidiRemote: number;
  initialMaxStreamDataUni: number;
  initialMaxStreamsBidi: number;
  initialMaxStreamsUni: number;
  ackDelayExponent: number;
  maxAckDelayMs: number;
  activeConnectionIdLimit: number;
  disableActiveMigration: boolean;
}

export const DEFAULT_TRANSPORT: Readonly<TransportSettings> = {
  maxIdleTimeoutMs: 30_000,
  maxUdpPayloadSize: 1472,
  initialMaxData: 1 << 20,
  initialMaxStreamDataBidiLocal: 256 << 10,
  initialMaxStreamDataBidiRemote: 256 << 10,
  initialMaxStreamDataUni: 256 << 10,
  initialMaxStreamsBidi: 100,
  initialMaxStreamsUni: 100,
  ackDelayExponent: 3,
  maxAckDelayMs: 25,
  activeConnectionIdLimit: 4,
  disableActiveMigration: false,
};

/** TLS settings the application chooses; QUIC fills in role, crypto, randomness, transport parameters and quic mode. */
export type QuicTlsOptions = Omit<TlsConfig, 'role' | 'crypto' | 'random' | 'clock' | 'quic' | 'quicTransportParameters'>;

export interface QuicConfig {
  readonly crypto: CryptoProvider;
  readonly random: RandomSource;
  /** Wall-clock ms for TLS (certificate dates, ticket ages). Packet timing always uses the `now` passed in. */
  readonly clock: () => number;
  /** Creates the TLS 1.3 session (engine/tls/session.ts createTlsSession); injected to keep QUIC testable on its own. */
  readonly createTls: (config: TlsConfig) => TlsSession;
  readonly tls: QuicTlsOptions;
  /** Version of the first Initial (client). */
  readonly version?: number;
  /** Versions we accept, in preference order; the client may upgrade compatibly to the first one the server also has. */
  readonly versions?: readonly number[];
  readonly transport?: Partial<TransportSettings>;
  /** Length of connection IDs we choose: servers 8 (they route short headers by it), clients 0 (their 4-tuple identifies them). */
  readonly cidLength?: number;
  /** Initiate a 1-RTT key update after this many packets sent with one key (RFC 9001 §6.6 limits are far higher). */
  readonly keyUpdateAfterPackets?: number;
  /** Ceiling for receive-window auto-tuning (stream and connection). */
  readonly maxReceiveWindow?: number;
  /** Initial RTT estimate before samples arrive (RFC 9002 §6.2.2: 333 ms). */
  readonly initialRttMs?: number;
  /**
   * Largest UDP payload we send (default 1472: a 1500-byte MTU less IPv4 and UDP headers). PMTU discovery searches from
   * 1200 up to the smaller of this and the peer's max_udp_payload_size; 1200 or less turns probing off.
   */
  readonly maxDatagramSize?: number;
  /** DPLPMTUD (RFC 9000 §14.3, RFC 8899): probe for datagrams larger than 1200 bytes after the handshake (default true). */
  readonly pmtud?: boolean;
  /**
   * Congestion controller (default CUBIC, as in Linux, ngtcp2, quiche and msquic): its β = 0.7 keeps a drop-tail
   * bottleneck busy after a loss where NewReno's halving can fall below the path's bandwidth-delay product.
   * 'bbr' (recovery/bbr.ts) paces at a measured bottleneck bandwidth and does not back off on random loss.
   * Measured on the P2 link (10 MB, 10 Mbit/s, 30 ms, queue 25, virtual time), link efficiency at 0% / 2% loss:
   * cubic 95.5% / 34.2%, newreno 93.5% / 27.4%, bbr 95.4% / 93.7%; every QUIC catalog scenario passes self↔self with
   * either. CUBIC stays the default for now: BBR has not been checked for fairness against loss-based flows sharing a
   * shallow queue, nor against more than one real peer (ngtcp2), and a new default would change every self↔self trace.
   */
  readonly congestionControl?: 'newreno' | 'cubic' | 'bbr' | 'none';
  /**
   * The ACK Frequency extension (draft-ietf-quic-ack-frequency-14, default true): advertise min_ack_delay and follow the
   * peer's ACK_FREQUENCY requests, and ask a peer that advertises it for fewer ACKs in congestion avoidance
   * (ack-frequency.ts). false: neither, and a peer's ACK_FREQUENCY is a PROTOCOL_VIOLATION.
   */
  readonly ackFrequency?: boolean;
  readonly qlog?: QlogSink;
  /** Client: resume with a ticket whose appData holds the server's transport parameters (for 0-RTT). */
  readonly session?: SessionTicket;
  /** Client: address-validation token from an earlier NEW_TOKEN. */
  readonly token?: Uint8Array;
  /** Deliberate defects, only for proving that crosswire's own sweeps catch them (`crosswire fuzz --inject-fault`). */
  readonly faults?: readonly QuicFault[];
}

/**
 * 'handshake-crypto-no-retransmit': lost Handshake-space CRYPTO data is never sent again.
 * 'internal-error-on-stream-data': handling a STREAM frame throws a plain Error (an engine bug: INTERNAL_ERROR).
 */
export type QuicFault = 'handshake-crypto-no-retransmit' | 'internal-error-on-stream-data';

export function resolveTransport(cfg: QuicConfig): TransportSettings {
  return { ...DEFAULT_TRANSPORT, ...cfg.transport };
}

export function resolveVersions(cfg: QuicConfig): { first: number; all: readonly number[] } {
  const all = cfg.versions ?? SUPPORTED_VERSIONS;
  return { first: cfg.version ?? all[0] ?? QUIC_V1, all };
}
