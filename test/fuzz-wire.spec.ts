// `crosswire fuzz-wire` (issue 14 items 14–15) as CI runs it: a CI-sized campaign per protocol and role — 20,000
// inputs for DTLS, 10,000 for QUIC, 6,000 for TLS (20–55 s each on one thread of a loaded 2-core machine) — must end
// with 0 exceptions, 0 hangs and amplification ≤ 3.0×, and write fuzz-wire.json; a deliberate engine fault is found,
// minimised to the same failure and replayed from the saved file. Runs the built CLI (dist/).

import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/proc.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-fuzz-wire-'));
const lastLine = (s: string) => s.trim().split('\n').at(-1)!;
const SUMMARY = /^(\d+) inputs, (\d+) exceptions, (\d+) hangs, max amplification (\d+\.\d)×$/;

const CI_INPUTS = { quic: 10_000, dtls: 20_000, tls: 6_000 } as const;

for (const protocol of ['quic', 'dtls', 'tls'] as const) {
  for (const role of ['server', 'client'] as const) {
    test(`fuzz-wire ${protocol} --role ${role}: ${CI_INPUTS[protocol]} inputs, no exception, no hang, amplification ≤ 3×`, async () => {
      test.setTimeout(300_000);
      const out = tmp();
      const n = CI_INPUTS[protocol];
      const r = await runCli(['fuzz-wire', protocol, '--role', role, '--inputs', String(n), '--seed', '14', '--jobs', '1', '--out', out, '-q'], { timeoutMs: 280_000 });
      const stdout = r.stdout.toString();
      expect(r.code, stdout + r.stderr).toBe(0);
      const m = SUMMARY.exec(lastLine(stdout));
      expect(m, lastLine(stdout)).not.toBeNull();
      expect(Number(m![1])).toBe(n);
      expect(Number(m![2])).toBe(0);
      expect(Number(m![3])).toBe(0);
      expect(Number(m![4])).toBeLessThanOrEqual(3.0);
      const json = JSON.parse(readFileSync(join(out, 'fuzz-wire.json'), 'utf8'));
      expect(json).toMatchObject({ protocol, role, seed: 14, inputs: n, exceptions: 0, hangs: 0, amplificationFindings: 0, stateFindings: 0, memoryFindings: 0, findings: [] });
      expect(json.maxAmplification).toBeLessThanOrEqual(3);
      expect(json.summary).toBe(lastLine(stdout));
      expect(json.inputsPerSecond).toBeGreaterThan(0);
    });
  }
}

test('an injected QUIC engine fault is found, minimised to the same exception, saved with a replay command that reproduces it', async () => {
  test.setTimeout(120_000);
  const out = tmp();
  const r = await runCli(['fuzz-wire', 'quic', '--role', 'server', '--inputs', '64', '--seed', '3', '--out', out, '-q', '--inject-fault', 'internal-error-on-stream-data'], { timeoutMs: 110_000 });
  const stdout = r.stdout.toString();
  expect(r.code, stdout + r.stderr).toBe(1);
  const m = SUMMARY.exec(lastLine(stdout))!;
  expect(Number(m[2])).toBeGreaterThan(0);
  const files = readdirSync(out).filter((f) => f.startsWith('finding-'));
  expect(files).toEqual(['finding-1-exception.json']);
  const f = JSON.parse(readFileSync(join(out, files[0]!), 'utf8'));
  expect(f.key).toContain('injected fault internal-error-on-stream-data');
  expect(f.minimized.reproduced).toBe(true);
  expect(f.minimized.inputsAfter).toBeLessThan(f.minimized.inputsBefore);
  expect(f.replay).toBe(`crosswire fuzz-wire quic --role server --replay ${join(out, files[0]!)}`);
  const replay = await runCli(f.replay.split(' ').slice(1), { timeoutMs: 60_000 });
  expect(replay.code).toBe(1);
  expect(lastLine(replay.stdout.toString())).toBe(`reproduced: exception (${f.key})`);
});

test('the same seed gives the same campaign; a different seed different inputs', async () => {
  const run = async (seed: string, extra: string[] = []) => {
    const out = tmp();
    const r = await runCli(['fuzz-wire', 'dtls', '--role', 'client', '--inputs', '500', '--seed', seed, '--out', out, '-q', ...extra], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(join(out, 'fuzz-wire.json'), 'utf8'));
    return { instances: j.instances, datagramsOut: j.datagramsOut, maxAmplification: j.maxAmplification };
  };
  const a = await run('5');
  expect(await run('5')).toEqual(a);
  expect(await run('6')).not.toEqual(a);
  expect(await run('5', ['--jobs', '2'])).toEqual(a); // the work is split by batch: the same inputs, the same outcome
});

test('a batch that never returns is ended by the watchdog, counted as a hang with its batch, and the campaign goes on', async () => {
  const out = tmp();
  const r = await runCli(['fuzz-wire', 'dtls', '--role', 'server', '--inputs', '160', '--seed', '2', '--stuck-time', '2', '--out', out, '-q'], {
    timeoutMs: 60_000,
    env: { ...process.env, CROSSWIRE_FUZZ_WIRE_SPIN: '3' },
  });
  const stdout = r.stdout.toString();
  expect(r.code, stdout + r.stderr).toBe(1);
  expect(lastLine(stdout)).toMatch(/^160 inputs, 0 exceptions, 1 hangs, max amplification \d+\.\d×$/);
  const j = JSON.parse(readFileSync(join(out, 'fuzz-wire.json'), 'utf8'));
  expect(j.findings).toHaveLength(1);
  expect(j.findings[0]).toMatchObject({ kind: 'hang', key: 'hang:no return from the engine', batch: 3 });
});

test('fuzz-wire usage errors exit 2 with one line', async () => {
  for (const [args, msg] of [
    [['fuzz-wire', 'sctp', '--role', 'server'], /Invalid values|Choices/],
    [['fuzz-wire', 'quic'], /Missing required argument: role/],
    [['fuzz-wire', 'quic', '--role', 'server', '--inputs', '0'], /--inputs must be a positive integer/],
    [['fuzz-wire', 'quic', '--role', 'server', '--seed', '-1'], /--seed must be an integer from 0 to 2\^53/],
    [['fuzz-wire', 'dtls', '--role', 'server', '--inject-fault', 'internal-error-on-stream-data'], /applies to quic only/],
    [['fuzz-wire', 'quic', '--role', 'server', '--replay', '/nonexistent/finding.json'], /cannot read finding/],
  ] as const) {
    const r = await runCli([...args], { timeoutMs: 30_000 });
    expect(r.code, args.join(' ')).toBe(2);
    expect(lastLine(r.stderr)).toMatch(msg);
  }
});
