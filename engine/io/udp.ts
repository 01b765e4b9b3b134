// Real UDP for any sans-I/O DatagramEndpoint (engine/endpoint.ts: QUIC client or server per RFC 9000 §5.2/§14, DTLS
// per RFC 6347 §4.1) over node:dgram: the one place those endpoints meet sockets and timers.

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Address, DatagramEndpoint, OutgoingDatagram } from '../endpoint.js';
import type { ApiDriver } from '../quic/api.js';

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
  /** Socket errors (ECONNREFUSED on a connected socket, send failures). Default: ignored, a lost datagram to the protocol. */
  readonly onError?: (e: NodeJS.ErrnoException) => void;
  /** Kernel send and receive buffer size; 0 keeps the OS defaults. */
  readonly socketBufferBytes?: number;
}

/** Binds a UDP socket of host's family (port 0: any free port); rejects with the OS error (EADDRINUSE, EADDRNOTAVAIL). */
export function bindUdp(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** The wildcard address of a peer's family, for a client that lets the OS choose its source address. */
export const wildcardFor = (peerHost: string): string => (isIPv6(peerHost) ? '::' : '0.0.0.0');

/**
 * Moves one DatagramEndpoint over one socket. Datagrams read in the same event-loop turn are fed in one after another
 * (afterInput after each); then, once per turn, due timers run, every datagram the endpoint has ready goes out, and the
 * single timer is re-armed for nextTimeout(). Anything that waits for the network (blocking API calls) awaits
 * progress(), which resolves after the next batch of input.
 */
export class UdpEndpointDriver {
  readonly local: Address;
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

  private constructor(
    readonly endpoint: DatagramEndpoint,
    readonly socket: Socket,
    private readonly opts: UdpOptions,
  ) {
    const a = socket.address();
    this.local = { host: a.address, port: a.port };
    this.connected = !!opts.connect;
    this.afterInput = opts.afterInput ?? (() => {});
    socket.on('message', (msg, rinfo) => {
      if (this.closed) return;
      this.endpoint.receiveDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { host: rinfo.address, port: rinfo.port }, monotonicNow(), this.local);
      this.afterInput();
      this.inputPending = true;
      this.quietTurns = 0;
      this.queueFlush();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => this.reportError(e));
  }

  /** Binds host:port (port 0: any free port), connects if asked, and starts driving the endpoint. */
  static async open(endpoint: DatagramEndpoint, host: string, port: number, opts: UdpOptions = {}): Promise<UdpEndpointDriver> {
    const socket = await bindUdp(host, port);
    return UdpEndpointDriver.attach(endpoint, socket, opts);
  }

  /** Drives the endpoint over an already bound socket. */
  static async attach(endpoint: DatagramEndpoint, socket: Socket, opts: UdpOptions = {}): Promise<UdpEndpointDriver> {
    const bytes = opts.socketBufferBytes ?? SOCKET_BUFFER_BYTES;
    if (bytes > 0) {
      try {
        socket.setRecvBufferSize(bytes);
        socket.setSendBufferSize(bytes);
      } catch {
        // Not fatal: the defaults work, only with more loss when the event loop stalls under load.
      }
    }
    if (opts.connect) {
      const to = opts.connect;
      await new Promise<void>((resolve) => socket.connect(to.port, to.host, resolve));
    }
    const d = new UdpEndpointDriver(endpoint, socket, opts);
    d.kick();
    return d;
  }

  /** An error counts as input: whatever onError did to the endpoint (a close) reaches afterInput and blocked callers. */
  private reportError(e: NodeJS.ErrnoException): void {
    if (this.closed) return;
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
    if (this.closed) return;
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
    const buf = Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
    const done = track ? this.sendDone : undefined;
    if (track) this.batchesInFlight++;
    if (this.connected) this.socket.send(buf, done);
    else this.socket.send(buf, d.to.port, d.to.host, done);
  }

  private readonly sendDone = (err: Error | null): void => {
    if (err) this.reportError(err as NodeJS.ErrnoException);
    if (--this.batchesInFlight === 0) this.drained?.();
  };

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
      this.sendReady(monotonicNow());
      this.closed = true;
      this.clearTimer();
      for (const w of this.waiters.splice(0)) w();
      const shut = () => this.socket.close(() => resolve());
      if (this.batchesInFlight === 0) shut();
      else this.drained = shut;
    });
  }
}
