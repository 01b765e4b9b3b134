// The one interface every impairment implements, and the datagram-in-flight record they pass along the pipeline.

import type { Address } from '../../engine/endpoint.js';
import type { Classification, KindFilter } from '../classify.js';
import type { Uniform } from '../rng.js';
import type { Direction } from '../types.js';
import type { TraceEntry } from '../trace.js';

/** Something an impairment did to a datagram that still travels on (recorded in the trace entry). */
export type Effect = 'corrupted' | 'truncated' | 'duplicated' | 'reordered' | 'delayed' | 'rebound';

export interface InFlight {
  /** 1-based position among the datagrams the sender emitted in this direction. */
  readonly index: number;
  /** 0 for the original, n for the n-th duplicate. */
  readonly copy: number;
  readonly direction: Direction;
  data: Uint8Array;
  from: Address;
  to: Address;
  readonly sentAt: number;
  /** When the datagram reaches the link; delaying impairments push it later. */
  departAt: number;
  readonly classification: Classification;
  readonly entry: TraceEntry;
}

export interface StageContext {
  readonly now: number;
  readonly direction: Direction;
  /** This stage's draws for this datagram (stable per seed, direction, stage and index). */
  rng(d: InFlight): Uniform;
  /** Another stage's named stream for draws not tied to one datagram (e.g. the k-th rebinding). */
  rngAt(key: number): Uniform;
  /** A duplicate of `d` with its own trace entry (copy numbers start at 1). */
  duplicate(d: InFlight): InFlight;
}

/** 'drop' removes the datagram; otherwise the datagrams that continue now (possibly none while one is held back). */
export type StageResult = InFlight[] | 'drop';

export interface Impairment {
  /** The config key ('loss', 'reorder', …); drops show up as `dropped-by-${name}`. */
  readonly name: string;
  /** Rewrites addresses only (NAT rebinding): still applies to datagrams whose fate is forced to 'deliver'. */
  readonly addressOnly?: boolean;
  /** Datagrams that do not match pass through untouched and consume no draws. */
  readonly filter?: KindFilter;
  process(d: InFlight, ctx: StageContext): StageResult;
  /**
   * Sees a datagram the filter excluded (it must come back in the result, untouched), for impairments whose state
   * counts all traffic: a filtered reorder holds an Initial until N datagrams of any kind have passed it.
   */
  passBy?(d: InFlight, ctx: StageContext): InFlight[];
  /** Impairments that hold datagrams back report when the earliest one is due… */
  nextRelease?(): number | undefined;
  /** …and hand back those due by `now`. */
  release?(now: number, ctx: StageContext): InFlight[];
}

export function requireRate(name: string, rate: unknown): number {
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new RangeError(`${name}: rate must be a number in [0, 1], got ${String(rate)}`);
  return rate;
}

export function requireNonNegative(name: string, field: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name}: ${field} must be a non-negative number, got ${String(v)}`);
  return v;
}
