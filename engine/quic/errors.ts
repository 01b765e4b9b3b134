// RFC 9000 §20 (transport and application error codes), RFC 9001 §4.8 (CRYPTO_ERROR range), RFC 9368 §10 (VERSION_NEGOTIATION_ERROR).
/**
 * Exports:
 * - `TransportErrorCode`: every transport error code of RFC 9000 §20.1 (+ VERSION_NEGOTIATION_ERROR 0x11).
 * - `cryptoErrorCode(alert)`: 0x100 + TLS alert; `isCryptoErrorCode(code)`; `transportErrorName(code)`.
 * - `ErrorCode` (number, or bigint above 2^53 - 1), `errorCode(v)` (canonical form), `checkErrorCode(v)` (API input check).
 * - `QuicError`: the one typed error every QUIC codec throws; carries the code, the offending frame type and whether it is
 *   an application (CONNECTION_CLOSE 0x1d) or transport (0x1c) error. The connection turns it into a CONNECTION_CLOSE.
 */

export const TransportErrorCode = {
  NO_ERROR: 0x00,
  INTERNAL_ERROR: 0x01,
  CONNECTION_REFUSED: 0x02,
  FLOW_CONTROL_ERROR: 0x03,
  STREAM_LIMIT_ERROR: 0x04,
  STREAM_STATE_ERROR: 0x05,
  FINAL_SIZE_ERROR: 0x06,
  FRAME_ENCODING_ERROR: 0x07,
  TRANSPORT_PARAMETER_ERROR: 0x08,
  CONNECTION_ID_LIMIT_ERROR: 0x09,
  PROTOCOL_VIOLATION: 0x0a,
  INVALID_TOKEN: 0x0b,
  APPLICATION_ERROR: 0x0c,
  CRYPTO_BUFFER_EXCEEDED: 0x0d,
  KEY_UPDATE_ERROR: 0x0e,
  AEAD_LIMIT_REACHED: 0x0f,
  NO_VIABLE_PATH: 0x10,
  VERSION_NEGOTIATION_ERROR: 0x11,
} as const;

export type TransportErrorName = keyof typeof TransportErrorCode;

/**
 * A QUIC error code (CONNECTION_CLOSE, RESET_STREAM, STOP_SENDING): a 62-bit varint (RFC 9000 §16, §20). Codes up to
 * 2^53 - 1 are numbers, larger ones bigints, so every code stays exact and small ones compare with ===.
 */
export type ErrorCode = number | bigint;

export const MAX_ERROR_CODE = (1n << 62n) - 1n;

/** The canonical form of a decoded or given code: a number when exact as one, else a bigint. */
export function errorCode(v: number | bigint): ErrorCode {
  if (typeof v === 'number') return v;
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Checks an error code an application passes in: a non-negative integer up to 2^62 - 1; numbers above 2^53 - 1 are
 * refused, since they no longer say which code was meant (pass a bigint). Returns the canonical form.
 */
export function checkErrorCode(v: ErrorCode): ErrorCode {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`error code ${v} is not an integer in 0..2^53-1 (pass larger codes as a bigint)`);
    return v;
  }
  if (v < 0n || v > MAX_ERROR_CODE) throw new RangeError(`error code ${v} is outside 0..2^62-1`);
  return errorCode(v);
}

/** CRYPTO_ERROR range start: a TLS alert `a` is carried as 0x100 + a (RFC 9001 §4.8). */
export const CRYPTO_ERROR_BASE = 0x100;

export function cryptoErrorCode(alert: number): number {
  return CRYPTO_ERROR_BASE + (alert & 0xff);
}

export function isCryptoErrorCode(code: ErrorCode): code is number {
  return typeof code === 'number' && code >= CRYPTO_ERROR_BASE && code <= 0x1ff;
}

/** Human-readable name of a transport error code (CRYPTO_ERROR(alert) for the TLS range). */
export function transportErrorName(code: ErrorCode): string {
  if (isCryptoErrorCode(code)) return `CRYPTO_ERROR(0x${(code - CRYPTO_ERROR_BASE).toString(16).padStart(2, '0')})`;
  for (const [name, value] of Object.entries(TransportErrorCode)) if ((value as ErrorCode) === code) return name;
  return `UNKNOWN_ERROR(0x${code.toString(16)})`;
}

export interface QuicErrorOptions {
  /** Frame type that triggered the error (reported in CONNECTION_CLOSE 0x1c; 0 when unknown). */
  frameType?: number;
  /** true for an application error (CONNECTION_CLOSE 0x1d); false (default) for a transport error. */
  application?: boolean;
}

/** A connection error: the code and reason to put in CONNECTION_CLOSE. Codecs throw only this (or DecodeError internally). */
export class QuicError extends Error {
  override name = 'QuicError';
  readonly code: ErrorCode;
  readonly frameType: number;
  readonly application: boolean;
  readonly reason: string;

  constructor(code: ErrorCode, reason: string, opts: QuicErrorOptions = {}) {
    super(`${opts.application ? `application error ${code}` : transportErrorName(code)}: ${reason}`);
    this.code = code;
    this.reason = reason;
    this.frameType = opts.frameType ?? 0;
    this.application = opts.application ?? false;
  }
}

/** Shorthand constructors for the errors the codecs raise most. */
export const frameEncodingError = (reason: string, frameType = 0): QuicError =>
  new QuicError(TransportErrorCode.FRAME_ENCODING_ERROR, reason, { frameType });
export const protocolViolation = (reason: string, frameType = 0): QuicError =>
  new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, reason, { frameType });
export const transportParameterError = (reason: string): QuicError =>
  new QuicError(TransportErrorCode.TRANSPORT_PARAMETER_ERROR, reason);
