// Regression: the time-threshold loss timer (RFC 9002 §6.1.2) must make progress when it fires exactly at its deadline
// with fractional times, and an hq-interop download through 5% loss each way must finish instead of busy-looping.
import { test, expect } from '@playwright/test';
import { Recovery, createCongestionController, type SentPacket } from '../engine/quic/recovery/index.js';
import { simulateDownload } from './helpers/sim-download.js';

type F = { pn: number };
const packet = (pn: number, timeSent: number): SentPacket<F> => ({ pn, space: 'application', timeSent, size: 1200, ackEliciting: true, inFlight: true, frames: [{ pn }] });

test('loss timer firing at its fractional deadline declares the packet lost (no re-arm at the same instant)', () => {
  let roundingCases = 0;
  for (let i = 0; i < 300; i++) {
    const r = new Recovery<F>({ role: 'client', congestion: createCongestionController('newreno') });
    r.setHandshakeConfirmed(0);
    r.onPacketSent(packet(0, 0));
    r.onAckReceived('application', { ranges: [{ smallest: 0, largest: 0 }] }, 0, 30.1);
    const t1 = 100 + i * 0.1 + 1 / 3;
    r.onPacketSent(packet(1, t1));
    r.onPacketSent(packet(2, t1 + 0.7));
    // Acking only pn 2 leaves pn 1 below the packet threshold: it waits for the time threshold.
    r.onAckReceived('application', { ranges: [{ smallest: 2, largest: 2 }] }, 0, t1 + 0.7 + 30.1 + i / 7);
    const due = r.nextTimeout()!;
    const delay = r.rtt.lossDelay();
    expect(due).toBe(t1 + delay);
    // The comparison the old code made: `timeSent <= now - lossDelay` is false here although now is the deadline.
    if (t1 > due - delay) roundingCases++;
    const fired = r.onTimeout(due);
    expect(fired.kind).toBe('loss');
    expect(fired.kind === 'loss' ? fired.lost.map((p) => p.pn) : []).toEqual([1]);
    const next = r.nextTimeout();
    expect(next === undefined || next > due).toBe(true);
  }
  // The sweep really exercises the rounding case the fix is about.
  expect(roundingCases).toBeGreaterThan(0);
});

for (const seed of [1, 2, 3]) {
  test(`hq-interop: 1 MiB download through 5% loss each way completes byte-identical (seed ${seed})`, () => {
    const size = 1 << 20;
    const loss = { loss: { rate: 0.05 } };
    const { sim, outcome, bytes, intact } = simulateDownload({ size, path: '/one-mib', network: { 'to-client': [loss], 'to-server': [loss] }, seed, until: 'idle' });
    expect(sim.outcome, sim.reason).toBe('stopped');
    const fates = sim.metrics.fates as Record<string, number>;
    expect(fates['dropped-by-loss'] ?? 0).toBeGreaterThan(0);
    expect(outcome, outcome?.detail).toEqual({ ok: true });
    expect(bytes).toBe(size);
    expect(intact).toBe(true);
  });
}
