// reports/ on synthetic result folders (issue 12): the cell model (repetitions, flaky), summary.json read the way
// quic-interop-runner's viewer indexes it, JUnit XML, baseline history, expected results, merge of shards, and the
// report/merge commands' exit codes.
import { test, expect } from '@playwright/test';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/proc.js';
import { smallMatrix, writeSyntheticRun, type SyntheticRun } from './report-fixtures.js';
import {
  buildJunit,
  buildSummary,
  compareExpected,
  compareWithBaseline,
  expectedFromModel,
  findResultFiles,
  loadBaseline,
  loadModel,
  mergeResults,
  ReportInputError,
  writeReports,
  type Summary,
} from '../reports/index.js';
import { artifactList } from '../reports/artifacts.js';
import { scanTrace, qlogMetrics } from '../reports/payload.js';
import { syntheticQlog, syntheticTrace } from './report-fixtures.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-report-'));
const json = <T = unknown>(p: string) => JSON.parse(readFileSync(p, 'utf8')) as T;

test('model: cells by scenario × client × server, repetitions grouped, flaky when verdicts differ, measurements', () => {
  const dir = tmp();
  smallMatrix(dir);
  const m = loadModel(dir);
  expect(m.clients).toEqual(['self', 'ngtcp2']);
  expect(m.servers).toEqual(['self', 'quiche']);
  expect(m.scenarios.map((s) => s.name)).toEqual(['goodput', 'handshake', 'handshakeloss', 'transfer', 'dtls-handshake']);
  expect(m.cells).toHaveLength(4 * 4 + 1);
  expect(m.runs).toHaveLength(4 * 6 + 3);
  const flaky = m.byKey.get('quiche_self/handshakeloss')!;
  expect(flaky.flaky).toBe(true);
  expect(flaky.verdict).toBe('flaky');
  expect(flaky.passed).toBe(2);
  expect(flaky.runs.map((r) => r.repeat)).toEqual([0, 1, 2]);
  const g = m.byKey.get('self_self/goodput')!;
  expect(g.verdict).toBe('passed');
  expect(g.measurement!.mean).toBeCloseTo(9100);
  expect(g.measurement!.stdev).toBeCloseTo(100);
  expect(m.byKey.get('quiche_self/transfer')!.verdict).toBe('error');
});

test('model: the old layout (OUT/<scenario>/result.json) loads too, replay/ folders are not runs, bad files are input errors', () => {
  const dir = tmp();
  writeSyntheticRun(join(dir, 'x'), { scenario: 'handshake', client: 'self', server: 'self', verdict: 'passed' });
  // move it to results/<scenario>/ as today's `crosswire run` writes it
  renameSync(join(dir, 'x', 'self_self', 'handshake'), join(dir, 'handshake'));
  rmSync(join(dir, 'x'), { recursive: true });
  mkdirSync(join(dir, 'handshake', 'replay'));
  writeFileSync(join(dir, 'handshake', 'replay', 'result.json'), readFileSync(join(dir, 'handshake', 'result.json')));
  const m = loadModel(dir);
  expect(m.cells).toHaveLength(1);
  expect(m.runs).toHaveLength(1);
  expect(m.runs[0]!.rel).toBe('handshake');

  mkdirSync(join(dir, 'broken'));
  writeFileSync(join(dir, 'broken', 'result.json'), '{"scenario": "x", ');
  expect(() => loadModel(dir)).toThrow(ReportInputError);
  expect(() => loadModel(dir)).toThrow(/broken\/result\.json: not JSON/);
  writeFileSync(join(dir, 'broken', 'result.json'), '{"scenario": "x", "verdict": "maybe"}');
  expect(() => loadModel(dir)).toThrow(/verdict "maybe"/);
});

test("summary.json: quic-interop-runner's shape, indexed as its viewer does (client index × servers + server index)", () => {
  const dir = tmp();
  smallMatrix(dir);
  const files = writeReports(dir);
  const s = json<Summary>(files.summary);
  for (const k of ['start_time', 'end_time', 'log_dir', 'servers', 'clients', 'urls', 'tests', 'quic_version', 'results', 'measurements']) expect(s).toHaveProperty(k);
  expect(s.results).toHaveLength(s.clients.length * s.servers.length);
  expect(s.measurements).toHaveLength(s.clients.length * s.servers.length);
  const at = (client: string, server: string, test: string) => {
    const i = s.clients.indexOf(client) * s.servers.length + s.servers.indexOf(server);
    return s.results[i]!.find((e) => e.abbr === test)?.result;
  };
  expect(at('ngtcp2', 'quiche', 'transfer')).toBe('failed');
  expect(at('self', 'quiche', 'transfer')).toBe('failed'); // error → failed for QIR
  expect(at('self', 'self', 'transfer')).toBe('succeeded');
  expect(at('ngtcp2', 'self', 'dtls-handshake')).toBe('unsupported');
  expect(at('self', 'quiche', 'handshakeloss')).toBe('failed'); // flaky → failed for QIR
  expect(at('self', 'self', 'handshakeloss')).toBeNull(); // not run by this pair
  expect(at('self', 'self', 'goodput')).toBeUndefined(); // measurements are listed apart
  for (const abbr of Object.keys(s.tests)) expect(s.tests[abbr]!.name).toBe(abbr);
  // every entry of results names a test listed in tests
  for (const list of s.results) for (const e of list) expect(s.tests[e.abbr]).toBeDefined();

  const mi = s.clients.indexOf('ngtcp2') * s.servers.length + s.servers.indexOf('self');
  expect(s.measurements[mi]).toEqual([{ name: 'goodput', abbr: 'goodput', result: 'succeeded', details: '9600 (± 100) kbps' }]);

  // our fields beside QIR's
  const cells = new Map(s.crosswire.cells.map((c) => [c.key, c]));
  expect(cells.get('quiche_self/transfer')!.verdict).toBe('error');
  expect(cells.get('quiche_self/handshakeloss')).toMatchObject({ verdict: 'flaky', runs: 3, passed: 2, flaky: true });
  expect(s.crosswire.flaky).toEqual(['quiche_self/handshakeloss']);
  const run = s.crosswire.runs.find((r) => r.scenario === 'transfer' && r.client === 'ngtcp2' && r.server === 'quiche')!;
  expect(run.verdict).toBe('failed');
  expect(run.reason).toContain('handshakes');
  expect(run.replay).toMatch(/^crosswire replay /);
  expect(run.traceHash).toBeTruthy();
  expect(run.result).toBe('quiche_ngtcp2/transfer/result.json');
  expect(s.start_time).toBeLessThanOrEqual(s.end_time);
});

test('junit.xml: a testsuite per pair, a testcase per scenario and repetition, failure / error / skipped with reasons', () => {
  const dir = tmp();
  smallMatrix(dir);
  const xml = buildJunit(loadModel(dir), { outDir: dir });
  expect(xml.startsWith('<?xml')).toBe(true);
  const suites = [...xml.matchAll(/<testsuite name="([^"]*)"[^>]*tests="(\d+)" failures="(\d+)" errors="(\d+)" skipped="(\d+)"/g)];
  expect(suites.map((m) => m[1])).toEqual(['self (client) × self (server)', 'self (client) × quiche (server)', 'ngtcp2 (client) × self (server)', 'ngtcp2 (client) × quiche (server)']);
  // self × quiche: goodput ×3, handshake, transfer (error), dtls (skipped), handshakeloss ×3 (one failed)
  const sq = suites[1]!;
  expect([sq[2], sq[3], sq[4], sq[5]]).toEqual(['9', '1', '1', '1']);
  expect(xml).toContain('name="goodput [rep 2]"');
  expect(xml).toContain('name="handshakeloss [rep 1]"');
  expect(xml).toMatch(/<failure message="transfer: handshakes: 0 of 1 expected handshake\(s\) completed" type="failed">/);
  expect(xml).toMatch(/<error message="[^"]+" type="error">/);
  expect(xml).toMatch(/<skipped message="quiche does not declare feature x"\/>/);
  expect(xml).toContain('replay: crosswire replay ');
  expect(xml).toMatch(/trace \(trace\.txt\): quiche_ngtcp2\/transfer\/trace\.txt/);
  // XML special characters in a reason are escaped by the library, not by us
  const dir2 = tmp();
  writeSyntheticRun(dir2, { scenario: 'odd', client: 'a', server: 'b', verdict: 'failed', reason: 'x < y & "z"\nsecond line' });
  const xml2 = buildJunit(loadModel(dir2), { outDir: dir2 });
  expect(xml2).toContain('message="x &lt; y &amp; &quot;z&quot; second line"');
});

test('history: a baseline folder or summary.json (ours or QIR-only) marks new failures, fixes and new unsupported first', () => {
  const before = tmp();
  const now = tmp();
  const base: SyntheticRun[] = [
    { scenario: 'a', client: 'self', server: 'self', verdict: 'passed' },
    { scenario: 'b', client: 'self', server: 'self', verdict: 'failed' },
    { scenario: 'c', client: 'self', server: 'self', verdict: 'passed' },
    { scenario: 'd', client: 'self', server: 'self', verdict: 'passed' },
    { scenario: 'gone', client: 'self', server: 'self', verdict: 'passed' },
  ];
  for (const r of base) writeSyntheticRun(before, r);
  for (const r of [
    { ...base[0]!, verdict: 'failed' as const },
    { ...base[1]!, verdict: 'passed' as const },
    { ...base[2]!, verdict: 'unsupported' as const },
    base[3]!,
    { scenario: 'new', client: 'self', server: 'self', verdict: 'passed' as const },
  ])
    writeSyntheticRun(now, r);
  const model = loadModel(now);
  const expected = [
    { key: 'self_self/a', kind: 'new-failure', from: 'passed', to: 'failed' },
    { key: 'self_self/c', kind: 'new-unsupported', from: 'passed', to: 'unsupported' },
    { key: 'self_self/b', kind: 'fixed', from: 'failed', to: 'passed' },
    { key: 'self_self/new', kind: 'new-cell', to: 'passed' },
    { key: 'self_self/gone', kind: 'missing', from: 'passed' },
  ];
  expect(compareWithBaseline(model, loadBaseline(before))).toEqual(expected);
  writeReports(before);
  rmSync(join(before, 'self_self'), { recursive: true });
  expect(compareWithBaseline(model, loadBaseline(before))).toEqual(expected); // folder with only summary.json
  expect(compareWithBaseline(model, loadBaseline(join(before, 'summary.json')))).toEqual(expected);
  // a summary quic-interop-runner wrote (no crosswire field)
  const qir = json<Summary>(join(before, 'summary.json')) as Partial<Summary>;
  delete qir.crosswire;
  writeFileSync(join(before, 'qir.json'), JSON.stringify(qir));
  expect(compareWithBaseline(model, loadBaseline(join(before, 'qir.json')))).toEqual(expected);

  const files = writeReports(now, { baseline: join(before, 'summary.json') });
  expect(files.changes).toEqual(expected);
  expect(json<Summary>(files.summary).crosswire.baseline!.changes).toEqual(expected);
});

test('expected results: regressions and improvements; --write-expect state round-trips', () => {
  const dir = tmp();
  smallMatrix(dir);
  const model = loadModel(dir);
  const exp = expectedFromModel(model);
  expect(compareExpected(model, exp)).toEqual({ regressions: [], improvements: [], other: [], missing: [], unlisted: [] });
  const changed = { ...exp, 'quiche_ngtcp2/transfer': 'passed' as const, 'self_self/transfer': 'failed' as const, 'x_y/z': 'passed' as const };
  const c = compareExpected(model, changed);
  expect(c.regressions).toEqual([{ key: 'quiche_ngtcp2/transfer', expected: 'passed', actual: 'failed' }]);
  expect(c.improvements).toEqual([{ key: 'self_self/transfer', expected: 'failed', actual: 'passed' }]);
  expect(c.missing).toEqual(['x_y/z']);
});

test('artifact links are relative to the report and follow a moved results folder', () => {
  const dir = tmp();
  writeSyntheticRun(join(dir, 'old'), { scenario: 'handshake', client: 'self', server: 'self', verdict: 'passed', datagrams: 5, qlogEvents: 3 });
  // the result.json keeps absolute paths of its old place
  renameSync(join(dir, 'old'), join(dir, 'moved'));
  const m = loadModel(join(dir, 'moved'));
  const links = artifactList(m.runs[0]!, join(dir, 'moved'));
  expect(links.map((l) => [l.kind, l.rel, l.exists])).toEqual([
    ['trace', 'self_self/handshake/trace.txt', true],
    ['qlog', 'self_self/handshake/qlog/client-1.sqlog', true],
    ['qlog', 'self_self/handshake/qlog/server-1.sqlog', true],
  ]);
  // hrefs are URL paths: a folder named like a fragment or a query stays a path
  const odd = tmp();
  writeSyntheticRun(join(odd, 'run #2?'), { scenario: 'handshake', client: 'self', server: 'self', verdict: 'passed', datagrams: 5 });
  const l = artifactList(loadModel(odd).runs[0]!, odd)[0]!;
  expect([l.rel, l.href, l.exists]).toEqual(['run #2?/self_self/handshake/trace.txt', 'run%20%232%3F/self_self/handshake/trace.txt', true]);
});

test('trace and qlog readers: fates, goodput bins, carried-forward metrics', () => {
  const text = syntheticTrace(600);
  const full = scanTrace(text, 1e9);
  const rows = full.head;
  expect(rows).toHaveLength(600);
  expect(full.total).toBe(600);
  // the fast path (lines past the cap are not split) counts the same fates and goodput
  const fast = scanTrace(text, 10);
  expect(fast.head).toHaveLength(10);
  expect([fast.total, fast.fates, fast.goodput]).toEqual([full.total, full.fates, full.goodput]);
  const fates = new Set(rows.map((r) => r.fate));
  for (const f of ['delivered', 'dropped-by-loss', 'corrupted', 'truncated', 'duplicated', 'reordered']) expect(fates).toContain(f);
  expect(rows.some((r) => r.effects === 'delayed')).toBe(true);
  const g = full.goodput!;
  expect(g.binMs).toBe(100);
  expect(g.kbps.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  const q = qlogMetrics(syntheticQlog(20, 'server'), 'server-1.sqlog')!;
  expect(q.vantage).toBe('server');
  expect(q.t).toHaveLength(20);
  expect(q.cwnd.every((v) => typeof v === 'number')).toBe(true);
  // a metrics_updated with only some fields keeps the others from before
  const partial = '\x1e{"qlog_version":"0.3","trace":{"vantage_point":{"type":"client"}}}\n\x1e{"time":1,"name":"recovery:metrics_updated","data":{"congestion_window":100,"smoothed_rtt":5}}\n\x1e{"time":2,"name":"recovery:metrics_updated","data":{"bytes_in_flight":50}}\n';
  const p = qlogMetrics(partial, 'c.sqlog')!;
  expect(p.cwnd).toEqual([100, 100]);
  expect(p.inflight).toEqual([null, 50]);
  expect(p.smoothed).toEqual([5, 5]);
});

/** Splits a results folder into n shards cell by cell, as `--shard i/n` partitions cells; each shard's result.json
 * names its own folder, as a shard's run writes it. */
function shard(src: string, n: number): string[] {
  const m = loadModel(src);
  const dirs = Array.from({ length: n }, () => tmp());
  m.cells.forEach((c, i) => {
    for (const run of c.runs) {
      const to = join(dirs[i % n]!, run.rel);
      cpSync(run.dir, to, { recursive: true });
      writeFileSync(join(to, 'result.json'), readFileSync(run.path, 'utf8').split(src).join(dirs[i % n]!));
    }
  });
  return dirs;
}

const cellsOf = (dir: string) =>
  loadModel(dir).cells.map((c) => ({ key: c.key, verdict: c.verdict, runs: c.runs.map((r) => [r.repeat, r.result.verdict, r.result.traceHash, r.result.seed]) }));

test('merge: three shards give the same cells as the unsharded folder; artifacts and paths follow', async () => {
  const whole = tmp();
  smallMatrix(whole);
  const shards = shard(whole, 3);
  const out = join(tmp(), 'merged');
  const m = mergeResults(shards, { out });
  expect(m.duplicates).toBe(0);
  expect(cellsOf(out)).toEqual(cellsOf(whole));
  // hard links (same file system), and result.json rewritten to name the merged folder
  const r = json<{ artifacts: { trace: string }; replay: string }>(join(out, 'quiche_ngtcp2', 'transfer', 'result.json'));
  expect(r.artifacts.trace).toBe(join(out, 'quiche_ngtcp2', 'transfer', 'trace.txt'));
  expect(r.replay).toBe(`crosswire replay ${join(out, 'quiche_ngtcp2', 'transfer', 'result.json')}`);
  expect(statSync(join(out, 'quiche_ngtcp2', 'transfer', 'trace.txt')).nlink).toBeGreaterThan(1);

  // the command: one summary/JUnit/report for the shards, same summary results as the unsharded run
  const out2 = join(tmp(), 'merged');
  const res = await runCli(['merge', ...shards, '--out', out2]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect(res.stdout.toString()).toMatch(/merged 3 folder\(s\): 27 run\(s\)/);
  for (const f of ['report.html', 'junit.xml', 'summary.json']) expect(existsSync(join(out2, f))).toBe(true);
  writeReports(whole);
  const a = json<Summary>(join(whole, 'summary.json'));
  const b = json<Summary>(join(out2, 'summary.json'));
  expect(b.results).toEqual(a.results);
  expect(b.measurements).toEqual(a.measurements);
  expect(b.crosswire.cells).toEqual(a.crosswire.cells);
});

test('merge: an identical duplicate is kept once; a conflicting one is one error line and exit 2', async () => {
  const whole = tmp();
  smallMatrix(whole);
  const [s1, s2] = shard(whole, 2);
  // the same cell in both shards, identical → fine
  cpSync(join(whole, 'self_self', 'handshake'), join(s2!, 'self_self', 'handshake'), { recursive: true });
  cpSync(join(whole, 'self_self', 'handshake'), join(s1!, 'self_self', 'handshake'), { recursive: true });
  const ok = mergeResults([s1!, s2!], { out: join(tmp(), 'm') });
  expect(ok.duplicates).toBe(1);
  // now make them disagree
  const p = join(s2!, 'self_self', 'handshake', 'result.json');
  const r = json<Record<string, unknown>>(p);
  writeFileSync(p, JSON.stringify({ ...r, verdict: 'failed', reason: 'boom', traceHash: 'other' }));
  const res = await runCli(['merge', s1!, s2!, '--out', join(tmp(), 'm')]);
  expect(res.code).toBe(2);
  expect(res.stderr).toBe(`crosswire: merge: self_self/handshake is in ${s1} (passed) and ${s2} (failed) with different results\n`);
  // into a folder that already holds results
  const again = await runCli(['merge', s1!, '--out', whole]);
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(/^crosswire: merge: --out .* already holds results/);
});

test('merge --move: run folders are renamed into the merged folder, never written through a shared inode', async () => {
  const whole = tmp();
  smallMatrix(whole);
  const [s1, s2] = shard(whole, 2);
  // another copy sharing s1's inodes (as cp -al makes): merge must not change it
  const other = tmp();
  const kept = join(other, 'result.json');
  const movedRun = loadModel(s1!).runs.find((r) => r.rel === 'self_self/handshake') ?? loadModel(s1!).runs[0]!;
  linkSync(movedRun.path, kept);
  const before = readFileSync(kept, 'utf8');
  const out = join(tmp(), 'merged');
  const res = await runCli(['merge', s1!, s2!, '--out', out, '--move']);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  // runs at the top of a cell folder move in one piece; repetitions (rep-<n>) too
  expect(res.stdout.toString()).toMatch(/^merged 2 folder\(s\): 27 run\(s\) \(27 run folder\(s\) moved, 0 file\(s\) linked, 0 copied\)\n/);
  expect(cellsOf(out)).toEqual(cellsOf(whole));
  expect(findResultFiles(s1!)).toEqual([]);
  expect(findResultFiles(s2!)).toEqual([]);
  const r = json<{ replay: string }>(join(out, movedRun.rel, 'result.json'));
  expect(r.replay).toBe(`crosswire replay ${join(out, movedRun.rel, 'result.json')}`);
  expect(readFileSync(kept, 'utf8')).toBe(before);
  expect(existsSync(join(out, movedRun.rel, 'trace.txt')) || !movedRun.result.artifacts.trace).toBe(true);

  const both = await runCli(['merge', s1!, '--out', join(tmp(), 'm'), '--move', '--copy']);
  expect(both.code).toBe(2);
  expect(both.stderr).toBe('crosswire: --move and --copy exclude each other\n');
});

test('report command: rebuilds the three files; exit 2 with one line for missing or malformed input; --expect gates', async () => {
  const dir = tmp();
  smallMatrix(dir);
  const res = await runCli(['report', dir]);
  expect(res.code).toBe(0);
  expect(res.stdout.toString()).toMatch(/^report\.html \(\d+ kB\), junit\.xml and summary\.json in .*: 17 cell\(s\), 27 run\(s\)\n$/);
  for (const f of ['report.html', 'junit.xml', 'summary.json']) expect(existsSync(join(dir, f))).toBe(true);

  const expectFile = join(tmp(), 'expected.json');
  writeFileSync(expectFile, JSON.stringify({ ...expectedFromModel(loadModel(dir)), 'quiche_ngtcp2/transfer': 'passed' }));
  const gated = await runCli(['report', dir, '--expect', expectFile]);
  expect(gated.code).toBe(1);
  expect(gated.stderr).toBe('crosswire: regression: quiche_ngtcp2/transfer: expected passed, got failed\n');

  const empty = tmp();
  const e1 = await runCli(['report', empty]);
  expect([e1.code, e1.stderr]).toEqual([2, `crosswire: no result.json files under ${empty}\n`]);
  const e2 = await runCli(['report', join(empty, 'nope')]);
  expect([e2.code, e2.stderr]).toEqual([2, `crosswire: cannot read ${join(empty, 'nope')}: ENOENT\n`]);
  mkdirSync(join(empty, 'x'));
  writeFileSync(join(empty, 'x', 'result.json'), '[1, 2');
  const e3 = await runCli(['report', empty]);
  expect(e3.code).toBe(2);
  expect(e3.stderr).toMatch(/^crosswire: .*x\/result\.json: not JSON \(.*\)\n$/);
  const e4 = await runCli(['report', dir, '--baseline', join(empty, 'nope')]);
  expect(e4.code).toBe(2);
  expect(e4.stderr).toMatch(/^crosswire: cannot read baseline .*nope: ENOENT\n$/);
});

test('report.html is one self-contained file: no external references, uPlot and the data inlined, budgets respected', () => {
  const dir = tmp();
  smallMatrix(dir);
  writeSyntheticRun(dir, { scenario: 'bulk', client: 'self', server: 'self', verdict: 'failed', datagrams: 5000, qlogEvents: 3000 });
  const files = writeReports(dir, { html: { maxDatagrams: 2000 } });
  const html = readFileSync(files.html, 'utf8');
  expect(files.sizeBytes).toBe(Buffer.byteLength(html));
  // nothing fetched: no src/href/url()/@import to the network (uPlot's licence comment names its home page)
  expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+src=/i);
  expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
  expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\/|@import/i);
  expect(html).toContain('uPlot');
  const data = JSON.parse(/<script id="cw-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!);
  const bulk = data.runs.find((r: { rel: string }) => r.rel === 'self_self/bulk');
  expect(bulk.pn).toBe('at most 2000 datagrams per run');
  // a tiny budget: runs lose their datagrams, then their plots, and say so
  const small = writeReports(dir, { html: { maxInlineBytes: 3000 } });
  expect(small.htmlStats.omitted + small.htmlStats.reduced).toBeGreaterThan(0);
});

test('measurements: mean (± stdev) of the repetitions that passed; a failed repetition fails the measurement', () => {
  const dir = tmp();
  const values = [9000, 9200, 100];
  values.forEach((m, rep) => writeSyntheticRun(dir, { scenario: 'goodput', client: 'self', server: 'self', verdict: rep === 2 ? 'failed' : 'passed', repeat: rep, measurement: m }));
  writeSyntheticRun(dir, { scenario: 'crosstraffic', client: 'self', server: 'self', verdict: 'error', repeat: 0 });
  writeSyntheticRun(dir, { scenario: 'crosstraffic', client: 'self', server: 'self', verdict: 'passed', repeat: 1, measurement: 5000 });
  const s = json<Summary>(writeReports(dir).summary);
  expect(s.results).toEqual([[]]);
  expect(s.measurements).toEqual([
    [
      { name: 'crosstraffic', abbr: 'crosstraffic', result: 'failed', details: '5000 (± 0) kbps' },
      { name: 'goodput', abbr: 'goodput', result: 'failed', details: '9100 (± 141) kbps' },
    ],
  ]);
});

test('a partial run says so in all three files; expected results show in the report', () => {
  const dir = tmp();
  smallMatrix(dir);
  const files = writeReports(dir, { partial: true, expect: { ...expectedFromModel(loadModel(dir)), 'self_self/transfer': 'failed' } });
  expect(json<Summary>(files.summary).crosswire.partial).toBe(true);
  expect(readFileSync(files.junit, 'utf8')).toContain('<testsuites name="crosswire (partial run)"');
  const html = readFileSync(files.html, 'utf8');
  expect(html).toContain('<b>Partial report:</b>');
  expect(files.expected!.improvements).toEqual([{ key: 'self_self/transfer', expected: 'failed', actual: 'passed' }]);
  expect(html).toMatch(/"expected":\{"source":"expected results","regressions":0,"improvements":1/);
});
