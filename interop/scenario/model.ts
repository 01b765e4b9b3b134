// The scenario model after validation and unit conversion (times in ms, sizes in bytes, rates in bits/s).

export type Protocol = 'quic' | 'tls' | 'dtls';
export type Side = 'client' | 'server';

export type ImpairmentSpec =
  | { kind: 'loss'; rate: number; burst: number; maxBurst?: number }
  | { kind: 'droplist'; indices: number[] }
  | { kind: 'corrupt'; rate: number; bytes: number; within?: number }
  | { kind: 'truncate'; rate: number; to?: number; fraction?: number }
  | { kind: 'duplicate'; rate: number; delayMs: number }
  | { kind: 'reorder'; rate: number; depth?: number; delayMs?: number }
  | { kind: 'jitter'; maxMs: number; distribution: 'uniform' | 'normal'; allowReorder: boolean }
  | { kind: 'blackhole'; windows: { fromMs: number; toMs: number }[] }
  | { kind: 'rebind'; atMs: number[]; change: 'port' | 'address' }
  | { kind: 'rate-limit'; bps: number; burstBytes: number };

/** An impairment and the packet kinds it applies to (undefined: all). */
export type Impairment = ImpairmentSpec & { only?: string[] };

/** TLS over TCP: byte-stream impairments (simulator/stream-impairments.ts); `connection` limits one to that connection. */
export type StreamImpairment =
  | { kind: 'split'; at?: number[]; every?: number; max?: number; connection?: number }
  | { kind: 'close'; after: number; connection?: number }
  | { kind: 'reset'; after: number; connection?: number };

export interface LinkSpec {
  delayMs: number;
  bandwidthBps: number;
  queue: number;
  mtu: number;
}

export interface NetworkSpec {
  link: LinkSpec;
  toServer: Impairment[];
  toClient: Impairment[];
  /** protocol tls: the byte-stream impairments per direction (the datagram lists stay empty). */
  stream: { toServer: StreamImpairment[]; toClient: StreamImpairment[] };
}

export type AlpnName = 'h3' | 'hq-interop' | 'echo' | 'http/1.1';

export interface EndpointSettings {
  /** The first preference (what self uses in virtual time). */
  alpn?: AlpnName;
  /** Every acceptable ALPN in preference order; real-peer pairs use the first both declare. */
  alpns?: AlpnName[];
  quicVersion?: 1 | 2;
  versions?: (1 | 2)[];
  cipherSuites?: string[];
  groups?: ('x25519' | 'secp256r1')[];
  cc?: 'newreno' | 'cubic' | 'bbr';
  /** Crypto backend of crosswire's own endpoint in virtual time (default node); real peers bring their own. */
  crypto?: 'node' | 'noble' | 'sodium';
  keyUpdate?: boolean;
  streamMode?: 'default' | 'multi';
  incomingStreams?: 'accept' | 'reject' | 'auto';
  acceptQueue?: number;
  idleTimeoutMs?: number;
  mtu?: number;
}

export interface ClientSettings extends EndpointSettings {
  connections: number;
  parallel: boolean;
  requests: { size: number; path?: string; count: number }[];
  messages: { text?: string; size?: number }[];
  resumption: boolean;
  zerortt: boolean;
  spoofedClientHellos: number;
  /** TLS: the client certificate presented when the server asks for one. */
  clientCertificate?: 'ec' | 'p384' | 'rsa' | 'ed25519';
}

export interface ServerSettings extends EndpointSettings {
  retry: boolean;
  cookie: boolean;
  certificate: 'ec' | 'p384' | 'rsa' | 'ed25519';
  zerortt: boolean;
  tickets: boolean;
  /** TLS: ask for (optional) or require a client certificate. */
  clientAuth?: 'none' | 'optional' | 'required';
}

export type Step =
  | { op: 'open-stream'; side: Side; name: string; type: 'bidi' | 'uni' }
  | { op: 'accept-stream'; side: Side; name: string; expect: 'accepted' | 'rejected' | 'none' }
  | { op: 'write'; side: Side; stream: string; data?: string; size?: number }
  | { op: 'conclude'; side: Side; stream: string }
  | { op: 'reset'; side: Side; stream: string; code: number }
  | { op: 'stop-sending'; side: Side; stream: string; code: number }
  | { op: 'expect-read'; side: Side; stream: string; data?: string; size?: number }
  | { op: 'expect-fin'; side: Side; stream: string }
  | { op: 'expect-reset'; side: Side; stream: string; code: number }
  | { op: 'expect-stop-sending'; side: Side; stream: string; code: number }
  | { op: 'expect-state'; side: Side; stream: string; read?: string; write?: string }
  | { op: 'shutdown'; side: Side; rapid: boolean; code: number; reason: string }
  | { op: 'expect-close-info'; side: Side; code?: number; reason?: string; remote?: boolean; transport?: boolean }
  | { op: 'wait'; until?: 'handshake' | 'idle' | 'closed'; ms: number }
  | { op: 'advance'; ms: number }
  | { op: 'key-update'; side: Side };

/** A step with where it came from, for error messages that point into the YAML. */
export type LocatedStep = Step & { line: number; col: number };

export interface Expectations {
  handshakes?: number;
  withinMs?: number;
  files?: 'identical';
  messages?: 'echoed';
  retry?: boolean;
  amplification?: 'respected';
  keyUpdates?: { client?: number; server?: number };
  dtlsCookie?: boolean;
  resumed?: boolean;
  zerortt?: 'accepted' | 'rejected';
  versions?: (1 | 2)[];
  version?: 1 | 2;
  goodputBps?: number;
  closeInfo?: { code?: number; reason?: string; transport?: boolean };
  maxServerStates?: number;
  cipherSuite?: string;
  /** TLS: a HelloRetryRequest on the wire (or none). */
  hrr?: boolean;
  /** TLS: a fatal alert of this name on the wire (optionally from this side), or 'none'. */
  alert?: { name: string; from?: Side } | 'none';
  /** TLS: the client authenticated with a certificate. */
  clientAuth?: boolean;
  verdict: 'passed' | 'failed';
}

export interface Scenario {
  name: string;
  file: string;
  protocol: Protocol;
  description: string;
  /** quic-interop-runner's TESTCASE for real peers (default: the name). */
  testcase: string;
  tags: string[];
  requires: string[];
  seed?: number;
  timeoutMs: number;
  network: NetworkSpec;
  client: ClientSettings;
  server: ServerSettings;
  steps: LocatedStep[];
  expect: Expectations;
}

export const DEFAULT_LINK: LinkSpec = { delayMs: 15, bandwidthBps: 10e6, queue: 25, mtu: 1500 };
