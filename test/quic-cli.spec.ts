// The QUIC command line against itself over loopback UDP: `crosswire serve quic://` + `crosswire get` agree on h3 and
// hq-interop in QUIC v1 and v2 with compatible version upgrade (RFC 9000, RFC 9369, RFC 9368), the server respects the 3×
// anti-amplification limit (RFC 9000 §8.1) toward an address that never answers, and errors exit with the
// documented codes (DESIGN.md §5). Needs the built CLI (npm run build).

import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { makePki } from './helpers/pki.js';
import { freeUdpPort, runCli } from './helpers/proc.js';
import { makeTestFiles, readQlogDir, serveQuic, tempDir, type TestFiles } from './helpers/ngtcp2.js';

let files: TestFiles;

test.describe.configure({ timeout: 300_000 });

test.beforeAll(() => {
  files = makeTestFiles({ 'small.bin': '1KB', 'medium.bin': '2MB' });
});
test.afterAll(() => rmSync(files.dir, { recursive: true, force: true }));

const serve = (extra: string[] = []) => serveQuic(files.dir, extra);

// The 50 MB self↔self matrix (h3/hq-interop × v1/v2) is test/quic-cli-bulk.spec.ts.

function bindLoopback(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/** The first datagram `crosswire get` sends: a real client Initial (with padding), captured on a socket we own. */
async function captureClientInitial(): Promise<Uint8Array> {
  const pki = makePki();
  const trap = await bindLoopback();
  const first = new Promise<Uint8Array>((resolve) => trap.once('message', (m) => resolve(new Uint8Array(m))));
  const client = runCli(['get', `https://localhost:${trap.address().port}/small.bin`, '--ca', pki.ca, '--timeout', '3', '--out', '/dev/null'], { timeoutMs: 30_000 });
  const initial = await first;
  trap.close();
  await client;
  return initial;
}

test('our server never sends more than 3× what an unvalidated address sent (one Initial, then silence)', async () => {
  const initial = await captureClientInitial();
  expect(initial.length).toBeGreaterThanOrEqual(1200);
  expect(initial[0]! & 0xf0).toBe(0xc0); // long header, Initial (v1)
  const { peer, port } = await serve();
  const raw = await bindLoopback();
  let sentToUs = 0;
  let datagrams = 0;
  raw.on('message', (m) => {
    sentToUs += m.length;
    datagrams++;
  });
  try {
    raw.send(initial, port, '127.0.0.1');
    // Long enough for several PTO rounds (the first PTO is about 1 s for a fresh path, then doubling).
    await new Promise((r) => setTimeout(r, 7000));
    expect(datagrams).toBeGreaterThan(0); // it did answer: the limit caps the answer, not the server
    expect(sentToUs).toBeLessThanOrEqual(3 * initial.length);
  } finally {
    raw.close();
    await peer.kill();
  }
});

test('get: a port where nothing listens exits 1 with a one-line reason', async () => {
  const pki = makePki();
  const port = await freeUdpPort();
  const r = await runCli(['get', `https://127.0.0.1:${port}/x`, '--ca', pki.ca, '--timeout', '20'], { timeoutMs: 60_000 });
  expect(r.code).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^crosswire: nothing listens on udp 127\\.0\\.0\\.1:${port}`));
});

test('get: a peer that swallows every datagram ends at --timeout with exit 1 and one line', async () => {
  const pki = makePki();
  const hole = await bindLoopback();
  let swallowed = 0;
  hole.on('message', () => swallowed++);
  try {
    const r = await runCli(['get', `https://127.0.0.1:${hole.address().port}/x`, '--ca', pki.ca, '--timeout', '3'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`crosswire: no complete response from udp 127.0.0.1:${hole.address().port} within 3s (--timeout)`]);
    expect(swallowed).toBeGreaterThan(1); // the client did try, and retransmitted its Initial
  } finally {
    hole.close();
  }
});

test('get: a missing file is exit 1 with the reason (404 over h3, a stream reset over hq-interop)', async () => {
  const pki = makePki();
  const { peer, port } = await serve();
  try {
    for (const alpn of ['h3', 'hq-interop']) {
      const r = await runCli(['get', `https://localhost:${port}/no-such-file`, '--ca', pki.ca, '--alpn', alpn]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      // hq-interop has no status line: the server resets the stream instead.
      expect(r.stderr).toMatch(alpn === 'h3' ? /request failed: HTTP status 404/ : /request failed: stream reset by the server/);
      expect(r.stdout.length).toBe(0);
    }
  } finally {
    await peer.kill();
  }
});

test('get: an unknown flag is a usage error (exit 2)', async () => {
  const r = await runCli(['get', 'https://127.0.0.1:4433/', '--no-such-flag']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/Unknown argument/);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
});

test('get: a certificate for another name exits 1 naming bad_certificate', async () => {
  const pki = makePki();
  const { peer, port } = await serve();
  try {
    const r = await runCli(['get', `https://127.0.0.1:${port}/small.bin`, '--servername', 'wrong.example', '--ca', pki.ca, '--out', '/dev/null'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/TLS alert bad_certificate.*wrong\.example/);
    // The alert reached the server as the client's CONNECTION_CLOSE.
    await peer.waitFor(/closing: peer closed the connection: TLS alert bad_certificate/, 10_000);
  } finally {
    await peer.kill();
  }
});

test('get: 1 KB over h3 and hq-interop from a v2-preferring server: v2 clients stay, v1 clients upgrade', async () => {
  const pki = makePki();
  // A server preferring v2 serves a v2 client in v2 and upgrades a v1 client to v2 (RFC 9368 §2.3 compatible negotiation).
  const { peer, port } = await serve(['--quic-version', '2']);
  try {
    for (const alpn of ['h3', 'hq-interop']) {
      for (const v of ['1', '2']) {
        const r = await runCli(['get', `https://localhost:${port}/small.bin`, '--ca', pki.ca, '--alpn', alpn, '--quic-version', v, '-v']);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain(`connecting to 127.0.0.1:${port} over v${v}, ALPN ${alpn}`);
        if (v === '1') expect(r.stderr).toContain('version changed to v2 (compatible-upgrade)');
        expect(r.stderr).toContain(`handshake complete: v2, ALPN ${alpn}`);
        expect(createHash('sha256').update(r.stdout).digest('hex')).toBe(files.sha256('small.bin'));
      }
    }
  } finally {
    await peer.kill();
  }
});

test('--cc bbr on both ends: 2 MB over loopback intact; an unknown controller is a usage error', async () => {
  const pki = makePki();
  const { peer, port } = await serve(['--cc', 'bbr']);
  try {
    const r = await runCli(['get', `https://localhost:${port}/medium.bin`, '--ca', pki.ca, '--cc', 'bbr']);
    expect(r.code, r.stderr).toBe(0);
    expect(createHash('sha256').update(r.stdout).digest('hex')).toBe(files.sha256('medium.bin'));
  } finally {
    await peer.kill();
  }
  const bad = await runCli(['get', 'https://localhost:1/small.bin', '--cc', 'vegas']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/cc/);
});

test('--max-datagram-size 16384 on both ends: each side advertises it and PMTU discovery climbs to it over loopback, file intact', async () => {
  // Loopback carries 64 KiB datagrams. Without advertising max_udp_payload_size ≥ the flag, the peer's 1472 default
  // would cap our search; this is what lets a loopback transfer use a twelfth of the datagrams (bench/quic-throughput.ts).
  const pki = makePki();
  const qlogDir = tempDir('crosswire-qlog-');
  const { peer, port } = await serve(['--max-datagram-size', '16384', '--qlog', qlogDir]);
  try {
    const r = await runCli(['get', `https://localhost:${port}/medium.bin`, '--ca', pki.ca, '--max-datagram-size', '16384', '--qlog', qlogDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(createHash('sha256').update(r.stdout).digest('hex')).toBe(files.sha256('medium.bin'));
  } finally {
    await peer.kill();
  }
  const records = readQlogDir(qlogDir);
  rmSync(qlogDir, { recursive: true, force: true });
  const remote = records.filter((x) => x.name === 'transport:parameters_set' && x.data.owner === 'remote');
  expect(remote.length).toBe(2); // one per side
  for (const p of remote) expect(p.data.max_udp_payload_size).toBe(16384);
  const mtu = records.filter((x) => x.name === 'connectivity:mtu_updated').map((x) => x.data.new as number);
  expect(Math.max(...mtu)).toBe(16384);
  const sent = records.filter((x) => x.name === 'transport:packet_sent').map((x) => x.data.raw?.length as number);
  expect(sent.filter((n) => n > 8000).length).toBeGreaterThan(100); // 2 MB went mostly in jumbo datagrams
});
