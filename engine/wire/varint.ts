// QUIC variable-length integer sizes (RFC 9000 §16).

export const VARINT_MAX = (1n << 62n) - 1n;

export function varintLength(v: number | bigint): 1 | 2 | 4 | 8 {
  // Numbers (every packet number, offset and length) stay off BigInt: it allocates on every call.
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v < 0x40 ? 1 : v < 0x4000 ? 2 : v < 0x4000_0000 ? 4 : 8;
  const n = typeof v === 'bigint' ? v : BigInt(v);
  if (n < 0x40n) return 1;
  if (n < 0x4000n) return 2;
  if (n < 0x4000_0000n) return 4;
  if (n <= VARINT_MAX) return 8;
  throw new RangeError(`varint out of range: ${v}`);
}
