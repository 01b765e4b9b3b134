// Per-run data the report inlines, in two gzipped + base64 blobs per run: the plot data (fate counts, goodput over
// time from the trace, recovery metrics from qlog files) and the datagrams of the trace for the sequence diagram
// (capped, compact columns). The browser inflates a run's blobs when its details open (DecompressionStream), so the
// page loads fast. Every file is read within a byte budget (bounded-read.ts): the trace up to `traceBytes` in one
// pass, qlogs whole when small and sampled when large (qlog.ts); capture.pcapng is never read (the trace has the
// datagrams and their fates).

import { readHead } from './bounded-read.js';
import { pickQlogSeries, type QlogSeries } from './qlog.js';

export { qlogMetrics, type QlogSeries } from './qlog.js';
import { gzipSync } from 'node:zlib';

/** One trace.txt line (simulator/trace.ts canonicalLine): the fields the report uses. */
export interface TraceRow {
  time: number;
  toClient: boolean;
  index: number;
  copy: number;
  length: number;
  kinds: string;
  fate: string;
  effects: string;
  arrivedAt?: number;
  arrivedLength?: number;
}

const DROPPED = /^dropped-by-|^queue-overflow$|^mtu$/;
export const isDroppedFate = (f: string): boolean => DROPPED.test(f);

export interface Goodput {
  binMs: number;
  /** kbit/s per bin of arrival time: bytes the client received. */
  kbps: number[];
}

export interface TraceScan {
  /** Datagrams in the trace. */
  total: number;
  fates: Record<string, number>;
  /** The first `cap` datagrams, parsed in full. */
  head: TraceRow[];
  goodput?: Goodput;
  /** Set when only the head of trace.txt was read (the byte budget): bytes read and the file's size. Counts, fates
   * and goodput then cover those bytes only. */
  partial?: { bytes: number; size: number };
}

/** Parses one line: `time direction index copy length kinds fate effects from to arrivedAt arrivedLength sha256`. */
function parseLine(line: string): TraceRow | undefined {
  const f = line.split(' ');
  if (f.length < 12) return undefined;
  const row: TraceRow = {
    time: Number(f[0]),
    toClient: f[1] === 'to-client',
    index: Number(f[2]),
    copy: Number(f[3]),
    length: Number(f[4]),
    kinds: f[5]!,
    fate: f[6]!,
    effects: f[7] === '-' ? '' : f[7]!,
  };
  if (f[10] !== '-') row.arrivedAt = Number(f[10]);
  if (f[11] !== '-') row.arrivedLength = Number(f[11]);
  return row;
}

/**
 * One pass over trace.txt: the first `cap` lines in full, and for every line its fate and (to the client) the
 * arrival time and size for goodput — found by walking the spaces, without splitting the line.
 */
export function scanTrace(text: string, cap: number): TraceScan {
  const head: TraceRow[] = [];
  const fates: Record<string, number> = {};
  const arrivals: number[] = [];
  const bytes: number[] = [];
  const sp = new Int32Array(12);
  let total = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    if (end - pos > 20) {
      if (total < cap) {
        const row = parseLine(text.slice(pos, end));
        if (row) {
          head.push(row);
          total++;
          fates[row.fate] = (fates[row.fate] ?? 0) + 1;
          if (row.toClient && row.arrivedAt !== undefined && !isDroppedFate(row.fate)) {
            arrivals.push(row.arrivedAt);
            bytes.push(row.arrivedLength ?? row.length);
          }
        }
      } else {
        // spaces after: time, direction, index, copy, length, kinds, fate, effects, from, to, arrivedAt, arrivedLength
        let p = pos;
        let k = 0;
        for (; k < 12; k++) {
          p = text.indexOf(' ', p);
          if (p < 0 || p > end) break;
          sp[k] = p++;
        }
        if (k === 12) {
          total++;
          const fate = text.slice(sp[5]! + 1, sp[6]!);
          fates[fate] = (fates[fate] ?? 0) + 1;
          // direction "to-client" / "to-server": the fourth character tells them apart
          if (text.charCodeAt(sp[0]! + 4) === 99 /* c */ && text.charCodeAt(sp[9]! + 1) !== 45 /* - */ && !isDroppedFate(fate)) {
            arrivals.push(Number(text.slice(sp[9]! + 1, sp[10]!)));
            const al = text.slice(sp[10]! + 1, sp[11]!);
            bytes.push(al === '-' ? Number(text.slice(sp[3]! + 1, sp[4]!)) : Number(al));
          }
        }
      }
    }
    pos = end + 1;
  }
  const scan: TraceScan = { total, fates, head };
  const g = binGoodput(arrivals, bytes);
  if (g) scan.goodput = g;
  return scan;
}

/** Bytes that reached the client per time bin (100 ms, wider for long runs so there are at most 2,000 bins). */
export function binGoodput(arrivals: number[], bytes: number[]): Goodput | undefined {
  let last = 0;
  for (const a of arrivals) if (a > last) last = a;
  if (last <= 0) return undefined;
  let binMs = 100;
  for (const w of [100, 200, 500, 1000, 2000, 5000, 10000, 60000]) {
    binMs = w;
    if (last / w <= 2000) break;
  }
  const bins = new Array<number>(Math.floor(last / binMs) + 1).fill(0);
  for (let i = 0; i < arrivals.length; i++) bins[Math.floor(arrivals[i]! / binMs)]! += bytes[i]!;
  // bytes per bin → kbit/s
  return { binMs, kbps: bins.map((b) => Math.round((b * 8) / binMs)) };
}

/** The plot blob of a run. */
export interface PlotPayload {
  total: number;
  fates: Record<string, number>;
  goodput?: Goodput;
  qlog: QlogSeries[];
  /** qlog files that could hold metrics but were not plotted, and why. */
  qn?: string[];
  /** Only the head of trace.txt was read: [bytes read, file size]; total, fates and goodput cover that part. */
  tp?: [number, number];
}

/** The datagram blob of a run: columns, one entry per inlined datagram. */
export interface TracePayload {
  /** Datagrams in the trace, and how many are inlined. */
  total: number;
  shown: number;
  fates: Record<string, number>;
  /** String table for kinds, fates and effects. */
  s: string[];
  /** send time (µs, delta from the previous), direction (1 = to client), index, copy, length, kinds / fate / effects
   * (string table), arrival (µs after sending, -1 none), arrived length (-1 unchanged) */
  t: number[];
  d: number[];
  i: number[];
  c: number[];
  l: number[];
  k: number[];
  f: number[];
  e: number[];
  a: number[];
  al: number[];
  /** As PlotPayload.tp: `total` counts the datagrams in the part of trace.txt that was read. */
  tp?: [number, number];
}

export interface RunData {
  scan?: TraceScan;
  qlog: QlogSeries[];
  /** qlog files not plotted, and why. */
  skipped: string[];
}

/** Bytes of trace.txt read per run (16 MB, about 120,000 datagrams): the diagram shows at most a few thousand, and
 * fates and goodput of a longer trace come from this head. */
export const TRACE_BYTES = 16 << 20;

/** Reads at most `maxBytes` of trace.txt and scans it. */
export function readTrace(path: string, cap: number, maxBytes = TRACE_BYTES): TraceScan {
  const h = readHead(path, maxBytes);
  const scan = scanTrace(h.text, cap);
  if (!h.complete) scan.partial = { bytes: h.bytes, size: h.size };
  return scan;
}

/** Reads a run's trace (the first `cap` datagrams in full) and picks its qlog files to plot; missing files are
 * skipped. */
export function readRunData(
  tracePath: string | undefined,
  qlogPaths: { path: string; name: string }[],
  opts: { cap: number; maxPoints: number; traceBytes?: number },
): RunData {
  let scan: TraceScan | undefined;
  if (tracePath) {
    try {
      scan = readTrace(tracePath, opts.cap, opts.traceBytes);
    } catch {
      scan = undefined;
    }
  }
  const { series, skipped } = pickQlogSeries(qlogPaths, opts.maxPoints);
  const data: RunData = { qlog: series, skipped };
  if (scan) data.scan = scan;
  return data;
}

export function plotPayload(data: RunData): PlotPayload {
  const p: PlotPayload = { total: data.scan?.total ?? 0, fates: data.scan?.fates ?? {}, qlog: data.qlog };
  if (data.scan?.goodput) p.goodput = data.scan.goodput;
  if (data.scan?.partial) p.tp = [data.scan.partial.bytes, data.scan.partial.size];
  if (data.skipped.length) p.qn = data.skipped;
  return p;
}

export function tracePayload(scan: TraceScan): TracePayload {
  const rows = scan.head;
  const strings = new Map<string, number>();
  const id = (s: string) => {
    let i = strings.get(s);
    if (i === undefined) strings.set(s, (i = strings.size));
    return i;
  };
  const p: TracePayload = { total: scan.total, shown: rows.length, fates: scan.fates, s: [], t: [], d: [], i: [], c: [], l: [], k: [], f: [], e: [], a: [], al: [] };
  let prev = 0;
  for (const r of rows) {
    const us = Math.round(r.time * 1000);
    p.t.push(us - prev);
    prev = us;
    p.d.push(r.toClient ? 1 : 0);
    p.i.push(r.index);
    p.c.push(r.copy);
    p.l.push(r.length);
    p.k.push(id(r.kinds));
    p.f.push(id(r.fate));
    p.e.push(id(r.effects));
    p.a.push(r.arrivedAt === undefined ? -1 : Math.round(r.arrivedAt * 1000) - us);
    p.al.push(r.arrivedLength ?? -1);
  }
  p.s = [...strings.keys()];
  if (scan.partial) p.tp = [scan.partial.bytes, scan.partial.size];
  return p;
}

/** gzip + base64: what the page's DecompressionStream('gzip') reads back. */
export function encodePayload(p: PlotPayload | TracePayload): string {
  return gzipSync(JSON.stringify(p), { level: 6 }).toString('base64');
}
