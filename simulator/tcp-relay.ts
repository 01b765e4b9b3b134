// Real-time TCP relay between real TLS endpoints on loopback (RFC 9293 streams; DESIGN.md §4): listens on
// 127.0.0.1, opens one upstream connection to the server per accepted client connection and applies the stream
// impairments of stream-impairments.ts per direction — delay and bandwidth, writes split at chosen byte boundaries,
// truncation with a FIN or a reset (RST) after N bytes — with every decision from the seed, as the virtual-time stream
// pipe does. Records a trace (one entry per segment, FIN, RST) and runs a TLS observer per connection on the bytes as
// delivered, so checks come from the wire. The only simulator module with TCP sockets and a clock.

import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Address } from '../engine/endpoint.js';
import { DirectionShaper, RecordKinds, StreamLink, streamLinkOf, type StreamNetworkConfig } from './stream-impairments.js';
import { TlsConnectionObserver } from './tls-observer.js';
import { hashBytes, Trace, type TraceEntry } from './trace.js';
import type { Direction, Fate, PacketKind } from './types.js';

export interface TcpRelayOptions {
  /** The real server. */
  target: Address;
  /** Where clients connect (default 127.0.0.1, port 0 = any free port). */
  listen?: Address;
  network?: StreamNetworkConfig;
  seed: string | number;
  /**
   * Least time between two segments cut from one write (ms, default 1): segments written in the same instant would
   * reach the receiver in one read, so a split would not show; spaced out, each is its own read.
   */
  splitGapMs?: number;
}

export interface TcpRelay {
  readonly address: Address;
  readonly port: number;
  trace(): TraceEntry[];
  traceText(): string;
  traceHash(): string;
  /** One TLS observer per accepted connection, in accept order. */
  observers(): TlsConnectionObserver[];
  /** Connections accepted so far. */
  connections(): number;
  metrics(): Record<string, number>;
  /** Ends every connection and the listener; pending segments keep fate 'in-flight'. */
  stop(): Promise<void>;
}

interface Side {
  readonly sock: Socket;
  /** Our writes to it are over (FIN sent or a truncation). */
  ended: boolean;
}

interface Leg {
  readonly shaper: DirectionShaper;
  readonly kinds: RecordKinds;
  /** The receiver of this direction. */
  readonly to: Side;
  /** Segments, FIN or RST waiting for their time, in order: one timer per direction keeps TCP's order. */
  readonly queue: Pending[];
  timer: NodeJS.Timeout | undefined;
  /** When the last split segment was written (ms since start): the next one waits `gap` after it. */
  lastSplitWrite: number;
  /** The latest departure scheduled so far (arrivals never overtake). */
  lastAt: number;
  /** A truncation or the sender's FIN ended this direction. */
  finished: boolean;
}

interface Conn {
  readonly id: number;
  readonly client: Side;
  readonly upstream: Side;
  readonly clientAddress: Address;
  readonly legs: Record<Direction, Leg>;
  readonly observer: TlsConnectionObserver;
  reset: boolean;
}

interface Pending {
  conn: Conn;
  direction: Direction;
  data: Uint8Array;
  entry: TraceEntry;
  what: 'data' | 'fin' | 'rst';
  at: number;
  split: boolean;
}

export async function startTcpRelay(opts: TcpRelayOptions): Promise<TcpRelay> {
  const cfg = opts.network ?? {};
  const link = streamLinkOf(cfg);
  const links: Record<Direction, StreamLink> = { 'to-server': new StreamLink(link.delay, link.bandwidth), 'to-client': new StreamLink(link.delay, link.bandwidth) };
  const gap = opts.splitGapMs ?? 1;
  const trace = new Trace();
  const index: Record<Direction, number> = { 'to-server': 0, 'to-client': 0 };
  const conns: Conn[] = [];
  const started = performance.now();
  const clock = () => performance.now() - started;
  let stopped = false;

  /**
   * Writes what is due in one direction, oldest first. A split segment goes out at least `gap` after the previous
   * one, measured when it is really written, and never in the same turn of the event loop: timers fire late under
   * load, and segments written together would reach the receiver as one read.
   */
  function pump(leg: Leg): void {
    leg.timer = undefined;
    while (!stopped && leg.queue.length) {
      const p = leg.queue[0]!;
      const now = clock();
      const due = p.split ? Math.max(p.at, leg.lastSplitWrite + gap) : p.at;
      if (due > now) {
        leg.timer = setTimeout(() => pump(leg), Math.max(0, Math.ceil(due - now)));
        return;
      }
      leg.queue.shift();
      deliver(p, now);
      if (p.split || leg.queue[0]?.split) {
        if (p.split) leg.lastSplitWrite = now;
        if (leg.queue[0]?.split) {
          leg.timer = setTimeout(() => pump(leg), gap);
          return;
        }
      }
    }
  }

  const addresses = (c: Conn, d: Direction) => (d === 'to-server' ? { from: c.clientAddress, to: opts.target } : { from: opts.target, to: c.clientAddress });
  const entry = (c: Conn, d: Direction, data: Uint8Array, now: number, kinds: string[], fate: Fate, effects: string[] = []) =>
    trace.add({
      time: now, direction: d, index: ++index[d], copy: 0, length: data.length, kind: kinds[0] as PacketKind, kinds: kinds as PacketKind[],
      sha256: hashBytes(data), ...addresses(c, d), fate, effects: effects as TraceEntry['effects'],
    });

  function resetBoth(c: Conn): void {
    if (c.reset) return;
    c.reset = true;
    const now = clock();
    c.observer.end('to-server', 'rst', now);
    c.observer.end('to-client', 'rst', now);
    for (const s of [c.client, c.upstream]) {
      s.ended = true;
      if (!s.sock.destroyed) s.sock.resetAndDestroy();
    }
  }

  function deliver(p: Pending, now: number): void {
    const { conn: c, direction: d, entry: e } = p;
    const leg = c.legs[d];
    if (c.reset) {
      e.fate = 'dropped-by-reset';
      return;
    }
    if (p.what === 'rst') {
      e.fate = 'delivered';
      e.arrivedAt = now;
      // What was just written must leave our socket before the reset discards our send buffer.
      setTimeout(() => resetBoth(c), 5);
      return;
    }
    if (leg.to.ended || leg.to.sock.destroyed) {
      e.fate = 'dropped-by-closed';
      return;
    }
    e.fate = 'delivered';
    e.arrivedAt = now;
    if (p.what === 'fin') {
      leg.to.ended = true;
      c.observer.end(d, 'fin', now);
      leg.to.sock.end();
      return;
    }
    leg.to.sock.write(p.data);
    c.observer.deliver(d, p.data, now);
  }
  function schedule(c: Conn, d: Direction, data: Uint8Array, now: number, kinds: string[], what: Pending['what'], effects: string[] = [], split = false): void {
    const leg = c.legs[d];
    const e = entry(c, d, data, now, kinds, 'in-flight', effects);
    const at = Math.max(links[d].admit(data.length, now), leg.lastAt);
    leg.lastAt = at;
    leg.queue.push({ conn: c, direction: d, data, entry: e, what, at, split });
    if (!leg.timer) pump(leg);
  }

  function input(c: Conn, d: Direction, chunk: Uint8Array): void {
    if (stopped) return;
    const now = clock();
    const leg = c.legs[d];
    if (c.reset || leg.finished) {
      entry(c, d, chunk, now, leg.kinds.kinds(chunk), c.reset ? 'dropped-by-reset' : `dropped-by-${leg.shaper.cutDone?.kind ?? 'fin'}`);
      return;
    }
    const shaped = leg.shaper.shape(chunk);
    for (const s of shaped.segments) schedule(c, d, s.data, now, leg.kinds.kinds(s.data), 'data', s.split ? ['split'] : [], s.split);
    if (shaped.dropped) {
      const rest = chunk.subarray(chunk.length - shaped.dropped);
      entry(c, d, rest, now, leg.kinds.kinds(rest), `dropped-by-${(shaped.cut ?? leg.shaper.cutDone)!.kind}`);
    }
    if (shaped.cut) {
      leg.finished = true;
      if (shaped.cut.kind === 'close') schedule(c, d, new Uint8Array(0), now, ['fin'], 'fin', ['close']);
      else schedule(c, d, new Uint8Array(0), now, ['rst'], 'rst', ['reset']);
    }
  }

  function senderEnded(c: Conn, d: Direction): void {
    if (stopped) return;
    const leg = c.legs[d];
    if (leg.finished || c.reset) return;
    leg.finished = true;
    schedule(c, d, new Uint8Array(0), clock(), ['fin'], 'fin');
  }

  function senderReset(c: Conn, d: Direction): void {
    if (stopped || c.reset) return;
    const now = clock();
    entry(c, d, new Uint8Array(0), now, ['rst'], 'delivered');
    resetBoth(c);
  }

  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (clientSock) => {
    if (stopped) return void clientSock.destroy();
    const id = conns.length + 1;
    const upSock = connect({ host: opts.target.host, port: opts.target.port, allowHalfOpen: true });
    clientSock.setNoDelay(true);
    upSock.setNoDelay(true);
    const client: Side = { sock: clientSock, ended: false };
    const upstream: Side = { sock: upSock, ended: false };
    const clientAddress: Address = { host: clientSock.remoteAddress ?? '127.0.0.1', port: clientSock.remotePort ?? 0 };
    const leg = (d: Direction, to: Side): Leg => ({ shaper: new DirectionShaper(cfg[d] ?? [], d, id, opts.seed), kinds: new RecordKinds(), to, queue: [], timer: undefined, lastSplitWrite: -Infinity, lastAt: -Infinity, finished: false });
    const c: Conn = { id, client, upstream, clientAddress, legs: { 'to-server': leg('to-server', upstream), 'to-client': leg('to-client', client) }, observer: new TlsConnectionObserver(id), reset: false };
    conns.push(c);
    const now = clock();
    c.observer.openedAt = now;
    entry(c, 'to-server', new Uint8Array(0), now, ['syn'], 'delivered').arrivedAt = now;
    const wire = (sock: Socket, d: Direction) => {
      sock.on('data', (b: Buffer) => input(c, d, new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice()));
      sock.on('end', () => senderEnded(c, d));
      sock.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNRESET' || e.code === 'EPIPE') senderReset(c, d);
        else if (!c.reset) resetBoth(c);
      });
    };
    wire(clientSock, 'to-server');
    wire(upSock, 'to-client');
    // Bytes from the client wait in its socket until the server accepted ours: a refused upstream resets the client.
    upSock.once('connect', () => clientSock.resume());
  });
  server.on('error', () => {});
  const listen = opts.listen ?? { host: '127.0.0.1', port: 0 };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as { address: string; port: number };
  const address: Address = { host: addr.address, port: addr.port };

  return {
    address,
    port: address.port,
    trace: () => trace.entries,
    traceText: () => trace.text(),
    traceHash: () => trace.hash(),
    observers: () => conns.map((c) => c.observer),
    connections: () => conns.length,
    metrics: () => {
      const m: Record<string, number> = { connections: conns.length, segmentsToServer: index['to-server'], segmentsToClient: index['to-client'] };
      for (const [f, n] of Object.entries(trace.fates())) m[`fate:${f}`] = n;
      return m;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of conns) for (const l of Object.values(c.legs)) if (l.timer) clearTimeout(l.timer);
      for (const c of conns) for (const s of [c.client, c.upstream]) s.sock.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
