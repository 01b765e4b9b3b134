// Memory per idle server connection (issue 15): one QuicServer accepts N client handshakes (hq-interop, node crypto,
// no simulator: datagrams are handed across directly at a fixed virtual time), each client is then dropped, and the
// server's connections stay open and idle. The handshake polls only the connection being built (found through the
// server's 'accepted' event): QuicServer.pollDatagrams visits every connection, which would make 10,000 handshakes
// quadratic — a real limit of the server loop, reported by issue 15, not what this bench measures. Heap plus external memory after a full GC, minus the same figure before
// the first handshake, divided by N. Printed, never asserted (DESIGN.md §8).
//
// Run: npm run build && node --expose-gc dist/bench/memory.js [--conns 10000] [--json]

import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { nodeCrypto } from '../engine/crypto/node.js';
import { seededRandom } from '../engine/crypto/random.js';
import type { Address, DatagramEndpoint } from '../engine/endpoint.js';
import { QuicConnection } from '../engine/quic/connection.js';
import { QuicServer } from '../engine/quic/server.js';
import type { QuicConfig } from '../engine/quic/config.js';
import { createTlsSession } from '../engine/tls/session.js';
import { loadCertificateChain, loadPrivateKey, pemDecode } from '../engine/tls/x509/pem.js';
import { makePki } from '../test/helpers/pki.js';
import { emitBench, logger, peakRssMiB, wantsJson } from './emit.js';

const json = wantsJson();
const log = logger(json);
const i = process.argv.indexOf('--conns');
const conns = i >= 0 ? Number(process.argv[i + 1]) : 10_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('memory bench: run with node --expose-gc\n');
  process.exit(2);
}

const pki = makePki();
const wallClock = Date.now() + 60_000; // certificate validity only
const common = (role: string): Pick<QuicConfig, 'crypto' | 'random' | 'clock' | 'createTls'> => ({
  crypto: nodeCrypto,
  random: seededRandom(`bench-memory/${role}`, (d) => nobleCrypto.hash('sha256', d)),
  clock: () => wallClock,
  createTls: createTlsSession,
});
const serverAddress: Address = { host: '10.0.0.2', port: 443 };
let accepted: QuicConnection | undefined;
const server = new QuicServer({
  onEvent: (e) => {
    if (e.type === 'accepted') accepted = e.connection;
  },
  config: { ...common('server'), tls: { alpn: ['hq-interop'], certificateChain: loadCertificateChain(readFileSync(pki.leaf.ec.cert, 'utf8')), privateKey: loadPrivateKey(readFileSync(pki.leaf.ec.key, 'utf8')) } },
});
const ca = pemDecode(readFileSync(pki.ca, 'utf8'), 'CERTIFICATE');
const clientConfig = { ...common('client'), tls: { serverName: 'localhost', alpn: ['hq-interop'], verify: { ca } } };

function exchange(a: DatagramEndpoint, aAddr: Address, b: DatagramEndpoint, bAddr: Address, now: number): number {
  let moved = 0;
  for (const d of a.pollDatagrams(now)) {
    b.receiveDatagram(d.data, aAddr, now, bAddr);
    moved++;
  }
  return moved;
}

function measure(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

const before = measure();
const start = performance.now();
let now = 0;
for (let n = 0; n < conns; n++) {
  const addr: Address = { host: `10.1.${(n >> 8) & 0xff}.${n & 0xff}`, port: 40000 + (n >> 16) };
  const client = new QuicConnection({ role: 'client', config: clientConfig, remote: serverAddress, now });
  accepted = undefined;
  let confirmed = false;
  exchange(client, addr, server, serverAddress, now);
  const conn = accepted as QuicConnection | undefined;
  if (!conn) throw new Error(`connection ${n}: the server accepted nothing`);
  // The accepted connection answers the client directly (its datagrams are addressed to it); the client's datagrams
  // still go through the server's routing.
  const side: DatagramEndpoint = { pollDatagrams: (t) => conn.pollDatagrams(t), receiveDatagram: () => {}, nextTimeout: () => undefined, handleTimeout: () => {} };
  for (let round = 0; round < 20 && !confirmed; round++) {
    const moved = exchange(side, serverAddress, client, addr, now) + exchange(client, addr, server, serverAddress, now);
    for (let e = client.pollEvent(); e; e = client.pollEvent()) if (e.type === 'handshake-confirmed') confirmed = true;
    if (!moved && !confirmed) throw new Error(`connection ${n}: handshake stalled`);
  }
  // The last ACKs, so the server holds nothing in flight for the idle connection.
  exchange(side, serverAddress, client, addr, now);
  exchange(client, addr, server, serverAddress, now);
  exchange(side, serverAddress, client, addr, now);
  for (let c = server.accept(); c; c = server.accept()) void c;
  if (!confirmed) throw new Error(`connection ${n}: no handshake-confirmed`);
  now += 0.01; // well inside every idle timeout
}
const handshakeMs = performance.now() - start;
const after = measure();
const open = server.connections.size;
const perConn = (after - before) / Math.max(1, open);
log(`memory: ${open} idle server connections after ${conns} handshakes in ${(handshakeMs / 1000).toFixed(1)} s; heap+external ${((after - before) / 1024 / 1024).toFixed(1)} MiB more than before = ${(perConn / 1024).toFixed(1)} KiB per connection; peak RSS ${peakRssMiB().toFixed(0)} MiB; load ${loadavg()[0]!.toFixed(2)}`);
if (open !== conns) throw new Error(`expected ${conns} open connections, found ${open}`);
if (json) {
  emitBench({
    bench: 'memory',
    metrics: [
      { id: 'mem.idle-server-conn', name: `memory per idle server connection (${conns})`, value: perConn / 1024, unit: 'KiB', better: 'lower' },
      { id: 'mem.handshakes-per-sec', name: 'in-process handshakes/s (no network)', value: (conns * 1000) / handshakeMs, unit: '/s', better: 'higher' },
    ],
  });
}
