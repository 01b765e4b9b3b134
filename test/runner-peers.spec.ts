// Scenarios against real, independent implementations through the real-time relay (issue 11): the built-in peers
// declared and installed, a representative subset per peer in both roles, peer ↔ peer without crosswire, a user's own
// peer file, verdicts for crashed / hung / unsupported peers, and process hygiene (no child outlives a run).
import { test, expect } from '@playwright/test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from './helpers/proc.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-peers-'));
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const result = (out: string, server: string, client: string, scenario: string) => json(join(out, `${server}_${client}`, scenario, 'result.json'));

interface ListedPeer {
  name: string;
  version: string;
  installed: boolean;
  roles: string[];
  protocols: string[];
  alpns: string[];
}

let listed: ListedPeer[] = [];

/** A peer this spec needs must be installed: a missing one fails (never skips), naming the install command. */
function requirePeer(name: string): void {
  const p = listed.find((x) => x.name === name);
  if (!p?.installed) throw new Error(`peer ${name} is not installed: run \`npx crosswire peers install ${name}\` (.ci/run does)`);
}

test.beforeAll(async () => {
  const r = await runCli(['peers', 'list', '--json']);
  expect(r.code).toBe(0);
  listed = JSON.parse(r.stdout.toString()) as ListedPeer[];
});

test('peers list: every built-in peer is declared with its roles, protocols, ALPNs and installed version', async () => {
  const names = listed.map((p) => p.name);
  expect(names).toEqual(expect.arrayContaining(['self', 'ngtcp2', 'quiche', 'openssl', 'openssl-3.0']));
  for (const name of ['self', 'ngtcp2', 'quiche', 'openssl', 'openssl-3.0']) requirePeer(name);
  const ngtcp2 = listed.find((p) => p.name === 'ngtcp2')!;
  expect(ngtcp2.version).toMatch(/^1\.11\./);
  expect(ngtcp2.alpns).toEqual(['h3']);
  expect(listed.find((p) => p.name === 'quiche')!.version).toBe('0.18.0');
  expect(listed.find((p) => p.name === 'openssl')!.version).toMatch(/^3\.5\./);
  expect(listed.find((p) => p.name === 'openssl-3.0')!.version).toMatch(/^3\.0\./);
  const text = await runCli(['peers', 'list']);
  expect(text.stdout.toString()).toMatch(/^peer\s+version\s+installed\s+roles/m);
});

for (const peer of ['ngtcp2', 'quiche', 'openssl']) {
  test(`QUIC handshake, transfer and retry: self ↔ ${peer} in both roles through the relay`, async () => {
    test.setTimeout(300_000);
    requirePeer(peer);
    const out = join(tmp(), 'r');
    const r = await runCli(['run', 'scenarios/quic/handshake.yaml', 'scenarios/quic/transfer.yaml', 'scenarios/quic/retry.yaml', '--client', `self,${peer}`, '--server', `self,${peer}`, '--out', out], { timeoutMs: 280_000 });
    expect(r.stderr).not.toContain('internal error');
    for (const [server, client] of [[peer, 'self'], ['self', peer]]) {
      for (const scenario of ['handshake', 'transfer', 'retry']) {
        const res = result(out, server!, client!, scenario);
        expect(res.verdict, `${scenario} ${client} → ${server}: ${res.reason}`).toBe('passed');
        expect(res.realTime).toBe(true);
        expect(res.client.name).toBe(client);
        expect(res.server.version).not.toBe('');
        expect(res.client.alpn).toBe(peer === 'ngtcp2' ? 'h3' : 'hq-interop');
        expect(res.checks.find((c: { name: string }) => c.name === 'files-identical')?.ok).toBe(true);
        // Artifacts a user opens: the capture with secrets, the key log, each side's output, the command lines.
        expect(readFileSync(res.artifacts.pcap).readUInt32LE(0)).toBe(0x0a0d0d0a);
        expect(readFileSync(res.artifacts.keylog, 'utf8')).toMatch(/CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} /);
        expect(readFileSync(res.artifacts.commands, 'utf8')).toMatch(/^server: .*\nclient: .*\nrelay: /);
      }
      const retry = result(out, server!, client!, 'retry');
      expect(retry.checks.find((c: { name: string }) => c.name === 'retry').detail).toMatch(/^[1-9]\d* Retry on the wire \(expected at least one\); [1-9]\d* Retry sent, token echoed/);
    }
    expect(r.code).toBe(0);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  });
}

test('peer ↔ peer with no crosswire endpoint: quiche client → openssl server, and no common ALPN is unsupported', async () => {
  test.setTimeout(200_000);
  for (const p of ['quiche', 'openssl', 'ngtcp2']) requirePeer(p);
  const out = join(tmp(), 'r');
  const r = await runCli(['run', 'scenarios/quic/transfer.yaml', '--client', 'quiche', '--server', 'openssl', '--out', out], { timeoutMs: 190_000 });
  const ok = result(out, 'openssl', 'quiche', 'transfer');
  expect(ok.verdict, ok.reason).toBe('passed');
  expect(ok.client).toEqual({ name: 'quiche', version: '0.18.0', alpn: 'hq-interop' }); // quiche's own stack: no label
  expect(r.code).toBe(0);
  // OpenSSL's QUIC client speaks hq-interop only, ngtcp2's examples h3 only.
  const out2 = join(tmp(), 'r');
  const none = await runCli(['run', 'scenarios/quic/transfer.yaml', '--client', 'openssl', '--server', 'ngtcp2', '--out', out2]);
  expect(none.code, none.stderr.toString()).toBe(0);
  const cell = result(out2, 'ngtcp2', 'openssl', 'transfer');
  expect(cell.verdict).toBe('unsupported');
  expect(cell.reason).toMatch(/^no common ALPN/);
});

test('ngtcp2 ↔ quiche meet over h3, which on quiche\'s side is crosswire\'s HTTP/3 over quiche, and result.json says so', async () => {
  test.setTimeout(300_000);
  for (const p of ['quiche', 'ngtcp2']) requirePeer(p);
  const out = join(tmp(), 'r');
  const r = await runCli(
    ['run', 'scenarios/quic/handshake.yaml', 'scenarios/quic/transfer.yaml', '--client', 'ngtcp2,quiche', '--server', 'ngtcp2,quiche', '--out', out],
    { timeoutMs: 290_000 },
  );
  const label = "quiche (h3: crosswire's HTTP/3 over quiche)";
  for (const scenario of ['handshake', 'transfer']) {
    for (const [server, client] of [
      ['quiche', 'ngtcp2'],
      ['ngtcp2', 'quiche'],
    ] as const) {
      const cell = result(out, server, client, scenario);
      expect(cell.verdict, `${scenario} ${client}→${server}: ${cell.reason}`).toBe('passed');
      expect(cell.client.alpn).toBe('h3');
      expect(cell.server.alpn).toBe('h3');
      const quiche = client === 'quiche' ? cell.client : cell.server;
      const ngtcp2 = client === 'quiche' ? cell.server : cell.client;
      expect(quiche.label).toBe(label);
      expect(ngtcp2.label).toBeUndefined(); // ngtcp2's h3 is its own (nghttp3)
    }
    // quiche ↔ quiche still prefers hq-interop (the scenario's first ALPN), quiche's own application layer
    const self = result(out, 'quiche', 'quiche', scenario);
    expect(self.verdict, self.reason).toBe('passed');
    expect(self.client.alpn).toBe('hq-interop');
    expect(self.client.label).toBeUndefined();
  }
  expect(r.code, r.stderr.toString().slice(-1500)).toBe(0);
});

test('DTLS with the cookie exchange checked on the wire: self ↔ openssl and openssl-3.0, both ways', async () => {
  test.setTimeout(200_000);
  for (const p of ['openssl', 'openssl-3.0']) requirePeer(p);
  const out = join(tmp(), 'r');
  const r = await runCli(['run', 'scenarios/dtls/cookie-exchange.yaml', '--client', 'self,openssl,openssl-3.0', '--server', 'self,openssl,openssl-3.0', '--out', out], { timeoutMs: 190_000 });
  for (const peer of ['openssl', 'openssl-3.0']) {
    for (const [server, client] of [[peer, 'self'], ['self', peer]]) {
      const res = result(out, server!, client!, 'dtls-cookie-exchange');
      expect(res.verdict, `${client} → ${server}: ${res.reason}`).toBe('passed');
      expect(res.checks.find((c: { name: string }) => c.name === 'dtls-cookie').detail).toMatch(/^[1-9]\d* HelloVerifyRequest/);
    }
  }
  expect(r.stderr).not.toContain('internal error');
});

test('a user-written peer file puts a new implementation in the matrix with no code change', async () => {
  test.setTimeout(120_000);
  const dir = tmp();
  // "my-quic": crosswire's own CLI started directly from command-line placeholders, no endpoint script.
  const cli = resolve('bin/crosswire.js');
  writeFileSync(
    join(dir, 'my-quic.yaml'),
    `name: my-quic
description: a QUIC server under test, declared by its user
version: "9.9"
roles:
  server:
    protocols: [quic]
    alpns: [hq-interop]
    features: [handshake, transfer]
    command: [node, ${cli}, serve, 'quic://{host}:{port}', --cert, '{cert}', --key, '{key}', --root, '{www}']
    ready: { log: 'listening on' }
`,
  );
  const out = join(dir, 'r');
  const r = await runCli(['run', 'scenarios/quic/handshake.yaml', 'scenarios/quic/retry.yaml', '--client', 'self', '--server', 'my-quic', '--peers-file', join(dir, 'my-quic.yaml'), '--out', out], { timeoutMs: 110_000 });
  const hs = result(out, 'my-quic', 'self', 'handshake');
  expect(hs.verdict, hs.reason).toBe('passed');
  expect(hs.server).toEqual({ name: 'my-quic', version: '9.9', alpn: 'hq-interop' });
  const retry = result(out, 'my-quic', 'self', 'retry');
  expect(retry.verdict).toBe('unsupported');
  expect(retry.reason).toBe('my-quic (server) lacks feature retry');
  expect(r.code).toBe(0);
  // A malformed peer file is a usage error with its position.
  writeFileSync(join(dir, 'bad.yaml'), 'name: bad\nroles:\n  server:\n    protocols: [sctp]\n    command: [x]\n');
  const bad = await runCli(['peers', 'list', '--peers-file', join(dir, 'bad.yaml')]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/bad\.yaml:4:\d+: .*protocols/);
});

test('a server that exits before listening is an error with its exit status; a hung client times out as a failure', async () => {
  test.setTimeout(200_000);
  const dir = tmp();
  writeFileSync(
    join(dir, 'broken.yaml'),
    `name: broken
version: "0"
roles:
  server:
    protocols: [quic]
    alpns: [hq-interop]
    features: [handshake]
    command: [sh, -c, 'echo "fatal: no such certificate" >&2; exit 3']
    ready: { udp: true }
  client:
    protocols: [quic]
    alpns: [hq-interop]
    features: [handshake]
    command: [sleep, '601.5']
`,
  );
  const scenario = join(dir, 'quick.yaml');
  writeFileSync(scenario, 'name: quick\nprotocol: quic\nrequires: [handshake]\nclient: { alpn: hq-interop, requests: [{ size: 1KiB }] }\nexpect: { handshakes: 1, files: identical, within: 5s }\n');
  const out = join(dir, 'r');
  const r = await runCli(['run', scenario, '--client', 'self,broken', '--server', 'broken,self', '--peers-file', join(dir, 'broken.yaml'), '--out', out], { timeoutMs: 190_000 });
  expect(r.code).toBe(1);
  const crashed = result(out, 'broken', 'self', 'quick');
  expect(crashed.verdict).toBe('error');
  expect(crashed.reason).toMatch(/^broken server exited with code 3 after [\d.]+ s before it was ready: fatal: no such certificate$/);
  const hung = result(out, 'self', 'broken', 'quick');
  expect(hung.verdict).toBe('failed');
  expect(hung.reason).toMatch(/completed: timeout after 35\.0 s: 0 of 1 files/);
  expect(pgrep('sleep 601.5')).toEqual([]);
});

function pgrep(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

test('no child outlives a run: Ctrl-C mid-cell ends every endpoint, and so does crosswire being killed outright', async () => {
  test.setTimeout(120_000);
  const dir = tmp();
  const marker = `crosswire-hygiene-${Date.now()}`;
  writeFileSync(
    join(dir, 'sleepy.yaml'),
    `name: sleepy
version: "0"
roles:
  server:
    protocols: [quic]
    alpns: [hq-interop]
    features: [handshake]
    command: [sh, -c, 'sleep 600 # ${marker}-server']
    ready: { delay: 100ms }
  client:
    protocols: [quic]
    alpns: [hq-interop]
    features: [handshake]
    command: [sh, -c, 'sleep 600 # ${marker}-client']
`,
  );
  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    const out = join(dir, `r-${signal}`);
    const child = spawn(process.execPath, ['bin/crosswire.js', 'run', 'scenarios/quic/handshake.yaml', '--client', 'sleepy', '--server', 'sleepy', '--peers-file', join(dir, 'sleepy.yaml'), '--out', out], { stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    while (pgrep(`${marker}-client`).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(pgrep(`${marker}-server`).length, 'the server endpoint started').toBeGreaterThan(0);
    expect(pgrep(`${marker}-client`).length, 'the client endpoint started').toBeGreaterThan(0);
    child.kill(signal);
    await new Promise((r) => child.once('exit', r));
    // SIGINT: crosswire ends the groups itself; SIGKILL: each guard notices its parent is gone within a second.
    const until = Date.now() + 10_000;
    while ((pgrep(marker).length > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(pgrep(marker), `processes left after ${signal}`).toEqual([]);
    if (signal === 'SIGINT') expect(existsSync(join(out, 'summary.json')), 'the partial run still writes its summary').toBe(true);
  }
});
