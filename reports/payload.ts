// Per-run data the report inlines, in two gzipped + base64 blobs per run: the plot data (fate counts, goodput over
// time from the whole trace, recovery metrics from the qlog files) and the datagrams of the trace for the sequence
// diagram (capped, compact columns). The browser inflates a run's blobs when its details open (DecompressionStream),
// so the page loads fast. Reading is one pass over each file: a 1,000-run matrix has millions of trace lines.

import { readFileSync } from 'node:fs';
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

export interface QlogSeries {
  /** Vantage point and file name, e.g. "server server-0468.sqlog". */
  name: string;
  vantage: string;
  /** ms since the qlog's reference time. */
  t: number[];
  cwnd: (number | null)[];
  inflight: (number | null)[];
  latest: (number | null)[];
  smoothed: (number | null)[];
  min: (number | null)[];
}

const METRIC_KEYS = [
  ['cwnd', 'congestion_window', 1],
  ['inflight', 'bytes_in_flight', 1],
  ['latest', 'latest_rtt', 100],
  ['smoothed', 'smoothed_rtt', 100],
  ['min', 'min_rtt', 100],
] as const;

type MetricEvent = { time: number; data: Record<string, unknown> };

/** One metrics_updated record (a torn last record, from a peer killed mid-write, gives undefined). */
function metricRecord(rec: string): MetricEvent | undefined {
  try {
    const e = JSON.parse(rec) as { time?: number; name?: string; data?: Record<string, unknown> };
    return typeof e.time === 'number' && e.data && e.name?.endsWith('metrics_updated') ? { time: e.time, data: e.data } : undefined;
  } catch {
    return undefined;
  }
}

/** recovery:metrics_updated events of a JSON-SEQ qlog (RFC 7464: RS, JSON text, LF): only those records are parsed. */
function seqMetrics(text: string): { vantage: string; events: MetricEvent[] } {
  let vantage = '';
  const events: MetricEvent[] = [];
  let pos = 0;
  let first = true;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const start = text.charCodeAt(pos) === 0x1e ? pos + 1 : pos;
    if (first) {
      first = false;
      const head = text.slice(start, end);
      if (head.includes('qlog_version')) {
        try {
          vantage = (JSON.parse(head) as { trace?: { vantage_point?: { type?: string } } }).trace?.vantage_point?.type ?? '';
        } catch {
          /* a torn header: keep going */
        }
        pos = end + 1;
        continue;
      }
    }
    const at = text.indexOf('metrics_updated', start);
    if (at >= 0 && at < end) {
      const e = metricRecord(text.slice(start, end));
      if (e) events.push(e);
    }
    pos = end + 1;
  }
  return { vantage, events };
}

/** recovery:metrics_updated events of a qlog file, JSON-SEQ (.sqlog) or one JSON document (.qlog), as plot series
 * with values carried forward (an event may update only some), at most `maxPoints` points. */
export function qlogMetrics(text: string, name: string, maxPoints = 600): QlogSeries | undefined {
  let events: MetricEvent[] = [];
  let vantage = '';
  if (text.startsWith('\x1e') || /\.sqlog$/.test(name)) ({ vantage, events } = seqMetrics(text));
  else {
    try {
      const doc = JSON.parse(text) as { traces?: { vantage_point?: { type?: string }; events?: unknown[] }[] };
      const tr = doc.traces?.[0];
      vantage = tr?.vantage_point?.type ?? '';
      for (const e of tr?.events ?? []) {
        if (Array.isArray(e) && String(e[2]).endsWith('metrics_updated')) events.push({ time: Number(e[0]), data: e[3] as Record<string, unknown> });
        else if (e && typeof e === 'object' && String((e as { name?: string }).name).endsWith('metrics_updated')) events.push(e as MetricEvent);
      }
    } catch {
      return undefined;
    }
  }
  if (!events.length) return undefined;
  if (!vantage) vantage = /server/i.test(name) ? 'server' : /client/i.test(name) ? 'client' : '';
  const s: QlogSeries = { name: `${vantage || 'qlog'} ${name}`, vantage, t: [], cwnd: [], inflight: [], latest: [], smoothed: [], min: [] };
  const cur: Record<string, number | null> = { cwnd: null, inflight: null, latest: null, smoothed: null, min: null };
  const step = Math.ceil(events.length / maxPoints);
  events.forEach((e, i) => {
    for (const [k, q, scale] of METRIC_KEYS) {
      const v = e.data[q];
      if (typeof v === 'number') cur[k] = Math.round(v * scale) / scale;
    }
    // every step-th point, and the last one
    if (i % step !== 0 && i !== events.length - 1) return;
    s.t.push(Math.round(e.time * 10) / 10);
    for (const [k] of METRIC_KEYS) s[k].push(cur[k]!);
  });
  return s;
}

/** The plot blob of a run. */
export interface PlotPayload {
  total: number;
  fates: Record<string, number>;
  goodput?: Goodput;
  qlog: QlogSeries[];
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
}

export interface RunData {
  scan?: TraceScan;
  qlog: QlogSeries[];
}

/** Reads a run's trace (the first `cap` datagrams in full) and its qlog files; missing files are skipped. */
export function readRunData(tracePath: string | undefined, qlogPaths: { path: string; name: string }[], opts: { cap: number; maxPoints: number }): RunData {
  let scan: TraceScan | undefined;
  if (tracePath) {
    try {
      scan = scanTrace(readFileSync(tracePath, 'utf8'), opts.cap);
    } catch {
      scan = undefined;
    }
  }
  const series: QlogSeries[] = [];
  for (const q of qlogPaths.slice(0, 24)) {
    try {
      const s = qlogMetrics(readFileSync(q.path, 'utf8'), q.name, opts.maxPoints);
      if (s) series.push(s);
    } catch {
      /* missing qlog: linked as missing, nothing to plot */
    }
  }
  // Keep the busiest client and the busiest server trace: a run with 50 connections has 100 qlog files.
  const best = (v: string) => series.filter((s) => s.vantage === v).sort((a, b) => b.t.length - a.t.length)[0];
  const picked = [best('client'), best('server')].filter((s): s is QlogSeries => !!s);
  const other = series.filter((s) => s.vantage !== 'client' && s.vantage !== 'server').slice(0, 2);
  const data: RunData = { qlog: [...picked, ...other] };
  if (scan) data.scan = scan;
  return data;
}

export function plotPayload(data: RunData): PlotPayload {
  const p: PlotPayload = { total: data.scan?.total ?? 0, fates: data.scan?.fates ?? {}, qlog: data.qlog };
  if (data.scan?.goodput) p.goodput = data.scan.goodput;
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
  return p;
}

/** gzip + base64: what the page's DecompressionStream('gzip') reads back. */
export function encodePayload(p: PlotPayload | TracePayload): string {
  return gzipSync(JSON.stringify(p), { level: 6 }).toString('base64');
}
