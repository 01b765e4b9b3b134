// qlog 0.3 (draft-ietf-quic-qlog-main-schema-05, quic-events-04): event types the engine emits and a pure JSON-SEQ serialiser (RFC 7464).

export type QlogPacketType = 'initial' | 'handshake' | '0RTT' | '1RTT' | 'retry' | 'version_negotiation' | 'stateless_reset' | 'unknown';

export interface QlogPacketHeader {
  packet_type: QlogPacketType;
  packet_number?: number;
  version?: string;
  scid?: string;
  dcid?: string;
  token?: { length: number };
}

/** Frames as qlog describes them; `frame_type` names follow quic-events §A (e.g. 'stream', 'ack', 'crypto'). */
export type QlogFrame = { frame_type: string } & Record<string, unknown>;

export type QlogKeyType =
  | 'server_initial_secret'
  | 'client_initial_secret'
  | 'server_handshake_secret'
  | 'client_handshake_secret'
  | 'server_0rtt_secret'
  | 'client_0rtt_secret'
  | 'server_1rtt_secret'
  | 'client_1rtt_secret';

export type QlogEventData = {
  'transport:packet_sent': { header: QlogPacketHeader; raw: { length: number; payload_length?: number }; frames?: QlogFrame[]; is_coalesced?: boolean; trigger?: 'retransmit_reordered' | 'retransmit_timeout' | 'pto_probe' | 'retransmit_crypto' | 'cc_bandwidth_probe' };
  'transport:packet_received': { header: QlogPacketHeader; raw: { length: number; payload_length?: number }; frames?: QlogFrame[] };
  'transport:packet_dropped': { header?: Partial<QlogPacketHeader>; raw: { length: number }; trigger: string; details?: { reason: string } };
  'transport:parameters_set': { owner: 'local' | 'remote'; resumption_allowed?: boolean; early_data_enabled?: boolean; tls_cipher?: string; alpn?: string } & Record<string, unknown>;
  'transport:version_information': { server_versions?: string[]; client_versions?: string[]; chosen_version?: string };
  'transport:alpn_information': { chosen_alpn?: string };
  'recovery:packet_lost': { header: QlogPacketHeader; frames?: QlogFrame[]; trigger?: 'reordering_threshold' | 'time_threshold' | 'pto_expired' };
  'recovery:metrics_updated': { min_rtt?: number; smoothed_rtt?: number; latest_rtt?: number; rtt_variance?: number; pto_count?: number; congestion_window?: number; bytes_in_flight?: number; ssthresh?: number; pacing_rate?: number };
  'recovery:congestion_state_updated': { old?: string; new: string; trigger?: string };
  'security:key_updated': { key_type: QlogKeyType; trigger: 'tls' | 'remote_update' | 'local_update'; generation?: number };
  'security:key_discarded': { key_type: QlogKeyType; trigger: 'tls' | 'remote_update' | 'local_update'; generation?: number };
  'connectivity:connection_started': { ip_version?: 'ipv4' | 'ipv6'; src_ip: string; dst_ip: string; src_port: number; dst_port: number; src_cid?: string; dst_cid?: string };
  'connectivity:connection_state_updated': { old?: string; new: string };
  /** The maximum datagram size in use changed, or its search finished (`done`). */
  'connectivity:mtu_updated': { old?: number; new: number; done?: boolean };
  'connectivity:connection_closed': { owner: 'local' | 'remote'; connection_code?: number | string | bigint; application_code?: number | string | bigint; internal_code?: number; reason?: string; trigger?: 'idle_timeout' | 'clean' | 'error' | 'stateless_reset' | 'version_mismatch' | 'application' };
};

export type QlogEventName = keyof QlogEventData;

export interface QlogEvent<N extends QlogEventName = QlogEventName> {
  /** Milliseconds on the connection's clock (absolute; the writer makes it relative to the trace's reference time). */
  time: number;
  name: N;
  data: QlogEventData[N];
}

/** Where the engine hands events; undefined means qlog is off and events are not even built. */
export type QlogSink = (event: QlogEvent) => void;

export interface QlogTraceInfo {
  vantagePoint: 'client' | 'server' | 'network';
  title?: string;
  /** Original destination connection ID as hex: qvis groups traces by it. */
  odcid?: string;
  referenceTime: number;
}

const RS = '\x1e';

/** The first JSON-SEQ record: the qlog file header with one trace's common fields. */
export function qlogHeaderRecord(info: QlogTraceInfo): string {
  const header = {
    qlog_version: '0.3',
    qlog_format: 'JSON-SEQ',
    title: info.title ?? 'crosswire',
    trace: {
      vantage_point: { type: info.vantagePoint, name: 'crosswire' },
      common_fields: {
        ODCID: info.odcid,
        reference_time: info.referenceTime,
        time_format: 'relative',
        protocol_type: ['QUIC'],
      },
    },
  };
  return RS + JSON.stringify(header) + '\n';
}

/** One event as a JSON-SEQ record; bigint values (error codes) become numbers when safe, else strings. */
export function qlogEventRecord(event: QlogEvent, referenceTime: number): string {
  return RS + JSON.stringify({ time: round3(event.time - referenceTime), name: event.name, data: event.data }, bigintSafe) + '\n';
}

/** A whole trace as one string (header then events). */
export function serializeQlog(info: QlogTraceInfo, events: Iterable<QlogEvent>): string {
  let out = qlogHeaderRecord(info);
  for (const e of events) out += qlogEventRecord(e, info.referenceTime);
  return out;
}

/** Collects events in memory: tests read them, engine/io writes them out. */
export class QlogBuffer {
  readonly events: QlogEvent[] = [];
  readonly sink: QlogSink = (e) => {
    this.events.push(e);
  };
  ofType<N extends QlogEventName>(name: N): QlogEvent<N>[] {
    return this.events.filter((e): e is QlogEvent<N> => e.name === name);
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function bigintSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
