import { test, expect } from '@playwright/test';
import seedrandom from 'seedrandom';
import { DtlsClient, DtlsServer } from '../engine/dtls/index.js';
import type { Address } from '../engine/endpoint.js';
import { utf8 } from '../engine/wire/bytes.js';
import { CLIENT_ADDR, Link, SERVER_ADDR, clientConfig, makeLink, received, rng, serverConfig } from './dtls-harness.js';

test('a flood of 100,000 spoofed ClientHellos leaves the server with 0 per-peer states; a real client still connects', () => {
  const server = new DtlsServer(serverConfig('ec'));
  // A genuine first ClientHello, replayed from 100,000 forged source addresses.
  const hello = new DtlsClient(clientConfig({ random: rng('flood') }), SERVER_ADDR, 0).pollDatagrams(0)[0]!.data;
  let answers = 0;
  let largest = 0;
  for (let i = 0; i < 100_000; i++) {
    const from: Address = { host: `198.51.${(i >> 8) & 0xff}.${i & 0xff}`, port: 1024 + (i % 60000) };
    server.receiveDatagram(hello, from, i);
    for (const d of server.pollDatagrams(i)) {
      answers++;
      largest = Math.max(largest, d.data.length);
    }
  }
  expect(server.peerStateCount).toBe(0);
  expect(server.stats.helloVerifyRequests).toBe(100_000);
  expect(answers).toBe(100_000);
  // No amplification: every HelloVerifyRequest is smaller than the ClientHello that caused it.
  expect(largest).toBeLessThanOrEqual(hello.length);
  expect(server.nextTimeout()).toBeUndefined();

  const client = new DtlsClient(clientConfig(), SERVER_ADDR, 100_000);
  const link = new Link(client, server);
  link.now = 100_000;
  link.run(() => link.bothConnected());
  expect(link.client.handshake?.helloVerifyRequest).toBe(true);
  expect(server.peerStateCount).toBe(1);
});

test('a cookie is bound to the client address and ClientHello: replayed from elsewhere or altered, it earns only another HelloVerifyRequest', () => {
  const server = new DtlsServer(serverConfig('ec'));
  const client = new DtlsClient(clientConfig(), SERVER_ADDR, 0);
  server.receiveDatagram(client.pollDatagrams(0)[0]!.data, CLIENT_ADDR, 0);
  client.receiveDatagram(server.pollDatagrams(0)[0]!.data, SERVER_ADDR, 10);
  const withCookie = client.pollDatagrams(10)[0]!.data;
  server.receiveDatagram(withCookie, { host: '203.0.113.9', port: CLIENT_ADDR.port }, 20);
  expect(server.peerStateCount).toBe(0);
  const altered = withCookie.slice();
  altered[13 + 12 + 2 + 5]! ^= 1; // a byte of client_random
  server.receiveDatagram(altered, CLIENT_ADDR, 20);
  expect(server.peerStateCount).toBe(0);
  expect(server.stats.helloVerifyRequests).toBe(3);
  server.receiveDatagram(withCookie, CLIENT_ADDR, 20);
  expect(server.peerStateCount).toBe(1);
});

test('cookie secrets rotate: a cookie from the previous period is accepted, one from two periods ago is not', () => {
  for (const [rotateInBetween, accepted] of [[false, true], [true, false]] as const) {
    const server = new DtlsServer(serverConfig('ec', { cookieRotationMs: 60_000 }));
    const client = new DtlsClient(clientConfig(), SERVER_ADDR, 0);
    const firstHello = client.pollDatagrams(0)[0]!.data;
    server.receiveDatagram(firstHello, CLIENT_ADDR, 0);
    client.receiveDatagram(server.pollDatagrams(0)[0]!.data, SERVER_ADDR, 0);
    const withCookie = client.pollDatagrams(0)[0]!.data;
    // Rotation is lazy: another client's hello at 60 s rotates once more, pushing our secret out of the accepted pair.
    if (rotateInBetween) server.receiveDatagram(firstHello, { host: '192.0.2.7', port: 9 }, 60_000);
    server.receiveDatagram(withCookie, CLIENT_ADDR, 130_000);
    expect(server.peerStateCount).toBe(accepted ? 1 : 0);
  }
});

/** Byte flips, truncation, insertion, length-field damage and record splicing, from a seeded generator. */
function mutate(data: Uint8Array, r: () => number): Uint8Array {
  let b = data.slice();
  const ops = 1 + Math.floor(r() * 4);
  for (let k = 0; k < ops; k++) {
    const op = Math.floor(r() * 6);
    const at = Math.floor(r() * Math.max(1, b.length));
    if (op === 0) b[at] = Math.floor(r() * 256);
    else if (op === 1) b = b.slice(0, at);
    else if (op === 2) b = new Uint8Array([...b.slice(0, at), ...Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 256)), ...b.slice(at)]);
    else if (op === 3 && b.length > 12) b[11 + Math.floor(r() * 2)] = 0xff; // record length
    else if (op === 4 && b.length > 25) b[13 + 1 + Math.floor(r() * 11)] = Math.floor(r() * 256); // handshake header fields
    else if (op === 5) b = new Uint8Array([...b, ...b.slice(0, at)]);
  }
  return b;
}

test('seeded random mutations of every handshake datagram never throw; endpoints drop or alert', () => {
  const r = seedrandom('dtls-fuzz');
  let outcomes = { completed: 0, failed: 0 };
  for (let round = 0; round < 60; round++) {
    const target = Math.floor(r() * 8);
    let n = 0;
    const link = makeLink({
      client: { random: rng(`fuzz-client-${round}`) },
      server: { random: rng(`fuzz-server-${round}`) },
      impair: () => [10],
    });
    // Mutated copies are injected ahead of the genuine datagram, in both directions.
    const inject = (to: 'server' | 'client', data: Uint8Array, now: number) => {
      for (let j = 0; j < 20; j++) {
        const bad = mutate(data, r);
        if (to === 'server') link.server.receiveDatagram(bad, CLIENT_ADDR, now);
        else link.client.receiveDatagram(bad, SERVER_ADDR, now);
      }
    };
    link.impair = (s) => {
      if (n++ === target) inject(s.direction === 'to-server' ? 'server' : 'client', s.data, s.time);
      return [10];
    };
    expect(() => link.run(() => link.bothConnected() || link.client.closed, 120_000)).not.toThrow();
    if (link.bothConnected()) outcomes.completed++;
    else outcomes.failed++;
  }
  // Most garbage is dropped silently (bad MAC, replays, unframeable records), so most handshakes still complete.
  expect(outcomes.completed).toBeGreaterThan(30);

  // And a connected pair fed garbage keeps working.
  const link = makeLink();
  link.run(() => link.bothConnected());
  link.clientSend(utf8.encode('x'));
  const appRecord = link.sent[link.sent.length - 1]!.data;
  // One expect at the end: Playwright records every expect() call, which would dominate 10,000 iterations.
  const thrown: unknown[] = [];
  for (let i = 0; i < 5000; i++) {
    try {
      link.server.receiveDatagram(mutate(appRecord, r), CLIENT_ADDR, link.now);
      link.client.receiveDatagram(mutate(appRecord, r), SERVER_ADDR, link.now);
    } catch (e) {
      thrown.push(e);
    }
  }
  expect(thrown).toEqual([]);
  link.run(() => received(link.serverEvents.map((e) => e.event)).includes('x'));
  link.clientSend(utf8.encode('still here'));
  link.run(() => received(link.serverEvents.map((e) => e.event)).includes('still here'));
  expect(received(link.serverEvents.map((e) => e.event))).toContain('still here');
});
