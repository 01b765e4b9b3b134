import { test, expect } from '@playwright/test';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { latenessSummary, startRelay, type Relay, type RelayOptions } from '../simulator/relay.js';
// The thread relay loads its worker as JavaScript, so the test uses the build.
import { startRelayThread } from '../dist/simulator/relay-thread.js';
import { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import { ScriptedEndpoint } from '../simulator/testing/fake-endpoints.js';
import { quicShort } from '../simulator/testing/packets.js';
import type { NetworkConfig } from '../simulator/network.js';
import { freeUdpPort, requireBinary, spawnPeer } from './helpers/proc.js';
import { makePki } from './helpers/pki.js';

function bound(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/** Resolves once `count()` has not changed for `quietMs`. */
async function settle(count: () => number, quietMs = 300): Promise<void> {
  let last = -1;
  while (last !== count()) {
    last = count();
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

const numbered = (i: number) => {
  const b = quicShort(120);
  new DataView(b.buffer).setUint32(1, i);
  return b;
};
const numberOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(1);

async function relayRun(seed: string, network: NetworkConfig, n: number, start: (o: RelayOptions) => Promise<Relay> = startRelay, capture = false) {
  const server = await bound();
  const client = await bound();
  const atServer: number[] = [];
  const atClient: number[] = [];
  server.on('message', (m, r) => {
    atServer.push(numberOf(new Uint8Array(m)));
    server.send(m, r.port, r.address); // echo
  });
  client.on('message', (m) => atClient.push(numberOf(new Uint8Array(m))));
  const relay = await start({ target: { host: '127.0.0.1', port: server.address().port }, network, seed, protocol: 'quic', capture });
  try {
    for (let i = 1; i <= n; i++) {
      client.send(numbered(i), relay.port, '127.0.0.1');
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5)); // stay well inside socket buffers
    }
    await settle(() => atServer.length + atClient.length);
  } finally {
    await relay.stop();
    server.close();
    client.close();
  }
  return { relay, atServer, atClient };
}

test('relay: scripted dgram sockets through seeded loss; fates by index match the virtual-time simulator', async () => {
  const network: NetworkConfig = { 'to-server': [{ loss: { rate: 0.3 } }], 'to-client': [{ loss: { rate: 0.2 } }, { duplicate: { rate: 0.1 } }] };
  const a = await relayRun('relay-seed', network, 200);
  const dropped = (entries: ReturnType<typeof a.relay.trace>) => entries.filter((e) => e.direction === 'to-server' && e.fate === 'dropped-by-loss').map((e) => e.index);
  const lost = dropped(a.relay.trace());
  expect(lost.length).toBeGreaterThan(30);
  expect(lost.length).toBeLessThan(90);
  // The server got exactly the datagrams the relay did not drop, in order.
  expect(a.atServer).toEqual(Array.from({ length: 200 }, (_, i) => i + 1).filter((i) => !lost.includes(i)));
  // Echoes: each delivered to-client datagram (and duplicate) reached the client.
  const toClientArrived = a.relay.trace().filter((e) => e.direction === 'to-client' && e.arrivedAt !== undefined).length;
  expect(a.atClient).toHaveLength(toClientArrived);
  expect(a.relay.trace().some((e) => e.fate === 'duplicated')).toBe(true);

  // The same seed and network in virtual time draws the same fates for the same indices.
  const sim = simulate(new ScriptedEndpoint(Array.from({ length: 200 }, (_, i) => ({ at: i, data: numbered(i + 1) })), DEFAULT_SERVER_ADDRESS),
    new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS), network, 'relay-seed', { protocol: 'quic' });
  expect(dropped(sim.trace)).toEqual(lost);
  // And a second relay run with the same seed repeats them.
  const b = await relayRun('relay-seed', network, 200);
  expect(dropped(b.relay.trace())).toEqual(lost);
});

test('relay on its own thread: same fates as the in-thread relay, results after stop, capture included', async () => {
  const network: NetworkConfig = { 'to-server': [{ loss: { rate: 0.3 } }], 'to-client': [{ duplicate: { rate: 0.2 } }] };
  const inThread = await relayRun('thread-seed', network, 150);
  const threaded = await relayRun('thread-seed', network, 150, (o) => startRelayThread(o), true);
  // Per direction and index (the interleaving of the two directions is real-time timing, not a fate).
  const fates = (r: Relay) => r.trace().map((e) => `${e.direction} ${e.index} ${e.copy} ${e.fate}`).sort();
  expect(fates(threaded.relay)).toEqual(fates(inThread.relay));
  expect(threaded.atServer).toEqual(inThread.atServer);
  expect(threaded.relay.trace().filter((e) => e.fate === 'dropped-by-loss').length).toBeGreaterThan(20);
  // Every datagram sent (dropped ones included; duplicates are the network's copies) is in the capture, still tied to
  // its own trace entry object after crossing the thread boundary.
  const cap = threaded.relay.capture!.datagrams;
  const trace = threaded.relay.trace();
  expect(cap.length).toBe(trace.filter((e) => e.copy === 0).length);
  expect(cap.every((d) => d.data instanceof Uint8Array && d.entry !== undefined && trace.includes(d.entry) && d.entry.length === d.data.length)).toBe(true);
  expect(threaded.relay.traceText().split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(150);
  expect(threaded.relay.metrics()['relayLateness']).toMatchObject({ timers: expect.any(Number) });

  // Before stop() the results do not exist yet: reading them is an error, not an empty answer.
  const sink = await bound();
  const early = await startRelayThread({ target: { host: '127.0.0.1', port: sink.address().port }, seed: 1, protocol: 'quic' });
  expect(() => early.trace()).toThrow(/once it has stopped/);
  await early.stop();
  expect(early.trace()).toEqual([]);
  sink.close();
});

test('relay: rebinding gives the server a new source port mid-run', async () => {
  const server = await bound();
  const client = await bound();
  const ports: number[] = [];
  let echoed = 0;
  server.on('message', (m, r) => {
    ports.push(r.port);
    server.send(m, r.port, r.address);
  });
  client.on('message', () => echoed++);
  const relay = await startRelay({ target: { host: '127.0.0.1', port: server.address().port }, network: { 'to-server': [{ rebind: { at: [150] } }] }, seed: 1 });
  try {
    for (let i = 1; i <= 10; i++) {
      client.send(numbered(i), relay.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 40));
    }
    await settle(() => echoed);
  } finally {
    await relay.stop();
    server.close();
    client.close();
  }
  expect(new Set(ports).size).toBe(2);
  expect(ports[0]).not.toBe(ports[9]);
  expect(echoed).toBe(10);
});

test('relay: a real ngtcp2 handshake and download through 10% loss each way', async () => {
  const serverBin = requireBinary('/usr/sbin/gtlsserver', 'apt-get install -y ngtcp2-server');
  const clientBin = requireBinary('/usr/bin/gtlsclient', 'apt-get install -y ngtcp2-client');
  const pki = makePki();
  const dir = mkdtempSync(join(tmpdir(), 'crosswire-relay-'));
  const htdocs = join(dir, 'htdocs');
  const download = join(dir, 'download');
  mkdirSync(htdocs);
  mkdirSync(download);
  const body = randomBytes(200_000);
  writeFileSync(join(htdocs, 'file.bin'), body);
  const port = await freeUdpPort();
  const server = spawnPeer(serverBin, ['127.0.0.1', String(port), pki.leaf.ec.key, pki.leaf.ec.cert, '-d', htdocs, '-q']);
  const relay = await startRelay({
    target: { host: '127.0.0.1', port },
    network: { 'to-server': [{ loss: { rate: 0.1 } }], 'to-client': [{ loss: { rate: 0.1 } }] },
    seed: 'ngtcp2',
    protocol: 'quic',
  });
  let client: ReturnType<typeof spawnPeer> | undefined;
  try {
    await new Promise((r) => setTimeout(r, 300)); // gtlsserver prints nothing with -q; give it a moment to bind
    client = spawnPeer(clientBin, ['127.0.0.1', String(relay.port), `https://127.0.0.1:${relay.port}/file.bin`, '--exit-on-all-streams-close', '-q', `--download=${download}`, '--timeout=20s']);
    const code = await client.exited;
    expect(code, client.stderr()).toBe(0);
    expect(Buffer.compare(readFileSync(join(download, 'file.bin')), body)).toBe(0);
  } finally {
    await client?.kill();
    await relay.stop();
    await server.kill();
  }
  const trace = relay.trace();
  for (const dir of ['to-server', 'to-client'] as const) {
    expect(trace.filter((e) => e.direction === dir && e.fate === 'dropped-by-loss').length).toBeGreaterThan(0);
  }
  expect(trace.some((e) => e.kind === 'initial')).toBe(true);
  expect(trace.some((e) => e.kind === '1rtt')).toBe(true);
  const checks = relay.checks();
  expect(checks.find((c) => c.name === 'quic-amplification-limit')!.ok).toBe(true);
  expect(relay.metrics().handshakes).toBe(1);
  expect(relay.metrics().versions).toEqual([1]);
});

test('timer lateness summary: percentiles from the 0.1 ms histogram, and the relay reports it', async () => {
  const h = new Uint32Array(10_001);
  h[0] = 90; // on time
  h[7] = 9; // 0.7 ms late
  h[120] = 1; // 12 ms late
  expect(latenessSummary(h)).toEqual({ timers: 100, p50Ms: 0, p99Ms: 0.7, maxMs: 12 });
  expect(latenessSummary(new Uint32Array(10_001))).toEqual({ timers: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 });
  const relay = await startRelay({ target: { host: '127.0.0.1', port: 9 }, protocol: 'quic', seed: 1 });
  const m = relay.metrics() as { relayLateness?: { timers: number } };
  await relay.stop();
  expect(m.relayLateness?.timers).toBe(0);
});
