// In-memory TCP for virtual time (RFC 9293 as applications see it: connection setup, ordered reliable bytes, FIN,
// RST): a client and a server application exchange byte streams through the stream impairments
// (stream-impairments.ts) on the simulator's scheduler. No sockets, no clock: a run is a pure function of its inputs
// (DESIGN.md §4), and its trace (one entry per segment, FIN, RST and SYN) has the datagram trace's format and hash.

import type { Address } from '../engine/endpoint.js';
import { hashBytes, Trace, type TraceEntry } from './trace.js';
import { DirectionShaper, RecordKinds, StreamLink, streamLinkOf, type StreamNetworkConfig } from './stream-impairments.js';
import { TlsConnectionObserver } from './tls-observer.js';
import type { Direction, Fate, PacketKind } from './types.js';

/** One end of a connection, as an application holds it. */
export interface StreamSocket {
  /** 1-based connection number, in the order the client opened them. */
  readonly id: number;
  write(data: Uint8Array): void;
  /** FIN after everything written so far. */
  end(): void;
  /** RST now: both directions stop. */
  reset(): void;
  readonly writeEnded: boolean;
  readonly dead: boolean;
}

/** An application on one side of the pipe; callbacks run at virtual time `now`. */
export interface StreamApp {
  opened(sock: StreamSocket, now: number): void;
  data(sock: StreamSocket, data: Uint8Array, now: number): void;
  /** The peer's FIN (or a truncation's) arrived. */
  ended(sock: StreamSocket, now: number): void;
  /** The connection was reset. */
  reset(sock: StreamSocket, now: number): void;
}

export interface StreamPipeOptions {
  seed: string | number;
  schedule<T>(at: number, fn: (now: number, arg: T) => void, arg: T): void;
  now(): number;
  clientAddress?: Address;
  serverAddress?: Address;
}

export const STREAM_CLIENT_ADDRESS: Address = { host: '10.0.0.1', port: 50000 };
export const STREAM_SERVER_ADDRESS: Address = { host: '10.0.0.2', port: 443 };

const other = (d: Direction): Direction => (d === 'to-server' ? 'to-client' : 'to-server');

interface DirState {
  readonly shaper: DirectionShaper;
  readonly kinds: RecordKinds;
  /** The sender sent FIN (its later writes are a bug and are dropped). */
  finSent: boolean;
  /** The receiver saw FIN (own or from a truncation). */
  finDelivered: boolean;
  /** A truncation cut this direction: the sender's later bytes vanish. */
  cut: boolean;
}

class Conn {
  readonly dirs: Record<Direction, DirState>;
  readonly observer: TlsConnectionObserver;
  resetAt: number | undefined;
  readonly clientSock: Sock;
  readonly serverSock: Sock;
  readonly clientAddress: Address;

  constructor(readonly id: number, pipe: StreamPipe, cfg: StreamNetworkConfig, seed: string | number, clientAddress: Address) {
    const dir = (d: Direction): DirState => ({ shaper: new DirectionShaper(cfg[d] ?? [], d, id, seed), kinds: new RecordKinds(), finSent: false, finDelivered: false, cut: false });
    this.dirs = { 'to-server': dir('to-server'), 'to-client': dir('to-client') };
    this.observer = new TlsConnectionObserver(id);
    this.clientAddress = clientAddress;
    this.clientSock = new Sock(this, 'to-server', pipe);
    this.serverSock = new Sock(this, 'to-client', pipe);
  }
}

class Sock implements StreamSocket {
  constructor(private readonly conn: Conn, private readonly direction: Direction, private readonly pipe: StreamPipe) {}
  get id(): number {
    return this.conn.id;
  }
  write(data: Uint8Array): void {
    this.pipe.write(this.conn, this.direction, data);
  }
  end(): void {
    this.pipe.fin(this.conn, this.direction);
  }
  reset(): void {
    this.pipe.rst(this.conn, this.direction);
  }
  get writeEnded(): boolean {
    return this.conn.dirs[this.direction].finSent || this.conn.resetAt !== undefined;
  }
  get dead(): boolean {
    return this.conn.resetAt !== undefined;
  }
}

interface Delivery {
  conn: Conn;
  direction: Direction;
  data: Uint8Array;
  entry: TraceEntry;
  what: 'data' | 'fin' | 'rst' | 'syn';
}

export class StreamPipe {
  readonly trace = new Trace();
  readonly connections: Conn[] = [];
  private readonly links: Record<Direction, StreamLink>;
  private readonly clientAddress: Address;
  private readonly serverAddress: Address;
  private readonly index: Record<Direction, number> = { 'to-server': 0, 'to-client': 0 };
  private readonly arrive = (t: number, d: Delivery) => this.deliver(d, t);

  constructor(
    private readonly cfg: StreamNetworkConfig,
    private readonly client: StreamApp,
    private readonly server: StreamApp,
    private readonly opts: StreamPipeOptions,
  ) {
    const l = streamLinkOf(cfg);
    this.links = { 'to-server': new StreamLink(l.delay, l.bandwidth), 'to-client': new StreamLink(l.delay, l.bandwidth) };
    this.clientAddress = opts.clientAddress ?? STREAM_CLIENT_ADDRESS;
    this.serverAddress = opts.serverAddress ?? STREAM_SERVER_ADDRESS;
  }

  /** The observers of every connection so far, in order. */
  get observers(): TlsConnectionObserver[] {
    return this.connections.map((c) => c.observer);
  }

  /** The client opens a connection: the server accepts it one delay later, the client is connected one RTT later. */
  connect(): StreamSocket {
    const id = this.connections.length + 1;
    const conn = new Conn(id, this, this.cfg, this.opts.seed, { host: this.clientAddress.host, port: this.clientAddress.port + id - 1 });
    this.connections.push(conn);
    const now = this.opts.now();
    conn.observer.openedAt = now;
    this.emit(conn, 'to-server', new Uint8Array(0), now, 'syn', 'syn');
    return conn.clientSock;
  }

  /** @internal */
  write(conn: Conn, direction: Direction, data: Uint8Array): void {
    const d = conn.dirs[direction];
    const now = this.opts.now();
    if (!data.length) return;
    if (conn.resetAt !== undefined) return void this.record(conn, direction, data, now, 'dropped-by-reset', 'data');
    if (d.finSent) return void this.record(conn, direction, data, now, 'dropped-by-fin', 'data');
    const shaped = d.shaper.shape(data);
    for (const s of shaped.segments) this.emit(conn, direction, s.data, now, 'data', undefined, s.split ? ['split'] : [], d.kinds.kinds(s.data));
    if (shaped.dropped) {
      const rest = data.subarray(data.length - shaped.dropped);
      const by = (shaped.cut ?? d.shaper.cutDone)!.kind;
      this.record(conn, direction, rest, now, `dropped-by-${by}`, 'data', d.kinds.kinds(rest));
    }
    if (shaped.cut) {
      if (shaped.cut.kind === 'close') {
        d.cut = true;
        this.emit(conn, direction, new Uint8Array(0), now, 'fin', 'fin', ['close']);
      } else this.emit(conn, direction, new Uint8Array(0), now, 'rst', 'rst', ['reset']);
    }
  }

  /** @internal */
  fin(conn: Conn, direction: Direction): void {
    const d = conn.dirs[direction];
    if (d.finSent || conn.resetAt !== undefined) return;
    d.finSent = true;
    if (d.cut) return; // the truncation already ended this direction for the receiver
    this.emit(conn, direction, new Uint8Array(0), this.opts.now(), 'fin', 'fin');
  }

  /** @internal An application resets its connection. */
  rst(conn: Conn, direction: Direction): void {
    if (conn.resetAt !== undefined) return;
    this.emit(conn, direction, new Uint8Array(0), this.opts.now(), 'rst', 'rst');
  }

  private addresses(conn: Conn, direction: Direction): { from: Address; to: Address } {
    return direction === 'to-server' ? { from: conn.clientAddress, to: this.serverAddress } : { from: this.serverAddress, to: conn.clientAddress };
  }

  /** A trace entry for bytes that never travel. */
  private record(conn: Conn, direction: Direction, data: Uint8Array, now: number, fate: Fate, _what: string, kinds: string[] = ['data']): void {
    this.trace.add({
      time: now, direction, index: ++this.index[direction], copy: 0, length: data.length, kind: kinds[0] as PacketKind, kinds: kinds as PacketKind[],
      sha256: hashBytes(data), ...this.addresses(conn, direction), fate, effects: [],
    });
  }

  private emit(conn: Conn, direction: Direction, data: Uint8Array, now: number, what: Delivery['what'], kind?: string, effects: string[] = [], kinds?: string[]): void {
    const k = kinds ?? [kind ?? 'data'];
    const entry = this.trace.add({
      time: now, direction, index: ++this.index[direction], copy: 0, length: data.length, kind: k[0] as PacketKind, kinds: k as PacketKind[],
      sha256: hashBytes(data), ...this.addresses(conn, direction), fate: 'in-flight', effects: effects as TraceEntry['effects'],
    });
    const at = this.links[direction].admit(data.length, now);
    this.opts.schedule(at, this.arrive, { conn, direction, data, entry, what });
  }

  private deliver(d: Delivery, now: number): void {
    const { conn, direction, entry } = d;
    const rx = conn.dirs[direction];
    if (conn.resetAt !== undefined && d.what !== 'rst') {
      entry.fate = 'dropped-by-reset';
      return;
    }
    entry.arrivedAt = now;
    entry.fate = 'delivered';
    const receiver = direction === 'to-server' ? this.server : this.client;
    const sock = direction === 'to-server' ? conn.serverSock : conn.clientSock;
    switch (d.what) {
      case 'syn':
        if (direction === 'to-server') {
          // The SYN-ACK leaves first: whatever the server writes at once follows it and reaches a connected client.
          this.emit(conn, 'to-client', new Uint8Array(0), now, 'syn', 'syn-ack');
          this.server.opened(conn.serverSock, now);
        } else this.client.opened(conn.clientSock, now);
        return;
      case 'data':
        conn.observer.deliver(direction, d.data, now);
        receiver.data(sock, d.data, now);
        return;
      case 'fin':
        if (rx.finDelivered) return;
        rx.finDelivered = true;
        conn.observer.end(direction, 'fin', now);
        receiver.ended(sock, now);
        return;
      case 'rst': {
        if (conn.resetAt !== undefined) return;
        conn.resetAt = now;
        conn.observer.end(direction, 'rst', now);
        conn.observer.end(other(direction), 'rst', now);
        // Both ends learn at once: the relay (or middlebox) resets both of its legs.
        receiver.reset(sock, now);
        const senderSock = direction === 'to-server' ? conn.clientSock : conn.serverSock;
        (direction === 'to-server' ? this.client : this.server).reset(senderSock, now);
        return;
      }
    }
  }
}
