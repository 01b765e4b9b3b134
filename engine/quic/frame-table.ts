// RFC 9000 §12.4 Table 3 (frame types, permitted packet types, ack-eliciting/in-flight/probing), RFC 9002 §2 (in flight), draft-ietf-quic-ack-frequency-14 §4-5 (its two frames).
/**
 * Exports:
 * - `FrameTypeName` (qlog-style snake_case names), `FRAME_TABLE`: name → { codes, packets, ackEliciting, congestionControlled,
 *   probing, flowControlled }, `frameNameOfCode(code)`.
 * - `PacketSpaceKind` ('initial' | '0rtt' | 'handshake' | '1rtt'), `frameAllowedIn(code, packetKind)`,
 *   `assertFrameAllowed(code, packetKind)` (throws QuicError PROTOCOL_VIOLATION).
 * - `isAckEliciting(frames)`, `isInFlight(frames)`, `isProbingOnly(frames)`: packet-level classifications.
 */

import { protocolViolation } from './errors.js';

export type FrameTypeName =
  | 'padding'
  | 'ping'
  | 'ack'
  | 'reset_stream'
  | 'stop_sending'
  | 'crypto'
  | 'new_token'
  | 'stream'
  | 'max_data'
  | 'max_stream_data'
  | 'max_streams'
  | 'data_blocked'
  | 'stream_data_blocked'
  | 'streams_blocked'
  | 'new_connection_id'
  | 'retire_connection_id'
  | 'path_challenge'
  | 'path_response'
  | 'connection_close'
  | 'handshake_done'
  | 'ack_frequency'
  | 'immediate_ack';

/** Packet types that carry frames, by the letters of Table 3: I(nitial), H(andshake), 0(-RTT), 1(-RTT). */
export type PacketSpaceKind = 'initial' | '0rtt' | 'handshake' | '1rtt';

export interface FrameTypeInfo {
  readonly codes: readonly number[];
  /** Table 3 "Pkts" column, e.g. 'IH_1'. */
  readonly packets: string;
  /** false for the "N" frames: a packet of only these does not elicit an ACK. */
  readonly ackEliciting: boolean;
  /** false for the "C" frames: a packet of only these is not counted in bytes in flight. */
  readonly congestionControlled: boolean;
  /** "P": may be sent on a new path while probing, without migrating to it. */
  readonly probing: boolean;
  /** "F": counts against flow control. */
  readonly flowControlled: boolean;
}

const row = (codes: number[], packets: string, flags = ''): FrameTypeInfo => ({
  codes,
  packets,
  ackEliciting: !flags.includes('N'),
  congestionControlled: !flags.includes('C'),
  probing: flags.includes('P'),
  flowControlled: flags.includes('F'),
});

export const FRAME_TABLE: Readonly<Record<FrameTypeName, FrameTypeInfo>> = {
  padding: row([0x00], 'IH01', 'NP'),
  ping: row([0x01], 'IH01'),
  ack: row([0x02, 0x03], 'IH_1', 'NC'),
  reset_stream: row([0x04], '__01'),
  stop_sending: row([0x05], '__01'),
  crypto: row([0x06], 'IH_1'),
  new_token: row([0x07], '___1'),
  stream: row([0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f], '__01', 'F'),
  max_data: row([0x10], '__01'),
  max_stream_data: row([0x11], '__01'),
  max_streams: row([0x12, 0x13], '__01'),
  data_blocked: row([0x14], '__01'),
  stream_data_blocked: row([0x15], '__01'),
  streams_blocked: row([0x16, 0x17], '__01'),
  new_connection_id: row([0x18], '__01', 'P'),
  retire_connection_id: row([0x19], '__01'),
  path_challenge: row([0x1a], '__01', 'P'),
  path_response: row([0x1b], '___1', 'P'),
  // Table 3 writes "ih01": only the transport variant 0x1c may appear in Initial and Handshake packets.
  connection_close: row([0x1c, 0x1d], 'ih01', 'N'),
  handshake_done: row([0x1e], '___1'),
  // draft-ietf-quic-ack-frequency-14 §3: min_ack_delay is never remembered for 0-RTT, so both frames are 1-RTT only.
  ack_frequency: row([0xaf], '___1'),
  immediate_ack: row([0x1f], '___1'),
};

const BY_CODE = new Map<number, FrameTypeName>();
for (const [name, info] of Object.entries(FRAME_TABLE) as [FrameTypeName, FrameTypeInfo][]) for (const c of info.codes) BY_CODE.set(c, name);

export function frameNameOfCode(code: number): FrameTypeName | undefined {
  return BY_CODE.get(code);
}

const LETTER: Record<PacketSpaceKind, [number, string]> = { initial: [0, 'I'], handshake: [1, 'H'], '0rtt': [2, '0'], '1rtt': [3, '1'] };

/** Table 3 read for one cell: the rule itself, from which ALLOWED below is computed once. */
function allowedByTable(code: number, packet: PacketSpaceKind): boolean {
  const name = BY_CODE.get(code);
  if (!name) return false;
  const [i, letter] = LETTER[packet];
  const cell = FRAME_TABLE[name].packets[i]!;
  if (cell === letter) return true;
  return cell === letter.toLowerCase() && code === 0x1c;
}

/**
 * Every received frame is checked against Table 3, so the table is flattened once: one bit per packet type (in
 * LETTER's order) for each one-byte code. Every frame type code is below 256; larger codes are unknown.
 */
const ALLOWED = new Uint8Array(256);
for (let code = 0; code < 256; code++) {
  for (const [kind, [bit]] of Object.entries(LETTER) as [PacketSpaceKind, [number, string]][]) if (allowedByTable(code, kind)) ALLOWED[code]! |= 1 << bit;
}

/** The packet type's bit in ALLOWED; a comparison chain, not a keyed lookup that learns names per call site. */
function kindBit(packet: PacketSpaceKind): number {
  return packet === '1rtt' ? 8 : packet === 'initial' ? 1 : packet === 'handshake' ? 2 : 4;
}

/** Whether a frame with this type code may appear in this packet type (unknown codes: false). */
export function frameAllowedIn(code: number, packet: PacketSpaceKind): boolean {
  return code < 256 && (ALLOWED[code]! & kindBit(packet)) !== 0;
}

export function assertFrameAllowed(code: number, packet: PacketSpaceKind): void {
  if (!frameAllowedIn(code, packet)) throw protocolViolation(`frame type 0x${code.toString(16)} (${BY_CODE.get(code) ?? 'unknown'}) is not allowed in ${packet} packets`, code);
}

/** A packet is ack-eliciting when it holds any frame other than ACK, PADDING and CONNECTION_CLOSE (RFC 9002 §2). */
export function isAckEliciting(frames: readonly { type: FrameTypeName }[]): boolean {
  // Asked several times per packet sent and received: a plain loop, no callback, and the table's few non-eliciting
  // names compared directly (a FRAME_TABLE[type] lookup is a keyed load over some twenty names).
  for (let i = 0; i < frames.length; i++) {
    const t = frames[i]!.type;
    let eliciting = true;
    for (let j = 0; j < NOT_ACK_ELICITING.length; j++) if (NOT_ACK_ELICITING[j] === t) eliciting = false;
    if (eliciting) return true;
  }
  return false;
}

/** The "N" rows of Table 3 (PADDING, ACK, CONNECTION_CLOSE). */
const NOT_ACK_ELICITING: readonly FrameTypeName[] = (Object.keys(FRAME_TABLE) as FrameTypeName[]).filter((n) => !FRAME_TABLE[n].ackEliciting);

/** In flight: ack-eliciting or carrying PADDING (RFC 9002 §2); such packets count toward bytes in flight. */
export function isInFlight(frames: readonly { type: FrameTypeName }[]): boolean {
  return frames.some((f) => FRAME_TABLE[f.type].ackEliciting || f.type === 'padding');
}

/** Only probing frames: a packet that does not make the peer migrate to the path it arrives on (RFC 9000 §9.1). */
export function isProbingOnly(frames: readonly { type: FrameTypeName }[]): boolean {
  return frames.length > 0 && frames.every((f) => FRAME_TABLE[f.type].probing);
}
