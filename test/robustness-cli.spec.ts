// Client commands against peers that never answer (issue 14 item 12): a closed UDP port fails at once (connected
// sockets surface ICMP port unreachable), and a peer that swallows everything ends at --timeout (default 30 s) with
// one line naming the address tried, for connect quic/tls/dtls and get (QUIC and --tcp). Runs the built CLI (dist/).

import { test, expect } from '@playwright/test';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { makePki } from './helpers/pki.js';
import { freeUdpPort, runCli } from './helpers/proc.js';

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
