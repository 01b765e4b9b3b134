// The report reads large artifacts within byte budgets (issue 12, speed on real data): heads and evenly spaced
// windows cut at line ends, qlogs sampled when large (and read from the head when their times are deltas), traces
// read up to a budget with the page told so, and the qlog files to plot chosen without reading them all.
import { test, expect } from '@playwright/test';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readHead, readWindows } from '../reports/bounded-read.js';
import { pickQlogSeries, qlogMetrics, readQlogSeries, seqMetrics } from '../reports/qlog.js';
import { readTrace, type PlotPayload, type TracePayload } from '../reports/payload.js';
import { findResultFiles, loadModel, renderHtml } from '../reports/index.js';
import { syntheticQlog, syntheticTrace, writeSyntheticRun } from './report-fixtures.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-bounded-'));

/** A JSON-SEQ qlog shaped like a real peer's: `n` metrics records, each after `filler` other events. */
function sparseQlog(n: number, filler: number, opts: { vantage?: string; delta?: boolean } = {}): string {
  const header = { qlog_version: '0.3', qlog_format: 'JSON-SEQ', trace: { vantage_point: { type: opts.vantage ?? 'client' }, common_fields: { time_format: opts.delta ? 'delta' : 'relative' } } };
  let out = `\x1e${JSON.stringify(header)}\n`;
  let t = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < filler; k++) {
      t += 1;
      out += `\x1e${JSON.stringify({ time: opts.delta ? 1 : t, name: 'transport:packet_sent', data: { header: { packet_type: '1RTT', packet_number: t }, raw: { length: 1200 } } })}\n`;
    }
    t += 1;
    out += `\x1e${JSON.stringify({ time: opts.delta ? 1 : t, name: 'recovery:metrics_updated', data: { congestion_window: 10000 + i, smoothed_rtt: 30 } })}\n`;
  }
  return out;
}

test('readHead and readWindows: whole lines only, in order, never more bytes than asked for', () => {
  const dir = tmp();
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
  const path = join(dir, 'f.txt');
  writeFileSync(path, lines.join('\n') + '\n');
  const all = readHead(path, 1 << 30);
  expect(all.complete).toBe(true);
  expect(all.text.split('\n').length - 1).toBe(5000);

  const head = readHead(path, 10_000);
  expect(head.complete).toBe(false);
  expect(head.bytes).toBeLessThanOrEqual(10_000);
  expect(head.text.endsWith('\n')).toBe(true);
  expect(head.text.split('\n').slice(0, -1)).toEqual(lines.slice(0, head.text.split('\n').length - 1));

  const w = readWindows(path, 8, 4096);
  expect(w.bytes).toBeLessThanOrEqual(8 * 4096);
  const got = w.texts.flatMap((t) => t.split('\n').slice(0, -1));
  // every line returned is a whole line of the file, in file order, and the last window reaches the end
  const at = got.map((l) => lines.indexOf(l));
  expect(at.every((i) => i >= 0)).toBe(true);
  expect(at).toEqual([...at].sort((a, b) => a - b));
  expect(at[0]).toBe(0);
  expect(at[at.length - 1]).toBe(4999);
  // a small file: windows overlap, nothing is read twice and nothing repeats
  const small = join(dir, 's.txt');
  writeFileSync(small, 'a\nb\nc\n');
  const s = readWindows(small, 16, 4);
  expect(s.texts.join('')).toBe('a\nb\nc\n');
  expect(s.bytes).toBe(6);
});

test('qlog: sparse metrics records are all found; delta times are summed', () => {
  const text = sparseQlog(50, 30);
  expect(seqMetrics(text)).toHaveLength(50);
  const q = qlogMetrics(text, 'x.sqlog')!;
  expect(q.vantage).toBe('client');
  expect(q.t).toHaveLength(50);
  expect(q.t[49]).toBe(50 * 31);
  const d = qlogMetrics(sparseQlog(10, 3, { delta: true, vantage: 'server' }), 'y.sqlog')!;
  expect(d.vantage).toBe('server');
  expect(d.t).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * 4));
});

test('qlog: a large file is sampled over its whole length within the byte budget, and the series says so', () => {
  const dir = tmp();
  const path = join(dir, 'big.sqlog');
  writeFileSync(path, sparseQlog(4000, 9));
  const limits = { wholeBytes: 64 << 10, windows: 8, windowBytes: 8 << 10 };
  const r = readQlogSeries(path, 'big.sqlog', 600, limits);
  const s = r.series!;
  expect(s.note).toMatch(/^from 8 evenly spaced windows of this qlog \(0\.1 MB of \d+\.\d MB read\)$/);
  // the curve spans the file: the first window starts it, the last one ends it (time = 10 per record)
  expect(s.t[0]).toBeLessThan(100);
  expect(s.t[s.t.length - 1]).toBe(40_000);
  expect(s.t.length).toBeGreaterThan(20);
  expect(s.t).toEqual([...s.t].sort((a, b) => a - b));
  // delta times cannot be sampled: the head is read and the series says how much
  const dpath = join(dir, 'delta.sqlog');
  writeFileSync(dpath, sparseQlog(4000, 9, { delta: true }));
  const d = readQlogSeries(dpath, 'delta.sqlog', 600, limits).series!;
  expect(d.note).toMatch(/^from the first 0\.1 MB of \d+\.\d MB of this qlog/);
  expect(d.t[d.t.length - 1]).toBeLessThan(40_000);
  // one large JSON document is not parsed in pieces: it is named as not plotted
  const jpath = join(dir, 'doc.qlog');
  writeFileSync(jpath, JSON.stringify({ traces: [{ vantage_point: { type: 'server' }, events: Array.from({ length: 5000 }, (_, i) => ({ time: i, name: 'recovery:metrics_updated', data: { congestion_window: i } })) }] }));
  expect(readQlogSeries(jpath, 'doc.qlog', 600, limits)).toEqual({ skipped: expect.stringMatching(/^doc\.qlog: not plotted, .* in one JSON document/) });
  // below the limit the same document is read whole
  const whole = readQlogSeries(jpath, 'doc.qlog', 600, { ...limits, wholeBytes: 1 << 30 }).series!;
  expect([whole.t[0], whole.t[whole.t.length - 1], whole.note]).toEqual([0, 4999, undefined]);
});

test('qlog files to plot: the largest client and server files that hold metrics, without reading the rest', () => {
  const dir = tmp();
  const f = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return { path: join(dir, name), name };
  };
  const files = [
    f('c-small.sqlog', sparseQlog(5, 0, { vantage: 'client' })),
    f('c-big.sqlog', sparseQlog(40, 2, { vantage: 'client' })),
    // the largest server file has no metrics (OpenSSL's qlog): the next one is plotted
    f('s-nometrics.sqlog', sparseQlog(0, 0, { vantage: 'server' }) + 'x'.repeat(20000) + '\n'),
    f('s-metrics.sqlog', sparseQlog(20, 1, { vantage: 'server' })),
    { path: join(dir, 'missing.sqlog'), name: 'missing.sqlog' },
  ];
  const { series } = pickQlogSeries(files, 600);
  expect(series.map((s) => s.name)).toEqual(['client c-big.sqlog', 'server s-metrics.sqlog']);
  expect(series.map((s) => s.t.length)).toEqual([40, 20]);
});

test('trace: read up to the byte budget; the plot and datagram blobs say which part was read', () => {
  const dir = tmp();
  const text = syntheticTrace(3000);
  const path = join(dir, 'trace.txt');
  writeFileSync(path, text);
  const whole = readTrace(path, 100);
  expect([whole.total, whole.partial]).toEqual([3000, undefined]);
  const part = readTrace(path, 100, 50_000);
  expect(part.partial!.size).toBe(text.length);
  expect(part.partial!.bytes).toBeLessThanOrEqual(50_000);
  expect(part.total).toBe(text.slice(0, part.partial!.bytes).split('\n').length - 1);
  expect(part.head).toHaveLength(100);

  // through the report: a run whose trace is longer than the budget carries [bytes read, size] in both blobs
  const root = tmp();
  writeSyntheticRun(root, { scenario: 'bulk', client: 'self', server: 'self', verdict: 'failed', datagrams: 3000, qlogEvents: 0 });
  const { html } = renderHtml(loadModel(root), { outDir: root, maxTraceBytes: 50_000 });
  const blobs = JSON.parse(/<script id="cw-blobs" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!) as string[];
  const decoded = blobs.map((b) => JSON.parse(gunzipSync(Buffer.from(b, 'base64')).toString()) as PlotPayload & TracePayload);
  expect(decoded).toHaveLength(2);
  for (const p of decoded) {
    expect(p.tp![0]).toBeLessThanOrEqual(50_000);
    expect(p.tp![1]).toBeGreaterThan(50_000);
    expect(p.total).toBeLessThan(3000);
  }
});

test('syntheticQlog fixtures still read whole below the limit (no note)', () => {
  const dir = tmp();
  const path = join(dir, 'server-1.sqlog');
  writeFileSync(path, syntheticQlog(300, 'server'));
  const s = readQlogSeries(path, 'server-1.sqlog', 600).series!;
  expect([s.vantage, s.t.length, s.note]).toEqual(['server', 300, undefined]);
});

test('result files: below a run folder only rep-<n> folders are searched, so a served file named result.json is no run', () => {
  const root = tmp();
  writeSyntheticRun(root, { scenario: 'transfer', client: 'self', server: 'self', verdict: 'passed', datagrams: 5 });
  const run = join(root, 'self_self', 'transfer');
  mkdirSync(join(run, 'www'), { recursive: true });
  mkdirSync(join(run, 'downloads'), { recursive: true });
  // a file the server served and the client downloaded, named like a result: not JSON of a run
  writeFileSync(join(run, 'www', 'result.json'), 'not a result');
  writeFileSync(join(run, 'downloads', 'result.json'), 'not a result');
  // a repetition below a run folder is still found
  writeSyntheticRun(join(run, 'x'), { scenario: 'transfer', client: 'self', server: 'self', verdict: 'failed', datagrams: 5, repeat: 1 });
  renameSync(join(run, 'x', 'self_self', 'transfer', 'rep-1'), join(run, 'rep-1'));
  rmSync(join(run, 'x'), { recursive: true });
  expect(findResultFiles(root)).toEqual([join(run, 'rep-1', 'result.json'), join(run, 'result.json')]);
  const m = loadModel(root);
  expect(m.cells.map((c) => [c.key, c.verdict, c.runs.length])).toEqual([['self_self/transfer', 'flaky', 2]]);
});
