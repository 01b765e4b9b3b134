// crosswire's ossl-dtls-server (interop/peers/openssl/ossl-dtls-server.c), the TESTCASE=fuzz-wire DTLS server of the
// openssl (3.5) and openssl-3.0 peers, built against each one's libssl: it must answer cookie-less ClientHellos
// statelessly (RFC 6347 §4.2.1: no client state before a valid cookie, and a cookie is good only for the address it
// was sent to), serve several clients at the same time on its one socket, free a client whose handshake stalls, and
// keep its client count bounded without ever pushing out an established client.
// Driven by our own DTLS client engine over loopback UDP; the counts come from the status line it prints on SIGUSR1.
// A missing build fails these tests (CI or not), never skips them.

import { test, expect } from '@playwright/test';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCrypto } from '../engine/crypto/node.js';
import { seededRandom } from '../engine/crypto/random.js';
import { DtlsClient } from '../engine/dtls/index.js';
import { pemDecode } from '../engine/tls/x509/pem.js';
import { label } from '../interop/fuzz-wire/dtls.js';
import { cacheDir, isInstalled } from '../interop/peers/declaration.js';
import { loadRegistry } from '../interop/peers/registry.js';
import { writeRunCerts } from '../interop/runner/live-pki.js';
import { freeUdpPort, spawnPeer, type Peer } from './helpers/proc.js';

test.describe.configure({ timeout: 60_000 });

const builds = [
  { peer: 'openssl', bin: () => join(cacheDir(), 'openssl-3.5', 'bin', 'ossl-dtls-server'), version: /OpenSSL 3\.5\./ },
  { peer: 'openssl-3.0', bin: () => join(cacheDir(), 'openssl-3.0-dtls', 'bin', 'ossl-dtls-server'), version: /OpenSSL 3\.0\./ },
] as const;

function requireBuild(peer: string, bin: string): void {
  const p = loadRegistry().get(peer);
  if (!p) throw new Error(`unknown peer ${peer}`);
  const inst = isInstalled(p);
  if (!inst.ok || !existsSync(bin)) throw new Error(`${bin} is missing: run \`npx crosswire peers install ${peer}\` (.ci/run does)`);
}

const sha = (d: Uint8Array) => nodeCrypto.hash('sha256', d);

interface Status { [k: string]: number }

async function status(server: Peer): Promise<Status> {
  const count = () => (server.stderr().match(/ status /g) ?? []).length;
  const before = count();
  server.proc.kill('SIGUSR1');
  const deadline = Date.now() + 5000;
  while (count() <= before) {
    if (Date.now() > deadline) throw new Error(`no status line: ${server.stderr().slice(-500)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const line = server.stderr().split('\n').filter((l) => l.includes(' status '))[before]!;
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

/** One of our DTLS clients on its own UDP socket, pumped by a timer. */
class Conn {
  readonly client: DtlsClient;
  readonly received: Uint8Array[] = [];
  readonly echoes: string[] = [];
  hvr = false;
  established = false;
  closed = false;
  private sock!: Socket;
  private timer?: NodeJS.Timeout;
  private readonly t0 = Date.now();
  /** Only the first `limit` datagrams of ours go out; the rest are held (the test sends them its own way, or never). */
  limit = Infinity;
  sent = 0;
  held: Uint8Array[] = [];

  constructor(readonly name: string, readonly port: number, ca: Uint8Array) {
    this.client = new DtlsClient(
      { crypto: nodeCrypto, random: seededRandom(name, sha), clock: () => Date.now(), serverName: 'localhost', alpn: ['echo'], ca: [ca] },
      { host: '127.0.0.1', port },
      0,
    );
  }

  private now = () => Date.now() - this.t0;

  async open(): Promise<this> {
    this.sock = await new Promise<Socket>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(s));
    });
    this.sock.on('message', (b, r) => {
      this.received.push(new Uint8Array(b));
      this.client.receiveDatagram(new Uint8Array(b), { host: r.address, port: r.port }, this.now());
      this.pump();
    });
    this.timer = setInterval(() => {
      const due = this.client.nextTimeout();
      if (due !== undefined && due <= this.now()) this.client.handleTimeout(this.now());
      this.pump();
    }, 5);
    return this;
  }

  pump(): void {
    for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) {
      if (e.type === 'hello-verify-request') this.hvr = true;
      else if (e.type === 'handshake-complete') this.established = true;
      else if (e.type === 'data') this.echoes.push(new TextDecoder().decode(e.data));
      else if (e.type === 'closed') this.closed = true;
    }
    for (const d of this.client.pollDatagrams(this.now())) {
      if (this.sent >= this.limit) this.held.push(d.data);
      else {
        this.sent++;
        this.sock.send(d.data, this.port, '127.0.0.1');
      }
    }
  }

  sendRaw(d: Uint8Array, sock: Socket = this.sock): void {
    sock.send(d, this.port, '127.0.0.1');
  }

  send(text: string): void {
    this.client.send(new TextEncoder().encode(text));
    this.pump();
  }

  close(): void {
    this.client.close();
    this.pump();
    clearInterval(this.timer);
    setTimeout(() => this.sock.close(), 50);
  }
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function start(bin: string, extra: string[] = []): Promise<{ server: Peer; port: number; ca: Uint8Array }> {
  const certs = writeRunCerts(mkdtempSync(join(tmpdir(), 'crosswire-ossl-dtls-')));
  const port = await freeUdpPort();
  const server = spawnPeer(bin, ['--host', '127.0.0.1', '--port', String(port), '--cert', certs.cert, '--key', certs.key, '--alpn', 'echo', ...extra]);
  await server.waitFor(/listening on udp port \d+/);
  return { server, port, ca: pemDecode(readFileSync(certs.ca, 'utf8'))[0]! };
}

async function stop(server: Peer): Promise<void> {
  server.proc.kill('SIGTERM');
  expect(await server.exited).toBe(0);
}

for (const b of builds) {
  test(`ossl-dtls-server (${b.peer}): cookie-less ClientHellos from 40 ports draw 40 HelloVerifyRequests and leave no client; a cookie works only from its own address`, async () => {
    const bin = b.bin();
    requireBuild(b.peer, bin);
    const { server, port, ca } = await start(bin);
    try {
      expect(server.stderr()).toMatch(b.version);
      const conns = await Promise.all(Array.from({ length: 40 }, (_, i) => new Conn(`hello-${i}`, port, ca)).map((c) => c.open()));
      // Each sends only its first ClientHello: the engine's next datagram (with the cookie) is held back.
      for (const c of conns) {
        c.limit = 1;
        c.pump();
      }
      await until(() => conns.every((c) => c.hvr), 'a HelloVerifyRequest on every socket');
      for (const c of conns) {
        expect(c.received.every((d) => label(d) === 'HelloVerifyRequest'), c.name).toBe(true);
      }
      let s = await status(server);
      expect(s).toMatchObject({ clients: 0, accepted: 0, hvr: 40 });
      // The ClientHello with conns[0]'s cookie, sent from conns[1]'s address: not accepted, another HelloVerifyRequest.
      await until(() => conns[0]!.held.length > 0, 'the ClientHello with the cookie');
      const withCookie = conns[0]!.held[0]!;
      const before = conns[1]!.received.length;
      conns[1]!.sendRaw(withCookie);
      await until(() => conns[1]!.received.length > before, 'an answer to the stolen cookie');
      expect(label(conns[1]!.received.at(-1)!)).toBe('HelloVerifyRequest');
      s = await status(server);
      expect(s).toMatchObject({ clients: 0, accepted: 0, hvr: 41 });
      // From its own address the same datagram is accepted: one client, and the handshake goes on.
      conns[0]!.limit = Infinity;
      conns[0]!.sendRaw(withCookie);
      await until(() => conns[0]!.established, 'the handshake of the client with its own cookie');
      s = await status(server);
      expect(s).toMatchObject({ clients: 1, established: 1, accepted: 1, completed: 1 });
      for (const c of conns) c.close();
    } finally {
      await stop(server);
    }
  });

  test(`ossl-dtls-server (${b.peer}): two clients handshake side by side and are echoed in turns on one socket; one closing leaves the other served`, async () => {
    const bin = b.bin();
    requireBuild(b.peer, bin);
    const { server, port, ca } = await start(bin);
    try {
      const a = await new Conn('two-a', port, ca).open();
      const c = await new Conn('two-b', port, ca).open();
      a.pump();
      c.pump();
      await until(() => a.established && c.established, 'both handshakes');
      expect(a.hvr && c.hvr).toBe(true);
      expect(await status(server)).toMatchObject({ clients: 2, established: 2, handshaking: 0, accepted: 2 });
      for (let i = 0; i < 3; i++) {
        a.send(`a${i}`);
        c.send(`b${i}`);
        await until(() => a.echoes.length === i + 1 && c.echoes.length === i + 1, `echo round ${i}`);
      }
      expect(a.echoes).toEqual(['a0', 'a1', 'a2']);
      expect(c.echoes).toEqual(['b0', 'b1', 'b2']);
      a.close();
      await until(() => /end 127\.0\.0\.1:\d+: close_notify/.test(server.stderr()), 'the server ending the closed client');
      expect(await status(server)).toMatchObject({ clients: 1, established: 1, closed: 1 });
      c.send('after');
      await until(() => c.echoes.length === 4, 'an echo after the other client closed');
      expect(c.echoes[3]).toBe('after');
      c.close();
    } finally {
      await stop(server);
    }
  });

  test(`ossl-dtls-server (${b.peer}): a handshake that stops after the cookie is freed by the handshake timeout, and the server still serves`, async () => {
    const bin = b.bin();
    requireBuild(b.peer, bin);
    const { server, port, ca } = await start(bin, ['--handshake-timeout', '0.5']);
    try {
      const stall = await new Conn('stall', port, ca).open();
      // Both ClientHellos go out, our second flight is held back: the server's flight after the cookie stays unanswered.
      stall.limit = 2;
      stall.pump();
      await until(() => stall.received.some((d) => label(d).includes('ServerHello')), 'the server flight');
      expect(await status(server)).toMatchObject({ clients: 1, handshaking: 1 });
      await until(() => /end 127\.0\.0\.1:\d+: handshake timeout/.test(server.stderr()), 'the handshake timeout', 5000);
      expect(await status(server)).toMatchObject({ clients: 0, timedout: 1 });
      const fresh = await new Conn('fresh', port, ca).open();
      fresh.pump();
      await until(() => fresh.established, 'a handshake after the timeout');
      fresh.close();
      stall.close();
    } finally {
      await stop(server);
    }
  });

  test(`ossl-dtls-server (${b.peer}): at --max-clients 2 a new client pushes out the oldest unfinished handshake, never an established one (then it is refused)`, async () => {
    const bin = b.bin();
    requireBuild(b.peer, bin);
    const { server, port, ca } = await start(bin, ['--max-clients', '2']);
    try {
      // Two handshakes stopped after the server's flight (our second flight held back), the first one older.
      const stalled: Conn[] = [];
      for (const name of ['old', 'young']) {
        const c = await new Conn(`bounded-${name}`, port, ca).open();
        c.limit = 2;
        c.pump();
        await until(() => c.received.some((d) => label(d).includes('ServerHello')), `the server flight to ${name}`);
        stalled.push(c);
      }
      expect(await status(server)).toMatchObject({ clients: 2, handshaking: 2 });
      const a = await new Conn('bounded-a', port, ca).open();
      a.pump();
      await until(() => a.established, 'a third handshake at the limit');
      let s = await status(server);
      expect(s).toMatchObject({ clients: 2, handshaking: 1, established: 1, evicted: 1, refused: 0 });
      // The older one went: its held second flight now draws no answer; the younger one's still completes.
      const [older, younger] = stalled as [Conn, Conn];
      expect(older.held.length).toBeGreaterThan(0);
      const heard = older.received.length;
      for (const d of older.held) older.sendRaw(d);
      younger.limit = Infinity;
      for (const d of younger.held) younger.sendRaw(d);
      await until(() => younger.established, 'the younger stalled handshake, resumed');
      await new Promise((r) => setTimeout(r, 300));
      expect(older.received.length).toBe(heard);
      expect(older.established).toBe(false);
      expect(server.stderr()).toMatch(/end 127\.0\.0\.1:\d+: evicted for a new client \(too many handshakes\) \(handshake, clients=1\)/);
      s = await status(server);
      expect(s).toMatchObject({ clients: 2, handshaking: 0, established: 2, evicted: 1 });
      // Both slots established: a fourth client gets its cookie exchange but is refused, and the two are still served.
      const refused = await new Conn('bounded-refused', port, ca).open();
      refused.pump();
      await until(() => /refused 127\.0\.0\.1:\d+: 2 established clients/.test(server.stderr()), 'the refusal');
      expect(refused.hvr).toBe(true);
      expect(refused.established).toBe(false);
      s = await status(server);
      expect(s).toMatchObject({ clients: 2, established: 2, refused: 1 });
      a.send('still');
      younger.send('here');
      await until(() => a.echoes.length === 1 && younger.echoes.length === 1, 'echoes at the limit');
      for (const c of [...stalled, a, refused]) c.close();
    } finally {
      await stop(server);
    }
  });
}
