// Simulator benchmark: simulated time ÷ wall time for a bulk transfer over the default link (15 ms one way, 10 Mbit/s,
// queue 25), goodput in simulated time against the link rate, and, measured in the same run, the wall time of only the
// AEAD work those bytes cost (seal + open of as many 1200-byte packets, AES-128-GCM) — the floor any real QUIC
// transfer through the simulator pays on top of the engine. For the QUIC run it also times every crypto call the
// endpoints make inside the run (AEAD, header protection, handshake) and adds the SHA-256 per datagram the trace
// carries: that crypto floor bounds the ratio any implementation on this machine and crypto backend could reach.
//
// Run: npm run build && node dist/bench/sim.js [--endpoint quic|fake] [--mb 10] [--loss 0] [--crypto node|noble] [--cc cubic|newreno|bbr]
//      [--metrics p1|p2] (with --json: only P1's speed figures, or only P2's link efficiency; default both)
// `quic` (default) is the whole stack: an hq-interop download from our QuicServer to an engine/quic client;
// `fake` is a paced sender of 1200-byte datagrams (the simulator's own cost). Profile with `node --cpu-prof`.

import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { nodeCrypto } from '../engine/crypto/node.js';
import type { CryptoProvider } from '../engine/crypto/provider.js';
import type { DatagramEndpoint } from '../engine/endpoint.js';
import { seededRandom } from '../engine/crypto/random.js';
import { QuicConnection } from '../engine/quic/connection.js';
import { QuicServer } from '../engine/quic/server.js';
import type { QuicConfig } from '../engine/quic/config.js';
import { QuicClientApp, QuicServerApp, withApp } from '../engine/apps/quic-app.js';
import { generatedBytes } from '../engine/apps/generated-files.js';
import type { FileSource } from '../engine/apps/transport.js';
import { createTlsSession } from '../engine/tls/session.js';
import { loadCertificateChain, loadPrivateKey, pemDecode } from '../engine/tls/x509/pem.js';
import { makePki } from '../test/helpers/pki.js';
import { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import { hashBytes } from '../simulator/trace.js';
import type { NetworkConfig } from '../simulator/network.js';
import { PacedSender, ScriptedEndpoint } from '../simulator/testing/fake-endpoints.js';
import { quicShort } from '../simulator/testing/packets.js';
import { emitBench, logger, peakRssMiB, wantsJson, type BenchMetric } from './emit.js';

let log: (line: string) => void = logger(false);

const DATAGRAM = 1200;

/** The congestion controller both QUIC endpoints use (the server's is the one that matters: it sends the file). */
export type SimCc = 'cubic' | 'newreno' | 'bbr';

interface Transfer {
  client: DatagramEndpoint;
  server: DatagramEndpoint;
  /** True once the payload has fully arrived (or the transfer ended). */
  done(): boolean;
  /** After the run: undefined when every byte arrived intact, else what went wrong. */
  verify(): string | undefined;
  label: string;
}

/** The one place that picks the endpoints under test. */
function makeTransfer(kind: 'fake' | 'quic', totalBytes: number, provider: CryptoProvider, cc: SimCc): Transfer {
  return kind === 'quic' ? quicDownload(totalBytes, provider, cc) : pacedFake(totalBytes);
}

function pacedFake(totalBytes: number): Transfer {
  const sink = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS);
  // 9.5 Mbit/s keeps the 10 Mbit/s link busy without overflowing its queue; 1-RTT-shaped bytes so the classifier works.
  const sender = new PacedSender(DEFAULT_SERVER_ADDRESS, totalBytes, DATAGRAM, 9_500_000, (_seq, n) => quicShort(n));
  let received = 0;
  const count = sink.receiveDatagram.bind(sink);
  sink.receiveDatagram = (data, from, now, local) => {
    received += data.length;
    count(data, from, now, local);
    sink.received.length = 0; // keep memory flat over 10 MB
  };
  return { client: sender, server: sink, done: () => received >= totalBytes, verify: () => (received >= totalBytes ? undefined : `${received} of ${totalBytes} bytes`), label: 'paced fake sender (1200-byte datagrams)' };
}


/** The whole stack: an hq-interop download of one generated file, engine/quic client ↔ our QuicServer. */
function quicDownload(totalBytes: number, provider: CryptoProvider, cc: SimCc): Transfer {
  const pki = makePki();
  const wallClock = Date.now() + 60_000; // certificate dates only; packet timing is the simulator's
  const common = (role: string): Pick<QuicConfig, 'crypto' | 'random' | 'clock' | 'createTls' | 'congestionControl'> => ({
    congestionControl: cc,
    crypto: provider,
    random: seededRandom(`bench/${role}`, (d) => nobleCrypto.hash('sha256', d)),
    clock: () => wallClock,
    createTls: createTlsSession,
  });
  const clock = { now: 0 };
  const path = '/bench';
  const client = new QuicConnection({
    role: 'client',
    config: { ...common('client'), tls: { serverName: 'localhost', alpn: ['hq-interop'], verify: { ca: pemDecode(readFileSync(pki.ca, 'utf8'), 'CERTIFICATE') } } },
    remote: DEFAULT_SERVER_ADDRESS,
    now: 0,
  });
  const server = new QuicServer({
    config: { ...common('server'), tls: { alpn: ['hq-interop'], certificateChain: loadCertificateChain(readFileSync(pki.leaf.ec.cert, 'utf8')), privateKey: loadPrivateKey(readFileSync(pki.leaf.ec.key, 'utf8')) } },
  });
  // The file is generated before the clock starts and served as views, so the bench measures the stack, not the source.
  const content = generatedBytes(path, 0, totalBytes);
  const files: FileSource = { size: (p) => (p === path ? totalBytes : undefined), read: (_p, offset, length) => content.subarray(offset, offset + length) };
  const serverApp = new QuicServerApp(files, () => clock.now);
  // Each chunk is compared with the served bytes at its offset as it arrives (a memcmp, no hashing and nothing kept).
  let mismatchAt: number | undefined;
  let received = 0;
  let finished: boolean | undefined;
  const app = new QuicClientApp(
    client,
    'hq-interop',
    'localhost',
    {
      onData: (_p, chunk) => {
        if (mismatchAt === undefined && Buffer.compare(chunk, content.subarray(received, received + chunk.length)) !== 0) mismatchAt = received;
        received += chunk.length;
      },
      onComplete: (_p, ok) => (finished = ok),
    },
    () => clock.now,
  );
  app.request(path);
  return {
    client: withApp(client, () => app.poll(), clock),
    server: withApp(server, () => {
      for (let c = server.accept(); c; c = server.accept()) void c;
      serverApp.poll(server.connections);
    }, clock),
    done: () => finished !== undefined,
    verify: () => {
      if (!finished || received !== totalBytes) return `download ${finished ? 'ended' : 'did not end'} with ${received} of ${totalBytes} bytes`;
      return mismatchAt === undefined ? undefined : `content differs from the served file at byte ${mismatchAt}`;
    },
    label: `engine/quic hq-interop download, client ↔ QuicServer (${provider.name} crypto, ${cc})`,
  };
}

/**
 * Wraps an endpoint so the wall time spent inside its calls adds up in `clock.ms`: what is left of the simulation's
 * wall time is the simulator's own (links, impairments, observers, trace, scheduler). The simulator never calls one
 * endpoint from inside another's call, so the intervals do not overlap.
 */
function timed(inner: DatagramEndpoint, clock: { ms: number; calls: number }): DatagramEndpoint {
  return {
    receiveDatagram(d, from, now, local) {
      const t = performance.now();
      inner.receiveDatagram(d, from, now, local);
      clock.ms += performance.now() - t;
      clock.calls++;
    },
    pollDatagrams(now) {
      const t = performance.now();
      const out = inner.pollDatagrams(now);
      clock.ms += performance.now() - t;
      clock.calls++;
      return out;
    },
    nextTimeout() {
      const t = performance.now();
      const next = inner.nextTimeout();
      clock.ms += performance.now() - t;
      clock.calls++;
      return next;
    },
    handleTimeout(now) {
      const t = performance.now();
      inner.handleTimeout(now);
      clock.ms += performance.now() - t;
      clock.calls++;
    },
  };
}

/** Wall time and call counts of the crypto the endpoints do inside the run, by kind. */
interface CryptoTally {
  seal: { ms: number; n: number };
  open: { ms: number; n: number };
  mask: { ms: number; n: number };
  /** Handshake public-key work and key schedule: sign, verify, ECDH, HKDF, HMAC, hashes. */
  handshake: { ms: number; n: number };
}

/**
 * The provider with every call timed into `tally`: what the run's crypto costs where it happens (cache and GC state
 * included), as opposed to the isolated AEAD loop below. Each call pays one performance.now() pair on top.
 */
function countedProvider(inner: CryptoProvider, tally: CryptoTally): CryptoProvider {
  const time = <T>(slot: { ms: number; n: number }, f: () => T): T => {
    const t = performance.now();
    try {
      return f();
    } finally {
      slot.ms += performance.now() - t;
      slot.n++;
    }
  };
  const hs = tally.handshake;
  return {
    name: inner.name,
    hashLength: (h) => inner.hashLength(h),
    hash: (h, d) => time(hs, () => inner.hash(h, d)),
    hasher: (h) => inner.hasher(h),
    hmac: (h, k, d) => time(hs, () => inner.hmac(h, k, d)),
    hkdfExtract: (h, salt, ikm) => time(hs, () => inner.hkdfExtract(h, salt, ikm)),
    hkdfExpand: (h, prk, info, n) => time(hs, () => inner.hkdfExpand(h, prk, info, n)),
    ecdhGenerate: (g, r) => {
      const pair = time(hs, () => inner.ecdhGenerate(g, r));
      return { group: pair.group, publicKey: pair.publicKey, deriveSecret: (peer) => time(hs, () => pair.deriveSecret(peer)) };
    },
    verify: (alg, key, m, sig) => time(hs, () => inner.verify(alg, key, m, sig)),
    sign: (alg, key, m, r) => time(hs, () => inner.sign(alg, key, m, r)),
    aead: (name, key) => {
      const a = inner.aead(name, key);
      return {
        keyLength: a.keyLength,
        tagLength: a.tagLength,
        seal: (nonce, plain, aad) => time(tally.seal, () => a.seal(nonce, plain, aad)),
        open: (nonce, cipher, aad) => time(tally.open, () => a.open(nonce, cipher, aad)),
        ...(a.sealInPlace ? { sealInPlace: (nonce: Uint8Array, packet: Uint8Array, aadLength: number, n: number) => time(tally.seal, () => a.sealInPlace!(nonce, packet, aadLength, n)) } : {}),
      };
    },
    headerProtection: (name, key) => {
      const hp = inner.headerProtection(name, key);
      return { mask: (sample) => time(tally.mask, () => hp.mask(sample)) };
    },
  };
}

/** Wall time of SHA-256 over datagrams of the trace's lengths: the per-datagram hash the canonical trace carries. */
function traceHashWallMs(lengths: number[]): number {
  const buf = new Uint8Array(2048).fill(0x5a);
  for (let i = 0; i < 50; i++) hashBytes(buf.subarray(0, 1200)); // warm-up
  const start = performance.now();
  for (const n of lengths) hashBytes(buf.subarray(0, n));
  return performance.now() - start;
}

/** What one performance.now() pair costs here, so the endpoint share can be corrected for the timing itself. */
function timerPairUs(): number {
  const n = 20_000;
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    sink += performance.now() - t;
  }
  return sink < 0 ? 0 : ((performance.now() - start) * 1000) / n;
}

/** Wall time of sealing and opening `bytes` worth of 1200-byte packets with one key, the way a transfer uses AEAD. */
function aeadWallMs(provider: CryptoProvider, bytes: number): number {
  const aead = provider.aead('aes-128-gcm', new Uint8Array(16).fill(7));
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  const aad = new Uint8Array(20);
  const plain = new Uint8Array(DATAGRAM - 20 - 16);
  const packets = Math.ceil(bytes / DATAGRAM);
  for (let i = 0; i < 50; i++) aead.open(nonce, aead.seal(nonce, plain, aad), aad); // warm-up
  const start = performance.now();
  for (let i = 0; i < packets; i++) {
    view.setUint32(8, i);
    if (aead.open(nonce, aead.seal(nonce, plain, aad), aad) === null) throw new Error('bench: AEAD open failed');
  }
  return performance.now() - start;
}

export interface SimBenchResult {
  outcome: string;
  simulatedMs: number;
  wallMs: number;
  cpuMs: number;
  /** Peak RSS when the simulation ended (before the crypto-floor measurements). */
  peakRssMiB: number;
  goodputBps: number;
  aeadMs: number;
  /** QUIC only: the crypto the run paid (timed inside it) plus the trace fingerprint's hashing of the same datagrams. */
  floorMs?: number;
  datagrams: number;
  /** Wall time inside endpoint calls, and the rest (the simulator's own). */
  endpointMs: number;
  simulatorMs: number;
}

export function runSimBench(mb = 10, loss = 0, endpoint: 'fake' | 'quic' = 'quic', provider: CryptoProvider = nodeCrypto, cc: SimCc = 'cubic'): SimBenchResult {
  const total = Math.round(mb * 1024 * 1024);
  const linkBps = 10_000_000;
  const network: NetworkConfig = {
    link: { delay: 15, bandwidth: linkBps, queue: 25 },
    ...(loss ? { 'to-server': [{ loss: { rate: loss } }], 'to-client': [{ loss: { rate: loss } }] } : {}),
  };
  const tally: CryptoTally = { seal: { ms: 0, n: 0 }, open: { ms: 0, n: 0 }, mask: { ms: 0, n: 0 }, handshake: { ms: 0, n: 0 } };
  const t = makeTransfer(endpoint, total, countedProvider(provider, tally), cc);
  const inEndpoints = { ms: 0, calls: 0 };
  const client = timed(t.client, inEndpoints);
  const server = timed(t.server, inEndpoints);
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const r = simulate(client, server, network, 'bench', { protocol: 'quic', until: () => t.done() });
  const cpu = process.cpuUsage(cpuStart);
  const wall = performance.now() - start;
  // Taken here, before the crypto-floor loops below run: those are this bench's own measurements, not the goodput run,
  // and where V8 happened to grow its young generation during them the process peak moved by 30 MiB between builds
  // whose runs peaked alike (issue 15).
  const peakRssMiBRun = peakRssMiB();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const problem = t.verify();
  const goodputBps = (total * 8 * 1000) / Math.max(r.simulatedMs, 1e-9);
  log(`simulator: ${t.label}, ${mb} MB over 15 ms / 10 Mbit/s / queue 25${loss ? `, ${loss * 100}% loss each way` : ''}`);
  log(`  outcome ${r.outcome}${r.reason ? ` (${r.reason})` : ''}, ${problem ? `FAILED: ${problem}` : 'all bytes intact'}`);
  log(`  ${r.events} events, ${r.trace.length} datagrams ${JSON.stringify(r.metrics.datagrams)}, fates ${JSON.stringify(r.metrics.fates)}`);
  log(`  simulated ${(r.simulatedMs / 1000).toFixed(2)} s in ${(wall / 1000).toFixed(2)} s wall: ${(r.simulatedMs / wall).toFixed(1)}× real time`);
  // On a shared machine wall time includes waiting for a core; the process's CPU time is the steadier figure.
  log(`  CPU time ${(cpuMs / 1000).toFixed(2)} s: ${(r.simulatedMs / cpuMs).toFixed(1)}× real time per CPU-second`);
  // The ceiling: every datagram of the data direction back to back on the wire (28 bytes of IPv4+UDP each). What is
  // left below it is idle link time; what separates it from 10 Mbit/s is per-packet overhead (headers, AEAD tag).
  const wireBits = { 'to-client': 0, 'to-server': 0 };
  for (const e of r.trace) wireBits[e.direction] += (e.length + 28) * 8;
  const busyMs = (Math.max(wireBits['to-client'], wireBits['to-server']) * 1000) / linkBps;
  const ceilingBps = (total * 8 * 1000) / busyMs;
  log(`  goodput ${(goodputBps / 1e6).toFixed(2)} Mbit/s in simulated time = ${((goodputBps / linkBps) * 100).toFixed(1)}% of the 10 Mbit/s link, ${((goodputBps / ceilingBps) * 100).toFixed(1)}% of the ${(ceilingBps / 1e6).toFixed(2)} Mbit/s its datagrams could carry back to back (the data direction's link busy ${((busyMs / r.simulatedMs) * 100).toFixed(1)}% of the time)`);
  log(`  wall per datagram ${((wall * 1000) / Math.max(1, r.trace.length)).toFixed(1)} µs (trace hashing included)`);
  // Attribution: wall time inside endpoint calls vs the rest (the simulator). The timing pairs' own cost is reported
  // apart (about half of each pair falls inside the measured interval), since it would not exist unmeasured.
  const pairMs = (timerPairUs() * inEndpoints.calls) / 1000;
  const endpointMs = Math.max(0, inEndpoints.ms - pairMs / 2);
  const simMs = Math.max(0, wall - endpointMs - pairMs);
  const n = Math.max(1, r.trace.length);
  log(`  wall split: endpoints ${endpointMs.toFixed(0)} ms (${((endpointMs / wall) * 100).toFixed(0)}%, ${((endpointMs * 1000) / n).toFixed(1)} µs/datagram), simulator ${simMs.toFixed(0)} ms (${((simMs / wall) * 100).toFixed(0)}%, ${((simMs * 1000) / n).toFixed(1)} µs/datagram), timing itself ${pairMs.toFixed(0)} ms over ${inEndpoints.calls} endpoint calls`);
  log(`  simulator alone would run at ${(r.simulatedMs / Math.max(simMs, 1e-9)).toFixed(1)}× real time`);
  // On a loaded machine wall time is mostly waiting for a core, spread over both sides alike; the same split applied
  // to the process's CPU time is the steadier estimate (it also carries JIT and GC threads, as a real run does).
  const simCpuMs = (cpuMs * simMs) / wall;
  log(`  the same split of CPU time: simulator ≈ ${simCpuMs.toFixed(0)} ms = ${((simCpuMs * 1000) / n).toFixed(1)} µs/datagram, endpoints ≈ ${((cpuMs * endpointMs) / wall).toFixed(0)} ms (load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`);
  const aeadMs = aeadWallMs(provider, total);
  log(`  AEAD only (${provider.name}, aes-128-gcm seal+open of the same bytes): ${aeadMs.toFixed(0)} ms = ${((aeadMs / wall) * 100).toFixed(0)}% of the simulation's wall time`);
  let floorMs: number | undefined;
  if (endpoint === 'quic') {
    // The floor under any implementation of this run on this machine: the crypto the protocol requires, as the run
    // paid it, plus the SHA-256 per datagram the trace requires. Engines and simulator at zero cost would still need it.
    const hashMs = traceHashWallMs(r.trace.map((e) => e.length));
    const part = (label: string, x: { ms: number; n: number }) => `${label} ${x.ms.toFixed(0)} ms (${x.n}, ${x.n ? ((x.ms * 1000) / x.n).toFixed(1) : '0'} µs each)`;
    const inRun = tally.seal.ms + tally.open.ms + tally.mask.ms + tally.handshake.ms;
    const timingMs = (timerPairUs() * (tally.seal.n + tally.open.n + tally.mask.n + tally.handshake.n)) / 1000;
    log(`  crypto inside the run (${provider.name}): ${part('AEAD seal', tally.seal)}, ${part('open', tally.open)}, ${part('header protection', tally.mask)}, ${part('handshake', tally.handshake)}; ${inRun.toFixed(0)} ms = ${((inRun / wall) * 100).toFixed(0)}% of wall time (its timing adds ≈ ${timingMs.toFixed(0)} ms)`);
    floorMs = inRun + hashMs;
    log(`  crypto floor: that + the trace's SHA-256 of every datagram (${hashMs.toFixed(0)} ms, same lengths, measured after) = ${floorMs.toFixed(0)} ms → with engines and simulator free this run could reach at most ${(r.simulatedMs / floorMs).toFixed(1)}× real time`);
  }
  return { outcome: problem ? `${r.outcome}: ${problem}` : r.outcome, simulatedMs: r.simulatedMs, wallMs: wall, cpuMs, goodputBps, aeadMs, ...(floorMs !== undefined ? { floorMs } : {}), datagrams: r.trace.length, endpointMs, simulatorMs: simMs, peakRssMiB: peakRssMiBRun };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const flag = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const endpoint = flag('endpoint') === 'fake' ? 'fake' : 'quic';
  const provider = flag('crypto') === 'noble' ? nobleCrypto : nodeCrypto;
  const json = wantsJson();
  log = logger(json);
  const loss = Number(flag('loss') ?? 0);
  const ccFlag = flag('cc') ?? 'cubic';
  if (ccFlag !== 'cubic' && ccFlag !== 'newreno' && ccFlag !== 'bbr') throw new Error(`--cc must be cubic, newreno or bbr, not ${ccFlag}`);
  const cc: SimCc = ccFlag;
  const r = runSimBench(Number(flag('mb') ?? 10), loss, endpoint, provider, cc);
  if (json) {
    // P1 is the lossless QUIC run (issue 15); a lossy run reports its link efficiency under P2's loss figure. The default
    // controller (CUBIC) keeps the ids it always had; another one is tagged with its name.
    const tag = (loss ? `loss${+(loss * 100).toFixed(2)}` : 'loss0') + (cc === 'cubic' ? '' : `.${cc}`);
    const only = flag('metrics');
    const metrics: BenchMetric[] = [];
    if (only !== 'p1') {
      metrics.push({ id: `sim.${tag}.goodput`, name: `P2 goodput ${cc}, ${+(loss * 100).toFixed(2)}% loss (% of link)`, value: (r.goodputBps / 10_000_000) * 100, unit: '%', goal: loss ? '≥ 80' : '≥ 95', better: 'higher' });
    }
    if (!loss && cc === 'cubic' && only !== 'p2') {
      metrics.unshift(
        { id: 'p1.realtime', name: 'P1 goodput self↔self: simulated / wall', value: r.simulatedMs / r.wallMs, unit: '×', goal: '≥ 20', better: 'higher' },
        { id: 'p1.realtime-cpu', name: 'P1 simulated / CPU time', value: r.simulatedMs / r.cpuMs, unit: '×', better: 'higher' },
        { id: 'p1.us-per-datagram', name: 'P1 wall per datagram', value: (r.wallMs * 1000) / Math.max(1, r.datagrams), unit: 'µs', better: 'lower' },
      );
      if (r.floorMs !== undefined) metrics.push({ id: 'p1.over-floor', name: 'P1 wall / crypto floor', value: r.wallMs / r.floorMs, unit: '×', goal: '≤ 2', better: 'lower' });
      metrics.push({ id: 'mem.goodput-peak-rss', name: 'peak RSS of the goodput run', value: r.peakRssMiB, unit: 'MiB', better: 'lower' });
    }
    emitBench({ bench: 'sim', metrics, notes: [`sim ${endpoint} ${provider.name} ${cc} loss ${loss}: ${r.outcome}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`] });
  }
}
