import { test, expect } from '@playwright/test';
import { pair, connectedPair, drainEvents, newClient, newServer, baseConfig, CLIENT_ADDR, SERVER_ADDR, Wire } from './quic-conn-harness.js';
import { QlogBuffer } from '../engine/quic/qlog.js';
import { QuicServer } from '../engine/quic/server.js';
import { utf8 } from '../engine/wire/bytes.js';
import { seededRandom } from '../engine/crypto/random.js';
import { nobleCrypto } from '../engine/crypto/noble.js';

test('NEW_TOKEN: a token from the first connection lets the next one skip the Retry round trip', () => {
  const tokenKey = new Uint8Array(16).fill(3);
  const first = pair({ endpoint: { retry: true, tokenKey } });
  let token: Uint8Array | undefined;
  first.wire.run(() => {
    for (let e = first.client.pollEvent(); e; e = first.client.pollEvent()) if (e.type === 'new-token') token = e.token;
    return !!token;
  });
  expect(token).toBeDefined();
  const events: string[] = [];
  const second = pair({ client: { token }, endpoint: { retry: true, tokenKey, onEvent: (e) => events.push(e.type) } });
  expect(second.wire.run(() => second.client.handshakeConfirmed)).toBe(true);
  expect(events).not.toContain('retry');
  expect(second.serverConn()!.isAddressValidated).toBe(true);
});

test('stateless reset: a server that lost the connection state resets it, and the client recognises the token', () => {
  const resetKey = new Uint8Array(32).fill(9);
  const { client, wire } = connectedPair({ endpoint: { resetKey } });
  // A restarted server: same reset key, no connections.
  const amnesiac = new QuicServer({ config: baseConfig('server'), resetKey });
  const id = client.openStream('bidi')!;
  client.writeStream(id, new Uint8Array(100).fill(1));
  for (const d of client.pollDatagrams(wire.now)) amnesiac.receiveDatagram(d.data, CLIENT_ADDR, wire.now, SERVER_ADDR);
  const resets = amnesiac.pollDatagrams(wire.now);
  expect(resets).toHaveLength(1);
  client.receiveDatagram(resets[0]!.data, SERVER_ADDR, wire.now);
  expect(client.closeInfo).toMatchObject({ cause: 'stateless-reset', initiator: 'remote' });
  expect(client.isClosed).toBe(true);
  expect(drainEvents(client).map((e) => e.type)).toContain('closed');
});

test('lost packets are reported as recovery:packet_lost and their frames retransmitted', () => {
  const q = new QlogBuffer();
  const { client, wire, serverConn } = connectedPair({ clientQlog: q });
  const id = client.openStream('bidi')!;
  client.writeStream(id, new Uint8Array(20_000).fill(7), true);
  const base = wire.sent.toServer;
  wire.toServer = (i) => (i === base + 1 || i === base + 3 ? 'drop' : 'deliver');
  let n = 0;
  expect(
    wire.run(() => {
      const r = serverConn().readStream(id, 1 << 20, wire.now);
      n += r.data.length;
      return r.fin;
    }),
  ).toBe(true);
  expect(n).toBe(20_000);
  expect(q.ofType('recovery:packet_lost').length).toBeGreaterThanOrEqual(2);
});

test('mutated datagrams (seeded bit flips and truncations of a real handshake) never throw out of either side', () => {
  const recorded: { to: 'client' | 'server'; data: Uint8Array }[] = [];
  const { client, wire } = pair();
  wire.toServer = (_i, d) => (recorded.push({ to: 'server', data: d.data }), 'deliver');
  wire.toClient = (_i, d) => (recorded.push({ to: 'client', data: d.data }), 'deliver');
  wire.run(() => client.handshakeConfirmed);
  const rnd = seededRandom('mutations', (d) => nobleCrypto.hash('sha256', d));
  const c2 = newClient();
  const s2 = newServer();
  for (let round = 0; round < 300; round++) {
    const pick = recorded[rnd(1)[0]! % recorded.length]!;
    const m = pick.data.slice();
    const r = rnd(4);
    if (r[0]! % 3 === 0) {
      for (let k = 0; k < 1 + (r[1]! % 4); k++) m[(rnd(2)[0]! * 256 + rnd(1)[0]!) % m.length]! ^= 1 << (r[2]! % 8);
    }
    const cut = r[0]! % 3 === 1 ? m.subarray(0, r[3]! % m.length) : m;
    // Fresh endpoints (which see these as new connections) and the established pair (which holds the keys).
    expect(() => (pick.to === 'server' ? s2.receiveDatagram(cut, CLIENT_ADDR, round, SERVER_ADDR) : c2.receiveDatagram(cut, SERVER_ADDR, round))).not.toThrow();
    expect(() => (pick.to === 'server' ? wire.server.receiveDatagram(cut, CLIENT_ADDR, wire.now, SERVER_ADDR) : client.receiveDatagram(cut, SERVER_ADDR, wire.now))).not.toThrow();
    expect(() => {
      s2.pollDatagrams(round);
      c2.pollDatagrams(round);
    }).not.toThrow();
  }
  // Bit flips never authenticate, so the established connection is still up.
  expect(client.phase).toBe('established');
  void utf8;
  void Wire;
});
