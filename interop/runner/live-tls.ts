// TLS 1.3 over TCP between real endpoints in real time (DESIGN.md §4, §9; interop/peers/README.md's endpoint contract
// with PROTOCOL=tls): the server and the client are processes on loopback, the TCP relay (simulator/tcp-relay.ts)
// sits between them with the scenario's stream impairments, and every check comes from the relay's TLS observers
// (opened with the endpoints' key logs) and the downloaded files — the same checks as self ↔ self in virtual time.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startTcpRelay, type TcpRelay } from '../../simulator/tcp-relay.js';
import type { Scenario, Side } from '../scenario/model.js';
import { expandStatic, type PeerDeclaration } from '../peers/declaration.js';
import { downloadName } from '../commands/get-quic.js';
import { GeneratedFiles } from './content.js';
import { writeRunCerts, type RunCerts } from './live-pki.js';
import { describeExit, EndpointProcess, type ExitStatus } from './processes.js';
import { waitReady } from './readiness.js';
import { allocatePort } from './ports.js';
import { chooseAlpn, liveRequests, type LiveOptions } from './live.js';
import { streamNetworkConfig } from './virtual-tls.js';
import { analyzeTls } from './tls-wire-analysis.js';
import { tlsChecks, tlsMetrics, tlsVerdict, type TlsFileOutcome } from './tls-checks.js';
import type { RunRecord } from './run.js';
import type { DockerCell } from './docker-runtime.js';

interface Layout {
  www: string;
  downloads: string;
  certs: RunCerts;
  logs: Record<Side, string>;
  keylog: Record<Side, string>;
}

function prepare(outDir: string): Layout {
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
    keylog: { client: join(logs.client, 'keys.log'), server: join(logs.server, 'keys.log') },
  };
}

/**
 * The endpoint contract for one role with PROTOCOL=tls, plus what the TLS catalog's test cases need beyond QIR's:
 * TLS_GROUPS (the side's key exchange groups, preference order: a server limited to one the client sends no share for
 * answers with a HelloRetryRequest; not GROUPS, which bash reserves), CLIENT_AUTH (server: optional|required) and
 * CLIENT_CERT / CLIENT_KEY (client: its certificate; the run's leaf carries the clientAuth usage).
 */
function contract(side: Side, s: Scenario, alpn: string, lay: Layout, port: number, urls: string[]): Record<string, string> {
  const mine = side === 'client' ? s.client : s.server;
  return {
    ROLE: side,
    TESTCASE: s.testcase,
    REQUESTS: urls.join(' '),
    PROTOCOL: 'tls',
    ALPN: alpn,
    HOST: '127.0.0.1',
    PORT: String(port),
    SERVER: `127.0.0.1:${port}`,
    CERTS: lay.certs.dir,
    CERT: lay.certs.cert,
    KEY: lay.certs.key,
    CA: lay.certs.ca,
    WWW: lay.www,
    DOWNLOADS: lay.downloads,
    LOGS: lay.logs[side],
    SSLKEYLOGFILE: lay.keylog[side],
    QLOGDIR: lay.logs[side],
    ...(s.client.cipherSuites?.length ? { CIPHER: s.client.cipherSuites[0]! } : {}),
    ...(mine.groups?.length ? { TLS_GROUPS: mine.groups.join(',') } : {}),
    ...(side === 'server' && s.server.clientAuth && s.server.clientAuth !== 'none' ? { CLIENT_AUTH: s.server.clientAuth } : {}),
    ...(side === 'client' && s.client.clientCertificate ? { CLIENT_CERT: lay.certs.cert, CLIENT_KEY: lay.certs.key } : {}),
  };
}

function expand(arg: string, decl: PeerDeclaration, env: Record<string, string>): string[] {
  if (arg === '{urls}') return env['REQUESTS'] ? env['REQUESTS'].split(' ') : [];
  const map: Record<string, string | undefined> = {
    host: env['HOST'], port: env['PORT'], server: env['SERVER'], cert: env['CERT'], key: env['KEY'], ca: env['CA'], www: env['WWW'],
    downloads: env['DOWNLOADS'], logs: env['LOGS'], keylog: env['SSLKEYLOGFILE'], qlogdir: env['QLOGDIR'], testcase: env['TESTCASE'],
    alpn: env['ALPN'], protocol: env['PROTOCOL'],
  };
  return [expandStatic(arg, decl).replace(/\{([a-z]+)\}/g, (m, k: string) => map[k] ?? m)];
}

function launch(decl: PeerDeclaration, side: Side, env: Record<string, string>, lay: Layout, docker?: DockerCell): { proc: EndpointProcess; argv: string[] } {
  if (docker?.runs(decl)) return docker.launch(decl, side, env, { www: lay.www, downloads: lay.downloads, certs: lay.certs.dir, logs: lay.logs[side], qlog: join(lay.logs[side], 'qlog') });
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

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One TLS cell between real endpoints. `base` is the record runLive prepared (names, versions, seed, replay); the
 * caller has already checked declarations and installation. Writes artifacts; the caller writes result.json.
 */
export async function runLiveTls(s: Scenario, client: PeerDeclaration, server: PeerDeclaration, opts: LiveOptions, base: RunRecord, docker?: DockerCell): Promise<RunRecord> {
  const started = performance.now();
  const alpn = chooseAlpn(s, client.roles.client!, server.roles.server!)!;
  base = { ...base, client: { ...base.client, alpn }, server: { ...base.server, alpn } };
  let lay: Layout;
  try {
    lay = prepare(opts.outDir);
  } catch (e) {
    return { ...base, verdict: 'error', reason: (e as Error).message };
  }
  const requests = liveRequests(s);
  const files = new GeneratedFiles(requests.map((r) => [r.path, r.size] as [string, number]));
  for (const r of requests) writeFileSync(join(lay.www, r.path.slice(1)), files.read(r.path, 0, r.size));

  const serverPort = docker?.serverPort(server) ?? (await allocatePort());
  const commands: string[] = [];
  const serverEnv = contract('server', s, alpn, lay, serverPort, []);
  const srv = launch(server, 'server', serverEnv, lay, docker);
  commands.push(`server: ${srv.argv.join(' ')}`);
  let relay: TcpRelay | undefined;
  let cli: { proc: EndpointProcess; argv: string[] } | undefined;
  const cleanup = async () => {
    await Promise.all([cli?.proc.stop(), srv.proc.stop()]);
    await relay?.stop();
  };
  const artifacts = (r: RunRecord): string => {
    const write = (name: string, text: string) => {
      const p = join(opts.outDir, name);
      writeFileSync(p, text);
      return resolve(p);
    };
    r.artifacts.commands = write('commands.txt', commands.join('\n') + '\n');
    r.artifacts.clientLog = join(lay.logs.client, 'stderr.log');
    r.artifacts.serverLog = join(lay.logs.server, 'stderr.log');
    r.artifacts.clientStdout = join(lay.logs.client, 'stdout.log');
    r.artifacts.serverStdout = join(lay.logs.server, 'stdout.log');
    const keylog = (['client', 'server'] as Side[]).map((side) => (existsSync(lay.keylog[side]) ? readFileSync(lay.keylog[side], 'utf8') : '')).join('');
    if (keylog) r.artifacts.keylog = write('keylog.txt', keylog);
    if (relay) r.artifacts.trace = write('trace.txt', relay.traceText());
    return keylog;
  };

  // 1. the server, until it is ready
  const phases: Record<string, number> = {};
  let t0 = performance.now();
  const ready = await waitReady(srv.proc, server.roles.server!.ready, { host: '127.0.0.1', port: serverPort, protocol: 'tls', timeoutMs: opts.readyTimeoutMs ?? 20_000, signal: opts.signal });
  phases['serverReadyMs'] = Math.round(performance.now() - t0);
  if (!ready.ok) {
    await cleanup();
    const st = srv.proc.status;
    const r: RunRecord = st && server.unsupportedExit.includes(st.code ?? -1)
      ? { ...base, verdict: 'unsupported', reason: `${server.name} server does not support test case ${s.testcase} (exit ${st.code})` }
      : { ...base, verdict: 'error', reason: `${server.name} server ${ready.reason}${srv.proc.lastErrorLine() ? `: ${srv.proc.lastErrorLine()}` : ''}` };
    artifacts(r);
    return r;
  }

  // 2. the TCP relay in front of it
  try {
    relay = await startTcpRelay({ target: { host: '127.0.0.1', port: serverPort }, network: streamNetworkConfig(s), seed: opts.seed });
  } catch (e) {
    await cleanup();
    return { ...base, verdict: 'error', reason: `could not start the TCP relay: ${(e as Error).message}` };
  }

  // 3. the client, through the relay
  t0 = performance.now();
  const urls = requests.map((r) => `https://localhost:${relay!.port}${r.path}`);
  const clientEnv = contract('client', s, alpn, lay, relay.port, urls);
  cli = launch(client, 'client', clientEnv, lay, docker);
  commands.push(`client: ${cli.argv.join(' ')}`);
  commands.push(`relay: tcp 127.0.0.1:${relay.port} → 127.0.0.1:${serverPort}`);
  const limitMs = s.expect.withinMs !== undefined ? s.expect.withinMs + 30_000 : Math.min(s.timeoutMs, 180_000);
  let serverDied: ExitStatus | undefined;
  let stopping = false;
  const timer = new Promise<'timeout'>((res) => {
    const t = setTimeout(() => res('timeout'), limitMs);
    cli!.proc.exited.then(() => clearTimeout(t));
  });
  // Removed when the cell ends: a long matrix shares one signal across hundreds of cells.
  let onAbort: (() => void) | undefined;
  const abort = new Promise<'abort'>((res) => opts.signal?.addEventListener('abort', (onAbort = () => res('abort')), { once: true }));
  const serverExit = srv.proc.exited.then((st) => (stopping ? 'client' : ((serverDied = st), 'server' as const)));
  let first = await Promise.race([cli.proc.exited.then(() => 'client' as const), timer, abort, serverExit]);
  if (first === 'server') first = await Promise.race([cli.proc.exited.then(() => 'client' as const), sleep(5000).then(() => 'timeout' as const)]);
  // The last records (close_notify, an alert) and FINs cross the relay's delay before it closes.
  if (first === 'client') await sleep(300 + 2 * streamNetworkDelay(s));
  const clientStatus = cli.proc.status;
  if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  phases['clientMs'] = Math.round(performance.now() - t0);
  stopping = true;
  await cleanup();

  const r: RunRecord = { ...base, artifacts: { qlog: [] } };
  const keylog = artifacts(r);
  r.traceHash = relay.traceHash();
  r.simulatedMs = Math.round(performance.now() - started);
  if (first === 'abort') return { ...r, verdict: 'error', reason: 'interrupted' };
  if (clientStatus && first !== 'timeout' && client.unsupportedExit.includes(clientStatus.code ?? -1)) {
    return { ...r, verdict: 'unsupported', reason: `${client.name} client does not support test case ${s.testcase} (exit ${clientStatus.code})` };
  }

  const wire = analyzeTls(relay.observers(), keylog);
  const who = `${client.name} client`;
  const last = cli.proc.lastErrorLine();
  const outcome =
    first === 'timeout'
      ? { ok: false, detail: `timeout after ${(limitMs / 1000).toFixed(0)} s` }
      : !clientStatus
        ? { ok: false, detail: `${who} did not run` }
        : clientStatus.code === 0
          ? { ok: true, detail: `${who} exited with code 0 after ${(clientStatus.afterMs / 1000).toFixed(1)} s` }
          : { ok: false, detail: `${who} ${describeExit(clientStatus)}${last ? `: ${last}` : ''}` };
  const fileOutcomes: TlsFileOutcome[] = requests.map((q) => {
    const p = join(lay.downloads, downloadName(q.path));
    return { path: q.path, size: q.size, expectedDigest: files.digest(q.path), ...(existsSync(p) ? { got: { bytes: readFileSync(p).length, digest: sha256(p) } } : {}) };
  });
  const checks = tlsChecks({ scenario: s, wire, client: outcome, files: fileOutcomes });
  if (serverDied) checks.push({ name: 'server-alive', ok: false, detail: `${server.name} server ${describeExit(serverDied)}${srv.proc.lastErrorLine() ? `: ${srv.proc.lastErrorLine()}` : ''}` });
  r.checks = checks;
  r.metrics = { ...tlsMetrics(wire), ...relay.metrics(), ...phases };
  Object.assign(r, tlsVerdict(s, checks));
  return r;
}

function streamNetworkDelay(s: Scenario): number {
  return s.network.link.delayMs;
}
