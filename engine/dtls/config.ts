// Configuration and events of a DTLS 1.2 endpoint (RFC 6347): what callers set and what they read back.

import type { CryptoProvider, EcdhGroup, PrivateKey } from '../crypto/provider.js';
import type { RandomSource } from '../crypto/random.js';
import type { TlsError } from '../tls/api.js';
import type { DtlsSuiteName } from './suites.js';

export interface DtlsConfig {
  readonly crypto: CryptoProvider;
  readonly random: RandomSource;
  /** Wall-clock milliseconds for certificate validity only; protocol timers use the `now` passed to each call. */
  readonly clock: () => number;
  /** Client: SNI (omitted for IP literals) and the name or address the server certificate must match; required unless insecure. */
  readonly serverName?: string;
  readonly alpn?: readonly string[];
  /** Preference order; default DEFAULT_DTLS_SUITES. */
  readonly cipherSuites?: readonly DtlsSuiteName[];
  /** Preference order; default ['x25519', 'secp256r1']. */
  readonly groups?: readonly EcdhGroup[];
  /** Client: trust anchors (DER). Verification is on unless `insecure` is set. */
  readonly ca?: readonly Uint8Array[];
  /** Explicit opt-out of chain, name and date checks; the ServerKeyExchange signature is still checked against the leaf key. */
  readonly insecure?: boolean;
  /** Server: certificate chain (DER, leaf first) and its key. */
  readonly certificateChain?: readonly Uint8Array[];
  readonly privateKey?: PrivateKey;
  /** Largest datagram we send (RFC 6347 §4.1.1.1); handshake messages are fragmented to fit. Default 1200. */
  readonly pmtu?: number;
  /** RFC 6347 §4.2.4.1: 1 s initial, doubling, capped at 60 s. */
  readonly initialRetransmitMs?: number;
  readonly maxRetransmitMs?: number;
  /** Retransmissions of one flight before the handshake is abandoned. Default 10. */
  readonly maxRetransmissions?: number;
  /** Server: demand a HelloVerifyRequest round before keeping state (default true). */
  readonly cookies?: boolean;
  /** Server: cookie secret rotation period. */
  readonly cookieRotationMs?: number;
  /** NSS key log lines (CLIENT_RANDOM …), without newline. */
  readonly keyLog?: (line: string) => void;
}

export interface HandshakeSummary {
  readonly suite: DtlsSuiteName;
  readonly group: EcdhGroup;
  readonly alpn?: string;
  readonly serverName?: string;
  readonly peerCertificates: readonly Uint8Array[];
  /** Client: the server demanded a cookie round. */
  readonly helloVerifyRequest: boolean;
}

export type DtlsEvent =
  | { type: 'hello-verify-request'; cookieLength: number }
  | { type: 'handshake-complete'; summary: HandshakeSummary }
  | { type: 'data'; data: Uint8Array }
  | { type: 'alert'; level: 'warning' | 'fatal'; description: number; sent: boolean }
  | { type: 'closed'; error?: TlsError };
