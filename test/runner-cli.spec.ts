// `crosswire run` and `crosswire replay` as a user runs them (issue 6 acceptance): the catalog against our own engine,
// determinism by seed and replay, failing expectations, unsupported features and malformed scenario files.
import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/proc.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-run-'));
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

/** A lossy scenario small enough to run several times per test. */
const LOSSY = `name: lossy-handshakes
protocol: quic
description: three handshakes through 30% bursty loss
requires: [handshake]
network:
  to-server: [{ loss: { rate: 0.3, burst: 3 } }]
  to-client: [{ loss: { rate: 0.3, burst: 3 } }]
client: { alpn: hq-interop, connections: 3, requests: [{ size: 4KiB }] }
expect: { handshakes: 3, files: identical, within: 300s }
`;

test('run: the same --seed gives the same traceHash, replay reproduces it, another seed gives another trace', async () => {
  test.setTimeout(600_000);
  const dir = tmp();
  const file = join(dir, 'lossy.yaml');
  writeFileSync(file, LOSSY);
  const a = await runCli(['run', file, '--seed', '7', '--out', join(dir, 'a')], { timeoutMs: 300_000 });
  expect(a.stderr).not.toContain('internal error');
  const b = await runCli(['run', file, '--seed', '7', '--out', join(dir, 'b')], { timeoutMs: 300_000 });
  const c = await runCli(['run', file, '--seed', '8', '--out', join(dir, 'c')], { timeoutMs: 300_000 });
  const ra = json(join(dir, 'a', 'self_self', 'lossy-handshakes', 'result.json'));
  const rb = json(join(dir, 'b', 'self_self', 'lossy-handshakes', 'result.json'));
  const rc = json(join(dir, 'c', 'self_self', 'lossy-handshakes', 'result.json'));
  expect(ra.traceHash).toMatch(/^[0-9a-f]{64}$/);
  expect(rb.traceHash).toBe(ra.traceHash);
  expect(rc.traceHash).not.toBe(ra.traceHash);
  expect(a.code).toBe(ra.verdict === 'passed' ? 0 : 1);
  expect(ra.seed).toBe(7);
  expect(ra.metrics.datagramsDropped).toBeGreaterThan(0);
  expect(ra.replay).toBe(`crosswire replay ${join(dir, 'a', 'self_self', 'lossy-handshakes', 'result.json')}`);
  expect(existsSync(ra.artifacts.trace)).toBe(true);

  const r = await runCli(['replay', join(dir, 'a', 'self_self', 'lossy-handshakes', 'result.json')], { timeoutMs: 300_000 });
  expect(r.stdout.toString()).toContain(`traceHash matches: ${ra.traceHash}`);
  expect(r.code).toBe(0);

  // A tampered record no longer matches: replay says so and exits 1.
  const tampered = join(dir, 'tampered.json');
  writeFileSync(tampered, JSON.stringify({ ...ra, traceHash: '0'.repeat(64) }));
  const t = await runCli(['replay', tampered], { timeoutMs: 300_000 });
  expect(t.code).toBe(1);
  expect(t.stdout.toString()).toContain('traceHash differs');
});

test('run --jobs: worker threads give the same results as one job at a time', async () => {
  test.setTimeout(300_000);
  const dir = tmp();
  const files = ['scenarios/quic/handshake.yaml', 'scenarios/quic/amplificationlimit.yaml', 'scenarios/dtls/cookie-exchange.yaml', 'scenarios/api/reset-stop-sending.yaml'];
  const one = await runCli(['run', ...files, '--seed', '3', '--out', join(dir, 'one')], { timeoutMs: 280_000 });
  const three = await runCli(['run', ...files, '--seed', '3', '--jobs', '3', '--out', join(dir, 'three')], { timeoutMs: 280_000 });
  expect(one.code).toBe(0);
  expect(three.code).toBe(0);
  const hashes = (d: string) => json(join(dir, d, 'summary.json')).crosswire.runs.map((r: { traceHash: string; verdict: string }) => `${r.verdict} ${r.traceHash}`);
  expect(hashes('three')).toEqual(hashes('one'));
  expect(three.stderr).toMatch(/\[4\/4\] /); // plain progress lines when stderr is not a terminal
});

test('run --capture: pcapng, key log and qlog artifacts, and the same trace as without capture', async () => {
  const dir = tmp();
  const plain = await runCli(['run', 'scenarios/quic/retry.yaml', '--out', join(dir, 'plain')], { timeoutMs: 110_000 });
  const cap = await runCli(['run', 'scenarios/quic/retry.yaml', '--capture', '--out', join(dir, 'cap')], { timeoutMs: 110_000 });
  expect(plain.code).toBe(0);
  expect(cap.code).toBe(0);
  const a = json(join(dir, 'plain', 'self_self', 'retry', 'result.json'));
  const b = json(join(dir, 'cap', 'self_self', 'retry', 'result.json'));
  expect(b.traceHash).toBe(a.traceHash);
  expect(b.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
    ['completed', true], ['handshakes', true], ['files-identical', true], ['retry', true], ['amplification', true],
  ]);
  const pcap = readFileSync(b.artifacts.pcap);
  expect(pcap.readUInt32LE(0)).toBe(0x0a0d0d0a); // pcapng Section Header Block
  expect(readFileSync(b.artifacts.keylog, 'utf8')).toMatch(/^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]+$/m);
  expect(b.artifacts.qlog.length).toBe(2); // one client and one server connection
  for (const q of b.artifacts.qlog) expect(readFileSync(q, 'utf8')).toContain('"qlog_format":"JSON-SEQ"');
});

test('run: an impossible expectation fails with exit 1 and a one-line reason', async () => {
  const dir = tmp();
  const file = join(dir, 'impossible.yaml');
  writeFileSync(file, `name: impossible
protocol: quic
description: one connection cannot make two handshakes
requires: [handshake]
client: { alpn: hq-interop, requests: [{ size: 1KiB }] }
expect: { handshakes: 2, files: identical }
`);
  const r = await runCli(['run', file, '--out', join(dir, 'out')], { timeoutMs: 110_000 });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/crosswire: impossible: failed: handshakes: 1 of 2 expected handshake\(s\) completed \(replay: crosswire replay .*result\.json\)/);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  const res = json(join(dir, 'out', 'self_self', 'impossible', 'result.json'));
  expect(res.verdict).toBe('failed');
  expect(res.checks.find((c: { name: string }) => c.name === 'files-identical').ok).toBe(true);
  const summary = json(join(dir, 'out', 'summary.json'));
  expect(summary.results[0][0]).toEqual({ abbr: 'impossible', name: 'impossible', result: 'failed' });
});

test('run: a missing feature is "unsupported" naming it, and exits 0', async () => {
  const dir = tmp();
  const file = join(dir, 'future.yaml');
  writeFileSync(file, `name: future
protocol: quic
description: needs something no peer has
requires: [handshake, ecn]
client: { alpn: hq-interop, requests: [{ size: 1KiB }] }
expect: { handshakes: 1 }
`);
  const r = await runCli(['run', file, '--out', join(dir, 'out')]);
  expect(r.code).toBe(0);
  const res = json(join(dir, 'out', 'self_self', 'future', 'result.json'));
  expect(res.verdict).toBe('unsupported');
  expect(res.reason).toContain('ecn');
  expect(r.stdout.toString()).toMatch(/future\s+unsupported/);
});

test('run: malformed scenario files give file:line:col and exit 2', async () => {
  const dir = tmp();
  const cases: Record<string, [string, RegExp]> = {
    'indent.yaml': ['name: a\nprotocol: quic\nnetwork:\n  link:\n    delay: 15ms\n   bandwidth: 10Mbps\n', /indent\.yaml:6:\d+: YAML: /],
    'unknown-key.yaml': ['name: a\nprotocol: quic\nnetwork:\n  link: { delay: 15ms, latency: 3ms }\n', /unknown-key\.yaml:4:24: unknown key 'latency'/],
    'unit.yaml': ['name: a\nprotocol: quic\nnetwork:\n  link:\n    delay: 15 seconds\n', /unit\.yaml:5:12: network\.link\.delay: "15 seconds" is not a duration/],
    'missing.yaml': ['name: a\nclient: { connections: 2 }\n', /missing\.yaml:1:1: missing required key 'protocol'/],
  };
  for (const [name, [text, re]] of Object.entries(cases)) {
    const file = join(dir, name);
    writeFileSync(file, text);
    const r = await runCli(['run', file, '--out', join(dir, 'out')]);
    expect(r.code, name).toBe(2);
    expect(r.stderr, name).toMatch(re);
    expect(r.stderr, name).not.toMatch(/\n\s+at /);
  }
});

test('run scenarios/: every catalog scenario passes with our engine in both roles or is unsupported naming the feature', async () => {
  test.setTimeout(3_600_000);
  const dir = tmp();
  // One run per catalog file (--measure-runs 1: goodput once, not five times).
  const files = readdirSync('scenarios', { recursive: true }).filter((f) => String(f).endsWith('.yaml')).length;
  expect(files).toBeGreaterThanOrEqual(45); // quic 20, api 7, dtls 6, tls 12
  const r = await runCli(['run', 'scenarios/', '--jobs', '2', '--measure-runs', '1', '--out', dir], { timeoutMs: 3_500_000 });
  const summary = json(join(dir, 'summary.json'));
  const runs: { file: string; verdict: string; reason: string }[] = summary.crosswire.runs;
  expect(runs.length).toBe(files);
  const bad = runs.filter((x) => x.verdict !== 'passed' && !(x.verdict === 'unsupported' && /lacks feature/.test(x.reason)));
  expect(bad.map((x) => `${x.file}: ${x.verdict}: ${x.reason}`)).toEqual([]);
  expect(r.code).toBe(0);
  expect(r.stdout.toString()).toMatch(new RegExp(`${files} run\\(s\\): `));
});
