import { test, expect } from '@playwright/test';
import { createSocket } from 'node:dgram';
import { baseConfig } from './quic-conn-harness.js';
import type { Address, DatagramEndpoint } from '../engine/endpoint.js';
import { QuicServer } from '../engine/quic/server.js';
import { QuicServerApp } from '../engine/apps/quic-app.js';
import { connectQuic } from '../engine/io/quic-udp.js';
import { bindUdp, monotonicNow, UdpEndpointDriver } from '../engine/io/udp.js';
import { DtlsClient } from '../engine/dtls/index.js';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { systemClock, systemRandom } from '../engine/io/system.js';
import { utf8 } from '../engine/wire/bytes.js';
import { freeUdpPort } from './helpers/proc.js';

/** Counts of live handles by kind (UDPWrap, Timeout, Immediate…): what would keep a process from exiting. */
function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

test('IPv6 loopback: a QUIC echo through the adapter; the server endpoint is told its bound local address for every datagram', async () => {
  const server = new QuicServer({ config: baseConfig('server') });
  const app = new QuicServerApp('echo', monotonicNow);
  const locals: (Address | undefined)[] = [];
  const froms: Address[] = [];
  const spy: DatagramEndpoint = {
    receiveDatagram: (d, from, now, local) => {
      locals.push(local);
      froms.push(from);
      server.receiveDatagram(d, from, now, local);
    },
    pollDatagrams: (now) => server.pollDatagrams(now),
    nextTimeout: () => server.nextTimeout(),
    handleTimeout: (now) => server.handleTimeout(now),
  };
  const serverDriver = await UdpEndpointDriver.open(spy, '::1', 0, { afterInput: () => app.poll(server.connections) });
  const { api: client, runner } = await connectQuic({ host: '::1', port: serverDriver.local.port, config: baseConfig('client') });
  try {
    expect(serverDriver.local.host).toBe('::1');
    await client.handshakeAsync();
    const message = 'over IPv6 ' + 'y'.repeat(30_000);
    await client.writeAsync(utf8.encode(message), true);
    expect(utf8.decode(await client.defaultStreamObject!.readAllAsync())).toBe(message);
    await client.shutdownAsync({});
    expect(locals.length).toBeGreaterThan(5);
    for (const l of locals) expect(l).toEqual(serverDriver.local);
    for (const f of froms) expect(f).toEqual({ host: '::1', port: runner.local.port });
  } finally {
    await runner.close();
    await serverDriver.close();
  }
});

test('opening a UDP port that is already bound rejects with EADDRINUSE', async () => {
  const holder = await bindUdp('127.0.0.1', 0);
  try {
    const server = new QuicServer({ config: baseConfig('server') });
    const err = await UdpEndpointDriver.open(server, '127.0.0.1', holder.address().port).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe('EADDRINUSE');
  } finally {
    holder.close();
  }
});

/** A few event-loop turns: closed handles leave the active list only once libuv has finished closing them. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

test('close() takes the socket and every timer with it, even mid-handshake with timers armed', async () => {
  await settle();
  const before = resources();
  // A client whose server never answers keeps retransmission and idle timers armed until it is closed.
  const silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
  const { api, runner } = await connectQuic({ host: '127.0.0.1', port: silent.address().port, config: baseConfig('client') });
  await new Promise((r) => setTimeout(r, 50));
  expect(api.eventTimeout()).toBeDefined();
  await runner.close();
  await new Promise<void>((r) => silent.close(() => r()));
  await settle();
  const after = resources();
  for (const kind of ['UDPWrap', 'Timeout', 'Immediate']) expect(after.get(kind) ?? 0, kind).toBeLessThanOrEqual(before.get(kind) ?? 0);
});

test('a connected socket reports ICMP port unreachable to onError as ECONNREFUSED (DTLS client to a closed port)', async () => {
  const port = await freeUdpPort();
  const client = new DtlsClient({ crypto: nobleCrypto, random: systemRandom, clock: systemClock, serverName: 'localhost', ca: [], insecure: true }, { host: '127.0.0.1', port }, monotonicNow());
  let refused!: (code: string | undefined) => void;
  const error = new Promise<string | undefined>((r) => (refused = r));
  const driver = await UdpEndpointDriver.open(client, '127.0.0.1', 0, { connect: { host: '127.0.0.1', port }, onError: (e) => refused(e.code) });
  try {
    expect(await error).toBe('ECONNREFUSED');
  } finally {
    await driver.close();
  }
});
