// result.json for one run (DESIGN.md §6) and the multi-run summary in quic-interop-runner's shape.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type Verdict = 'passed' | 'failed' | 'unsupported' | 'error';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** One side of a run as result.json records it (DESIGN.md §6). */
export interface PeerInfo {
  name: string;
  version: string;
  /** The ALPN the pair used (chosen by capability); absent when the run never got that far. */
  alpn?: string;
}

export interface RunResult {
  scenario: string;
  file: string;
  protocol: string;
  client: PeerInfo;
  server: PeerInfo;
  seed: number;
  verdict: Verdict;
  reason: string;
  checks: Check[];
  traceHash: string;
  simulatedMs: number;
  wallMs: number;
  metrics: Record<string, number | string | boolean>;
  artifacts: {
    trace?: string;
    pcap?: string;
    keylog?: string;
    qlog: string[];
    /** Real-time runs: the command lines used and each endpoint's output. */
    commands?: string;
    clientLog?: string;
    serverLog?: string;
    clientStdout?: string;
    serverStdout?: string;
  };
  /** True when real processes ran through the real-time relay (simulatedMs is then wall time). */
  realTime?: boolean;
  /** Fate overrides applied (from a shrink), so replay reproduces them. */
  fates?: { direction: 'to-server' | 'to-client'; index: number; fate: 'drop' | 'deliver' }[];
  replay: string;
  version: string;
}

export function writeResult(path: string, result: RunResult): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
}

/** Letter codes quic-interop-runner uses for test abbreviations in its result matrix. */
export interface Summary {
  start_time: number;
  end_time: number;
  log_dir: string;
  servers: string[];
  clients: string[];
  urls: Record<string, string>;
  tests: Record<string, { name: string; desc: string }>;
  /** Per client×server pair (index = client * servers.length + server): one entry per test. */
  results: { abbr: string; name: string; result: 'succeeded' | 'failed' | 'unsupported' | 'error' }[][];
  measurements: unknown[][];
  crosswire: { version: string; seed: number; runs: { file: string; result: string; verdict: Verdict; reason: string; traceHash: string }[] };
}

const QIR_RESULT: Record<Verdict, Summary['results'][number][number]['result']> = {
  passed: 'succeeded',
  failed: 'failed',
  unsupported: 'unsupported',
  error: 'error',
};

export function summarize(runs: { result: RunResult; path: string; description: string }[], opts: { seed: number; outDir: string; startMs: number; endMs: number; version: string }): Summary {
  const servers = [...new Set(runs.map((r) => r.result.server.name))];
  const clients = [...new Set(runs.map((r) => r.result.client.name))];
  const tests: Summary['tests'] = {};
  const results: Summary['results'] = clients.flatMap(() => servers.map(() => []));
  for (const { result, description } of runs) {
    tests[result.scenario] ??= { name: result.scenario, desc: description };
    const idx = clients.indexOf(result.client.name) * servers.length + servers.indexOf(result.server.name);
    results[idx]!.push({ abbr: result.scenario, name: result.scenario, result: QIR_RESULT[result.verdict] });
  }
  return {
    start_time: Math.floor(opts.startMs / 1000),
    end_time: Math.floor(opts.endMs / 1000),
    log_dir: opts.outDir,
    servers,
    clients,
    urls: {},
    tests,
    results,
    measurements: clients.flatMap(() => servers.map(() => [])),
    crosswire: {
      version: opts.version,
      seed: opts.seed,
      runs: runs.map(({ result, path }) => ({ file: result.file, result: path, verdict: result.verdict, reason: result.reason, traceHash: result.traceHash })),
    },
  };
}
