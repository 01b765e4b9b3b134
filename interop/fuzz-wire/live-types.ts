// Shared shapes of wire fuzzing against real peers (interop/fuzz-wire/live.ts): what one input records, and what a
// protocol driver (live-quic.ts, live-tls.ts) provides.

import type { Draw } from './rng.js';

export interface InputContext {
  /** The seeded stream name of this input (or liveness check). */
  readonly name: string;
  /** The peer's port on 127.0.0.1. */
  readonly port: number;
  readonly alpn: string;
  /** DER of the CA that issued the peer's certificate. */
  readonly ca: Uint8Array;
  /** An input ends when nothing moved this long after its mutation. */
  readonly quietMs: number;
  /** An input ends after this long whatever happens. */
  readonly maxMs: number;
  /** How long the socket of an abandoned input keeps counting what the peer sends after the input ended (others: ≤ 1 s). */
  readonly lingerMs: number;
}

/** Which of our datagrams/chunks is mutated, how it is sent, and how many stacked edits. */
export interface LivePlan {
  readonly k: number;
  /** replace: only the mutated copy goes out; inject: the genuine one, then the mutated one; abandon: the mutated one, then nothing. */
  readonly mode: 'replace' | 'inject' | 'abandon';
  readonly count: number;
}

export interface LiveInput {
  readonly index: number;
  readonly plan: LivePlan;
  mutations: string[];
  /** Index of the datagram/chunk that was mutated (undefined: the connection ended before it). */
  datagram?: number;
  original?: string;
  mutated?: string;
  /** What the peer did: peer-close:transport:0xa, alert:50, completed, silence, stalled, answered, ... */
  reaction: string;
  peerDatagrams: number;
  /** Datagrams that reached this input's socket but carried another connection's CID (a reused port): ignored. */
  strays?: number;
  /** Bytes we sent to the peer (rx, as the peer received them) and it sent to us (tx) before our address was validated. */
  amplification: { rx: number; tx: number; validatedAfterMs?: number; txLog?: [number, number][] };
  /**
   * Whether a replay sends the very same mutated bytes (default: when the mutated datagram is our first, which comes
   * from our seeded engine alone). Client role: never, our server's first flight answers the peer's random Initial.
   */
  exact?: boolean;
  /** Exceptions our own engine threw while talking to the peer. */
  engineErrors: string[];
}

export interface LiveDriver {
  readonly protocol: 'quic' | 'tls' | 'dtls';
  /** TESTCASE the peer's server is started with (default handshake); dtls: fuzz-wire, one long-lived server process. */
  readonly testcase?: string;
  /** Bytes the peer may send an unvalidated address per byte received (default 3, RFC 9000 §8.1). */
  readonly amplificationLimit?: number;
  plan(r: Draw): LivePlan;
  /** Runs one input; resolves when the input is over, with a promise for the end of its linger window (a field: a
   * promise resolved with a promise would wait for both). */
  input(ctx: InputContext, r: Draw, plan: LivePlan, record: LiveInput): Promise<{ linger: Promise<void> }>;
  /** A clean handshake (no mutation) within timeoutMs: the liveness check. */
  handshake(ctx: InputContext, timeoutMs: number): Promise<{ ok: boolean; detail: string; ms: number }>;
}
