// The simulator driving the real QUIC engine (engine/quic) end to end: client connection ↔ server endpoint over the
// simple-p2p link with loss, Retry and key updates, checked by the on-wire observers.
import { test, expect } from '@playwright/test';
import type { Address, DatagramEndpoint, OutgoingDatagram } from '../engine/endpoint.js';
import { QuicConnection } from '../engine/quic/connection.js';
import { QuicServer } from '../engine/quic/server.js';
import type { QuicConfig } from '../engine/quic/config.js';
import { baseConfig } from './quic-conn-harness.js';
import { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import type { NetworkConfig } from '../simulator/network.js';
import type { Direction } from '../simulator/types.js';
import { writePcapng } from '../simulator/capture/pcapng.js';
import { requireBinary } from './helpers/proc.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BODY = 150_000;

/** Client that uploads BODY bytes on stream 0 once the handshake completes; server that counts what it reads. */
function upload(seed: string, opts: { retry?: boolean; client?: Partial<QuicConfig> } = {}) {
  const client = new QuicConnection({ role: 'client', config: baseConfig('client', opts.client ?? {}, `${seed}/client`), remote: DEFAULT_SERVER_ADDRESS, now: 0 });
  const server = new QuicServer({ config: baseConfig('server', {}, `${seed}/server`), retry: opts.retry ?? false });
  let sent = false;
  let received = 0;
  let fin = false;
  let serverConn: QuicConnection | undefined;
  const clientEndpoint: DatagramEndpoint = {
    receiveDatagram: (d, from, now, local) => client.receiveDatagram(d, from, now, local),
    pollDatagrams(now: number): OutgoingDatagram[] {
      if (!sent && client.handshakeComplete) {
        const id = client.openStream('bidi');
        if (id !== undefined) {
          client.writeStream(id, new Uint8Array(BODY).fill(0x5a), true);
          sent = true;
        }
      }
      return client.pollDatagrams(now);
    },
    nextTimeout: () => client.nextTimeout(),
    handleTimeout: (now) => client.handleTimeout(now),
  };
  const serverEndpoint: DatagramEndpoint = {
    receiveDatagram(d: Uint8Array, from: Address, now: number, local?: Address) {
      server.receiveDatagram(d, from, now, local);
      serverConn ??= server.accept();
      if (serverConn && !fin) {
        for (;;) {
          const r = serverConn.readStream(0, 1 << 20, now);
          received += r.data.length;
          if (r.fin) fin = true;
          if (!r.data.length) break;
        }
      }
    },
    pollDatagrams: (now) => server.pollDatagrams(now),
    nextTimeout: () => server.nextTimeout(),
    handleTimeout: (now) => server.handleTimeout(now),
  };
  /** 1-RTT header-protection keys per direction (they never change on key update, RFC 9001 §6). */
  const keyPhaseKeys = (d: Direction) => {
    const conn = d === 'to-server' ? client : serverConn;
    const keys = conn?.spaces.application.sendKeys;
    const peer = d === 'to-server' ? serverConn : client;
    return keys && peer ? { headerProtection: keys.headerProtection, dcidLength: peer.localCid.length } : undefined;
  };
  return { client, clientEndpoint, serverEndpoint, keyPhaseKeys, done: () => fin && received === BODY, received: () => received };
}

function run(seed: string, network: NetworkConfig, opts: Parameters<typeof upload>[1] = {}) {
  const u = upload(seed, opts);
  const r = simulate(u.clientEndpoint, u.serverEndpoint, network, seed, { protocol: 'quic', until: u.done, keyPhaseKeys: u.keyPhaseKeys, maxSimulatedMs: 120_000 });
  return { r, u };
}

const LOSSY: NetworkConfig = { link: { delay: 15, bandwidth: '10Mbps', queue: 25 }, 'to-server': [{ loss: { rate: 0.05 } }], 'to-client': [{ loss: { rate: 0.05 } }] };

test('real QUIC engine: handshake and 150 kB upload through 5% loss; observers and determinism', () => {
  const a = run('quic-sim', LOSSY);
  expect(a.r.outcome, a.r.reason).toBe('stopped');
  expect(a.u.received()).toBe(BODY);
  const check = (n: string) => a.r.checks.find((c) => c.name === n);
  expect(check('quic-amplification-limit')!.ok, check('quic-amplification-limit')!.detail).toBe(true);
  expect(a.r.metrics.handshakes).toBe(1);
  expect(a.r.metrics.versions).toEqual([1]);
  expect(a.r.trace.some((e) => e.fate === 'dropped-by-loss')).toBe(true);
  const b = run('quic-sim', LOSSY);
  expect(b.r.traceHash).toBe(a.r.traceHash);
  const c = run('quic-sim-2', LOSSY);
  expect(c.r.traceHash).not.toBe(a.r.traceHash);
});

test('real QUIC engine: Retry token echoed, key updates seen on the wire', () => {
  const { r } = run('quic-retry', { link: { delay: 15 } }, { retry: true, client: { keyUpdateAfterPackets: 30 } });
  expect(r.outcome, r.reason).toBe('stopped');
  expect(r.checks.find((c) => c.name === 'quic-retry-token-echoed')).toMatchObject({ ok: true });
  expect(r.metrics.retries).toBe(1);
  const updates = r.metrics.keyUpdates as { client: number; server: number };
  expect(updates.client).toBeGreaterThan(0);
  // The server answers each client update by updating its own keys (RFC 9001 §6.2).
  expect(updates.server).toBeGreaterThan(0);
});

test("real QUIC engine: the run's pcapng with the engine's key log decrypts in tshark down to STREAM frames", () => {
  const tshark = requireBinary('/usr/bin/tshark', 'apt-get install -y tshark');
  const lines: string[] = [];
  const base = baseConfig('client', {}, 'quic-capture/client');
  const u = upload('quic-capture', { client: { tls: { ...base.tls, keyLog: (l: string) => lines.push(l) } } });
  const r = simulate(u.clientEndpoint, u.serverEndpoint, { 'to-server': [{ droplist: { indices: [3] } }] }, 'quic-capture', { protocol: 'quic', until: u.done, capture: true });
  expect(r.outcome, r.reason).toBe('stopped');
  expect(lines.some((l) => l.startsWith('CLIENT_TRAFFIC_SECRET_0 '))).toBe(true);
  const file = join(mkdtempSync(join(tmpdir(), 'crosswire-simq-')), 'run.pcapng');
  writeFileSync(file, writePcapng(r.capture!.datagrams, { keylog: lines.map((l) => l + '\n').join('') }));
  const out = execFileSync(tshark, ['-r', file, '-Y', 'quic.stream.stream_id == 0', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  // Stream data frames only exist inside decrypted 1-RTT packets.
  expect(out.trim().split('\n').length).toBeGreaterThan(50);
  const comments = execFileSync(tshark, ['-r', file, '-Y', 'frame.comment', '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
  expect(comments).toContain('dropped by droplist');
});
