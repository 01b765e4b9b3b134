// The canonical trace (DESIGN.md §4): one entry per datagram (and per duplicate) with time, direction, length, kind,
// fate and SHA-256 of the bytes as sent; the SHA-256 of its canonical text is the run's fingerprint.

import * as nodeCrypto from 'node:crypto';
import type { Address } from '../engine/endpoint.js';
import { addressKey } from '../engine/endpoint.js';
import type { Effect } from './impairments/impairment.js';
import type { Direction, Fate, PacketKind } from './types.js';

export interface TraceEntry {
  /** Order of creation: the trace is sorted by it. */
  readonly seq: number;
  /** When the sender emitted it (ms, virtual or since the relay started). */
  readonly time: number;
  readonly direction: Direction;
  readonly index: number;
  readonly copy: number;
  readonly length: number;
  readonly kind: PacketKind;
  /** Kinds of every coalesced packet/record, first one first. */
  readonly kinds: readonly PacketKind[];
  /** SHA-256 (hex) of the bytes as sent. */
  readonly sha256: string;
  from: Address;
  readonly to: Address;
  fate: Fate;
  readonly effects: Effect[];
  arrivedAt?: number;
  /** Length on arrival when an impairment changed it. */
  arrivedLength?: number;
}

/** SHA-256 hex of `b`; node's native hash, since every datagram of every run goes through it. */
export function hashBytes(b: Uint8Array): string {
  return oneShotHash ? oneShotHash('sha256', b, 'hex') : nodeCrypto.createHash('sha256').update(b).digest('hex');
}

/** crypto.hash (node ≥ 20.12) skips the Hash object; older 20.x falls back to createHash. */
const oneShotHash = (nodeCrypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'hex') => string }).hash;

/** The fate of an entry that arrived: the most visible alteration wins. */
export function arrivalFate(e: TraceEntry): Fate {
  if (e.effects.includes('corrupted')) return 'corrupted';
  if (e.effects.includes('truncated')) return 'truncated';
  if (e.copy > 0) return 'duplicated';
  if (e.effects.includes('reordered')) return 'reordered';
  return 'delivered';
}

const ms = (t: number | undefined) => (t === undefined ? '-' : t.toFixed(3));

/** One line per entry; times rounded to microseconds so the text is the same on every platform. */
export function canonicalLine(e: TraceEntry): string {
  return [ms(e.time), e.direction, e.index, e.copy, e.length, e.kinds.join('+'), e.fate, e.effects.join('+') || '-',
    addressKey(e.from), addressKey(e.to), ms(e.arrivedAt), e.arrivedLength ?? '-', e.sha256].join(' ');
}

export class Trace {
  readonly entries: TraceEntry[] = [];

  add(e: Omit<TraceEntry, 'seq'>): TraceEntry {
    const entry = { ...e, seq: this.entries.length } as TraceEntry;
    this.entries.push(entry);
    return entry;
  }

  /** The canonical text, one line per datagram; what traceHash() hashes. */
  text(): string {
    return this.entries.map(canonicalLine).join('\n') + '\n';
  }

  /** SHA-256 of the canonical text; pass the text when already built (it is the bulk of the cost on long runs). */
  hash(text = this.text()): string {
    return hashBytes(new TextEncoder().encode(text));
  }

  /** Counts per fate, for summaries. */
  fates(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries) out[e.fate] = (out[e.fate] ?? 0) + 1;
    return out;
  }
}
