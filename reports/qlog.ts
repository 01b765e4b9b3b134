// Recovery metrics for the report's plots from qlog files (draft-ietf-quic-qlog-main-schema, -quic-events:
// recovery:metrics_updated), read within a byte budget: small files whole, large JSON-SEQ files as evenly spaced
// windows (a plot shows at most a few hundred points, so a sample of the file draws the same curve).

import { statSync } from 'node:fs';
import { readHead, readWindows } from './bounded-read.js';

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
  /** Set when the series comes from part of the file (sampled or a head): what was read, for the page to say. */
  note?: string;
}

const METRIC_KEYS = [
  ['cwnd', 'congestion_window', 1],
  ['inflight', 'bytes_in_flight', 1],
  ['latest', 'latest_rtt', 100],
  ['smoothed', 'smoothed_rtt', 100],
  ['min', 'min_rtt', 100],
] as const;

type MetricEvent = { time: number; data: Record<string, unknown> };

export interface QlogHeader {
  vantage: string;
  /** JSON-SEQ (one record per line) or one JSON document. */
  seq: boolean;
  /** qlog's common_fields.time_format: with "delta" each event's time is relative to the previous event. */
  delta: boolean;
}

const isSeqText = (text: string, name: string) => text.startsWith('\x1e') || /\.sqlog$/.test(name) || /^\{[^\n]*"qlog_format"\s*:\s*"JSON-SEQ"/.test(text);

/** The header record of a JSON-SEQ qlog (its first line), or what can be told of a JSON document from its start. */
export function parseHeader(firstLine: string, name: string): QlogHeader {
  const seq = isSeqText(firstLine, name);
  let vantage = '';
  let delta = false;
  if (seq) {
    try {
      const h = JSON.parse(firstLine.replace(/^\x1e/, '')) as { trace?: { vantage_point?: { type?: string }; common_fields?: { time_format?: string } } };
      vantage = h.trace?.vantage_point?.type ?? '';
      delta = h.trace?.common_fields?.time_format === 'delta';
    } catch {
      /* a torn header: the vantage comes from the name */
    }
  }
  if (!vantage) vantage = /server/i.test(name) ? 'server' : /client/i.test(name) ? 'client' : '';
  return { vantage, seq, delta };
}

/** One metrics_updated record (a torn last record, from a peer killed mid-write, gives undefined). */
function metricRecord(rec: string): MetricEvent | undefined {
  try {
    const e = JSON.parse(rec) as { time?: number; name?: string; data?: Record<string, unknown> };
    return typeof e.time === 'number' && e.data && e.name?.endsWith('metrics_updated') ? { time: e.time, data: e.data } : undefined;
  } catch {
    return undefined;
  }
}

const TIME_RE = /"time"\s*:\s*(-?[\d.eE+-]+)/;

/**
 * recovery:metrics_updated records of JSON-SEQ text (RFC 7464: RS, JSON text, LF); only those records are parsed.
 * Each search is bounded by its line: an unbounded indexOf from every line start made this quadratic in the file
 * size when few lines match (1,116 s for a 2 GB results folder). With `delta` times every record's time is summed
 * (the header record has no top-level "time", so it adds nothing).
 */
export function seqMetrics(text: string, delta = false): MetricEvent[] {
  const events: MetricEvent[] = [];
  let clock = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    const start = text.charCodeAt(pos) === 0x1e ? pos + 1 : pos;
    if (end - start > 1) {
      const line = text.slice(start, end);
      if (delta) {
        const m = TIME_RE.exec(line);
        if (m) clock += Number(m[1]) || 0;
      }
      if (line.includes('metrics_updated')) {
        const e = metricRecord(line);
        if (e) events.push(delta ? { time: clock, data: e.data } : e);
      }
    }
    pos = end + 1;
  }
  return events;
}

/** Plot series from metrics events: values carried forward (an event may update only some), at most `maxPoints`. */
export function toSeries(events: MetricEvent[], vantage: string, name: string, maxPoints: number): QlogSeries | undefined {
  if (!events.length) return undefined;
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

/** recovery:metrics_updated events of a whole qlog text, JSON-SEQ (.sqlog) or one JSON document (.qlog). */
export function qlogMetrics(text: string, name: string, maxPoints = 600): QlogSeries | undefined {
  const firstEnd = text.indexOf('\n');
  const header = parseHeader(text.slice(0, firstEnd < 0 ? text.length : firstEnd), name);
  let events: MetricEvent[] = [];
  let vantage = header.vantage;
  if (header.seq) events = seqMetrics(text, header.delta);
  else {
    try {
      const doc = JSON.parse(text) as { traces?: { vantage_point?: { type?: string }; events?: unknown[] }[] };
      const tr = doc.traces?.[0];
      vantage = tr?.vantage_point?.type || vantage;
      for (const e of tr?.events ?? []) {
        if (Array.isArray(e) && String(e[2]).endsWith('metrics_updated')) events.push({ time: Number(e[0]), data: e[3] as Record<string, unknown> });
        else if (e && typeof e === 'object' && String((e as { name?: string }).name).endsWith('metrics_updated')) events.push(e as MetricEvent);
      }
    } catch {
      return undefined;
    }
  }
  return toSeries(events, vantage, name, maxPoints);
}

export interface QlogLimits {
  /** Files up to this size are read whole (default 2 MB). */
  wholeBytes: number;
  /** Larger JSON-SEQ files: this many windows (default 32) … */
  windows: number;
  /** … of this many bytes each (default 32 kB). */
  windowBytes: number;
}

/** 1 MB of a large qlog holds a few thousand metrics records on the peers measured (ngtcp2 writes one per 400 bytes),
 * more than the 200–600 points a plot keeps. */
export const QLOG_LIMITS: QlogLimits = { wholeBytes: 2 << 20, windows: 32, windowBytes: 32 << 10 };

const mb = (n: number) => `${(n / 1048576).toFixed(n < 10 * 1048576 ? 1 : 0)} MB`;

/** Reads the first line of a file (at most 4 kB): a qlog's header record. */
export function readQlogHeader(path: string, name: string): QlogHeader & { size: number } {
  const h = readHead(path, 4096);
  const nl = h.text.indexOf('\n');
  return { ...parseHeader(nl < 0 ? h.text : h.text.slice(0, nl), name), size: h.size };
}

export interface QlogRead {
  series?: QlogSeries;
  /** Why a file gave no series although it may hold metrics (too large to read in pieces). */
  skipped?: string;
}

/** Plot series of one qlog file, reading at most about max(wholeBytes, windows × windowBytes) bytes of it. */
export function readQlogSeries(path: string, name: string, maxPoints: number, limits: QlogLimits = QLOG_LIMITS): QlogRead {
  const size = statSync(path).size;
  const found = (series: QlogSeries | undefined): QlogRead => (series ? { series } : {});
  if (size <= limits.wholeBytes) return found(qlogMetrics(readHead(path, size).text, name, maxPoints));
  const header = readQlogHeader(path, name);
  // One JSON document cannot be parsed in pieces.
  if (!header.seq) return { skipped: `${name}: not plotted, ${mb(size)} in one JSON document (JSON-SEQ qlogs are sampled)` };
  // Delta times cannot be summed across skipped bytes: read the head only.
  if (header.delta) {
    const h = readHead(path, limits.wholeBytes);
    const s = toSeries(seqMetrics(h.text, true), header.vantage, name, maxPoints);
    if (s) s.note = `from the first ${mb(h.bytes)} of ${mb(size)} of this qlog (its delta times must be summed from the start)`;
    return found(s);
  }
  const w = readWindows(path, limits.windows, limits.windowBytes);
  const s = toSeries(
    w.texts.flatMap((t) => seqMetrics(t)),
    header.vantage,
    name,
    maxPoints,
  );
  if (s) s.note = `from ${w.texts.length} evenly spaced windows of this qlog (${mb(w.bytes)} of ${mb(size)} read)`;
  return found(s);
}

/**
 * The qlog series of a run to plot: the largest client file and the largest server file that hold metrics (size
 * stands in for "busiest": a run with 50 connections has 100 qlog files), plus up to two of unknown vantage. Only a
 * 4 kB head of the candidates is read to learn their vantage, and at most three files per vantage are read in full
 * or sampled.
 */
export function pickQlogSeries(files: { path: string; name: string }[], maxPoints: number, limits: QlogLimits = QLOG_LIMITS): { series: QlogSeries[]; skipped: string[] } {
  const sized: { path: string; name: string; size: number }[] = [];
  for (const f of files) {
    try {
      sized.push({ ...f, size: statSync(f.path).size });
    } catch {
      /* missing qlog: linked as missing, nothing to plot */
    }
  }
  sized.sort((a, b) => b.size - a.size);
  const tries = new Map<string, number>();
  const found = new Map<string, QlogSeries[]>();
  const skipped: string[] = [];
  const want = (v: string) => (v === 'client' || v === 'server' ? 1 : 2);
  let headers = 0;
  for (const f of sized) {
    if (headers++ >= 200) break;
    let vantage: string;
    try {
      vantage = readQlogHeader(f.path, f.name).vantage;
    } catch {
      continue;
    }
    const v = vantage === 'client' || vantage === 'server' ? vantage : '';
    if ((found.get(v)?.length ?? 0) >= want(v) || (tries.get(v) ?? 0) >= 3) continue;
    tries.set(v, (tries.get(v) ?? 0) + 1);
    let r: QlogRead;
    try {
      r = readQlogSeries(f.path, f.name, maxPoints, limits);
    } catch {
      continue;
    }
    if (r.skipped) skipped.push(r.skipped);
    if (r.series) found.set(v, [...(found.get(v) ?? []), r.series]);
    if ((found.get('client')?.length ?? 0) >= 1 && (found.get('server')?.length ?? 0) >= 1 && (found.get('')?.length ?? 0) >= 2) break;
  }
  return { series: [...(found.get('client') ?? []), ...(found.get('server') ?? []), ...(found.get('') ?? [])], skipped };
}
