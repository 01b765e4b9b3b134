// Wire fuzzing against real peers (issue 14 item 14): the peer runs as a process started from its declaration, as the
// runner starts real-peer cells (own process group, readiness, loopback port), and our engine is the other endpoint with
// a mutation stage in front of the peer: every input mutates one of our datagrams (QUIC) or records (TLS over TCP),
// drawn only from (seed, input index), so `--seed S --input I` runs that input again. After every input the peer's
// process is checked (an exit is a crash: signal named, peer restarted), every K inputs a clean handshake must succeed
// (otherwise a hang: the peer is restarted), bytes the peer sends toward each unvalidated client address are measured
// on the wire against the 3× limit (RFC 9000 §8.1), and the peer's reactions are counted.

import { constants } from 'node:os';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pemDecode } from '../../engine/tls/x509/pem.js';
import { expandStatic, isInstalled, peerVersion, type PeerDeclaration } from '../peers/declaration.js';
import { writeRunCerts, type RunCerts } from '../runner/live-pki.js';
import { allocatePort } from '../runner/ports.js';
import { EndpointProcess, type ExitStatus } from '../runner/processes.js';
import { waitReady } from '../runner/readiness.js';
import { summaryLine } from './campaign.js';
import { AMPLIFICATION_LIMIT } from './harness.js';
import { quicDriver } from './live-quic.js';
import { tlsDriver } from './live-tls.js';
import { dtlsDriver } from './live-dtls.js';
import type { InputContext, LiveDriver, LiveInput } from './live-types.js';
import { Draw, inputName } from './rng.js';
import { clientPlan, runClientInput, type ClientInputContext, type ClientOutcome } from './live-client.js';
import { runTlsClientInput, tlsClientPlan } from './live-client-tls.js';
import { dtlsClientPlan, runDtlsClientInput } from './live-client-dtls.js';

export type LiveProtocol = 'quic' | 'tls' | 'dtls';

/** Client role: runs of a crashing or hanging input alone before calling it not reproducible. */
const CONFIRM_TRIES = 3;

export interface LiveCampaignOptions {
  readonly protocol: LiveProtocol;
  /** The role the peer plays: server (our client engine drives the connections) or client (one peer client run per input against our server). */
  readonly role: 'server' | 'client';
  readonly peer: PeerDeclaration;
  readonly inputs: number;
  readonly seed: number;
  /** Peer processes side by side, each on its own port (default 1). */
  readonly jobs?: number;
  readonly out: string;
  /** A clean handshake after every K inputs per peer process (default 10; 1 = after each input). */
  readonly checkEvery?: number;
  /** How long the clean handshake may take before the peer counts as hung (default 5000 ms). */
  readonly liveTimeoutMs?: number;
  readonly quietMs?: number;
  readonly maxMs?: number;
  readonly lingerMs?: number;
  /** Client role: how long a client run may live at all before it counts as hung (default 70 s). */
  readonly clientTimeoutMs?: number;
  /** Inputs side by side on one peer process, each on its own socket (default 1). */
  readonly inFlight?: number;
  /** Run exactly these input indices (replay: `--input I`). */
  readonly only?: readonly number[];
  /** Extra flags the replay command needs (e.g. --peers-file F). */
  readonly replayFlags?: string;
  readonly onProgress?: (p: { done: number; total: number; crashes: number; hangs: number; maxAmplification: number; inputsPerSecond: number }) => void;
  readonly progressMs?: number;
  readonly signal?: AbortSignal;
}

export interface LiveFinding {
  readonly kind: 'crash' | 'hang' | 'amplification' | 'exception';
  readonly input: number;
  /** Inputs since the last good liveness check (a hang or crash can be any of them; the last is the likeliest). */
  readonly suspects: number[];
  /** Crash and hang: whether `input` alone, on a fresh peer, did it again. */
  readonly reproduced?: boolean;
  /** Client role: the runs of the input alone it took to see it again (or CONFIRM_TRIES when none did). */
  readonly confirmTries?: number;
  readonly detail: string;
  readonly replay: string;
  readonly mutated?: string;
  readonly original?: string;
  readonly mutations?: string[];
  readonly stderrTail?: string;
  file?: string;
}

export interface LiveCampaignResult {
  readonly protocol: LiveProtocol;
  readonly role: 'server' | 'client';
  readonly peer: { name: string; version: string };
  readonly seed: number;
  readonly inputs: number;
  readonly jobs: number;
  readonly seconds: number;
  readonly inputsPerSecond: number;
  /** Exceptions thrown by our own engine while it talked to the peer (the peer's own failures are crashes and hangs). */
  readonly exceptions: number;
  readonly crashes: number;
  readonly hangs: number;
  readonly livenessChecks: number;
  readonly livenessFailures: number;
  /** Liveness checks that failed once and passed when tried again at once (not counted as hangs). */
  readonly livenessRetries: number;
  readonly restarts: number;
  readonly maxAmplification: number;
  readonly amplificationFindings: number;
  /** Inputs whose client address the peer answered before validation (those the ratio is measured on). */
  readonly amplificationMeasured: number;
  readonly reactions: Record<string, number>;
  readonly mutations: Record<string, number>;
  readonly findings: LiveFinding[];
  /** Per input (only with --input, or when asked): what was sent and what the peer did. */
  readonly records?: LiveInput[];
  readonly summary: string;
}

/** The last line: the virtual-time campaign's format, with peer crashes as their own explicit field. */
export const liveSummaryLine = (r: Pick<LiveCampaignResult, 'inputs' | 'exceptions' | 'hangs' | 'maxAmplification' | 'crashes'>): string =>
  `${summaryLine(r)}, ${r.crashes} crashes`;

const DRIVERS: Record<LiveProtocol, LiveDriver> = { quic: quicDriver, tls: tlsDriver, dtls: dtlsDriver };

/** An exit status as users read it; the guard script reports a signal death as 128+N. */
export function exitName(s: ExitStatus): string {
  if (s.signal) return s.signal;
  const code = s.code ?? -1;
  if (code > 128 && code < 128 + 65) {
    const name = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name) return name;
  }
  return `exit code ${code}`;
}

function tail(path: string, bytes = 4096): string {
  try {
    const b = readFileSync(path);
    return b.subarray(Math.max(0, b.length - bytes)).toString('utf8');
  } catch {
    return '';
  }
}

const DEFAULT_ALPN: Record<LiveProtocol, string[]> = { quic: ['hq-interop', 'h3'], tls: ['http/1.1'], dtls: ['echo'] };

/** One peer process slot: started, watched, restarted. */
class PeerSlot {
  proc: EndpointProcess | undefined;
  port = 0;
  starts = 0;
  /** An exit we caused (stop for a restart, or the end) is not a crash. */
  private stopping = false;
  constructor(
    private readonly o: LiveCampaignOptions,
    private readonly slot: number,
    private readonly certs: RunCerts,
    private readonly www: string,
    readonly alpn: string,
    private readonly testcase = 'handshake',
  ) {}

  async start(): Promise<void> {
    const decl = this.o.peer;
    const role = decl.roles.server!;
    this.port = await allocatePort();
    const logs = resolve(join(this.o.out, 'peers', `${this.slot}-${++this.starts}`));
    mkdirSync(logs, { recursive: true });
    const env: Record<string, string> = {
      ROLE: 'server',
      TESTCASE: this.testcase,
      REQUESTS: '',
      PROTOCOL: this.o.protocol,
      ALPN: this.alpn,
      HOST: '127.0.0.1',
      PORT: String(this.port),
      SERVER: `127.0.0.1:${this.port}`,
      CERTS: this.certs.dir,
      CERT: this.certs.cert,
      KEY: this.certs.key,
      CA: this.certs.ca,
      WWW: this.www,
      DOWNLOADS: join(logs, 'downloads'),
      LOGS: logs,
      QUIC_VERSION: '1',
    };
    const map: Record<string, string | undefined> = { host: env['HOST'], port: env['PORT'], server: env['SERVER'], cert: env['CERT'], key: env['KEY'], ca: env['CA'], www: env['WWW'], logs, alpn: this.alpn, protocol: this.o.protocol, testcase: this.testcase };
    const expand = (a: string) => expandStatic(a, decl).replace(/\{([a-z]+)\}/g, (m, k: string) => map[k] ?? m);
    const extra: Record<string, string> = {};
    for (const [k, v] of Object.entries(role.env)) extra[k] = expand(v);
    this.stopping = false;
    this.proc = new EndpointProcess(`${decl.name} server`, role.command.map(expand), {
      env: { ...env, ...extra },
      cwd: role.cwd ? expandStatic(role.cwd, decl) : logs,
      stdout: join(logs, 'stdout.log'),
      stderr: join(logs, 'stderr.log'),
    });
    const ready = await waitReady(this.proc, role.ready, { host: '127.0.0.1', port: this.port, protocol: this.o.protocol, timeoutMs: 20_000, signal: this.o.signal });
    if (!ready.ok) {
      const last = this.proc.lastErrorLine();
      await this.stop();
      throw new Error(`${decl.name} server ${ready.reason}${last ? `: ${last}` : ''}`);
    }
  }

  /** The exit nobody asked for, if the process has ended. */
  crashed(): ExitStatus | undefined {
    return this.proc?.status && !this.stopping ? this.proc.status : undefined;
  }

  /** Waits until the process exits or `ms` pass. */
  async settle(ms: number): Promise<void> {
    if (!this.proc || this.proc.status) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.proc.exited, new Promise<void>((r) => (t = setTimeout(r, ms)))]);
    clearTimeout(t);
  }

  stderrTail(): string {
    return this.proc ? tail(this.proc.stderrPath) : '';
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.proc?.stop(1000);
  }
}

export async function runLiveCampaign(o: LiveCampaignOptions): Promise<LiveCampaignResult> {
  if (o.role === 'client') return runClientCampaign(o);
  const driver = DRIVERS[o.protocol];
  const decl = o.peer;
  const role = decl.roles.server;
  if (!role) throw new Error(`${decl.name} cannot act as server`);
  if (!role.protocols.includes(o.protocol)) throw new Error(`${decl.name} (server) does not speak ${o.protocol}`);
  const inst = isInstalled(decl);
  if (!inst.ok) throw new Error(`${decl.name} is not installed (missing ${inst.missing[0]}); run: crosswire peers install ${decl.name}`);
  const alpn = DEFAULT_ALPN[o.protocol].find((a) => role.alpns.includes(a)) ?? role.alpns[0] ?? DEFAULT_ALPN[o.protocol][0]!;

  mkdirSync(o.out, { recursive: true });
  rmSync(join(o.out, 'peers'), { recursive: true, force: true });
  const certs = writeRunCerts(resolve(join(o.out, 'certs')));
  const www = resolve(join(o.out, 'www'));
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, 'index.html'), 'crosswire fuzz-wire\n');
  const ca = pemDecode(readFileSync(certs.ca, 'utf8'))[0]!;

  const indices = o.only ? [...o.only] : Array.from({ length: o.inputs }, (_, i) => i);
  const jobs = Math.max(1, Math.min(o.jobs ?? 1, indices.length));
  const checkEvery = Math.max(1, o.checkEvery ?? 10);
  const inFlight = Math.max(1, o.inFlight ?? 1);
  const liveTimeoutMs = o.liveTimeoutMs ?? 5000;
  const records: LiveInput[] = [];
  const findings: LiveFinding[] = [];
  const lingers: Promise<void>[] = [];
  const counts = { livenessChecks: 0, livenessFailures: 0, livenessRetries: 0, restarts: 0, crashes: 0, hangs: 0 };
  const started = performance.now();
  const replayOf = (i: number) => `crosswire fuzz-wire ${o.protocol} --peer ${decl.name} --role ${o.role} --seed ${o.seed} --input ${i}${o.replayFlags ? ` ${o.replayFlags}` : ''}`;
  const ctxFor = (slot: PeerSlot, name: string): InputContext => ({ name, port: slot.port, alpn, ca, quietMs: o.quietMs ?? 150, maxMs: o.maxMs ?? 3000, lingerMs: o.lingerMs ?? 8000 });
  const byIndex = new Map<number, LiveInput>();
  const peerFinding = (kind: 'crash' | 'hang', suspects: number[], detail: string, culprit: { input: number; reproduced: boolean; tried: number }, stderrTail: string) => {
    const rec = byIndex.get(culprit.input);
    findings.push({
      kind,
      input: culprit.input,
      suspects: [...suspects],
      reproduced: culprit.reproduced,
      detail: `${detail}; ${culprit.reproduced ? `input ${culprit.input} alone on a fresh peer does it again` : `none of the ${culprit.tried} suspect input(s) alone on a fresh peer did it again (state built up over several inputs, or timing)`}`,
      replay: replayOf(culprit.input),
      ...(rec?.mutated ? { mutated: rec.mutated, original: rec.original, mutations: rec.mutations } : {}),
      stderrTail,
    });
  };

  let done = 0;
  const progress = () => {
    const s = (performance.now() - started) / 1000;
    o.onProgress?.({ done, total: indices.length, crashes: counts.crashes, hangs: counts.hangs, maxAmplification: maxAmp(records), inputsPerSecond: done / Math.max(s, 1e-9) });
  };
  const ticker = o.onProgress ? setInterval(progress, o.progressMs ?? 5000) : undefined;

  const slots: PeerSlot[] = [];
  const runSlot = async (j: number) => {
    const slot = new PeerSlot(o, j, certs, www, alpn, driver.testcase);
    slots.push(slot);
    await slot.start();
    let suspects: number[] = [];
    const restart = async () => {
      await slot.stop();
      counts.restarts++;
      await slot.start();
      suspects = [];
    };
    /** One input of the campaign, drawn from (seed, index) alone. */
    const runOne = async (index: number): Promise<LiveInput> => {
      const name = `${inputName(o.seed, o.protocol, `live-${o.role}`, index)}`;
      const r = new Draw(name);
      const plan = driver.plan(r);
      const rec: LiveInput = { index, plan, mutations: [], reaction: 'none', peerDatagrams: 0, amplification: { rx: 0, tx: 0 }, engineErrors: [] };
      lingers.push((await driver.input(ctxFor(slot, name), r, plan, rec)).linger);
      return rec;
    };
    let checks = 0;
    const handshake = () => driver.handshake(ctxFor(slot, `${inputName(o.seed, o.protocol, 'live', j)}/liveness/${++checks}`), liveTimeoutMs);
    /**
     * Which suspects do it alone? Each one again on a fresh peer (newest first), followed by the same test that failed
     * (the process still runs; a clean handshake succeeds). Crashes: every suspect is tried (two inputs of one group
     * can each kill the peer); hangs: the first that hangs it again (each retry costs a liveness timeout). The peer
     * is fresh afterwards either way.
     */
    const pinpoint = async (kind: 'crash' | 'hang', list: number[]): Promise<{ inputs: number[]; tried: number }> => {
      const candidates = [...list].reverse().slice(0, 20);
      const culprits: number[] = [];
      for (const s of candidates) {
        await restart();
        await runOne(s);
        if (kind === 'crash') {
          // A process takes a moment to die after the datagram that kills it.
          await slot.settle(500);
          if (slot.crashed()) culprits.push(s);
        } else {
          const h = await handshake();
          if (!h.ok || slot.crashed()) {
            culprits.push(s);
            break;
          }
        }
      }
      await restart();
      return { inputs: culprits.sort((a, b) => a - b), tried: candidates.length };
    };
    /** One finding per input that does it alone, or one for the whole group when none does. */
    const report = (kind: 'crash' | 'hang', list: number[], what: (input: number) => string, c: { inputs: number[]; tried: number }, tail: string) => {
      if (!c.inputs.length) {
        peerFinding(kind, list, what(list.at(-1)!), { input: list.at(-1)!, reproduced: false, tried: c.tried }, tail);
        return 1;
      }
      for (const i of c.inputs) peerFinding(kind, list, what(i), { input: i, reproduced: true, tried: c.tried }, tail);
      return c.inputs.length;
    };
    const crashed = async (st: ExitStatus, list: number[], seen: string) => {
      const tail = slot.stderrTail();
      const c = await pinpoint('crash', list);
      counts.crashes += report('crash', list, (i) => `${decl.name} server exited with ${exitName(st)} after input ${i}${seen}`, c, tail);
    };
    const liveness = async (): Promise<void> => {
      counts.livenessChecks++;
      let h = await handshake();
      // One more try before calling it a hang: a handshake lost to a loaded machine is not a peer that stopped
      // answering (that one fails both).
      if (!h.ok && !slot.crashed()) {
        counts.livenessRetries++;
        h = await handshake();
      }
      const st = slot.crashed();
      const list = [...suspects];
      if (st) return crashed(st, list, ' (seen at the liveness check)');
      if (!h.ok) {
        counts.livenessFailures++;
        const tail = slot.stderrTail();
        const c = await pinpoint('hang', list);
        counts.hangs += report('hang', list, (i) => `${decl.name} server stopped answering: a clean handshake after input ${i} failed (${h.detail}) though the process runs`, c, tail);
        return;
      }
      suspects = [];
    };
    // This slot's inputs, `inFlight` at a time (each on its own socket, side by side on one peer process).
    const mine = indices.filter((_, n) => n % jobs === j);
    let sinceCheck = 0;
    for (let at = 0; at < mine.length; ) {
      if (o.signal?.aborted) break;
      // Never past the next liveness check: it comes after exactly K inputs.
      const group = mine.slice(at, at + Math.min(inFlight, checkEvery - sinceCheck));
      at += group.length;
      suspects.push(...group);
      const recs = await Promise.all(group.map((i) => runOne(i)));
      for (const rec of recs) {
        records.push(rec);
        byIndex.set(rec.index, rec);
      }
      done += group.length;
      const st = slot.crashed();
      if (st) {
        await crashed(st, [...suspects], '');
        sinceCheck = 0;
        continue;
      }
      sinceCheck += group.length;
      if (sinceCheck >= checkEvery || at >= mine.length) {
        sinceCheck = 0;
        await liveness();
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: jobs }, (_, j) => runSlot(j)));
    await Promise.all(lingers);
  } finally {
    if (ticker) clearInterval(ticker);
    await Promise.all(slots.map((s) => s.stop()));
  }
  return finish(o, records, findings, counts, jobs, (performance.now() - started) / 1000, replayOf);
}

/** Counts, inputs.jsonl, finding files and fuzz-wire.json. */
function finish(
  o: LiveCampaignOptions,
  records: LiveInput[],
  findings: LiveFinding[],
  counts: { livenessChecks: number; livenessFailures: number; livenessRetries: number; restarts: number; crashes: number; hangs: number },
  jobs: number,
  seconds: number,
  replayOf: (i: number) => string,
): LiveCampaignResult {
  const decl = o.peer;
  // Amplification per client address (one per input), and our own engine's exceptions.
  let exceptions = 0;
  let measured = 0;
  let amplificationFindings = 0;
  const reactions: Record<string, number> = {};
  const mutations: Record<string, number> = {};
  // inputs.jsonl: one line per input (what was mutated, how, its bytes' digest, what the peer did), so a replay can be
  // compared with the campaign and reactions traced back to inputs.
  const lines: string[] = [];
  for (const rec of records.sort((a, b) => a.index - b.index)) {
    reactions[rec.reaction] = (reactions[rec.reaction] ?? 0) + 1;
    for (const m of rec.mutations) mutations[m] = (mutations[m] ?? 0) + 1;
    lines.push(JSON.stringify(inputLine(rec)));
    if (rec.amplification.tx) measured++;
    const ratio = ampOf(rec);
    if (ratio > (DRIVERS[o.protocol].amplificationLimit ?? AMPLIFICATION_LIMIT)) {
      amplificationFindings++;
      if (amplificationFindings <= 20)
        findings.push({ kind: 'amplification', input: rec.index, suspects: [rec.index], detail: `${ratio.toFixed(2)}×: the peer sent ${rec.amplification.tx} bytes to an unvalidated client address that sent it ${rec.amplification.rx}${rec.amplification.txLog ? ` (datagrams at ms:bytes ${rec.amplification.txLog.map(([t, n]) => `${t}:${n}`).join(', ')})` : ''}`, replay: replayOf(rec.index), ...(rec.mutated ? { mutated: rec.mutated, original: rec.original, mutations: rec.mutations } : {}) });
    }
    if (rec.engineErrors.length) {
      exceptions++;
      if (findings.filter((f) => f.kind === 'exception').length < 20) findings.push({ kind: 'exception', input: rec.index, suspects: [rec.index], detail: `our engine threw while talking to the peer: ${rec.engineErrors[0]}`, replay: replayOf(rec.index), ...(rec.mutated ? { mutated: rec.mutated, original: rec.original, mutations: rec.mutations } : {}) });
    }
  }

  writeFileSync(join(o.out, 'inputs.jsonl'), lines.length ? lines.join('\n') + '\n' : '');
  let n = 0;
  for (const f of findings) {
    f.file = join(o.out, `finding-${++n}-${f.kind}.json`);
    writeFileSync(f.file, JSON.stringify({ protocol: o.protocol, role: o.role, peer: decl.name, seed: o.seed, ...f }, null, 2) + '\n');
  }
  const base = {
    protocol: o.protocol,
    role: o.role,
    peer: { name: decl.name, version: peerVersion(decl) },
    seed: o.seed,
    inputs: records.length,
    jobs,
    seconds,
    inputsPerSecond: records.length / seconds,
    exceptions,
    crashes: counts.crashes,
    hangs: counts.hangs,
    livenessChecks: counts.livenessChecks,
    livenessFailures: counts.livenessFailures,
    livenessRetries: counts.livenessRetries,
    restarts: counts.restarts,
    maxAmplification: maxAmp(records),
    amplificationFindings,
    amplificationMeasured: measured,
    reactions,
    mutations,
    findings,
    ...(o.only ? { records } : {}),
  };
  const result: LiveCampaignResult = { ...base, summary: liveSummaryLine(base) };
  writeFileSync(join(o.out, 'fuzz-wire.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

function ampOf(rec: LiveInput): number {
  const a = rec.amplification;
  return a.tx ? a.tx / Math.max(1, a.rx) : 0;
}

function maxAmp(records: readonly LiveInput[]): number {
  let m = 0;
  for (const r of records) m = Math.max(m, ampOf(r));
  return m;
}

/**
 * The campaign's line for one input. `exact`: the mutated bytes depend only on (seed, index) — our first datagram or
 * chunk comes from our seeded engine alone — so a replay sends the very same bytes; later ones carry the peer's
 * connection IDs and keys, and a replay applies the same mutation plan to that run's datagram instead.
 */
export function inputLine(rec: LiveInput) {
  const bytes = rec.mutated ? Buffer.from(rec.mutated, 'hex') : undefined;
  return {
    index: rec.index,
    mode: rec.plan.mode,
    target: rec.plan.k,
    mutations: rec.mutations,
    ...(bytes ? { mutatedLength: bytes.length, mutatedSha256: createHash('sha256').update(bytes).digest('hex'), mutatedHead: rec.mutated!.slice(0, 32), exact: rec.exact ?? rec.datagram === 0 } : {}),
    reaction: rec.reaction,
    peerDatagrams: rec.peerDatagrams,
    rx: rec.amplification.rx,
    tx: rec.amplification.tx,
    ...(rec.strays ? { strays: rec.strays } : {}),
    ...(rec.engineErrors.length ? { engineErrors: rec.engineErrors.length } : {}),
  };
}

/** Per protocol, the client role's plan and one client run against our server (no draw: a clean run, the liveness check). */
const CLIENT_RUNS = {
  quic: { plan: clientPlan, run: runClientInput, testcase: 'handshake' },
  tls: { plan: tlsClientPlan, run: runTlsClientInput, testcase: 'fuzz-wire' },
  dtls: { plan: dtlsClientPlan, run: runDtlsClientInput, testcase: 'fuzz-wire' },
} as const;

/**
 * The peer as client: every input is one run of its client process against our server on a fresh port, so a
 * crash or hang belongs to exactly that input (confirmed by running it once more). `jobs × inFlight` runs side by
 * side; a clean download every K inputs is the liveness check (the peer and this setup work at all).
 */
async function runClientCampaign(o: LiveCampaignOptions): Promise<LiveCampaignResult> {
  const decl = o.peer;
  const role = decl.roles.client;
  const kind = CLIENT_RUNS[o.protocol];
  if (!role) throw new Error(`${decl.name} cannot act as client`);
  if (!role.protocols.includes(o.protocol)) throw new Error(`${decl.name} (client) does not speak ${o.protocol}`);
  const inst = isInstalled(decl);
  if (!inst.ok) throw new Error(`${decl.name} is not installed (missing ${inst.missing[0]}); run: crosswire peers install ${decl.name}`);
  const alpn = DEFAULT_ALPN[o.protocol].find((a) => role.alpns.includes(a)) ?? role.alpns[0] ?? DEFAULT_ALPN[o.protocol][0]!;
  mkdirSync(o.out, { recursive: true });
  rmSync(join(o.out, 'runs'), { recursive: true, force: true });
  const certs = writeRunCerts(resolve(join(o.out, 'certs')));
  const indices = o.only ? [...o.only] : Array.from({ length: o.inputs }, (_, i) => i);
  const parallel = Math.max(1, (o.jobs ?? 1) * (o.inFlight ?? 1));
  const checkEvery = Math.max(1, o.checkEvery ?? 10);
  const liveTimeoutMs = o.liveTimeoutMs ?? 5000;
  const records: LiveInput[] = [];
  const findings: LiveFinding[] = [];
  const counts = { livenessChecks: 0, livenessFailures: 0, livenessRetries: 0, restarts: 0, crashes: 0, hangs: 0 };
  const started = performance.now();
  const replayOf = (i: number) => `crosswire fuzz-wire ${o.protocol} --peer ${decl.name} --role client --seed ${o.seed} --input ${i}${o.replayFlags ? ` ${o.replayFlags}` : ''}`;
  let run = 0;
  const ctxFor = (name: string): ClientInputContext => ({ name, peer: decl, alpn, certs, dir: join(o.out, 'runs', String(++run)), quietMs: o.quietMs ?? 150, maxMs: o.maxMs ?? 3000, liveTimeoutMs, clientTimeoutMs: o.clientTimeoutMs ?? 70_000 });
  const watches: Promise<void>[] = [];
  const one = async (index: number) => {
    const name = inputName(o.seed, o.protocol, 'live-client', index);
    const r = new Draw(name);
    const plan = kind.plan(r);
    const rec: LiveInput = { index, plan, mutations: [], reaction: 'none', peerDatagrams: 0, amplification: { rx: 0, tx: 0 }, engineErrors: [], exact: false };
    const run = await kind.run(ctxFor(name), r, plan, rec);
    return { rec, run };
  };
  const judge = async (index: number, rec: LiveInput, outcome: ClientOutcome) => {
    const st = outcome.exit;
    const crashed = !outcome.hung && !!st && (!!st.signal || exitName(st) !== `exit code ${st.code}`);
    if (!crashed && !outcome.hung) return;
    // Its own process: the input is known. Running it again says whether it is the input — not for a hang found only
    // after the client timeout (that run would cost as long again). Up to CONFIRM_TRIES runs: which chunk of ours the
    // mutation hits can depend on how the client's bytes were split into reads, so one retry can miss a real crash.
    let reproduced: boolean | undefined;
    let tries = 0;
    if (!outcome.outlived) {
      while (!reproduced && tries < CONFIRM_TRIES) {
        tries++;
        const again = await (await one(index)).run.final;
        reproduced = crashed ? !!again.exit && exitName(again.exit) === exitName(st!) : again.hung;
      }
    }
    const detail = crashed
      ? `${decl.name} client exited with ${exitName(st!)} after input ${index}`
      : `${decl.name} client still ran ${(o.clientTimeoutMs ?? 70_000) / 1000} s after it started (input ${index}), though our server closed the connection`;
    if (crashed) counts.crashes++;
    else counts.hangs++;
    findings.push({
      kind: crashed ? 'crash' : 'hang',
      input: index,
      suspects: [index],
      ...(reproduced !== undefined ? { reproduced, confirmTries: tries } : {}),
      detail: `${detail}; ${
        reproduced === undefined
          ? 'not run again (a second run takes the whole client timeout)'
          : reproduced
            ? `running the input again does it again${tries > 1 ? ` (on try ${tries} of ${CONFIRM_TRIES})` : ''}`
            : `running the input again ${CONFIRM_TRIES} times did not (timing)`
      }`,
      replay: replayOf(index),
      ...(rec.mutated ? { mutated: rec.mutated, original: rec.original, mutations: rec.mutations } : {}),
      stderrTail: outcome.stderrTail,
    });
  };
  let done = 0;
  const ticker = o.onProgress
    ? setInterval(() => o.onProgress!({ done, total: indices.length, crashes: counts.crashes, hangs: counts.hangs, maxAmplification: 0, inputsPerSecond: done / Math.max((performance.now() - started) / 1000, 1e-9) }), o.progressMs ?? 5000)
    : undefined;
  let next = 0;
  let sinceCheck = 0;
  const worker = async () => {
    while (next < indices.length && !o.signal?.aborted) {
      const index = indices[next++]!;
      const { rec, run } = await one(index);
      records.push(rec);
      done++;
      // A client that outlived our close is watched in the background; the others are judged now.
      if (run.outlived) watches.push(run.final.then((out) => judge(index, rec, out)));
      else await judge(index, rec, await run.final);
      if (++sinceCheck >= checkEvery) {
        sinceCheck = 0;
        counts.livenessChecks++;
        const h = await (await kind.run(ctxFor(`${inputName(o.seed, o.protocol, 'live-client', index)}/liveness`), undefined, undefined, undefined)).final;
        if (!h.ok) {
          counts.livenessFailures++;
          counts.hangs++;
          findings.push({ kind: 'hang', input: index, suspects: [index], reproduced: false, detail: `a clean download by the ${decl.name} client failed after input ${index} (${h.hung ? 'still running at the client timeout' : h.exit ? exitName(h.exit) : 'no exit'})`, replay: replayOf(index), stderrTail: h.stderrTail });
        }
      }
    }
  };
  try {
    // TLS/DTLS: the peer's client form for fuzz-wire must work at all before a failed input means anything: one clean
    // run first (a peer without the form exits 127).
    if (kind.testcase === 'fuzz-wire' && !o.signal?.aborted) {
      const h = await (await kind.run(ctxFor(`${inputName(o.seed, o.protocol, 'live-client', -1)}/first`), undefined, undefined, undefined)).final;
      if (!h.ok) {
        const why = h.exit?.code === 127 ? `does not answer TESTCASE=fuzz-wire (exit 127)` : `failed a clean run (${h.hung ? 'hung' : h.exit ? exitName(h.exit) : 'no exit'})`;
        throw new Error(`${decl.name} client ${why}${h.stderrTail ? `: ${h.stderrTail.trim().split('\n').at(-1)}` : ''}`);
      }
    }
    await Promise.all(Array.from({ length: Math.min(parallel, indices.length) }, () => worker()));
    await Promise.all(watches);
  } finally {
    if (ticker) clearInterval(ticker);
  }
  return finish(o, records, findings, counts, o.jobs ?? 1, (performance.now() - started) / 1000, replayOf);
}
