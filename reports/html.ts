// report.html: one self-contained file (inline CSS, JS, data; uPlot inlined from node_modules at generation time),
// readable from file:// with no network. Heavy artifacts are linked, never inlined; each run's sequence-diagram and
// plot data is capped and gzipped, and the whole inlined payload has a budget so a full matrix stays a few MB.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { stringify as stringifyYaml } from 'yaml';
import type { Model, Run } from './model.js';
import { cellReason, oneLine } from './model.js';
import type { Change } from './history.js';
import type { ExpectComparison, ExpectedResults } from './expect.js';
import { artifactList, type ArtifactLink } from './artifacts.js';
import { encodePayload, plotPayload, readRunData, tracePayload } from './payload.js';
import { measurementDetails } from './summary.js';
import type { PageCell, PageData, PageRun } from './page-data.js';
import { reportApp } from './client/app.js';
import { REPORT_CSS } from './client/style.js';

export interface HtmlOptions {
  outDir: string;
  title?: string;
  generated?: Date;
  partial?: boolean;
  baseline?: { source: string; changes: Change[] };
  expected?: { source: string; results: ExpectedResults; comparison: ExpectComparison };
  /** Datagrams inlined per run for the sequence diagram (default 2,000). */
  maxDatagrams?: number;
  /** Datagrams inlined per passed run (default 500): failures get the most room. */
  maxDatagramsPassed?: number;
  /** Budget for all inlined run data, in bytes of base64 (default 5 MB): 40% for plots, 60% for datagrams. */
  maxInlineBytes?: number;
  /** Datagrams per page of the sequence diagram (default 200). */
  pageSize?: number;
  /** Bytes of each run's trace.txt read (default 16 MB); qlog files have their own limits (qlog.ts). */
  maxTraceBytes?: number;
}

export interface HtmlStats {
  /** Runs that lost their datagrams or plots to the budget, and runs without any inlined data. */
  reduced: number;
  omitted: number;
  payloadBytes: number;
}

let uplotAssets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  if (!uplotAssets) {
    const require = createRequire(import.meta.url);
    uplotAssets = {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  }
  return uplotAssets;
}

/** Network settings as compact YAML: one line per direction (or setting), impairments in flow style. */
export function networkText(net: unknown): string {
  try {
    if (net && typeof net === 'object' && !Array.isArray(net)) {
      return Object.entries(net as Record<string, unknown>)
        .map(([k, v]) => `${k}: ${stringifyYaml(v, { collectionStyle: 'flow' }).trim()}`)
        .join('\n');
    }
    return stringifyYaml(net, { collectionStyle: 'flow' }).trim();
  } catch {
    return JSON.stringify(net);
  }
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** JSON safe inside <script>: no "</script", no U+2028/2029 surprises. */
const scriptJson = (x: unknown) => JSON.stringify(x).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
/** Inline JS must not close its <script> element early. */
const scriptJs = (js: string) => js.replace(/<\/(script)/gi, '<\\/$1');

export function renderHtml(model: Model, opts: HtmlOptions): { html: string; stats: HtmlStats } {
  const maxDg = opts.maxDatagrams ?? 2000;
  const maxDgPassed = opts.maxDatagramsPassed ?? 500;
  const budget = opts.maxInlineBytes ?? 5_000_000;
  const generated = opts.generated ?? new Date();

  const texts: string[] = [];
  const textIdx = new Map<string, number>();
  const scenarios = model.scenarios.map((s) => {
    const out: PageData['scenarios'][number] = { n: s.name, p: s.protocol, d: s.description, file: s.file };
    if (s.network !== undefined) out.net = networkText(s.network);
    if (s.yaml !== undefined) {
      let i = textIdx.get(s.yaml);
      if (i === undefined) {
        textIdx.set(s.yaml, (i = texts.length));
        texts.push(s.yaml);
      }
      out.y = i;
    }
    return out;
  });
  const sIdx = new Map(model.scenarios.map((s, i) => [s.name, i]));
  const cIdx = new Map(model.clients.map((c, i) => [c, i]));
  const vIdx = new Map(model.servers.map((c, i) => [c, i]));
  const changeOf = new Map((opts.baseline?.changes ?? []).map((c) => [c.key, c]));
  const expected = opts.expected?.results;

  const runs: PageRun[] = [];
  const runOf = new Map<Run, number>();
  const artifactsOf = new Map<Run, ArtifactLink[]>();
  const cells: PageCell[] = model.cells.map((cell, ci) => {
    const runIdx = cell.runs.map((run) => {
      const r = run.result;
      const pr: PageRun = {
        cell: ci,
        rep: run.repeat,
        verdict: r.verdict,
        reason: r.reason,
        seed: r.seed,
        checks: r.checks.map((c) => {
          const pc: PageRun['checks'][number] = { n: String(c.name), ok: !!c.ok, d: typeof c.detail === 'string' ? c.detail : '' };
          if (c.expected !== undefined) pc.x = String(c.expected);
          if (c.observed !== undefined) pc.o = String(c.observed);
          return pc;
        }),
        replay: r.replay,
        hash: r.traceHash,
        simMs: r.simulatedMs,
        wallMs: r.wallMs,
        metrics: r.metrics,
        cv: r.client.version ?? '',
        sv: r.server.version ?? '',
        links: artifactsOf.set(run, artifactList(run, opts.outDir)).get(run)!.map((a) => ({ k: a.kind, l: a.label, h: a.href, ok: a.exists })),
        file: r.file,
        rel: run.rel,
      };
      if (r.network !== undefined) pr.network = networkText(r.network);
      const alpn = r.client.alpn ?? r.server.alpn;
      if (alpn) pr.alpn = alpn;
      if (r.client.label) pr.cl = r.client.label;
      if (r.server.label) pr.sl = r.server.label;
      if (typeof r.measurement === 'number') pr.m = r.measurement;
      runOf.set(run, runs.length);
      runs.push(pr);
      return runs.length - 1;
    });
    const pc: PageCell = {
      k: cell.key,
      s: sIdx.get(cell.scenario)!,
      c: cIdx.get(cell.client)!,
      v: vIdx.get(cell.server)!,
      r: cell.verdict,
      runs: runIdx,
      pass: cell.passed,
      reason: oneLine(cellReason(cell)),
    };
    const ch = changeOf.get(cell.key);
    if (ch) {
      pc.ch = ch.kind;
      if (ch.from) pc.from = ch.from;
    }
    const exp = expected?.[cell.key];
    if (exp !== undefined && exp !== cell.verdict) pc.x = exp;
    if (cell.measurement) pc.m = measurementDetails(cell.measurement);
    return pc;
  });

  // Inline run data within the budget: failures first, plots and datagrams from separate pools so that every run
  // keeps its plots as long as possible.
  const blobs: string[] = [];
  const stats: HtmlStats = { reduced: 0, omitted: 0, payloadBytes: 0 };
  let plotPool = Math.floor(budget * 0.4);
  let tracePool = budget - plotPool;
  const order = model.cells.flatMap((c) => c.runs).sort((a, b) => Number(a.result.verdict === 'passed') - Number(b.result.verdict === 'passed'));
  for (const run of order) {
    const pr = runs[runOf.get(run)!]!;
    const arts = artifactsOf.get(run)!;
    const tracePath = arts.find((a) => a.kind === 'trace' && a.exists)?.path;
    const qlogs = arts.filter((a) => a.kind === 'qlog' && a.exists).map((a) => ({ path: a.path, name: a.path.split(/[\\/]/).pop()! }));
    if (!tracePath && !qlogs.length) {
      pr.pn = run.result.artifacts.trace ? 'the trace file was not found' : 'no trace recorded';
      continue;
    }
    if (plotPool <= 0 && tracePool <= 0) {
      stats.omitted++;
      pr.pn = 'not inlined: the report reached its size budget; open trace.txt and the qlog files';
      continue;
    }
    const passed = run.result.verdict === 'passed';
    const cap = passed ? maxDgPassed : maxDg;
    const data = readRunData(tracePath, qlogs, { cap: tracePool > 0 ? cap : 0, maxPoints: passed ? 200 : 600, ...(opts.maxTraceBytes ? { traceBytes: opts.maxTraceBytes } : {}) });
    const plots = encodePayload(plotPayload(data));
    if (plots.length <= plotPool) {
      pr.p = blobs.length;
      blobs.push(plots);
      plotPool -= plots.length;
      stats.payloadBytes += plots.length;
    }
    if (data.scan && data.scan.head.length) {
      const trace = encodePayload(tracePayload(data.scan));
      if (trace.length <= tracePool) {
        pr.q = blobs.length;
        blobs.push(trace);
        tracePool -= trace.length;
        stats.payloadBytes += trace.length;
        if (data.scan.total > cap) pr.pn = passed ? `at most ${cap} datagrams per passed run` : `at most ${cap} datagrams per run`;
      }
    }
    if (pr.p === undefined && pr.q === undefined) {
      stats.omitted++;
      pr.pn = 'not inlined: the report reached its size budget; open trace.txt and the qlog files';
    } else if (data.scan?.total && pr.q === undefined) {
      stats.reduced++;
      pr.pn = 'datagrams not inlined: the report reached its size budget';
    } else if (pr.p === undefined) {
      stats.reduced++;
      pr.pn = 'plots not inlined: the report reached its size budget';
    }
  }

  const title = opts.title ?? 'crosswire interop report';
  const page: PageData = {
    title,
    generated: generated.toISOString(),
    root: opts.outDir,
    partial: !!opts.partial,
    version: model.runs.find((r) => r.result.version)?.result.version ?? '',
    clients: model.clients,
    servers: model.servers,
    scenarios,
    texts,
    cells,
    runs,
    pageSize: opts.pageSize ?? 200,
  };
  if (opts.baseline) page.baseline = opts.baseline;
  if (opts.expected) {
    const c = opts.expected.comparison;
    page.expected = { source: opts.expected.source, regressions: c.regressions.length, improvements: c.improvements.length, other: c.other.length, missing: c.missing.length };
  }

  const protocols = [...new Set(model.scenarios.map((s) => s.protocol))];
  const option = (v: string, label = v) => `<option value="${esc(v)}">${esc(label)}</option>`;
  const select = (id: string, label: string, all: string, values: string[]) =>
    `<label>${label} <select id="${id}">${option('', all)}${values.map((v) => option(v)).join('')}</select></label>`;
  const verdictOptions: [string, string][] = [
    ['', 'all'],
    ['passed', 'passed (P)'],
    ['failed', 'failed (F)'],
    ['unsupported', 'unsupported (U)'],
    ['error', 'error (E)'],
    ['flaky', 'flaky (~)'],
    ['bad', 'not passed (F, E, ~)'],
    ...(opts.baseline ? ([['changed', 'changed since baseline']] as [string, string][]) : []),
    ...(opts.expected ? ([['unexpected', 'not as expected']] as [string, string][]) : []),
  ];
  const counts = { runs: model.runs.length, cells: model.cells.length };
  const { js, css } = uplot();

  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="crosswire ${esc(page.version)}">
<title>${esc(title)}${opts.partial ? ' (partial)' : ''}</title>
<style>${css}</style>
<style>${REPORT_CSS}</style>
</head>
<body>
<header class="top">
<h1>${esc(title)}</h1>
<div class="meta">${counts.cells} cells, ${counts.runs} runs · ${model.clients.length} client(s) × ${model.servers.length} server(s) × ${model.scenarios.length} scenario(s) · results in <code>${esc(opts.outDir)}</code> · generated ${esc(generated.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))}${page.version ? ` · crosswire ${esc(page.version)}` : ''}</div>
</header>
${opts.partial ? '<div class="banner" id="partial"><b>Partial report:</b> the run was interrupted; only the cells that finished are shown.</div>' : ''}
<nav class="filters" aria-label="filters">
<span class="views" role="group" aria-label="view"><button type="button" data-view="grid">Per scenario</button><button type="button" data-view="pairs">Pairs × scenarios</button></span>
${select('f-proto', 'protocol', 'all', protocols)}
${select('f-client', 'client', 'all', model.clients)}
${select('f-server', 'server', 'all', model.servers)}
<label>verdict <select id="f-verdict">${verdictOptions.map(([v, l]) => option(v, l)).join('')}</select></label>
<label>text <input type="search" id="f-q" placeholder="scenario, peer, reason…" autocomplete="off"></label>
<button type="button" id="f-reset">reset filters</button>
</nav>
<section class="panel" id="changes" hidden></section>
<section class="panel" id="expected" hidden></section>
<div id="counts"></div>
<main id="matrix"><noscript><p>This report draws its matrix with JavaScript; summary.json and junit.xml hold the same results.</p></noscript></main>
<aside id="details" hidden aria-label="run details"></aside>
<script id="cw-data" type="application/json">${scriptJson(page)}</script>
<script id="cw-blobs" type="application/json">${scriptJson(blobs)}</script>
<script>${scriptJs(js)}</script>
<script>(${scriptJs(reportApp.toString())})();</script>
</body>
</html>
`;
  return { html, stats };
}
