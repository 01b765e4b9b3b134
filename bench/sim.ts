// Simulator benchmark: simulated time ÷ wall time for a bulk transfer over the quic-interop-runner simple-p2p link,
// and, measured in the same run, the wall time of only the AEAD work those bytes would cost (1200-byte packets,
// AES-128-GCM) per crypto backend — the floor any real QUIC transfer through the simulator pays on top.
//
// Run: npm run build && node dist/bench/sim.js [--mb 10] [--loss 0] [--endpoint fake|quic]
// The transfer's endpoints come from makeTransfer(): `fake` is a paced sender of 1200-byte datagrams (the simulator's
// own cost), `quic` a real engine/quic client uploading on one stream to our server endpoint (the whole stack).

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { nodeCrypto } from '../engine/crypto/node.js';
import type { CryptoProvider } from '../engine/crypto/provider.js';
import type { DatagramEndpoint, OutgoingDatagram } from '../engine/endpoint.js';
import { seededRandom } from '../engine/crypto/random.js';
import { QuicConnection } from '../engine/quic/connection.js';
import { QuicServer } from '../engine/quic/server.js';
import type { QuicConfig } from '../engine/quic/config.js';
import { createTlsSession } from '../engine/tls/session.js';
import { loadCertificateChain, loadPrivateKey, pemDecode } from '../engine/tls/x509/pem.js';
import { makePki } from '../test/helpers/pki.js';
import { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import type { NetworkConfig } from '../simulator/network.js';
import { PacedSender, ScriptedEndpoint } from '../simulator/testing/fake-endpoints.js';
import { quicShort } from '../simulator/testing/packets.js';

const DATAGRAM = 1200;

interface Transfer {
  client: DatagramEndpoint;
  server: DatagramEndpoint;
  /** True once the payload has fully arrived. */
  done(): boolean;
  label: string;
}

/** The one place that picks the endpoints under test. */
function makeTransfer(kind: 'fake' | 'quic', totalBytes: number): Transfer {
  return kind === 'quic' ? quicUpload(totalBytes) : pacedFake(totalBytes);
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
  return { client: sender, server: sink, done: () => received >= totalBytes, label: 'paced fake sender (1200-byte datagrams)' };
}

/** engine/quic client → our server endpoint, one bidirectional stream carrying `totalBytes`, seeded randomness. */
function quicUpload(totalBytes: number): Transfer {
  const pki = makePki();
  const common = (role: string): Pick<QuicConfig, 'crypto' | 'random' | 'clock' | 'createTls'> => ({
    crypto: nobleCrypto,
    random: seededRandom(`bench/${role}`, (d) => nobleCrypto.hash('sha256', d)),
    clock: () => Date.now(), // certificate dates only; packet timing is the simulator's
    createTls: createTlsSession,
  });
  const client = new QuicConnection({
    role: 'client',
    config: { ...common('client'), tls: { serverName: 'localhost', alpn: ['hq-interop'], verify: { ca: pemDecode(readFileSync(pki.ca, 'utf8'), 'CERTIFICATE') } } },
    remote: DEFAULT_SERVER_ADDRESS,
    now: 0,
  });
  const server = new QuicServer({
    config: { ...common('server'), tls: { alpn: ['hq-interop'], certificateChain: loadCertificateChain(readFileSync(pki.leaf.ec.cert, 'utf8')), privateKey: loadPrivateKey(readFileSync(pki.leaf.ec.key, 'utf8')) } },
  });
  const chunk = new Uint8Array(64 * 1024).fill(0x5a);
  let stream: number | undefined;
  let written = 0;
  let received = 0;
  let conn: QuicConnection | undefined;
  const clientEndpoint: DatagramEndpoint = {
    receiveDatagram: (d, from, now, local) => client.receiveDatagram(d, from, now, local),
    pollDatagrams(now: number): OutgoingDatagram[] {
      if (client.handshakeComplete) {
        stream ??= client.openStream('bidi');
        while (stream !== undefined && written < totalBytes) {
          const n = Math.min(chunk.length, totalBytes - written);
          const took = client.writeStream(stream, chunk.subarray(0, n));
          written += took;
          if (written === totalBytes) client.concludeStream(stream);
          if (took < n) break; // send buffer full: continue after acks
        }
      }
      return client.pollDatagrams(now);
    },
    nextTimeout: () => client.nextTimeout(),
    handleTimeout: (now) => client.handleTimeout(now),
  };
  const serverEndpoint: DatagramEndpoint = {
    receiveDatagram(d, from, now, local) {
      server.receiveDatagram(d, from, now, local);
      conn ??= server.accept();
      for (let r = conn?.readStream(0, 1 << 20, now); r && r.data.length; r = conn!.readStream(0, 1 << 20, now)) received += r.data.length;
    },
    pollDatagrams: (now) => server.pollDatagrams(now),
    nextTimeout: () => server.nextTimeout(),
    handleTimeout: (now) => server.handleTimeout(now),
  };
  return { client: clientEndpoint, server: serverEndpoint, done: () => received >= totalBytes, label: 'engine/quic client → server (noble crypto), one stream' };
}

function aeadWallMs(provider: CryptoProvider, bytes: number): number {
  const aead = provider.aead('aes-128-gcm', new Uint8Array(16).fill(7));
  const nonce = new Uint8Array(12);
  const aad = new Uint8Array(20);
  const plain = new Uint8Array(DATAGRAM - 20 - 16);
  const packets = Math.ceil(bytes / DATAGRAM);
  for (let i = 0; i < 50; i++) aead.seal(nonce, plain, aad); // warm-up
  const start = performance.now();
  for (let i = 0; i < packets; i++) {
    new DataView(nonce.buffer).setUint32(8, i);
    aead.seal(nonce, plain, aad);
  }
  return performance.now() - start;
}

export function runSimBench(mb = 10, loss = 0, endpoint: 'fake' | 'quic' = 'fake'): void {
  const total = Math.round(mb * 1024 * 1024);
  const network: NetworkConfig = { link: { delay: 15, bandwidth: 10_000_000, queue: 25 }, ...(loss ? { 'to-server': [{ loss: { rate: loss } }] } : {}) };
  const t = makeTransfer(endpoint, total);
  const start = performance.now();
  const r = simulate(t.client, t.server, network, 'bench', { protocol: 'quic', until: () => t.done() || false });
  const wall = performance.now() - start;
  console.log(`simulator: ${t.label}, ${mb} MB over 15 ms / 10 Mbit/s / queue 25${loss ? `, ${loss * 100}% loss` : ''}`);
  console.log(`  outcome ${r.outcome}, ${r.events} events, ${r.trace.length} datagrams, fates ${JSON.stringify(r.metrics.fates)}`);
  console.log(`  simulated ${(r.simulatedMs / 1000).toFixed(2)} s in ${(wall / 1000).toFixed(2)} s wall: ${(r.simulatedMs / wall).toFixed(1)}× real time`);
  console.log(`  wall per datagram ${((wall * 1000) / r.trace.length).toFixed(1)} µs (trace hashing included)`);
  for (const p of [nobleCrypto, nodeCrypto]) {
    const ms = aeadWallMs(p, total);
    console.log(`  AEAD only (${p.name}, aes-128-gcm seal of the same bytes): ${ms.toFixed(0)} ms = ${((ms / wall) * 100).toFixed(0)}% of the simulation's wall time`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const e = process.argv.indexOf('--endpoint');
  const endpoint = e > 0 && process.argv[e + 1] === 'quic' ? 'quic' : 'fake';
  runSimBench(arg('mb', endpoint === 'quic' ? 2 : 10), arg('loss', 0), endpoint);
}
