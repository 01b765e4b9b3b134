// Real-time UDP relay between one client and a real peer on loopback (the only simulator module with sockets and a
// clock): every datagram goes through the same impairment pipeline, link model and observers as in simulation,
// and its fate comes from the same named streams by its index in its direction (DESIGN.md §4), so a replay with the
// same seed impairs the same datagrams even though the peers' timing is their own.

import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { addressKey, type Address } from '../engine/endpoint.js';
import { CaptureRecorder, type CapturedDatagram } from './capture/recorder.js';
import { Network, type NetworkConfig } from './network.js';
import { standardObservers, type KeyPhaseKeys, type WireObserver } from './observers/index.js';
import { Scheduler } from './scheduler.js';
import type { TraceEntry } from './trace.js';
import type { Check, FateDecision, FateOverrides } from './types.js';

export interface RelayOptions {
  /** The real server. */
  target: Address;
  /** Where the client should send (default 127.0.0.1, port 0 = any free port). */
  listen?: Address;
  /** Impairments per direction; the link model applies only when `network.link` is given (real loopback has none). */
  network?: NetworkConfig;
  seed: string | number;
  protocol?: 'quic' | 'dtls';
  fateOverrides?: FateOverrides;
  observers?: WireObserver[];
  keyPhaseKeys?: KeyPhaseKeys;
  capture?: boolean;
}

export interface Relay {
  /** The address clients send to. */
  readonly address: Address;
  readonly port: number;
  trace(): TraceEntry[];
  /** trace.txt: one line per datagram, as virtual-time runs write it. */
  traceText(): string;
  traceHash(): string;
  checks(): Check[];
  metrics(): Record<string, unknown>;
  decisions(): FateDecision[];
  /** Distinct client addresses seen (each process of a multi-connection client has its own socket). */
  clients(): number;
  /** The datagrams as sent, with their trace entries (pcapng and the wire checks read them). */
  readonly capture?: { readonly datagrams: CapturedDatagram[] };
  /** Closes the sockets and cancels pending deliveries; datagrams still in flight keep fate 'in-flight'. */
  stop(): Promise<void>;
}

function bind(sock: Socket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
}

/** A rebinding host we can really bind on loopback (127.0.0.0/8), else the loopback default. */
function bindableHost(host: string): string {
  return /^127\.\d+\.\d+\.\d+$/.test(host) ? host : '127.0.0.1';
}

const LATENESS_BUCKETS = 10_000; // 0.1 ms each: up to 1 s

/** Timer lateness percentiles (ms) from the relay's histogram; p99 ≥ 1000 means "a second or more". */
export function latenessSummary(h: Uint32Array): { timers: number; p50Ms: number; p99Ms: number; maxMs: number } {
  let total = 0;
  for (const c of h) total += c;
  const at = (q: number): number => {
    let seen = 0;
    for (let i = 0; i < h.length; i++) {
      seen += h[i]!;
      if (seen >= q * total && seen > 0) return i / 10;
    }
    return 0;
  };
  let max = 0;
  for (let i = h.length - 1; i >= 0; i--) if (h[i]) { max = i / 10; break; }
  return { timers: total, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: max };
}

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const listenAddr = opts.listen ?? { host: '127.0.0.1', port: 0 };
  const front = createSocket('udp4');
  await bind(front, listenAddr.host, listenAddr.port);
  const address: Address = { host: front.address().address, port: front.address().port };

  const started = performance.now();
  const clock = () => performance.now() - started;
  const sched = new Scheduler({ maxEvents: Number.MAX_SAFE_INTEGER, maxTime: Infinity });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // Many clients: each new client socket (a QIR client making one connection per URL) gets its own upstream socket.
  // A rebinding impairment gives a client a new external address; answers to it go back to the client that sent last.
  const clients = new Map<string, Address>();
  const natBack = new Map<string, Address>();
  let lastClient: Address | undefined;
  const capture = opts.capture ? new CaptureRecorder() : undefined;
  const observers: WireObserver[] = [...standardObservers(opts.protocol, opts.keyPhaseKeys), ...(opts.observers ?? []), ...(capture ? [capture] : [])];

  /** One upstream socket per public client address the server sees (NAT rebinding makes new ones). */
  const upstreams = new Map<string, { sock: Socket; external: Address; ready: Promise<void> }>();
  const upstreamFor = (external: Address) => {
    const key = addressKey(external);
    let u = upstreams.get(key);
    if (!u) {
      const sock = createSocket('udp4');
      const entry = { sock, external, ready: bind(sock, bindableHost(external.host), 0) };
      sock.on('message', (data) => onUpstream(entry.external, new Uint8Array(data)));
      sock.on('error', () => {});
      upstreams.set(key, (u = entry));
    }
    return u;
  };

  const net = new Network({ ...opts.network, link: opts.network?.link ?? false }, {
    seed: opts.seed,
    protocol: opts.protocol,
    fateOverrides: opts.fateOverrides,
    observers,
    schedule: (at, fn, arg) => {
      sched.at(at, fn, arg);
      arm();
    },
    deliver: (direction, data, from, to) => {
      if (stopped) return;
      if (direction === 'to-server') {
        const key = addressKey(from);
        if (!natBack.has(key)) natBack.set(key, clients.get(key) ?? lastClient ?? from);
        const u = upstreamFor(from);
        void u.ready.then(() => !stopped && u.sock.send(data, opts.target.port, opts.target.host));
      } else {
        const back = natBack.get(addressKey(to)) ?? lastClient;
        if (back) front.send(data, back.port, back.host);
      }
    },
  });

  // One timer for the earliest pending event; events run in (time, sequence) order even when timers fire late.
  function arm(): void {
    if (stopped) return;
    const next = sched.nextTime();
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (next === undefined) return;
    const wait = next - clock();
    if (wait <= 0) {
      timer = setTimeout(tick, 0);
      return;
    }
    timer = setTimeout(tick, Math.max(1, Math.ceil(wait)));
  }
  // How late timers fire against the events' due times, in 0.1 ms buckets: in real time the relay is only as exact
  // as the event loop lets it be, and a goodput figure from a loaded machine must say so.
  const lateness = new Uint32Array(LATENESS_BUCKETS + 1);
  function tick(): void {
    timer = undefined;
    const now = clock();
    const due = sched.nextTime();
    if (due !== undefined && now > due) lateness[Math.min(LATENESS_BUCKETS, Math.floor((now - due) * 10))]!++;
    else lateness[0]!++;
    sched.runDue(now);
    arm();
  }
  function input(direction: 'to-server' | 'to-client', data: Uint8Array, from: Address, to: Address): void {
    if (stopped) return;
    const now = clock();
    sched.advance(now);
    net.send(direction, data, from, to, now);
    sched.runDue(now); // what is due right away (no delay configured) leaves without waiting for a timer
    arm();
  }
  function onUpstream(external: Address, data: Uint8Array): void {
    input('to-client', data, opts.target, external);
  }

  front.on('message', (data, rinfo) => {
    const from = { host: rinfo.address, port: rinfo.port };
    const key = addressKey(from);
    if (!clients.has(key)) clients.set(key, from);
    lastClient = from;
    input('to-server', new Uint8Array(data), from, opts.target);
  });
  front.on('error', () => {});

  const close = (s: Socket) => new Promise<void>((r) => s.close(() => r()));
  return {
    address,
    port: address.port,
    trace: () => net.trace.entries,
    traceText: () => net.trace.text(),
    traceHash: () => net.trace.hash(),
    checks: () => observers.flatMap((o) => o.checks()),
    metrics: () => {
      const m: Record<string, unknown> = { datagrams: { 'to-server': net.sentCount('to-server'), 'to-client': net.sentCount('to-client') }, fates: net.trace.fates() };
      for (const o of observers) Object.assign(m, o.metrics?.() ?? {});
      m['relayLateness'] = latenessSummary(lateness);
      return m;
    },
    decisions: () => net.decisions,
    clients: () => clients.size,
    ...(capture ? { capture } : {}),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all([close(front), ...[...upstreams.values()].map(async (u) => { await u.ready.catch(() => {}); await close(u.sock); })]);
    },
  };
}
