// Synthetic result folders for the report tests and bench/report.ts: result.json files in quic-interop-runner's
// layout (OUT/<server>_<client>/<scenario>/[rep-<n>/]result.json) with trace.txt and qlog files shaped like the
// simulator's and the engine's (simulator/trace.ts canonicalLine, engine/quic/qlog.ts JSON-SEQ).

import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReportResult } from '../reports/model.js';

export type Verdict = ReportResult['verdict'];

/** A deterministic pseudo-random sequence (xorshift32), so fixtures are the same on every run. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

export interface SyntheticRun {
  scenario: string;
  client: string;
  server: string;
  verdict: Verdict;
  protocol?: string;
  reason?: string;
  repeat?: number;
  seed?: number;
  measurement?: number;
  /** Datagrams in the trace (0: no trace file). */
  datagrams?: number;
  /** Write a client and a server qlog with this many metrics events (0: none). */
  qlogEvents?: number;
  /** Checks with expected/observed fields (Autobahn style). */
  expectedObserved?: boolean;
  scenarioText?: string;
  /** Use the repeat layout (rep-<n>/) even without a repeat index. */
  repLayout?: boolean;
  traceHash?: string;
  wallMs?: number;
}

const KINDS_QUIC = ['initial', 'initial+handshake', 'handshake', 'handshake+1rtt', '1rtt', '1rtt', '1rtt', '1rtt'];
const FATES: [string, string][] = [
  ['dropped-by-loss', '-'],
  ['corrupted', 'corrupted'],
  ['truncated', 'truncated'],
  ['duplicated', 'duplicated'],
  ['reordered', 'reordered'],
  ['delivered', 'delayed'],
];

/** trace.txt with `n` datagrams: mostly delivered, every fate present when n ≥ 60. */
export function syntheticTrace(n: number, seed = 1): string {
  const rnd = prng(seed);
  let t = 0;
  const idx = [0, 0];
  let out = '';
  for (let i = 0; i < n; i++) {
    const toClient = i % 3 !== 0;
    const dir = toClient ? 'to-client' : 'to-server';
    const d = toClient ? 1 : 0;
    idx[d]!++;
    const kinds = i < 4 ? KINDS_QUIC[i]! : '1rtt';
    const len = toClient ? 1200 + Math.floor(rnd() * 272) : 30 + Math.floor(rnd() * 60);
    let fate = 'delivered';
    let effects = '-';
    let copy = 0;
    if (i >= 4 && i % 10 === 5) [fate, effects] = FATES[Math.floor(i / 10) % FATES.length]!;
    if (fate === 'duplicated') copy = 1;
    const dropped = fate.startsWith('dropped');
    const latency = 15 + (effects === 'delayed' ? 40 : 0) + rnd() * 2;
    const arrived = dropped ? '-' : (t + latency).toFixed(3);
    const arrivedLen = fate === 'truncated' ? String(Math.floor(len / 2)) : '-';
    const [from, to] = toClient ? ['10.0.0.2:443', '10.0.0.1:50000'] : ['10.0.0.1:50000', '10.0.0.2:443'];
    out += `${t.toFixed(3)} ${dir} ${idx[d]} ${copy} ${len} ${kinds} ${fate} ${effects} ${from} ${to} ${arrived} ${arrivedLen} ${'0'.repeat(64)}\n`;
    t += 0.5 + rnd() * 2;
  }
  return out;
}

/** A JSON-SEQ qlog with `n` recovery:metrics_updated events. */
export function syntheticQlog(n: number, vantage: 'client' | 'server', seed = 1): string {
  const rnd = prng(seed);
  let out = `\x1e${JSON.stringify({ qlog_version: '0.3', qlog_format: 'JSON-SEQ', title: 'synthetic', trace: { vantage_point: { type: vantage, name: 'crosswire' }, common_fields: { reference_time: 0, time_format: 'relative', protocol_type: ['QUIC'] } } })}\n`;
  let cwnd = 12000;
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += 1 + rnd() * 5;
    cwnd = i % 97 === 96 ? cwnd / 2 : cwnd + 1200;
    const rtt = 30 + rnd() * 20;
    out += `\x1e${JSON.stringify({ time: Math.round(t * 1000) / 1000, name: 'recovery:metrics_updated', data: { congestion_window: Math.round(cwnd), bytes_in_flight: Math.round(cwnd * rnd()), latest_rtt: rtt, smoothed_rtt: 35, min_rtt: 30 } })}\n`;
    if (i % 5 === 0) out += `\x1e${JSON.stringify({ time: t, name: 'transport:packet_sent', data: { header: { packet_type: '1RTT' }, raw: { length: 1200 } } })}\n`;
  }
  return out;
}

/** Writes one run (result.json and its artifacts) under root; returns the result.json path. */
export function writeSyntheticRun(root: string, r: SyntheticRun): string {
  const rep = r.repeat ?? 0;
  const dir = join(root, `${r.server}_${r.client}`, r.scenario, ...(r.repLayout || r.repeat !== undefined ? [`rep-${rep}`] : []));
  mkdirSync(dir, { recursive: true });
  const artifacts: ReportResult['artifacts'] = { qlog: [] };
  if (r.datagrams) {
    writeFileSync(join(dir, 'trace.txt'), syntheticTrace(r.datagrams, (r.seed ?? 1) + rep));
    artifacts.trace = join(dir, 'trace.txt');
  }
  if (r.qlogEvents) {
    mkdirSync(join(dir, 'qlog'), { recursive: true });
    for (const v of ['client', 'server'] as const) {
      writeFileSync(join(dir, 'qlog', `${v}-1.sqlog`), syntheticQlog(r.qlogEvents, v, rep + 1));
      artifacts.qlog.push(join(dir, 'qlog', `${v}-1.sqlog`));
    }
  }
  const ok = r.verdict === 'passed';
  const checks: ReportResult['checks'] = r.expectedObserved
    ? [
        { name: 'handshakes', ok, detail: '', expected: '1', observed: ok ? '1' : '0' },
        { name: 'files-identical', ok, detail: ok ? '1 file(s) identical' : 'no file arrived', expected: 'identical', observed: ok ? 'identical' : 'missing' },
      ]
    : [
        { name: 'completed', ok, detail: ok ? 'client finished its downloads at 0.065 s' : 'client did not finish' },
        { name: 'handshakes', ok, detail: ok ? '1 of 1 expected handshake(s) completed' : '0 of 1 expected handshake(s) completed' },
      ];
  const result: ReportResult = {
    scenario: r.scenario,
    file: `scenarios/${r.protocol ?? 'quic'}/${r.scenario}.yaml`,
    protocol: r.protocol ?? 'quic',
    client: { name: r.client, version: r.client === 'self' ? '0.1.0' : '1.0' },
    server: { name: r.server, version: r.server === 'self' ? '0.1.0' : '1.0' },
    seed: r.seed ?? 1,
    verdict: r.verdict,
    reason: r.reason ?? (ok ? '' : r.verdict === 'unsupported' ? `${r.server} does not declare feature x` : `${r.scenario}: handshakes: 0 of 1 expected handshake(s) completed`),
    checks: r.verdict === 'unsupported' ? [] : checks,
    traceHash: r.traceHash ?? `${r.scenario}-${r.client}-${r.server}-${rep}-${r.verdict}`,
    simulatedMs: 100,
    wallMs: r.wallMs ?? 50,
    metrics: { handshakes: ok ? 1 : 0 },
    artifacts,
    replay: `crosswire replay ${join(dir, 'result.json')}`,
    version: '0.1.0',
  };
  if (r.repeat !== undefined) result.repeat = r.repeat;
  if (r.measurement !== undefined) result.measurement = r.measurement;
  if (r.scenarioText !== undefined) result.scenarioText = r.scenarioText;
  writeFileSync(join(dir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
  return join(dir, 'result.json');
}

/** A small matrix: 2 clients × 2 servers × 3 scenarios, one flaky cell with 3 repetitions, one goodput measurement. */
export function smallMatrix(root: string): SyntheticRun[] {
  const runs: SyntheticRun[] = [];
  const clients = ['self', 'ngtcp2'];
  const servers = ['self', 'quiche'];
  for (const client of clients) {
    for (const server of servers) {
      runs.push({ scenario: 'handshake', client, server, verdict: 'passed', datagrams: 12, qlogEvents: 10 });
      runs.push({
        scenario: 'transfer',
        client,
        server,
        verdict: client === 'ngtcp2' && server === 'quiche' ? 'failed' : server === 'quiche' && client === 'self' ? 'error' : 'passed',
        datagrams: 80,
        expectedObserved: true,
      });
      runs.push({ scenario: 'dtls-handshake', protocol: 'dtls', client, server, verdict: server === 'quiche' || client === 'ngtcp2' ? 'unsupported' : 'passed' });
      for (let rep = 0; rep < 3; rep++) runs.push({ scenario: 'goodput', client, server, verdict: 'passed', repeat: rep, measurement: 9000 + rep * 100 + (client === 'self' ? 0 : 500) });
    }
  }
  for (let rep = 0; rep < 3; rep++) runs.push({ scenario: 'handshakeloss', client: 'self', server: 'quiche', verdict: rep === 1 ? 'failed' : 'passed', repeat: rep, datagrams: 30 });
  for (const r of runs) writeSyntheticRun(root, r);
  return runs;
}

/** Copies a real run (its folder and artifacts) to another cell: other peer names, verdict, repetition. */
export function cloneRun(
  run: { dir: string; result: ReportResult },
  root: string,
  to: { client: string; server: string; verdict?: Verdict; reason?: string; repeat?: number },
): string {
  const r = run.result;
  const dir = join(root, `${to.server}_${to.client}`, r.scenario, ...(to.repeat !== undefined ? [`rep-${to.repeat}`] : []));
  mkdirSync(dir, { recursive: true });
  cpSync(run.dir, dir, { recursive: true });
  const text = readFileSync(join(run.dir, 'result.json'), 'utf8').split(run.dir).join(dir);
  const out = JSON.parse(text) as ReportResult;
  out.client = { name: to.client, version: to.client === 'self' ? out.client.version : '1.0' };
  out.server = { name: to.server, version: to.server === 'self' ? out.server.version : '1.0' };
  if (to.verdict) {
    out.verdict = to.verdict;
    out.reason = to.reason ?? (to.verdict === 'passed' ? '' : out.reason || `${to.verdict} (synthetic)`);
    if (to.verdict === 'unsupported') out.checks = [];
  }
  if (to.repeat !== undefined) out.repeat = to.repeat;
  out.traceHash = `${out.traceHash.slice(0, 40)}-${to.client}-${to.server}-${to.repeat ?? 0}`;
  writeFileSync(join(dir, 'result.json'), JSON.stringify(out, null, 2) + '\n');
  return dir;
}
