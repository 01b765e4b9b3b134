// Real UDP for any sans-I/O DatagramEndpoint (engine/endpoint.ts: QUIC client or server per RFC 9000 §5.2/§14, DTLS
// per RFC 6347 §4.1) over node:dgram: the one place those endpoints meet sockets and timers.

import { createSocket, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Address, DatagramEndpoint, OutgoingDatagram } from '../endpoint.js';
import type { ApiDriver } from '../quic/api.js';
import { resolveHost } from './resolve.js';

/** Monotonic milliseconds: packet timing never follows wall-clock jumps. */
export const monotonicNow = (): number => performance.now();

/** What a full-speed transfer needs queued in the kernel each way; the kernel caps it at net.core.[rw]mem_max. */
const SOCKET_BUFFER_BYTES = 4 << 20;

/**
 * setTimeout cannot wait less than a millisecond, yet pacing (RFC 9002 §7.7) releases datagrams at sub-millisecond
 * gaps on fast paths: deadlines closer than this run on the next event-loop turn instead, after pending I/O.
 */
const TIMER_RESOLUTION_MS = 1;

/**
 * Next-turn timers in a row that moved no datagram, after which the driver falls back to a 1 ms timer: an endpoint that
 * keeps reporting a past deadline must not spin the CPU.
 */
const MAX_QUIET_TURNS = 16;

/** At most this many datagrams go out per flush before received datagrams get a turn. */
const MAX_SENDS_PER_FLUSH = 512;

/** Datagrams kept, until the peer first answers, to resend to the next address after an ICMP port unreachable. */
const MAX_FIRST_FLIGHT = 64;

export interface UdpOptions {
  /**
   * Runs after every input (each datagram, each timer), before output is collected: drain the endpoint's events here.
   * Per datagram, not per batch, so an application sees data before a close that came in the next datagram (a DTLS echo
   * server must answer a record before the close_notify behind it shuts the association).
   */
  readonly afterInput?: () => void;
  /**
   * Connect the socket to this peer (a client with one peer). Sends then carry no address, and the OS reports an ICMP
   * port unreachable for our datagrams, which node surfaces as ECONNREFUSED through onError.
   */
  readonly connect?: Address;
  /**
   * With `connect`: the peer's other addresses (the rest of what its name resolved to), in the order to try them.
   * Until the first datagram arrives, an ECONNREFUSED (nothing listens there) moves the socket on to the next address
   * — a new socket when the address family changes — and resends everything sent so far (the first flight) there.
   * The endpoint never notices: it keeps seeing `connect` as the peer's address. onError hears ECONNREFUSED only once
   * the last address refused too.
   */
  readonly fallbacks?: readonly Address[];
  /** Called when the socket moves on from a refusing address to the next one (for verbose logs). */
  readonly onFallback?: (refused: Address, next: Address) => void;
  /** Socket errors (ECONNREFUSED on a connected socket, send failures). Default: ignored, a lost datagram to the protocol. */
  readonly onError?: (e: NodeJS.ErrnoException) => void;
  /** Kernel send and receive buffer size; 0 keeps the OS defaults. */
  readonly socketBufferBytes?: number;
}

/**
 * Binds a UDP socket of host's family (port 0: any free port); rejects with the OS error (EADDRINUSE, EADDRNOTAVAIL).
 * A host name binds its first address that works (resolveHost order: "localhost" is 127.0.0.1 or ::1, whichever the
 * system lists first and can bind).
 */
export async function bindUdp(host: string, port: number): Promise<Socket> {
  if (isIP(host)) return bindUdpAddress(host, port);
  const addresses = await resolveHost(host);
  let error: unknown;
  for (const a of addresses) {
    try {
      return await bindUdpAddress(a, port);
    } catch (e) {
      error ??= e;
    }
  }
  throw error;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves the address of every send on an unbound-peer socket (a server's) through dns.lookup, which answers an
 * IP literal on the next tick: a closure, a nextTick and an isIP regex per datagram, and the datagram leaves only after
 * the flush. Endpoints address datagrams with literals (RFC 9000 paths are IP:port), so answer those at once; the
 * last one is remembered because a server mostly sends to the same peer many times in a row.
 */
function literalLookup(): (host: string, options: LookupOneOptions, cb: LookupCallback) => void {
  let lastHost = '';
  let lastFamily = 0;
  return (host, options, cb) => {
    if (host === lastHost) return cb(null, host, lastFamily);
    const f = isIP(host);
    if (f === 0) return void dnsLookup(host, options, cb);
    lastHost = host;
    lastFamily = f;
    cb(null, host, f);
  };
}

/**
 * isIP tries the IPv4 pattern first; isIPv6 on an IPv4 literal compiles and runs node's large IPv6 pattern, ~5 ms of
 * every get's and serve's start for the first two calls.
 */
const isV6 = (host: string): boolean => isIP(host) === 6;

function bindUdpAddress(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: isV6(host) ? 'udp6' : 'udp4', lookup: literalLookup() });
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** The wildcard address of a peer's family, for a client that lets the OS choose its source address. */
export const wildcardFor = (peerHost: string): string => (isV6(peerHost) ? '::' : '0.0.0.0');

/**
 * Moves one DatagramEndpoint over one socket. Datagrams read in the same event-loop turn are fed in one after another
 * (afterInput after each); then, once per turn, due timers run, every datagram the endpoint has ready goes out, and the
 * single timer is re-armed for nextTimeout(). Anything that waits for the network (blocking API calls) awaits
 * progress(), which resolves after the next batch of input.
 */
export class UdpEndpointDriver {
  /** The bound address (changes when a fallback needs a socket of the other family). */
  local: Address;
  private closed = false;
  private flushQueued = false;
  private inputPending = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private immediateTimer: NodeJS.Immediate | undefined;
  private quietTurns = 0;
  /** Send batches whose completion callback has not run yet; the socket closes when they are out. */
  private batchesInFlight = 0;
  private drained: (() => void) | undefined;
  private waiters: (() => void)[] = [];
  private readonly connected: boolean;
  afterInput: () => void;
  private sock: Socket;
  /** Fallback addresses not tried yet, and whether the peer has answered (after which no fallback happens). */
  private readonly fallbacks: Address[];
  private answered = false;
  /** The datagrams sent before the peer answered, while fallbacks remain (resent to the next address). */
  private firstFlight: Buffer[] = [];
  /** The address the socket is connected to now, when a fallback replaced `connect`. */
  private fallbackPeer: Address | undefined;
  /** Moving to the next address (binding, connecting): nothing is polled or sent meanwhile. */
  private switching = false;

  private constructor(
    readonly endpoint: DatagramEndpoint,
    socket: Socket,
    private readonly opts: UdpOptions,
  ) {
    this.sock = socket;
    const a = socket.address();
    this.local = { host: a.address, port: a.port };
    this.connected = !!opts.connect;
    this.fallbacks = opts.connect ? [...(opts.fallbacks ?? [])] : [];
    this.afterInput = opts.afterInput ?? (() => {});
    this.listen(socket);
  }

  get socket(): Socket {
    return this.sock;
  }

  /** The address a connected socket talks to now: `connect`, or the fallback that replaced it. */
  get peer(): Address | undefined {
    return this.fallbackPeer ?? this.opts.connect;
  }

  /** The last sender's address, handed out again while datagrams keep coming from it (a transfer: nearly all of them). */
  private lastFrom: Address = { host: '', port: 0 };

  private sender(host: string, port: number): Address {
    const last = this.lastFrom;
    if (last.port === port && last.host === host) return last;
    return (this.lastFrom = { host, port });
  }

  private listen(socket: Socket): void {
    socket.on('message', (msg, rinfo) => {
      if (this.closed || socket !== this.sock) return;
      this.answered = true;
      this.firstFlight = [];
      // After a fallback the endpoint still believes it talks to `connect`; a connected socket hears only its peer.
      const from = this.fallbackPeer ? this.opts.connect! : this.sender(rinfo.address, rinfo.port);
      this.endpoint.receiveDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), from, monotonicNow(), this.local);
      this.afterInput();
      this.inputPending = true;
      this.quietTurns = 0;
      this.queueFlush();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (socket === this.sock) this.reportError(e);
    });
  }

  /** Nothing listens at the current address (ICMP port unreachable) and the peer never answered: try the next one. */
  private async fallBack(): Promise<void> {
    this.switching = true;
    const refused = this.fallbackPeer ?? this.opts.connect!;
    let lastError: NodeJS.ErrnoException | undefined;
    while (this.fallbacks.length) {
      const next = this.fallbacks.shift()!;
      this.opts.onFallback?.(refused, next);
      // A fresh socket each time (the family may change): the old one keeps working until the new one is connected.
      let socket: Socket | undefined;
      try {
        const s = (socket = await bindUdpAddress(wildcardFor(next.host), 0));
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.connect(next.port, next.host, () => {
            s.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        socket?.close();
        lastError = e as NodeJS.ErrnoException;
        continue;
      }
      if (this.closed) {
        socket.close();
        return;
      }
      const old = this.sock;
      this.sock = socket;
      this.batchesInFlight = 0;
      this.listen(socket);
      this.setBuffers(socket);
      old.removeAllListeners('message');
      old.removeAllListeners('error');
      old.on('error', () => {});
      old.close();
      const a = socket.address();
      this.local = { host: a.address, port: a.port };
      this.fallbackPeer = next;
      this.switching = false;
      for (const b of this.firstFlight) socket.send(b);
      this.queueFlush();
      return;
    }
    this.switching = false;
    const e: NodeJS.ErrnoException = lastError ?? Object.assign(new Error(`connect ECONNREFUSED ${refused.host}:${refused.port}`), { code: 'ECONNREFUSED' });
    this.firstFlight = [];
    this.reportError(e);
  }

  private setBuffers(socket: Socket): void {
    const bytes = this.opts.socketBufferBytes ?? SOCKET_BUFFER_BYTES;
    if (bytes <= 0) return;
    try {
      socket.setRecvBufferSize(bytes);
      socket.setSendBufferSize(bytes);
    } catch {
      // Not fatal: the defaults work, only with more loss when the event loop stalls under load.
    }
  }

  /** Binds host:port (port 0: any free port), connects if asked, and starts driving the endpoint. */
  static async open(endpoint: DatagramEndpoint, host: string, port: number, opts: UdpOptions = {}): Promise<UdpEndpointDriver> {
    const socket = await bindUdp(host, port);
    return UdpEndpointDriver.attach(endpoint, socket, opts);
  }

  /** Drives the endpoint over an already bound socket. */
  static async attach(endpoint: DatagramEndpoint, socket: Socket, opts: UdpOptions = {}): Promise<UdpEndpointDriver> {
    if (opts.connect) {
      const to = opts.connect;
      await new Promise<void>((resolve) => socket.connect(to.port, to.host, resolve));
    }
    const d = new UdpEndpointDriver(endpoint, socket, opts);
    d.setBuffers(socket);
    d.kick();
    return d;
  }

  /** An error counts as input: whatever onError did to the endpoint (a close) reaches afterInput and blocked callers. */
  private reportError(e: NodeJS.ErrnoException): void {
    if (this.closed || this.switching) return;
    if (e.code === 'ECONNREFUSED' && !this.answered && this.fallbacks.length) {
      void this.fallBack();
      return;
    }
    this.opts.onError?.(e);
    this.inputPending = true;
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Call after API calls that create output (send, close, a new request): sends it this event-loop turn. */
  kick(): void {
    this.queueFlush();
  }

  private flush(): void {
    if (this.closed || this.switching) return;
    const now = monotonicNow();
    const due = this.endpoint.nextTimeout();
    if (due !== undefined && due <= now) {
      this.endpoint.handleTimeout(now);
      this.afterInput();
      if (this.closed) return; // afterInput may have closed us
      this.inputPending = true;
    }
    const hadInput = this.inputPending;
    this.inputPending = false;
    this.sendReady(now);
    this.armTimer();
    if (hadInput) for (const w of this.waiters.splice(0)) w();
  }

  /** Polls the endpoint until it has nothing more (or a fair share has gone out) and hands it all to the socket. */
  private sendReady(now: number): void {
    let sent = 0;
    let last: OutgoingDatagram | undefined;
    for (;;) {
      const batch = this.endpoint.pollDatagrams(now);
      if (!batch.length) break;
      for (let i = 0; i < batch.length; i++) {
        if (last) this.send(last, false);
        last = batch[i];
      }
      sent += batch.length;
      if (sent >= MAX_SENDS_PER_FLUSH) {
        this.queueFlush();
        break;
      }
    }
    // Sends on one socket complete in order, so one completion callback per batch tells when all of it left.
    if (last) {
      this.send(last, true);
      this.quietTurns = 0;
    }
  }

  private send(d: OutgoingDatagram, track: boolean): void {
    // dgram takes any Uint8Array: no Buffer view per datagram.
    const buf = d.data;
    const socket = this.sock;
    if (track) this.batchesInFlight++;
    const done = track ? (err: Error | null) => this.sendDone(socket, err) : undefined;
    if (this.connected) {
      if (!this.answered && this.fallbacks.length && this.firstFlight.length < MAX_FIRST_FLIGHT) this.firstFlight.push(Buffer.from(buf));
      socket.send(buf, done);
    } else socket.send(buf, d.to.port, d.to.host, done);
  }

  /** One per batch (not per datagram); completions from a socket a fallback replaced no longer count. */
  private sendDone(socket: Socket, err: Error | null): void {
    if (socket !== this.sock) return;
    if (err) this.reportError(err as NodeJS.ErrnoException);
    if (--this.batchesInFlight === 0) this.drained?.();
  }

  private armTimer(): void {
    const at = this.endpoint.nextTimeout() ?? Infinity;
    if (at === Infinity) return this.clearTimer();
    const wait = at - monotonicNow();
    if (wait < TIMER_RESOLUTION_MS && this.quietTurns++ < MAX_QUIET_TURNS) {
      this.clearTimer();
      // A deadline already past after a flush is only late processing; it runs next turn like a sub-millisecond one.
      this.immediateTimer = setImmediate(this.onTimer);
      return;
    }
    if (this.immediateTimer) {
      clearImmediate(this.immediateTimer);
      this.immediateTimer = undefined;
    }
    // Deadlines mostly move later (each ACK pushes the loss and idle timers out): a timer armed for an earlier time
    // stays, and re-arms when it fires, instead of a clearTimeout/setTimeout pair per flush.
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(TIMER_RESOLUTION_MS, Math.ceil(wait)));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.immediateTimer) clearImmediate(this.immediateTimer);
    this.immediateTimer = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.immediateTimer = undefined;
    this.flush();
  };

  /** Resolves after the next batch of input (datagrams or a timer) has been processed, or at close. */
  progress(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The blocking-mode driver for the OpenSSL-style QUIC API: flush our output, then wait for the network. */
  apiDriver(): ApiDriver {
    return {
      wait: () => {
        this.kick();
        return this.progress();
      },
      flush: () => this.kick(),
    };
  }

  /** Sends what is ready, stops the timers, lets queued datagrams (a final close) leave, closes the socket. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      // Mid-fallback nothing goes out: the old socket is being replaced (and the fallback closes the new one).
      if (!this.switching) this.sendReady(monotonicNow());
      this.closed = true;
      this.clearTimer();
      for (const w of this.waiters.splice(0)) w();
      const shut = () => this.sock.close(() => resolve());
      if (this.batchesInFlight === 0) shut();
      else this.drained = shut;
    });
  }
}
