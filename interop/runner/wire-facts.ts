// What a real-time run's wire says, in the terms live checks use: handshakes, Retry, HelloVerifyRequests, per
// connection version / cipher suite / resumption / 0-RTT / key updates (decoded from the capture with the endpoints'
// key logs where the relay's header-only observers cannot see), goodput and timing from the trace.

import type { Relay } from '../../simulator/relay.js';
import type { Protocol } from '../scenario/model.js';
import { analyzeQuicWire, datagramsFromCapture, type WireConnection } from './wire-analysis.js';

export interface ConnectionFacts {
  version?: number;
  cipherSuite?: string;
  resumed?: boolean;
  zeroRttPackets: number;
  earlyDataAccepted?: boolean;
}

export interface WireFacts {
  handshakes: number;
  /** How handshakes were counted (shown in the check's detail). */
  handshakeBasis: string;
  retries: number;
  helloVerifyRequests: number;
  connections: ConnectionFacts[];
  keyUpdates?: { client: number; server: number };
  keysMissing?: string;
  goodputBps: number;
  /** The relay's timer lateness (simulator/relay.ts): how exactly real time followed the network model. */
  relayLateness?: { timers: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** When the last datagram carrying data towards the client was delivered (ms since the relay started). */
  lastClientDataMs?: number;
  metrics: Record<string, number>;
}

export function analyzeCapture(protocol: Protocol, relay: Relay, keylog: string): WireFacts {
  const m = relay.metrics() as Record<string, unknown>;
  const trace = relay.trace();
  let first: number | undefined;
  let last: number | undefined;
  let toClient = 0;
  // DTLS 1.2: a server sends its ChangeCipherSpec only after the client's Finished verified (RFC 6347 §4.2.1 flights).
  const dtlsDone = new Set<string>();
  for (const e of trace) {
    if (protocol === 'dtls' && e.direction === 'to-client' && e.kinds.includes('change-cipher-spec')) dtlsDone.add(`${e.to.host}:${e.to.port}`);
    first ??= e.time;
    if (e.direction === 'to-client' && e.copy === 0 && e.arrivedAt !== undefined) {
      toClient += e.arrivedLength ?? e.length;
      last = e.arrivedAt;
    }
  }
  const span = first !== undefined && last !== undefined ? (last - first) / 1000 : 0;
  const handshakes = protocol === 'dtls' ? dtlsDone.size : Number(m['handshakes'] ?? 0);
  const dgrams = m['datagrams'] as Record<string, number> | undefined;
  const base: WireFacts = {
    handshakes,
    handshakeBasis: protocol === 'dtls' ? 'client addresses the server sent ChangeCipherSpec to' : 'distinct server SCIDs in Initial/Handshake packets',
    retries: Number(m['retries'] ?? 0),
    helloVerifyRequests: Number(m['helloVerifyRequests'] ?? 0),
    connections: [],
    goodputBps: span > 0 ? (toClient * 8) / span : 0,
    ...(m['relayLateness'] ? { relayLateness: m['relayLateness'] as WireFacts['relayLateness'] } : {}),
    ...(last !== undefined ? { lastClientDataMs: last } : {}),
    metrics: { datagramsToServer: dgrams?.['to-server'] ?? 0, datagramsToClient: dgrams?.['to-client'] ?? 0 },
  };
  if (protocol !== 'quic' || !relay.capture) return base;
  const report = analyzeQuicWire(datagramsFromCapture(relay.capture.datagrams), keylog);
  // Connections the server answered, in the order the client opened them.
  const conns = report.connections.filter((c) => c.packets['to-client'] && totalPackets(c) > 0);
  const confirmedKnown = conns.length > 0 && conns.every((c) => c.handshakeConfirmed !== undefined);
  base.handshakes = conns.filter((c) => (confirmedKnown ? c.handshakeConfirmed : c.handshakeCompleted)).length;
  base.handshakeBasis = confirmedKnown ? 'connections whose HANDSHAKE_DONE was read with the logged keys' : 'connections whose client sent 1-RTT packets (no 1-RTT keys logged for every connection)';
  base.connections = conns.map((c) => ({
    version: c.version.final,
    ...(c.cipherSuite !== undefined ? { cipherSuite: String(c.cipherSuite) } : {}),
    ...(c.resumed !== undefined ? { resumed: c.resumed } : {}),
    zeroRttPackets: c.zeroRttPackets,
    ...(c.earlyDataAccepted !== undefined ? { earlyDataAccepted: c.earlyDataAccepted } : {}),
  }));
  const ku = report.summary.keyUpdates;
  if (ku) base.keyUpdates = { client: ku.client, server: ku.server };
  else base.keysMissing = 'no 1-RTT secrets in the endpoints\' key logs';
  base.metrics['wireDecrypted'] = report.summary.decrypted;
  base.metrics['wireUnreadable'] = report.summary.unreadable;
  base.metrics['wireWithoutKeys'] = report.summary.withoutKeys;
  return base;
}

function totalPackets(c: WireConnection): number {
  const p = c.packets['to-client'] as unknown as Record<string, number>;
  return Object.values(p).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
}
