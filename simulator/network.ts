// The simulated path between one client and one server, independent of how time passes: each direction runs its
// impairment pipeline, then its link; the virtual-time runner and the real-time relay both drive it through
// `schedule`. Records the trace, the per-datagram fate decisions and applies forced fates (fateOverrides).

import type { Address } from '../engine/endpoint.js';
import { classify, matchesFilter } from './classify.js';
import { createImpairment, type ImpairmentSpec } from './impairments/index.js';
import type { Impairment, InFlight, StageContext } from './impairments/impairment.js';
import { Link, type LinkConfig } from './link.js';
import type { WireEvent, WireObserver } from './observers/observer.js';
import { RandomStream, streamName } from './rng.js';
import { arrivalFate, hashBytes, Trace, type TraceEntry } from './trace.js';
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
  /** Runs `fn` at time `at` (never earlier than the current time). */
  schedule(at: number, fn: (now: number) => void): void;
  /** A datagram arrives at its receiver. */
  deliver(direction: Direction, data: Uint8Array, from: Address, to: Address, now: number): void;
}

interface Stage {
  impairment: Impairment;
  stream: RandomStream;
  aux: RandomStream;
}

class DirectionPath {
  readonly stages: Stage[];
  readonly link: Link | undefined;
  sent = 0;
  copies = new Map<number, number>();
  releaseAt: number | undefined;

  constructor(readonly direction: Direction, specs: (ImpairmentSpec | Impairment)[], link: Partial<LinkConfig> | undefined, seed: string | number) {
    const seen = new Map<string, number>();
    this.stages = specs.map((s) => {
      const impairment = createImpairment(s, direction);
      const k = seen.get(impairment.name) ?? 0;
      seen.set(impairment.name, k + 1);
      const name = streamName(seed, direction, k, impairment.name);
      return { impairment, stream: new RandomStream(name), aux: new RandomStream(`${name}/aux`) };
    });
    this.link = link ? new Link(link) : undefined;
  }
}

export class Network {
  readonly trace = new Trace();
  /** One decision per original datagram: delivered, or dropped by whom. Feed drops back through fateOverrides. */
  readonly decisions: FateDecision[] = [];
  private readonly paths: Record<Direction, DirectionPath>;
  private readonly observers: WireObserver[];

  constructor(cfg: NetworkConfig, private readonly opts: NetworkOptions) {
    const linkFor = (d: Direction): Partial<LinkConfig> | undefined => {
      if (cfg.link === false) return undefined;
      const { 'to-server': a, 'to-client': b, ...both } = cfg.link ?? {};
      return parseLink({ ...both, ...(d === 'to-server' ? a : b) });
    };
    this.paths = {
      'to-server': new DirectionPath('to-server', cfg['to-server'] ?? [], linkFor('to-server'), opts.seed),
      'to-client': new DirectionPath('to-client', cfg['to-client'] ?? [], linkFor('to-client'), opts.seed),
    };
    this.observers = opts.observers ?? [];
  }

  /** Datagrams sent so far per direction. */
  sentCount(direction: Direction): number {
    return this.paths[direction].sent;
  }

  /** An endpoint emits a datagram at `now`. Returns its trace entry. */
  send(direction: Direction, data: Uint8Array, from: Address, to: Address, now: number): TraceEntry {
    const path = this.paths[direction];
    const index = ++path.sent;
    const classification = classify(data, this.opts.protocol ? { protocol: this.opts.protocol } : {});
    const entry = this.trace.add({
      time: now, direction, index, copy: 0, length: data.length, kind: classification.kind,
      kinds: classification.packets.map((p) => p.kind), sha256: hashBytes(data), from, to, fate: 'in-flight', effects: [],
    });
    this.emit('onSend', { time: now, direction, from, to, data, classification, entry });
    const d: InFlight = { index, copy: 0, data, from, to, sentAt: now, departAt: now, classification, entry };
    const forced = this.opts.fateOverrides?.get(direction)?.get(index);
    if (forced === 'drop') {
      this.drop(d, 'override');
      return entry;
    }
    this.runFrom(path, 0, d, now, forced === 'deliver');
    this.armRelease(path, now);
    return entry;
  }

  private ctx(path: DirectionPath, stage: Stage, now: number): StageContext {
    return {
      now,
      direction: path.direction,
      rng: (d) => stage.stream.at(d.index, d.copy),
      rngAt: (k) => stage.aux.at(k),
      duplicate: (d) => {
        const copy = (path.copies.get(d.index) ?? 0) + 1;
        path.copies.set(d.index, copy);
        const e = d.entry;
        const entry = this.trace.add({
          time: now, direction: path.direction, index: d.index, copy, length: d.data.length, kind: e.kind, kinds: e.kinds,
          sha256: hashBytes(d.data), from: d.from, to: d.to, fate: 'in-flight', effects: ['duplicated'],
        });
        return { ...d, copy, data: d.data, entry };
      },
    };
  }

  /** `forced`: the datagram's fate is fixed to 'deliver', so only address translation still applies. */
  private runFrom(path: DirectionPath, first: number, d: InFlight, now: number, forced = false): void {
    for (let i = first; i < path.stages.length; i++) {
      const stage = path.stages[i]!;
      if (forced && !stage.impairment.addressOnly) continue;
      let out: InFlight[] | 'drop';
      if (!matchesFilter(d.classification, stage.impairment.filter)) {
        if (!stage.impairment.passBy) continue;
        out = stage.impairment.passBy(d, this.ctx(path, stage, now));
      } else out = stage.impairment.process(d, this.ctx(path, stage, now));
      if (out === 'drop') return this.drop(d, stage.impairment.name);
      for (const o of out) this.runFrom(path, i + 1, o, now, forced);
      return;
    }
    this.toLink(path, d);
  }

  private toLink(path: DirectionPath, d: InFlight): void {
    this.opts.schedule(d.departAt, (t) => {
      if (!path.link) return this.arrive(path, d, t);
      const r = path.link.enter(d.data.length, t);
      if ('dropped' in r) {
        d.entry.fate = r.dropped;
        if (d.copy === 0) this.decisions.push({ direction: path.direction, index: d.index, decision: 'drop', by: 'link' });
        return;
      }
      this.opts.schedule(r.arrival, (at) => this.arrive(path, d, at));
    });
  }

  private arrive(path: DirectionPath, d: InFlight, now: number): void {
    const e = d.entry;
    e.arrivedAt = now;
    if (d.data.length !== e.length) e.arrivedLength = d.data.length;
    e.fate = arrivalFate(e);
    if (d.copy === 0) this.decisions.push({ direction: path.direction, index: d.index, decision: 'deliver', by: 'network' });
    this.emit('onDeliver', { time: now, direction: path.direction, from: d.from, to: d.to, data: d.data, classification: d.classification, entry: e });
    this.opts.deliver(path.direction, d.data, d.from, d.to, now);
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
        for (const o of s.impairment.release?.(t, this.ctx(path, s, t)) ?? []) this.runFrom(path, i + 1, o, t);
      });
      this.armRelease(path, t);
    });
  }

  private emit(hook: 'onSend' | 'onDeliver', ev: WireEvent): void {
    for (const o of this.observers) o[hook]?.(ev);
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
