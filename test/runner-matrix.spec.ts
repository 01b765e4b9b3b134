// Matrix runs as CI uses them (issue 12): shards merged back equal the unsharded run, --repeat marks a flaky cell,
// --expect gates on regressions, --write-expect records the state, and an --out holding an earlier run is refused.
import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/proc.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-matrix-'));
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

const SCENARIOS = ['scenarios/quic/handshake.yaml', 'scenarios/quic/retry.yaml', 'scenarios/quic/resumption.yaml', 'scenarios/quic/v2.yaml', 'scenarios/dtls/cookie-exchange.yaml', 'scenarios/api/conclude-fin.yaml'];

/** One handshake through 50% loss with a tight deadline: in virtual time seeds 1–6 give passes and failures. */
const FLAKY = `name: flaky-handshake
protocol: quic
description: one handshake through heavy loss with a tight deadline; passes for some seeds, not others
requires: [handshake]
network:
  to-server: [{ loss: { rate: 0.5 } }]
  to-client: [{ loss: { rate: 0.5 } }]
client: { alpn: hq-interop, requests: [{ size: 1KiB }] }
expect: { handshakes: 1, files: identical, within: 1500ms }
`;

type Cell = { key: string; verdict: string };
const cells = (dir: string) => (json(join(dir, 'summary.json')).crosswire.cells as Cell[]).map((c) => `${c.key} ${c.verdict}`).sort();
const hashes = (dir: string) => (json(join(dir, 'summary.json')).crosswire.runs as { scenario: string; traceHash: string }[]).map((r) => `${r.scenario} ${r.traceHash}`).sort();

test('--shard 1/3 + 2/3 + 3/3 merged gives the cells of the unsharded run; every cell lands in exactly one shard', async () => {
  test.setTimeout(300_000);
  const dir = tmp();
  const whole = await runCli(['run', ...SCENARIOS, '--out', join(dir, 'whole')], { timeoutMs: 200_000 });
  expect(whole.code).toBe(0);
  const shardCells: string[][] = [];
  for (const i of [1, 2, 3]) {
    const r = await runCli(['run', ...SCENARIOS, '--shard', `${i}/3`, '--out', join(dir, `shard${i}`)], { timeoutMs: 200_000 });
    expect(r.code).toBe(0);
    shardCells.push(cells(join(dir, `shard${i}`)));
  }
  const all = shardCells.flat();
  expect(new Set(all).size).toBe(all.length); // no cell twice
  expect(all.sort()).toEqual(cells(join(dir, 'whole')));
  expect(shardCells.every((c) => c.length > 0)).toBe(true); // balanced: no empty shard
  const m = await runCli(['merge', join(dir, 'shard1'), join(dir, 'shard2'), join(dir, 'shard3'), '--out', join(dir, 'merged')], { timeoutMs: 100_000 });
  expect(m.code, m.stderr).toBe(0);
  expect(cells(join(dir, 'merged'))).toEqual(cells(join(dir, 'whole')));
  expect(hashes(join(dir, 'merged'))).toEqual(hashes(join(dir, 'whole')));
  expect(existsSync(join(dir, 'merged', 'report.html'))).toBe(true);
  expect(readFileSync(join(dir, 'merged', 'junit.xml'), 'utf8')).toContain('<testsuite');
  // The same partition on every machine: a second shard run picks the same cells.
  const again = await runCli(['run', ...SCENARIOS, '--shard', '2/3', '--out', join(dir, 'again')], { timeoutMs: 200_000 });
  expect(again.code).toBe(0);
  expect(cells(join(dir, 'again'))).toEqual(shardCells[1]);
});

test('--repeat: seeds base..base+N-1, differing verdicts make the cell flaky, each failing repetition keeps its replay command', async () => {
  test.setTimeout(120_000);
  const dir = tmp();
  writeFileSync(join(dir, 'flaky.yaml'), FLAKY);
  const r = await runCli(['run', join(dir, 'flaky.yaml'), '--repeat', '6', '--out', join(dir, 'out')], { timeoutMs: 100_000 });
  expect(r.code).toBe(1);
  const summary = json(join(dir, 'out', 'summary.json'));
  const cell = summary.crosswire.cells.find((c: { scenario: string }) => c.scenario === 'flaky-handshake');
  expect(cell.verdict).toBe('flaky');
  expect(cell.runs).toBe(6);
  expect(cell.passed).toBeGreaterThan(0);
  expect(cell.passed).toBeLessThan(6);
  expect(summary.crosswire.flaky).toEqual([cell.key]);
  const runs = summary.crosswire.runs as { seed: number; repeat: number; verdict: string; replay: string }[];
  expect(runs.map((x) => x.seed).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  for (const x of runs.filter((x) => x.verdict === 'failed')) expect(x.replay).toMatch(/^crosswire replay .*rep-\d\/result\.json$/);
  const junit = readFileSync(join(dir, 'out', 'junit.xml'), 'utf8');
  expect(junit.match(/<testcase /g)?.length).toBe(6);
});

test('--write-expect records every cell; --expect exits 0 when all match and 1 listing a regressed cell', async () => {
  test.setTimeout(200_000);
  const dir = tmp();
  const files = ['scenarios/quic/handshake.yaml', 'scenarios/quic/retry.yaml'];
  const w = await runCli(['run', ...files, '--write-expect', join(dir, 'expected.json'), '--out', join(dir, 'a')], { timeoutMs: 100_000 });
  expect(w.code).toBe(0);
  const expected = json(join(dir, 'expected.json'));
  expect(Object.values(expected)).toEqual(['passed', 'passed']);
  const ok = await runCli(['run', ...files, '--expect', join(dir, 'expected.json'), '--out', join(dir, 'b')], { timeoutMs: 100_000 });
  expect(ok.code).toBe(0);
  expect(ok.stdout.toString()).toContain('every cell as expected');
  // A cell that used to pass and now fails: the scenario's file changes under the same name.
  writeFileSync(join(dir, 'handshake.yaml'), readFileSync('scenarios/quic/handshake.yaml', 'utf8').replace(/expect: \{[^}]*\}/, 'expect: { handshakes: 2 }'));
  const bad = await runCli(['run', join(dir, 'handshake.yaml'), 'scenarios/quic/retry.yaml', '--expect', join(dir, 'expected.json'), '--out', join(dir, 'c')], { timeoutMs: 100_000 });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/crosswire: regression: self_self\/handshake: expected passed, got failed/);
});

test('an --out folder holding an earlier run is refused (runs never mix) and cleared with --force', async () => {
  test.setTimeout(120_000);
  const dir = tmp();
  const out = join(dir, 'out');
  expect((await runCli(['run', 'scenarios/quic/handshake.yaml', '--out', out])).code).toBe(0);
  const again = await runCli(['run', 'scenarios/quic/retry.yaml', '--out', out]);
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(/holds an earlier run; pass --force/);
  const forced = await runCli(['run', 'scenarios/quic/retry.yaml', '--out', out, '--force']);
  expect(forced.code).toBe(0);
  expect(existsSync(join(out, 'self_self', 'handshake'))).toBe(false);
  expect(json(join(out, 'summary.json')).crosswire.cells.map((c: Cell) => c.key)).toEqual(['self_self/retry']);
});

test('--measure-runs: a measurement scenario (goodput) runs N times per pair with seeds base..base+N-1, others once', async () => {
  test.setTimeout(120_000);
  const dir = tmp();
  const r = await runCli(['run', 'scenarios/quic/goodput.yaml', 'scenarios/quic/handshake.yaml', '--measure-runs', '3', '--jobs', '2', '--out', join(dir, 'out')], { timeoutMs: 100_000 });
  expect(r.code).toBe(0);
  const summary = json(join(dir, 'out', 'summary.json'));
  const runs = summary.crosswire.runs as { scenario: string; seed: number; measurement?: number }[];
  const goodput = runs.filter((x) => x.scenario === 'goodput');
  expect(goodput).toHaveLength(3);
  const seeds = goodput.map((x) => x.seed).sort((a, b) => a - b);
  expect(seeds).toEqual([seeds[0], seeds[0]! + 1, seeds[0]! + 2]);
  expect(goodput.every((x) => typeof x.measurement === 'number' && x.measurement > 9000)).toBe(true);
  expect(runs.filter((x) => x.scenario === 'handshake')).toHaveLength(1);
  const cell = summary.crosswire.cells.find((c: { scenario: string }) => c.scenario === 'goodput');
  expect(cell.runs).toBe(3);
  // quic-interop-runner's shape: one measurement entry for the pair, mean and stdev over the three runs.
  expect(JSON.stringify(summary.measurements)).toMatch(/±/);
});
