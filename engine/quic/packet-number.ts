// RFC 9000 §17.1 and Appendix A.2/A.3 (packet number encoding and decoding).
/**
 * Exports:
 * - `packetNumberLength(fullPn, largestAcked)` → 1..4: the shortest encoding the peer can decode unambiguously.
 * - `truncatePacketNumber(fullPn, length)` → the low `length` bytes as a number.
 * - `decodePacketNumber(largestPn, truncatedPn, pnBits)` → full packet number closest to largestPn + 1.
 * - `MAX_PACKET_NUMBER` (2^62 - 1).
 * Packet numbers are JS numbers: exact far beyond any connection's lifetime (2^53), and arithmetic here avoids 32-bit
 * bitwise operators so large numbers stay exact.
 */

export const MAX_PACKET_NUMBER = 2 ** 62 - 1;

/**
 * Bytes needed to send `fullPn` when the peer has acknowledged up to `largestAcked` (undefined: nothing acked yet).
 * Twice the unacknowledged range must fit, so a receiver window centred on its expectation still decodes it.
 */
export function packetNumberLength(fullPn: number, largestAcked: number | undefined): 1 | 2 | 3 | 4 {
  const numUnacked = largestAcked === undefined ? fullPn + 1 : fullPn - largestAcked;
  const minBits = Math.log2(Math.max(numUnacked, 1)) + 1;
  const bytes = Math.ceil(minBits / 8);
  return Math.min(Math.max(bytes, 1), 4) as 1 | 2 | 3 | 4;
}

export function truncatePacketNumber(fullPn: number, length: 1 | 2 | 3 | 4): number {
  return fullPn % 2 ** (8 * length);
}

/** Reconstructs a full packet number from `pnBits` truncated bits (RFC 9000 Appendix A.3). largestPn: -1 when none received. */
export function decodePacketNumber(largestPn: number, truncatedPn: number, pnBits: number): number {
  const expected = largestPn + 1;
  const win = 2 ** pnBits;
  const hwin = win / 2;
  // Replace the low bits of the expectation with the truncated value, then move one window if that lands too far off.
  const candidate = expected - (expected % win) + (truncatedPn % win);
  if (candidate <= expected - hwin && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}
