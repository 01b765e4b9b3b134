// Peers in containers (issue 13): the compose file, the QIR endpoint contract of every image, `crosswire run
// --runtime docker`, qir:IMAGE peers, the errors users meet (exit 2, one line) and container hygiene (no container
// outlives a run, also after Ctrl-C and SIGKILL). Needs a Docker engine: without one every test here fails saying so
// (never a silent skip). interop/docker/ci.sh starts dockerd and builds the images first; a missing image is built on
// demand (slow: OpenSSL compiles for minutes).
import { test, expect } from '@playwright/test';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/proc.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-docker-'));
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const result = (out: string, server: string, client: string, scenario: string) => json(join(out, `${server}_${client}`, scenario, 'result.json'));
const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });
const containersOf = (runId: string) => docker('ps', '-aq', '--filter', `label=crosswire.run=${runId}`).stdout.split('\n').filter(Boolean);
const runId = (what: string) => `test-${what}-${process.pid}-${Date.now().toString(36)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every test here needs the engine: say clearly that it is absent (in CI and outside it alike). */
function requireEngine(): void {
  const v = docker('version', '--format', '{{.Server.Version}}');
  if (v.error || v.status !== 0) {
    const why = v.error ? `${v.error.message}` : (v.stderr.trim().split('\n')[0] ?? `exit ${v.status}`);
    throw new Error(`Docker is absent: no Docker engine answers (${why}). Install docker.io and start dockerd — interop/docker/ci.sh does both${process.env.CI ? '' : ' (outside CI too: these tests never skip)'}`);
  }
}

/** A peer image must exist or be buildable; tests build missing ones through the CLI (the on-demand path). */
async function requireImages(...peers: string[]): Promise<void> {
  requireEngine();
  const missing = peers.filter((p) => docker('image', 'inspect', `crosswire/${p === 'self' ? 'crosswire' : p}`).status !== 0);
  if (!missing.length) return;
  const r = await runCli(['peers', 'build', ...missing], { timeoutMs: 1_500_000 });
  if (r.code !== 0) throw new Error(`could not build ${missing.join(', ')}: ${r.stderr.slice(-800)}`);
}

test('docker-compose.yml is valid: default QIR-like network, the host profile and the image services', () => {
  const check = (...args: string[]) => spawnSync('docker-compose', [...args, 'config', '-q'], { encoding: 'utf8' });
  const v = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  if (v.error) throw new Error(`docker-compose is not installed (apt-get install docker-compose; interop/docker/ci.sh does): ${v.error.message}`);
  for (const args of [[], ['--profile', 'host'], ['--profile', 'images']]) {
    const r = check(...args);
    expect(r.status, `docker-compose ${args.join(' ')} config -q: ${r.stderr}`).toBe(0);
  }
  const services = spawnSync('docker-compose', ['--profile', 'host', '--profile', 'images', 'config', '--services'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  expect(services).toEqual(expect.arrayContaining(['crosswire', 'ngtcp2', 'openssl', 'quiche', 'sim', 'server', 'client', 'sim-host', 'server-host', 'client-host']));
  const cfg = spawnSync('docker-compose', ['--profile', 'host', 'config'], { encoding: 'utf8' }).stdout;
  expect(cfg).toMatch(/network_mode: host/);
  expect(cfg).toMatch(/network_mode: service:sim/);
});

test('every image follows the QIR endpoint contract: /run_endpoint.sh, exit 127 for an unknown test case, 1 without ROLE', async () => {
  test.setTimeout(1_800_000);
  const peers = ['self', 'ngtcp2', 'openssl', 'quiche'];
  await requireImages(...peers);
  for (const p of peers) {
    const image = `crosswire/${p === 'self' ? 'crosswire' : p}`;
    const unknown = docker('run', '--rm', '--network', 'none', '-e', 'ROLE=server', '-e', 'TESTCASE=no-such-testcase', image);
    expect(unknown.status, `${image}: ${unknown.stderr}`).toBe(127);
    const noRole = docker('run', '--rm', '--network', 'none', '-e', 'TESTCASE=handshake', image);
    expect(noRole.status, `${image}: ${noRole.stderr}`).toBe(1);
    expect(noRole.stderr).toMatch(/ROLE must be client or server/);
    const inspect = JSON.parse(docker('image', 'inspect', image).stdout)[0];
    expect(inspect.Config.Entrypoint).toEqual(['/run_endpoint.sh']);
    // Multi-stage: no compiler in any final image.
    const cc = docker('run', '--rm', '--network', 'none', '--entrypoint', 'sh', image, '-c', 'command -v gcc cc tsc || true');
    expect(cc.stdout.trim(), `${image} carries a compiler`).toBe('');
  }
  // QIR's ALPN rule: the ngtcp2 image (h3 only) runs http3 and answers 127 to hq-interop test cases.
  const hq = docker('run', '--rm', '--network', 'none', '-e', 'ROLE=server', '-e', 'TESTCASE=transfer', 'crosswire/ngtcp2');
  expect(hq.status).toBe(127);
  expect(hq.stderr).toMatch(/needs ALPN hq-interop/);
});

test('run --runtime docker: self ↔ ngtcp2 handshake and transfer both ways, each endpoint a labelled container removed after its cell', async () => {
  test.setTimeout(600_000);
  await requireImages('self', 'ngtcp2');
  const id = runId('runtime');
  const out = join(tmp(), 'r');
  const r = await runCli(['run', 'scenarios/quic/handshake.yaml', 'scenarios/quic/transfer.yaml', '--client', 'self,ngtcp2', '--server', 'self,ngtcp2', '--runtime', 'docker', '--out', out], { timeoutMs: 580_000, env: { ...process.env, CROSSWIRE_RUN_ID: id } });
  expect(r.stderr).not.toContain('internal error');
  for (const [server, client] of [['ngtcp2', 'self'], ['self', 'ngtcp2'], ['ngtcp2', 'ngtcp2']]) {
    for (const scenario of ['handshake', 'transfer']) {
      const res = result(out, server!, client!, scenario);
      expect(res.verdict, `${scenario} ${client} → ${server}: ${res.reason}`).toBe('passed');
      expect(res.realTime).toBe(true);
      expect(res.client.alpn).toBe('h3');
      // Versions come from inside the images.
      expect(res[server === 'ngtcp2' ? 'server' : 'client'].version).toMatch(/^1\.11\./);
      const commands = readFileSync(res.artifacts.commands, 'utf8');
      expect(commands).toMatch(new RegExp(`^server: docker run --rm .*--network host --label crosswire\\.run=${id} `, 'm'));
      expect(commands).toMatch(/^client: docker run --rm /m);
      expect(readFileSync(res.artifacts.keylog, 'utf8')).toMatch(/CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} /);
      expect(res.checks.find((c: { name: string }) => c.name === 'files-identical')?.ok).toBe(true);
    }
  }
  expect(r.code).toBe(0);
  expect(containersOf(id)).toEqual([]);
});

test('run --runtime docker: quiche ↔ openssl over QUIC, and TLS 1.3 over TCP and DTLS 1.2 with self ↔ openssl, all in containers', async () => {
  test.setTimeout(900_000);
  await requireImages('self', 'openssl', 'quiche');
  const id = runId('protocols');
  const out = join(tmp(), 'r');
  const env = { ...process.env, CROSSWIRE_RUN_ID: id };
  const quic = await runCli(['run', 'scenarios/quic/handshake.yaml', '--client', 'quiche,openssl', '--server', 'openssl,quiche', '--runtime', 'docker', '--out', join(out, 'quic')], { timeoutMs: 400_000, env });
  for (const [server, client] of [['openssl', 'quiche'], ['quiche', 'openssl']]) {
    const res = result(join(out, 'quic'), server!, client!, 'handshake');
    expect(res.verdict, `${client} → ${server}: ${res.reason}`).toBe('passed');
    expect(res.runtime).toBe('docker');
    expect(res.replay).toBeTruthy();
  }
  expect(quic.code).toBe(0);
  const other = await runCli(['run', 'scenarios/tls/handshake.yaml', 'scenarios/dtls/cookie-exchange.yaml', '--client', 'self,openssl', '--server', 'self,openssl', '--runtime', 'docker', '--out', join(out, 'tls')], { timeoutMs: 400_000, env });
  for (const [server, client] of [['openssl', 'self'], ['self', 'openssl']]) {
    for (const scenario of ['tls-handshake', 'dtls-cookie-exchange']) {
      const res = result(join(out, 'tls'), server!, client!, scenario);
      expect(res.verdict, `${scenario} ${client} → ${server}: ${res.reason}`).toBe('passed');
      expect(readFileSync(res.artifacts.commands, 'utf8')).toMatch(/^server: docker run /m);
    }
  }
  expect(other.code).toBe(0);
  expect(containersOf(id)).toEqual([]);
});

test('qir:IMAGE peers: our ngtcp2 image through the contract (http3 passes, hq-interop test cases unsupported by exit 127), and a plain QIR image on port 443', async () => {
  test.setTimeout(600_000);
  await requireImages('self', 'ngtcp2', 'quiche');
  // A "plain" QIR image: ours without the label that makes crosswire pass PORT, so its server listens on 443.
  const plain = 'crosswire-test/plain-qir-quiche';
  const b = spawnSync('docker', ['build', '-q', '-t', plain, '-'], { input: 'FROM crosswire/quiche\nLABEL org.crosswire.contract=""\n', encoding: 'utf8' });
  expect(b.status, b.stderr).toBe(0);
  const id = runId('qir');
  const out = join(tmp(), 'r');
  const r = await runCli(['run', 'scenarios/quic/http3.yaml', 'scenarios/quic/handshake.yaml', '--client', 'self', '--server', `qir:crosswire/ngtcp2,qir:${plain}`, '--out', out], { timeoutMs: 580_000, env: { ...process.env, CROSSWIRE_RUN_ID: id } });
  const h3 = result(out, 'qir-crosswire-ngtcp2', 'self', 'http3');
  expect(h3.verdict, h3.reason).toBe('passed');
  expect(h3.server).toMatchObject({ name: 'qir:crosswire/ngtcp2', alpn: 'h3' });
  expect(h3.server.version).toMatch(/^image [0-9a-f]{12}$/);
  const hs = result(out, 'qir-crosswire-ngtcp2', 'self', 'handshake');
  expect(hs.verdict).toBe('unsupported');
  expect(hs.reason).toMatch(/does not support test case handshake \(exit 127\)/);
  const on443 = result(out, `qir-${plain.replace('/', '-')}`, 'self', 'handshake');
  expect(on443.verdict, on443.reason).toBe('passed');
  expect(readFileSync(on443.artifacts.commands, 'utf8')).toMatch(/^relay: 127\.0\.0\.1:\d+ → 127\.0\.0\.1:443$/m);
  expect(readFileSync(on443.artifacts.commands, 'utf8')).not.toMatch(/-e PORT=/);
  // http3 on the plain quiche image: its h3 is crosswire's HTTP/3 over quiche's streams (interop/peers/quiche), which
  // the image serves through the same contract; the exit-127 path is the ngtcp2 image's handshake above.
  const h3On443 = result(out, `qir-${plain.replace('/', '-')}`, 'self', 'http3');
  expect(h3On443.verdict, h3On443.reason).toBe('passed');
  expect(h3On443.server).toMatchObject({ alpn: 'h3' });
  expect(r.code).toBe(0);
  expect(containersOf(id)).toEqual([]);
});

test('errors users meet: one line and exit 2 — no engine, image build failed (with its log), port 443 taken, a container that exits before listening', async () => {
  test.setTimeout(300_000);
  await requireImages('self', 'ngtcp2');
  const base = ['run', 'scenarios/quic/handshake.yaml', '--client', 'self', '--server', 'ngtcp2', '--runtime', 'docker'];
  const oneLine = (stderr: string, re: RegExp) => {
    const lines = stderr.split('\n').filter((l) => re.test(l));
    expect(lines.length, stderr).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^crosswire: /);
  };

  const noEngine = await runCli([...base, '--out', join(tmp(), 'r')], { env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
  expect(noEngine.code).toBe(2);
  oneLine(noEngine.stderr, /no Docker engine/);

  // A missing image whose build fails (its base image does not exist and cannot be pulled).
  const failedBuild = await runCli([...base, '--out', join(tmp(), 'r')], {
    timeoutMs: 200_000,
    env: { ...process.env, CROSSWIRE_IMAGE_PREFIX: 'crosswire-test-missing/', CROSSWIRE_BASE_IMAGE: 'crosswire-test/no-such-base:none', CROSSWIRE_NODE_IMAGE: 'crosswire-test/no-such-base:none' },
  });
  expect(failedBuild.code).toBe(2);
  oneLine(failedBuild.stderr, /image crosswire-test-missing\/crosswire is missing and its build failed \(build log: .*build-crosswire-test-missing-crosswire\.log\)/);
  const log = /build log: ([^)]+)\)/.exec(failedBuild.stderr)![1]!;
  expect(existsSync(log)).toBe(true);

  // Port 443 taken while a plain QIR server image would listen there.
  const plain = 'crosswire-test/plain-qir-ngtcp2';
  expect(spawnSync('docker', ['build', '-q', '-t', plain, '-'], { input: 'FROM crosswire/ngtcp2\nLABEL org.crosswire.contract=""\n' }).status).toBe(0);
  const holder = createSocket('udp4');
  await new Promise<void>((res, rej) => {
    holder.once('error', rej);
    holder.bind(443, '127.0.0.1', () => res());
  });
  try {
    const taken = await runCli(['run', 'scenarios/quic/http3.yaml', '--client', 'self', '--server', `qir:${plain}`, '--out', join(tmp(), 'r')], { timeoutMs: 100_000 });
    expect(taken.code).toBe(2);
    oneLine(taken.stderr, /port 443\/udp is in use/);
  } finally {
    holder.close();
  }

  // A server container that dies before it listens: exit 2, its output kept in the run folder.
  const broken = 'crosswire-test/broken-server';
  expect(spawnSync('docker', ['build', '-q', '-t', broken, '-'], { input: 'FROM crosswire/ngtcp2\nENTRYPOINT ["sh", "-c", "echo cannot open the listening socket >&2; exit 3"]\n' }).status).toBe(0);
  const out = join(tmp(), 'r');
  const died = await runCli(['run', 'scenarios/quic/http3.yaml', '--client', 'self', '--server', `qir:${broken}`, '--out', out], { timeoutMs: 100_000 });
  expect(died.code).toBe(2);
  oneLine(died.stderr, /exited with code 3 .*before it was ready/);
  const res = result(out, `qir-${broken.replace('/', '-')}`, 'self', 'http3');
  expect(res.verdict).toBe('error');
  expect(readFileSync(res.artifacts.serverLog, 'utf8')).toContain('cannot open the listening socket');
});

for (const signal of ['SIGINT', 'SIGKILL'] as const) {
  test(`no container outlives a run: crosswire ${signal === 'SIGINT' ? 'interrupted with Ctrl-C' : 'killed with SIGKILL'} mid-cell`, async () => {
    test.setTimeout(240_000);
    await requireImages('self', 'ngtcp2');
    const id = runId(signal.toLowerCase());
    const out = join(tmp(), 'r');
    const child = spawn(process.execPath, ['bin/crosswire.js', 'run', 'scenarios/quic/transfer.yaml', '--client', 'ngtcp2', '--server', 'self', '--runtime', 'docker', '--out', out], { env: { ...process.env, CROSSWIRE_RUN_ID: id }, stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const deadline = Date.now() + 120_000;
    // Both endpoints running: the server container and the client container.
    while (containersOf(id).length < 2 && Date.now() < deadline) await sleep(250);
    expect(containersOf(id).length, 'both endpoint containers started').toBe(2);
    child.kill(signal);
    await exited;
    const until = Date.now() + 30_000;
    while (containersOf(id).length && Date.now() < until) await sleep(250);
    expect(containersOf(id), `containers labelled crosswire.run=${id} after ${signal}`).toEqual([]);
    if (signal === 'SIGINT') expect(json(join(out, 'self_ngtcp2', 'transfer', 'result.json')).reason).toBe('interrupted');
  });
}

test('crosswire peers build: an image that is up to date rebuilds from the layer cache and reports its size', async () => {
  test.setTimeout(600_000);
  await requireImages('ngtcp2');
  const r = await runCli(['peers', 'build', 'ngtcp2'], { timeoutMs: 580_000 });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.toString()).toMatch(/^\[ngtcp2\] built crosswire\/ngtcp2 in [\d.]+ s: \d+ MB \(log: .*build-crosswire-ngtcp2\.log\)$/m);
  expect(r.stdout.toString()).toMatch(/^ngtcp2\s+crosswire\/ngtcp2\s+ok\s/m);
  const unknown = await runCli(['peers', 'build', 'no-such-peer']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/no Dockerfile for peer 'no-such-peer'/);
  execFileSync('docker', ['image', 'inspect', 'crosswire/ngtcp2'], { stdio: 'ignore' });
});
