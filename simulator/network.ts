// The simulated path between one client and one server, independent of how time passes: each direction runs its
// impairment pipeline, then its link; the virtual-time runner and the real-time relay both drive it through
// `schedule`. Records the trace, the per-datagram fate decisions and applies forced fates (fateOverrides).

import type { Address } from '../engine/endpoint.js';
import { classify, matchesFilter, type ClassifyOptions } from './classify.js';
import { createImpairment, type ImpairmentSpec } from './impairments/index.js';
import type { Impairment, InFlight, StageContext } from './impairments/impairment.js';
import { DROPPED_MTU, Link, type LinkConfig } from './link.js';
import type { WireEvent, WireObserver } from './observers/observer.js';
import { RandomStream, streamName, type Uniform } from './rng.js';
import { arrivalFate, hashBytes, kindsOf, Trace, type TraceEntry } from './trace.js';
import * as units from './units.js';
import { DIRECTIONS, type Direction, type FateDecision, type FateOverrides } from './types.js';

export type LinkSpec = Partial<Record<keyof LinkConfig, number | string>>;

/** A network as scenarios write it (DESIGN.md §7). Numbers are ms, bit/s and bytes; strings may carry units. */
export interface NetworkConfig {
  /** Both directions' link, with optional per-direction overrides; `false` for none (the relay's default). */
  link?: (LinkSpec & { 'to-server'?: LinkSpec; 'to-client'?: LinkSpec }) | false;
  'to-server'?: (ImpairmentSpec | Impairment)[];
  'to-client'?: (ImpairmentSpec | Impairment)[];
}

export interface NetworkOptions {
  seed: string | number;
  protocol?: 'quic' | 'dtls';
  fateOverrides?: FateOverrides;
  observers?: WireObserver[];
  /** Runs `fn(now, arg)` at time `at` (never earlier than the current time). */
  schedule<T>(at: number, fn: (now: number, arg: T) => void, arg: T): void;
  /** A datagram arrives at its receiver. */
  deliver(direction: Direction, data: Uint8Array, from: Address, to: Address, now: number): void;
}

/** One impairment in one direction with its random streams; its context object is reused for every call. */
class Stage {
  readonly stream: RandomStream;
  readonly aux: RandomStream;
  readonly ctx: StageCtx;

  constructor(readonly impairment: Impairment, name: string, path: DirectionPath, trace: Trace) {
    this.stream = new RandomStream(name);
    this.aux = new RandomStream(`${name}/aux`);
    this.ctx = new StageCtx(this, path, trace);
  }
}

class StageCtx implements StageContext {
  now = 0;
  readonly direction: Direction;

  constructor(private readonly stage: Stage, private readonly path: DirectionPath, private readonly trace: Trace) {
    this.direction = path.direction;
  }

  rng(d: InFlight): Uniform {
    return this.stage.stream.at(d.index, d.copy);
  }

  rngAt(k: number): Uniform {
    return this.stage.aux.at(k);
  }

  duplicate(d: InFlight): InFlight {
    const copy = (this.path.copies.get(d.index) ?? 0) + 1;
    this.path.copies.set(d.index, copy);
    const e = d.entry;
    const entry = this.trace.add({
      time: this.now, direction: this.direction, index: d.index, copy, length: d.data.length, kind: e.kind, kinds: e.kinds,
      sha256: hashBytes(d.data), from: d.from, to: d.to, fate: 'in-flight', effects: ['duplicated'],
    });
    return { ...d, copy, data: d.data, entry };
  }
}

class DirectionPath {
  readonly stages: Stage[];
  readonly link: Link | undefined;
  sent = 0;
  copies = new Map<number, number>();
  releaseAt: number | undefined;
  /** Forced fates for this direction, if any were given. */
  forced: Map<number, 'drop' | 'deliver'> | undefined;
  /** Whether any stage can hold datagrams back (only then is a release event worth looking for). */
  readonly holds: boolean;

  constructor(readonly direction: Direction, specs: (ImpairmentSpec | Impairment)[], link: Partial<LinkConfig> | undefined, seed: string | number, trace: Trace) {
    const seen = new Map<string, number>();
    this.stages = specs.map((s) => {
      const impairment = createImpairment(s, direction);
      const k = seen.get(impairment.name) ?? 0;
      seen.set(impairment.name, k + 1);
      return new Stage(impairment, streamName(seed, direction, k, impairment.name), this, trace);
    });
    this.holds = this.stages.some((s) => s.impairment.nextRelease !== undefined);
    this.link = link ? new Link(link) : undefined;
  }
}

export class Network {
  readonly trace = new Trace();
  /** One decision per original datagram: delivered, or dropped by whom. Feed drops back through fateOverrides. */
  readonly decisions: FateDecision[] = [];
  private readonly paths: Record<Direction, DirectionPath>;
  /** Observers split by hook once, so the per-datagram loops call only those that listen. */
  private readonly onSend: WireObserver[];
  private readonly onDeliver: WireObserver[];
  private readonly classifyOptions: ClassifyOptions;
  // One handler per kind of event, taking the datagram as the event's argument: no closure per datagram.
  private readonly departs = (t: number, d: InFlight) => this.depart(d, t);
  private readonly arrives = (t: number, d: InFlight) => this.arrive(d, t);

  constructor(cfg: NetworkConfig, private readonly opts: NetworkOptions) {
    const linkFor = (d: Direction): Partial<LinkConfig> | undefined => {
      if (cfg.link === false) return undefined;
      const { 'to-server': a, 'to-client': b, ...both } = cfg.link ?? {};
      return parseLink({ ...both, ...(d === 'to-server' ? a : b) });
    };
    this.paths = {
      'to-server': new DirectionPath('to-server', cfg['to-server'] ?? [], linkFor('to-server'), opts.seed, this.trace),
      'to-client': new DirectionPath('to-client', cfg['to-client'] ?? [], linkFor('to-client'), opts.seed, this.trace),
    };
    for (const d of DIRECTIONS) {
      this.paths[d].forced = opts.fateOverrides?.get(d);
    }
    const observers = opts.observers ?? [];
    this.onSend = observers.filter((o) => o.onSend);
    this.onDeliver = observers.filter((o) => o.onDeliver);
    this.classifyOptions = opts.protocol ? { protocol: opts.protocol } : {};
  }

  /** Datagrams sent so far per direction. */
  sentCount(direction: Direction): number {
    return this.paths[direction].sent;
  }

  /** An endpoint emits a datagram at `now`. Returns its trace entry. */
  send(direction: Direction, data: Uint8Array, from: Address, to: Address, now: number): TraceEntry {
    const path = this.paths[direction];
    const index = ++path.sent;
    const classification = classify(data, this.classifyOptions);
    const entry = this.trace.push({
      seq: this.trace.entries.length, time: now, direction, index, copy: 0, length: data.length, kind: classification.kind,
      kinds: kindsOf(classification.packets, classification.kind), sha256: hashBytes(data), from, to, fate: 'in-flight', effects: [],
    });
    if (this.onSend.length) {
      const ev: WireEvent = { time: now, direction, from, to, data, classification, entry };
      for (let i = 0; i < this.onSend.length; i++) this.onSend[i]!.onSend!(ev);
    }
    const d: InFlight = { index, copy: 0, data, from, to, sentAt: now, departAt: now, classification, entry, direction };
    const forced = path.forced?.get(index);
    if (forced === 'drop') {
      this.drop(d, 'override');
      return entry;
    }
    // Without impairments nothing can delay a datagram or enter the link ahead of it at this instant, so it enters
    // the link now rather than through an event at `now` (one event per datagram fewer; same admission order).
    if (path.stages.length === 0) this.depart(d, now);
    else {
      this.runFrom(path, 0, d, now, forced === 'deliver');
      if (path.holds) this.armRelease(path, now);
    }
    return entry;
  }

  /** `forced`: the datagram's fate is fixed to 'deliver', so only address translation still applies. */
  private runFrom(path: DirectionPath, first: number, d: InFlight, now: number, forced = false): void {
    for (let i = first; i < path.stages.length; i++) {
      const stage = path.stages[i]!;
      const imp = stage.impairment;
      if (forced && !imp.addressOnly) continue;
      let out: InFlight[] | 'drop';
      const ctx = stage.ctx;
      ctx.now = now;
      if (!matchesFilter(d.classification, imp.filter)) {
        if (!imp.passBy) continue;
        out = imp.passBy(d, ctx);
      } else out = imp.process(d, ctx);
      if (out === 'drop') return this.drop(d, imp.name);
      for (const o of out) this.runFrom(path, i + 1, o, now, forced);
      return;
    }
    this.toLink(d);
  }

  private toLink(d: InFlight): void {
    this.opts.schedule(d.departAt, this.departs, d);
  }

  private depart(d: InFlight, t: number): void {
    const link = this.paths[d.direction].link;
    if (!link) return this.arrive(d, t);
    const arrival = link.admit(d.data.length, t);
    if (arrival < 0) {
      d.entry.fate = arrival === DROPPED_MTU ? 'mtu' : 'queue-overflow';
      if (d.copy === 0) this.decisions.push({ direction: d.direction, index: d.index, decision: 'drop', by: 'link' });
      return;
    }
    this.opts.schedule(arrival, this.arrives, d);
  }

  private arrive(d: InFlight, now: number): void {
    const e = d.entry;
    const direction = d.direction;
    e.arrivedAt = now;
    if (d.data.length !== e.length) e.arrivedLength = d.data.length;
    e.fate = arrivalFate(e);
    if (d.copy === 0) this.decisions.push({ direction, index: d.index, decision: 'deliver', by: 'network' });
    if (this.onDeliver.length) {
      const ev: WireEvent = { time: now, direction, from: d.from, to: d.to, data: d.data, classification: d.classification, entry: e };
      for (let i = 0; i < this.onDeliver.length; i++) this.onDeliver[i]!.onDeliver!(ev);
    }
    this.opts.deliver(direction, d.data, d.from, d.to, now);
  }

  private drop(d: InFlight, by: string): void {
    d.entry.fate = `dropped-by-${by}`;
    if (d.copy === 0) this.decisions.push({ direction: d.entry.direction, index: d.index, decision: 'drop', by });
  }

  /** Keeps one pending release event per direction, at the earliest hold deadline. */
  private armRelease(path: DirectionPath, now: number): void {
    let next: number | undefined;
    for (const s of path.stages) {
      const t = s.impairment.nextRelease?.();
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    if (next === undefined || (path.releaseAt !== undefined && path.releaseAt <= next)) return;
    path.releaseAt = next;
    this.opts.schedule(Math.max(next, now), (t) => {
      if (path.releaseAt !== next) return; // superseded by an earlier one
      path.releaseAt = undefined;
      path.stages.forEach((s, i) => {
        s.ctx.now = t;
        for (const o of s.impairment.release?.(t, s.ctx) ?? []) this.runFrom(path, i + 1, o, t);
      });
      this.armRelease(path, t);
    }, undefined);
  }
}

/** Forced fates that replay the given decisions (by default only the drops: everything else draws as usual). */
export function overridesFrom(decisions: readonly FateDecision[], keep: (d: FateDecision) => boolean = (d) => d.decision === 'drop'): FateOverrides {
  const out: FateOverrides = new Map(DIRECTIONS.map((d) => [d, new Map()]));
  for (const d of decisions) if (keep(d)) out.get(d.direction)!.set(d.index, d.decision);
  return out;
}

// ---------------------------------------------------------------- units

export function parseLink(spec: LinkSpec): Partial<LinkConfig> {
  const out: Partial<LinkConfig> = {};
  if (spec.delay !== undefined) out.delay = units.ms(spec.delay, 'link delay');
  if (spec.bandwidth !== undefined) out.bandwidth = units.bitsPerSecond(spec.bandwidth, 'link bandwidth');
  if (spec.queue !== undefined) out.queue = Number(spec.queue);
  if (spec.mtu !== undefined) out.mtu = units.bytes(spec.mtu, 'link mtu');
  if (spec.overhead !== undefined) out.overhead = units.bytes(spec.overhead, 'link overhead');
  return out;
}
