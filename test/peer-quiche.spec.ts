// The quiche peer (interop/peers/quiche): quiche 0.18's own client and server, started through endpoint.sh with the
// endpoint contract's environment, download real files over loopback with certificate verification on. The binary
// comes from install.sh (npm package @matrixai/quic-linux-x64 2.0.9 into the crosswire cache); when it cannot be
// installed these tests fail with install.sh's message, they never skip. Needs the built tree (npm run build).

import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makePki } from './helpers/pki.js';
import { runCli, spawnPeer } from './helpers/proc.js';

const PEER_DIR = resolve('interop/peers/quiche');
const ENDPOINT = join(PEER_DIR, 'endpoint.sh');
const CACHE = process.env.CROSSWIRE_CACHE || join(homedir(), '.cache', 'crosswire');
const NODE_FILE = join(CACHE, 'quiche-0.18.0', 'node_modules', '@matrixai', 'quic-linux-x64', 'node.napi.node');

test.describe.configure({ timeout: 180_000 });

let work: string;
let www: string;
const FILES: Record<string, Buffer> = {};

test.beforeAll(() => {
  // install.sh is idempotent: a no-op when the binary is there, an npm install otherwise.
  try {
    execFileSync(join(PEER_DIR, 'install.sh'), { env: { ...process.env, CROSSWIRE_CACHE: CACHE }, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    throw new Error(`quiche is not installed and install.sh failed: ${err.stderr?.toString().trim() || String(e)}`);
  }
  if (!existsSync(NODE_FILE)) throw new Error(`quiche is not installed: ${NODE_FILE} is missing after install.sh`);
  if (!existsSync('dist/interop/peers/quiche/main.js')) throw new Error('dist/interop/peers/quiche/main.js is missing: run npm run build');
  work = mkdtempSync(join(tmpdir(), 'crosswire-quiche-'));
  www = join(work, 'www');
  mkdirSync(www);
  FILES['big'] = randomBytes(4 * 1024 * 1024);
  for (let i = 1; i <= 5; i++) FILES[`small${i}`] = randomBytes(1000 * i + 17);
  for (const [name, data] of Object.entries(FILES)) writeFileSync(join(www, name), data);
});

test.afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function contractEnv(role: 'client' | 'server', extra: Record<string, string>): NodeJS.ProcessEnv {
  const pki = makePki();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CROSSWIRE_CACHE: CACHE,
    ROLE: role,
    PROTOCOL: 'quic',
    ALPN: 'hq-interop',
    QUIC_VERSION: '1',
    CERT: pki.leaf.ec.cert,
    KEY: pki.leaf.ec.key,
    CA: pki.ca,
    ...extra,
  };
  delete env.CIPHER;
  return env;
}

interface Outcome {
  code: number | string;
  clientOut: string;
  clientErr: string;
  serverOut: string;
  downloads: string;
  clientKeys: string;
  serverKeys: string;
}

/** Starts the quiche server (ephemeral port), runs the quiche client on `names`, stops the server (SIGTERM). */
async function run(
  testcase: string,
  names: string[],
  clientExtra: Record<string, string> = {},
  urlHost = 'localhost',
  host = '127.0.0.1',
): Promise<Outcome> {
  const dir = mkdtempSync(join(work, `${testcase}-`));
  const downloads = join(dir, 'downloads');
  const keys = { client: join(dir, 'client.keys'), server: join(dir, 'server.keys') };
  const server = spawnPeer(ENDPOINT, [], {
    // The pair's ALPN is the server's too (the runner sets one ALPN per pair).
    env: contractEnv('server', { TESTCASE: testcase, HOST: host, PORT: '0', WWW: www, LOGS: dir, SSLKEYLOGFILE: keys.server, ALPN: clientExtra.ALPN ?? 'hq-interop' }),
  });
  try {
    await server.waitFor(/listening on \S+:\d+ /, 20_000);
    const port = /listening on \S+:(\d+) /.exec(server.stdout())![1];
    const client = spawnPeer(ENDPOINT, [], {
      env: contractEnv('client', {
        TESTCASE: testcase,
        HOST: host,
        PORT: port,
        REQUESTS: names.map((n) => `https://${urlHost}:${port}/${n}`).join(' '),
        DOWNLOADS: downloads,
        LOGS: dir,
        SSLKEYLOGFILE: keys.client,
        ...clientExtra,
      }),
    });
    const code = await client.exited;
    await server.kill();
    expect(await server.exited).toBe(0); // SIGTERM is a clean stop
    const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
    return {
      code,
      clientOut: client.stdout(),
      clientErr: client.stderr(),
      serverOut: server.stdout() + server.stderr(),
      downloads,
      clientKeys: read(keys.client),
      serverKeys: read(keys.server),
    };
  } finally {
    await server.kill();
  }
}

function expectFiles(o: Outcome, names: string[]): void {
  for (const n of names) {
    const got = join(o.downloads, n);
    expect(existsSync(got), `${n} downloaded`).toBe(true);
    expect(readFileSync(got).equals(FILES[n]!), `${n} byte-identical`).toBe(true);
  }
}

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

test('transfer: one connection, identical bytes, one key log per connection appended on both sides', async () => {
  const names = ['big', 'small1', 'small2'];
  const o = await run('transfer', names);
  expect(o.code, o.clientErr).toBe(0);
  expectFiles(o, names);
  const total = names.reduce((n, f) => n + FILES[f]!.length, 0);
  expect(o.clientOut).toContain(`connection 1: 3 file(s), ${total} bytes`);
  expect(count(o.serverOut, /quiche server: connection \d+ from/g)).toBe(1);
  for (const keys of [o.clientKeys, o.serverKeys]) {
    expect(count(keys, /^CLIENT_HANDSHAKE_TRAFFIC_SECRET [0-9a-f]{64} [0-9a-f]+$/gm)).toBe(1);
    expect(count(keys, /^SERVER_TRAFFIC_SECRET_0 /gm)).toBe(1);
  }
});

test('ALPN h3 is crosswire\'s HTTP/3 over quiche\'s streams: transfer and 0-RTT requests, identical bytes, named as ours', async () => {
  const names = ['big', 'small1', 'small2'];
  const o = await run('transfer', names, { ALPN: 'h3' });
  expect(o.code, o.clientErr).toBe(0);
  expectFiles(o, names);
  expect(o.serverOut).toContain("ALPN h3; h3 is crosswire's HTTP/3 over quiche");
  expect(o.serverOut).toContain('alpn=h3');
  // the client closes with H3_NO_ERROR (RFC 9114 §8.1), the server served all three over HTTP/3
  expect(o.serverOut).toMatch(/connection 1 closed \(peer: application error 0x100\): resumed=false requests=3 /);
  const early = ['small1', 'small2', 'small3', 'small4'];
  const z = await run('zerortt', early, { ALPN: 'h3' });
  expect(z.code, z.clientErr).toBe(0);
  expectFiles(z, early);
  expect(z.clientOut).toMatch(/connection 2: 3 file\(s\), \d+ bytes in [\d.]+ s; resumed=true early-data-requests=3 /);
});

test('retry: the server sends Retry and accepts the token it minted', async () => {
  const o = await run('retry', ['small1', 'small2']);
  expect(o.code, o.clientErr).toBe(0);
  expectFiles(o, ['small1', 'small2']);
  expect(o.serverOut).toMatch(/Retry to 127\.0\.0\.1:\d+/);
  expect(o.serverOut).toMatch(/connection 1 from 127\.0\.0\.1:\d+ \(after Retry\)/);
  expect(o.serverOut).not.toContain('invalid Retry token');
});

test('resumption: the second connection resumes the first one\'s session', async () => {
  const names = ['small1', 'small2', 'small3'];
  const o = await run('resumption', names);
  expect(o.code, o.clientErr).toBe(0);
  expectFiles(o, names);
  expect(o.clientOut).toMatch(/connection 1: 1 file\(s\).*resumed=false/);
  expect(o.clientOut).toMatch(/connection 2: 2 file\(s\).*resumed=true early-data-requests=0/);
  expect(o.serverOut).toMatch(/connection 2: established, resumed=true/);
  expect(count(o.clientKeys, /^CLIENT_TRAFFIC_SECRET_0 /gm)).toBe(2);
});

test('zerortt: the requests of the second connection go out as 0-RTT and the server takes them as early data', async () => {
  const names = ['small1', 'small2', 'small3', 'small4'];
  const o = await run('zerortt', names);
  expect(o.code, o.clientErr).toBe(0);
  expectFiles(o, names);
  expect(o.clientOut).toMatch(/connection 2: 3 file\(s\).*resumed=true early-data-requests=3/);
  // The server saw 0-RTT packets and read the requests out of them while quiche was in early data.
  expect(o.serverOut).toMatch(/connection 2 closed .*resumed=true requests=3 early-data-requests=[1-3] 0rtt-packets=[1-9]/);
  expect(count(o.clientKeys, /^CLIENT_EARLY_TRAFFIC_SECRET /gm)).toBe(1);
});

test('multiconnect: one connection per URL, one after the other', async () => {
  const names = ['small1', 'small2', 'small3', 'small4', 'small5'];
  const o = await run('multiconnect', names);
  expect(o.code, o.clientErr).toBe(0);
  expectFiles(o, names);
  expect(count(o.clientOut, /connection \d: 1 file\(s\)/g)).toBe(5);
  expect(count(o.serverOut, /quiche server: connection \d+ from/g)).toBe(5);
  expect(count(o.serverKeys, /^CLIENT_TRAFFIC_SECRET_0 /gm)).toBe(5);
});

test('IPv6: server on ::1, client to ::1 (URL host localhost)', async () => {
  const o = await run('transfer', ['small1', 'small2'], {}, 'localhost', '::1');
  expect(o.code, o.clientErr).toBe(0);
  expectFiles(o, ['small1', 'small2']);
  expect(o.serverOut).toMatch(/listening on ::1:\d+ /);
  expect(o.serverOut).toMatch(/connection 1 from ::1:\d+/);
});

test('a file the server does not have fails the client with one line', async () => {
  const o = await run('transfer', ['small1', 'missing']);
  expect(o.code).toBe(1);
  expect(o.clientErr.trim().split('\n')).toHaveLength(1);
  expect(o.clientErr).toContain('(/missing): reset by the server');
});

test('the client verifies the server certificate: its CA, and the name or IP address in the URL', async () => {
  const pki = makePki();
  const other = await run('handshake', ['small1'], { CA: join(pki.dir, 'other-ca.pem') });
  expect(other.code).toBe(1);
  expect(other.clientErr).toMatch(/^quiche client: connection 1: TlsFail: transport error 0x130, TLS alert 48 unknown_ca\n$/);
  const name = await run('handshake', ['small1'], {}, 'name.invalid');
  expect(name.code).toBe(1);
  expect(name.clientErr).toMatch(/^quiche client: connection 1: TlsFail: .*bad_certificate\n$/);
  const ip = await run('handshake', ['small1'], {}, '127.0.0.2');
  expect(ip.code).toBe(1);
  expect(ip.clientErr).toBe('quiche client: connection 1: server certificate is not valid for 127.0.0.2\n');
  const ok = await run('handshake', ['small1'], {}, '127.0.0.1');
  expect(ok.code, ok.clientErr).toBe(0);
  expectFiles(ok, ['small1']);
});

test('test cases and settings quiche cannot do exit 127', async () => {
  const base = { REQUESTS: 'https://localhost:4433/x', DOWNLOADS: join(work, 'none') };
  const cases: Record<string, string>[] = [
    { TESTCASE: 'chacha20' },
    { TESTCASE: 'keyupdate' },
    { TESTCASE: 'v2' },
    { TESTCASE: 'http3' }, // over hq-interop (contractEnv's ALPN): http3 needs h3
    { TESTCASE: 'ecn' },
    { TESTCASE: 'connectionmigration' },
    { TESTCASE: 'transfer', ALPN: 'echo' },
    { TESTCASE: 'transfer', QUIC_VERSION: '2' },
    { TESTCASE: 'transfer', CIPHER: 'TLS_CHACHA20_POLY1305_SHA256' },
    { TESTCASE: 'transfer', PROTOCOL: 'tls' },
  ];
  for (const c of cases) {
    const p = spawnPeer(ENDPOINT, [], { env: { ...contractEnv('client', base), ...c } });
    expect(await p.exited, JSON.stringify(c)).toBe(127);
    expect(p.stderr()).toMatch(/^quiche client: unsupported: .+\n$/);
  }
  const server = spawnPeer(ENDPOINT, [], { env: contractEnv('server', { TESTCASE: 'v2', HOST: '127.0.0.1', PORT: '0', WWW: work }) });
  expect(await server.exited).toBe(127);
});

test('a missing binary is one clear line', async () => {
  const p = spawnPeer(ENDPOINT, [], {
    env: contractEnv('client', { CROSSWIRE_CACHE: join(work, 'no-cache'), TESTCASE: 'transfer', REQUESTS: 'https://localhost:4433/x' }),
  });
  expect(await p.exited).toBe(1);
  expect(p.stderr()).toMatch(/^quiche client: quiche is not installed: .*node\.napi\.node is missing \(run interop\/peers\/quiche\/install\.sh\)\n$/);
});

test('the server answers a QUIC v2 Initial with Version Negotiation listing version 1', async () => {
  const server = spawnPeer(ENDPOINT, [], { env: contractEnv('server', { TESTCASE: 'transfer', HOST: '127.0.0.1', PORT: '0', WWW: www }) });
  try {
    await server.waitFor(/listening on 127\.0\.0\.1:\d+/, 20_000);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(server.stdout())![1]);
    const sock = createSocket('udp4');
    const dcid = randomBytes(8);
    const scid = randomBytes(8);
    // A long-header packet of version 0x6b3343cf (v2), padded to 1200 bytes; its payload does not matter.
    const pkt = Buffer.alloc(1200);
    pkt[0] = 0xd0;
    pkt.writeUInt32BE(0x6b3343cf, 1);
    pkt[5] = dcid.length;
    dcid.copy(pkt, 6);
    pkt[14] = scid.length;
    scid.copy(pkt, 15);
    const reply = await new Promise<Buffer>((res, rej) => {
      const t = setTimeout(() => rej(new Error('no Version Negotiation within 5 s')), 5000);
      sock.on('message', (m) => {
        clearTimeout(t);
        res(m);
      });
      sock.send(pkt, port, '127.0.0.1');
    });
    sock.close();
    expect(reply[0]! & 0x80).toBe(0x80);
    expect(reply.readUInt32BE(1)).toBe(0); // Version Negotiation
    expect(reply.subarray(6, 6 + reply[5]!).equals(scid)).toBe(true); // echoes the client's SCID as DCID
    const at = 6 + reply[5]! + 1 + reply[6 + reply[5]!]!;
    const versions: number[] = [];
    for (let o = at; o + 4 <= reply.length; o += 4) versions.push(reply.readUInt32BE(o));
    expect(versions).toContain(1);
    expect(versions).not.toContain(0x6b3343cf);
    expect(server.stdout()).toContain('version 0x6b3343cf from 127.0.0.1');
  } finally {
    await server.kill();
  }
});

test('crosswire\'s own client downloads from the quiche server with ChaCha20 and key updates, and after Version Negotiation', async () => {
  const pki = makePki();
  const server = spawnPeer(ENDPOINT, [], { env: contractEnv('server', { TESTCASE: 'transfer', HOST: '127.0.0.1', PORT: '0', WWW: www }) });
  try {
    await server.waitFor(/listening on 127\.0\.0\.1:\d+/, 20_000);
    const port = /listening on 127\.0\.0\.1:(\d+)/.exec(server.stdout())![1];
    const out = join(work, 'cw-big');
    const r = await runCli([
      'get', `https://localhost:${port}/big`, '--alpn', 'hq-interop', '--ca', pki.ca, '--out', out, '-v',
      '--cipher', 'TLS_CHACHA20_POLY1305_SHA256', '--key-update', '20', '--quic-version', '2',
    ]);
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    expect(r.stderr).toContain('version changed to v1 (version-negotiation)');
    expect(r.stderr).toContain('TLS_CHACHA20_POLY1305_SHA256');
    expect(r.stderr).toMatch(/key update to generation [2-9]/);
    expect(readFileSync(out).equals(FILES['big']!)).toBe(true);
  } finally {
    await server.kill();
  }
});
