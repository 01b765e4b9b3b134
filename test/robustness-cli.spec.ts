// Client commands against peers that never answer (issue 14 item 12): a closed UDP port fails at once (connected
// sockets surface ICMP port unreachable), and a peer that swallows everything ends at --timeout (default 30 s) with
// one line naming the address tried, for connect quic/tls/dtls and get (QUIC and --tcp). A new user's list (items
// 18, 20–23): wrong packet kinds, serve dtls key/cert and --root, flags a protocol does not use, bad URLs and ports,
// seeds, --help and -h. Runs the built CLI (dist/).

import { test, expect } from '@playwright/test';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePki } from './helpers/pki.js';
import { freeUdpPort, runCli, spawnPeer } from './helpers/proc.js';
import { getCommand } from '../interop/commands/get.js';
import { connectCommand } from '../interop/commands/connect.js';
import { serveCommand } from '../interop/commands/serve.js';
import { runCommandModule } from '../interop/commands/run.js';
import { replayCommand } from '../interop/commands/replay.js';
import { fuzzCommand } from '../interop/commands/fuzz.js';
import { fuzzWireCommand } from '../interop/commands/fuzz-wire.js';
import { peersCommand } from '../interop/commands/peers.js';
import { reportCommand } from '../interop/commands/report.js';
import { mergeCommand } from '../interop/commands/merge.js';

test.describe.configure({ timeout: 120_000 });

function udpHole(): Promise<{ socket: Socket; port: number; received: () => number }> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    let n = 0;
    socket.on('message', () => n++);
    socket.bind(0, '127.0.0.1', () => resolve({ socket, port: socket.address().port, received: () => n }));
  });
}

/** A TCP server that accepts connections and never writes a byte. */
function tcpHole(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.on('error', () => {}));
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

const lines = (stderr: string) => stderr.trim().split('\n');

test('connect dtls:// to a closed port fails at once, exit 1, naming the address (not after the handshake timeout)', async () => {
  const port = await freeUdpPort();
  // --timeout 100 and a 60 s limit on the process: only the ICMP path can end it in time.
  const r = await runCli(['connect', `dtls://127.0.0.1:${port}`, '--insecure', '--timeout', '100'], { timeoutMs: 60_000 });
  expect(r.code).toBe(1);
  expect(lines(r.stderr)).toEqual([`crosswire: nothing listens on udp 127.0.0.1:${port} (ICMP port unreachable)`]);
});

for (const [scheme, what] of [
  ['dtls', 'no DTLS handshake with'],
  ['quic', 'no QUIC handshake with'],
] as const) {
  test(`connect ${scheme}:// to a peer that swallows every datagram ends at --timeout with one line naming the address`, async () => {
    const hole = await udpHole();
    try {
      const r = await runCli(['connect', `${scheme}://127.0.0.1:${hole.port}`, '--insecure', '--timeout', '1.5'], { timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toEqual([`crosswire: ${what} udp 127.0.0.1:${hole.port} within 1.5s (--timeout)`]);
      expect(hole.received()).toBeGreaterThan(0);
    } finally {
      hole.socket.close();
    }
  });
}

test('connect dtls:// by name to a silent peer names the address tried and the name', async () => {
  const hole = await udpHole();
  try {
    const r = await runCli(['connect', `dtls://localhost:${hole.port}`, '--insecure', '--timeout', '1'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    // localhost may also resolve to ::1, where nothing listens: the client moves on to 127.0.0.1 and waits there.
    expect(lines(r.stderr).at(-1)).toBe(`crosswire: no DTLS handshake with udp 127.0.0.1:${hole.port} (localhost) within 1s (--timeout)`);
  } finally {
    hole.socket.close();
  }
});

test('connect tls:// and get --tcp to a server that accepts and never answers end at --timeout naming the address', async () => {
  const { server, port } = await tcpHole();
  try {
    const c = await runCli(['connect', `tls://127.0.0.1:${port}`, '--insecure', '--timeout', '1'], { timeoutMs: 60_000 });
    expect(c.code).toBe(1);
    expect(lines(c.stderr)).toEqual([`crosswire: no TLS handshake with tcp 127.0.0.1:${port} within 1s (--timeout)`]);
    const g = await runCli(['get', `https://127.0.0.1:${port}/x`, '--tcp', '--insecure', '--timeout', '1'], { timeoutMs: 60_000 });
    expect(g.code).toBe(1);
    expect(lines(g.stderr)).toEqual([`crosswire: no complete response from tcp 127.0.0.1:${port} within 1s (--timeout)`]);
  } finally {
    server.close();
  }
});

test('get over QUIC to a peer that swallows every datagram ends at --timeout naming the address', async () => {
  const hole = await udpHole();
  try {
    const r = await runCli(['get', `https://127.0.0.1:${hole.port}/x`, '--ca', makePki().ca, '--timeout', '1'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([`crosswire: no complete response from udp 127.0.0.1:${hole.port} within 1s (--timeout)`]);
  } finally {
    hole.socket.close();
  }
});

test('--timeout must be a number of seconds ≥ 0: anything else is a usage error (exit 2); the help states the default', async () => {
  for (const args of [
    ['connect', 'dtls://127.0.0.1:9', '--timeout', '-1'],
    ['get', 'https://127.0.0.1:9/x', '--tcp', '--timeout', '-5'],
    ['get', 'https://127.0.0.1:9/x', '--timeout', 'soon'],
  ]) {
    const r = await runCli(args, { timeoutMs: 30_000 });
    expect(r.code, args.join(' ')).toBe(2);
    expect(lines(r.stderr).at(-1)).toMatch(/--timeout must be a number of seconds/);
  }
  for (const cmd of ['connect', 'get']) {
    const h = await runCli([cmd, '--help'], { timeoutMs: 30_000 });
    expect(h.stdout.toString().replace(/\s+/g, ' ')).toMatch(/--timeout .*default 30/);
  }
});

// ---- a new user's list (issue 14 items 18, 20–23)

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-cli-'));

test('a scenario with a packet kind the simulator does not know is file:line:col, exit 2 (item 18)', async () => {
  const dir = tmp();
  const file = join(dir, 'dtls-filter.yaml');
  writeFileSync(file, 'name: d\nprotocol: dtls\nnetwork:\n  to-client:\n    - droplist: [1]\n      only: [dtls-helloverifyrequest]\n');
  const r = await runCli(['run', file, '--out', join(dir, 'out')], { timeoutMs: 60_000 });
  expect(r.code).toBe(2);
  expect(lines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`^${file.replace(/[.]/g, '\\.')}:6:\\d+: network\\.to-client\\[0\\]\\.only\\[0\\] must be one of: .*hello-verify-request`))]);
  // The classifier's name runs, and the filter drops the HelloVerifyRequest: the client sends its first ClientHello again.
  writeFileSync(file, 'name: d\nprotocol: dtls\nnetwork:\n  to-client:\n    - droplist: [1]\n      only: [hello-verify-request]\nexpect: { handshakes: 1 }\n');
  const ok = await runCli(['run', file, '--out', join(dir, 'ok')], { timeoutMs: 60_000 });
  expect(ok.code, ok.stderr).toBe(0);
});

test('a scenario file that cannot be read has no 0:0 position (item 21)', async () => {
  const r = await runCli(['run', '/nonexistent/x.yaml', '--out', join(tmp(), 'out')], { timeoutMs: 30_000 });
  expect(r.code).toBe(2);
  expect(r.stderr).not.toContain(':0:0');
  expect(lines(r.stderr).at(-1)).toMatch(/^\/nonexistent\/x\.yaml: cannot read: ENOENT/);
});

test('serve dtls: a key that does not belong to the certificate is exit 2 before binding (item 20)', async () => {
  const pki = makePki();
  const r = await runCli(['serve', 'dtls://127.0.0.1:0', '--cert', pki.leaf.ec.cert, '--key', pki.leaf.rsa.key, '--echo'], { timeoutMs: 30_000 });
  expect(r.code).toBe(2);
  expect(lines(r.stderr)).toEqual([`crosswire: the key in ${pki.leaf.rsa.key} does not belong to the certificate in ${pki.leaf.ec.cert}`]);
});

test('serve dtls --root serves files: an HTTP/1.1 GET over DTLS gets the file, then close_notify (item 20)', async () => {
  const pki = makePki();
  const root = tmp();
  writeFileSync(join(root, 'hello.txt'), 'hello over dtls\n');
  const port = await freeUdpPort();
  const server = spawnPeer(process.execPath, ['bin/crosswire.js', 'serve', `dtls://127.0.0.1:${port}`, '--cert', pki.leaf.ec.cert, '--key', pki.leaf.ec.key, '--root', root]);
  try {
    await server.waitFor(/listening on/);
    const get = await runCli(['connect', `dtls://127.0.0.1:${port}`, '--ca', pki.ca, '--servername', 'localhost'].filter(Boolean), { input: 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n', timeoutMs: 30_000 });
    const out = get.stdout.toString();
    expect(out, get.stderr).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).toMatch(/\r\n\r\nhello over dtls\n$/);
    const missing = await runCli(['connect', `dtls://127.0.0.1:${port}`, '--ca', pki.ca, '--servername', 'localhost'], { input: 'GET /../etc/passwd HTTP/1.1\r\n\r\n', timeoutMs: 30_000 });
    expect(missing.stdout.toString()).toMatch(/^HTTP\/1\.1 404 Not Found/);
  } finally {
    await server.kill();
  }
  const bad = await runCli(['serve', 'dtls://127.0.0.1:0', '--cert', pki.leaf.ec.cert, '--key', pki.leaf.ec.key, '--root', '/nonexistent/www'], { timeoutMs: 30_000 });
  expect(bad.code).toBe(2);
  expect(lines(bad.stderr)).toEqual(['crosswire: --root /nonexistent/www is not a readable directory']);
});

test('undeclared flags and flags the protocol does not use are refused with exit 2 (item 20)', async () => {
  const pki = makePki();
  const base = ['--cert', pki.leaf.ec.cert, '--key', pki.leaf.ec.key, '--echo'];
  for (const [args, msg] of [
    [['serve', 'dtls://127.0.0.1:0', ...base, '--bogus'], 'crosswire: Unknown argument: bogus'],
    [['serve', 'dtls://127.0.0.1:0', ...base, '--qlog', '/tmp/q'], 'crosswire: --qlog does not apply to dtls:// (quic only)'],
    [['serve', 'dtls://127.0.0.1:0', ...base, '--retry'], 'crosswire: --retry does not apply to dtls:// (quic only)'],
    [['serve', 'tls://127.0.0.1:0', ...base, '--key-update', '5'], 'crosswire: --key-update does not apply to tls:// (quic only)'],
    [['get', 'https://127.0.0.1:9/x', '--bogus'], 'crosswire: Unknown argument: bogus'],
    [['fuzz-wire', 'dtls', '--role', 'server', '--bogus'], 'crosswire: Unknown argument: bogus'],
  ] as const) {
    const r = await runCli([...args], { timeoutMs: 30_000 });
    expect(r.code, args.join(' ')).toBe(2);
    expect(lines(r.stderr), args.join(' ')).toEqual([msg]);
  }
});

test('bad URLs and ports are usage errors (exit 2) naming the URL, never an internal error (item 21)', async () => {
  for (const [args, msg] of [
    [['get', 'https://127.0.0.1:0/x'], /^crosswire: port 0 in https:\/\/127\.0\.0\.1:0\/x: a client needs a port from 1 to 65535$/],
    [['get', 'https://127.0.0.1:99999/x'], /^crosswire: port 99999 out of range in https:\/\/127\.0\.0\.1:99999\/x \(1 to 65535\)$/],
    [['connect', 'quic://127.0.0.1:0', '--insecure'], /^crosswire: port 0 in quic:\/\/127\.0\.0\.1:0: a client needs a port/],
    [['connect', 'dtls://[::1:4433', '--insecure'], /^crosswire: not a URL: dtls:\/\/\[::1:4433 \(expected /],
    [['connect', 'ftp://127.0.0.1:21'], /^crosswire: unsupported scheme ftp:\/\//],
    [['serve', 'quic://127.0.0.1:70000', '--cert', 'x', '--key', 'y', '--echo'], /^crosswire: port 70000 out of range/],
    [['get', 'not a url'], /^crosswire: not a URL: not a url \(expected https:\/\/host:port\)$/],
  ] as const) {
    const r = await runCli([...args], { timeoutMs: 30_000 });
    expect(r.code, args.join(' ')).toBe(2);
    expect(lines(r.stderr), args.join(' ')).toEqual([expect.stringMatching(msg)]);
  }
});

test('--seed and --from take integers from 0 to 2^53 only: negative, fractional, past 2^53 are exit 2 (item 22)', async () => {
  const dir = tmp();
  let n = 0;
  for (const [args, flag] of [
    [['run', 'scenarios/quic/handshake.yaml', '--seed', '-1'], '--seed'],
    [['run', 'scenarios/quic/handshake.yaml', '--seed', '1.5'], '--seed'],
    [['run', 'scenarios/quic/handshake.yaml', '--seed', '9007199254740993'], '--seed'],
    [['run', 'scenarios/quic/handshake.yaml', '--seed', '1e3'], '--seed'],
    [['fuzz', 'scenarios/quic/handshake.yaml', '--seeds', '2', '--from', '-5'], '--from'],
    [['fuzz-wire', 'dtls', '--role', 'server', '--seed', '18014398509481984'], '--seed'],
  ] as const) {
    const r = await runCli([...args, '--out', join(dir, String(n++))], { timeoutMs: 30_000 });
    expect(r.code, args.join(' ')).toBe(2);
    expect(lines(r.stderr), args.join(' ')).toEqual([expect.stringMatching(new RegExp(`^crosswire: ${flag} must be an integer from 0 to 2\\^53 \\(9007199254740992\\), not `))]);
  }
  // 2^53 itself is a seed.
  const edge = await runCli(['run', 'scenarios/quic/handshake.yaml', '--seed', '9007199254740992', '--out', join(dir, 'edge')], { timeoutMs: 60_000 });
  expect(edge.code, edge.stderr).toBe(0);
});

const DESCRIBE: Record<string, string> = Object.fromEntries(
  [getCommand, connectCommand, serveCommand, runCommandModule, replayCommand, fuzzCommand, fuzzWireCommand, peersCommand, reportCommand, mergeCommand].map((m) => [String(m.command).split(' ')[0], String(m.describe)]),
);

test('--help and -h for every command, with examples, wrapped at word boundaries (item 23)', async () => {
  const commands = ['get', 'connect', 'serve', 'run', 'replay', 'fuzz', 'fuzz-wire', 'peers', 'report', 'merge'];
  const top = await runCli(['-h'], { timeoutMs: 30_000 });
  expect(top.code).toBe(0);
  for (const c of commands) expect(top.stdout.toString()).toContain(`crosswire ${c}`);
  for (const c of commands) {
    for (const flag of ['--help', '-h']) {
      const r = await runCli([c, flag], { timeoutMs: 30_000 });
      const text = r.stdout.toString();
      expect(r.code, `${c} ${flag}`).toBe(0);
      expect(text, `${c} ${flag}`).toMatch(/\nExamples:\n {2}crosswire /);
      // Wrapped at word boundaries: with line breaks and indentation collapsed, the description reads as written
      // (a cut inside a word would leave a space in it).
      expect(text.replace(/\s+/g, ' '), `${c} ${flag}`).toContain(DESCRIBE[c]!.replace(/\s+/g, ' '));
    }
  }
  // The case the old help broke: "TLS 1.3 over TCP" cut as "ov" / "er".
  expect(top.stdout.toString().replace(/\s+/g, ' ')).toContain('TLS 1.3 over TCP');
});
