// One report across protocols (issue 12): `crosswire merge` of a QUIC, a TLS and a DTLS results folder (each with
// its own peers and its own summary.json, as three matrix runs write them) gives one summary.json, junit.xml and
// report.html holding every cell; the report's protocol filter shows one protocol at a time. The QUIC folder is moved
// after its run, so its result files name a folder that no longer exists: the merged files must name the merged one.
import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from './helpers/proc.js';
import { writeSyntheticRun, type SyntheticRun } from './report-fixtures.js';
import { writeReports, type Summary } from '../reports/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-combined-'));
const json = <T = unknown>(p: string) => JSON.parse(readFileSync(p, 'utf8')) as T;

/** One protocol's matrix: every scenario for every client × server, a failure where `fails` says. */
function matrix(root: string, protocol: string, scenarios: string[], clients: string[], servers: string[], fails: (r: SyntheticRun) => boolean): number {
  let n = 0;
  for (const client of clients) {
    for (const server of servers) {
      for (const scenario of scenarios) {
        const r: SyntheticRun = { scenario, protocol, client, server, verdict: 'passed', datagrams: 20, qlogEvents: protocol === 'quic' ? 10 : 0 };
        if (fails(r)) Object.assign(r, { verdict: 'failed', reason: `${scenario}: no handshake` });
        writeSyntheticRun(root, r);
        n++;
      }
    }
  }
  writeReports(root, { clients, servers });
  return n;
}

let out = '';
let quicMoved = '';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const base = tmp();
  const quicRan = join(base, 'quic-ran');
  const tls = join(base, 'tls');
  const dtls = join(base, 'dtls');
  // QUIC: 2 × 2 × 2 = 8 runs; TLS: 2 × 2 × 2 = 8 (openssl-3.0 only here); DTLS: 1 × 2 × 1 = 2
  expect(matrix(quicRan, 'quic', ['handshake', 'transfer'], ['self', 'ngtcp2'], ['self', 'quiche'], (r) => r.client === 'ngtcp2' && r.server === 'quiche' && r.scenario === 'transfer')).toBe(8);
  expect(matrix(tls, 'tls', ['tls-handshake', 'tls-hrr'], ['self', 'openssl-3.0'], ['self', 'openssl-3.0'], (r) => r.client === 'openssl-3.0' && r.scenario === 'tls-hrr' && r.server === 'self')).toBe(8);
  expect(matrix(dtls, 'dtls', ['dtls-cookie-exchange'], ['self'], ['self', 'openssl-3.0'], () => false)).toBe(2);
  quicMoved = join(base, 'quic-downloaded');
  renameSync(quicRan, quicMoved);
  out = join(base, 'all');
  const res = await runCli(['merge', quicMoved, tls, dtls, '--out', out]);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect(res.stdout.toString()).toMatch(/^merged 3 folder\(s\): 18 run\(s\)/);
  expect(res.stdout.toString()).toMatch(/report\.html \(\d+ kB\), junit\.xml and summary\.json in .*: 18 cell\(s\), 18 run\(s\)\n$/);
});

test('summary.json and junit.xml hold the cells of every protocol', () => {
  const s = json<Summary>(join(out, 'summary.json'));
  expect(s.clients).toEqual(['self', 'ngtcp2', 'openssl-3.0']);
  expect(s.servers).toEqual(['self', 'quiche', 'openssl-3.0']);
  expect(Object.keys(s.tests).sort()).toEqual(['dtls-cookie-exchange', 'handshake', 'tls-handshake', 'tls-hrr', 'transfer']);
  // indexed as quic-interop-runner's viewer does: client index × servers + server index
  const at = (client: string, server: string, test: string) =>
    s.results[s.clients.indexOf(client) * s.servers.length + s.servers.indexOf(server)]!.find((t) => t.abbr === test)!.result;
  expect(at('ngtcp2', 'quiche', 'transfer')).toBe('failed');
  expect(at('self', 'self', 'handshake')).toBe('succeeded');
  expect(at('openssl-3.0', 'self', 'tls-hrr')).toBe('failed');
  expect(at('self', 'openssl-3.0', 'dtls-cookie-exchange')).toBe('succeeded');
  // a pair that ran no QUIC has no QUIC result, as QIR writes a test a pair did not run
  expect(at('openssl-3.0', 'openssl-3.0', 'handshake')).toBeNull();
  const cells = s.crosswire.cells;
  expect(cells).toHaveLength(18);
  const byProtocol = (prefix: RegExp) => cells.filter((c) => prefix.test(c.scenario)).length;
  expect([byProtocol(/^(handshake|transfer)$/), byProtocol(/^tls-/), byProtocol(/^dtls-/)]).toEqual([8, 8, 2]);

  // every result file names the merged folder, including the QUIC runs whose folder was moved after they ran
  for (const r of s.crosswire.runs) {
    const raw = readFileSync(join(out, r.result), 'utf8');
    expect(raw).not.toContain('quic-ran');
    expect(raw).not.toContain(quicMoved);
    expect(r.replay).toBe(`crosswire replay ${join(out, r.result)}`);
  }
  const q = json<{ artifacts: { trace: string } }>(join(out, 'quiche_ngtcp2', 'transfer', 'result.json'));
  expect(q.artifacts.trace).toBe(join(out, 'quiche_ngtcp2', 'transfer', 'trace.txt'));

  const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
  const suites = [...junit.matchAll(/<testsuite name="([^"]+)"[^>]*tests="(\d+)"/g)].map((m) => `${m[1]} ${m[2]}`).sort();
  expect(suites).toEqual(
    [
      'ngtcp2 (client) × quiche (server) 2',
      'ngtcp2 (client) × self (server) 2',
      'openssl-3.0 (client) × openssl-3.0 (server) 2',
      'openssl-3.0 (client) × self (server) 2',
      'self (client) × openssl-3.0 (server) 3',
      'self (client) × quiche (server) 2',
      'self (client) × self (server) 5',
    ].sort(),
  );
});

test('report.html: one matrix for all protocols; the protocol filter shows one at a time and keeps it in the URL', async ({ page }) => {
  await page.goto(pathToFileURL(join(out, 'report.html')).href);
  await expect(page.locator('body[data-ready="1"]')).toHaveCount(1);
  await expect(page.locator('#f-proto option')).toHaveText(['all', 'quic', 'tls', 'dtls']);
  const cells = page.locator('#matrix button.cell');
  await expect(cells).toHaveCount(18);
  await expect(page.locator('#counts')).toContainText('18 of 18 cells (18 runs)');
  // each protocol's grids have only the peers that ran it: no row or column of openssl-3.0 in a QUIC grid
  const grid = (scenario: string, scope: 'col' | 'row') => page.locator(`#matrix .card[data-scenario="${scenario}"] th[scope="${scope}"]`);
  await expect(grid('handshake', 'col')).toHaveText(['self', 'quiche']);
  await expect(grid('handshake', 'row')).toHaveText(['self', 'ngtcp2']);
  await expect(grid('tls-hrr', 'col')).toHaveText(['self', 'openssl-3.0']);
  await expect(grid('tls-hrr', 'row')).toHaveText(['self', 'openssl-3.0']);
  await expect(grid('dtls-cookie-exchange', 'row')).toHaveText(['self']);
  // per protocol: its cells, and one card per scenario of that protocol only
  for (const [proto, n, scenarios] of [['tls', 8, 2], ['dtls', 2, 1], ['quic', 8, 2]] as const) {
    await page.selectOption('#f-proto', proto);
    await expect(page).toHaveURL(new RegExp(`#.*proto=${proto}`));
    await expect(cells).toHaveCount(n);
    await expect(page.locator('#matrix .card h3 .proto')).toHaveText(Array<string>(scenarios).fill(proto));
  }
  // a reload of the filtered URL shows the same view; a TLS cell opens with its checks
  await page.selectOption('#f-proto', 'tls');
  await page.reload();
  await expect(page.locator('body[data-ready="1"]')).toHaveCount(1);
  await expect(cells).toHaveCount(8);
  await page.locator('#matrix button.cell.v-failed').first().click();
  await expect(page.locator('#details')).toBeVisible();
  await expect(page.locator('#details')).toContainText('tls-hrr: no handshake');
});
