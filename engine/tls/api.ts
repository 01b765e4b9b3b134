// The TLS 1.3 session contract (RFC 8446 §4, §7) shared by QUIC (RFC 9001 §4) and TLS-over-TCP: no I/O, bytes in and out per epoch.

import type { AeadName, CryptoProvider, EcdhGroup, HashName, HeaderProtectionName, PrivateKey } from '../crypto/provider.js';
import type { RandomSource } from '../crypto/random.js';

/** Encryption levels. QUIC maps them to packet number spaces; TLS-over-TCP to record protection. */
export type Epoch = 'initial' | 'early' | 'handshake' | 'application';

export type CipherSuiteName = 'TLS_AES_128_GCM_SHA256' | 'TLS_AES_256_GCM_SHA384' | 'TLS_CHACHA20_POLY1305_SHA256';

export interface CipherSuite {
  readonly name: CipherSuiteName;
  readonly id: number; // 0x1301, 0x1302, 0x1303
  readonly hash: HashName;
  readonly aead: AeadName;
  readonly hp: HeaderProtectionName; // QUIC header protection algorithm for this suite
  readonly keyLength: number;
}

export const CIPHER_SUITES: Record<CipherSuiteName, CipherSuite> = {
  TLS_AES_128_GCM_SHA256: { name: 'TLS_AES_128_GCM_SHA256', id: 0x1301, hash: 'sha256', aead: 'aes-128-gcm', hp: 'aes-128', keyLength: 16 },
  TLS_AES_256_GCM_SHA384: { name: 'TLS_AES_256_GCM_SHA384', id: 0x1302, hash: 'sha384', aead: 'aes-256-gcm', hp: 'aes-256', keyLength: 32 },
  TLS_CHACHA20_POLY1305_SHA256: { name: 'TLS_CHACHA20_POLY1305_SHA256', id: 0x1303, hash: 'sha256', aead: 'chacha20-poly1305', hp: 'chacha20', keyLength: 32 },
};

export type SignatureScheme =
  | 'ecdsa_secp256r1_sha256'
  | 'ecdsa_secp384r1_sha384'
  | 'rsa_pss_rsae_sha256'
  | 'rsa_pss_rsae_sha384'
  | 'ed25519';

/** A traffic secret as it becomes available; QUIC derives packet keys from it, the TCP record layer record keys. */
export interface TrafficSecret {
  readonly epoch: Epoch;
  readonly direction: 'read' | 'write';
  readonly secret: Uint8Array;
  readonly suite: CipherSuite;
}

/** What a client keeps to resume (RFC 8446 §4.6.1). Serialisable: every field is plain data. */
export interface SessionTicket {
  readonly serverName: string;
  readonly suite: CipherSuiteName;
  readonly ticket: Uint8Array;
  readonly resumptionSecret: Uint8Array; // the PSK derived from resumption_master_secret and the ticket nonce
  readonly ageAdd: number;
  readonly lifetimeSec: number;
  readonly receivedAtMs: number; // clock() when received
  readonly maxEarlyData: number; // 0: no 0-RTT; QUIC requires 0xffffffff to allow it
  readonly alpn?: string;
  /** Opaque to TLS: QUIC stores the server's transport parameters here for 0-RTT (RFC 9000 §7.4.1). */
  appData?: Uint8Array;
}

export interface VerifyOptions {
  /** Trust anchors as DER certificates. The engine reads no files: engine/io/trust-store.ts loads the system store. */
  readonly ca: readonly Uint8Array[];
  /** Explicit opt-out: skip chain, name and date checks (still checks CertificateVerify against the leaf key). */
  readonly insecure?: boolean;
}

export interface TlsConfig {
  readonly role: 'client' | 'server';
  readonly crypto: CryptoProvider;
  readonly random: RandomSource;
  /** Wall-clock milliseconds for certificate validity and ticket ages; injected so simulations stay deterministic. */
  readonly clock: () => number;
  readonly serverName?: string; // client: SNI and the name the certificate must match (IP literals matched against iPAddress SANs)
  readonly alpn?: readonly string[];
  readonly cipherSuites?: readonly CipherSuiteName[]; // preference order; default all three, AES-128 first
  readonly groups?: readonly EcdhGroup[]; // supported groups in preference order; default ['x25519', 'secp256r1']
  readonly keyShareGroups?: readonly EcdhGroup[]; // client: groups to send shares for up front; default [groups[0]]
  readonly signatureSchemes?: readonly SignatureScheme[];
  readonly verify?: VerifyOptions; // client: required unless insecure; server: used for client certificates
  readonly certificateChain?: readonly Uint8Array[]; // DER, leaf first (server; client for client auth)
  readonly privateKey?: PrivateKey;
  readonly requestClientCertificate?: boolean; // server
  readonly requireClientCertificate?: boolean; // server
  /** quic_transport_parameters extension body (0x39); present only when TLS runs under QUIC. */
  readonly quicTransportParameters?: Uint8Array;
  /** QUIC mode: no middlebox compatibility (no legacy_session_id, no CCS), early data via QUIC 0-RTT (RFC 9001 §8). */
  readonly quic?: boolean;
  readonly session?: SessionTicket; // client: resume with this ticket
  readonly earlyData?: boolean; // client: send early_data with the session; server: accept 0-RTT
  /** Server: last say on 0-RTT for a resumed ticket, given the appData sealed in it (QUIC: compare remembered transport parameters, RFC 9000 §7.4.1). */
  readonly acceptEarlyData?: (ticketAppData: Uint8Array | undefined) => boolean;
  readonly ticketKey?: Uint8Array; // server: 32-byte key sealing self-contained tickets; tickets issued when present
  readonly ticketLifetimeSec?: number;
  /** Server: tickets sent automatically when the handshake completes, if ticketKey is set (default 1; 0 = only via sendSessionTicket). */
  readonly ticketCount?: number;
  readonly keyLog?: (line: string) => void; // NSS key log lines, without newline
}

export type TlsEvent =
  | { type: 'secret'; secret: TrafficSecret }
  | { type: 'handshake-complete' }
  | { type: 'ticket'; ticket: SessionTicket } // client: a NewSessionTicket arrived
  | { type: 'early-data'; accepted: boolean } // client: server's answer to 0-RTT; server: its decision
  | { type: 'key-update'; direction: 'read' | 'write'; secret: Uint8Array } // TLS-over-TCP KeyUpdate (not used by QUIC)
  | { type: 'alert'; level: 'warning' | 'fatal'; description: number; sent: boolean };

export interface TlsSession {
  readonly config: TlsConfig;
  /** Client: queue the ClientHello. Server: no-op until the ClientHello arrives. */
  start(): void;
  /** Handshake bytes received at `epoch` (may be partial or several messages). Throws TlsError on failure. */
  receive(epoch: Epoch, data: Uint8Array): void;
  /** Next chunk of handshake bytes to send, in order, with its epoch; undefined when none is pending. */
  pollOutput(): { epoch: Epoch; data: Uint8Array } | undefined;
  /** Events in order: secrets (install them in this order), completion, tickets, alerts. */
  pollEvent(): TlsEvent | undefined;

  readonly handshakeComplete: boolean;
  readonly suite?: CipherSuite;
  readonly alpn?: string;
  readonly group?: EcdhGroup;
  readonly helloRetry: boolean; // a HelloRetryRequest happened
  readonly resumed: boolean; // the PSK was accepted
  readonly earlyDataAccepted?: boolean;
  readonly peerTransportParameters?: Uint8Array;
  readonly peerCertificates: readonly Uint8Array[]; // DER, as sent
  readonly serverName?: string; // server: the SNI the client sent
  /** Server, after resumption: the appData sealed into the accepted ticket by sendSessionTicket (QUIC: 0-RTT transport parameters). */
  readonly ticketAppData?: Uint8Array;
  /** TLS-Exporter (RFC 8446 §7.5); available once the server Finished is processed. */
  exportKeyingMaterial?(label: string, context: Uint8Array, length: number): Uint8Array;

  /** Server: issue a NewSessionTicket now (application epoch). Requires ticketKey. */
  sendSessionTicket(opts?: { maxEarlyData?: number; appData?: Uint8Array }): void;
  /** TLS-over-TCP: send a KeyUpdate (RFC 8446 §4.6.3); emits a write secret event after the message. */
  keyUpdate(requestPeer: boolean): void;
  /** Next-generation application traffic secret (RFC 8446 §7.2), also used by QUIC key update (RFC 9001 §6). */
  nextTrafficSecret(secret: Uint8Array): Uint8Array;
}

/** RFC 8446 §6 AlertDescription values the engine raises. */
export const Alert = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  record_overflow: 22,
  handshake_failure: 40,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  illegal_parameter: 47,
  unknown_ca: 48,
  access_denied: 49,
  decode_error: 50,
  decrypt_error: 51,
  protocol_version: 70,
  insufficient_security: 71,
  internal_error: 80,
  inappropriate_fallback: 86,
  user_canceled: 90,
  missing_extension: 109,
  unsupported_extension: 110,
  unrecognized_name: 112,
  bad_certificate_status_response: 113,
  unknown_psk_identity: 115,
  certificate_required: 116,
  no_application_protocol: 120,
} as const;

export type AlertName = keyof typeof Alert;

export function alertName(code: number): string {
  for (const [k, v] of Object.entries(Alert)) if (v === code) return k;
  return `alert_${code}`;
}

/** Every TLS failure: carries the alert to send (or that was received). QUIC maps it to CRYPTO_ERROR 0x100 + alert. */
export class TlsError extends Error {
  override name = 'TlsError';
  constructor(
    readonly alert: number,
    detail: string,
    /** true when the peer sent this alert, false when we raise it. */
    readonly remote = false,
  ) {
    super(`${remote ? 'received' : 'sent'} alert ${alertName(alert)}: ${detail}`);
  }
}
