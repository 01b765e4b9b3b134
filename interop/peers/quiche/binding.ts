// The raw N-API surface of quiche 0.18 as compiled into @matrixai/quic-linux-x64 2.0.9 (node.napi.node): only the
// parts this peer drives, typed from the package's own declarations and checked against the loaded module. The
// wrapper package (@matrixai/quic) is not used: it is ESM-only with exports that hide the binding, and it brings its
// own event loop; here the .node file is required directly and this folder's main.ts runs the loop.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const QUICHE_VERSION = '0.18.0';
export const PACKAGE = '@matrixai/quic-linux-x64';
export const PACKAGE_VERSION = '2.0.9';

export interface HostPort {
  host: string;
  port: number;
}

export interface SendInfo {
  from: HostPort;
  to: HostPort;
  /** Pacing release time (an opaque native Instant); not used here. */
  at: object;
}

export interface RecvInfo {
  from: HostPort;
  to: HostPort;
}

export interface ConnectionError {
  isApp: boolean;
  errorCode: number;
  reason: Uint8Array;
}

export interface Stats {
  recv: number;
  sent: number;
  lost: number;
  retrans: number;
  sentBytes: number;
  recvBytes: number;
  lostBytes: number;
  peerInitialMaxStreamsBidi: number;
}

export interface PathStats {
  rtt: number;
  cwnd: number;
  pmtu: number;
}

export interface QuicheConfig {
  logKeys(): void;
  setTicketKey(key: Uint8Array): void;
  enableEarlyData(): void;
  grease(on: boolean): void;
  setApplicationProtos(protos: string[]): void;
  setMaxIdleTimeout(ms: number): void;
  setMaxRecvUdpPayloadSize(size: number): void;
  setMaxSendUdpPayloadSize(size: number): void;
  setInitialMaxData(v: number): void;
  setInitialMaxStreamDataBidiLocal(v: number): void;
  setInitialMaxStreamDataBidiRemote(v: number): void;
  setInitialMaxStreamDataUni(v: number): void;
  setInitialMaxStreamsBidi(v: number): void;
  setInitialMaxStreamsUni(v: number): void;
  setMaxStreamWindow(v: number): void;
  setMaxConnectionWindow(v: number): void;
  setDisableActiveMigration(v: boolean): void;
  setActiveConnectionIdLimit(v: number): void;
  setCcAlgorithmName(name: string): void;
}

export interface QuicheConnection {
  setKeylog(path: string): void;
  setSession(session: Uint8Array): void;
  session(): Uint8Array | null;
  /** Bytes processed; throws an Error whose message is quiche's error name (TlsFail, Done, …). */
  recv(data: Uint8Array, info: RecvInfo): number;
  /** One packet into data: [length, info], or null when quiche has nothing more to send now. */
  send(data: Uint8Array): [number, SendInfo] | null;
  /** [bytes read, fin], or null when the stream has nothing to read. */
  streamRecv(streamId: number, data: Uint8Array): [number, boolean] | null;
  /** Bytes accepted, or null when the stream has no capacity. */
  streamSend(streamId: number, data: Uint8Array, fin: boolean): number | null;
  streamShutdown(streamId: number, direction: number, err: number): void | null;
  streamFinished(streamId: number): boolean;
  peerStreamsLeftBidi(): number;
  peerStreamsLeftUni(): number;
  readable(): Iterable<number>;
  writable(): Iterable<number>;
  /** Milliseconds until onTimeout() is due, or null for no timer. */
  timeout(): number | null;
  onTimeout(): void;
  close(app: boolean, err: number, reason: Uint8Array): void | null;
  applicationProto(): Uint8Array;
  peerCertChain(): Uint8Array[] | null;
  isEstablished(): boolean;
  isResumed(): boolean;
  isInEarlyData(): boolean;
  isDraining(): boolean;
  isClosed(): boolean;
  isTimedOut(): boolean;
  peerError(): ConnectionError | null;
  localError(): ConnectionError | null;
  stats(): Stats;
  pathStats(): PathStats[];
}

export interface QuicheHeader {
  ty: number;
  version: number;
  dcid: Uint8Array;
  scid: Uint8Array;
  token?: Uint8Array;
}

export interface Quiche {
  MAX_CONN_ID_LEN: number;
  MIN_CLIENT_INITIAL_LEN: number;
  PROTOCOL_VERSION: number;
  MAX_DATAGRAM_SIZE: number;
  MAX_CONNECTION_WINDOW: number;
  MAX_STREAM_WINDOW: number;
  Type: { Initial: number; Retry: number; Handshake: number; ZeroRTT: number; VersionNegotiation: number; Short: number };
  Shutdown: { Read: number; Write: number };
  negotiateVersion(scid: Uint8Array, dcid: Uint8Array, out: Uint8Array): number;
  retry(scid: Uint8Array, dcid: Uint8Array, newScid: Uint8Array, token: Uint8Array, version: number, out: Uint8Array): number;
  versionIsSupported(version: number): boolean;
  Config: {
    withBoringSslCtx(
      verifyPeer: boolean,
      verifyAllowFail: boolean,
      ca?: Uint8Array | null,
      keys?: Uint8Array[] | null,
      certs?: Uint8Array[] | null,
      sigalgs?: string | null,
    ): QuicheConfig;
  };
  Connection: {
    connect(serverName: string | null, scid: Uint8Array, local: HostPort, peer: HostPort, config: QuicheConfig): QuicheConnection;
    accept(scid: Uint8Array, odcid: Uint8Array | null, local: HostPort, peer: HostPort, config: QuicheConfig): QuicheConnection;
  };
  Header: { fromSlice(data: Uint8Array, dcidLen: number): QuicheHeader };
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CROSSWIRE_CACHE || join(homedir(), '.cache', 'crosswire');
}

/** Where install.sh puts the binary. */
export function nodeFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), `quiche-${QUICHE_VERSION}`, 'node_modules', '@matrixai', 'quic-linux-x64', 'node.napi.node');
}

/** Loads the binding or throws an Error with one line saying what is missing. */
export function loadQuiche(env: NodeJS.ProcessEnv = process.env): Quiche {
  const file = nodeFilePath(env);
  if (!existsSync(file)) {
    throw new Error(`quiche is not installed: ${file} is missing (run interop/peers/quiche/install.sh)`);
  }
  const require = createRequire(import.meta.url);
  let mod: Quiche;
  try {
    mod = require(file) as Quiche;
  } catch (e) {
    throw new Error(`cannot load ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  for (const name of ['Config', 'Connection', 'Header', 'retry', 'negotiateVersion', 'versionIsSupported'] as const) {
    if (mod[name] === undefined) throw new Error(`${file} has no '${name}': not the expected ${PACKAGE}@${PACKAGE_VERSION}`);
  }
  return mod;
}
