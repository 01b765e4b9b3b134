// TLS 1.3 over TCP scenarios self ↔ self in virtual time (DESIGN.md §4, §6): our TLS client and server (the record
// layer and HTTP/1.1 of `get --tcp` / `serve tls://`) over the in-memory stream pipe with the scenario's stream
// impairments, driven by the simulator's scheduler. Checks come from the wire (the pipe's TLS observers opened with
// the run's key log) and the downloaded bytes; the trace hash is a pure function of (scenario, seed, version).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Scheduler } from '../../simulator/scheduler.js';
import { StreamPipe } from '../../simulator/stream-pipe.js';
import type { StreamImpairmentSpec, StreamNetworkConfig } from '../../simulator/stream-impairments.js';
import type { Scenario, StreamImpairment } from '../scenario/model.js';
import { SELF_TLS_FEATURES, TlsHttpClient, TlsHttpServer, type TlsClientRecord } from '../peers/self-tls.js';
import { selfPeer } from '../peers/self.js';
import { GeneratedFiles } from './content.js';
import { requestPaths } from './requests.js';
import { simulationPki } from './pki.js';
import { analyzeTls } from './tls-wire-analysis.js';
import { tlsChecks, tlsMetrics, tlsVerdict, type TlsClientOutcome, type TlsFileOutcome } from './tls-checks.js';
import { internalErrorOutcome } from './internal-errors.js';
import type { RunOptions, RunRecord } from './run.js';

function streamSpec(i: StreamImpairment): StreamImpairmentSpec {
  const connection = i.connection !== undefined ? { connection: i.connection } : {};
  switch (i.kind) {
    case 'split':
      return { split: { ...(i.at ? { at: i.at } : {}), ...(i.every !== undefined ? { every: i.every } : {}), ...(i.max !== undefined ? { max: i.max } : {}), ...connection } };
    case 'close':
      return { close: { after: i.after, ...connection } };
    case 'reset':
      return { reset: { after: i.after, ...connection } };
  }
}

/** The stream network of a TLS scenario: the link's delay and bandwidth per direction plus the stream impairments. */
export function streamNetworkConfig(s: Scenario): StreamNetworkConfig {
  return {
    delay: s.network.link.delayMs,
    bandwidth: s.network.link.bandwidthBps,
    'to-server': s.network.stream.toServer.map(streamSpec),
    'to-client': s.network.stream.toClient.map(streamSpec),
  };
}

/** Why self ↔ self cannot run this TLS scenario in virtual time, or undefined. */
export function tlsVirtualUnsupported(s: Scenario, client: string, server: string): string | undefined {
  if (client !== selfPeer.name || server !== selfPeer.name) return 'TLS over TCP in virtual time runs self ↔ self; other peers run through the real-time TCP relay';
  const missing = s.requires.filter((f) => !(SELF_TLS_FEATURES as readonly string[]).includes(f));
  if (missing.length) return `self lacks feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
  if (s.steps.length) return 'step-scripted API scenarios drive QUIC connections';
  return undefined;
}

function clientOutcome(client: TlsHttpClient, idle: boolean): TlsClientOutcome {
  const recs = client.records;
  const failed = recs.find((r) => r.failure !== undefined);
  if (failed) return { ok: false, detail: `connection ${failed.id} (${failed.path}): ${failed.failure}` };
  const finished = recs.filter((r) => r.complete);
  if (finished.length === client.planned) {
    const end = Math.max(0, ...recs.map((r) => r.finishedAt ?? 0));
    return { ok: true, detail: `client finished its ${client.planned} download(s) at ${(end / 1000).toFixed(3)} s` };
  }
  return { ok: false, detail: `client did not finish: ${finished.length} of ${client.planned} download(s) complete when the run ${idle ? 'went idle (nothing left in flight)' : 'hit its time limit'}` };
}

function fileOutcomes(records: TlsClientRecord[], files: GeneratedFiles, paths: [string, number][], connections: number): TlsFileOutcome[] {
  const out: TlsFileOutcome[] = [];
  let k = 0;
  for (let c = 1; c <= connections; c++) {
    for (const [p, size] of paths) {
      const r = records[k++];
      out.push({
        path: connections > 1 || paths.length > 1 ? `${p} (connection ${k})` : p,
        size,
        expectedDigest: files.digest(p),
        ...(r && r.complete && r.digest ? { got: { bytes: r.bytes, digest: r.digest } } : {}),
      });
    }
  }
  return out;
}

export function runTlsScenario(s: Scenario, opts: RunOptions, base: RunRecord, keep: (r: RunRecord) => boolean): RunRecord {
  const unsupported = tlsVirtualUnsupported(s, (opts.client ?? selfPeer).name, (opts.server ?? selfPeer).name);
  if (unsupported) return { ...base, verdict: 'unsupported', reason: unsupported };
  const paths = requestPaths(s);
  const files = new GeneratedFiles(paths);
  const keyLines: string[] = [];
  const ctx = { scenario: s, seed: opts.seed, pki: simulationPki(), files, keyLog: (l: string) => keyLines.push(l) };
  const sched = new Scheduler({ maxTime: s.timeoutMs });
  const client = new TlsHttpClient(ctx, paths.map(([p]) => p));
  const server = new TlsHttpServer(ctx);
  let pipe: StreamPipe;
  try {
    pipe = new StreamPipe(streamNetworkConfig(s), client, server, { seed: opts.seed, schedule: (at, fn, arg) => sched.at(at, fn, arg), now: () => sched.now });
  } catch (e) {
    return { ...base, verdict: 'error', reason: `bad stream network: ${(e as Error).message}` };
  }
  sched.at(0, (now) => client.start(pipe, now));
  let outcome: string;
  try {
    // TCP applications have no timers: the run ends when nothing is left in flight (or at the time limit).
    outcome = sched.run();
  } catch (e) {
    return { ...base, traceHash: pipe.trace.hash(), verdict: 'error', reason: `crash: ${(e as Error).message}` };
  }

  const wire = analyzeTls(pipe.observers, keyLines.join('\n'));
  const checks = tlsChecks({ scenario: s, wire, client: clientOutcome(client, outcome === 'idle'), files: fileOutcomes(client.records, files, paths, s.client.connections) });
  const internal = internalErrorOutcome(
    { connections: [], internalErrors: client.records.filter((r) => r.alert?.sent && r.alert.name === 'internal_error').map((r) => r.failure ?? 'internal_error') },
    { connections: [], internalErrors: server.records.filter((r) => r.alert?.sent && r.alert.name === 'internal_error').map((r) => r.failure ?? 'internal_error') },
  );
  if (internal) checks.push(internal.check);
  const r: RunRecord = {
    ...base,
    client: { ...base.client, alpn: 'http/1.1' },
    server: { ...base.server, alpn: 'http/1.1' },
    checks,
    traceHash: pipe.trace.hash(),
    simulatedMs: Math.round(sched.now * 1000) / 1000,
    metrics: { ...tlsMetrics(wire), segments: pipe.trace.entries.length, ...(outcome === 'hung' ? { hung: true } : {}) },
    ...(internal?.verdict ?? tlsVerdict(s, checks)),
  };
  if (opts.outDir && keep(r)) {
    mkdirSync(opts.outDir, { recursive: true });
    const trace = join(opts.outDir, 'trace.txt');
    writeFileSync(trace, pipe.trace.text());
    r.artifacts.trace = resolve(trace);
    const kl = join(opts.outDir, 'keylog.txt');
    writeFileSync(kl, keyLines.map((l) => l + '\n').join(''));
    r.artifacts.keylog = resolve(kl);
  }
  return r;
}
