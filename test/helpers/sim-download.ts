// One hq-interop download from our QuicServer to our client through simulate(), in virtual time: the setup the loss,
// migration, PMTU and fast-path specs share, returning what they assert on.
import { createHash } from 'node:crypto';
import { QuicConnection } from '../../engine/quic/connection.js';
import { QuicServer } from '../../engine/quic/server.js';
import type { QuicConfig } from '../../engine/quic/config.js';
import { QlogBuffer } from '../../engine/quic/qlog.js';
import { QuicClientApp, QuicServerApp, withApp } from '../../engine/apps/quic-app.js';
import { GeneratedFiles, generatedBytes } from '../../engine/apps/generated-files.js';
import { simulate, DEFAULT_SERVER_ADDRESS, type SimulationResult } from '../../simulator/run.js';
import type { NetworkConfig } from '../../simulator/network.js';
import { baseConfig } from '../quic-conn-harness.js';

export interface SimDownloadOptions {
  size: number;
  path?: string;
  network?: NetworkConfig;
  seed?: string | number;
  /** Merged into both sides' baseConfig (crypto backend, pmtud, datagram size…). */
  config?: Partial<QuicConfig>;
  /** Merged after `config` into one side only (e.g. an extension on one end). */
  clientConfig?: Partial<QuicConfig>;
  serverConfig?: Partial<QuicConfig>;
  /** Keep every qlog event of both sides (costs memory on long transfers). */
  qlog?: boolean;
  /** 'complete' stops once the request ended; 'idle' once the client app has nothing left after the handshake. */
  until?: 'complete' | 'idle';
  maxSimulatedMs?: number;
  maxEvents?: number;
}

export interface SimDownload {
  sim: SimulationResult;
  /** How the request ended, if it did. */
  outcome?: { ok: boolean; detail?: string };
  bytes: number;
  /** Every byte arrived and matches the served file. */
  intact: boolean;
  client: QuicConnection;
  server: QuicServer;
  /** The server side of the connection (the first one accepted). */
  serverConn?: QuicConnection;
  clientQlog: QlogBuffer;
  serverQlog: QlogBuffer;
}

export function simulateDownload(o: SimDownloadOptions): SimDownload {
  const clock = { now: 0 };
  const path = o.path ?? '/file';
  const clientQlog = new QlogBuffer();
  const serverQlog = new QlogBuffer();
  const side = (qlog: QlogBuffer, own?: Partial<QuicConfig>) => ({ ...(o.qlog ? { qlog: qlog.sink } : {}), ...o.config, ...own });
  const server = new QuicServer({ config: baseConfig('server', side(serverQlog, o.serverConfig)) });
  const serverApp = new QuicServerApp(new GeneratedFiles().add(path, o.size), () => clock.now);
  const client = new QuicConnection({ role: 'client', config: baseConfig('client', side(clientQlog, o.clientConfig)), remote: DEFAULT_SERVER_ADDRESS, now: 0 });
  const hash = createHash('sha256');
  let bytes = 0;
  let outcome: SimDownload['outcome'];
  let serverConn: QuicConnection | undefined;
  const app = new QuicClientApp(
    client,
    'hq-interop',
    'localhost',
    {
      onData: (_p, c) => {
        hash.update(c);
        bytes += c.length;
      },
      onComplete: (_p, ok, detail) => (outcome = { ok, detail }),
    },
    () => clock.now,
  );
  app.request(path);
  const sim = simulate(
    withApp(client, () => app.poll(), clock),
    withApp(server, () => {
      for (let c = server.accept(); c; c = server.accept()) serverConn ??= c as QuicConnection;
      serverApp.poll(server.connections);
    }, clock),
    o.network ?? {},
    o.seed ?? 1,
    {
      protocol: 'quic',
      until: o.until === 'idle' ? () => app.idle && app.handshakeDone : () => outcome !== undefined,
      maxSimulatedMs: o.maxSimulatedMs ?? 120_000,
      maxEvents: o.maxEvents ?? 3_000_000,
    },
  );
  const intact = bytes === o.size && hash.digest('hex') === createHash('sha256').update(generatedBytes(path, 0, o.size)).digest('hex');
  return { sim, outcome, bytes, intact, client, server, serverConn, clientQlog, serverQlog };
}
