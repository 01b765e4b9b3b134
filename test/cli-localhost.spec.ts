// Clients by name (robustness item 11): `localhost` reaches our server whether it listens on 127.0.0.1, on ::1 or was
// itself bound by the name, for every protocol and client command — QUIC get/connect, TLS over TCP get/connect, DTLS
// connect. Names resolve once to every address (localhost: both loopbacks, RFC 6761 §6.3); UDP clients move on to the
// next address on ICMP port unreachable, TCP tries each; replies are matched by address, not by spelling.
// Needs the built CLI (npm run build).

import { test, expect } from '@playwright/test';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { canonicalHost, sameAddress, type Address, type DatagramEndpoint, type OutgoingDatagram } from '../engine/endpoint.js';
import { resolveHost } from '../engine/io/resolve.js';
import { monotonicNow, UdpEndpointDriver } from '../engine/io/udp.js';
import { makePki } from './helpers/pki.js';
import { freeTcpPort, freeUdpPort, runCli, spawnPeer } from './helpers/proc.js';

test.describe.configure({ timeout: 120_000 });

let dir: string;
let body: Buffer;

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'crosswire-localhost-'));
  body = randomBytes(50_000);
  writeFileSync(join(dir, 'f.bin'), body);
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `crosswire serve <proto>://<bind>:<port>`, resolved once it listens. */
async function serve(proto: 'quic' | 'tls' | 'dtls', bind: string, port: number, args: string[]) {
  const pki = makePki();
  const host = bind.includes(':') ? `[${bind}]` : bind;
  const peer = spawnPeer(process.execPath, ['bin/crosswire.js', 'serve', `${proto}://${host}:${port}`, '--cert', pki.leaf.ec.cert, '--key', pki.leaf.ec.key, ...args]);
  await peer.waitFor(/listening on/, 60_000);
  return peer;
}

// The server's address: each loopback literally, and the name itself (serve binds the first address it resolves to).
for (const bind of ['127.0.0.1', '::1', 'localhost']) {
  test.describe(`server on ${bind}`, () => {
    test(`QUIC: crosswire get https://localhost downloads from serve quic://${bind}`, async () => {
      const port = await freeUdpPort();
      const server = await serve('quic', bind, port, ['--root', dir]);
      try {
        const r = await runCli(['get', `https://localhost:${port}/f.bin`, '--ca', makePki().ca, '--timeout', '20'], { timeoutMs: 60_000 });
        expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr, same: r.stdout.equals(body) }).toEqual({ code: 0, stderr: '', same: true });
      } finally {
        await server.kill();
      }
    });

    test(`QUIC: crosswire connect quic://localhost talks to serve quic://${bind} --echo`, async () => {
      const port = await freeUdpPort();
      const server = await serve('quic', bind, port, ['--echo']);
      try {
        const r = await runCli(['connect', `quic://localhost:${port}`, '--ca', makePki().ca], { input: 'hello\n', timeoutMs: 60_000 });
        expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr, out: r.stdout.toString() }).toEqual({ code: 0, stderr: '', out: 'hello\n' });
      } finally {
        await server.kill();
      }
    });

    test(`TLS over TCP: crosswire get --tcp https://localhost downloads from serve tls://${bind}`, async () => {
      const port = await freeTcpPort();
      const server = await serve('tls', bind, port, ['--root', dir]);
      try {
        const r = await runCli(['get', `https://localhost:${port}/f.bin`, '--tcp', '--ca', makePki().ca], { timeoutMs: 60_000 });
        expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr, same: r.stdout.equals(body) }).toEqual({ code: 0, stderr: '', same: true });
      } finally {
        await server.kill();
      }
    });

    test(`TLS over TCP: crosswire connect tls://localhost talks to serve tls://${bind} --echo`, async () => {
      const port = await freeTcpPort();
      const server = await serve('tls', bind, port, ['--echo']);
      try {
        const r = await runCli(['connect', `tls://localhost:${port}`, '--ca', makePki().ca], { input: 'hello\n', timeoutMs: 60_000 });
        expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr, out: r.stdout.toString() }).toEqual({ code: 0, stderr: '', out: 'hello\n' });
      } finally {
        await server.kill();
      }
    });

    test(`DTLS: crosswire connect dtls://localhost talks to serve dtls://${bind} --echo (it used to hang)`, async () => {
      const port = await freeUdpPort();
      const server = await serve('dtls', bind, port, ['--echo']);
      try {
        const r = await runCli(['connect', `dtls://localhost:${port}`, '--ca', makePki().ca], { input: 'one\ntwo\n', timeoutMs: 60_000 });
        expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr, out: r.stdout.toString() }).toEqual({ code: 0, stderr: '', out: 'one\ntwo\n' });
      } finally {
        await server.kill();
      }
    });
  });
}

test('a UDP client to localhost with nothing listening on any loopback fails at once, naming every address tried', async () => {
  const port = await freeUdpPort();
  const [quic, dtls] = await Promise.all([
    runCli(['get', `https://localhost:${port}/f.bin`, '--ca', makePki().ca, '--timeout', '30'], { timeoutMs: 60_000 }),
    runCli(['connect', `dtls://localhost:${port}`, '--ca', makePki().ca], { input: 'x\n', timeoutMs: 60_000 }),
  ]);
  const line = (s: string) => s.trim().split('\n').at(-1);
  expect([quic.code, line(quic.stderr), dtls.code, line(dtls.stderr)]).toEqual([
    1,
    `crosswire: nothing listens on udp localhost:${port} (ICMP port unreachable from 127.0.0.1, ::1)`,
    1,
    `crosswire: nothing listens on udp localhost:${port} (ICMP port unreachable from 127.0.0.1, ::1)`,
  ]);
});

test('addresses compare as addresses: IPv6 spellings and IPv4-mapped IPv6 match their canonical form', async () => {
  const localhost = await resolveHost('localhost');
  expect({
    canonical: ['0:0:0:0:0:0:0:1', '[::1]', '::FFFF:127.0.0.1', 'FE80::1%eth0', '127.0.0.1', 'Example.COM'].map(canonicalHost),
    same: sameAddress({ host: '0:0:0:0:0:0:0:1', port: 1 }, { host: '::1', port: 1 }),
    mapped: sameAddress({ host: '::ffff:127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 1 }),
    otherPort: sameAddress({ host: '::1', port: 1 }, { host: '::1', port: 2 }),
    otherHost: sameAddress({ host: '::1', port: 1 }, { host: '::2', port: 1 }),
    literal: await resolveHost('[0:0::1]'),
    localhost: [...localhost].sort(),
  }).toEqual({
    canonical: ['::1', '::1', '127.0.0.1', 'fe80::1%eth0', '127.0.0.1', 'example.com'],
    same: true,
    mapped: true,
    otherPort: false,
    otherHost: false,
    literal: ['::1'],
    localhost: ['127.0.0.1', '::1'],
  });
});

/** Sends one datagram at start and records what comes back (and from whom). */
class OneShot implements DatagramEndpoint {
  sent = false;
  readonly got: { text: string; from: Address }[] = [];
  constructor(private readonly to: Address) {}
  receiveDatagram(data: Uint8Array, from: Address): void {
    this.got.push({ text: Buffer.from(data).toString(), from });
  }
  pollDatagrams(): OutgoingDatagram[] {
    if (this.sent) return [];
    this.sent = true;
    return [{ data: Buffer.from('ping'), to: this.to }];
  }
  nextTimeout(): number | undefined {
    return undefined;
  }
  handleTimeout(): void {}
}

test('UDP driver: ICMP port unreachable moves a connected socket to the next address, resends the first flight, and the endpoint keeps its peer address', async () => {
  const echo = createSocket('udp4');
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
  echo.on('message', (m, rinfo) => echo.send(Buffer.concat([Buffer.from('echo:'), m]), rinfo.port, rinfo.address));
  const port = echo.address().port;
  // ::1 at the echo's port: nothing listens there (the echo is IPv4 only).
  const first: Address = { host: '::1', port };
  const endpoint = new OneShot(first);
  const fallbacks: string[] = [];
  const errors: string[] = [];
  const driver = await UdpEndpointDriver.open(endpoint, '::', 0, {
    connect: first,
    fallbacks: [{ host: '127.0.0.1', port }],
    onFallback: (r, n) => fallbacks.push(`${r.host} -> ${n.host}`),
    onError: (e) => errors.push(e.code ?? e.message),
  });
  try {
    const deadline = monotonicNow() + 20_000;
    while (!endpoint.got.length && monotonicNow() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect({ got: endpoint.got, fallbacks, errors, peer: driver.peer }).toEqual({
      got: [{ text: 'echo:ping', from: first }],
      fallbacks: ['::1 -> 127.0.0.1'],
      errors: [],
      peer: { host: '127.0.0.1', port },
    });
  } finally {
    await driver.close();
    echo.close();
  }
});

test('serve by name binds an address of the name (localhost: a loopback)', async () => {
  const port = await freeUdpPort();
  const server = await serve('dtls', 'localhost', port, ['--echo']);
  try {
    expect(server.stderr()).toMatch(new RegExp(`listening on (127\\.0\\.0\\.1|\\[::1\\]):${port}`));
  } finally {
    await server.kill();
  }
});

