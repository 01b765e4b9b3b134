import { test, expect } from '@playwright/test';
import { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import type { NetworkConfig } from '../simulator/network.js';
import { overridesFrom } from '../simulator/network.js';
import { ScriptedEndpoint, type ScriptedDatagram } from '../simulator/testing/fake-endpoints.js';
import { quicLong, quicShort } from '../simulator/testing/packets.js';
import type { FateOverrides } from '../simulator/types.js';

/** An ideal link (no delay, no serialisation, no queue limit) so each test sees only its impairment. */
const IDEAL = { delay: 0, bandwidth: Infinity, queue: 1_000_000 };

function numbered(n: number, gap = 1, make: (i: number) => Uint8Array = (i) => tagged(i)): ScriptedDatagram[] {
  return Array.from({ length: n }, (_, i) => ({ at: i * gap, data: make(i + 1) }));
}

/** A 1-RTT-looking datagram whose bytes 1..4 carry its 1-based number. */
function tagged(i: number, len = 100): Uint8Array {
  const b = quicShort(len);
  new DataView(b.buffer).setUint32(1, i);
  return b;
}
const numberOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(1);

function run(toServer: NetworkConfig['to-server'], script: ScriptedDatagram[], opts: { seed?: string; fateOverrides?: FateOverrides; toClient?: NetworkConfig['to-client']; echo?: boolean } = {}) {
  const client = new ScriptedEndpoint(script, DEFAULT_SERVER_ADDRESS);
  const server = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS, opts.echo ? (d) => [d] : undefined);
  const r = simulate(client, server, { link: IDEAL, 'to-server': toServer, 'to-client': opts.toClient ?? [] }, opts.seed ?? 'seed-1', opts.fateOverrides ? { fateOverrides: opts.fateOverrides } : {});
  return { r, client, server, got: server.received.map((x) => numberOf(x.data)) };
}

test('loss: rate 0 keeps everything, rate 1 drops everything, 0.3 drops about 30%', () => {
  expect(run([{ loss: { rate: 0 } }], numbered(200)).got).toHaveLength(200);
  const all = run([{ loss: { rate: 1 } }], numbered(50));
  expect(all.got).toHaveLength(0);
  expect(all.r.trace.every((e) => e.fate === 'dropped-by-loss')).toBe(true);
  const some = run([{ loss: { rate: 0.3 } }], numbered(2000));
  const lost = 2000 - some.got.length;
  expect(lost).toBeGreaterThan(500);
  expect(lost).toBeLessThan(700);
});

test('loss with Gilbert-Elliott bursts: same average rate, mean burst length as configured', () => {
  const { r } = run([{ loss: { rate: 0.2, burst: 4 } }], numbered(6000));
  const dropped = r.trace.map((e) => e.fate === 'dropped-by-loss');
  const runs: number[] = [];
  let cur = 0;
  for (const d of dropped) {
    if (d) cur++;
    else if (cur) runs.push(cur), (cur = 0);
  }
  const rate = dropped.filter(Boolean).length / dropped.length;
  const meanBurst = runs.reduce((a, b) => a + b, 0) / runs.length;
  expect(rate).toBeGreaterThan(0.16);
  expect(rate).toBeLessThan(0.24);
  expect(meanBurst).toBeGreaterThan(3.3);
  expect(meanBurst).toBeLessThan(4.7);
});

test('droplist drops exactly the n-th datagrams (1-based) in its direction', () => {
  const { got, r } = run([{ droplist: { indices: [1, 3, 7] } }], numbered(8));
  expect(got).toEqual([2, 4, 5, 6, 8]);
  expect(r.trace.filter((e) => e.fate === 'dropped-by-droplist').map((e) => e.index)).toEqual([1, 3, 7]);
});

test('corrupt flips bytes only within the first N bytes; fate corrupted', () => {
  const { r, server } = run([{ corrupt: { rate: 1, within: 4, count: 2 } }], numbered(50, 1, () => new Uint8Array(200).fill(0x40)));
  for (const x of server.received) {
    expect(x.data.subarray(4).every((b) => b === 0x40)).toBe(true);
    expect(x.data.subarray(0, 4).some((b) => b !== 0x40)).toBe(true);
  }
  expect(r.trace.every((e) => e.fate === 'corrupted')).toBe(true);
  const anywhere = run([{ corrupt: { rate: 1 } }], numbered(200, 1, () => new Uint8Array(200).fill(0x40)));
  const positions = new Set(anywhere.server.received.map((x) => x.data.findIndex((b) => b !== 0x40)));
  expect(Math.max(...positions)).toBeGreaterThan(100);
});

test('truncate to N bytes or to a fraction', () => {
  const a = run([{ truncate: { rate: 1, to: 10 } }], numbered(5));
  expect(a.server.received.map((x) => x.data.length)).toEqual([10, 10, 10, 10, 10]);
  expect(a.r.trace[0]!.fate).toBe('truncated');
  expect(a.r.trace[0]!.arrivedLength).toBe(10);
  const b = run([{ truncate: { rate: 1, fraction: 0.25 } }], numbered(3));
  expect(b.server.received.map((x) => x.data.length)).toEqual([25, 25, 25]);
  const none = run([{ truncate: { rate: 0, to: 1 } }], numbered(3));
  expect(none.server.received.map((x) => x.data.length)).toEqual([100, 100, 100]);
});

test('duplicate delivers a second copy with its own trace entry', () => {
  const { got, r } = run([{ duplicate: { rate: 1, delay: 0.5 } }], numbered(3));
  expect(got).toEqual([1, 1, 2, 2, 3, 3]);
  expect(r.trace.filter((e) => e.copy === 1).map((e) => e.fate)).toEqual(['duplicated', 'duplicated', 'duplicated']);
  expect(r.trace.filter((e) => e.copy === 0).map((e) => e.fate)).toEqual(['delivered', 'delivered', 'delivered']);
});

test('reorder by depth holds a datagram until N later ones passed; by delay it arrives later', () => {
  const script = numbered(6, 1, (i) => (i === 2 ? Object.assign(quicLong('handshake'), {}) : tagged(i)));
  const { r, server } = run([{ reorder: { rate: 1, depth: 2, kinds: ['handshake'] } }], script);
  const order = server.received.map((x) => (x.data[0]! & 0x80 ? 'H' : String(numberOf(x.data))));
  expect(order).toEqual(['1', '3', '4', 'H', '5', '6']);
  expect(r.trace[1]!.fate).toBe('reordered');
  // With nothing following it, a held datagram still leaves after maxHold rather than being lost.
  const lone = run([{ reorder: { rate: 1, depth: 5, maxHold: 30 } }], numbered(1));
  expect(lone.server.received[0]!.time).toBe(30);
  const delayed = run([{ reorder: { rate: 1, delay: 3.5, kinds: ['handshake'] } }], script);
  expect(delayed.server.received.find((x) => x.data[0]! & 0x80)!.time).toBe(1 + 3.5);
});

test('jitter delays without reordering unless allowed', () => {
  const inOrder = run([{ jitter: { max: 20 } }], numbered(300, 0.5));
  expect(inOrder.got).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  const delays = inOrder.server.received.map((x, i) => x.time - i * 0.5);
  expect(Math.max(...delays)).toBeGreaterThan(10);
  expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
  const shuffled = run([{ jitter: { max: 20, reorder: true } }], numbered(300, 0.5));
  expect(shuffled.got).not.toEqual(inOrder.got);
  expect([...shuffled.got].sort((a, b) => a - b)).toEqual(inOrder.got);
  const normal = run([{ jitter: { max: 10, distribution: 'normal', reorder: true } }], numbered(500, 100));
  const nd = normal.server.received.map((x) => x.time - (numberOf(x.data) - 1) * 100);
  const mean = nd.reduce((a, b) => a + b, 0) / nd.length;
  expect(mean).toBeGreaterThan(4);
  expect(mean).toBeLessThan(6);
  expect(Math.max(...nd)).toBeLessThanOrEqual(10);
});

test('blackhole drops inside its windows and cycles', () => {
  const { got } = run([{ blackhole: { windows: [{ from: 10, to: 20 }] } }], numbered(30));
  expect(got).toEqual([...Array.from({ length: 10 }, (_, i) => i + 1), ...Array.from({ length: 10 }, (_, i) => i + 21)]);
  const cyc = run([{ blackhole: { cycle: { on: 2, off: 3 } } }], numbered(10));
  // Sent at t = 0..9: dark at 0,1 and 5,6.
  expect(cyc.got).toEqual([3, 4, 5, 8, 9, 10]);
});

test('rebind: the server sees a new source port after the rebinding time, and replies still reach the client', () => {
  const { r, server, client } = run([{ rebind: { at: [5] } }], numbered(10), { echo: true });
  const ports = server.received.map((x) => x.from.port);
  expect(new Set(ports.slice(0, 5))).toEqual(new Set([DEFAULT_CLIENT_ADDRESS.port]));
  const newPort = ports[5]!;
  expect(newPort).not.toBe(DEFAULT_CLIENT_ADDRESS.port);
  expect(ports.slice(5).every((p) => p === newPort)).toBe(true);
  expect(client.received).toHaveLength(10);
  expect(r.trace.filter((e) => e.direction === 'to-client' && e.to.port === newPort)).toHaveLength(5);
  const addr = run([{ rebind: { at: [3], change: 'address' } }], numbered(5));
  expect(addr.server.received.map((x) => x.from.host)).toEqual(['10.0.0.1', '10.0.0.1', '10.0.0.1', '10.0.1.1', '10.0.1.1']);
});

test('rate limit: a token bucket polices bursts', () => {
  // 8 kbit/s = 1 byte per ms; bucket of 300 bytes; 100-byte datagrams every 10 ms.
  const { got } = run([{ 'rate-limit': { rate: 8000, burst: 300 } }], numbered(30, 10));
  // The bucket starts full (3 datagrams), then refills 10 bytes per 10 ms: one more datagram every 100 ms.
  expect(got.slice(0, 3)).toEqual([1, 2, 3]);
  expect(got.length).toBeLessThan(8);
  expect(got.length).toBeGreaterThan(3);
});

test('kind filters: an impairment only touches the named packet kinds', () => {
  const script: ScriptedDatagram[] = [
    { at: 0, data: quicLong('initial') },
    { at: 1, data: quicLong('handshake') },
    { at: 2, data: quicShort(50) },
    { at: 3, data: quicLong('initial') },
    { at: 4, data: quicShort(50) },
  ];
  const { r } = run([{ loss: { rate: 1, kinds: ['Initial'] } }], script);
  expect(r.trace.map((e) => `${e.kind}:${e.fate}`)).toEqual(['initial:dropped-by-loss', 'handshake:delivered', '1rtt:delivered', 'initial:dropped-by-loss', '1rtt:delivered']);
  const dup = run([{ duplicate: { rate: 1, kinds: ['1-RTT'] } }], script);
  expect(dup.r.trace.filter((e) => e.copy === 1).map((e) => e.kind)).toEqual(['1rtt', '1rtt']);
  // A filtered droplist counts only matching datagrams: "the 2nd Initial".
  const dl = run([{ droplist: { indices: [2], kinds: ['initial'] } }], script);
  expect(dl.r.trace.filter((e) => e.fate !== 'delivered').map((e) => e.index)).toEqual([4]);
});

test('fate overrides force drops and deliveries by index; decisions replay a run', () => {
  const forced: FateOverrides = new Map([['to-server', new Map<number, 'drop' | 'deliver'>([[2, 'drop'], [4, 'deliver']])]]);
  const { r, got } = run([{ loss: { rate: 1 } }], numbered(5), { fateOverrides: forced });
  expect(got).toEqual([4]);
  expect(r.trace[1]!.fate).toBe('dropped-by-override');
  // A forced delivery skips fate impairments but still crosses the NAT: rebinding is not a fate.
  const nat = run([{ loss: { rate: 1 } }, { rebind: { at: [0] } }], numbered(2), { fateOverrides: new Map([['to-server', new Map([[1, 'deliver' as const]])]]) });
  expect(nat.server.received.map((x) => x.from.port)).toHaveLength(1);
  expect(nat.server.received[0]!.from.port).not.toBe(DEFAULT_CLIENT_ADDRESS.port);
  const original = run([{ loss: { rate: 0.5 } }, { jitter: { max: 3 } }], numbered(100));
  const replay = run([], numbered(100), { fateOverrides: overridesFrom(original.r.decisions) });
  expect(replay.got).toEqual(original.got);
});

test('independent streams: adding an impairment does not shift another one\'s draws', () => {
  const fates = ({ r }: ReturnType<typeof run>) => r.trace.filter((e) => e.direction === 'to-server' && e.copy === 0).map((e) => e.fate.startsWith('dropped'));
  const base = run([{ loss: { rate: 0.3 } }], numbered(300), { echo: true });
  const more = run([{ corrupt: { rate: 0.5 } }, { loss: { rate: 0.3 } }, { jitter: { max: 2 } }], numbered(300), { echo: true, toClient: [{ duplicate: { rate: 0.5 } }] });
  expect(fates(more)).toEqual(fates(base));
  const other = run([{ loss: { rate: 0.3 } }], numbered(300), { echo: true, seed: 'seed-2' });
  expect(fates(other)).not.toEqual(fates(base));
});

test('invalid impairment configs are rejected with a readable message', () => {
  expect(() => run([{ loss: { rate: 2 } }], [])).toThrow(/loss: rate must be/);
  expect(() => run([{ teleport: {} }], [])).toThrow(/unknown impairment 'teleport'/);
  expect(() => run([{ loss: { rate: 0.1, kinds: ['bogus'] } }], [])).toThrow(/unknown packet kind 'bogus'/);
  expect(() => run([], [], { toClient: [{ rebind: { at: [1] } }] })).toThrow(/to-server/);
});

test('impairment fields accept units as scenarios write them', () => {
  const { got } = run([{ blackhole: { windows: [{ from: '10ms', to: '0.02s' }] } }], numbered(30));
  expect(got).toHaveLength(20);
  const d = run([{ reorder: { rate: 1, delay: '3500us' } }], numbered(1));
  expect(d.server.received[0]!.time).toBe(3.5);
  const rl = run([{ 'rate-limit': { rate: '8kbps', burst: '300B' } }], numbered(30, 10));
  expect(rl.got.slice(0, 3)).toEqual([1, 2, 3]);
  expect(rl.got.length).toBeLessThan(8);
  expect(() => run([{ jitter: { max: '5 parsecs' } }], [])).toThrow(/cannot read jitter\.max '5 parsecs'/);
});
