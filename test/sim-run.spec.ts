import { test, expect } from '@playwright/test';
import { Link } from '../simulator/link.js';
import { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import { Scheduler } from '../simulator/scheduler.js';
import { ScriptedEndpoint, type ScriptedDatagram } from '../simulator/testing/fake-endpoints.js';
import { quicShort } from '../simulator/testing/packets.js';
import type { DatagramEndpoint } from '../engine/endpoint.js';
import type { NetworkConfig } from '../simulator/network.js';

test('link: serialisation time and one-way delay on a burst (simple-p2p defaults)', () => {
  const link = new Link();
  expect(link.cfg).toMatchObject({ delay: 15, bandwidth: 10_000_000, queue: 25 });
  // 1222-byte payload + 28 bytes of IPv4/UDP = 1250 bytes = 10 000 bits = 1 ms at 10 Mbit/s.
  const arrivals = Array.from({ length: 5 }, () => link.enter(1222, 0));
  expect(arrivals.map((a) => ('arrival' in a ? a.arrival : a.dropped))).toEqual([16, 17, 18, 19, 20]);
  // An idle link transmits at once.
  const later = link.enter(1222, 100);
  expect('arrival' in later && later.arrival).toBe(116);
});

test('link: drop-tail queue counts datagrams waiting behind the one on the wire', () => {
  const link = new Link({ queue: 3, delay: 0 });
  const burst = Array.from({ length: 10 }, () => link.enter(1222, 0));
  expect(burst.map((r) => ('arrival' in r ? r.arrival : r.dropped))).toEqual([1, 2, 3, 4, ...Array(6).fill('queue-overflow')]);
  // At t = 1.5 the first is gone and the second is on the wire: the 3rd and 4th wait, so one place is free.
  const next = [link.enter(1222, 1.5), link.enter(1222, 1.5)];
  expect(next.map((r) => ('arrival' in r ? r.arrival : r.dropped))).toEqual([5, 'queue-overflow']);
  // At t = 3.5 only the 5th waits (the 4th is on the wire): two places.
  const last = [link.enter(1222, 3.5), link.enter(1222, 3.5), link.enter(1222, 3.5)];
  expect(last.map((r) => ('arrival' in r ? r.arrival : r.dropped))).toEqual([6, 7, 'queue-overflow']);
});

test('link: datagrams larger than the MTU are dropped with fate mtu', () => {
  const link = new Link({ mtu: 1280 });
  expect(link.enter(1253, 0)).toEqual({ dropped: 'mtu' });
  expect('arrival' in link.enter(1252, 0)).toBe(true);
});

test('simulate(): queue overflow and MTU fates land in the trace', () => {
  const script: ScriptedDatagram[] = Array.from({ length: 40 }, (_, i) => ({ at: 0, data: quicShort(i === 39 ? 1400 : 1222) }));
  const client = new ScriptedEndpoint(script, DEFAULT_SERVER_ADDRESS);
  const server = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS);
  const r = simulate(client, server, { link: { mtu: 1400 } }, 1);
  expect(r.outcome).toBe('idle');
  expect(r.metrics.fates).toEqual({ delivered: 26, 'queue-overflow': 13, mtu: 1 });
  expect(server.received.map((x) => x.time)).toEqual(Array.from({ length: 26 }, (_, i) => 16 + i));
  expect(r.simulatedMs).toBe(41);
});

test('scheduler: (time, sequence) order and the hung guard', () => {
  const s = new Scheduler();
  const order: string[] = [];
  s.at(5, () => order.push('b'));
  s.at(1, () => order.push('a'));
  s.at(5, () => order.push('c'));
  s.at(3, (now) => s.at(now, () => order.push('d')));
  expect(s.run()).toBe('idle');
  expect(order).toEqual(['a', 'd', 'b', 'c']);
  const busy: DatagramEndpoint = { receiveDatagram() {}, pollDatagrams: () => [], nextTimeout: () => 0, handleTimeout() {} };
  const r = simulate(busy, new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS), {}, 1, { maxEvents: 1000 });
  expect(r.outcome).toBe('hung');
  expect(r.reason).toMatch(/more than 1000 events/);
  let t = 0;
  const slow: DatagramEndpoint = { receiveDatagram() {}, pollDatagrams: () => [], nextTimeout: () => (t += 1000), handleTimeout() {} };
  const r2 = simulate(slow, new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS), {}, 1, { maxSimulatedMs: 60_000 });
  expect(r2.outcome).toBe('hung');
  expect(r2.reason).toMatch(/simulated time passed 60000 ms/);
  const thrower: DatagramEndpoint = { receiveDatagram() {}, pollDatagrams: () => { throw new Error('boom'); }, nextTimeout: () => undefined, handleTimeout() {} };
  const r3 = simulate(thrower, new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS), {}, 1);
  expect(r3.outcome).toBe('crashed');
  expect(r3.reason).toMatch(/client threw at 0.000 ms: boom/);
  const nan: DatagramEndpoint = { receiveDatagram() {}, pollDatagrams: () => [], nextTimeout: () => NaN, handleTimeout() {} };
  const r4 = simulate(new ScriptedEndpoint([], DEFAULT_SERVER_ADDRESS), nan, {}, 1);
  expect(r4.outcome).toBe('crashed');
  expect(r4.reason).toMatch(/server returned a NaN timeout/);
});

test('simulate(): stops when `until` holds', () => {
  const client = new ScriptedEndpoint(Array.from({ length: 100 }, (_, i) => ({ at: i * 10, data: quicShort(100) })), DEFAULT_SERVER_ADDRESS);
  const server = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS);
  const r = simulate(client, server, {}, 1, { until: () => server.received.length >= 10 });
  expect(r.outcome).toBe('stopped');
  expect(server.received).toHaveLength(10);
});

function pingPong(seed: string | number, network: NetworkConfig) {
  const script = Array.from({ length: 200 }, (_, i) => ({ at: i * 2, data: quicShort(100 + (i % 50)) }));
  const client = new ScriptedEndpoint(script, DEFAULT_SERVER_ADDRESS);
  const server = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS, (d) => [d.slice(0, 60)]);
  return simulate(client, server, network, seed);
}

test('determinism: same seed → same trace hash; different seeds → different traces', () => {
  const net: NetworkConfig = {
    link: { delay: '15ms', bandwidth: '10Mbps', queue: 25 },
    'to-server': [{ loss: { rate: 0.2, burst: 3 } }, { jitter: { max: 5 } }, { duplicate: { rate: 0.05 } }],
    'to-client': [{ loss: { rate: 0.1 } }, { reorder: { rate: 0.1, depth: 3 } }, { corrupt: { rate: 0.05 } }],
  };
  const a = pingPong('alpha', net);
  const b = pingPong('alpha', net);
  const c = pingPong('beta', net);
  expect(a.traceHash).toMatch(/^[0-9a-f]{64}$/);
  expect(b.traceHash).toBe(a.traceHash);
  expect(b.traceText).toBe(a.traceText);
  expect(c.traceHash).not.toBe(a.traceHash);
  expect(a.trace.length).toBeGreaterThan(300);
  const fates = new Set(a.trace.map((e) => e.fate));
  for (const f of ['delivered', 'dropped-by-loss', 'duplicated', 'reordered', 'corrupted']) expect(fates).toContain(f);
  // Every entry hashes its bytes; the canonical line carries time, direction, length, kinds and fate.
  expect(a.traceText.split('\n')[0]).toMatch(/^0\.000 to-server 1 0 100 1rtt \S+ \S+ 10\.0\.0\.1:50000 10\.0\.0\.2:443 \S+ \S+ [0-9a-f]{64}$/);
});
