import { test, expect } from '@playwright/test';
import { SendStream } from '../engine/quic/stream-send.js';

// The sending half of a stream keeps bytes until they are acknowledged (DESIGN.md §2: retransmit frames, not packets).
// The same bytes can be in flight, queued for resending and acknowledged at once: a PTO re-queues the frames of packets
// still in flight (connection.ts requeueOldestUnackedStreamData), and a spuriously lost packet's copy may be acknowledged.

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

test('a range re-queued while in flight and then acknowledged is not read from the freed buffer', () => {
  // Minimal sequence found by fuzzing (INTERNAL_ERROR "Cannot read properties of undefined (reading 'offset')"):
  // write 10 bytes, send them, a PTO re-queues that frame, the original packet is acknowledged, send again.
  const s = new SendStream(0, 1 << 20);
  s.write(bytes(10, 1));
  const first = s.nextChunk(100, 1 << 20);
  s.onLost(0, 10, false);
  s.onAcked(0, 10, false);
  let again: ReturnType<SendStream['nextChunk']> | 'threw';
  try {
    again = s.nextChunk(100, 1 << 20);
  } catch {
    again = 'threw';
  }
  expect({ first: first?.chunk.offset, again, hasData: s.hasData() }).toEqual({ first: 0, again: undefined, hasData: false });
});

test('after an acknowledged re-queued range, new bytes go at their own offset with their own contents', () => {
  // Before the fix this sent offset 0 carrying bytes 10..19, and bytes 10..19 were never sent at all (a stall).
  const s = new SendStream(0, 1 << 20);
  s.write(bytes(10, 1));
  s.nextChunk(100, 1 << 20);
  s.onLost(0, 10, false);
  s.onAcked(0, 10, false);
  s.write(bytes(10, 2));
  const next = s.nextChunk(100, 1 << 20);
  expect({ offset: next?.chunk.offset, data: [...(next?.chunk.data ?? [])], newBytes: next?.newBytes }).toEqual({ offset: 10, data: [...bytes(10, 2)], newBytes: 10 });
});

test('a FIN re-queued and then acknowledged through the original packet is not sent again', () => {
  const s = new SendStream(0, 1 << 20);
  s.write(bytes(5, 1), true);
  const c = s.nextChunk(100, 1 << 20)!.chunk;
  s.onLost(c.offset, c.data.length, c.fin);
  s.onAcked(c.offset, c.data.length, c.fin);
  expect({ fin: c.fin, next: s.nextChunk(100, 1 << 20), state: s.state }).toEqual({ fin: true, next: undefined, state: 'data-recvd' });
});

test('a stream whose every re-queued byte was acknowledged elsewhere returns to data-sent', () => {
  const s = new SendStream(0, 1 << 20);
  s.write(bytes(20, 1), true);
  s.nextChunk(10, 1 << 20); // [0, 10)
  s.nextChunk(100, 1 << 20); // [10, 20) + FIN
  const before = s.state;
  s.onLost(0, 10, false); // re-queued by a PTO
  const requeued = s.state;
  s.onAcked(0, 10, false); // ... and acknowledged after all
  expect([before, requeued, s.state, s.hasData()]).toEqual(['data-sent', 'send', 'data-sent', false]);
});

// ---------------------------------------------------------------------------------------------------------------
// Model-based check: random interleavings of write / send / lose / PTO re-queue / acknowledge / credit, checked against
// a plain byte model. Mismatches are collected and asserted once at the end (many expect() calls slow Playwright).

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SentFrame {
  offset: number;
  length: number;
  fin: boolean;
}

/** Runs one seeded sequence; returns the problems found (empty when the stream behaved like the model). */
function modelRun(seed: number, ops: number): string[] {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const maxBuffered = 256 + int(4096);
  const s = new SendStream(0, int(2000), maxBuffered);
  // Every byte written, by offset, and what acknowledged frames delivered to the peer (-1: nothing yet).
  let model = new Uint8Array(1 << 16);
  let written = 0;
  let received = new Int16Array(model.length).fill(-1);
  const inFlight: SentFrame[] = [];
  const log: string[] = [];
  const problems: string[] = [];
  let finSent = false;
  let finAcked = false;
  let concluded = false;

  const fail = (what: string) => {
    if (problems.length < 5) problems.push(`seed ${seed}: ${what}; last ops: ${log.slice(-12).join(', ')}`);
  };
  const send = (maxBytes: number, credit: number): boolean => {
    const r = s.nextChunk(maxBytes, credit);
    if (!r) return false;
    const { offset, data, fin } = r.chunk;
    log.push(`send ${offset}+${data.length}${fin ? ' fin' : ''}`);
    if (offset + data.length > written) fail(`sent ${offset}+${data.length} beyond the ${written} bytes written`);
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== model[offset + i]) {
        fail(`sent byte ${offset + i} = ${data[i]}, written ${model[offset + i]}`);
        break;
      }
    }
    if (fin && (!concluded || offset + data.length !== written)) fail(`FIN at ${offset + data.length} of ${written} (concluded ${concluded})`);
    if (fin) finSent = true;
    inFlight.push({ offset, length: data.length, fin });
    return true;
  };
  const ack = (f: SentFrame) => {
    log.push(`ack ${f.offset}+${f.length}${f.fin ? ' fin' : ''}`);
    s.onAcked(f.offset, f.length, f.fin);
    for (let i = f.offset; i < f.offset + f.length; i++) received[i] = model[i]!;
    if (f.fin) finAcked = true;
  };
  const pick = (remove: boolean): SentFrame | undefined => {
    if (!inFlight.length) return undefined;
    const i = int(inFlight.length);
    const f = inFlight[i]!;
    if (remove) inFlight.splice(i, 1);
    return f;
  };

  try {
    for (let op = 0; op < ops; op++) {
      const r = rand();
      if (r < 0.25) {
        if (concluded) continue;
        const n = 1 + int(300);
        const data = new Uint8Array(n);
        const base = int(256);
        for (let i = 0; i < n; i++) data[i] = (base + i * 31) & 0xff;
        const fin = rand() < 0.002;
        const took = s.write(data, fin, rand() < 0.5);
        log.push(`write ${took}/${n}${fin ? ' fin' : ''}`);
        if (written + took > model.length) {
          const m = new Uint8Array(model.length * 2);
          m.set(model);
          model = m;
          const r2 = new Int16Array(m.length).fill(-1);
          r2.set(received);
          received = r2;
        }
        model.set(data.subarray(0, took), written);
        written += took;
        if (fin && took === n) concluded = true;
      } else if (r < 0.5) {
        send(1 + int(1400), int(3000));
      } else if (r < 0.6) {
        const f = pick(true); // declared lost: the packet leaves recovery
        if (f) {
          log.push(`lose ${f.offset}+${f.length}${f.fin ? ' fin' : ''}`);
          s.onLost(f.offset, f.length, f.fin);
        }
      } else if (r < 0.7) {
        const f = pick(false); // PTO probe: re-queued, the packet stays in flight
        if (f) {
          log.push(`requeue ${f.offset}+${f.length}${f.fin ? ' fin' : ''}`);
          s.onLost(f.offset, f.length, f.fin);
        }
      } else if (r < 0.95) {
        const f = pick(true);
        if (f) ack(f);
      } else {
        const limit = s.credit.limit + int(4000);
        log.push(`credit ${limit}`);
        s.credit.raise(limit);
      }
    }
    // Drain: conclude, lift every limit, send and acknowledge until nothing is left.
    if (!concluded) {
      s.conclude();
      concluded = true;
      log.push('conclude');
    }
    s.credit.raise(Number.MAX_SAFE_INTEGER);
    for (let round = 0; round < 10_000; round++) {
      let sent = false;
      while (send(1 + int(1400), Number.MAX_SAFE_INTEGER)) sent = true;
      if (!sent && !inFlight.length) break;
      while (inFlight.length) ack(pick(true)!);
    }
  } catch (e) {
    fail(`threw ${(e as Error).message}`);
    return problems;
  }
  if (!finSent || !finAcked) fail(`FIN sent ${finSent}, acknowledged ${finAcked}`);
  for (let i = 0; i < received.length; i++) {
    if (received[i] !== (i < written ? model[i] : -1)) {
      fail(`peer byte ${i} = ${received[i]}, written ${i < written ? model[i] : 'nothing'}`);
      break;
    }
  }
  if (s.state !== 'data-recvd') fail(`state ${s.state} after everything was acknowledged`);
  if (s.hasData()) fail('still has data after everything was acknowledged');
  return problems;
}

test('model: random write / send / lose / re-queue / ack / credit sequences deliver exactly the written bytes', () => {
  const problems: string[] = [];
  let seeds = 0;
  for (let seed = 1; seed <= 200 && problems.length < 5; seed++, seeds++) problems.push(...modelRun(seed, 3000));
  expect({ seeds, problems }).toEqual({ seeds: 200, problems: [] });
});
