// Regression: the time-threshold loss timer (RFC 9002 §6.1.2) must make progress when it fires exactly at its deadline
// with fractional times, and an hq-interop download through 5% loss each way must finish instead of busy-looping.
import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import { Recovery, createCongestionController, type SentPacket } from '../engine/quic/recovery/index.js';
import type { Address } from '../engine/endpoint.js';
import { QuicConnection } from '../engine/quic/connection.js';
import { QuicServer } from '../engine/quic/server.js';
import { QuicClientApp, QuicServerApp, withApp } from '../engine/apps/quic-app.js';
import { GeneratedFiles, generatedBytes } from '../engine/apps/generated-files.js';
import { simulate } from '../simulator/run.js';
import { baseConfig } from './quic-conn-harness.js';

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

const SERVER: Address = { host: '10.0.0.2', port: 443 };


for (const seed of [1, 2, 3]) {
  test(`hq-interop: 1 MiB download through 5% loss each way completes byte-identical (seed ${seed})`, () => {
    const clock = { now: 0 };
    const size = 1 << 20;
    const source = new GeneratedFiles();
    source.add('/one-mib', size);
    const tls = (role: 'client' | 'server') => ({ ...baseConfig(role).tls, alpn: ['hq-interop'] });
    const server = new QuicServer({ config: baseConfig('server', { tls: tls('server') }) });
    const serverApp = new QuicServerApp(source, () => clock.now);
    const conn = new QuicConnection({ role: 'client', config: baseConfig('client', { tls: tls('client') }), remote: SERVER, now: 0 });
    const hash = createHash('sha256');
    let bytes = 0;
    let outcome: { ok: boolean; detail?: string } | undefined;
    const app = new QuicClientApp(
      conn,
      'hq-interop',
      'localhost',
      {
        onData: (_p, c) => {
          hash.update(c);
          bytes += c.length;
        },
        onComplete: (_p, ok, detail) => (outcome = { ok, detail }),
      },
      () => clock.now,
    );
    app.request('/one-mib');
    const sim = simulate(
      withApp(conn, () => app.poll(), clock),
      withApp(server, () => {
        for (let c = server.accept(); c; c = server.accept()) void c;
        serverApp.poll(server.connections);
      }, clock),
      { 'to-client': [{ loss: { rate: 0.05 } }], 'to-server': [{ loss: { rate: 0.05 } }] },
      seed,
      { protocol: 'quic', until: () => app.idle && app.handshakeDone, maxSimulatedMs: 120_000, maxEvents: 2_000_000 },
    );
    expect(sim.outcome, sim.reason).toBe('stopped');
    const fates = sim.metrics.fates as Record<string, number>;
    expect(fates['dropped-by-loss'] ?? 0).toBeGreaterThan(0);
    expect(outcome, outcome?.detail).toEqual({ ok: true });
    expect(bytes).toBe(size);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(generatedBytes('/one-mib', 0, size)).digest('hex'));
  });
}
