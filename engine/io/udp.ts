// Real UDP for QUIC (RFC 9000 §5.2 and §14 over node:dgram): the only place a QUIC endpoint meets sockets and timers.

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Address, DatagramEndpoint } from '../endpoint.js';
import { QuicConnection } from '../quic/connection.js';
import { QuicServer, type ServerOptions } from '../quic/server.js';
import { QuicApi, type ApiDriver, type ApiOptions } from '../quic/api.js';
import type { QuicConfig } from '../quic/config.js';

/** Monotonic milliseconds: packet timing never follows wall-clock jumps. */
export const monotonicNow = (): number => performance.now();

/**
 * Moves one DatagramEndpoint over one socket: datagrams in, datagrams out, one timer for nextTimeout(). Anything that
 * waits for the network (blocking API calls) awaits progress(), which resolves after the next input.
 */
export class UdpRunner {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private inFlight = 0;
  private drained: (() => void) | undefined;
  private waiters: (() => void)[] = [];
  /** Called after every input (datagram or timer), before output is flushed: drain events here. */
  afterInput: () => void = () => {};
  readonly local: Address;

  private constructor(
    readonly endpoint: DatagramEndpoint,
    readonly socket: Socket,
  ) {
    const a = socket.address();
    this.local = { host: a.address, port: a.port };
    socket.on('message', (msg, rinfo) => {
      if (this.closed) return;
      const data = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
      this.endpoint.receiveDatagram(data, { host: rinfo.address, port: rinfo.port }, monotonicNow(), this.local);
      this.onInput();
    });
    // Socket errors (ICMP unreachable surfaced by the OS) are lost datagrams to QUIC; it recovers or times out.
    socket.on('error', () => {});
  }

  /** Binds host:port (port 0: any free port) and starts driving the endpoint. */
  static async bind(endpoint: DatagramEndpoint, host = '127.0.0.1', port = 0): Promise<UdpRunner> {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const r = new UdpRunner(endpoint, socket);
    r.kick();
    return r;
  }

  private onInput(): void {
    this.afterInput();
    this.kick();
    const w = this.waiters.splice(0);
    for (const f of w) f();
  }

  /** Sends what the endpoint has ready and re-arms the timer. Call after API calls that create output. */
  kick(): void {
    if (this.closed) return;
    for (const d of this.endpoint.pollDatagrams(monotonicNow())) {
      this.inFlight++;
      this.socket.send(d.data, d.to.port, d.to.host, () => {
        if (--this.inFlight === 0) this.drained?.();
      });
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.endpoint.nextTimeout();
    if (at === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      this.endpoint.handleTimeout(monotonicNow());
      this.onInput();
    }, Math.max(0, Math.ceil(at - monotonicNow())));
  }

  /** Resolves after the next datagram or timer has been processed. */
  progress(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The blocking-mode driver for QuicApi: flush our output, then wait for the network. */
  driver(): ApiDriver {
    return {
      wait: async () => {
        this.kick();
        await this.progress();
      },
      flush: () => this.kick(),
    };
  }

  /** Stops the timer, lets queued datagrams leave, closes the socket. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.kick();
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      for (const w of this.waiters.splice(0)) w();
      const shut = () => this.socket.close(() => resolve());
      if (this.inFlight === 0) shut();
      else this.drained = shut;
    });
  }
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly config: QuicConfig;
  readonly api?: Partial<Omit<ApiOptions, 'clock' | 'driver'>>;
  /** Local address to bind (default: any port on the wildcard of the peer's family). */
  readonly localHost?: string;
}

/** A client connection over UDP with the OpenSSL-style API in blocking mode (and usable non-blocking). */
export async function connectQuic(opts: ConnectOptions): Promise<{ api: QuicApi; runner: UdpRunner }> {
  const conn = new QuicConnection({ role: 'client', config: opts.config, remote: { host: opts.host, port: opts.port }, now: monotonicNow() });
  let runner!: UdpRunner;
  const api = new QuicApi(conn, { ...opts.api, clock: monotonicNow, driver: { wait: () => runner.driver().wait(), flush: () => runner.kick() } });
  runner = await UdpRunner.bind(api, opts.localHost ?? (isIPv6(opts.host) ? '::' : '0.0.0.0'), 0);
  return { api, runner };
}

export interface ListenOptions extends ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly api?: Partial<Omit<ApiOptions, 'clock' | 'driver'>>;
}

/** A server endpoint over UDP; acceptConnection() resolves with each new connection wrapped in the API. */
export async function listenQuic(opts: ListenOptions): Promise<{ server: QuicServer; runner: UdpRunner; acceptConnection(): Promise<QuicApi> }> {
  const server = new QuicServer(opts);
  const runner = await UdpRunner.bind(server, opts.host, opts.port);
  const apis: QuicApi[] = [];
  const driver = runner.driver();
  const wrap = () => {
    for (let c = server.accept(); c; c = server.accept()) apis.push(new QuicApi(c, { ...opts.api, clock: monotonicNow, driver }));
  };
  // Connections' API objects need their events handled even when the application is not calling them.
  const live = new Set<QuicApi>();
  runner.afterInput = () => {
    wrap();
    for (const a of apis) live.add(a);
    for (const a of live) {
      a.pump();
      if (a.isTerminated) live.delete(a);
    }
  };
  return {
    server,
    runner,
    async acceptConnection() {
      for (;;) {
        wrap();
        const a = apis.shift();
        if (a) return a;
        await runner.progress();
      }
    },
  };
}
