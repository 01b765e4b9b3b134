// DPLPMTUD for QUIC (RFC 9000 §14.2–14.4, RFC 8899): the search, black-hole fallback and congestion neutrality of probes,
// unit by unit and end to end through the simulator's links (simulated time only; nothing here measures wall time).
import { test, expect } from '@playwright/test';
import { nodeCrypto } from '../engine/crypto/node.js';
import type { QuicConfig } from '../engine/quic/config.js';
import type { QlogBuffer } from '../engine/quic/qlog.js';
import { BASE_PLPMTU, MAX_PROBES, PmtuDiscovery } from '../engine/quic/pmtu.js';
import { Recovery, createCongestionController, type SentPacket } from '../engine/quic/recovery/index.js';
import type { SimulationResult } from '../simulator/run.js';
import type { NetworkConfig } from '../simulator/network.js';
import { simulateDownload } from './helpers/sim-download.js';
import type { Impairment, InFlight, StageContext, StageResult } from '../simulator/impairments/index.js';

const LINK = { delay: 15, bandwidth: 10_000_000, queue: 25 };

/** An hq-interop download of `size` bytes from our QuicServer to our client through `network`, node crypto, qlog kept. */
function download(size: number, network: NetworkConfig, over: Partial<QuicConfig> = {}, seed = 1) {
  const d = simulateDownload({ size, network, seed, config: { crypto: nodeCrypto, ...over }, qlog: true });
  return { ...d, ok: d.outcome?.ok === true, server: d.serverConn! };
}

const toClient = (r: SimulationResult) => r.trace.filter((e) => e.direction === 'to-client');
const mtuUpdates = (q: QlogBuffer) => q.ofType('connectivity:mtu_updated').map((e) => e.data);

test('search: the largest size first, bisection after MAX_PROBES losses, done within the granularity', () => {
  const p = new PmtuDiscovery(1472);
  expect(p.probeDue(0)).toBeUndefined(); // nothing before the handshake
  p.start(65527);
  expect(p.probeDue(0)).toBe(1472);
  p.onProbeSent(10);
  expect(p.probeDue(1)).toBeUndefined(); // one probe at a time
  for (let i = 0; i < MAX_PROBES; i++) {
    if (i > 0) p.onProbeSent(10 + i);
    expect(p.current).toBe(BASE_PLPMTU);
    p.onProbeLost(10 + i, 1472, 100 + i);
  }
  // 1472 failed three times: bisect between 1200 and 1471.
  expect(p.probeDue(200)).toBe(1336);
  p.onProbeSent(20);
  const u = p.onProbeAcked(20, 1336, 230);
  expect(u).toEqual({ old: 1200, new: 1336, done: false, reason: 'probe-acknowledged' });
  expect(p.current).toBe(1336);
  expect(p.probeDue(230)).toBe(1404);
  // The peer's max_udp_payload_size caps the search too.
  const capped = new PmtuDiscovery(1472);
  capped.start(1350);
  expect(capped.probeDue(0)).toBe(1350);
  capped.onProbeSent(1);
  expect(capped.onProbeAcked(1, 1350, 30)).toEqual({ old: 1200, new: 1350, done: true, reason: 'probe-acknowledged' });
  expect(capped.state).toBe('complete');
  // Disabled, or capped at the base: no probes ever.
  for (const off of [new PmtuDiscovery(1472, false), new PmtuDiscovery(1200)]) {
    off.start(65527);
    expect(off.probeDue(0)).toBeUndefined();
  }
});

test('black hole: full-size packets lost while a later smaller one is acknowledged fall back to 1200 and search again', () => {
  const p = new PmtuDiscovery(1472);
  p.start(1472);
  p.probeDue(0);
  p.onProbeSent(1);
  p.onProbeAcked(1, 1472, 30);
  expect(p.current).toBe(1472);
  // Congestion: full-size packets lost, but later full-size ones arrive: not a black hole.
  p.onAcked([{ size: 1472, timeSent: 105 }]);
  expect(p.onLost([100, 101, 102, 103].map((t) => ({ size: 1472, timeSent: t })))).toBeUndefined();
  expect(p.current).toBe(1472);
  // Only a smaller packet gets through after them: the size stopped working.
  p.onAcked([{ size: 1200, timeSent: 300 }]);
  const u = p.onLost([200, 201, 202].map((t) => ({ size: 1472, timeSent: t })));
  expect(u).toEqual({ old: 1472, new: 1200, done: false, reason: 'black-hole' });
  expect(p.current).toBe(1200);
  expect(p.probeDue(340)).toBe(1472); // and the search starts over
});

test('a lost PMTU probe changes neither the congestion window nor the recovery state (RFC 9000 §14.4)', () => {
  type F = { pn: number };
  const sent = (pn: number, t: number, size = 1200, pmtuProbe = false): SentPacket<F> => ({ pn, space: 'application', timeSent: t, size, ackEliciting: true, inFlight: true, frames: [{ pn }], pmtuProbe });
  for (const cc of ['newreno', 'cubic'] as const) {
    const r = new Recovery<F>({ role: 'server', congestion: createCongestionController(cc) });
    r.setHandshakeConfirmed(0);
    r.onPacketSent(sent(0, 0));
    r.onAckReceived('application', { ranges: [{ smallest: 0, largest: 0 }] }, 0, 30);
    r.onPacketSent(sent(1, 31, 1472, true));
    for (let pn = 2; pn <= 5; pn++) r.onPacketSent(sent(pn, 31 + pn));
    const before = r.congestion.window;
    const res = r.onAckReceived('application', { ranges: [{ smallest: 2, largest: 5 }] }, 0, 70);
    expect(res.lost.map((p) => p.pn)).toEqual([1]); // the probe is declared lost by the packet threshold…
    expect(r.congestion.window).toBeGreaterThan(before); // …and the window kept growing in slow start
    expect(r.congestion.recoveryStartTime).toBeUndefined();
    expect(r.congestion.ssthresh).toBe(Infinity);
    // The same loss of an ordinary packet is a congestion event.
    const q = new Recovery<F>({ role: 'server', congestion: createCongestionController(cc) });
    q.setHandshakeConfirmed(0);
    q.onPacketSent(sent(0, 0));
    q.onAckReceived('application', { ranges: [{ smallest: 0, largest: 0 }] }, 0, 30);
    for (let pn = 1; pn <= 5; pn++) q.onPacketSent(sent(pn, 31 + pn));
    q.onAckReceived('application', { ranges: [{ smallest: 2, largest: 5 }] }, 0, 70);
    expect(q.congestion.recoveryStartTime).toBe(70);
  }
});

test('MTU 1500 link: both sides settle at 1472-byte datagrams and the download is carried in them', () => {
  const d = download(1 << 20, { link: LINK });
  expect(d.sim.outcome, d.sim.reason).toBe('stopped');
  expect(d.ok && d.intact).toBe(true);
  expect(d.server.pmtu.current).toBe(1472);
  expect(d.client.pmtu.current).toBe(1472);
  expect(mtuUpdates(d.serverQlog)).toEqual([{ old: 1200, new: 1472, done: true }]);
  // Congestion control counts in the new size (RFC 9002 §7.2).
  expect(d.server.recovery.congestion.maxDatagramSize).toBe(1472);
  const sizes = toClient(d.sim).map((e) => e.length);
  expect(Math.max(...sizes)).toBe(1472);
  expect(sizes.filter((n) => n === 1472).length).toBeGreaterThan(0.9 * sizes.length);
  expect(d.sim.trace.every((e) => e.fate !== 'mtu')).toBe(true);
});

test('MTU 1280 link: the search settles below the path limit and only probes are ever lost to it', () => {
  // Long enough for the client too, whose lost probes (it sends little else) are found only by probe timeouts.
  const d = download(3 << 20, { link: { ...LINK, mtu: 1280 } });
  expect(d.sim.outcome, d.sim.reason).toBe('stopped');
  expect(d.ok && d.intact).toBe(true);
  const limit = 1280 - 28;
  for (const c of [d.server, d.client]) {
    expect(c.pmtu.current).toBeLessThanOrEqual(limit);
    expect(c.pmtu.current).toBeGreaterThan(limit - 16);
    expect(c.pmtu.state).toBe('complete');
  }
  const updates = mtuUpdates(d.serverQlog);
  expect(updates.at(-1)).toMatchObject({ new: d.server.pmtu.current, done: true });
  // Every datagram the link refused was a probe: no packet with data was ever bigger than the path carries.
  for (const [q, direction] of [[d.serverQlog, 'to-client'], [d.clientQlog, 'to-server']] as const) {
    const sent = q.ofType('transport:packet_sent');
    const probes = sent.filter((e) => e.data.frames?.every((f) => f.frame_type === 'ping' || f.frame_type === 'padding') && e.data.raw.length > BASE_PLPMTU);
    const tooBig = probes.filter((e) => e.data.raw.length > limit);
    expect(tooBig.length).toBeGreaterThan(0);
    expect(d.sim.trace.filter((e) => e.direction === direction && e.fate === 'mtu').length).toBe(tooBig.length);
    expect(sent.filter((e) => e.data.frames?.some((f) => f.frame_type === 'stream') && e.data.raw.length > limit)).toEqual([]);
  }
  expect(Math.max(...toClient(d.sim).filter((e) => e.fate === 'delivered').map((e) => e.length))).toBe(d.server.pmtu.current);
});

/** Drops datagrams larger than `max` bytes from `from` ms on: a route change onto a smaller MTU mid-transfer. */
class LateBlackHole implements Impairment {
  readonly name = 'late-black-hole';
  constructor(private readonly from: number, private readonly max: number) {}
  process(d: InFlight, ctx: StageContext): StageResult {
    return ctx.now >= this.from && d.data.length > this.max ? 'drop' : [d];
  }
}

test('a black hole for large datagrams appearing mid-transfer: fall back to 1200, finish, and settle below the new limit', () => {
  const d = download(3 << 20, { link: LINK, 'to-client': [new LateBlackHole(1000, 1300)] });
  expect(d.sim.outcome, d.sim.reason).toBe('stopped');
  expect(d.ok && d.intact).toBe(true);
  const updates = mtuUpdates(d.serverQlog);
  expect(updates[0]).toEqual({ old: 1200, new: 1472, done: true });
  expect(updates).toContainEqual({ old: 1472, new: 1200, done: false });
  expect(d.server.pmtu.current).toBeLessThanOrEqual(1300);
  expect(d.server.pmtu.current).toBeGreaterThan(1300 - 16);
  // After the fallback, the data flows in datagrams that fit.
  const late = toClient(d.sim).filter((e) => e.time > d.sim.simulatedMs - 500 && e.fate === 'delivered');
  expect(late.length).toBeGreaterThan(100);
});

test('pmtud: false and maxDatagramSize keep or cap the datagram size', () => {
  const off = download(256 << 10, { link: LINK }, { pmtud: false });
  expect(off.ok && off.intact).toBe(true);
  expect(Math.max(...off.sim.trace.map((e) => e.length))).toBe(1200);
  expect(mtuUpdates(off.serverQlog)).toEqual([]);
  const capped = download(256 << 10, { link: LINK }, { maxDatagramSize: 1350 });
  expect(capped.ok && capped.intact).toBe(true);
  expect(capped.server.pmtu.current).toBe(1350);
  expect(Math.max(...capped.sim.trace.map((e) => e.length))).toBe(1350);
});

test('a STREAM frame that ends its packet carries no Length field and PADDING never follows it', () => {
  const d = download(256 << 10, { link: LINK });
  expect(d.ok && d.intact).toBe(true);
  const full = d.serverQlog.ofType('transport:packet_sent').filter((e) => e.data.raw.length === 1472 && e.data.frames?.some((f) => f.frame_type === 'stream'));
  expect(full.length).toBeGreaterThan(100);
  for (const e of full) {
    const frames = e.data.frames!;
    expect(frames.at(-1)!.frame_type).toBe('stream');
  }
  // 1472 - 1 (flags) - 0 (client CID) - 1 (packet number) - 16 (AEAD tag) - 6 (type, stream ID, 4-byte offset) = 1448
  // data bytes; a Length field would leave 1446. (Packets that also acknowledge something, such as the client's
  // occasional PING, give the ACK frame's bytes to it.)
  const farOut = full.filter((e) => e.data.frames!.length === 1).map((e) => e.data.frames![0]!).filter((f) => (f.offset as number) >= 16384);
  expect(farOut.length).toBeGreaterThan(100);
  expect(farOut.every((f) => f.length === 1448)).toBe(true);
});
