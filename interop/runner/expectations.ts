// Turns a scenario's `expect` block (DESIGN.md §7) into named checks from what both roles report and what the
// simulator's on-wire observers saw. Every check says what was measured, pass or fail.

import type { SimulationResult } from '../../simulator/run.js';
import type { Check } from '../result.js';
import type { Scenario } from '../scenario/model.js';
import type { ConnectionReport, RoleReport } from '../peers/types.js';
import type { GeneratedFiles } from './content.js';
import type { StepScript } from './script.js';
import { requestPaths } from './requests.js';
import { QUIC_V2 } from '../../engine/quic/version.js';

export interface EvaluationInput {
  scenario: Scenario;
  sim: SimulationResult;
  client: RoleReport;
  server: RoleReport;
  files: GeneratedFiles;
  clientDone: boolean;
  script?: StepScript;
}

const versionName = (v: number | undefined): string => (v === undefined ? 'none' : v === QUIC_V2 ? '2' : v === 1 ? '1' : `0x${v.toString(16)}`);
const fmtMs = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;

function wire(sim: SimulationResult, name: string): Check | undefined {
  return sim.checks.find((c) => c.name === name);
}

export function evaluate(input: EvaluationInput): Check[] {
  const { scenario: s, sim, client, server, files } = input;
  const ex = s.expect;
  const conns = client.connections;
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  if (input.script) {
    const st = input.script;
    add('steps', st.passed, st.passed ? `${st.total} step(s) done` : st.failure ?? `stopped at step ${st.position + 1} of ${st.total}: ${st.waitingFor()}`);
  } else {
    const unfinished = conns.filter((c) => c.finishedAt === undefined);
    const workload = s.protocol === 'dtls' ? 'handshake and echoes' : 'downloads';
    add('completed', input.clientDone, input.clientDone ? `client finished its ${workload} at ${fmtMs(Math.max(0, ...conns.map((c) => c.finishedAt ?? 0)))}` : `client did not finish (${unfinished.length} of ${s.protocol === 'dtls' ? 1 : s.client.connections} connection(s) unfinished${lastClose(conns)}) when the run ended (${sim.outcome}${sim.reason ? `: ${sim.reason}` : ''})`);
  }

  const handshakes = conns.filter((c) => c.handshakeAt !== undefined).length;
  if (ex.handshakes !== undefined) add('handshakes', handshakes === ex.handshakes, `${handshakes} of ${ex.handshakes} expected handshake(s) completed`);

  if (ex.withinMs !== undefined) {
    const ends = conns.map((c) => c.finishedAt ?? c.handshakeAt);
    const last = ends.every((t) => t !== undefined) && ends.length ? Math.max(...(ends as number[])) : undefined;
    add('within', last !== undefined && last <= ex.withinMs, last === undefined ? `not finished within ${fmtMs(ex.withinMs)}` : `finished at ${fmtMs(last)} (limit ${fmtMs(ex.withinMs)})`);
  }

  if (ex.files === 'identical') {
    const problems: string[] = [];
    let count = 0;
    let bytes = 0;
    conns.forEach((c, i) => {
      const got = new Map((c.files ?? []).map((f) => [f.path, f]));
      for (const [p] of requestPaths(s)) {
        const f = got.get(p);
        const size = files.size(p) ?? 0;
        if (!f) problems.push(`connection ${i + 1}: ${p} never arrived`);
        else if (!f.ok) problems.push(`connection ${i + 1}: ${p} failed (${f.detail ?? 'incomplete'})`);
        else if (f.bytes !== size) problems.push(`connection ${i + 1}: ${p} has ${f.bytes} bytes, expected ${size}`);
        else if (f.digest !== files.digest(p)) problems.push(`connection ${i + 1}: ${p} differs from the source (sha256 ${f.digest?.slice(0, 16)}…)`);
        else {
          count++;
          bytes += f.bytes;
        }
      }
    });
    if (!conns.length) problems.push('no connection was made');
    add('files-identical', problems.length === 0, problems.length ? `${problems.length} file(s) wrong; first: ${problems[0]}` : `${count} file(s), ${bytes} bytes, SHA-256 identical to the source`);
  }

  if (ex.messages === 'echoed') {
    const c = conns[0];
    const sent = s.client.messages.length;
    const echoed = c?.messagesEchoed ?? 0;
    add('messages-echoed', echoed === sent && sent > 0, `${echoed} of ${sent} message(s) echoed back intact`);
  }

  if (ex.retry !== undefined) {
    const retried = conns.some((c) => c.retried);
    const w = wire(sim, 'quic-retry-token-echoed');
    add('retry', retried === ex.retry && (w?.ok ?? true), `client ${retried ? 'saw' : 'did not see'} a Retry (server sent ${server.retriesSent ?? 0}); wire: ${w?.detail ?? 'n/a'}`);
  }

  if (ex.amplification === 'respected') {
    const w = wire(sim, 'quic-amplification-limit');
    add('amplification', !!w?.ok, w?.detail ?? 'the amplification observer saw no QUIC traffic');
  }

  if (ex.keyUpdates) {
    const cl = conns.reduce((a, c) => a + c.keyUpdates, 0);
    const sv = server.connections.reduce((a, c) => a + c.keyUpdates, 0);
    const wc = ex.keyUpdates.client ?? 0;
    const ws = ex.keyUpdates.server ?? 0;
    add('key-updates', cl >= wc && sv >= ws, `client went through ${cl} key update(s) (expected ≥ ${wc}), server ${sv} (expected ≥ ${ws})`);
  }

  if (ex.dtlsCookie !== undefined) {
    const hvr = server.retriesSent ?? 0;
    const clientSaw = conns.some((c) => c.retried);
    const wireOk = sim.checks.filter((c) => c.name.startsWith('dtls-hvr')).every((c) => c.ok);
    const ok = (hvr > 0 && clientSaw) === ex.dtlsCookie && wireOk;
    const bad = sim.checks.find((c) => c.name.startsWith('dtls-hvr') && !c.ok);
    add('dtls-cookie', ok, `server sent ${hvr} HelloVerifyRequest(s); the client ${clientSaw ? 'did' : 'did not'} go through a cookie round${bad ? `; ${bad.detail}` : ''}`);
  }

  if (ex.maxServerStates !== undefined) {
    const m = server.maxStates ?? 0;
    add('max-server-states', m <= ex.maxServerStates, `server held at most ${m} per-peer state(s) (limit ${ex.maxServerStates})`);
  }

  if (ex.resumed !== undefined) {
    const later = conns.slice(1);
    const ok = later.length > 0 && later.every((c) => c.resumed === ex.resumed);
    add('resumed', ok, later.length ? later.map((c, i) => `connection ${i + 2}: ${c.resumed ? 'resumed' : c.handshakeAt === undefined ? 'no handshake' : 'full handshake'}`).join(', ') : 'only one connection: nothing to resume');
  }

  if (ex.zerortt !== undefined) {
    const tried = conns.filter((c, i) => i > 0);
    const want = ex.zerortt === 'accepted';
    const ok = tried.length > 0 && tried.every((c) => c.earlyData === want);
    add('zerortt', ok, tried.length ? tried.map((c, i) => `connection ${i + 2}: 0-RTT ${c.earlyData === undefined ? 'not attempted' : c.earlyData ? 'accepted' : 'rejected'}`).join(', ') : 'no resumed connection');
  }

  if (ex.versions !== undefined || ex.version !== undefined) {
    const used = conns.map((c) => versionName(c.version));
    const w = wire(sim, 'quic-versions');
    if (ex.version !== undefined) add('version', used.length > 0 && used.every((v) => v === String(ex.version)), `connections used version ${used.join(', ') || 'none'} (expected ${ex.version}); wire: ${w?.detail ?? 'n/a'}`);
    if (ex.versions !== undefined) {
      const seen = new Set(used);
      add('versions', ex.versions.every((v) => seen.has(String(v))), `versions used: ${[...seen].join(', ') || 'none'} (expected ${ex.versions.join(', ')})`);
    }
  }

  if (ex.goodputBps !== undefined) {
    const g = goodput(conns);
    add('goodput', g >= ex.goodputBps, `${(g / 1e6).toFixed(2)} Mbit/s in simulated time (expected ≥ ${(ex.goodputBps / 1e6).toFixed(2)})`);
  }

  if (ex.closeInfo) {
    const info = conns.at(-1)?.closeInfo;
    const want = ex.closeInfo;
    const ok =
      !!info &&
      (want.code === undefined || info.errorCode === want.code) &&
      (want.reason === undefined || info.reason === want.reason) &&
      (want.transport === undefined || (info.kind === 'transport') === want.transport);
    add('close-info', ok, info ? `closed with ${info.kind} code ${info.errorCode} "${info.reason}" (${info.initiator})` : 'the connection never closed');
  }

  if (ex.cipherSuite !== undefined) {
    const suites = conns.map((c) => c.cipherSuite ?? 'none');
    add('cipher-suite', suites.length > 0 && suites.every((x) => x === ex.cipherSuite), `negotiated ${suites.join(', ') || 'nothing'} (expected ${ex.cipherSuite})`);
  }

  return checks;
}

function lastClose(conns: ConnectionReport[]): string {
  const info = conns.map((c) => c.closeInfo).filter((x) => x).at(-1);
  return info ? `; last close: ${info.kind} code ${info.errorCode}${info.reason ? ` "${info.reason}"` : ''} by ${info.initiator}${info.cause !== 'close' ? ` (${info.cause})` : ''}` : '';
}

/** Bits per second from the first connection's start to the last byte received, in simulated time. */
export function goodput(conns: ConnectionReport[]): number {
  const bytes = conns.reduce((a, c) => a + (c.bytes ?? 0), 0);
  const start = conns[0]?.startedAt ?? 0;
  const end = Math.max(0, ...conns.map((c) => c.lastByteAt ?? 0));
  return end > start ? (bytes * 8) / ((end - start) / 1000) : 0;
}
