// Report benchmark (issue 12: "crosswire report on 1,000 runs finishes in seconds and the page stays responsive"):
// writes 1,000 synthetic runs (5 clients × 4 servers × 40 scenarios, two of them repeated 5 times; traces from 40 to
// 8,000 datagrams, qlog files for QUIC runs), then times writeReports and its phases and prints the sizes. With
// --browser it also opens report.html in Chromium and times the first render, a filter and opening a run.
// With --dir PATH it also measures a real results folder (e.g. a 2 GB QUIC matrix with captures, qlogs and peer
// logs): report (without writing into PATH) and merge of its pair folders split in two shard-like halves, printed
// as ratios against the same measurements of the synthetic folder in this run. Printed numbers only; nothing here
// asserts a time.
//
// Run: npm run build && node dist/bench/report.js [--runs-dir DIR [--reuse]] [--keep] [--browser] [--dir PATH] [--json]

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { measureFolder, type FolderTimes } from './report-real.js';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { writeSyntheticRun, prng, type SyntheticRun } from '../test/report-fixtures.js';
import { buildJunit, buildSummary, loadModel, renderHtml, writeReports } from '../reports/index.js';
import { emitBench, logger } from './emit.js';

const args = process.argv.slice(2);
const log = logger(args.includes('--json'));
const flag = (name: string) => args.includes(name);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

const CLIENTS = ['self', 'ngtcp2', 'quiche', 'openssl', 'picoquic'];
const SERVERS = ['self', 'ngtcp2', 'quiche', 'openssl'];

/** 42 scenarios: 32 handshake-sized (40 datagrams), 8 transfers (1,500), goodput and crosstraffic (8,000, 5 runs):
 * 50 runs per pair, 1,000 runs in all. */
function scenarios(): { name: string; protocol: string; datagrams: number; reps: number; measured: boolean }[] {
  const out = [];
  for (let i = 0; i < 32; i++) out.push({ name: `case-${String(i).padStart(2, '0')}`, protocol: i % 6 === 5 ? 'dtls' : 'quic', datagrams: 40, reps: 1, measured: false });
  for (let i = 0; i < 8; i++) out.push({ name: `transfer-${i}`, protocol: 'quic', datagrams: 1500, reps: 1, measured: false });
  out.push({ name: 'goodput', protocol: 'quic', datagrams: 8000, reps: 5, measured: true });
  out.push({ name: 'crosstraffic', protocol: 'quic', datagrams: 8000, reps: 5, measured: true });
  return out;
}

function generate(root: string): number {
  const rnd = prng(12);
  let n = 0;
  for (const client of CLIENTS) {
    for (const server of SERVERS) {
      for (const s of scenarios()) {
        const flakyCell = s.reps > 1 && rnd() < 0.1;
        for (let rep = 0; rep < s.reps; rep++) {
          const x = rnd();
          let verdict: SyntheticRun['verdict'] = x < 0.85 ? 'passed' : x < 0.92 ? 'failed' : x < 0.97 ? 'unsupported' : 'error';
          if (s.reps > 1) verdict = flakyCell && rep === 2 ? 'failed' : 'passed';
          writeSyntheticRun(root, {
            scenario: s.name,
            protocol: s.protocol,
            client,
            server,
            verdict,
            ...(s.reps > 1 ? { repeat: rep } : {}),
            ...(s.measured ? { measurement: 9000 + rnd() * 600 } : {}),
            datagrams: verdict === 'unsupported' ? 0 : s.datagrams,
            qlogEvents: s.protocol === 'quic' && verdict !== 'unsupported' ? Math.min(1000, s.datagrams / 2) : 0,
            seed: n + 1,
            wallMs: Math.round(20 + rnd() * 2000),
          });
          n++;
        }
      }
    }
  }
  return n;
}

const ms = (t: number) => `${t.toFixed(0)} ms`;
const size = (b: number) => (b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(2)} MB` : `${(b / 1024).toFixed(0)} kB`);

const root = opt('--runs-dir') ?? mkdtempSync(join(tmpdir(), 'crosswire-bench-report-'));
let t0 = performance.now();
const written = flag('--reuse') ? loadModel(root).runs.length : generate(root);
log(`${flag('--reuse') ? 'reusing' : 'generated'} ${written} runs in ${root} (${ms(performance.now() - t0)})`);

// Phases, then the whole call as `crosswire report` makes it.
t0 = performance.now();
const model = loadModel(root);
const tLoad = performance.now() - t0;
t0 = performance.now();
const summary = buildSummary(model, { startTime: 0, endTime: 0, logDir: root, outDir: root });
const tSummary = performance.now() - t0;
t0 = performance.now();
const junit = buildJunit(model, { outDir: root });
const tJunit = performance.now() - t0;
t0 = performance.now();
const { html, stats } = renderHtml(model, { outDir: root });
const tHtml = performance.now() - t0;
log(`model: ${model.runs.length} runs, ${model.cells.length} cells (${model.cells.filter((c) => c.flaky).length} flaky), ${model.clients.length} clients × ${model.servers.length} servers × ${model.scenarios.length} scenarios`);
log(`phases: load ${ms(tLoad)}, summary ${ms(tSummary)}, junit ${ms(tJunit)}, html ${ms(tHtml)} (reads traces and qlogs, gzips payloads)`);
void summary;
void junit;
void html;

const runs = 3;
const times: number[] = [];
const cpu: number[] = [];
let files = writeReports(root);
for (let i = 0; i < runs; i++) {
  t0 = performance.now();
  const c0 = process.cpuUsage();
  files = writeReports(root);
  times.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
// CPU time next to wall time: on a shared machine the wall time also measures the neighbours.
log(`writeReports(${written} runs): median ${ms(times[1]!)} wall, ${ms(cpu[1]!)} CPU, of ${runs} (wall min ${ms(times[0]!)}, max ${ms(times[2]!)}); load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs`);
log(
  `report.html ${size(files.sizeBytes)} (inlined run data ${size(stats.payloadBytes)}; ${stats.reduced} run(s) without datagrams, ${stats.omitted} without plots by the budget), ` +
    `junit.xml ${size(statSync(files.junit).size)}, summary.json ${size(statSync(files.summary).size)}`,
);

if (flag('--browser')) {
  const { chromium } = await import('@playwright/test');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  t0 = performance.now();
  await page.goto(pathToFileURL(files.html).href);
  await page.waitForSelector('body[data-ready="1"]');
  const tReady = performance.now() - t0;
  const cells = await page.locator('#matrix button.cell').count();
  t0 = performance.now();
  await page.selectOption('#f-verdict', 'bad');
  await page.waitForFunction(() => location.hash.includes('verdict=bad'));
  const tFilter = performance.now() - t0;
  t0 = performance.now();
  await page.locator('#matrix button.cell').first().click();
  await page.waitForFunction(() => (window as unknown as { __crosswire: { ready: boolean } }).__crosswire.ready);
  const tOpen = performance.now() - t0;
  t0 = performance.now();
  await page.goto(pathToFileURL(files.html).href + '#run=' + encodeURIComponent('self_self/goodput'));
  await page.waitForFunction(() => (window as unknown as { __crosswire: { ready: boolean } }).__crosswire.ready);
  const tBig = performance.now() - t0;
  const inPage = await page.evaluate(() => (window as unknown as { __crosswire: { parseMs: number; renderMs: number; detailsMs: number } }).__crosswire);
  log(`chromium: load to first matrix ${ms(tReady)} (${cells} cells), filter ${ms(tFilter)}, open a failed run ${ms(tOpen)}, load + open goodput (8,000 datagrams, 5 runs) ${ms(tBig)}`);
  log(`  in the page (last load): JSON ${ms(inPage.parseMs)}, matrix render ${ms(inPage.renderMs)}, details with diagram and plots ${ms(inPage.detailsMs)}`);
  await browser.close();
}

const real = opt('--dir');
if (real) {
  // The synthetic folder measured the same way as the real one, in this run, on this machine: the ratios are what
  // to compare between sessions (absolute times move with the neighbours' load).
  const line = (label: string, t: FolderTimes) =>
    `${label}: ${t.runs} runs, ${size(t.bytes)} on disk; report ${ms(t.reportMs)} wall (${ms(t.reportCpuMs)} CPU; first pass ${ms(t.firstReportMs)}), merge of 2 halves ${ms(t.mergeMs)} wall (${ms(t.mergeCpuMs)} CPU, ${t.files} files linked), with --move ${ms(t.moveMs)} wall (${ms(t.moveCpuMs)} CPU), report.html ${size(t.htmlBytes)}`;
  const base = measureFolder(root);
  console.log(line('synthetic', base));
  const t = measureFolder(real);
  console.log(line(`real ${real}`, t));
  const r = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  console.log(
    `real / synthetic: report ${r(t.reportMs, base.reportMs)} wall, ${r(t.reportCpuMs, base.reportCpuMs)} CPU; per run ${r(t.reportMs / t.runs, base.reportMs / base.runs)}; ` +
      `merge ${r(t.mergeMs, base.mergeMs)} wall, --move ${r(t.moveMs, base.moveMs)}; report.html ${r(t.htmlBytes, base.htmlBytes)}; bytes on disk ${r(t.bytes, base.bytes)}; load average ${loadavg()[0]!.toFixed(1)}`,
  );
}

if (!flag('--keep') && !opt('--runs-dir')) rmSync(root, { recursive: true, force: true });
if (flag('--json')) {
  emitBench({
    bench: 'report',
    metrics: [
      { id: 'report.write-1000.wall', name: `writeReports, ${written} runs (median wall)`, value: times[1]! / 1000, unit: 's', better: 'lower' },
      { id: 'report.write-1000.cpu', name: `writeReports, ${written} runs (median CPU)`, value: cpu[1]! / 1000, unit: 's', better: 'lower' },
      { id: 'report.html-size', name: 'report.html size', value: files.sizeBytes / 1024 / 1024, unit: 'MB', better: 'lower' },
    ],
  });
}
