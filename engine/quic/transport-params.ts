// RFC 9000 §7.4 and §18 (transport parameters, defaults, role restrictions), RFC 9368 §3 (version_information), RFC 9221 §3 (max_datagram_frame_size), draft-ietf-quic-ack-frequency-14 §3 (min_ack_delay).
/**
 * Exports:
 * - `TransportParameters`, `PreferredAddress`, `VersionInformation`, `DEFAULT_TRANSPORT_PARAMETERS`, `TransportParameterId`.
 * - `encodeTransportParameters(tp, { grease? })` → quic_transport_parameters extension body (defaults omitted).
 * - `decodeTransportParameters(bytes, senderRole)` → TransportParameters; throws QuicError TRANSPORT_PARAMETER_ERROR for
 *   malformed values, duplicates, out-of-range values and parameters the sender's role must not send.
 * - `validateTransportParameters(tp, senderRole)` (same checks on a structure we are about to send).
 * - `validateConnectionIdParameters(tp, senderRole, expected)`: the RFC 9000 §7.3 handshake CID authentication.
 * - `isGreaseParameterId(id)`, `greaseTransportParameter(random)`.
 */

import { DecodeError, Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { transportParameterError } from './errors.js';

export const TransportParameterId = {
  original_destination_connection_id: 0x00,
  max_idle_timeout: 0x01,
  stateless_reset_token: 0x02,
  max_udp_payload_size: 0x03,
  initial_max_data: 0x04,
  initial_max_stream_data_bidi_local: 0x05,
  initial_max_stream_data_bidi_remote: 0x06,
  initial_max_stream_data_uni: 0x07,
  initial_max_streams_bidi: 0x08,
  initial_max_streams_uni: 0x09,
  ack_delay_exponent: 0x0a,
  max_ack_delay: 0x0b,
  disable_active_migration: 0x0c,
  preferred_address: 0x0d,
  active_connection_id_limit: 0x0e,
  initial_source_connection_id: 0x0f,
  retry_source_connection_id: 0x10,
  max_datagram_frame_size: 0x20,
  version_information: 0x11,
  /** Provisional codepoint of draft-ietf-quic-ack-frequency-14 §3. */
  min_ack_delay: 0xff04de1b,
} as const;

export interface PreferredAddress {
  readonly ipv4: Uint8Array; // 4 bytes, all zero when absent
  readonly ipv4Port: number;
  readonly ipv6: Uint8Array; // 16 bytes
  readonly ipv6Port: number;
  readonly connectionId: Uint8Array;
  readonly statelessResetToken: Uint8Array;
}

export interface VersionInformation {
  readonly chosenVersion: number;
  readonly availableVersions: readonly number[];
}

export interface TransportParameters {
  originalDestinationConnectionId?: Uint8Array;
  /** Milliseconds; 0 disables the idle timeout. */
  maxIdleTimeout: number;
  statelessResetToken?: Uint8Array;
  maxUdpPayloadSize: number;
  initialMaxData: number;
  initialMaxStreamDataBidiLocal: number;
  initialMaxStreamDataBidiRemote: number;
  initialMaxStreamDataUni: number;
  initialMaxStreamsBidi: number;
  initialMaxStreamsUni: number;
  ackDelayExponent: number;
  /** Milliseconds. */
  maxAckDelay: number;
  disableActiveMigration: boolean;
  preferredAddress?: PreferredAddress;
  activeConnectionIdLimit: number;
  initialSourceConnectionId?: Uint8Array;
  retrySourceConnectionId?: Uint8Array;
  versionInformation?: VersionInformation;
  maxDatagramFrameSize?: number;
  /** Microseconds (unlike max_ack_delay); present = the sender accepts ACK_FREQUENCY and IMMEDIATE_ACK frames. */
  minAckDelay?: number;
  /** Parameters we do not interpret (grease, extensions), kept in order for logging. */
  unknown: { id: number; value: Uint8Array }[];
}

/** RFC 9000 §18.2 defaults: what an absent parameter means. */
export function defaultTransportParameters(): TransportParameters {
  // A fresh literal per call, not a spread of a frozen object: copying a frozen object's properties takes V8's slow
  // path (1–2% of a lossy-handshake sweep, issue 15).
  return {
    maxIdleTimeout: 0,
    maxUdpPayloadSize: 65527,
    initialMaxData: 0,
    initialMaxStreamDataBidiLocal: 0,
    initialMaxStreamDataBidiRemote: 0,
    initialMaxStreamDataUni: 0,
    initialMaxStreamsBidi: 0,
    initialMaxStreamsUni: 0,
    ackDelayExponent: 3,
    maxAckDelay: 25,
    disableActiveMigration: false,
    activeConnectionIdLimit: 2,
    unknown: [],
  };
}

export const DEFAULT_TRANSPORT_PARAMETERS: Readonly<TransportParameters> = Object.freeze(defaultTransportParameters());

/** Reserved ids 31 * N + 27 exist only to exercise the requirement that unknown parameters are ignored (§18.1). */
export function isGreaseParameterId(id: number): boolean {
  return id >= 27 && (id - 27) % 31 === 0;
}

export function greaseTransportParameter(random: (n: number) => Uint8Array): { id: number; value: Uint8Array } {
  const r = random(3);
  const n = ((r[0]! << 8) | r[1]!) & 0x3fff;
  return { id: 31 * n + 27, value: random(r[2]! % 17) };
}

const MAX_STREAMS_LIMIT = 2 ** 60;
const SERVER_ONLY: readonly (keyof TransportParameters)[] = ['originalDestinationConnectionId', 'statelessResetToken', 'preferredAddress', 'retrySourceConnectionId'];

/** Range and role checks shared by decode (peer's parameters) and encode (ours). Throws TRANSPORT_PARAMETER_ERROR. */
export function validateTransportParameters(tp: TransportParameters, senderRole: 'client' | 'server'): void {
  if (senderRole === 'client') {
    for (const k of SERVER_ONLY) if (tp[k] !== undefined) throw transportParameterError(`a client must not send ${k}`);
  }
  if (tp.maxUdpPayloadSize < 1200) throw transportParameterError(`max_udp_payload_size ${tp.maxUdpPayloadSize} is below 1200`);
  if (tp.ackDelayExponent > 20) throw transportParameterError(`ack_delay_exponent ${tp.ackDelayExponent} exceeds 20`);
  if (tp.maxAckDelay >= 2 ** 14) throw transportParameterError(`max_ack_delay ${tp.maxAckDelay} is not below 2^14`);
  if (tp.minAckDelay !== undefined && tp.minAckDelay > tp.maxAckDelay * 1000) {
    throw transportParameterError(`min_ack_delay ${tp.minAckDelay} µs exceeds max_ack_delay ${tp.maxAckDelay} ms`);
  }
  if (tp.activeConnectionIdLimit < 2) throw transportParameterError(`active_connection_id_limit ${tp.activeConnectionIdLimit} is below 2`);
  if (tp.initialMaxStreamsBidi > MAX_STREAMS_LIMIT) throw transportParameterError('initial_max_streams_bidi exceeds 2^60');
  if (tp.initialMaxStreamsUni > MAX_STREAMS_LIMIT) throw transportParameterError('initial_max_streams_uni exceeds 2^60');
  if (tp.statelessResetToken && tp.statelessResetToken.length !== 16) throw transportParameterError('stateless_reset_token must be 16 bytes');
  for (const [k, cid] of [
    ['original_destination_connection_id', tp.originalDestinationConnectionId],
    ['initial_source_connection_id', tp.initialSourceConnectionId],
    ['retry_source_connection_id', tp.retrySourceConnectionId],
  ] as const) {
    if (cid && cid.length > 20) throw transportParameterError(`${k} longer than 20 bytes`);
  }
  const pa = tp.preferredAddress;
  if (pa) {
    if (pa.connectionId.length < 1 || pa.connectionId.length > 20) throw transportParameterError('preferred_address connection ID must be 1..20 bytes');
    if (pa.ipv4.length !== 4 || pa.ipv6.length !== 16 || pa.statelessResetToken.length !== 16) throw transportParameterError('preferred_address has malformed fields');
  }
  const vi = tp.versionInformation;
  if (vi) {
    if (vi.chosenVersion === 0 || vi.availableVersions.includes(0)) throw transportParameterError('version_information carries version 0');
  }
}

export interface ExpectedConnectionIds {
  /** Source Connection ID of the peer's first Initial packet. */
  readonly initialSourceConnectionId: Uint8Array;
  /** Client checking the server: the Destination Connection ID of the client's first Initial. */
  readonly originalDestinationConnectionId?: Uint8Array;
  /** Client checking the server: the Source Connection ID of the Retry it processed, if any. */
  readonly retrySourceConnectionId?: Uint8Array;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Authenticates the connection IDs of the handshake (RFC 9000 §7.3): the parameters must repeat the CIDs seen in the
 * packet headers, so an attacker cannot have swapped them. Throws TRANSPORT_PARAMETER_ERROR.
 */
export function validateConnectionIdParameters(tp: TransportParameters, senderRole: 'client' | 'server', expected: ExpectedConnectionIds): void {
  if (!tp.initialSourceConnectionId) throw transportParameterError('initial_source_connection_id is missing');
  if (!sameBytes(tp.initialSourceConnectionId, expected.initialSourceConnectionId)) throw transportParameterError('initial_source_connection_id does not match the Source Connection ID of the peer\'s Initial');
  if (senderRole === 'client') return;
  if (!tp.originalDestinationConnectionId) throw transportParameterError('original_destination_connection_id is missing');
  if (expected.originalDestinationConnectionId && !sameBytes(tp.originalDestinationConnectionId, expected.originalDestinationConnectionId)) {
    throw transportParameterError('original_destination_connection_id does not match the client\'s first Destination Connection ID');
  }
  if (expected.retrySourceConnectionId) {
    if (!tp.retrySourceConnectionId) throw transportParameterError('retry_source_connection_id is missing after a Retry');
    if (!sameBytes(tp.retrySourceConnectionId, expected.retrySourceConnectionId)) throw transportParameterError('retry_source_connection_id does not match the Retry packet');
  } else if (tp.retrySourceConnectionId) {
    throw transportParameterError('retry_source_connection_id present although no Retry was processed');
  }
}

// ---------------------------------------------------------------------------------------------------------------------

export function encodeTransportParameters(tp: TransportParameters, opts: { grease?: (n: number) => Uint8Array } = {}): Uint8Array {
  const w = new Writer(256);
  const d = DEFAULT_TRANSPORT_PARAMETERS;
  const bytesParam = (id: number, v: Uint8Array) => w.varint(id).varint(v.length).bytes(v);
  const intParam = (id: number, v: number, def: number | undefined) => {
    if (v === def) return;
    w.varint(id).begin('varint2').varint(v).end();
  };
  const I = TransportParameterId;
  if (tp.originalDestinationConnectionId) bytesParam(I.original_destination_connection_id, tp.originalDestinationConnectionId);
  intParam(I.max_idle_timeout, tp.maxIdleTimeout, d.maxIdleTimeout);
  if (tp.statelessResetToken) bytesParam(I.stateless_reset_token, tp.statelessResetToken);
  intParam(I.max_udp_payload_size, tp.maxUdpPayloadSize, d.maxUdpPayloadSize);
  intParam(I.initial_max_data, tp.initialMaxData, d.initialMaxData);
  intParam(I.initial_max_stream_data_bidi_local, tp.initialMaxStreamDataBidiLocal, d.initialMaxStreamDataBidiLocal);
  intParam(I.initial_max_stream_data_bidi_remote, tp.initialMaxStreamDataBidiRemote, d.initialMaxStreamDataBidiRemote);
  intParam(I.initial_max_stream_data_uni, tp.initialMaxStreamDataUni, d.initialMaxStreamDataUni);
  intParam(I.initial_max_streams_bidi, tp.initialMaxStreamsBidi, d.initialMaxStreamsBidi);
  intParam(I.initial_max_streams_uni, tp.initialMaxStreamsUni, d.initialMaxStreamsUni);
  intParam(I.ack_delay_exponent, tp.ackDelayExponent, d.ackDelayExponent);
  intParam(I.max_ack_delay, tp.maxAckDelay, d.maxAckDelay);
  if (tp.disableActiveMigration) w.varint(I.disable_active_migration).varint(0);
  if (tp.preferredAddress) {
    const pa = tp.preferredAddress;
    w.varint(I.preferred_address).begin('varint2').bytes(pa.ipv4).u16(pa.ipv4Port).bytes(pa.ipv6).u16(pa.ipv6Port).vec(1, pa.connectionId).bytes(pa.statelessResetToken).end();
  }
  intParam(I.active_connection_id_limit, tp.activeConnectionIdLimit, d.activeConnectionIdLimit);
  if (tp.initialSourceConnectionId) bytesParam(I.initial_source_connection_id, tp.initialSourceConnectionId);
  if (tp.retrySourceConnectionId) bytesParam(I.retry_source_connection_id, tp.retrySourceConnectionId);
  if (tp.versionInformation) {
    w.varint(I.version_information).begin('varint2').u32(tp.versionInformation.chosenVersion);
    for (const v of tp.versionInformation.availableVersions) w.u32(v);
    w.end();
  }
  if (tp.maxDatagramFrameSize !== undefined) intParam(I.max_datagram_frame_size, tp.maxDatagramFrameSize, undefined);
  if (tp.minAckDelay !== undefined) intParam(I.min_ack_delay, tp.minAckDelay, undefined);
  for (const u of tp.unknown) bytesParam(u.id, u.value);
  if (opts.grease) {
    const g = greaseTransportParameter(opts.grease);
    bytesParam(g.id, g.value);
  }
  return w.finish();
}

/** An integer parameter; `max` is checked on the exact value (doubles round 2^60 + 1 down to 2^60). */
function intValue(v: Uint8Array, name: string, max?: bigint): number {
  const r = new Reader(v);
  let n: number;
  if (isEightByteVarint(v, 0)) {
    // Only the 8-byte form can exceed 2^53 or a 2^60 limit: BigInt for it alone (a handshake decodes ~15 of these).
    const big = r.varintBig();
    if (max !== undefined && big > max) throw transportParameterError(`${name} ${big} exceeds ${max}`);
    n = Number(big);
  } else n = r.varint();
  if (!r.atEnd()) throw transportParameterError(`${name}: trailing bytes after the integer`);
  return n;
}

const isEightByteVarint = (b: Uint8Array, at: number): boolean => at < b.length && b[at]! >> 6 === 3;

function cidValue(v: Uint8Array, name: string): Uint8Array {
  if (v.length > 20) throw transportParameterError(`${name} longer than 20 bytes`);
  return v;
}

export function decodeTransportParameters(bytes: Uint8Array, senderRole: 'client' | 'server'): TransportParameters {
  const tp = defaultTransportParameters();
  const seen = new Set<number>();
  const r = new Reader(bytes);
  const I = TransportParameterId;
  try {
    while (!r.atEnd()) {
      const id = isEightByteVarint(bytes, r.pos) ? Number(r.varintBig()) : r.varint();
      const value = r.vecVarint();
      if (seen.has(id)) throw transportParameterError(`duplicate transport parameter 0x${id.toString(16)}`);
      seen.add(id);
      switch (id) {
        case I.original_destination_connection_id:
          tp.originalDestinationConnectionId = cidValue(value, 'original_destination_connection_id');
          break;
        case I.max_idle_timeout:
          tp.maxIdleTimeout = intValue(value, 'max_idle_timeout');
          break;
        case I.stateless_reset_token:
          if (value.length !== 16) throw transportParameterError('stateless_reset_token must be 16 bytes');
          tp.statelessResetToken = value;
          break;
        case I.max_udp_payload_size:
          tp.maxUdpPayloadSize = intValue(value, 'max_udp_payload_size');
          break;
        case I.initial_max_data:
          tp.initialMaxData = intValue(value, 'initial_max_data');
          break;
        case I.initial_max_stream_data_bidi_local:
          tp.initialMaxStreamDataBidiLocal = intValue(value, 'initial_max_stream_data_bidi_local');
          break;
        case I.initial_max_stream_data_bidi_remote:
          tp.initialMaxStreamDataBidiRemote = intValue(value, 'initial_max_stream_data_bidi_remote');
          break;
        case I.initial_max_stream_data_uni:
          tp.initialMaxStreamDataUni = intValue(value, 'initial_max_stream_data_uni');
          break;
        case I.initial_max_streams_bidi:
          tp.initialMaxStreamsBidi = intValue(value, 'initial_max_streams_bidi', 1n << 60n);
          break;
        case I.initial_max_streams_uni:
          tp.initialMaxStreamsUni = intValue(value, 'initial_max_streams_uni', 1n << 60n);
          break;
        case I.ack_delay_exponent:
          tp.ackDelayExponent = intValue(value, 'ack_delay_exponent');
          break;
        case I.max_ack_delay:
          tp.maxAckDelay = intValue(value, 'max_ack_delay');
          break;
        case I.disable_active_migration:
          if (value.length !== 0) throw transportParameterError('disable_active_migration must be empty');
          tp.disableActiveMigration = true;
          break;
        case I.preferred_address: {
          const p = new Reader(value);
          const pa: PreferredAddress = {
            ipv4: p.bytes(4),
            ipv4Port: p.u16(),
            ipv6: p.bytes(16),
            ipv6Port: p.u16(),
            connectionId: p.vec(1),
            statelessResetToken: p.bytes(16),
          };
          if (!p.atEnd()) throw transportParameterError('preferred_address has trailing bytes');
          tp.preferredAddress = pa;
          break;
        }
        case I.active_connection_id_limit:
          tp.activeConnectionIdLimit = intValue(value, 'active_connection_id_limit');
          break;
        case I.initial_source_connection_id:
          tp.initialSourceConnectionId = cidValue(value, 'initial_source_connection_id');
          break;
        case I.retry_source_connection_id:
          tp.retrySourceConnectionId = cidValue(value, 'retry_source_connection_id');
          break;
        case I.version_information: {
          if (value.length < 4 || value.length % 4 !== 0) throw transportParameterError('version_information length must be a positive multiple of 4');
          const p = new Reader(value);
          const chosenVersion = p.u32();
          const availableVersions: number[] = [];
          while (!p.atEnd()) availableVersions.push(p.u32());
          tp.versionInformation = { chosenVersion, availableVersions };
          break;
        }
        case I.max_datagram_frame_size:
          tp.maxDatagramFrameSize = intValue(value, 'max_datagram_frame_size');
          break;
        case I.min_ack_delay:
          tp.minAckDelay = intValue(value, 'min_ack_delay');
          break;
        default:
          tp.unknown.push({ id, value });
      }
    }
  } catch (e) {
    if (e instanceof DecodeError) throw transportParameterError(`malformed transport parameters: ${e.message}`);
    throw e;
  }
  validateTransportParameters(tp, senderRole);
  return tp;
}
