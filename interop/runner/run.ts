// Runs one scenario against a client and a server peer in virtual time (DESIGN.md §4, §6): builds both roles, runs
// simulate(), turns every expectation into a check and writes result.json with its artifacts and replay command.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS, type SimulationResult } from '../../simulator/run.js';
import { writePcapng } from '../../simulator/capture/pcapng.js';
import { QlogBuffer, serializeQlog } from '../../engine/quic/qlog.js';
import { writeResult, type Check, type RunResult } from '../result.js';
import { VERSION } from '../version.js';
import type { Scenario } from '../scenario/model.js';
import { requestPaths } from './requests.js';
import { unsupportedReason, type FaultName, type Peer, type PeerContext, type RoleEndpoint } from '../peers/types.js';
import { selfPeer } from '../peers/self.js';
import { GeneratedFiles } from './content.js';
import { networkConfig, overridesFromList, type FateList } from './network.js';
import { simulationPki } from './pki.js';
import { evaluate } from './expectations.js';
import { annotate } from './annotate.js';
import { ScriptedSide, StepScript } from './script.js';
import { internalErrorOutcome } from './internal-errors.js';
import { runTlsScenario } from './virtual-tls.js';

export { requestPaths };

export interface RunOptions {
  seed: number;
  client?: Peer;
  server?: Peer;
  /** Directory for result.json and artifacts; nothing is written when absent. */
  outDir?: string;
  /** Repetition index (run --repeat), recorded in result.json. */
  repeat?: number;
  /** Forced datagram fates (from a shrink or a replay). */
  fates?: FateList;
  capture?: boolean;
  /** Engine faults to switch on (tests of the harness itself). */
  faults?: readonly FaultName[];
  /** Write result.json and artifacts only for runs this accepts (fuzz sweeps keep failures only). */
  keep?: (r: RunRecord) => boolean;
  /** Sees the raw simulation (per-datagram fate decisions for shrinking). */
  onSimulation?: (sim: SimulationResult) => void;
}

/** result.json plus what crosswire needs to replay it exactly. */
export type RunRecord = RunResult & { faults?: FaultName[] };

export function runScenario(scenario: Scenario, opts: RunOptions): RunRecord {
  const started = performance.now();
  const client = opts.client ?? selfPeer;
  const server = opts.server ?? selfPeer;
  const base: RunRecord = {
    scenario: scenario.name,
    file: scenario.file,
    protocol: scenario.protocol,
    client: { name: client.name, version: client.version },
    server: { name: server.name, version: server.version },
    seed: opts.seed,
    verdict: 'passed',
    reason: '',
    checks: [],
    traceHash: '',
    simulatedMs: 0,
    wallMs: 0,
    metrics: {},
    artifacts: { qlog: [] },
    ...(opts.fates?.length ? { fates: opts.fates } : {}),
    ...(opts.faults?.length ? { faults: [...opts.faults] } : {}),
    replay: '',
    version: VERSION,
  };
  const resultPath = opts.outDir ? join(opts.outDir, 'result.json') : undefined;
  base.replay = resultPath ? `crosswire replay ${resultPath}` : `crosswire run ${scenario.file} --seed ${opts.seed} --peer ${client.name}`;
  const keep = (r: RunRecord) => !!resultPath && (opts.keep?.(r) ?? true);
  const finish = (r: RunRecord): RunRecord => {
    r.wallMs = Math.round(performance.now() - started);
    annotate(r, scenario, opts.repeat);
    if (resultPath && keep(r)) writeResult(resultPath, r);
    return r;
  };

  // TLS 1.3 over TCP: byte streams through the stream pipe, not datagrams through simulate().
  if (scenario.protocol === 'tls') return finish(runTlsScenario(scenario, opts, base, keep));

  const unsupported = unsupportedReason(scenario, client, server);
  if (unsupported) return finish({ ...base, verdict: 'unsupported', reason: unsupported });
  if (client.mode !== 'virtual' || server.mode !== 'virtual') return finish({ ...base, verdict: 'unsupported', reason: 'external peers run behind the real-time relay (not available in this runner yet)' });

  const paths = requestPaths(scenario);
  const files = new GeneratedFiles(paths);
  const keyLines: string[] = [];
  const qlogs = new Map<string, QlogBuffer>();
  const qlogFor = (label: string) => {
    const b = new QlogBuffer();
    qlogs.set(label, b);
    return b.sink;
  };
  const scripted = scenario.steps.length > 0;
  const ctx = (role: 'client' | 'server'): PeerContext => ({
    scenario,
    seed: opts.seed,
    role,
    clientAddress: DEFAULT_CLIENT_ADDRESS,
    serverAddress: DEFAULT_SERVER_ADDRESS,
    pki: simulationPki(),
    files,
    paths: paths.map(([p]) => p),
    keyLog: opts.capture ? (l) => keyLines.push(l) : undefined,
    qlogFor: opts.capture && scenario.protocol === 'quic' ? qlogFor : undefined,
    faults: opts.faults ?? [],
    scripted,
  });

  let clientRole: RoleEndpoint;
  let serverRole: RoleEndpoint;
  try {
    serverRole = server.start(ctx('server'));
    clientRole = client.start(ctx('client'));
  } catch (e) {
    return finish({ ...base, verdict: 'error', reason: `could not start the peers: ${(e as Error).message}` });
  }

  let script: StepScript | undefined;
  let clientEndpoint = clientRole.endpoint;
  let serverEndpoint = serverRole.endpoint;
  if (scripted) {
    script = new StepScript(scenario);
    clientEndpoint = new ScriptedSide(clientRole.endpoint, 'client', () => clientRole.scriptConnection?.(), script);
    serverEndpoint = new ScriptedSide(serverRole.endpoint, 'server', () => serverRole.scriptConnection?.(), script);
  }

  let sim: SimulationResult;
  try {
    sim = simulate(clientEndpoint, serverEndpoint, networkConfig(scenario.network), opts.seed, {
      protocol: scenario.protocol === 'dtls' ? 'dtls' : 'quic',
      fateOverrides: overridesFromList(opts.fates),
      until: () => (script ? script.finished : clientRole.done()),
      maxSimulatedMs: scenario.timeoutMs,
      capture: opts.capture,
    });
  } catch (e) {
    return finish({ ...base, verdict: 'error', reason: `the simulator failed: ${(e as Error).message}` });
  }

  opts.onSimulation?.(sim);
  const clientReport = clientRole.report();
  const serverReport = serverRole.report();
  const checks: Check[] = evaluate({ scenario, sim, client: clientReport, server: serverReport, files, clientDone: script ? script.finished : clientRole.done(), script });
  const internal = internalErrorOutcome(clientReport, serverReport);
  if (internal) checks.push(internal.check);
  const r: RunRecord = {
    ...base,
    checks,
    traceHash: sim.traceHash,
    simulatedMs: Math.round(sim.simulatedMs * 1000) / 1000,
    metrics: metricsOf(sim, clientReport.connections),
  };
  Object.assign(r, internal?.verdict ?? verdictOf(scenario, sim, checks));

  if (opts.outDir && keep(r)) {
    mkdirSync(opts.outDir, { recursive: true });
    const trace = join(opts.outDir, 'trace.txt');
    writeFileSync(trace, sim.traceText);
    r.artifacts.trace = resolve(trace);
    if (opts.capture && sim.capture) {
      const keylog = keyLines.map((l) => l + '\n').join('');
      const pcap = join(opts.outDir, 'capture.pcapng');
      writeFileSync(pcap, writePcapng(sim.capture.datagrams, { keylog }));
      r.artifacts.pcap = resolve(pcap);
      const kl = join(opts.outDir, 'keylog.txt');
      writeFileSync(kl, keylog);
      r.artifacts.keylog = resolve(kl);
      if (qlogs.size) {
        const dir = join(opts.outDir, 'qlog');
        mkdirSync(dir, { recursive: true });
        for (const [label, b] of qlogs) {
          const p = join(dir, `${label}.sqlog`);
          writeFileSync(p, serializeQlog({ vantagePoint: label.startsWith('client') ? 'client' : 'server', title: `${scenario.name} ${label}`, referenceTime: 0 }, b.events));
          r.artifacts.qlog.push(resolve(p));
        }
      }
    }
  }
  return finish(r);
}

function verdictOf(scenario: Scenario, sim: SimulationResult, checks: Check[]): Pick<RunResult, 'verdict' | 'reason'> {
  if (sim.outcome === 'crashed') return { verdict: 'error', reason: `crash: ${sim.reason ?? 'an endpoint threw'}` };
  const failed = checks.filter((c) => !c.ok);
  if (sim.outcome === 'hung' && failed.length) return { verdict: 'error', reason: `hang: ${sim.reason ?? 'the run did not finish'} (${failed[0]!.name}: ${failed[0]!.detail})` };
  if (scenario.expect.verdict === 'failed') {
    return failed.length
      ? { verdict: 'passed', reason: `failed as expected: ${failed[0]!.name}: ${failed[0]!.detail}` }
      : { verdict: 'failed', reason: 'the scenario expects a failure, but every check passed' };
  }
  if (failed.length) return { verdict: 'failed', reason: failed.map((c) => `${c.name}: ${c.detail}`).join('; ') };
  return { verdict: 'passed', reason: '' };
}

function metricsOf(sim: SimulationResult, conns: { bytes?: number; startedAt?: number; lastByteAt?: number; handshakeAt?: number }[]): Record<string, number> {
  const bytes = { 'to-server': 0, 'to-client': 0 };
  let dropped = 0;
  for (const e of sim.trace) {
    if (e.copy === 0) bytes[e.direction] += e.length;
    if (e.fate.startsWith('dropped') || e.fate === 'queue-overflow' || e.fate === 'mtu') dropped++;
  }
  const dgrams = sim.metrics['datagrams'] as Record<string, number>;
  const downloaded = conns.reduce((s, c) => s + (c.bytes ?? 0), 0);
  const start = conns[0]?.startedAt ?? 0;
  const end = Math.max(0, ...conns.map((c) => c.lastByteAt ?? 0));
  return {
    handshakes: conns.filter((c) => c.handshakeAt !== undefined).length,
    goodputBps: end > start ? Math.round((downloaded * 8) / ((end - start) / 1000)) : 0,
    bytesDownloaded: downloaded,
    datagramsToServer: dgrams['to-server'] ?? 0,
    datagramsToClient: dgrams['to-client'] ?? 0,
    bytesToServer: bytes['to-server'],
    bytesToClient: bytes['to-client'],
    datagramsDropped: dropped,
    // Datagrams beyond the minimum a loss-free run needs are not known here; drops are what the network took.
    events: sim.events,
  };
}
