// Stream identifiers (RFC 9000 §2.1): the two low bits carry the initiator and the direction.

export type Role = 'client' | 'server';
export type StreamDirection = 'bidi' | 'uni';

/** Largest stream count a peer may allow (RFC 9000 §4.6): 2^60. */
export const MAX_STREAM_COUNT = 2 ** 60;

export function streamInitiator(id: number): Role {
  return (id & 0x1) === 0 ? 'client' : 'server';
}

export function streamDirection(id: number): StreamDirection {
  return (id & 0x2) === 0 ? 'bidi' : 'uni';
}

/** Zero-based ordinal of the stream among those of its type (id >> 2). */
export function streamIndex(id: number): number {
  return Math.floor(id / 4);
}

export function makeStreamId(index: number, initiator: Role, dir: StreamDirection): number {
  return index * 4 + (dir === 'uni' ? 2 : 0) + (initiator === 'server' ? 1 : 0);
}

export function isLocallyInitiated(id: number, self: Role): boolean {
  return streamInitiator(id) === self;
}

/** A unidirectional stream has only the sending half at its initiator and only the receiving half at the peer. */
export function hasSendHalf(id: number, self: Role): boolean {
  return streamDirection(id) === 'bidi' || isLocallyInitiated(id, self);
}

export function hasRecvHalf(id: number, self: Role): boolean {
  return streamDirection(id) === 'bidi' || !isLocallyInitiated(id, self);
}
