// Peer address changes under the simulator's rebind impairment (RFC 9000 §9.3, §9.4, §8.2; RFC 9002 Appendices A.3,
// B.3): a new host restarts RTT and congestion state once validated, a port-only NAT rebinding keeps them, and an
// unvalidated new address gets at most 3x the bytes it sent.
import { test, expect } from '@playwright/test';
import type { QlogBuffer, QlogEvent } from '../engine/quic/qlog.js';
import { initialWindow } from '../engine/quic/recovery/index.js';
import { connectedPair, drainEvents, CLIENT_ADDR } from './quic-conn-harness.js';
import { simulateDownload } from './helpers/sim-download.js';

const INITIAL_WINDOW = initialWindow(1200);

/** A 2 MiB hq-interop download with the client's address changed at 300 ms (mid-transfer, window grown by then). */
function downloadThroughRebind(change: 'port' | 'address') {
  const size = 2 << 20;
  const d = simulateDownload({ size, network: { 'to-server': [{ rebind: { at: [300], change } }] }, qlog: true, until: 'idle', maxSimulatedMs: 60_000 });
  return { ...d, size, qlog: d.serverQlog };
}

type Metrics = QlogEvent<'recovery:metrics_updated'>;
const metrics = (q: QlogBuffer) => q.ofType('recovery:metrics_updated');
const lastBefore = (ms: Metrics[], t: number) => ms.filter((e) => e.time < t).at(-1)!;
const firstAfter = (ms: Metrics[], t: number) => ms.find((e) => e.time > t)!;

test('address change: after validating the new host the server restarts cwnd and RTT (RFC 9000 §9.4), and the download completes', () => {
  const r = downloadThroughRebind('address');
  expect(r.sim.outcome, r.sim.reason).toBe('stopped');
  expect(r.outcome, r.outcome?.detail).toEqual({ ok: true });
  expect(r.bytes).toBe(r.size);
  expect(r.intact).toBe(true);
  expect(r.serverConn?.remoteAddress.host).not.toBe(CLIENT_ADDR.host);

  const validated = r.qlog.ofType('connectivity:connection_state_updated').filter((e) => e.data.new === 'path_validated');
  expect(validated).toHaveLength(1);
  const resets = r.qlog.ofType('recovery:congestion_state_updated').filter((e) => e.data.trigger === 'path_change');
  expect(resets).toHaveLength(1);
  const at = resets[0]!.time;
  expect(at).toBe(validated[0]!.time);
  expect(at).toBeGreaterThan(300);
  const ms = metrics(r.qlog);
  // Before: a window grown by slow start and an RTT of the 30 ms path.
  const before = lastBefore(ms, 300).data;
  expect(before.congestion_window!).toBeGreaterThan(INITIAL_WINDOW);
  expect(before.smoothed_rtt!).toBeLessThan(100);
  // At validation: RFC 9002's initial values (kInitialWindow, kInitialRtt = 333 ms, nothing in flight on the new path).
  const later = r.qlog.events.slice(r.qlog.events.indexOf(resets[0]!) + 1).filter((e): e is Metrics => e.name === 'recovery:metrics_updated');
  const reset = later[0]!.data;
  expect(reset).toMatchObject({ congestion_window: INITIAL_WINDOW, smoothed_rtt: 333, rtt_variance: 166.5, bytes_in_flight: 0, pto_count: 0 });
  expect(reset.ssthresh).toBeUndefined();
  // Acknowledgements of packets sent before the reset (on the old path) neither sample RTT nor grow the new window.
  const firstSample = later.findIndex((e) => e.data.smoothed_rtt !== 333);
  expect(firstSample).toBeGreaterThan(0);
  for (const e of later.slice(0, firstSample)) expect(e.data.congestion_window).toBe(INITIAL_WINDOW);
  // The new path's first sample: smoothed = latest, rttvar = latest / 2 (RFC 9002 §5.3).
  const next = later[firstSample]!.data;
  expect(next.smoothed_rtt!).toBeLessThan(100);
  expect(next.rtt_variance).toBeCloseTo(next.smoothed_rtt! / 2, 6);
});

test('port-only change (NAT rebinding): the server validates the new port but keeps cwnd and RTT, and the download completes', () => {
  const r = downloadThroughRebind('port');
  expect(r.sim.outcome, r.sim.reason).toBe('stopped');
  expect(r.outcome, r.outcome?.detail).toEqual({ ok: true });
  expect(r.intact).toBe(true);
  expect(r.serverConn?.remoteAddress.host).toBe(CLIENT_ADDR.host);
  expect(r.serverConn?.remoteAddress.port).not.toBe(CLIENT_ADDR.port);

  const validated = r.qlog.ofType('connectivity:connection_state_updated').filter((e) => e.data.new === 'path_validated');
  expect(validated).toHaveLength(1);
  expect(r.qlog.ofType('recovery:congestion_state_updated').filter((e) => e.data.trigger === 'path_change')).toHaveLength(0);
  const ms = metrics(r.qlog);
  const before = lastBefore(ms, 300).data;
  const after = firstAfter(ms, validated[0]!.time).data;
  expect(before.congestion_window!).toBeGreaterThan(INITIAL_WINDOW);
  // No restart: the window carries on from where it was (it may grow, or shrink on a loss, but not fall back to 12000
  // with the RTT at 333 ms).
  expect(after.congestion_window!).toBeGreaterThanOrEqual(before.congestion_window! / 2);
  expect(after.smoothed_rtt!).toBeLessThan(100);
  expect(ms.some((e) => e.time > 300 && e.data.smoothed_rtt === 333)).toBe(false);
});

test('an unvalidated new address gets at most 3x the bytes received from it (RFC 9000 §8.2, §9.3), then the limit lifts on validation', () => {
  const { client, wire, serverConn } = connectedPair();
  const s = serverConn();
  // Plenty for the server to send: a 200 kB stream to the client.
  const id = s.openStream('uni')!;
  s.writeStream(id, new Uint8Array(200_000), true);
  const moved = { host: '10.0.9.1', port: 50000 };
  const toNew = { bytes: 0, datagrams: 0 };
  const fromNew = { bytes: 0, datagrams: 0 };
  wire.clientAddress = moved;
  let allowFromNew = 1;
  wire.toServer = (_i, d) => {
    // The first datagram from the new address reveals it; the client's answers to the PATH_CHALLENGE are lost for now.
    if (allowFromNew <= 0) return 'drop';
    allowFromNew--;
    fromNew.bytes += d.data.length;
    fromNew.datagrams++;
    return 'deliver';
  };
  wire.toClient = (_i, d) => {
    if (d.to.host === moved.host) {
      toNew.bytes += d.data.length;
      toNew.datagrams++;
    }
    return 'deliver';
  };
  client.ping();
  wire.run(() => false, 1000);
  expect(fromNew.datagrams).toBe(1);
  expect(s.remoteAddress).toEqual(moved);
  expect(s.isAddressValidated).toBe(false);
  expect(toNew.datagrams).toBeGreaterThan(0);
  expect(toNew.bytes).toBeLessThanOrEqual(3 * fromNew.bytes);
  expect(s.pathBytes.sent).toBeLessThanOrEqual(3 * s.pathBytes.received);

  // Let the PATH_RESPONSE through: the path is validated, cwnd and RTT restart, and the rest of the stream flows.
  wire.toServer = () => 'deliver';
  let got = 0;
  const done = wire.run(() => {
    for (;;) {
      const r = client.readStream(id, 1 << 20, wire.now);
      got += r.data.length;
      if (r.fin) return true;
      if (!r.data.length) return false;
    }
  }, 30_000);
  expect(done).toBe(true);
  expect(got).toBe(200_000);
  expect(s.isAddressValidated).toBe(true);
  expect(toNew.bytes).toBeGreaterThan(3 * fromNew.bytes);
  expect(drainEvents(s).filter((e) => e.type === 'path-validated')).toEqual([{ type: 'path-validated', host: moved.host, port: moved.port, congestionReset: true }]);
});

test('a port change on a new host that is still being validated still counts as a new host: validation resets cwnd and RTT', () => {
  const { client, wire, serverConn } = connectedPair();
  const s = serverConn();
  const hostMove = { host: '10.0.7.1', port: 50000 };
  const thenPort = { host: '10.0.7.1', port: 50001 };
  wire.clientAddress = hostMove;
  let fromNewHost = 0;
  wire.toServer = () => (fromNewHost++ === 0 ? 'deliver' : 'drop');
  client.ping();
  wire.run(() => false, 200);
  expect(s.remoteAddress).toEqual(hostMove);
  expect(s.isAddressValidated).toBe(false);
  // The NAT in front of the new host rebinds before any PATH_RESPONSE got through.
  wire.clientAddress = thenPort;
  wire.toServer = () => 'deliver';
  client.ping();
  expect(wire.run(() => s.isAddressValidated, 10_000)).toBe(true);
  expect(s.remoteAddress).toEqual(thenPort);
  expect(drainEvents(s).filter((e) => e.type === 'path-validated')).toEqual([{ type: 'path-validated', host: thenPort.host, port: thenPort.port, congestionReset: true }]);
  expect(s.recovery.congestion.window).toBe(INITIAL_WINDOW);
});
