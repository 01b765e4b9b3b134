// report.html in Debian's Chromium from file:// (issue 12): filters change the URL fragment and the visible cells, a
// reload of the filtered URL shows the same view, a failed cell opens its checks and sequence diagram, the plots hold
// data points. The matrix is built from real runs (`crosswire run` on a passing and a failing scenario, with
// --capture) copied to ngtcp2/quiche pairs with other verdicts, plus a flaky cell with three repetitions.
import { test, expect, type Page } from '@playwright/test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from './helpers/proc.js';
import { cloneRun } from './report-fixtures.js';
import { loadModel, writeReports, type ReportFiles } from '../reports/index.js';

/** Cannot pass: 1 ms for a 30 KiB download through loss, duplication and corruption (so every fate shows up). */
const IMPOSSIBLE = `name: handshake-impossible
protocol: quic
description: A download through 20% loss and a duplicating link that must finish within 1 ms, which it cannot.
requires: [handshake]
network:
  to-client: [{ loss: { rate: 0.2 } }, { duplicate: { rate: 0.1 } }]
  to-server: [{ corrupt: { rate: 0.1 } }]
client: { alpn: hq-interop, requests: [{ size: 30KiB }] }
expect: { handshakes: 1, files: identical, within: 1ms }
`;

const PEERS = ['self', 'ngtcp2', 'quiche'];
let dir = '';
let files: ReportFiles;
let url = '';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(180_000);
  dir = mkdtempSync(join(tmpdir(), 'crosswire-report-browser-'));
  const scenario = join(dir, 'impossible.yaml');
  writeFileSync(scenario, IMPOSSIBLE);
  const real = join(dir, 'real');
  const res = await runCli(['run', 'scenarios/quic/handshake.yaml', scenario, '--out', real, '--capture'], { timeoutMs: 120_000 });
  expect(res.code, res.stderr).toBe(1); // the impossible scenario fails
  const model = loadModel(real);
  const hs = model.runs.find((r) => r.result.scenario === 'handshake')!;
  const imp = model.runs.find((r) => r.result.scenario === 'handshake-impossible')!;
  expect(hs.result.verdict).toBe('passed');
  expect(imp.result.verdict).toBe('failed');

  const out = join(dir, 'matrix');
  for (const client of PEERS) {
    for (const server of PEERS) {
      const mixed = client !== server;
      cloneRun(hs, out, { client, server, verdict: client === 'quiche' && server === 'ngtcp2' ? 'unsupported' : 'passed', reason: 'ngtcp2 does not declare a common ALPN' });
      if (client === 'self' && server === 'self') cloneRun(imp, out, { client, server });
      else if (client === 'ngtcp2' && server === 'quiche') for (let rep = 0; rep < 3; rep++) cloneRun(imp, out, { client, server, verdict: rep === 1 ? 'failed' : 'passed', repeat: rep });
      else if (mixed) cloneRun(imp, out, { client, server, verdict: client === 'quiche' ? 'error' : 'passed', reason: 'harness: the quiche client did not start (exit 127)' });
    }
  }
  // quiche's h3 mode is crosswire's HTTP/3 over quiche: result.json's side label names it (peer.yaml alpn-labels)
  const labelled = join(out, 'self_quiche', 'handshake', 'result.json');
  const lr = JSON.parse(readFileSync(labelled, 'utf8'));
  lr.client = { ...lr.client, alpn: 'h3', label: "quiche (h3: crosswire's HTTP/3 over quiche)" };
  lr.server = { ...lr.server, alpn: 'h3' };
  writeFileSync(labelled, JSON.stringify(lr, null, 2) + '\n');
  // last night everything passed
  const baseline = join(dir, 'baseline.json');
  writeFileSync(baseline, JSON.stringify({ crosswire: { cells: loadModel(out).cells.map((c) => ({ key: c.key, verdict: 'passed' })) } }));
  files = writeReports(out, { baseline });
  url = pathToFileURL(files.html).href;
});

const ready = async (page: Page) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await expect(page.locator('body[data-ready="1"]')).toHaveCount(1);
  return errors;
};

test('the matrix: every cell shown with colour and letter; filters go to the URL fragment and a reload keeps the view', async ({ page }) => {
  await page.goto(url);
  const errors = await ready(page);
  const cells = page.locator('#matrix button.cell');
  // 9 handshake cells + 1 self×self + 6 mixed pairs (one of them flaky with 3 repetitions) = 16 cells
  await expect(cells).toHaveCount(16);
  await expect(page.locator('#counts')).toContainText('16 of 16 cells (18 runs)');
  await expect(page.locator('#matrix button.cell.v-failed')).toHaveCount(1);
  await expect(page.locator('#matrix button.cell.v-flaky')).toHaveText(['~2/3▲']);
  await expect(page.locator('#matrix button.cell.v-error')).toHaveText(['E▲', 'E▲']);
  await expect(page.locator('#matrix button.cell.v-unsupported')).toHaveText(['U▲']);
  // changed cells are listed first
  await expect(page.locator('#changes tr').first()).toContainText('new failure');

  await page.selectOption('#f-verdict', 'bad');
  await expect(page).toHaveURL(/#verdict=bad$/);
  await expect(cells).toHaveCount(4);
  await page.selectOption('#f-client', 'quiche');
  await expect(page).toHaveURL(/#client=quiche&verdict=bad$/);
  await expect(cells).toHaveCount(2);
  await expect(page.locator('#matrix button.cell.v-error')).toHaveCount(2);
  await page.fill('#f-q', 'ngtcp2');
  await expect(page).toHaveURL(/#client=quiche&verdict=bad&q=ngtcp2$/);
  await expect(cells).toHaveCount(1);

  const filtered = page.url();
  await page.reload();
  await ready(page);
  expect(page.url()).toBe(filtered);
  await expect(cells).toHaveCount(1);
  await expect(page.locator('#f-verdict')).toHaveValue('bad');
  await expect(page.locator('#f-client')).toHaveValue('quiche');
  await expect(page.locator('#f-q')).toHaveValue('ngtcp2');

  // the same link opened in a fresh page shows the same view
  const other = await page.context().newPage();
  await other.goto(filtered);
  await ready(other);
  await expect(other.locator('#matrix button.cell')).toHaveCount(1);

  // the pair × scenario view, filters kept
  await page.click('[data-view="pairs"]');
  await expect(page).toHaveURL(/view=pairs/);
  await expect(page.locator('table.pairs button.cell')).toHaveCount(1);
  await page.click('#f-reset');
  await expect(page.locator('table.pairs button.cell')).toHaveCount(16);
  await expect(page.locator('table.pairs th.pair')).toHaveCount(9);
  expect(errors).toEqual([]);
});

test('a failed cell opens its checks, replay command, artifacts, sequence diagram and plots', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.goto(url);
  const errors = await ready(page);
  await page.click('[data-scenario="handshake-impossible"] button.cell.v-failed');
  await expect(page).toHaveURL(/#run=self_self%2Fhandshake-impossible$/);
  const d = page.locator('#details');
  await expect(d).toBeVisible();
  await expect(d.locator('header h2')).toContainText('handshake-impossible');
  await expect(d.locator('.reason')).toHaveText(/^within: finished at [\d.]+ s \(limit 0\.001 s\)$/);
  await expect(d.locator('table.checks tr.notok')).toHaveCount(1);
  await expect(d.locator('table.checks tr.notok')).toContainText('within');
  await expect(d.locator('table.checks tr.ok')).toHaveCount(3);
  await expect(d.locator('.cmd code')).toHaveText(/^crosswire replay .*self_self\/handshake-impossible\/result\.json$/);
  await expect(d.locator('pre.yaml')).toContainText('within: 1ms');
  await expect(d.locator('pre.net')).toHaveText('to-client: [ { loss: { rate: 0.2 } }, { duplicate: { rate: 0.1 } } ]\nto-server: [ { corrupt: { rate: 0.1 } } ]');
  // artifacts are relative links that resolve next to the report
  const hrefs = await d.locator('a.art').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  expect(hrefs).toEqual(expect.arrayContaining(['self_self/handshake-impossible/trace.txt', 'self_self/handshake-impossible/capture.pcapng', 'self_self/handshake-impossible/keylog.txt']));
  expect(hrefs.some((h) => /^self_self\/handshake-impossible\/qlog\/.*\.sqlog$/.test(h!))).toBe(true);

  // the sequence diagram: datagrams both ways, drops and other fates drawn
  const seq = d.locator('#seq svg.seq-svg');
  await expect(seq).toBeVisible();
  expect(await seq.locator('g.dg').count()).toBeGreaterThan(20);
  expect(await seq.locator('g.dg[data-fate^="dropped-by-"] path.x').count()).toBeGreaterThan(0);
  expect(await seq.locator('g.dg[data-fate="duplicated"]').count()).toBeGreaterThan(0);
  expect(await seq.locator('g.dg[data-fate="corrupted"]').count()).toBeGreaterThan(0);
  await expect(seq.locator('text.lb').first()).toHaveText(/^Initial 1200 B$/);
  await d.locator('#seq input[data-imp]').first().check();
  const impaired = await seq.locator('g.dg').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-fate')));
  expect(impaired.length).toBeGreaterThan(0);

  // plots: uPlot drew series with data points
  await page.waitForFunction(() => (window as unknown as { __crosswire: { ready: boolean } }).__crosswire.ready);
  const series = await page.evaluate(() =>
    (window as unknown as { __crosswire: { plots: { data: (number | null)[][] }[] } }).__crosswire.plots.map((u) => u.data.slice(1).map((s) => s.filter((v) => v !== null).length)),
  );
  expect(series).toHaveLength(3); // cwnd + bytes in flight, RTT, goodput
  for (const s of series) for (const n of s) expect(n).toBeGreaterThan(0);
  expect(await d.locator('.plot canvas').count()).toBe(3);
  for (const p of await d.locator('.plot').all()) expect(Number(await p.getAttribute('data-points'))).toBeGreaterThan(0);

  await d.locator('#seq input[data-imp]').first().uncheck();
  await d.evaluate((el) => (el.scrollTop = 0));
  const shot = async (name: string, fullPage = false) => {
    const path = testInfo.outputPath(name);
    await page.screenshot({ path, fullPage });
    await testInfo.attach(name, { path, contentType: 'image/png' });
  };
  await shot('report-details.png');
  await d.evaluate((el) => (el.scrollTop = el.scrollHeight));
  await shot('report-plots.png');

  // Esc closes, the fragment forgets the run
  await page.keyboard.press('Escape');
  await expect(d).toBeHidden();
  await expect(page).not.toHaveURL(/run=/);
  await shot('report-matrix.png', true);
  expect(errors).toEqual([]);
});

test('a side whose ALPN is not the peer\'s own application layer shows its label next to the peer', async ({ page }) => {
  await page.goto(url + '#run=' + encodeURIComponent('self_quiche/handshake'));
  const errors = await ready(page);
  const d = page.locator('#details');
  await expect(d).toContainText("quiche 1.0 — quiche (h3: crosswire's HTTP/3 over quiche)");
  await expect(d).toContainText('quic (ALPN h3)');
  expect(errors).toEqual([]);
});

test('a flaky cell shows its pass rate and each failing repetition with its replay command', async ({ page }) => {
  await page.goto(url + '#run=' + encodeURIComponent('quiche_ngtcp2/handshake-impossible'));
  const errors = await ready(page);
  const d = page.locator('#details');
  await expect(d.locator('.reps h3')).toHaveText('Repetitions: 2 of 3 passed (67%) — flaky');
  await expect(d.locator('table.failing tr')).toHaveCount(2);
  await expect(d.locator('table.failing code')).toHaveText(/crosswire replay .*quiche_ngtcp2\/handshake-impossible\/rep-1\/result\.json/);
  await expect(d.locator('header h2 .v')).toHaveText('F failed'); // the failing repetition is shown first
  await d.locator('button.rep[data-rep="2"]').click();
  await expect(page).toHaveURL(/rep=2/);
  await expect(d.locator('header h2 .v')).toHaveText('P passed');
  await expect(d.locator('button.rep.on')).toHaveText('2');
  expect(errors).toEqual([]);
});
