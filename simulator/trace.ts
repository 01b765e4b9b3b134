// The canonical trace (DESIGN.md §4): one entry per datagram (and per duplicate) with time, direction, length, kind,
// fate and SHA-256 of the bytes as sent; the SHA-256 of its canonical encoding is the run's fingerprint.

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

/** crypto.hash (node ≥ 20.12) skips the Hash object; older 20.x falls back to createHash. */
const oneShotHash = (nodeCrypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'hex') => string }).hash;

/**
 * SHA-256 hex of `b`. Every datagram of every run goes through it, so it is node's native one-shot hash: measured on
 * 1200-byte datagrams it costs about a fifth of noble's sha256 and skips createHash's object.
 */
export const hashBytes: (b: Uint8Array) => string = oneShotHash
  ? (b) => oneShotHash('sha256', b, 'hex')
  : (b) => nodeCrypto.createHash('sha256').update(b).digest('hex');

/** The fate of an entry that arrived: the most visible alteration wins. */
export function arrivalFate(e: TraceEntry): Fate {
  const fx = e.effects;
  if (fx.length === 0) return e.copy > 0 ? 'duplicated' : 'delivered';
  if (fx.includes('corrupted')) return 'corrupted';
  if (fx.includes('truncated')) return 'truncated';
  if (e.copy > 0) return 'duplicated';
  if (fx.includes('reordered')) return 'reordered';
  return 'delivered';
}

const ms = (t: number | undefined) => (t === undefined ? '-' : t.toFixed(3));

/** One line per entry; times rounded to microseconds so the text is the same on every platform. */
export function canonicalLine(e: TraceEntry, key: (a: Address) => string = addressKey): string {
  return `${ms(e.time)} ${e.direction} ${e.index} ${e.copy} ${e.length} ${e.kinds.length === 1 ? e.kinds[0] : e.kinds.join('+')} ${e.fate} ` +
    `${e.effects.length ? e.effects.join('+') : '-'} ${key(e.from)} ${key(e.to)} ${ms(e.arrivedAt)} ${e.arrivedLength ?? '-'} ${e.sha256}`;
}

/** The kinds array of a single-packet datagram, shared: most datagrams carry one packet, and entries never change it. */
const singleKinds = new Map<PacketKind, readonly PacketKind[]>();
export function kindsOf(packets: readonly { readonly kind: PacketKind }[], kind: PacketKind): readonly PacketKind[] {
  if (packets.length === 1 && packets[0]!.kind === kind) {
    let k = singleKinds.get(kind);
    if (!k) singleKinds.set(kind, (k = Object.freeze([kind])));
    return k;
  }
  return packets.map((p) => p.kind);
}

export class Trace {
  readonly entries: TraceEntry[] = [];

  /** Appends an entry built by the caller with `seq` = the current length (the network's per-datagram path). */
  push(e: TraceEntry): TraceEntry {
    if (e.seq !== this.entries.length) throw new RangeError(`trace: entry seq ${e.seq} where ${this.entries.length} was next`);
    this.entries.push(e);
    return e;
  }

  add(e: Omit<TraceEntry, 'seq'>): TraceEntry {
    const entry: TraceEntry = {
      seq: this.entries.length, time: e.time, direction: e.direction, index: e.index, copy: e.copy, length: e.length,
      kind: e.kind, kinds: e.kinds, sha256: e.sha256, from: e.from, to: e.to, fate: e.fate, effects: e.effects,
    };
    if (e.arrivedAt !== undefined) entry.arrivedAt = e.arrivedAt;
    if (e.arrivedLength !== undefined) entry.arrivedLength = e.arrivedLength;
    this.entries.push(entry);
    return entry;
  }

  /** The text form, one line per datagram (trace.txt): the same content traceHash() fingerprints. */
  text(): string {
    const keys = new AddressKeys();
    const key = (a: Address) => keys.key(a);
    let out = '';
    for (const e of this.entries) out += canonicalLine(e, key) + '\n';
    return out;
  }

  /**
   * The run's fingerprint: SHA-256 of the canonical binary encoding (see CanonicalEncoder), which carries exactly the
   * fields of text() without formatting a line per datagram.
   */
  hash(): string {
    const enc = new CanonicalEncoder(this.entries.length);
    for (const e of this.entries) enc.entry(e);
    return enc.digest();
  }

  /** Counts per fate, for summaries. */
  fates(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries) out[e.fate] = (out[e.fate] ?? 0) + 1;
    return out;
  }
}

/** addressKey() per distinct address; a run has a handful, but two per datagram in the text. */
class AddressKeys {
  private readonly byHost = new Map<string, Map<number, string>>();
  key(a: Address): string {
    let ports = this.byHost.get(a.host);
    if (!ports) this.byHost.set(a.host, (ports = new Map()));
    let k = ports.get(a.port);
    if (k === undefined) ports.set(a.port, (k = addressKey(a)));
    return k;
  }
}

/**
 * The canonical binary encoding of a trace ("crosswire-trace/2"): the header line; per entry 11 float64 fields
 * (little-endian) — time and arrival in µs (rounded; arrival -1 when none), index, copy × 2 + direction (0 to-server,
 * 1 to-client), length, arrived length (-1 when unchanged), and the numbers of its kinds, effects, fate, from and to
 * strings; then every entry's SHA-256 as 64 hex characters, in entry order; then the string table: each string
 * numbered in order of first use, as UTF-8 with a NUL after it. Numbering by first use makes the bytes a function of
 * the trace's content. It runs once per run over every entry, mostly before the JIT has warmed up, hence plain
 * indexed stores into a Float64Array and one string of digests copied out natively at the end.
 */
const FIELDS = 11;
const HEADER = 'crosswire-trace/2\n';
const bigEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

class CanonicalEncoder {
  private readonly f: Float64Array;
  private digests = '';
  private n = 0;
  private readonly ids = new Map<string, number>();
  private readonly addresses = new Map<string, Map<number, number>>();
  private lastAddress: Address | undefined;
  private lastAddressId = 0;

  constructor(entries: number) {
    this.f = new Float64Array(entries * FIELDS);
  }

  entry(e: TraceEntry): void {
    const f = this.f;
    const o = this.n * FIELDS;
    f[o] = Math.round(e.time * 1000);
    f[o + 1] = e.arrivedAt === undefined ? -1 : Math.round(e.arrivedAt * 1000);
    f[o + 2] = e.index;
    f[o + 3] = e.copy * 2 + (e.direction === 'to-server' ? 0 : 1);
    f[o + 4] = e.length;
    f[o + 5] = e.arrivedLength ?? -1;
    f[o + 6] = this.id(e.kinds.length === 1 ? e.kinds[0]! : e.kinds.join('+'));
    f[o + 7] = this.id(e.effects.length ? e.effects.join('+') : '-');
    f[o + 8] = this.id(e.fate);
    f[o + 9] = this.addressId(e.from);
    f[o + 10] = this.addressId(e.to);
    this.digests += e.sha256;
    this.n++;
  }

  /** SHA-256 (hex) of the encoding, fed in its parts rather than copied into one buffer first. */
  digest(): string {
    const fields = Buffer.from(this.f.buffer, 0, this.n * FIELDS * 8);
    if (bigEndianHost) fields.swap64();
    const table = [...this.ids.keys()].join('\0') + '\0';
    return nodeCrypto.createHash('sha256').update(HEADER, 'latin1').update(fields).update(this.digests, 'latin1').update(table, 'utf8').digest('hex');
  }

  private id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) this.ids.set(s, (id = this.ids.size));
    return id;
  }

  private addressId(a: Address): number {
    if (a === this.lastAddress) return this.lastAddressId;
    let ports = this.addresses.get(a.host);
    if (!ports) this.addresses.set(a.host, (ports = new Map()));
    let id = ports.get(a.port);
    if (id === undefined) ports.set(a.port, (id = this.id(addressKey(a))));
    this.lastAddress = a;
    this.lastAddressId = id;
    return id;
  }
}
