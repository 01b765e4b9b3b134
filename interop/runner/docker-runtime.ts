// Peers in containers (DESIGN.md §10, issue 13). With `--runtime docker` every real-time endpoint runs as a container
// from its image (crosswire/<peer>, built on demand from interop/docker/<peer>/Dockerfile), and `qir:IMAGE` peers are
// any image that follows quic-interop-runner's endpoint contract. The relay and every check stay in crosswire: the
// containers share the host's network (loopback only), the run folder is mounted at QIR's fixed paths, and each
// container is a `docker run` child behind guard.sh, so it has the same interface as a native EndpointProcess.
//
// No container outlives a run: each is labelled crosswire.run=<run id> and removed at the end of its cell (also on
// timeout, crash and Ctrl-C); an exit hook removes what is left, and a detached reaper removes the run's containers
// if crosswire itself is killed outright.

import { execFile, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CliError, EXIT_USAGE } from '../cli-util.js';
import { cacheDir, PACKAGE_ROOT, type PeerDeclaration, type RoleDeclaration } from '../peers/declaration.js';
import type { Side } from '../scenario/model.js';
import { EndpointProcess, type ExitStatus } from './processes.js';

export type Runtime = 'native' | 'docker';

export const QIR_PREFIX = 'qir:';
export const DOCKER_DIR = join(PACKAGE_ROOT, 'interop', 'docker');
/** Where our images keep what install.sh puts in the cache natively (ENV CROSSWIRE_CACHE in each Dockerfile). */
const IMAGE_CACHE = '/opt/crosswire-cache';
/** Images carrying this label take HOST and PORT from crosswire; plain QIR images listen on port 443. */
const CONTRACT_LABEL = 'org.crosswire.contract';
const QIR_PORT = 443;

/** quic-interop-runner's test case names (testcases.py), which a qir: peer is assumed to support until it exits 127. */
export const QIR_TESTCASES = [
  'handshake', 'transfer', 'longrtt', 'chacha20', 'multiplexing', 'retry', 'resumption', 'zerortt', 'http3', 'blackhole',
  'keyupdate', 'ecn', 'amplificationlimit', 'handshakeloss', 'transferloss', 'handshakecorruption', 'transfercorruption',
  'ipv6', 'v2', 'rebind-port', 'rebind-addr', 'connectionmigration', 'goodput', 'crosstraffic', 'multiconnect',
] as const;

/** An environment problem (no engine, no image, port taken): one line for the user; the run exits 2. */
export class DockerError extends Error {
  override name = 'DockerError';
}

export const isQirName = (name: string): boolean => name.startsWith(QIR_PREFIX) && name.length > QIR_PREFIX.length;

/** The Dockerfile folder of a built-in peer (`self` is the crosswire image). */
export const dockerFolderOf = (peer: string): string => (peer === 'self' ? 'crosswire' : peer);

/** The image a peer runs from: qir:IMAGE → IMAGE; a built-in → crosswire/<folder> (CROSSWIRE_IMAGE_PREFIX overrides). */
export function imageOf(decl: Pick<PeerDeclaration, 'name'>): string {
  if (isQirName(decl.name)) return decl.name.slice(QIR_PREFIX.length);
  return `${process.env['CROSSWIRE_IMAGE_PREFIX'] ?? 'crosswire/'}${dockerFolderOf(decl.name)}`;
}

export function runtimeOf(decl: Pick<PeerDeclaration, 'name'>, requested: Runtime = 'native'): Runtime {
  return isQirName(decl.name) ? 'docker' : requested;
}

/** Peers with a Dockerfile under interop/docker/ (by peer name: the crosswire folder is `self`). */
export function buildablePeers(): string[] {
  return readdirSync(DOCKER_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(DOCKER_DIR, e.name, 'Dockerfile')))
    .map((e) => (e.name === 'crosswire' ? 'self' : e.name))
    .sort();
}

const qirDecls = new Map<string, PeerDeclaration>();
/**
 * A peer for any image following the QIR endpoint contract: both roles, QUIC, every QIR test case and both versions;
 * what the image cannot do it answers with exit 127 (verdict unsupported). ALPN follows QIR's rule through the
 * scenario's preferences: hq-interop, or h3 for scenarios that ask for it (http3).
 */
export function qirDeclaration(image: string): PeerDeclaration {
  const hit = qirDecls.get(image);
  if (hit) return hit;
  const role = (): RoleDeclaration => ({
    protocols: ['quic'],
    alpns: ['hq-interop', 'h3'],
    alpnLabels: {},
    versions: [1, 2],
    features: [...QIR_TESTCASES],
    command: ['/run_endpoint.sh'],
    env: {},
    ready: { kind: 'udp' },
  });
  const d: PeerDeclaration = {
    name: `${QIR_PREFIX}${image}`,
    description: `quic-interop-runner image ${image}`,
    version: 'unknown',
    installed: [],
    unsupportedExit: [127],
    roles: { client: role(), server: role() },
    dir: DOCKER_DIR,
    file: `${QIR_PREFIX}${image}`,
    builtin: false,
  };
  qirDecls.set(image, d);
  return d;
}

// ---------------------------------------------------------------------------------------------------------------
// The docker CLI

interface Out {
  code: number;
  stdout: string;
  stderr: string;
  missing?: boolean;
}

function docker(args: string[], timeoutMs = 60_000): Promise<Out> {
  return new Promise((resolve) => {
    execFile('docker', args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout: String(stdout), stderr: String(stderr), missing: e?.code === 'ENOENT' });
    });
  });
}

const firstLine = (s: string) => s.split('\n').map((l) => l.trim()).find(Boolean) ?? '';

let engine: Promise<string> | undefined;
/** Resolves with the engine's version, or rejects with a DockerError saying why there is none. */
export function dockerEngine(): Promise<string> {
  engine ??= docker(['version', '--format', '{{.Server.Version}}'], 20_000).then((r) => {
    if (r.missing) throw new DockerError('no Docker engine: the docker command is not installed (Debian: apt-get install docker.io)');
    if (r.code !== 0 || !r.stdout.trim()) {
      const why = firstLine(r.stderr) || `docker version exited with ${r.code}`;
      throw new DockerError(`no Docker engine: ${why} (start dockerd; interop/docker/ci.sh shows how)`);
    }
    return r.stdout.trim();
  });
  return engine;
}

export interface ImageInfo {
  image: string;
  id: string;
  sizeBytes: number;
  labels: Record<string, string>;
  /** When the image was built (ms since the epoch). */
  createdMs: number;
}

export async function inspectImage(image: string): Promise<ImageInfo | undefined> {
  const r = await docker(['image', 'inspect', '--format', '{{json .}}', image]);
  if (r.code !== 0) return undefined;
  const j = JSON.parse(r.stdout) as { Id: string; Size: number; Created: string; Config?: { Labels?: Record<string, string> | null } };
  return { image, id: j.Id, sizeBytes: j.Size, labels: j.Config?.Labels ?? {}, createdMs: Date.parse(j.Created) };
}

// ---------------------------------------------------------------------------------------------------------------
// Building our images

/** The base images a build takes: env overrides, else the official ones when present or pullable, else the local
 * ones interop/docker/base-images.sh makes on machines without registry access. */
export async function baseImages(): Promise<{ base: string; node: string }> {
  const pick = async (envName: string, official: string, local: string) => {
    const forced = process.env[envName];
    if (forced) return forced;
    if (await inspectImage(official)) return official;
    if (await inspectImage(local)) return local;
    return official;
  };
  return {
    base: await pick('CROSSWIRE_BASE_IMAGE', 'debian:bookworm', 'crosswire/debian:bookworm'),
    node: await pick('CROSSWIRE_NODE_IMAGE', 'node:20-bookworm-slim', 'crosswire/node:20'),
  };
}

export interface BuildResult {
  peer: string;
  image: string;
  ok: boolean;
  log: string;
  seconds: number;
  sizeBytes?: number;
}

/** One build log per image (…/docker/build-crosswire-ngtcp2.log), overwritten by the next build of that image. */
export const buildLogPath = (peer: string): string => join(cacheDir(), 'docker', `build-${imageOf({ name: peer }).replace(/[^a-zA-Z0-9_.-]/g, '-')}.log`);

/** Folders whose content the from-checkout images compile (see interop/docker/crosswire/Dockerfile). */
const CHECKOUT_SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'engine', 'simulator', 'interop', 'reports', 'scenarios'];

/**
 * A digest of the checkout's sources by content. Docker reuses every cached layer when nothing changed, so an
 * image's creation time says nothing about whether it runs this checkout's code; comparing this digest with the
 * one recorded at its build does (a few MB of sources: milliseconds).
 */
export function checkoutDigest(): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    const abs = join(PACKAGE_ROOT, rel);
    if (!existsSync(abs)) return;
    const entries = readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const r = join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) h.update(r).update('\0').update(readFileSync(join(PACKAGE_ROOT, r))).update('\0');
    }
  };
  for (const s of CHECKOUT_SOURCES) {
    const abs = join(PACKAGE_ROOT, s);
    if (!existsSync(abs)) continue;
    if (statSync(abs).isDirectory()) walk(s);
    else h.update(s).update('\0').update(readFileSync(abs)).update('\0');
  }
  return h.digest('hex');
}

const stampPath = (peer: string): string => buildLogPath(peer).replace(/\.log$/, '.stamp.json');

/** Whether a from-checkout image was built from this checkout's sources (unknown stamp or other image id → no). */
function builtFromThisCheckout(peer: string, info: ImageInfo): boolean {
  try {
    const stamp = JSON.parse(readFileSync(stampPath(peer), 'utf8')) as { id?: string; sources?: string };
    return stamp.id === info.id && stamp.sources === checkoutDigest();
  } catch {
    return false;
  }
}

/** `docker build` of interop/docker/<peer>/Dockerfile (context: the package root), output to a log file. */
export async function buildImage(peer: string, o: { onLine?: (line: string) => void } = {}): Promise<BuildResult> {
  await dockerEngine();
  const folder = dockerFolderOf(peer);
  const dockerfile = join(DOCKER_DIR, folder, 'Dockerfile');
  const image = imageOf({ name: peer });
  const log = buildLogPath(peer);
  if (!existsSync(dockerfile)) throw new DockerError(`no image for peer ${peer}: there is no ${dockerfile} (an image of your own runs as qir:IMAGE)`);
  mkdirSync(join(cacheDir(), 'docker'), { recursive: true });
  const { base, node } = await baseImages();
  const args = ['build', '--network', 'host', '-f', dockerfile, '-t', image, '--build-arg', `BASE_IMAGE=${base}`, '--build-arg', `NODE_IMAGE=${node}`, PACKAGE_ROOT];
  o.onLine?.(`docker ${args.join(' ')}`);
  const started = Date.now();
  const fd = openSync(log, 'w');
  const code = await new Promise<number>((resolve) => {
    const child = spawn('docker', args, { stdio: ['ignore', fd, fd] });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
    child.on('error', () => resolve(127));
  });
  closeSync(fd);
  const seconds = (Date.now() - started) / 1000;
  const info = code === 0 ? await inspectImage(image) : undefined;
  if (info) writeFileSync(stampPath(peer), JSON.stringify({ id: info.id, sources: checkoutDigest() }) + '\n');
  return { peer, image, ok: !!info, log, seconds, ...(info ? { sizeBytes: info.sizeBytes } : {}) };
}

// ---------------------------------------------------------------------------------------------------------------
// Images of a run: present, built on demand, or pulled (qir:)

export interface PreparedImage extends ImageInfo {
  version: string;
  /** The image takes PORT/HOST from crosswire (ours); else its server listens on 443. */
  takesPort: boolean;
}

const prepared = new Map<string, Promise<PreparedImage>>();
let queue: Promise<unknown> = Promise.resolve();
/** Builds and pulls one at a time (two cells needing one image share its promise). */
const serial = <T>(f: () => Promise<T>): Promise<T> => {
  const p = queue.then(f, f);
  queue = p.catch(() => undefined);
  return p;
};

/** The image of a peer, ready to run (built or pulled when missing). Rejects with a DockerError. */
export function prepareImage(decl: PeerDeclaration, o: { onLine?: (line: string) => void } = {}): Promise<PreparedImage> {
  const image = imageOf(decl);
  let p = prepared.get(image);
  if (!p) {
    p = (async () => {
      await dockerEngine();
      let info = await inspectImage(image);
      if (!info && isQirName(decl.name)) {
        info = await serial(async () => {
          o.onLine?.(`${image}: not on this machine, docker pull ${image}`);
          const r = await docker(['pull', image], 30 * 60_000);
          if (r.code !== 0) throw new DockerError(`image ${image} is not on this machine and docker pull failed: ${firstLine(r.stderr) || `exit ${r.code}`}`);
          return inspectImage(image);
        });
      } else if (!info) {
        info = await serial(async () => {
          const again = await inspectImage(image);
          if (again) return again;
          o.onLine?.(`${image}: missing, building it (crosswire peers build ${decl.name}; log: ${buildLogPath(decl.name)})`);
          const b = await buildImage(decl.name);
          if (!b.ok) throw new DockerError(`image ${image} is missing and its build failed (build log: ${b.log})`);
          o.onLine?.(`${image}: built in ${b.seconds.toFixed(0)} s (${((b.sizeBytes ?? 0) / 1e6).toFixed(0)} MB)`);
          return inspectImage(image);
        });
      }
      if (!info) throw new DockerError(`image ${image} is not available after building or pulling it`);
      // Images that carry this checkout's compiled code (crosswire, quiche) go stale when the code changes.
      if (info.labels['org.crosswire.from-checkout'] && !builtFromThisCheckout(decl.name, info)) {
        o.onLine?.(`${image} was not built from this checkout's sources (or by another tool): it runs the code it was built from; crosswire peers build ${decl.name} rebuilds it`);
      }
      const takesPort = !!info.labels[CONTRACT_LABEL];
      return { ...info, takesPort, version: await imageVersion(decl, info, takesPort) };
    })();
    prepared.set(image, p);
    // A failure is not cached: the next run (or cell) tries again.
    p.catch(() => prepared.delete(image));
  }
  return p;
}

/** The peer's version inside its image: the declaration's version command run in a container, or the image's label. */
async function imageVersion(decl: PeerDeclaration, info: ImageInfo, ours: boolean): Promise<string> {
  const label = info.labels['org.opencontainers.image.version'];
  if (isQirName(decl.name) || !ours) return label ?? `image ${info.id.replace(/^sha256:/, '').slice(0, 12)}`;
  if (typeof decl.version === 'string') return decl.version;
  const inImage = (a: string) => a.replaceAll('{cache}', IMAGE_CACHE).replaceAll('{peerdir}', `/crosswire/interop/peers/${decl.name}`);
  const [cmd, ...args] = decl.version.command.map(inImage);
  const r = await docker(['run', '--rm', '--network', 'none', '--entrypoint', cmd!, info.image, ...args], 60_000);
  const text = `${r.stdout}${r.stderr}`;
  const m = decl.version.match ? new RegExp(decl.version.match).exec(text) : null;
  return (m ? (m[1] ?? m[0]) : firstLine(r.stdout)).trim() || 'unknown';
}

/**
 * Before a run's cells start: the engine is there and every image a real-time cell needs is built or pulled, so
 * environment problems end the run at once with one line and exit 2 (and builds do not count into a cell's time).
 */
export async function dockerPreflight(decls: PeerDeclaration[], requested: Runtime = 'native', onLine?: (line: string) => void): Promise<void> {
  const wanted = decls.filter((d) => runtimeOf(d, requested) === 'docker');
  if (!wanted.length) return;
  try {
    await dockerEngine();
    for (const d of wanted) await prepareImage(d, { onLine });
  } catch (e) {
    if (e instanceof DockerError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
}

const environmentFailures: string[] = [];
/** Environment problems met during the run (the run exits 2 when there are any). */
export const dockerFailures = (): readonly string[] => environmentFailures;

// ---------------------------------------------------------------------------------------------------------------
// Containers

let runId: string | undefined;
/** This process's run id (the containers' crosswire.run label); CROSSWIRE_RUN_ID sets it. */
export function dockerRunId(): string {
  runId ??= (process.env['CROSSWIRE_RUN_ID'] || `${hostname()}-${process.pid}-${Date.now().toString(36)}`).replace(/[^a-zA-Z0-9_.-]/g, '-');
  return runId;
}

const live = new Set<ContainerProcess>();
let hooked = false;
function hookCleanup(): void {
  if (hooked) return;
  hooked = true;
  // Ctrl-C and normal exits: processes.ts kills the `docker run` clients, this removes their containers.
  process.on('exit', removeAllNow);
  // crosswire killed outright (SIGKILL): a detached reaper removes the run's containers once this process is gone.
  const reaper = spawn('bash', [join(DOCKER_DIR, 'reaper.sh'), String(process.pid), dockerRunId()], { detached: true, stdio: 'ignore' });
  reaper.on('error', () => undefined);
  reaper.unref();
}

/** Removes every container this process started that is still there (synchronous: usable from 'exit'). */
export function removeAllNow(): void {
  if (!live.size) return;
  const names = [...live].map((c) => c.container);
  live.clear();
  try {
    execFileSync('docker', ['rm', '-f', ...names], { stdio: 'ignore', timeout: 20_000 });
  } catch {
    // already gone
  }
}

let seq = 0;

/** One endpoint as a `docker run` child: EndpointProcess's interface, container stop and removal on stop(). */
export class ContainerProcess extends EndpointProcess {
  private removed?: Promise<void>;
  /** stop() was called: an exit from now on is ours, not the endpoint's. */
  stopping = false;

  constructor(
    label: string,
    readonly container: string,
    argv: string[],
    opts: { stdout: string; stderr: string; cwd?: string },
  ) {
    super(label, argv, { ...opts, env: {} });
    live.add(this);
    // A container that ends on its own (client done, crash) goes with --rm; make sure, and forget it.
    void this.exited.then(() => this.remove());
  }

  /** docker rm -f (idempotent); resolves when the container is gone. */
  remove(): Promise<void> {
    this.removed ??= docker(['rm', '-f', this.container], 30_000).then(() => {
      live.delete(this);
    });
    return this.removed;
  }

  /** TERM the container's endpoint, KILL after graceMs; then the `docker run` client; the container is removed. */
  override async stop(graceMs = 2000): Promise<ExitStatus> {
    this.stopping = true;
    if (!this.status) {
      await docker(['stop', '--time', String(Math.max(1, Math.ceil(graceMs / 1000))), this.container], graceMs + 15_000);
      const gone = await Promise.race([this.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
      if (!gone) await super.stop(500);
    }
    await this.remove();
    return this.status!;
  }
}

export interface ContainerPaths {
  www: string;
  downloads: string;
  certs: string;
  logs: string;
  qlog: string;
  messages?: string;
}

/** Variables whose value is a file or folder of the run: inside the container they name QIR's fixed paths instead. */
const PATH_VARS = new Set(['CERTS', 'CERT', 'KEY', 'CA', 'WWW', 'DOWNLOADS', 'LOGS', 'SSLKEYLOGFILE', 'QLOGDIR', 'MESSAGES', 'CLIENT_CERT', 'CLIENT_KEY']);

/**
 * The contract's variables as the container sees them: every variable crosswire sets (ROLE, TESTCASE, REQUESTS,
 * PROTOCOL, ALPN, QUIC_VERSION, CIPHER, TLS_GROUPS, CLIENT_AUTH, …) with the run folder at QIR's fixed paths; plain
 * QIR images get no HOST/PORT/SERVER (they listen on 443).
 */
function containerEnv(env: Record<string, string>, takesPort: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (!PATH_VARS.has(k) && (takesPort || !['HOST', 'PORT', 'SERVER'].includes(k))) out[k] = v;
  Object.assign(out, {
    CERTS: '/certs', CERT: '/certs/cert.pem', KEY: '/certs/priv.key', CA: '/certs/ca.pem', WWW: '/www', DOWNLOADS: '/downloads',
    LOGS: '/logs', SSLKEYLOGFILE: '/logs/keys.log', QLOGDIR: '/logs/qlog/',
  });
  if (env['MESSAGES']) out['MESSAGES'] = '/messages.txt';
  // TLS client authentication: the run's certificate and key, as the native contract passes them.
  if (env['CLIENT_CERT']) Object.assign(out, { CLIENT_CERT: '/certs/cert.pem', CLIENT_KEY: '/certs/priv.key' });
  return out;
}

function udpPortTaken(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createSocket({ type: 'udp6', ipv6Only: false });
    s.once('error', (e: NodeJS.ErrnoException) => {
      s.close();
      resolve(e.code === 'EADDRINUSE' ? 'in use' : undefined);
    });
    s.bind(port, '::', () => s.close(() => resolve(undefined)));
  });
}

/** The docker side of one real-time cell (interop/runner/live.ts): which sides run in containers, and how. */
export class DockerCell {
  /** One line when the cell cannot run (engine, image, port); the verdict is error and the run exits 2. */
  error?: string;
  private readonly images = new Map<PeerDeclaration, PreparedImage>();
  private clientStarted = false;

  private constructor(private readonly requested: Runtime) {}

  /** undefined when both sides run natively. */
  static async open(client: PeerDeclaration, server: PeerDeclaration, requested: Runtime = 'native'): Promise<DockerCell | undefined> {
    if (runtimeOf(client, requested) !== 'docker' && runtimeOf(server, requested) !== 'docker') return undefined;
    const cell = new DockerCell(requested);
    try {
      for (const d of [client, server]) if (cell.runs(d)) cell.images.set(d, await prepareImage(d));
      const srv = cell.images.get(server);
      if (srv && !srv.takesPort) {
        const taken = await udpPortTaken(QIR_PORT);
        if (taken) throw new DockerError(`port ${QIR_PORT}/udp is in use on this machine: ${srv.image} listens on ${QIR_PORT} with host networking (free the port; run qir: servers with --live-jobs 1)`);
      }
    } catch (e) {
      if (!(e instanceof DockerError)) throw e;
      cell.fail(e.message);
    }
    return cell;
  }

  private fail(line: string): void {
    this.error ??= line;
    environmentFailures.push(line);
  }

  runs(decl: PeerDeclaration): boolean {
    return runtimeOf(decl, this.requested) === 'docker';
  }

  version(decl: PeerDeclaration): string | undefined {
    return this.images.get(decl)?.version;
  }

  /** The port a plain QIR server image listens on (443), or undefined: crosswire picks one and passes PORT. */
  serverPort(server: PeerDeclaration): number | undefined {
    const img = this.images.get(server);
    return img && !img.takesPort ? QIR_PORT : undefined;
  }

  launch(decl: PeerDeclaration, side: Side, env: Record<string, string>, paths: ContainerPaths): { proc: EndpointProcess; argv: string[] } {
    const img = this.images.get(decl);
    if (!img) throw new Error(`docker runtime: ${decl.name} was not prepared`);
    hookCleanup();
    const name = `crosswire-${dockerRunId()}-${++seq}-${side}`;
    const argv = ['docker', 'run', '--rm', '--init', '--name', name, '--network', 'host', '--label', `crosswire.run=${dockerRunId()}`, '--label', `crosswire.peer=${decl.name}`, '--label', `crosswire.role=${side}`];
    // Files the endpoint writes belong to the user running crosswire (our images; QIR images expect root).
    if (img.takesPort && process.getuid && process.getuid() !== 0) argv.push('--user', `${process.getuid()}:${process.getgid!()}`);
    argv.push('-v', `${paths.www}:/www:ro`, '-v', `${paths.downloads}:/downloads`, '-v', `${paths.certs}:/certs:ro`, '-v', `${paths.logs}:/logs`, '-v', `${paths.qlog}:/logs/qlog`);
    if (paths.messages && env['MESSAGES']) argv.push('-v', `${paths.messages}:/messages.txt:ro`);
    for (const [k, v] of Object.entries(containerEnv(env, img.takesPort))) argv.push('-e', `${k}=${v}`);
    argv.push(img.image);
    if (side === 'client') this.clientStarted = true;
    const proc = new ContainerProcess(`${decl.name} ${side} (${img.image})`, name, argv, {
      stdout: join(paths.logs, 'stdout.log'),
      stderr: join(paths.logs, 'stderr.log'),
    });
    const output = join(paths.logs, 'stderr.log');
    void proc.exited.then((st) => {
      if (proc.stopping) return;
      // 125/126: docker itself could not run the container (daemon error, bad mount, not executable).
      if (st.code === 125 || st.code === 126) return this.fail(`docker could not run ${img.image} as ${decl.name} ${side} (exit ${st.code}): ${proc.lastErrorLine() ?? 'no output'} (output: ${output})`);
      // A server container that ends before its client started never listened: an environment problem (exit 2),
      // unless it said "unsupported"; its output stays in the run folder (logs/server/).
      if (side === 'server' && !this.clientStarted && !decl.unsupportedExit.includes(st.code ?? -1)) {
        this.fail(`${decl.name} server container exited with code ${st.code} before it was listening: ${proc.lastErrorLine() ?? 'no output'} (output: ${output})`);
      }
    });
    return { proc, argv };
  }
}
