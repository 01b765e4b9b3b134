// Runs one scenario between real endpoints in real time (DESIGN.md §4, §9): each side is a process started through
// its peer declaration (interop/peers/README.md), the simulator's real-time relay sits between them and applies the
// scenario's network with fates drawn from the seed, and every check is computed from the wire (relay observers plus
// a key-log-assisted decode of the capture) and the downloaded files — never from what a peer says about itself.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Relay } from '../../simulator/relay.js';
import { startRelayThread } from '../../simulator/relay-thread.js';
import { writePcapng } from '../../simulator/capture/pcapng.js';
import type { Check } from '../result.js';
import { writeResult } from '../result.js';
import { VERSION } from '../version.js';
import type { AlpnName, Scenario, Side } from '../scenario/model.js';
import { expandStatic, isInstalled, peerVersion, type PeerDeclaration, type RoleDeclaration } from '../peers/declaration.js';
import { GeneratedFiles } from './content.js';
import { requestPaths } from './requests.js';
import { networkConfig, overridesFromList, type FateList } from './network.js';
import { writeRunCerts, type RunCerts } from './live-pki.js';
import { describeExit, EndpointProcess, type ExitStatus } from './processes.js';
import { waitReady } from './readiness.js';
import { allocatePort } from './ports.js';
import { liveChecks } from './live-checks.js';
import { DockerCell, type Runtime } from './docker-runtime.js';
import type { RunRecord } from './run.js';
import { runLiveTls } from './live-tls.js';
import { annotate } from './annotate.js';
import { apiUnsupported, runLiveApi } from './live-api.js';

export interface LiveOptions {
  seed: number;
  /** The run folder (required: real peers read and write files). */
  outDir: string;
  fates?: FateList;
  /** Replay command recorded in result.json (default: a `crosswire run` line for this cell). */
  replay?: string;
  /** How long a server may take to become ready. */
  readyTimeoutMs?: number;
  /** Repetition index (run --repeat), recorded in result.json. */
  repeat?: number;
  /** Seen by the runner's Ctrl-C handling: abort the cell now. */
  signal?: AbortSignal;
  /** 'docker': every endpoint runs as a container from its image (interop/runner/docker-runtime.ts); qir: peers always do. */
  runtime?: Runtime;
}

const DEFAULT_ALPNS: Record<Scenario['protocol'], AlpnName[]> = { quic: ['hq-interop', 'h3'], tls: ['http/1.1'], dtls: ['echo'] };

/** The ALPN a pair uses: the first of the scenario's preferences both roles declare. */
export function chooseAlpn(s: Scenario, client: RoleDeclaration, server: RoleDeclaration): string | undefined {
  const wanted = s.client.alpns ?? DEFAULT_ALPNS[s.protocol];
  return wanted.find((a) => client.alpns.includes(a) && server.alpns.includes(a));
}

/** Names who speaks the ALPN on a side whose declaration says it is not the peer itself (`alpn-labels`). */
export function labelAlpn(r: Pick<RunRecord, 'client' | 'server'>, client: PeerDeclaration, server: PeerDeclaration, alpn: string): void {
  for (const [decl, side] of [
    [client, 'client'],
    [server, 'server'],
  ] as const) {
    const label = decl.roles[side]?.alpnLabels[alpn];
    if (label) r[side].label = `${decl.name} (${alpn}: ${label})`;
  }
}

/** Why this pair cannot run the scenario (verdict unsupported), or undefined. */
export function liveUnsupported(s: Scenario, client: PeerDeclaration, server: PeerDeclaration): string | undefined {
  // Step-scripted API scenarios: our engine on one side, the peer's stream-io form on the other (live-api.ts).
  if (s.steps.length) return apiUnsupported(s, client, server);
  for (const [decl, side] of [
    [client, 'client'],
    [server, 'server'],
  ] as const) {
    const role = decl.roles[side];
    if (!role) return `${decl.name} cannot act as ${side}`;
    if (!role.protocols.includes(s.protocol)) return `${decl.name} (${side}) does not speak ${s.protocol}`;
    const missing = s.requires.filter((f) => !role.features.includes(f));
    if (missing.length) return `${decl.name} (${side}) lacks feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
    const v = s.client.quicVersion;
    if (s.protocol === 'quic' && v === 2 && !role.versions.includes(2)) return `${decl.name} (${side}) does not speak QUIC v2`;
  }
  if (!chooseAlpn(s, client.roles.client!, server.roles.server!)) return `no common ALPN (client: ${client.roles.client!.alpns.join(', ') || 'none'}; server: ${server.roles.server!.alpns.join(', ') || 'none'}; scenario: ${(s.client.alpns ?? DEFAULT_ALPNS[s.protocol]).join(', ')})`;
  return undefined;
}

/** What the client requests in a real-time run: one distinct file per (connection, request), in request order. */
export function liveRequests(s: Scenario): { path: string; size: number }[] {
  const base = requestPaths(s);
  const n = s.client.connections;
  const out: { path: string; size: number }[] = [];
  for (let c = 1; c <= n; c++) for (const [p, size] of base) out.push({ path: n > 1 ? `${p}-c${c}` : p, size });
  return out;
}

/** DTLS echo workload as text lines (line-oriented clients such as s_client send what they read per line). */
export function liveMessages(s: Scenario): string[] {
  return s.client.messages.map((m, i) => m.text ?? Array.from({ length: m.size ?? 0 }, (_, k) => String.fromCharCode(97 + ((k * 7 + i) % 26))).join(''));
}

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Layout {
  www: string;
  downloads: string;
  certs: RunCerts;
  logs: Record<Side, string>;
  qlog: Record<Side, string>;
  keylog: Record<Side, string>;
  messages: string;
}

function prepare(outDir: string): Layout {
  // A re-run of the same cell starts from an empty folder: results of two runs never mix.
  for (const d of ['www', 'downloads', 'logs', 'qlog', 'certs']) rmSync(join(outDir, d), { recursive: true, force: true });
  const mk = (...p: string[]) => {
    const d = join(outDir, ...p);
    mkdirSync(d, { recursive: true });
    return resolve(d);
  };
  const logs = { client: mk('logs', 'client'), server: mk('logs', 'server') };
  return {
    www: mk('www'),
    downloads: mk('downloads'),
    certs: writeRunCerts(mk('certs')),
    logs,
    qlog: { client: mk('qlog', 'client'), server: mk('qlog', 'server') },
    keylog: { client: join(logs.client, 'keys.log'), server: join(logs.server, 'keys.log') },
    messages: resolve(join(outDir, 'messages.txt')),
  };
}

/** Placeholders and the endpoint contract's environment for one role. */
function contract(side: Side, s: Scenario, alpn: string, lay: Layout, host: string, port: number, urls: string[]): Record<string, string> {
  return {
    ROLE: side,
    TESTCASE: s.protocol === 'dtls' ? 'echo' : s.testcase,
    REQUESTS: urls.join(' '),
    PROTOCOL: s.protocol,
    ALPN: alpn,
    HOST: host,
    PORT: String(port),
    SERVER: `${host}:${port}`,
    CERTS: lay.certs.dir,
    CERT: lay.certs.cert,
    KEY: lay.certs.key,
    CA: lay.certs.ca,
    WWW: lay.www,
    DOWNLOADS: lay.downloads,
    LOGS: lay.logs[side],
    SSLKEYLOGFILE: lay.keylog[side],
    QLOGDIR: lay.qlog[side],
    QUIC_VERSION: String(s.client.quicVersion ?? 1),
    ...(s.client.cipherSuites?.length ? { CIPHER: s.client.cipherSuites[0]! } : {}),
    ...(s.protocol === 'quic' && s[side].cc ? { CC: s[side].cc } : {}),
    ...(s.protocol === 'dtls' ? { MESSAGES: lay.messages } : {}),
  };
}

function expand(arg: string, decl: PeerDeclaration, env: Record<string, string>): string[] {
  if (arg === '{urls}') return env['REQUESTS'] ? env['REQUESTS'].split(' ') : [];
  const map: Record<string, string | undefined> = {
    host: env['HOST'], port: env['PORT'], server: env['SERVER'], cert: env['CERT'], key: env['KEY'], ca: env['CA'], www: env['WWW'],
    downloads: env['DOWNLOADS'], logs: env['LOGS'], keylog: env['SSLKEYLOGFILE'], qlogdir: env['QLOGDIR'], testcase: env['TESTCASE'],
    alpn: env['ALPN'], protocol: env['PROTOCOL'], messages: env['MESSAGES'],
  };
  return [expandStatic(arg, decl).replace(/\{([a-z]+)\}/g, (m, k: string) => map[k] ?? m)];
}

function launch(decl: PeerDeclaration, side: Side, env: Record<string, string>, lay: Layout, docker?: DockerCell): { proc: EndpointProcess; argv: string[] } {
  if (docker?.runs(decl)) return docker.launch(decl, side, env, { www: lay.www, downloads: lay.downloads, certs: lay.certs.dir, logs: lay.logs[side], qlog: lay.qlog[side], messages: lay.messages });
  const role = decl.roles[side]!;
  const argv = role.command.flatMap((a) => expand(a, decl, env));
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(role.env)) extra[k] = expand(v, decl, env).join(' ');
  const proc = new EndpointProcess(`${decl.name} ${side}`, argv, {
    env: { ...env, ...extra },
    cwd: role.cwd ? expandStatic(role.cwd, decl) : lay.logs[side],
    stdout: join(lay.logs[side], 'stdout.log'),
    stderr: join(lay.logs[side], 'stderr.log'),
  });
  return { proc, argv };
}

export async function runLive(s: Scenario, client: PeerDeclaration, server: PeerDeclaration, opts: LiveOptions): Promise<RunRecord> {
  const started = performance.now();
  const resultPath = join(opts.outDir, 'result.json');
  const base: RunRecord = {
    scenario: s.name,
    file: s.file,
    protocol: s.protocol,
    client: { name: client.name, version: peerVersion(client) },
    server: { name: server.name, version: peerVersion(server) },
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
    replay: opts.replay ?? `crosswire run ${s.file} --client ${client.name} --server ${server.name} --seed ${opts.seed}${opts.runtime === 'docker' ? ' --runtime docker' : ''}`,
    version: VERSION,
    realTime: true,
    ...(opts.runtime === 'docker' ? { runtime: 'docker' as const } : {}),
  };
  mkdirSync(opts.outDir, { recursive: true });
  const finish = (r: RunRecord): RunRecord => {
    r.wallMs = Math.round(performance.now() - started);
    annotate(r, s, opts.repeat);
    writeResult(resultPath, r);
    return r;
  };

  const unsupported = liveUnsupported(s, client, server);
  if (unsupported) return finish({ ...base, verdict: 'unsupported', reason: unsupported });
  if (s.steps.length) {
    for (const d of [client, server]) {
      const inst = isInstalled(d);
      if (!inst.ok) return finish({ ...base, verdict: 'error', reason: `${d.name} is not installed (missing ${inst.missing[0]}); run: crosswire peers install ${d.name}` });
    }
    return finish(await runLiveApi(s, client, server, opts, base));
  }
  const docker = await DockerCell.open(client, server, opts.runtime);
  if (docker?.error) return finish({ ...base, verdict: 'error', reason: docker.error });
  base.client.version = docker?.version(client) ?? base.client.version;
  base.server.version = docker?.version(server) ?? base.server.version;
  for (const d of [client, server]) {
    if (docker?.runs(d)) continue;
    const inst = isInstalled(d);
    if (!inst.ok) return finish({ ...base, verdict: 'error', reason: `${d.name} is not installed (missing ${inst.missing[0]}); run: crosswire peers install ${d.name}` });
  }
  if (s.protocol === 'tls') return finish(await runLiveTls(s, client, server, opts, base, docker));

  const alpn = chooseAlpn(s, client.roles.client!, server.roles.server!)!;
  base.client.alpn = alpn;
  base.server.alpn = alpn;
  labelAlpn(base, client, server, alpn);

  let lay: Layout;
  try {
    lay = prepare(opts.outDir);
  } catch (e) {
    return finish({ ...base, verdict: 'error', reason: (e as Error).message });
  }
  const requests = s.protocol === 'quic' ? liveRequests(s) : [];
  const files = new GeneratedFiles(requests.map((r) => [r.path, r.size] as [string, number]));
  for (const r of requests) writeFileSync(join(lay.www, r.path.slice(1)), files.read(r.path, 0, r.size));
  const messages = s.protocol === 'dtls' ? liveMessages(s) : [];
  if (s.protocol === 'dtls') writeFileSync(lay.messages, messages.map((m) => m + '\n').join(''));

  const serverPort = docker?.serverPort(server) ?? (await allocatePort());
  const commands: string[] = [];
  const serverEnv = contract('server', s, alpn, lay, '127.0.0.1', serverPort, []);
  const srv = launch(server, 'server', serverEnv, lay, docker);
  commands.push(`server: ${srv.argv.join(' ')}`);
  let relay: Relay | undefined;
  let cli: { proc: EndpointProcess; argv: string[] } | undefined;
  const cleanup = async () => {
    await Promise.all([cli?.proc.stop(), srv.proc.stop()]);
    await relay?.stop();
  };
  const artifactsOf = (r: RunRecord) => {
    const write = (name: string, text: string) => {
      const p = join(opts.outDir, name);
      writeFileSync(p, text);
      return resolve(p);
    };
    writeFileSync(join(opts.outDir, 'commands.txt'), commands.join('\n') + '\n');
    const arts = r.artifacts;
    arts.commands = resolve(join(opts.outDir, 'commands.txt'));
    arts.clientLog = join(lay.logs.client, 'stderr.log');
    arts.serverLog = join(lay.logs.server, 'stderr.log');
    arts.clientStdout = join(lay.logs.client, 'stdout.log');
    arts.serverStdout = join(lay.logs.server, 'stdout.log');
    const keylog = ['client', 'server'].map((side) => (existsSync(lay.keylog[side as Side]) ? readFileSync(lay.keylog[side as Side], 'utf8') : '')).join('');
    if (keylog) arts.keylog = write('keylog.txt', keylog);
    if (relay) {
      r.artifacts.trace = write('trace.txt', relay.traceText());
      if (relay.capture) {
        const p = join(opts.outDir, 'capture.pcapng');
        writeFileSync(p, writePcapng(relay.capture.datagrams, { keylog }));
        r.artifacts.pcap = resolve(p);
      }
    }
    for (const side of ['client', 'server'] as const) {
      for (const f of safeList(lay.qlog[side])) if (/\.s?qlog$/.test(f)) r.artifacts.qlog.push(join(lay.qlog[side], f));
    }
    return keylog;
  };

  // 1. the server, until it is ready
  const phases: Record<string, number> = {};
  const mark = (name: string, since: number) => (phases[name] = Math.round(performance.now() - since));
  let t0 = performance.now();
  const ready = await waitReady(srv.proc, server.roles.server!.ready, { host: '127.0.0.1', port: serverPort, protocol: s.protocol, timeoutMs: opts.readyTimeoutMs ?? 20_000, signal: opts.signal });
  mark('serverReadyMs', t0);
  if (!ready.ok) {
    await cleanup();
    const st = srv.proc.status;
    const r: RunRecord = st && server.unsupportedExit.includes(st.code ?? -1)
      ? { ...base, verdict: 'unsupported', reason: `${server.name} server does not support test case ${serverEnv['TESTCASE']} (exit ${st.code})` }
      : { ...base, verdict: 'error', reason: `${server.name} server ${ready.reason}${srv.proc.lastErrorLine() ? `: ${srv.proc.lastErrorLine()}` : ''}` };
    artifactsOf(r);
    return finish(r);
  }

  // 2. the relay in front of it
  try {
    relay = await startRelayThread({
      target: { host: '127.0.0.1', port: serverPort },
      network: networkConfig(s.network),
      seed: opts.seed,
      protocol: s.protocol === 'dtls' ? 'dtls' : 'quic',
      fateOverrides: overridesFromList(opts.fates),
      capture: true,
    });
  } catch (e) {
    await cleanup();
    return finish({ ...base, verdict: 'error', reason: `could not start the relay: ${(e as Error).message}` });
  }

  // 3. the client, through the relay
  t0 = performance.now();
  const urls = requests.map((r) => `https://localhost:${relay!.port}${r.path}`);
  const clientEnv = contract('client', s, alpn, lay, '127.0.0.1', relay.port, urls);
  cli = launch(client, 'client', clientEnv, lay, docker);
  commands.push(`client: ${cli.argv.join(' ')}`);
  commands.push(`relay: 127.0.0.1:${relay.port} → 127.0.0.1:${serverPort}`);
  const limitMs = s.expect.withinMs !== undefined ? s.expect.withinMs + 30_000 : Math.min(s.timeoutMs, 180_000);
  let timedOut = false;
  let aborted = false;
  let serverDied: ExitStatus | undefined;
  const timer = new Promise<'timeout'>((res) => {
    const t = setTimeout(() => res('timeout'), limitMs);
    cli!.proc.exited.then(() => clearTimeout(t));
  });
  // Removed when the cell ends: a long matrix shares one signal across hundreds of cells.
  let onAbort: (() => void) | undefined;
  const abort = new Promise<'abort'>((res) => opts.signal?.addEventListener('abort', (onAbort = () => res('abort')), { once: true }));
  let stopping = false;
  const serverExit = srv.proc.exited.then((st) => (stopping ? 'client' : ((serverDied = st), 'server' as const)));
  let first = await Promise.race([cli.proc.exited.then(() => 'client' as const), timer, abort, serverExit]);
  if (first === 'server') {
    // A server that dies mid-run: give the client a moment to notice, then stop it.
    first = await Promise.race([cli.proc.exited.then(() => 'client' as const), new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 5000))]);
  }
  if (first === 'timeout') timedOut = true;
  if (first === 'abort') aborted = true;
  // Let the last datagrams (CONNECTION_CLOSE, final ACKs) cross the relay before it closes.
  if (first === 'client') await new Promise((r) => setTimeout(r, 300));
  const clientStatus = cli.proc.status;
  if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  mark('clientMs', t0);
  t0 = performance.now();
  stopping = true;
  await cleanup();
  mark('teardownMs', t0);

  const r: RunRecord = { ...base, artifacts: { qlog: [] } };
  const keylog = artifactsOf(r);
  r.traceHash = relay.traceHash();
  r.simulatedMs = Math.round(performance.now() - started);
  if (aborted) return finish({ ...r, verdict: 'error', reason: 'interrupted' });
  if (clientStatus && !timedOut && client.unsupportedExit.includes(clientStatus.code ?? -1)) {
    return finish({ ...r, verdict: 'unsupported', reason: `${client.name} client does not support test case ${clientEnv['TESTCASE']} (exit ${clientStatus.code})` });
  }
  const result = liveChecks({
    scenario: s,
    client,
    server,
    relay,
    keylog,
    downloads: lay.downloads,
    requests,
    files,
    messages,
    clientStatus,
    clientLastLine: cli.proc.lastErrorLine(),
    serverDied,
    serverLastLine: srv.proc.lastErrorLine(),
    timedOut,
    limitMs,
  });
  r.checks = result.checks;
  r.metrics = { ...result.metrics, ...phases };
  Object.assign(r, verdictOf(s, result.checks));
  return finish(r);
}

function verdictOf(s: Scenario, checks: Check[]): Pick<RunRecord, 'verdict' | 'reason'> {
  const failed = checks.filter((c) => !c.ok);
  if (s.expect.verdict === 'failed') {
    return failed.length ? { verdict: 'passed', reason: `failed as expected: ${failed[0]!.name}: ${failed[0]!.detail}` } : { verdict: 'failed', reason: 'the scenario expects a failure, but every check passed' };
  }
  if (failed.length) return { verdict: 'failed', reason: failed.map((c) => `${c.name}: ${c.detail}`).join('; ') };
  return { verdict: 'passed', reason: '' };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile());
  } catch {
    return [];
  }
}

export { describeExit };
