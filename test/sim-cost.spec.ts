// The simulator's cheap per-datagram paths keep their meaning: re-armable timers order like fresh events, the binary
// trace fingerprint covers every field the text shows (and nothing else), link admission matches Link.enter, and the
// amplification observer's shortcuts do not change its verdicts.

import { test, expect } from '@playwright/test';
import { Link, DROPPED_MTU, DROPPED_QUEUE } from '../simulator/link.js';
import { AmplificationObserver } from '../simulator/observers/amplification.js';
import type { WireEvent } from '../simulator/observers/observer.js';
import { classify } from '../simulator/classify.js';
import { Scheduler } from '../simulator/scheduler.js';
import { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import { Trace, hashBytes, type TraceEntry } from '../simulator/trace.js';
import { PacedSender, ScriptedEndpoint } from '../simulator/testing/fake-endpoints.js';
import { quicLong, quicShort } from '../simulator/testing/packets.js';
import { createHash } from 'node:crypto';

test('scheduler timer: a re-armed timer runs once, in the order of its last arming; a disarmed one never runs', () => {
  const s = new Scheduler();
  const order: string[] = [];
  const t = s.timer((now) => order.push(`timer@${now}`));
  s.arm(t, 5);
  s.at(5, () => order.push('a'));
  s.arm(t, 5); // re-armed after 'a': now runs after it, and only once
  s.at(5, () => order.push('b'));
  const gone = s.timer(() => order.push('never'));
  s.arm(gone, 2);
  s.arm(gone, undefined);
  expect(t.due).toBe(5);
  expect(gone.due).toBeUndefined();
  expect(s.run()).toBe('idle');
  expect(order).toEqual(['a', 'timer@5', 'b']);
  // Three events ran: the superseded arming left the queue instead of firing as a no-op.
  expect(s.events).toBe(3);
  expect(t.due).toBeUndefined();

  // Moving a timer earlier and later among many events keeps (time, sequence) order.
  const s2 = new Scheduler();
  const seen: number[] = [];
  for (let i = 0; i < 50; i++) s2.at((i * 7) % 23, (now) => seen.push(now));
  const t2 = s2.timer((now) => seen.push(now));
  for (const at of [20, 3, 17, 11]) s2.arm(t2, at);
  s2.run();
  expect(seen.length).toBe(51);
  expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  // A time in the past runs now, after what is already due.
  const s3 = new Scheduler();
  const log: string[] = [];
  s3.at(4, () => {
    s3.at(4, () => log.push('due'));
    s3.arm(t3, 1);
  });
  const t3 = s3.timer((now) => log.push(`timer@${now}`));
  s3.run();
  expect(log).toEqual(['due', 'timer@4']);
});

test('link: admit() gives the same arrivals and drops as enter()', () => {
  const a = new Link({ queue: 3, mtu: 1300 });
  const b = new Link({ queue: 3, mtu: 1300 });
  const sizes = [1222, 1222, 1400, 1222, 1222, 1222, 1222, 60, 1222];
  const times = [0, 0, 0, 0.5, 0.5, 1, 2.5, 2.5, 9];
  for (let i = 0; i < sizes.length; i++) {
    const r = a.enter(sizes[i]!, times[i]!);
    const n = b.admit(sizes[i]!, times[i]!);
    if ('dropped' in r) expect(n).toBe(r.dropped === 'mtu' ? DROPPED_MTU : DROPPED_QUEUE);
    else expect(n).toBe(r.arrival);
  }
});

function entry(over: Partial<TraceEntry> = {}): Omit<TraceEntry, 'seq'> {
  return {
    time: 1.5, direction: 'to-server', index: 1, copy: 0, length: 1200, kind: '1rtt', kinds: ['1rtt'],
    sha256: hashBytes(new Uint8Array(1200)), from: { host: '10.0.0.1', port: 50000 }, to: { host: '10.0.0.2', port: 443 },
    fate: 'delivered', effects: [], arrivedAt: 16.5, ...over,
  };
}

const fingerprint = (...es: Omit<TraceEntry, 'seq'>[]) => {
  const t = new Trace();
  for (const e of es) t.add(e);
  return { hash: t.hash(), text: t.text() };
};

test('trace fingerprint: every field of a line changes it; equal content gives equal hashes whatever the objects', () => {
  const base = fingerprint(entry(), entry({ index: 2, time: 2.5 }));
  expect(base.hash).toMatch(/^[0-9a-f]{64}$/);
  // The same content built from fresh objects (addresses, arrays) hashes the same.
  expect(fingerprint(entry({ from: { ...DEFAULT_CLIENT_ADDRESS }, kinds: ['1rtt'] }), entry({ index: 2, time: 2.5 })).hash).toBe(base.hash);
  const variants: Partial<TraceEntry>[] = [
    { time: 1.501 }, { direction: 'to-client' }, { index: 3 }, { copy: 1 }, { length: 1199 }, { kinds: ['initial'] },
    { kinds: ['initial', 'handshake'] }, { fate: 'dropped-by-loss' }, { effects: ['corrupted'] }, { effects: ['corrupted', 'delayed'] },
    { from: { host: '10.0.0.1', port: 50001 } }, { to: { host: '10.0.0.3', port: 443 } }, { arrivedAt: 16.501 }, { arrivedAt: undefined },
    { arrivedLength: 600 }, { sha256: hashBytes(new Uint8Array(1199)) },
  ];
  const hashes = new Set([base.hash]);
  for (const v of variants) {
    const f = fingerprint(entry(v), entry({ index: 2, time: 2.5 }));
    expect(f.text, JSON.stringify(v)).not.toBe(base.text);
    hashes.add(f.hash);
  }
  expect(hashes.size).toBe(variants.length + 1);
  // Order matters too; times count to the microsecond, as in the text.
  expect(fingerprint(entry({ index: 2, time: 2.5 }), entry()).hash).not.toBe(base.hash);
  expect(fingerprint(entry({ time: 1.5000001 }), entry({ index: 2, time: 2.5 })).hash).toBe(base.hash);
});

test('trace text: one line per datagram in the documented order, built only when read', () => {
  const sink = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS);
  const sender = new PacedSender(DEFAULT_SERVER_ADDRESS, 12_000, 1200, 9_500_000, (_s, n) => quicShort(n));
  const r = simulate(sender, sink, {}, 'cost');
  const lines = r.traceText.split('\n');
  expect(lines.at(-1)).toBe('');
  expect(lines.length - 1).toBe(r.trace.length);
  expect(lines[0]).toBe(`0.000 to-server 1 0 1200 1rtt delivered - 10.0.0.1:50000 10.0.0.2:443 ${r.trace[0]!.arrivedAt!.toFixed(3)} - ${createHash('sha256').update(quicShort(1200)).digest('hex')}`);
  expect(r.traceText).toBe(r.traceText); // cached, the same string
});

test('amplification: the per-address shortcut keeps verdicts for interleaved addresses and after validation', () => {
  const a1 = { host: '10.0.0.1', port: 50000 };
  const a2 = { host: '10.0.0.1', port: 50001 };
  const o = new AmplificationObserver();
  const ev = (direction: 'to-server' | 'to-client', addr: { host: string; port: number }, data: Uint8Array): WireEvent =>
    ({ time: 0, direction, from: direction === 'to-server' ? { ...addr } : DEFAULT_SERVER_ADDRESS, to: direction === 'to-server' ? DEFAULT_SERVER_ADDRESS : { ...addr }, data, classification: classify(data, { protocol: 'quic' }), entry: undefined as unknown as TraceEntry });
  const initial = quicLong('initial', { payload: 1160 });
  o.onDeliver(ev('to-server', a1, initial));
  o.onDeliver(ev('to-server', a2, initial));
  // a1 validates with a Handshake packet; a2 does not.
  o.onDeliver(ev('to-server', a1, quicLong('handshake', { payload: 100 })));
  for (let i = 0; i < 3; i++) {
    o.onSend(ev('to-client', a1, quicShort(1200)));
    o.onSend(ev('to-client', a2, quicShort(1100)));
  }
  expect(o.checks()[0]!.ok).toBe(true);
  o.onSend(ev('to-client', a1, quicShort(1200)));
  expect(o.checks()[0]!.ok).toBe(true);
  o.onSend(ev('to-client', a2, quicShort(1200)));
  const c = o.checks()[0]!;
  expect(c.ok).toBe(false);
  expect(c.detail).toContain('10.0.0.1:50001');
});
