// `crosswire fuzz` as a user runs it (issue 6 acceptance): a 200-seed sweep of handshakeloss reports seeds/s and saves
// failures with replay commands; an injected engine fault is found and shrunk to a droplist scenario that replays it.
import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli } from './helpers/proc.js';
import { ddmin, ddminParallel, failureSignature, withSchemaPath } from '../interop/shrink.js';
import type { RunRecord } from '../interop/runner/run.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-fuzz-'));
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

test('ddmin finds a 1-minimal failing subset', () => {
  // Fails when both 3 and 11 are present.
  const items = Array.from({ length: 20 }, (_, i) => i);
  let calls = 0;
  const min = ddmin(items, (s) => {
    calls++;
    return s.includes(3) && s.includes(11);
  });
  expect(min).toEqual([3, 11]);
  expect(calls).toBeLessThan(60);
  expect(ddmin([1, 2, 3], () => true)).toEqual([]);
});

test('ddminParallel takes the same path as sequential ddmin, whatever the parallelism', async () => {
  const items = Array.from({ length: 40 }, (_, i) => i);
  const fails = (s: number[]) => s.includes(3) && s.includes(11) && s.includes(29);
  const seq = ddmin(items, fails);
  for (const parallel of [1, 2, 3, 8]) {
    let batches = 0;
    const got = await ddminParallel(items, async (subsets) => (batches++, subsets.map(fails)), parallel);
    expect(got, `parallel ${parallel}`).toEqual(seq);
    expect(batches).toBeGreaterThan(0);
  }
  expect(seq).toEqual([3, 11, 29]);
});

test('failureSignature: the same failure means the same verdict and failed check, or the same internal error (numbers aside)', () => {
  const run = (verdict: string, checks: { name: string; ok: boolean; detail: string }[], reason = 'x') => ({ verdict, reason, checks }) as unknown as RunRecord;
  expect(failureSignature(run('passed', []))).toBeUndefined();
  const a = failureSignature(run('failed', [{ name: 'handshakes', ok: false, detail: '3 of 50' }], 'only 3 handshakes'));
  const b = failureSignature(run('failed', [{ name: 'handshakes', ok: false, detail: '7 of 50' }], 'only 7 handshakes'));
  const c = failureSignature(run('failed', [{ name: 'handshakes', ok: true, detail: '' }, { name: 'files', ok: false, detail: 'differ' }]));
  expect(a).toBe(b);
  expect(c).not.toBe(a);
  const e1 = failureSignature(run('error', [{ name: 'internal-error', ok: false, detail: "server: Cannot read properties of undefined (reading 'offset')\n    at SendBuffer.read (stream-send.js:241:17)" }]));
  const e2 = failureSignature(run('error', [{ name: 'internal-error', ok: false, detail: "server: Cannot read properties of undefined (reading 'offset')\n    at SendBuffer.read (stream-send.js:241:30)" }]));
  const e3 = failureSignature(run('error', [{ name: 'internal-error', ok: false, detail: 'client: boom\n    at x (y.js:1:1)' }]));
  expect(e1).toBe(e2);
  expect(e3).not.toBe(e1);
  expect(e1).not.toBe(a);
});

test('a shrunk scenario\'s $schema modeline points at scenarios/schema.json from wherever it is written', () => {
  const text = '# yaml-language-server: $schema=../schema.json\nname: x\n';
  expect(withSchemaPath(text, join(process.cwd(), 'scenarios', 'quic', 'a.yaml'))).toBe('# yaml-language-server: $schema=../schema.json\nname: x\n');
  expect(withSchemaPath(text, join(process.cwd(), 'fuzz-results', 'x', 'seed-3', 'a.yaml'))).toBe('# yaml-language-server: $schema=../../../scenarios/schema.json\nname: x\n');
  expect(withSchemaPath('name: x\n', join(process.cwd(), 'a.yaml'))).toBe('# yaml-language-server: $schema=./scenarios/schema.json\nname: x\n');
});

test('fuzz: an injected fault (Handshake CRYPTO never retransmitted) is found, shrunk to a droplist scenario, and replays', async () => {
  test.setTimeout(1_200_000);
  const dir = tmp();
  const file = join(dir, 'lossy-handshake.yaml');
  writeFileSync(file, `name: lossy-handshake
protocol: quic
description: one handshake through 30% loss each way
requires: [handshake]
network:
  to-server: [{ loss: { rate: 0.3 } }]
  to-client: [{ loss: { rate: 0.3 } }]
client: { alpn: hq-interop, requests: [{ size: 1KiB }] }
expect: { handshakes: 1, files: identical }
`);
  const out = join(dir, 'out');
  // Without the fault the sweep is clean: the failures below are the fault's.
  const clean = await runCli(['fuzz', file, '--seeds', '20', '--out', join(dir, 'clean')], { timeoutMs: 600_000 });
  expect(clean.stdout.toString()).toMatch(/20 seed\(s\) in [0-9.]+ s \([0-9.]+ seeds\/s\): 20 passed, 0 failed/);
  expect(clean.code).toBe(0);

  const r = await runCli(['fuzz', file, '--seeds', '20', '--shrink', '--out', out, '--inject-fault', 'handshake-crypto-no-retransmit'], { timeoutMs: 900_000 });
  const stdout = r.stdout.toString();
  expect(r.code).toBe(1);
  const found = /(\d+) passed, (\d+) failed/.exec(stdout);
  expect(Number(found?.[2])).toBeGreaterThan(0);
  const shrunk = /shrunk seed (\d+): (\d+) drop\(s\) → (\d+) \(([^)]*)\) in (\d+) run\(s\), ([0-9.]+) s with 1 job\(s\)/.exec(stdout);
  expect(shrunk, stdout).not.toBeNull();
  const seed = Number(shrunk![1]);
  expect(Number(shrunk![3])).toBeGreaterThan(0);
  expect(Number(shrunk![3])).toBeLessThanOrEqual(Number(shrunk![2]));

  // The failing seed's own result.json was saved with a replay command that reproduces it.
  const seedDir = join(out, 'lossy-handshake', `seed-${seed}`);
  const failing = json(join(seedDir, 'result.json'));
  expect(failing.verdict).toBe('failed');
  expect(failing.faults).toEqual(['handshake-crypto-no-retransmit']);
  const replayed = await runCli(['replay', join(seedDir, 'result.json')], { timeoutMs: 300_000 });
  expect(replayed.stdout.toString()).toContain(`traceHash matches: ${failing.traceHash}`);

  // The minimal case is a new scenario: explicit droplists, no random impairment left, and it still fails.
  const yamlPath = join(seedDir, 'lossy-handshake-shrunk.yaml');
  const yamlText = readFileSync(yamlPath, 'utf8');
  const modeline = /^# yaml-language-server: \$schema=(.*)$/m.exec(yamlText);
  expect(modeline && existsSync(join(seedDir, modeline[1]!)), yamlText.slice(0, 200)).toBe(true);
  const doc = parse(yamlText);
  expect(doc.name).toBe(`lossy-handshake-shrunk-seed-${seed}`);
  expect(doc.seed).toBe(seed);
  const entries = [...(doc.network['to-server'] ?? []), ...(doc.network['to-client'] ?? [])];
  expect(entries.length).toBeGreaterThan(0);
  for (const e of entries) expect(Object.keys(e)).toEqual(['droplist']);
  expect(entries.flatMap((e: { droplist: number[] }) => e.droplist).length).toBe(Number(shrunk![3]));

  const again = await runCli(['run', yamlPath, '--out', join(dir, 'again'), '--inject-fault', 'handshake-crypto-no-retransmit'], { timeoutMs: 300_000 });
  expect(again.code).toBe(1);
  const shrunkResult = json(join(seedDir, 'shrunk', 'result.json'));
  expect(shrunkResult.verdict).toBe('failed');
  const replayShrunk = await runCli(['replay', join(seedDir, 'shrunk', 'result.json')], { timeoutMs: 300_000 });
  expect(replayShrunk.code).toBe(0);
  expect(replayShrunk.stdout.toString()).toContain(`traceHash matches: ${shrunkResult.traceHash}`);

  // Same drops, healthy engine: it passes, so the droplist pins the fault and nothing else.
  const healthy = await runCli(['run', yamlPath, '--out', join(dir, 'healthy')], { timeoutMs: 300_000 });
  expect(healthy.code).toBe(0);
});

test('fuzz: 200 seeds of handshakeloss finish, report seeds/s and save each failure with its replay command', async () => {
  test.setTimeout(5_400_000);
  const out = tmp();
  const r = await runCli(['fuzz', 'scenarios/quic/handshakeloss.yaml', '--seeds', '200', '--jobs', '2', '--out', out], { timeoutMs: 5_300_000 });
  const stdout = r.stdout.toString();
  const m = /handshakeloss: 200 seed\(s\) in [0-9.]+ s \(([0-9.]+) seeds\/s\): (\d+) passed, (\d+) failed, (\d+) internal errors?/.exec(stdout);
  expect(m, stdout + r.stderr).not.toBeNull();
  expect(Number(m![1])).toBeGreaterThan(0);
  const failed = Number(m![3]) + Number(m![4]);
  expect(Number(m![2]) + failed).toBe(200);
  expect(r.code).toBe(failed ? 1 : 0);
  const saved = existsSync(join(out, 'handshakeloss')) ? readdirSync(join(out, 'handshakeloss')) : [];
  expect(saved.length).toBe(failed);
  for (const d of saved) expect(json(join(out, 'handshakeloss', d, 'result.json')).replay).toBe(`crosswire replay ${join(out, 'handshakeloss', d, 'result.json')}`);
});
