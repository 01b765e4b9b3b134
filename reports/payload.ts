// Per-run data the report inlines for its sequence diagram and plots: the datagrams of the trace (capped), goodput
// over time from the whole trace, and the recovery metrics of the qlog files — compact columns, gzipped, base64.
// The browser inflates one run's payload when its details open (DecompressionStream), so the page loads fast.

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

/** Parses trace.txt: `time direction index copy length kinds fate effects from to arrivedAt arrivedLength sha256`. */
export function parseTrace(text: string): TraceRow[] {
  const rows: TraceRow[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (!line) continue;
    const f = line.split(' ');
    if (f.length < 12) continue;
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
    rows.push(row);
  }
  return rows;
}

const DROPPED = /^dropped-by-|^queue-overflow$|^mtu$/;
export const isDroppedFate = (f: string): boolean => DROPPED.test(f);

export interface Goodput {
  binMs: number;
  /** kbps per bin of arrival time, bytes the client received. */
  kbps: number[];
}

/** Bytes that reached the client per time bin (100 ms, wider for long runs so there are at most 2,000 bins). */
export function goodputOf(rows: TraceRow[]): Goodput | undefined {
  let last = 0;
  for (const r of rows) if (r.toClient && r.arrivedAt !== undefined && r.arrivedAt > last) last = r.arrivedAt;
  if (last <= 0) return undefined;
  let binMs = 100;
  for (const w of [100, 200, 500, 1000, 2000, 5000, 10000, 60000]) {
    binMs = w;
    if (last / w <= 2000) break;
  }
  const bins = new Array<number>(Math.floor(last / binMs) + 1).fill(0);
  for (const r of rows) {
    if (!r.toClient || r.arrivedAt === undefined || isDroppedFate(r.fate)) continue;
    bins[Math.floor(r.arrivedAt / binMs)]! += r.arrivedLength ?? r.length;
  }
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
  ['cwnd', 'congestion_window'],
  ['inflight', 'bytes_in_flight'],
  ['latest', 'latest_rtt'],
  ['smoothed', 'smoothed_rtt'],
  ['min', 'min_rtt'],
] as const;

type MetricEvent = { time: number; data: Record<string, unknown> };

/** recovery:metrics_updated events of a qlog file: JSON-SEQ (.sqlog) or one JSON document (.qlog). */
export function qlogMetrics(text: string, name: string): QlogSeries | undefined {
  const events: MetricEvent[] = [];
  let vantage = '';
  const seq = text.startsWith('\x1e') || /\.sqlog$/.test(name);
  if (seq) {
    let first = true;
    for (const rec of text.split(/\x1e|\n/)) {
      if (!rec.trim()) continue;
      if (first) {
        first = false;
        if (rec.includes('qlog_version')) {
          try {
            const h = JSON.parse(rec) as { trace?: { vantage_point?: { type?: string } } };
            vantage = h.trace?.vantage_point?.type ?? '';
          } catch {
            /* a torn header: keep going */
          }
          continue;
        }
      }
      if (!rec.includes('metrics_updated')) continue;
      try {
        const e = JSON.parse(rec) as { time?: number; name?: string; data?: Record<string, unknown> };
        if (typeof e.time === 'number' && e.data && e.name?.endsWith('metrics_updated')) events.push({ time: e.time, data: e.data });
      } catch {
        /* a torn last record (peer killed mid-write) */
      }
    }
  } else {
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
  for (const e of events) {
    for (const [k, q] of METRIC_KEYS) {
      const v = e.data[q];
      if (typeof v === 'number') cur[k] = v;
    }
    s.t.push(e.time);
    for (const [k] of METRIC_KEYS) s[k].push(cur[k]!);
  }
  return downsample(s, 1500);
}

/** Every n-th point (the last one kept), so a long run's plot stays light. */
function downsample(s: QlogSeries, max: number): QlogSeries {
  const n = s.t.length;
  if (n <= max) return s;
  const step = Math.ceil(n / max);
  const keep = (_: unknown, i: number) => i % step === 0 || i === n - 1;
  return {
    ...s,
    t: s.t.filter(keep),
    cwnd: s.cwnd.filter(keep),
    inflight: s.inflight.filter(keep),
    latest: s.latest.filter(keep),
    smoothed: s.smoothed.filter(keep),
    min: s.min.filter(keep),
  };
}

/** The compact per-run payload the page inflates: datagram columns plus plot series. */
export interface Payload {
  /** Datagrams in the trace, and how many are inlined. */
  total: number;
  shown: number;
  /** Fate counts over the whole trace. */
  fates: Record<string, number>;
  /** String table for kinds, fates and effects. */
  s: string[];
  /** Columns, one entry per inlined datagram: send time (µs, delta from the previous), direction (1 = to client),
   * index, copy, length, kinds / fate / effects (string table), arrival (µs after sending, -1 none),
   * arrived length (-1 unchanged). */
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
  goodput?: Goodput;
  qlog: QlogSeries[];
}

export interface PayloadOptions {
  /** Datagrams inlined for the sequence diagram (0: none, plots only). */
  maxDatagrams: number;
}

export interface RunData {
  rows?: TraceRow[];
  qlog: QlogSeries[];
}

/** Reads a run's trace and qlog files once (missing or unreadable files are skipped). */
export function readRunData(tracePath: string | undefined, qlogPaths: { path: string; name: string }[]): RunData {
  let rows: TraceRow[] | undefined;
  if (tracePath) {
    try {
      rows = parseTrace(readFileSync(tracePath, 'utf8'));
    } catch {
      rows = undefined;
    }
  }
  const series: QlogSeries[] = [];
  for (const q of qlogPaths.slice(0, 24)) {
    try {
      const s = qlogMetrics(readFileSync(q.path, 'utf8'), q.name);
      if (s) series.push(s);
    } catch {
      /* missing qlog: linked as missing, nothing to plot */
    }
  }
  // Keep the busiest client and the busiest server trace: a run with 50 connections has 100 qlog files.
  const best = (v: string) => series.filter((s) => s.vantage === v).sort((a, b) => b.t.length - a.t.length)[0];
  const picked = [best('client'), best('server')].filter((s): s is QlogSeries => !!s);
  const other = series.filter((s) => s.vantage !== 'client' && s.vantage !== 'server').slice(0, 2);
  return { rows, qlog: [...picked, ...other] };
}

export function buildPayload(data: RunData, opts: PayloadOptions): Payload {
  const rows = data.rows ?? [];
  const shown = Math.min(rows.length, opts.maxDatagrams);
  const strings = new Map<string, number>();
  const id = (s: string) => {
    let i = strings.get(s);
    if (i === undefined) strings.set(s, (i = strings.size));
    return i;
  };
  const p: Payload = { total: rows.length, shown, fates: {}, s: [], t: [], d: [], i: [], c: [], l: [], k: [], f: [], e: [], a: [], al: [], qlog: data.qlog };
  for (const r of rows) p.fates[r.fate] = (p.fates[r.fate] ?? 0) + 1;
  let prev = 0;
  for (let n = 0; n < shown; n++) {
    const r = rows[n]!;
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
  const g = data.rows ? goodputOf(data.rows) : undefined;
  if (g) p.goodput = g;
  return p;
}

/** gzip + base64: what the page's DecompressionStream('gzip') reads back. */
export function encodePayload(p: Payload): string {
  return gzipSync(JSON.stringify(p), { level: 6 }).toString('base64');
}
