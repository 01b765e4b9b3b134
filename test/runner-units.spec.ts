// Runner building blocks: generated content, network mapping, request naming, and in-process runs of small scenarios.
import { test, expect } from '@playwright/test';
import { GeneratedFiles } from '../interop/runner/content.js';
import { impairmentSpec, overridesFromList } from '../interop/runner/network.js';
import { parseScenario } from '../interop/scenario/load.js';
import { requestPaths } from '../interop/runner/requests.js';
import { runScenario } from '../interop/runner/run.js';
import { unsupportedReason } from '../interop/peers/types.js';
import { selfPeer } from '../interop/peers/self.js';
import { allocatePort, sliceFor, unassignedRange } from '../interop/runner/ports.js';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

test('generated content is a function of (path, offset): any slice equals the same range of the whole', () => {
  const f = new GeneratedFiles([['/a', 200_000], ['/b', 200_000]]);
  const whole = f.read('/a', 0, 200_000);
  expect(whole.length).toBe(200_000);
  for (const [off, len] of [[0, 10], [65_530, 20], [131_071, 70_000], [199_999, 5]] as const) {
    expect(Buffer.from(f.read('/a', off, len)).equals(Buffer.from(whole.subarray(off, off + len)))).toBe(true);
  }
  expect(Buffer.from(f.read('/b', 0, 64)).equals(Buffer.from(whole.subarray(0, 64)))).toBe(false);
  expect(f.size('/missing')).toBeUndefined();
  expect(f.digest('/a')).toBe(new GeneratedFiles([['/a', 200_000]]).digest('/a'));
});

test('scenario impairments map to simulator specs with their packet-kind filters', () => {
  expect(impairmentSpec({ kind: 'loss', rate: 0.3, burst: 3, only: ['initial'] })).toEqual({ loss: { rate: 0.3, burst: 3, kinds: ['initial'] } });
  expect(impairmentSpec({ kind: 'droplist', indices: [2, 3] })).toEqual({ droplist: { indices: [2, 3] } });
  expect(impairmentSpec({ kind: 'blackhole', windows: [{ fromMs: 1000, toMs: 3000 }] })).toEqual({ blackhole: { windows: [{ from: 1000, to: 3000 }] } });
  const o = overridesFromList([{ direction: 'to-client', index: 4, fate: 'drop' }]);
  expect(o?.get('to-client')?.get(4)).toBe('drop');
  expect(overridesFromList([])).toBeUndefined();
});

test('requests expand to named paths, counts numbered', () => {
  const s = parseScenario('name: r\nprotocol: quic\nclient: { requests: [{ size: 1KiB }, { size: 32B, count: 2 }, { size: 5MiB, path: /big }] }\n', 'r.yaml');
  expect(requestPaths(s)).toEqual([['/file-1-1KiB', 1024], ['/file-2-32B-1', 32], ['/file-2-32B-2', 32], ['/big', 5 * 1024 * 1024]]);
});

test('a missing feature or protocol makes a pair unsupported, naming it', () => {
  const s = parseScenario('name: r\nprotocol: tls\nrequires: [tls]\n', 'r.yaml');
  expect(unsupportedReason(s, selfPeer, selfPeer)).toMatch(/self (does not speak tls|\(client\) lacks feature tls)/);
});

test('in-process: a handshake scenario passes and is a pure function of the seed', () => {
  const s = parseScenario('name: h\nprotocol: quic\nnetwork: { to-client: [{ droplist: [1] }] }\nclient: { alpn: h3, requests: [{ size: 20KiB }] }\nexpect: { handshakes: 1, files: identical, within: 5s }\n', 'h.yaml');
  const a = runScenario(s, { seed: 11 });
  const b = runScenario(s, { seed: 11 });
  expect(a.verdict, a.reason).toBe('passed');
  expect(b.traceHash).toBe(a.traceHash);
  expect(a.metrics['datagramsDropped']).toBe(1);
  expect(a.checks.map((c) => c.name)).toEqual(['completed', 'handshakes', 'within', 'files-identical']);
});

test('in-process: expect verdict failed turns a failing run into a pass and a clean run into a failure', () => {
  const neg = parseScenario('name: n\nprotocol: quic\nnetwork: { to-server: [{ loss: { rate: 1 } }] }\nclient: { alpn: hq-interop, requests: [{ size: 1KiB }], idle-timeout: 2s }\nexpect: { handshakes: 1, verdict: failed }\n', 'n.yaml');
  const r = runScenario(neg, { seed: 1 });
  expect(r.verdict, r.reason).toBe('passed');
  expect(r.reason).toMatch(/^failed as expected: /);
  const clean = parseScenario('name: c\nprotocol: quic\nclient: { alpn: hq-interop, requests: [{ size: 1KiB }] }\nexpect: { handshakes: 1, verdict: failed }\n', 'c.yaml');
  expect(runScenario(clean, { seed: 1 }).verdict).toBe('failed');
});

test('real-peer server ports come from outside the kernel\'s ephemeral range and are free for TCP and UDP', async () => {
  // An ephemeral port can be taken by any outgoing connection between our probe and the peer's bind (EADDRINUSE).
  const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) {
    const p = await allocatePort();
    expect(p >= lo && p <= hi, `port ${p} inside ${lo}-${hi}`).toBe(false);
    expect(seen.has(p)).toBe(false);
    seen.add(p);
    // Free for TCP: a TLS peer can listen on it.
    await new Promise<void>((res, rej) => {
      const s = createServer().once('error', rej);
      s.listen(p, '127.0.0.1', () => s.close(() => res()));
    });
  }
  expect(unassignedRange([32768, 60999])).toEqual([10000, 32768]);
  expect(unassignedRange([1024, 60999])).toEqual([61000, 65536]);
  expect(unassignedRange([1024, 65535])).toEqual([10000, 65536]);
  // Parallel workers draw from disjoint slices.
  const a = sliceFor([10000, 32768], 0), b = sliceFor([10000, 32768], 1);
  expect(a[1]).toBeLessThanOrEqual(b[0]);
  expect(sliceFor([10000, 32768], undefined)).toEqual([10000, 32768]);
});
