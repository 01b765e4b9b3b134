// Stream impairments for TLS over TCP (RFC 9293 byte streams; DESIGN.md §4, §7): per direction and per connection,
// the bytes a sender writes are split into segments at chosen boundaries, carried over a FIFO link (delay +
// bandwidth; TCP never loses or reorders what the application sees) and optionally cut after N bytes with a FIN
// (truncation) or a RST. Shared by the virtual-time stream pipe and the real-time TCP relay, so both impair alike.

import { RandomStream } from './rng.js';
import type { Direction } from './types.js';
import * as units from './units.js';

/** One stream impairment as scenarios write it; `connection` (1-based) limits it to that connection. */
export type StreamImpairmentSpec =
  | { split: { at?: number[]; every?: number; max?: number; connection?: number } }
  | { close: { after: number; connection?: number } }
  | { reset: { after: number; connection?: number } };

export interface StreamNetworkConfig {
  /** One-way delay in ms (or a string with a unit). */
  delay?: number | string;
  /** Bits per second (or a string with a unit); absent or Infinity: no serialisation time. */
  bandwidth?: number | string;
  'to-server'?: StreamImpairmentSpec[];
  'to-client'?: StreamImpairmentSpec[];
}

/** IPv4 + TCP header bytes counted per segment for serialisation time. */
export const SEGMENT_OVERHEAD = 40;

export interface Segment {
  /** Stream offset of the first byte in this direction of this connection. */
  readonly offset: number;
  readonly data: Uint8Array;
  /** A split boundary (not the sender's write boundary) started this segment. */
  readonly split: boolean;
}

export interface StreamCut {
  readonly kind: 'close' | 'reset';
  /** Bytes of this direction that still get through. */
  readonly after: number;
}

export interface Shaped {
  /** What goes on (after the cut, nothing). */
  readonly segments: Segment[];
  /** Set once, for the call in which the stream reached its cut. */
  readonly cut?: StreamCut;
  /** Bytes thrown away because the direction was already cut (or got cut in this call). */
  readonly dropped: number;
}

const applies = (conn: number, only: number | undefined) => only === undefined || only === conn;

/**
 * One direction of one connection: turns each write into segments and applies the cut. Deterministic: boundaries
 * from `split.max` come from the named stream `${seed}/${direction}/c${conn}/split`, keyed by segment number.
 */
export class DirectionShaper {
  offset = 0;
  /** Set when the cut was reached: nothing more passes. */
  cutDone: StreamCut | undefined;
  private readonly fixed: number[] = [];
  private readonly every: number[] = [];
  private readonly random: { max: number; stream: RandomStream; next: number; k: number }[] = [];
  private readonly cut: StreamCut | undefined;

  constructor(specs: readonly StreamImpairmentSpec[], readonly direction: Direction, readonly connection: number, seed: string | number) {
    let cut: StreamCut | undefined;
    specs.forEach((s, i) => {
      if ('split' in s) {
        const v = s.split;
        if (!applies(connection, v.connection)) return;
        for (const a of v.at ?? []) if (a > 0) this.fixed.push(a);
        if (v.every !== undefined) {
          if (!(v.every >= 1)) throw new RangeError(`split: every must be ≥ 1 byte, got ${v.every}`);
          this.every.push(Math.floor(v.every));
        }
        if (v.max !== undefined) {
          if (!(v.max >= 1)) throw new RangeError(`split: max must be ≥ 1 byte, got ${v.max}`);
          const stream = new RandomStream(`${seed}/${direction}/c${connection}/${i}:split`);
          const r = { max: Math.floor(v.max), stream, next: 0, k: 0 };
          r.next = this.draw(r);
          this.random.push(r);
        }
      } else {
        const kind = 'close' in s ? 'close' : 'reset';
        const v = 'close' in s ? s.close : s.reset;
        if (!applies(connection, v.connection)) return;
        if (!(v.after >= 0)) throw new RangeError(`${kind}: after must be ≥ 0 bytes, got ${v.after}`);
        if (!cut || v.after < cut.after) cut = { kind, after: Math.floor(v.after) };
      }
    });
    this.fixed.sort((a, b) => a - b);
    this.cut = cut;
  }

  /** The cut this direction is configured with (for the trace and tests). */
  get plannedCut(): StreamCut | undefined {
    return this.cut;
  }

  private draw(r: { max: number; stream: RandomStream; next: number; k: number }): number {
    const u = r.stream.at(++r.k)();
    return r.next + 1 + Math.floor(u * r.max);
  }

  /** The smallest split boundary strictly inside (from, to), if any. */
  private nextBoundary(from: number, to: number): number | undefined {
    let best: number | undefined;
    for (const a of this.fixed) {
      if (a > from) {
        if (a < to) best = a;
        break;
      }
    }
    for (const e of this.every) {
      const b = (Math.floor(from / e) + 1) * e;
      if (b < to && (best === undefined || b < best)) best = b;
    }
    for (const r of this.random) {
      while (r.next <= from) r.next = this.draw(r);
      if (r.next < to && (best === undefined || r.next < best)) best = r.next;
    }
    return best;
  }

  /** Whether this direction may split or cut at all (the relay can pass bytes straight through otherwise). */
  get passive(): boolean {
    return !this.fixed.length && !this.every.length && !this.random.length && !this.cut;
  }

  shape(chunk: Uint8Array): Shaped {
    if (this.cutDone) {
      this.offset += chunk.length;
      return { segments: [], dropped: chunk.length };
    }
    const start = this.offset;
    let end = start + chunk.length;
    let cut: StreamCut | undefined;
    let dropped = 0;
    if (this.cut && end >= this.cut.after) {
      // A cut at exactly the end of this write still happens now: the next byte would cross it.
      cut = this.cut;
      dropped = end - this.cut.after;
      end = this.cut.after;
      this.cutDone = cut;
    }
    const segments: Segment[] = [];
    let pos = start;
    let split = false;
    while (pos < end) {
      const b = this.nextBoundary(pos, end) ?? end;
      segments.push({ offset: pos, data: chunk.subarray(pos - start, b - start), split });
      split = true;
      pos = b;
    }
    this.offset = start + chunk.length;
    return cut ? { segments, cut, dropped } : { segments, dropped };
  }
}

/** One direction's FIFO bottleneck: serialisation at `bandwidth`, then `delay`. Arrival times never decrease. */
export class StreamLink {
  private busyUntil = -Infinity;
  private lastArrival = -Infinity;

  constructor(readonly delay: number, readonly bandwidth: number) {
    if (!(delay >= 0)) throw new RangeError(`stream link: delay must be ≥ 0 ms, got ${delay}`);
    if (!(bandwidth > 0)) throw new RangeError(`stream link: bandwidth must be > 0 bit/s, got ${bandwidth}`);
  }

  /** A segment of `bytes` payload (0: FIN/RST/SYN) enters at `t`; returns its arrival time. */
  admit(bytes: number, t: number): number {
    const start = t > this.busyUntil ? t : this.busyUntil;
    const tx = Number.isFinite(this.bandwidth) ? ((bytes + SEGMENT_OVERHEAD) * 8 * 1000) / this.bandwidth : 0;
    this.busyUntil = start + tx;
    const arrival = Math.max(this.busyUntil + this.delay, this.lastArrival);
    this.lastArrival = arrival;
    return arrival;
  }
}

/** Parsed delay and bandwidth of a stream network (defaults: none). */
export function streamLinkOf(cfg: StreamNetworkConfig): { delay: number; bandwidth: number } {
  return {
    delay: cfg.delay === undefined ? 0 : units.ms(cfg.delay, 'stream delay'),
    bandwidth: cfg.bandwidth === undefined ? Infinity : units.bitsPerSecond(cfg.bandwidth, 'stream bandwidth'),
  };
}

// ------------------------------------------------------------------------------------------------ record kinds

const HANDSHAKE_KIND: Record<number, string> = { 1: 'client-hello', 2: 'server-hello' };
/** SHA-256("HelloRetryRequest"): the ServerHello random of a HelloRetryRequest (RFC 8446 §4.1.3). */
export const HRR_RANDOM = Uint8Array.from(
  'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c'.match(/../g)!.map((h) => parseInt(h, 16)),
);

/**
 * Names the TLS records that start in each chunk of one direction's byte stream, for the trace's kind column:
 * client-hello, server-hello, hello-retry-request, handshake, ccs, alert, appdata (every protected record), or
 * `cont` for a chunk that only continues a record. Reads the record header and the first bytes of plaintext
 * handshake records; never decrypts.
 */
export class RecordKinds {
  private header: number[] = [];
  private left = 0;
  /** First bytes of the current record's body (to name plaintext handshake messages). */
  private peek: number[] = [];
  private type = 0;
  private pendingName = false;

  kinds(chunk: Uint8Array): string[] {
    const out: string[] = [];
    let i = 0;
    // A record whose name waits for more body bytes (a ServerHello split before its random) is named in this chunk.
    while (i < chunk.length) {
      if (this.left > 0) {
        const take = Math.min(this.left, chunk.length - i);
        if (this.pendingName) {
          for (let k = 0; k < take && this.peek.length < 38; k++) this.peek.push(chunk[i + k]!);
          const name = this.name();
          if (name) {
            out.push(name);
            this.pendingName = false;
          }
        }
        this.left -= take;
        i += take;
        if (this.left === 0 && this.pendingName) {
          out.push(this.type === 22 ? 'handshake' : 'unknown');
          this.pendingName = false;
        }
        continue;
      }
      this.header.push(chunk[i++]!);
      if (this.header.length === 5) {
        this.type = this.header[0]!;
        this.left = (this.header[3]! << 8) | this.header[4]!;
        this.header = [];
        this.peek = [];
        if (this.type === 22) this.pendingName = true;
        else out.push(this.type === 20 ? 'ccs' : this.type === 21 ? 'alert' : this.type === 23 ? 'appdata' : `type-${this.type}`);
        if (this.left === 0 && this.pendingName) {
          out.push('handshake');
          this.pendingName = false;
        }
      }
    }
    return out.length ? out : ['cont'];
  }

  /** The handshake message's name once enough body bytes are known (38 for a ServerHello's random). */
  private name(): string | undefined {
    const p = this.peek;
    if (p.length < 1) return undefined;
    const t = p[0]!;
    if (t !== 2) return HANDSHAKE_KIND[t] ?? 'handshake';
    if (p.length < 38) return undefined;
    const random = p.slice(6, 38);
    return random.every((b, k) => b === HRR_RANDOM[k]) ? 'hello-retry-request' : 'server-hello';
  }
}
