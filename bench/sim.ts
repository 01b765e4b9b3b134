// Simulator benchmark: simulated time ÷ wall time for a bulk transfer over the quic-interop-runner simple-p2p link,
// and, measured in the same run, the wall time of only the AEAD work those bytes would cost (1200-byte packets,
// AES-128-GCM) per crypto backend — the floor any real QUIC transfer through the simulator pays on top.
//
// Run: npm run build && node dist/bench/sim.js [--mb 10] [--loss 0]
// The transfer's endpoints come from makeTransfer(): swap the paced fake sender for the QUIC engine's client and
// server there once a scripted bulk download is wired up; nothing else changes.

import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { nodeCrypto } from '../engine/crypto/node.js';
import type { CryptoProvider } from '../engine/crypto/provider.js';
import type { DatagramEndpoint } from '../engine/endpoint.js';
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
function makeTransfer(totalBytes: number): Transfer {
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

export function runSimBench(mb = 10, loss = 0): void {
  const total = Math.round(mb * 1024 * 1024);
  const network: NetworkConfig = { link: { delay: 15, bandwidth: 10_000_000, queue: 25 }, ...(loss ? { 'to-server': [{ loss: { rate: loss } }] } : {}) };
  const t = makeTransfer(total);
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
  runSimBench(arg('mb', 10), arg('loss', 0));
}
