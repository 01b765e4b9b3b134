// Connection errors (RFC 9000 §11, §20): a transport or application error code, the offending frame type, and a reason.

/** Transport error codes used by the connection layer (RFC 9000 §20.1). CRYPTO_ERROR is 0x100 + TLS alert. */
export const TransportError = {
  NO_ERROR: 0x0,
  INTERNAL_ERROR: 0x1,
  CONNECTION_REFUSED: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_LIMIT_ERROR: 0x4,
  STREAM_STATE_ERROR: 0x5,
  FINAL_SIZE_ERROR: 0x6,
  FRAME_ENCODING_ERROR: 0x7,
  TRANSPORT_PARAMETER_ERROR: 0x8,
  CONNECTION_ID_LIMIT_ERROR: 0x9,
  PROTOCOL_VIOLATION: 0xa,
  INVALID_TOKEN: 0xb,
  APPLICATION_ERROR: 0xc,
  CRYPTO_BUFFER_EXCEEDED: 0xd,
  KEY_UPDATE_ERROR: 0xe,
  AEAD_LIMIT_REACHED: 0xf,
  NO_VIABLE_PATH: 0x10,
  VERSION_NEGOTIATION_ERROR: 0x11, // RFC 9368 §10.2
  CRYPTO_ERROR_BASE: 0x100,
} as const;

export function transportErrorName(code: number): string {
  if (code >= 0x100 && code <= 0x1ff) return `CRYPTO_ERROR(0x${code.toString(16)})`;
  for (const [k, v] of Object.entries(TransportError)) if (v === code) return k;
  return `0x${code.toString(16)}`;
}

/** Raised inside the connection while handling a packet; caught at receiveDatagram and turned into CONNECTION_CLOSE. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly frameType?: number,
    readonly application = false,
  ) {
    super(`${application ? 'application' : transportErrorName(code)}: ${reason}`);
  }
}

export const protocolViolation = (reason: string, frameType?: number) => new ConnectionError(TransportError.PROTOCOL_VIOLATION, reason, frameType);
