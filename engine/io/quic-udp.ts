// The OpenSSL-style QUIC API (DESIGN.md §3) over real UDP (RFC 9000 §5.2 client and server endpoints): blocking calls
// wait on the one UDP adapter (udp.ts), which drives the connection or the server endpoint.

import { QuicConnection } from '../quic/connection.js';
import { QuicServer, type ServerOptions } from '../quic/server.js';
import { QuicApi, type ApiOptions } from '../quic/api.js';
import type { QuicConfig } from '../quic/config.js';
import { monotonicNow, UdpEndpointDriver, wildcardFor, type UdpOptions } from './udp.js';

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly config: QuicConfig;
  readonly api?: Partial<Omit<ApiOptions, 'clock' | 'driver'>>;
  /** Local address to bind (default: any port on the wildcard of the peer's family). */
  readonly localHost?: string;
  /** Socket options for the adapter (connect, onError, buffer sizes). */
  readonly udp?: Omit<UdpOptions, 'afterInput'>;
}

/** A client connection over UDP with the OpenSSL-style API in blocking mode (and usable non-blocking). */
export async function connectQuic(opts: ConnectOptions): Promise<{ api: QuicApi; runner: UdpEndpointDriver }> {
  const conn = new QuicConnection({ role: 'client', config: opts.config, remote: { host: opts.host, port: opts.port }, now: monotonicNow() });
  let runner: UdpEndpointDriver | undefined;
  // The runner exists only once the socket is bound; nothing blocks on the network before that.
  const api = new QuicApi(conn, {
    ...opts.api,
    clock: monotonicNow,
    driver: { wait: () => runner!.apiDriver().wait(), flush: () => runner?.kick() },
  });
  runner = await UdpEndpointDriver.open(api, opts.localHost ?? wildcardFor(opts.host), 0, opts.udp);
  return { api, runner };
}

export interface ListenOptions extends ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly api?: Partial<Omit<ApiOptions, 'clock' | 'driver'>>;
}

/** A server endpoint over UDP; acceptConnection() resolves with each new connection wrapped in the API. */
export async function listenQuic(opts: ListenOptions): Promise<{ server: QuicServer; runner: UdpEndpointDriver; acceptConnection(): Promise<QuicApi> }> {
  const server = new QuicServer(opts);
  const runner = await UdpEndpointDriver.open(server, opts.host, opts.port);
  const apis: QuicApi[] = [];
  const driver = runner.apiDriver();
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
