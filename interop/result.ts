// result.json for one run (DESIGN.md §6); summaries and reports over many runs live in reports/.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type Verdict = 'passed' | 'failed' | 'unsupported' | 'error';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What the scenario expected and what was observed, when the check states them (shown side by side in reports). */
  expected?: string;
  observed?: string;
  /**
   * false: the expectation cannot be observed with this peer (e.g. a stream state s_client does not report); such a
   * check is ok and says so in its detail, and a passed run's reason lists it, so nothing passes silently.
   */
  observable?: false;
}

/** One side of a run as result.json records it (DESIGN.md §6). */
export interface PeerInfo {
  name: string;
  version: string;
  /** The ALPN the pair used (chosen by capability); absent when the run never got that far. */
  alpn?: string;
  /**
   * Set when the ALPN's application layer is not the peer's own (peer.yaml `alpn-labels`), e.g.
   * "quiche (h3: crosswire's HTTP/3 over quiche)", so no report credits the peer with it.
   */
  label?: string;
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
    /** API cells with a stream-io form: the bytes written on the default stream through its stdin. */
    stdin?: string;
    /** API cells with an api stream-io form: what the peer observed, one line per event. */
    events?: string;
  };
  /** True when real processes ran through the real-time relay (simulatedMs is then wall time). */
  realTime?: boolean;
  /** 'docker' when the endpoints ran as containers (run --runtime docker), so replay runs them the same way. */
  runtime?: 'docker';
  /** Repetition index (run --repeat). */
  repeat?: number;
  /** Measurement scenarios (goodput): goodput in kbps, averaged over repetitions by reports. */
  measurement?: number;
  description?: string;
  /** The scenario file as run, and its SHA-256, so replay can say when the file changed since. */
  scenarioText?: string;
  scenarioSha256?: string;
  /** The network as run (link and impairments, after defaults). */
  network?: unknown;
  /** Fate overrides applied (from a shrink), so replay reproduces them. */
  fates?: { direction: 'to-server' | 'to-client'; index: number; fate: 'drop' | 'deliver' }[];
  replay: string;
  version: string;
}

export function writeResult(path: string, result: RunResult): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
}
