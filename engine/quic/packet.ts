// RFC 9000 §17 (long and short headers, Initial, 0-RTT, Handshake, Retry, Version Negotiation), §12.2 (coalesced packets), RFC 8999 §5 (invariants), RFC 9369 §3.2.
/**
 * Exports (all pure; parsers throw only DecodeError, peek helpers never throw):
 * - `PacketKind`, `ProtectedHeader` (a packet's header as readable before header protection is removed, with `pnOffset`
 *   and `packet`, the exact bytes of this packet within the datagram).
 * - `parsePacket(datagram, offset, shortDcidLength)` → ProtectedHeader; `splitDatagram(datagram, shortDcidLength)` →
 *   `{ packets, error? }` (coalesced packets in order; parsing stops at the first malformed one).
 * - `peekPacket(datagram, shortDcidLength?)`, `peekDatagram(datagram, shortDcidLength?)` → kinds/CIDs from unprotected bits
 *   (implemented in engine/wire/quic-peek.ts so the simulator can use them), `packetNumberSpaceOf(kind)`.
 * - Header builders: `encodeLongHeader`, `encodeShortHeader` (and `writeLongHeader`, `writeShortHeader` into a Writer),
 *   `longHeaderSize`, `shortHeaderSize`.
 * - Version Negotiation: `encodeVersionNegotiation`, `parseVersionNegotiation`, `versionNegotiationFor`.
 * - Constants: `MAX_CID_LENGTH` (20), `MIN_INITIAL_DATAGRAM` (1200), `FIRST_BYTE` bit masks.
 */

import { DecodeError, Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { varintLength } from '../wire/varint.js';
import { peekQuicPacket, type QuicPeek } from '../wire/quic-peek.js';
import { greaseVersion, longTypeBits, longTypeFromBits, type LongPacketType, isSupportedVersion } from './version.js';

export type PacketKind = 'initial' | '0rtt' | 'handshake' | 'retry' | 'version-negotiation' | '1rtt' | 'unsupported-version';

export const MAX_CID_LENGTH = 20;
/** Client Initial datagrams (and server datagrams carrying ack-eliciting Initials) are padded to this (RFC 9000 §14.1). */
export const MIN_INITIAL_DATAGRAM = 1200;

export const FIRST_BYTE = {
  LONG: 0x80,
  FIXED: 0x40,
  SPIN: 0x20,
  KEY_PHASE: 0x04,
  /** Reserved bits, visible only after header protection is removed; must be zero (PROTOCOL_VIOLATION otherwise). */
  LONG_RESERVED: 0x0c,
  SHORT_RESERVED: 0x18,
  PN_LENGTH: 0x03,
  /** Bits covered by header protection: low 4 of a long header, low 5 of a short one (RFC 9001 §5.4.1). */
  LONG_PROTECTED: 0x0f,
  SHORT_PROTECTED: 0x1f,
} as const;

export interface ProtectedHeader {
  readonly kind: PacketKind;
  readonly form: 'long' | 'short';
  /** First byte as received (its low bits are still header-protected for Initial/0-RTT/Handshake/1-RTT). */
  readonly firstByte: number;
  /** 0 for Version Negotiation; undefined for short headers (they carry none). */
  readonly version: number | undefined;
  readonly dcid: Uint8Array;
  /** Empty for short headers. */
  readonly scid: Uint8Array;
  /** Initial token (empty otherwise); for Retry, the retry token. */
  readonly token: Uint8Array;
  /** Offset of the packet number field from the start of `packet` (-1 for Retry, VN and unsupported versions). */
  readonly pnOffset: number;
  /** This packet's bytes: up to the end of its Length for long headers, the rest of the datagram otherwise. */
  readonly packet: Uint8Array;
  /** Offset of `packet` within the datagram. */
  readonly offset: number;
}

/** The absent SCID and token of short headers (never written to: zero length). */
const EMPTY = new Uint8Array(0);

function readCid(r: Reader, max: number): Uint8Array {
  const len = r.u8();
  if (len > max) throw new DecodeError(`connection ID length ${len} exceeds ${max}`);
  return r.bytes(len);
}

/** Parses the packet starting at `offset`. shortDcidLength: the length of our own connection IDs (short headers omit it). */
export function parsePacket(datagram: Uint8Array, offset: number, shortDcidLength: number): ProtectedHeader {
  const r = new Reader(datagram, offset);
  const firstByte = r.u8();
  if ((firstByte & FIRST_BYTE.LONG) === 0) {
    if ((firstByte & FIRST_BYTE.FIXED) === 0) throw new DecodeError('short header with fixed bit zero');
    const dcid = r.bytes(shortDcidLength);
    const packet = datagram.subarray(offset);
    return { kind: '1rtt', form: 'short', firstByte, version: undefined, dcid, scid: EMPTY, token: EMPTY, pnOffset: r.pos - offset, packet, offset };
  }
  const version = r.u32();
  if (version === 0) {
    // Invariant format (RFC 8999): connection IDs may be up to 255 bytes in other versions' VN packets.
    const dcid = readCid(r, 255);
    const scid = readCid(r, 255);
    return { kind: 'version-negotiation', form: 'long', firstByte, version, dcid, scid, token: new Uint8Array(0), pnOffset: -1, packet: datagram.subarray(offset), offset };
  }
  if (!isSupportedVersion(version)) {
    const dcid = readCid(r, 255);
    const scid = readCid(r, 255);
    return { kind: 'unsupported-version', form: 'long', firstByte, version, dcid, scid, token: new Uint8Array(0), pnOffset: -1, packet: datagram.subarray(offset), offset };
  }
  if ((firstByte & FIRST_BYTE.FIXED) === 0) throw new DecodeError('long header with fixed bit zero');
  const type = longTypeFromBits(version, (firstByte >> 4) & 3)!;
  const dcid = readCid(r, MAX_CID_LENGTH);
  const scid = readCid(r, MAX_CID_LENGTH);
  if (type === 'retry') {
    if (r.remaining < 16) throw new DecodeError('Retry packet shorter than its integrity tag');
    const token = r.bytes(r.remaining - 16);
    return { kind: 'retry', form: 'long', firstByte, version, dcid, scid, token, pnOffset: -1, packet: datagram.subarray(offset), offset };
  }
  const token = type === 'initial' ? r.vecVarint() : EMPTY;
  const length = r.varint();
  const pnOffset = r.pos - offset;
  if (length > r.remaining) throw new DecodeError(`packet Length ${length} exceeds the ${r.remaining} bytes left in the datagram`);
  if (length < 1) throw new DecodeError('packet Length too small for a packet number');
  const packet = datagram.subarray(offset, r.pos + length);
  return { kind: type, form: 'long', firstByte, version, dcid, scid, token, pnOffset, packet, offset };
}

/**
 * Splits a datagram into its coalesced packets (RFC 9000 §12.2). A malformed packet ends the walk: earlier packets are
 * still returned, the rest of the datagram is dropped with `error` saying why. Trailing zero bytes (padding after a long
 * header packet, as some stacks send) are not an error.
 */
export function splitDatagram(datagram: Uint8Array, shortDcidLength: number): { packets: ProtectedHeader[]; error?: string } {
  const packets: ProtectedHeader[] = [];
  let offset = 0;
  while (offset < datagram.length) {
    if (packets.length > 0 && datagram[offset] === 0 && datagram.subarray(offset).every((b) => b === 0)) break;
    let h: ProtectedHeader;
    try {
      h = parsePacket(datagram, offset, shortDcidLength);
    } catch (e) {
      if (e instanceof DecodeError) return { packets, error: e.message };
      throw e;
    }
    packets.push(h);
    offset += h.packet.length;
    if (h.pnOffset < 0 || h.form === 'short') break; // these extend to the end of the datagram
  }
  return { packets };
}

/** Header peeking lives in engine/wire (the simulator may import only that); re-exported here for engine users. */
export { peekQuicPacket as peekPacketAt, peekQuicDatagram as peekDatagram, type QuicPeek as PacketPeek } from '../wire/quic-peek.js';

/** Kind and connection IDs of the first packet, from unprotected bits only; undefined when unreadable. Never throws. */
export function peekPacket(datagram: Uint8Array, shortDcidLength?: number, offset = 0): QuicPeek | undefined {
  return peekQuicPacket(datagram, offset, shortDcidLength);
}

/** Packet number space of a packet kind (0-RTT and 1-RTT share the application space); undefined for Retry/VN. */
export function packetNumberSpaceOf(kind: PacketKind): 'initial' | 'handshake' | 'application' | undefined {
  return kind === 'initial' ? 'initial' : kind === 'handshake' ? 'handshake' : kind === '0rtt' || kind === '1rtt' ? 'application' : undefined;
}

export interface LongHeaderFields {
  readonly type: Exclude<LongPacketType, 'retry'>;
  readonly version: number;
  readonly dcid: Uint8Array;
  readonly scid: Uint8Array;
  /** Initial only. */
  readonly token?: Uint8Array;
}

export interface ShortHeaderFields {
  readonly dcid: Uint8Array;
  readonly spin?: boolean;
  readonly keyPhase?: boolean;
}

/** Width of the Length field: two bytes whenever possible so packetizers can size packets before filling them. */
function lengthFieldWidth(length: number): 2 | 4 {
  return length < 0x4000 ? 2 : 4;
}

/** Bytes of a long header up to and including the packet number, for a packet whose payload (with AEAD tag) is `protectedPayloadLength`. */
export function longHeaderSize(fields: LongHeaderFields, pnLength: number, protectedPayloadLength: number): number {
  const tokenLen = fields.type === 'initial' ? varintLength(fields.token?.length ?? 0) + (fields.token?.length ?? 0) : 0;
  return 1 + 4 + 1 + fields.dcid.length + 1 + fields.scid.length + tokenLen + lengthFieldWidth(pnLength + protectedPayloadLength) + pnLength;
}

export function shortHeaderSize(dcidLength: number, pnLength: number): number {
  return 1 + dcidLength + pnLength;
}

/**
 * Unprotected long header ending with the truncated packet number. `protectedPayloadLength` is the payload size after
 * sealing (plaintext + AEAD tag); the Length field covers it plus the packet number.
 */
export function encodeLongHeader(fields: LongHeaderFields, truncatedPn: number, pnLength: 1 | 2 | 3 | 4, protectedPayloadLength: number): { header: Uint8Array; pnOffset: number } {
  const w = new Writer(64 + (fields.token?.length ?? 0));
  const pnOffset = writeLongHeader(w, fields, truncatedPn, pnLength, protectedPayloadLength);
  return { header: w.finish(), pnOffset };
}

/**
 * encodeLongHeader into an existing writer (the packetizer lays a whole datagram out in one buffer); returns the packet
 * number's offset from where the header starts.
 */
export function writeLongHeader(w: Writer, fields: LongHeaderFields, truncatedPn: number, pnLength: 1 | 2 | 3 | 4, protectedPayloadLength: number): number {
  if (fields.dcid.length > MAX_CID_LENGTH || fields.scid.length > MAX_CID_LENGTH) throw new RangeError('connection ID longer than 20 bytes');
  const start = w.length;
  w.u8(FIRST_BYTE.LONG | FIRST_BYTE.FIXED | (longTypeBits(fields.version, fields.type) << 4) | (pnLength - 1));
  w.u32(fields.version);
  w.vec(1, fields.dcid);
  w.vec(1, fields.scid);
  if (fields.type === 'initial') {
    const token = fields.token ?? EMPTY;
    w.varint(token.length).bytes(token);
  }
  const length = pnLength + protectedPayloadLength;
  w.varintFixed(length, lengthFieldWidth(length));
  const pnOffset = w.length - start;
  writePn(w, truncatedPn, pnLength);
  return pnOffset;
}

export function encodeShortHeader(fields: ShortHeaderFields, truncatedPn: number, pnLength: 1 | 2 | 3 | 4): { header: Uint8Array; pnOffset: number } {
  const w = new Writer(32);
  const pnOffset = writeShortHeader(w, fields, truncatedPn, pnLength);
  return { header: w.finish(), pnOffset };
}

/** encodeShortHeader into an existing writer; returns the packet number's offset from where the header starts. */
export function writeShortHeader(w: Writer, fields: ShortHeaderFields, truncatedPn: number, pnLength: 1 | 2 | 3 | 4): number {
  const start = w.length;
  w.u8(FIRST_BYTE.FIXED | (fields.spin ? FIRST_BYTE.SPIN : 0) | (fields.keyPhase ? FIRST_BYTE.KEY_PHASE : 0) | (pnLength - 1));
  w.bytes(fields.dcid);
  const pnOffset = w.length - start;
  writePn(w, truncatedPn, pnLength);
  return pnOffset;
}

function writePn(w: Writer, pn: number, len: number): void {
  // Truncated packet numbers are at most 4 bytes, so 32-bit shifts are exact.
  for (let i = len - 1; i >= 0; i--) w.u8((pn >>> (8 * i)) & 0xff);
}

export interface VersionNegotiation {
  readonly dcid: Uint8Array;
  readonly scid: Uint8Array;
  readonly versions: readonly number[];
}

/** Version Negotiation packet. `unusedBits`: the 7 arbitrary first-byte bits (the fixed bit is kept set, RFC 9000 §17.2.1). */
export function encodeVersionNegotiation(vn: VersionNegotiation, unusedBits = 0): Uint8Array {
  const w = new Writer(16 + vn.dcid.length + vn.scid.length + 4 * vn.versions.length);
  w.u8(FIRST_BYTE.LONG | FIRST_BYTE.FIXED | (unusedBits & 0x3f));
  w.u32(0);
  w.vec(1, vn.dcid);
  w.vec(1, vn.scid);
  for (const v of vn.versions) w.u32(v);
  return w.finish();
}

export function parseVersionNegotiation(packet: Uint8Array): VersionNegotiation {
  const r = new Reader(packet);
  const first = r.u8();
  if ((first & FIRST_BYTE.LONG) === 0 || r.u32() !== 0) throw new DecodeError('not a Version Negotiation packet');
  const dcid = readCid(r, 255);
  const scid = readCid(r, 255);
  if (r.remaining === 0 || r.remaining % 4 !== 0) throw new DecodeError('Version Negotiation version list is empty or not a multiple of 4 bytes');
  const versions: number[] = [];
  while (!r.atEnd()) versions.push(r.u32());
  return { dcid, scid, versions };
}

/**
 * The server's answer to a long-header packet of an unsupported version (RFC 9000 §6.1): CIDs echoed swapped, our
 * versions plus one reserved version so clients keep tolerating unknown entries.
 */
export function versionNegotiationFor(incoming: { dcid: Uint8Array; scid: Uint8Array }, supported: readonly number[], random: (n: number) => Uint8Array): Uint8Array {
  const versions = [...supported, greaseVersion(random)];
  return encodeVersionNegotiation({ dcid: incoming.scid, scid: incoming.dcid, versions }, random(1)[0]!);
}
