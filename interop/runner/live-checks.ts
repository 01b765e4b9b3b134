// The checks of a real-time run (DESIGN.md §6, §7), computed only from what crosswire saw: the relay's on-wire
// observers, a key-log-assisted decode of the capture (interop/runner/wire-analysis.ts) and the files the client
// wrote. They hold for peer ↔ peer pairs with no crosswire endpoint, and a peer's own claims never enter them.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Relay } from '../../simulator/relay.js';
import type { Check } from '../result.js';
import type { Scenario } from '../scenario/model.js';
import type { PeerDeclaration } from '../peers/declaration.js';
import type { GeneratedFiles } from './content.js';
import { describeExit, type ExitStatus } from './processes.js';
import { downloadName } from '../commands/get-quic.js';
import { createHash } from 'node:crypto';
import { analyzeCapture, type WireFacts } from './wire-facts.js';

export interface LiveCheckInput {
  scenario: Scenario;
  client: PeerDeclaration;
  server: PeerDeclaration;
  relay: Relay;
  keylog: string;
  downloads: string;
  requests: { path: string; size: number }[];
  files: GeneratedFiles;
  messages: string[];
  clientStatus?: ExitStatus;
  clientLastLine?: string;
  /** Set when the server exited on its own before the run ended. */
  serverDied?: ExitStatus;
  serverLastLine?: string;
  timedOut: boolean;
  limitMs: number;
}

const fileDigest = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function liveChecks(input: LiveCheckInput): { checks: Check[]; metrics: Record<string, number | string | boolean> } {
  const { scenario: s, relay } = input;
  const ex = s.expect;
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const wireCheck = (name: string) => relay.checks().find((c) => c.name === name);
  const facts: WireFacts = analyzeCapture(s.protocol, relay, input.keylog);

  // Files first: a timeout's reason says how far the client got.
  let filesOk = 0;
  const fileProblems: string[] = [];
  let bytes = 0;
  if (s.protocol === 'quic') {
    for (const r of input.requests) {
      const p = join(input.downloads, downloadName(r.path));
      if (!existsSync(p)) fileProblems.push(`${r.path} never arrived`);
      else if (statSync(p).size !== r.size) fileProblems.push(`${r.path} has ${statSync(p).size} bytes, expected ${r.size}`);
      else if (fileDigest(p) !== input.files.digest(r.path)) fileProblems.push(`${r.path} differs from the served file`);
      else {
        filesOk++;
        bytes += r.size;
      }
    }
  }

  const st = input.clientStatus;
  const who = `${input.client.name} client`;
  if (input.timedOut) {
    const progress = s.protocol === 'quic' ? `: ${filesOk} of ${input.requests.length} files` : '';
    add('completed', false, `timeout after ${secs(input.limitMs)}${progress}`);
  } else if (!st) add('completed', false, `${who} did not run`);
  else if (st.code === 0) add('completed', true, `${who} exited with code 0 after ${secs(st.afterMs)}`);
  else add('completed', false, `${who} ${describeExit(st)}${input.clientLastLine ? `: ${input.clientLastLine}` : ''}`);
  if (input.serverDied) add('server-alive', false, `${input.server.name} server ${describeExit(input.serverDied)}${input.serverLastLine ? `: ${input.serverLastLine}` : ''}`);

  if (ex.files === 'identical') {
    add('files-identical', fileProblems.length === 0 && input.requests.length > 0, fileProblems.length ? `${fileProblems.length} of ${input.requests.length} file(s) wrong; first: ${fileProblems[0]}` : `${filesOk} file(s), ${bytes} bytes, SHA-256 identical to the served files`);
  }

  if (ex.messages === 'echoed') {
    const p = join(input.downloads, 'echo');
    const got = existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter((l) => l.length) : [];
    const missing = input.messages.filter((m) => !got.includes(m));
    add('messages-echoed', missing.length === 0 && input.messages.length > 0, `${input.messages.length - missing.length} of ${input.messages.length} message(s) echoed back intact`);
  }

  if (ex.handshakes !== undefined) {
    // Real-time QIR semantics: one connection per URL for multiconnect, two for resumption/zerortt.
    const n = facts.handshakes;
    add('handshakes', n === ex.handshakes, `${n} of ${ex.handshakes} expected handshake(s) completed on the wire (${facts.handshakeBasis})`);
  }

  if (ex.withinMs !== undefined) {
    const end = facts.lastClientDataMs;
    // A client still running at the deadline has not finished, whenever it last sent application data.
    const detail = input.timedOut
      ? `not finished: the client was still running when the run was stopped at ${secs(input.limitMs)} (limit ${secs(ex.withinMs)})`
      : end === undefined
        ? `not finished within ${secs(ex.withinMs)}`
        : `finished at ${secs(end)} of wall time (limit ${secs(ex.withinMs)})`;
    add('within', end !== undefined && end <= ex.withinMs && !input.timedOut, detail);
  }

  if (ex.retry !== undefined) {
    const w = wireCheck('quic-retry-token-echoed');
    const retries = facts.retries;
    add('retry', (retries > 0) === ex.retry && (w?.ok ?? true), `${retries} Retry on the wire (expected ${ex.retry ? 'at least one' : 'none'}); ${w?.detail ?? 'n/a'}`);
  }

  if (ex.amplification === 'respected') {
    const w = wireCheck('quic-amplification-limit');
    add('amplification', !!w?.ok, w?.detail ?? 'the amplification observer saw no QUIC traffic');
  }

  if (ex.dtlsCookie !== undefined) {
    const hvr = facts.helloVerifyRequests;
    const bad = relay.checks().find((c) => c.name.startsWith('dtls-hvr') && !c.ok);
    add('dtls-cookie', (hvr > 0) === ex.dtlsCookie && !bad, `${hvr} HelloVerifyRequest(s) on the wire (expected ${ex.dtlsCookie ? 'at least one' : 'none'})${bad ? `; ${bad.detail}` : ''}`);
  }

  if (ex.keyUpdates) {
    const ku = facts.keyUpdates;
    const wc = ex.keyUpdates.client ?? 0;
    const ws = ex.keyUpdates.server ?? 0;
    add('key-updates', ku !== undefined && ku.client >= wc && ku.server >= ws, ku ? `key phase changes on the wire: client ${ku.client} (expected ≥ ${wc}), server ${ku.server} (expected ≥ ${ws})` : `not observable: ${facts.keysMissing ?? 'no 1-RTT keys in the key logs'}`);
  }

  if (ex.resumed !== undefined) {
    const later = facts.connections.slice(1);
    const ok = later.length > 0 && later.every((c) => c.resumed === ex.resumed);
    add('resumed', ok, later.length ? later.map((c, i) => `connection ${i + 2}: ${c.resumed === undefined ? 'unknown' : c.resumed ? 'resumed (ServerHello pre_shared_key)' : 'full handshake'}`).join(', ') : `only ${facts.connections.length} connection(s) on the wire: nothing to resume`);
  }

  if (ex.zerortt !== undefined) {
    const later = facts.connections.slice(1);
    const want = ex.zerortt === 'accepted';
    const ok = later.length > 0 && later.every((c) => c.earlyDataAccepted === want && (!want || c.zeroRttPackets > 0));
    add('zerortt', ok, later.length ? later.map((c, i) => `connection ${i + 2}: ${c.zeroRttPackets} 0-RTT packet(s), early data ${c.earlyDataAccepted === undefined ? 'unknown (no handshake keys)' : c.earlyDataAccepted ? 'accepted' : 'rejected'}`).join(', ') : 'no second connection on the wire');
  }

  if (ex.version !== undefined || ex.versions !== undefined) {
    const used = facts.connections.map((c) => (c.version === 0x6b3343cf ? '2' : c.version === 1 ? '1' : c.version === undefined ? 'none' : `0x${c.version.toString(16)}`));
    if (ex.version !== undefined) add('version', used.length > 0 && used.every((v) => v === String(ex.version)), `connections used version ${used.join(', ') || 'none'} on the wire (expected ${ex.version})`);
    if (ex.versions !== undefined) {
      const seen = new Set(used);
      add('versions', ex.versions.every((v) => seen.has(String(v))), `versions used: ${[...seen].join(', ') || 'none'} (expected ${ex.versions.join(', ')})`);
    }
  }

  if (ex.cipherSuite !== undefined) {
    const suites = facts.connections.map((c) => c.cipherSuite ?? 'unknown');
    add('cipher-suite', suites.length > 0 && suites.every((x) => x === ex.cipherSuite), `ServerHello chose ${suites.join(', ') || 'nothing'} (expected ${ex.cipherSuite})`);
  }

  if (ex.goodputBps !== undefined) {
    const g = facts.goodputBps;
    const late = facts.relayLateness;
    const timing = late ? `; relay timers late p50 ${late.p50Ms.toFixed(1)} ms, p99 ${late.p99Ms.toFixed(1)} ms, max ${late.maxMs.toFixed(1)} ms` : '';
    add('goodput', g >= ex.goodputBps, `${(g / 1e6).toFixed(2)} Mbit/s of wall time through the relay (expected ≥ ${(ex.goodputBps / 1e6).toFixed(2)})${timing}`);
  }

  if (ex.closeInfo) add('close-info', false, 'close info is read through the OpenSSL-style API: self ↔ self only');

  const metrics: Record<string, number | string | boolean> = {
    handshakes: facts.handshakes,
    goodputBps: Math.round(facts.goodputBps),
    ...(facts.relayLateness ? { relayLateP50Ms: facts.relayLateness.p50Ms, relayLateP99Ms: facts.relayLateness.p99Ms, relayLateMaxMs: facts.relayLateness.maxMs } : {}),
    bytesDownloaded: bytes,
    ...facts.metrics,
  };
  return { checks, metrics };
}
