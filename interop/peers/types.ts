// The peer plug-in interface: what an implementation under test declares (roles, protocols, features) and how the
// runner starts one role of it. Virtual-time peers hand out sans-I/O endpoints; external peers (real ngtcp2, OpenSSL,
// quiche processes behind the simulator's real-time relay) implement the same shape with start/stop around processes.

import type { Address, DatagramEndpoint } from '../../engine/endpoint.js';
import type { QuicConnection } from '../../engine/quic/connection.js';
import type { CloseInfo } from '../../engine/quic/connection-events.js';
import type { QlogSink } from '../../engine/quic/qlog.js';
import type { Protocol, Scenario, Side } from '../scenario/model.js';
import type { SimulationPki } from '../runner/pki.js';
import type { GeneratedFiles } from '../runner/content.js';

/** Engine faults a test can switch on to prove the harness catches them (never on in normal runs). */
export type FaultName = 'handshake-crypto-no-retransmit' | 'internal-error-on-stream-data';
export const FAULT_NAMES: readonly FaultName[] = ['handshake-crypto-no-retransmit', 'internal-error-on-stream-data'];

export interface PeerContext {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly role: Side;
  readonly clientAddress: Address;
  readonly serverAddress: Address;
  readonly pki: SimulationPki;
  /** The files the server serves and the client requests (paths in request order, repeated per connection). */
  readonly files: GeneratedFiles;
  readonly paths: readonly string[];
  /** NSS key log lines (for --capture). */
  readonly keyLog?: (line: string) => void;
  readonly faults: readonly FaultName[];
  /** qlog sink for a new connection of this role (for --capture); undefined when qlog is off. */
  readonly qlogFor?: (label: string) => QlogSink | undefined;
  /** Step-scripted (API) scenarios: the role exposes its connection and leaves stream events to the script. */
  readonly scripted: boolean;
  /** Wall clock for TLS (certificate dates): the fixed simulation date unless a real-time run passes the real one. */
  readonly clock?: () => number;
}

/** What one connection of a role did, in the runner's vocabulary (simulated ms). */
export interface ConnectionReport {
  startedAt?: number;
  handshakeAt?: number;
  finishedAt?: number;
  resumed?: boolean;
  version?: number;
  alpn?: string;
  cipherSuite?: string;
  earlyData?: boolean;
  retried?: boolean;
  keyUpdates: number;
  closeInfo?: CloseInfo;
  /** Client downloads: per path, bytes and SHA-256 of what arrived. */
  files?: { path: string; bytes: number; ok: boolean; digest?: string; detail?: string }[];
  bytes?: number;
  firstByteAt?: number;
  lastByteAt?: number;
  /** DTLS: application messages sent and echoed back intact. */
  messagesSent?: number;
  messagesEchoed?: number;
}

export interface RoleReport {
  connections: ConnectionReport[];
  /** Server: Retry packets sent; DTLS: HelloVerifyRequests sent. */
  retriesSent?: number;
  /** DTLS server: the most per-peer handshake states it held at once. */
  maxStates?: number;
  /** Free-form numbers for result.json metrics. */
  metrics?: Record<string, number>;
  /**
   * Exceptions the engine caught and turned into INTERNAL_ERROR / an internal_error alert (bugs, not protocol errors):
   * message, then the first stack frames, one per line. Any makes the run's verdict 'error'.
   */
  internalErrors?: string[];
}

/** One running role of a peer. */
export interface RoleEndpoint {
  readonly endpoint: DatagramEndpoint;
  /** The role finished its workload (client) — the run may stop. Servers return true. */
  done(): boolean;
  report(): RoleReport;
  /** Scripted scenarios: the role's (single) connection once it exists. */
  scriptConnection?(): QuicConnection | undefined;
}

export interface Peer {
  readonly name: string;
  readonly version: string;
  readonly roles: readonly Side[];
  readonly protocols: readonly Protocol[];
  /** Names a scenario's `requires` list is checked against; a missing one makes the run "unsupported". */
  readonly features: readonly string[];
  /** 'virtual': runs inside the simulator in virtual time; 'external': a process behind the real-time relay. */
  readonly mode: 'virtual' | 'external';
  start(ctx: PeerContext): RoleEndpoint;
  stop?(): Promise<void>;
}

/** Why a peer pair cannot run a scenario, or undefined when it can. */
export function unsupportedReason(scenario: Scenario, client: Peer, server: Peer): string | undefined {
  for (const [peer, role] of [
    [client, 'client'],
    [server, 'server'],
  ] as const) {
    if (!peer.roles.includes(role)) return `${peer.name} cannot act as ${role}`;
    if (!peer.protocols.includes(scenario.protocol)) return `${peer.name} does not speak ${scenario.protocol}`;
    const missing = scenario.requires.filter((f) => !peer.features.includes(f));
    if (missing.length) return `${peer.name} (${role}) lacks feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
  }
  return undefined;
}
