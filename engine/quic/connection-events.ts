// What a connection reports to its application (RFC 9000 §10 close reasons, §3 stream state changes), polled with pollEvent().

import type { SessionTicket } from '../tls/api.js';
import type { ErrorCode } from './errors.js';

/** How a connection ended (the OpenSSL-style API's close info). */
export interface CloseInfo {
  /** Exact for all 62 bits: a bigint above 2^53 - 1 (errors.ts ErrorCode). */
  readonly errorCode: ErrorCode;
  /** Transport closes: the frame type that caused the error (0 when none). */
  readonly frameType: number;
  readonly reason: string;
  /** Who closed: we did (local) or the peer's CONNECTION_CLOSE arrived (remote). */
  readonly initiator: 'local' | 'remote';
  /** Transport error (CONNECTION_CLOSE 0x1c) or application error (0x1d). */
  readonly kind: 'transport' | 'application';
  /** How it ended: a CONNECTION_CLOSE, the idle timer, or a stateless reset. */
  readonly cause: 'close' | 'idle-timeout' | 'stateless-reset' | 'version-negotiation';
}

export type ConnectionEvent =
  | { type: 'handshake-complete'; alpn?: string; resumed: boolean; version: number }
  | { type: 'handshake-confirmed' }
  | { type: 'stream-opened'; streamId: number } // the peer opened a stream
  | { type: 'stream-readable'; streamId: number }
  | { type: 'stream-writable'; streamId: number }
  | { type: 'stream-reset'; streamId: number; errorCode: ErrorCode } // RESET_STREAM arrived
  | { type: 'stream-stop-sending'; streamId: number; errorCode: ErrorCode } // STOP_SENDING arrived
  | { type: 'stream-finished'; streamId: number } // all our data on it was acknowledged
  | { type: 'streams-available'; bidi: boolean } // MAX_STREAMS raised our credit
  | { type: 'early-data'; accepted: boolean }
  | { type: 'ticket'; ticket: SessionTicket }
  | { type: 'new-token'; token: Uint8Array }
  | { type: 'key-update'; generation: number; initiator: 'local' | 'remote' }
  /** The peer's new address answered our PATH_CHALLENGE; `congestionReset` when it was a new host (RFC 9000 §9.4). */
  | { type: 'path-validated'; host: string; port: number; congestionReset: boolean }
  | { type: 'version-changed'; version: number; reason: 'version-negotiation' | 'compatible-upgrade' }
  | { type: 'retry' }
  | { type: 'closing'; info: CloseInfo } // entered the closing or draining period
  | { type: 'closed'; info: CloseInfo }; // all state gone; the connection may be dropped

export type ConnectionPhase = 'handshake' | 'established' | 'closing' | 'draining' | 'closed';
