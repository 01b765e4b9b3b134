// Interprets a scenario's step script (the OpenSSL-style stream API of DESIGN.md §3 over RFC 9000 §2-3 streams and
// §10 closes) against the client and server connections while the simulator runs, one step at a time in order.

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../../engine/endpoint.js';
import type { QuicConnection } from '../../engine/quic/connection.js';
import type { CloseInfo, ConnectionEvent } from '../../engine/quic/connection-events.js';
import type { LocatedStep, Scenario, Side } from '../scenario/model.js';

/** Scripted sides wake at least this often (simulated ms) so steps waiting on the other side get their turn. */
const TICK_MS = 1;
/** A step that cannot complete for this long fails the script (waits carry their own limit). */
const STEP_LIMIT_MS = 30_000;

const te = new TextEncoder();
const td = new TextDecoder();

/** Bytes of a `size:` write or read: a fixed pattern by stream offset, so both sides agree without sharing buffers. */
export function pattern(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 131 + 7) & 0xff;
  return out;
}

interface RecvState {
  chunks: Uint8Array[];
  buffered: number;
  consumed: number;
  fin: boolean;
  reset?: number | bigint;
}

class SideState {
  conn: QuicConnection | undefined;
  readonly names = new Map<string, number>();
  readonly incoming: number[] = [];
  readonly rejected: number[] = [];
  readonly recv = new Map<number, RecvState>();
  readonly pending = new Map<number, { chunks: Uint8Array[]; fin: boolean }>();
  readonly written = new Map<number, number>();
  readonly finSent = new Set<number>();
  readonly finished = new Set<number>();
  readonly stopSending = new Map<number, number | bigint>();
  readonly localReset = new Set<number>();
  readonly known = new Set<number>();
  handshake = false;
  closeInfo: CloseInfo | undefined;
  shutdown: { code: number; reason: string } | undefined;

  constructor(
    readonly side: Side,
    readonly policy: 'accept' | 'reject' | 'auto',
    readonly acceptQueue: number,
  ) {}

  recvOf(id: number): RecvState {
    let r = this.recv.get(id);
    if (!r) this.recv.set(id, (r = { chunks: [], buffered: 0, consumed: 0, fin: false }));
    return r;
  }

  /** A stream the peer opened: queue it for accept-stream, or refuse it per the incoming-stream policy. */
  peerStream(id: number, now: number): void {
    if (this.known.has(id)) return;
    this.known.add(id);
    const initiatedByPeer = this.side === 'server' ? (id & 1) === 0 : (id & 1) === 1;
    if (!initiatedByPeer) return;
    if (this.policy === 'reject' || this.incoming.length >= this.acceptQueue) {
      this.conn?.stopSending(id, 0, now);
      if ((id & 2) === 0) this.conn?.resetStream(id, 0);
      this.rejected.push(id);
      return;
    }
    this.incoming.push(id);
  }

  drain(id: number, now: number): void {
    const c = this.conn;
    if (!c) return;
    const r = this.recvOf(id);
    for (;;) {
      const { data, fin } = c.readStream(id, 1 << 20, now);
      if (data.length) {
        r.chunks.push(data);
        r.buffered += data.length;
      }
      if (fin) r.fin = true;
      if (!data.length || fin) return;
    }
  }

  take(id: number, n: number): Uint8Array | undefined {
    const r = this.recvOf(id);
    if (r.buffered < n) return undefined;
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const head = r.chunks[0]!;
      const k = Math.min(head.length, n - o);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) r.chunks.shift();
      else r.chunks[0] = head.subarray(k);
    }
    r.buffered -= n;
    r.consumed += n;
    return out;
  }

  flush(): void {
    const c = this.conn;
    if (!c) return;
    for (const [id, q] of this.pending) {
      while (q.chunks.length) {
        const head = q.chunks[0]!;
        const last = q.chunks.length === 1 && q.fin;
        const n = c.writeStream(id, head, last);
        if (n < head.length) {
          q.chunks[0] = head.subarray(n);
          break;
        }
        q.chunks.shift();
        if (last) {
          this.finSent.add(id);
          q.fin = false;
        }
      }
      if (!q.chunks.length && q.fin) {
        c.concludeStream(id);
        this.finSent.add(id);
        q.fin = false;
      }
      if (!q.chunks.length && !q.fin) this.pending.delete(id);
    }
  }

  /** Non-rapid shutdown: close once everything written has been sent and acknowledged. */
  maybeShutdown(now: number): void {
    if (!this.shutdown || !this.conn || this.closeInfo) return;
    if (this.pending.size) return;
    for (const id of this.finSent) if (!this.finished.has(id) && !this.localReset.has(id)) return;
    this.conn.close(this.shutdown.code, this.shutdown.reason, true, now);
    this.shutdown = undefined;
  }
}

export type StepResult = 'done' | 'blocked' | { fail: string };

/**
 * A side played by a process outside crosswire (a peer's stream-io form, interop/runner/live-api.ts) instead of one of
 * our connections: the script hands it that side's steps, in order, on our side's turns.
 */
export interface ExternalSide {
  readonly side: Side;
  /** Performs or checks one step of its side; 'blocked' until it can, with what it waits for. */
  exec(st: LocatedStep, now: number): StepResult | { blocked: string };
  /** When the side reports them: has its handshake completed, has its connection closed (for `wait: until`). */
  handshakeDone?(): boolean;
  closed?(): boolean;
}

export class StepScript {
  private readonly steps: LocatedStep[];
  private readonly sides: Record<Side, SideState>;
  position = 0;
  failure: string | undefined;
  private blockedSince: number | undefined;
  private blockedOn = '';

  constructor(
    readonly scenario: Scenario,
    private readonly external?: ExternalSide,
  ) {
    this.steps = scenario.steps;
    const mk = (side: Side) => {
      const s = side === 'client' ? scenario.client : scenario.server;
      return new SideState(side, s.incomingStreams ?? 'accept', s.acceptQueue ?? 1000);
    };
    this.sides = { client: mk('client'), server: mk('server') };
  }

  get total(): number {
    return this.steps.length;
  }

  get finished(): boolean {
    return this.failure !== undefined || this.position >= this.steps.length;
  }

  get passed(): boolean {
    return this.failure === undefined && this.position >= this.steps.length;
  }

  waitingFor(): string {
    const st = this.steps[this.position];
    return st ? `${this.where(st)} ${st.op} ${this.blockedOn ? `(waiting for ${this.blockedOn})` : ''}`.trim() : 'nothing';
  }

  private where(st: LocatedStep): string {
    return `${this.scenario.file}:${st.line}:${st.col}`;
  }

  /** Has our side's send part of this named stream finished (every byte and the FIN acknowledged by the peer)? */
  sendFinished(side: Side, name: string): boolean {
    const me = this.sides[side];
    const id = me.names.get(name);
    return id !== undefined && me.finished.has(id);
  }

  onEvent(side: Side, e: ConnectionEvent, now: number): void {
    const s = this.sides[side];
    switch (e.type) {
      case 'handshake-complete':
        s.handshake = true;
        break;
      case 'stream-opened':
        s.peerStream(e.streamId, now);
        break;
      case 'stream-readable':
        s.peerStream(e.streamId, now);
        if (!s.rejected.includes(e.streamId)) s.drain(e.streamId, now);
        break;
      case 'stream-reset':
        s.peerStream(e.streamId, now);
        s.recvOf(e.streamId).reset = e.errorCode;
        break;
      case 'stream-stop-sending':
        s.stopSending.set(e.streamId, e.errorCode);
        break;
      case 'stream-finished':
        s.finished.add(e.streamId);
        break;
      case 'closing':
      case 'closed':
        s.closeInfo ??= e.info;
        break;
    }
  }

  /** Runs as many steps as can complete now on this side (and side-less ones). */
  run(side: Side, conn: QuicConnection | undefined, now: number): void {
    const me = this.sides[side];
    me.conn = conn;
    me.flush();
    me.maybeShutdown(now);
    while (!this.finished) {
      const st = this.steps[this.position]!;
      const ext = this.external && 'side' in st && st.side === this.external.side ? this.external : undefined;
      if (!ext && 'side' in st && st.side !== side) return;
      let r: StepResult;
      try {
        if (ext) {
          const x = ext.exec(st, now);
          r = typeof x === 'object' && 'blocked' in x ? this.block(x.blocked) : x;
        } else r = this.exec(st, me, now);
      } catch (e) {
        r = { fail: `internal error: ${(e as Error).message}` };
      }
      if (typeof r === 'object') {
        this.failure = `${this.where(st)} ${st.op}: ${r.fail}`;
        return;
      }
      if (r === 'blocked') {
        this.blockedSince ??= now;
        const limit = st.op === 'wait' || st.op === 'advance' ? Infinity : STEP_LIMIT_MS;
        if (now - this.blockedSince > limit) this.failure = `${this.where(st)} ${st.op}: nothing happened for ${STEP_LIMIT_MS / 1000} s (waiting for ${this.blockedOn})`;
        return;
      }
      this.blockedSince = undefined;
      this.blockedOn = '';
      this.position++;
      me.flush();
      me.maybeShutdown(now);
    }
  }

  private block(what: string): StepResult {
    this.blockedOn = what;
    return 'blocked';
  }

  private stream(me: SideState, name: string): number | undefined {
    return me.names.get(name);
  }

  private exec(st: LocatedStep, me: SideState, now: number): StepResult {
    const c = me.conn;
    const elapsed = this.blockedSince === undefined ? 0 : now - this.blockedSince;
    if (st.op === 'wait' || st.op === 'advance') {
      if (st.op === 'advance' || st.until === undefined) return elapsed >= st.ms ? 'done' : this.block(`${st.ms} ms to pass`);
      // With an external side ours is asked, and the external one too where it reports its handshake or close (as both
      // sides are in virtual time); otherwise ours stands for the connection.
      const sides = Object.values(this.sides).filter((x) => x.side !== this.external?.side);
      const ext = this.external;
      const ok = st.until === 'handshake'
        ? sides.every((x) => x.handshake) && (ext?.handshakeDone?.() ?? true)
        : st.until === 'closed'
          ? sides.every((x) => !!x.closeInfo) && (ext?.closed?.() ?? true)
          : sides.every((x) => !x.pending.size);
      if (ok) return 'done';
      if (elapsed > st.ms) return { fail: `${st.until} did not happen within ${st.ms} ms` };
      return this.block(st.until);
    }
    if (!c) return this.block(`the ${me.side} connection`);
    switch (st.op) {
      case 'open-stream': {
        const id = c.openStream(st.type);
        if (id === undefined) return this.block('stream credit from the peer');
        me.names.set(st.name, id);
        me.known.add(id);
        return 'done';
      }
      case 'accept-stream': {
        if (st.expect === 'none') return me.incoming.length === 0 ? 'done' : { fail: `a stream (${me.incoming[0]}) is waiting to be accepted` };
        if (st.expect === 'rejected') {
          const id = me.rejected.shift();
          if (id === undefined) return this.block('an incoming stream to be refused');
          me.names.set(st.name, id);
          return 'done';
        }
        const id = me.incoming.shift();
        if (id === undefined) return this.block('an incoming stream');
        me.names.set(st.name, id);
        return 'done';
      }
      case 'write': {
        const id = this.stream(me, st.stream)!;
        const off = me.written.get(id) ?? 0;
        const bytes = st.data !== undefined ? te.encode(st.data) : pattern(off, st.size ?? 0);
        me.written.set(id, off + bytes.length);
        const q = me.pending.get(id) ?? { chunks: [], fin: false };
        q.chunks.push(bytes);
        me.pending.set(id, q);
        me.flush();
        return 'done';
      }
      case 'conclude': {
        const id = this.stream(me, st.stream)!;
        const q = me.pending.get(id) ?? { chunks: [], fin: false };
        q.fin = true;
        me.pending.set(id, q);
        me.flush();
        return 'done';
      }
      case 'reset': {
        const id = this.stream(me, st.stream)!;
        me.pending.delete(id);
        me.localReset.add(id);
        return c.resetStream(id, st.code) ? 'done' : { fail: `stream ${st.stream} cannot be reset (no send side, or already finished)` };
      }
      case 'stop-sending': {
        const id = this.stream(me, st.stream)!;
        return c.stopSending(id, st.code, now) ? 'done' : { fail: `stream ${st.stream} has no receive side to stop` };
      }
      case 'expect-read': {
        const id = this.stream(me, st.stream)!;
        me.drain(id, now);
        const r = me.recvOf(id);
        const want = st.data !== undefined ? te.encode(st.data) : undefined;
        const n = want ? want.length : st.size ?? 0;
        const offset = r.consumed;
        const got = me.take(id, n);
        if (!got) {
          if (r.fin) return { fail: `stream ended after ${r.consumed + r.buffered} bytes; expected ${n} more` };
          if (r.reset !== undefined) return { fail: `stream was reset with code ${r.reset} before ${n} bytes arrived` };
          return this.block(`${n} bytes on ${st.stream} (have ${r.buffered})`);
        }
        const exp = want ?? pattern(offset, n);
        const bad = got.findIndex((b, i) => b !== exp[i]);
        if (bad >= 0) return { fail: want ? `read ${JSON.stringify(td.decode(got))}, expected ${JSON.stringify(st.data)}` : `byte ${offset + bad} differs from what was written` };
        return 'done';
      }
      case 'expect-fin': {
        const id = this.stream(me, st.stream)!;
        me.drain(id, now);
        const r = me.recvOf(id);
        if (r.buffered) return { fail: `${r.buffered} unread byte(s) before the end of stream` };
        return r.fin ? 'done' : r.reset !== undefined ? { fail: `stream was reset with code ${r.reset} instead of ending` } : this.block(`FIN on ${st.stream}`);
      }
      case 'expect-reset': {
        const id = this.stream(me, st.stream)!;
        const code = me.recvOf(id).reset;
        if (code === undefined) return this.block(`RESET_STREAM on ${st.stream}`);
        return code === st.code ? 'done' : { fail: `reset with code ${code}, expected ${st.code}` };
      }
      case 'expect-stop-sending': {
        const id = this.stream(me, st.stream)!;
        const code = me.stopSending.get(id);
        if (code === undefined) return this.block(`STOP_SENDING on ${st.stream}`);
        return code === st.code ? 'done' : { fail: `STOP_SENDING with code ${code}, expected ${st.code}` };
      }
      case 'expect-state': {
        const id = this.stream(me, st.stream)!;
        const r = me.recvOf(id);
        const states = {
          write: me.localReset.has(id) ? 'reset' : me.finished.has(id) ? 'finished' : me.finSent.has(id) ? 'sent' : 'open',
          read: r.reset !== undefined ? 'reset' : r.fin && !r.buffered ? 'finished' : 'open',
        };
        const wantW = st.write;
        const wantR = st.read;
        if ((wantW === undefined || wantW === states.write) && (wantR === undefined || wantR === states.read)) return 'done';
        return this.block(`write state ${wantW ?? '-'} / read state ${wantR ?? '-'} (now ${states.write} / ${states.read})`);
      }
      case 'shutdown':
        if (st.rapid) c.close(st.code, st.reason, true, now);
        else {
          me.shutdown = { code: st.code, reason: st.reason };
          me.maybeShutdown(now);
        }
        return 'done';
      case 'expect-close-info': {
        const info = me.closeInfo;
        if (!info) return this.block(`the ${me.side} connection to close`);
        const problems: string[] = [];
        if (st.code !== undefined && info.errorCode !== st.code) problems.push(`code ${info.errorCode} (expected ${st.code})`);
        if (st.reason !== undefined && info.reason !== st.reason) problems.push(`reason "${info.reason}" (expected "${st.reason}")`);
        if (st.remote !== undefined && (info.initiator === 'remote') !== st.remote) problems.push(`initiator ${info.initiator}`);
        if (st.transport !== undefined && (info.kind === 'transport') !== st.transport) problems.push(`${info.kind} close`);
        return problems.length ? { fail: problems.join(', ') } : 'done';
      }
      case 'key-update':
        c.initiateKeyUpdate();
        return 'done';
    }
  }
}

/** Wraps one role's endpoint so the script sees its connection's events and gets a turn after every input. */
export class ScriptedSide implements DatagramEndpoint {
  private lastNow = 0;

  constructor(
    private readonly inner: DatagramEndpoint,
    private readonly side: Side,
    private readonly conn: () => QuicConnection | undefined,
    private readonly script: StepScript,
  ) {}

  private turn(now: number): void {
    this.lastNow = now;
    const c = this.conn();
    if (c) for (let e = c.pollEvent(); e; e = c.pollEvent()) this.script.onEvent(this.side, e, now);
    this.script.run(this.side, c, now);
  }

  receiveDatagram(data: Uint8Array, from: Address, now: number, local?: Address): void {
    this.inner.receiveDatagram(data, from, now, local);
    this.turn(now);
  }

  pollDatagrams(now: number): OutgoingDatagram[] {
    return this.inner.pollDatagrams(now);
  }

  nextTimeout(): number | undefined {
    const t = this.inner.nextTimeout();
    if (this.script.finished) return t;
    const tick = this.lastNow + TICK_MS;
    return t === undefined ? tick : Math.min(t, tick);
  }

  handleTimeout(now: number): void {
    const t = this.inner.nextTimeout();
    if (t !== undefined && t <= now) this.inner.handleTimeout(now);
    this.turn(now);
  }
}
