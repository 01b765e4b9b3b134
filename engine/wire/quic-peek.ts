// RFC 8999 §5 (QUIC invariants), RFC 9000 §17.2–§17.3 and RFC 9369 §3.2 (type bits): packet kinds from unprotected header bits, for observers.
/**
 * Exports: `QuicPeekKind`, `QuicPeek`, `peekQuicPacket(datagram, offset?, shortDcidLength?)`, `peekQuicDatagram(datagram, shortDcidLength?)`.
 * Used by the simulator's impairment filters and observers (which may import only engine/wire): never throws, reads
 * only bits that header protection leaves visible, returns undefined for anything unreadable.
 */

export type QuicPeekKind = 'initial' | '0rtt' | 'handshake' | 'retry' | 'version-negotiation' | '1rtt' | 'unsupported-version';

export interface QuicPeek {
  readonly kind: QuicPeekKind;
  /** Long headers only. */
  readonly version?: number;
  /** Long headers always; short headers only when the caller knows the DCID length. */
  readonly dcid?: Uint8Array;
  readonly scid?: Uint8Array;
  /** Bytes this packet occupies in the datagram (to the end for short headers, Retry, VN and unknown versions). */
  readonly length: number;
}

const V1 = 0x00000001;
const V2 = 0x6b3343cf;
const V1_TYPES: readonly QuicPeekKind[] = ['initial', '0rtt', 'handshake', 'retry'];
const V2_TYPES: readonly QuicPeekKind[] = ['retry', 'initial', '0rtt', 'handshake'];

function varint(b: Uint8Array, at: number): [value: number, next: number] | undefined {
  if (at >= b.length) return undefined;
  const len = 1 << (b[at]! >> 6);
  if (at + len > b.length) return undefined;
  let v = b[at]! & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[at + i]!;
  return [v, at + len];
}

export function peekQuicPacket(datagram: Uint8Array, offset = 0, shortDcidLength?: number): QuicPeek | undefined {
  const b = datagram;
  if (offset >= b.length) return undefined;
  const first = b[offset]!;
  if ((first & 0x80) === 0) {
    const end = offset + 1 + (shortDcidLength ?? 0);
    const dcid = shortDcidLength !== undefined && end <= b.length ? b.subarray(offset + 1, end) : undefined;
    return { kind: '1rtt', dcid, length: b.length - offset };
  }
  let p = offset + 5;
  if (p + 1 > b.length) return undefined;
  const version = ((b[offset + 1]! << 24) | (b[offset + 2]! << 16) | (b[offset + 3]! << 8) | b[offset + 4]!) >>> 0;
  const dl = b[p]!;
  if (p + 1 + dl + 1 > b.length) return undefined;
  const dcid = b.subarray(p + 1, p + 1 + dl);
  p += 1 + dl;
  const sl = b[p]!;
  if (p + 1 + sl > b.length) return undefined;
  const scid = b.subarray(p + 1, p + 1 + sl);
  p += 1 + sl;
  const rest = b.length - offset;
  if (version === 0) return { kind: 'version-negotiation', version, dcid, scid, length: rest };
  const types = version === V1 ? V1_TYPES : version === V2 ? V2_TYPES : undefined;
  if (!types) return { kind: 'unsupported-version', version, dcid, scid, length: rest };
  if (dl > 20 || sl > 20) return undefined;
  const kind = types[(first >> 4) & 3]!;
  if (kind === 'retry') return { kind, version, dcid, scid, length: rest };
  if (kind === 'initial') {
    const token = varint(b, p);
    if (!token) return undefined;
    p = token[1] + token[0];
  }
  const len = varint(b, p);
  if (!len || len[1] + len[0] > b.length) return undefined;
  return { kind, version, dcid, scid, length: len[1] + len[0] - offset };
}

/** Every coalesced packet's kind, in order; stops at the first unreadable packet. */
export function peekQuicDatagram(datagram: Uint8Array, shortDcidLength?: number): QuicPeek[] {
  const out: QuicPeek[] = [];
  let offset = 0;
  while (offset < datagram.length) {
    const p = peekQuicPacket(datagram, offset, shortDcidLength);
    if (!p) break;
    out.push(p);
    if (p.kind !== 'initial' && p.kind !== '0rtt' && p.kind !== 'handshake') break;
    offset += p.length;
    // Zero bytes after a long-header packet are padding, not a packet.
    if (datagram[offset] === 0) break;
  }
  return out;
}
