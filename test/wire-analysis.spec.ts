// interop/runner/wire-analysis.ts: QUIC facts read back from captures and key logs (RFC 9001 §5 Initial keys from the
// DCID, §6 key phase; RFC 9369 v2; RFC 8446 handshake messages). Captures come from real runs: our own engine in
// virtual time through runScenario, and real ngtcp2 processes through the real-time relay.
import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, parseScenario } from '../interop/scenario/load.js';
import type { Scenario } from '../interop/scenario/model.js';
import { runScenario, type RunRecord } from '../interop/runner/run.js';
import { analyzeQuicWire, datagramsFromCapture, type WireConnection, type WireDatagram, type WireReport } from '../interop/runner/wire-analysis.js';
import type { CapturedDatagram } from '../simulator/capture/recorder.js';
import { DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import { startRelay } from '../simulator/relay.js';
import { QUIC_V1, QUIC_V2 } from '../engine/quic/version.js';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { nodeCrypto } from '../engine/crypto/node.js';
import { encodeVersionNegotiation, parsePacket, splitDatagram } from '../engine/quic/packet.js';
import { initialKeys, protectPacket, unprotectPacket } from '../engine/quic/protection.js';
import { concat } from '../engine/wire/bytes.js';
import { makePki } from './helpers/pki.js';
import { freeUdpPort, spawnPeer } from './helpers/proc.js';
import { makeTestFiles, requireNgtcp2, waitForUdpListener } from './helpers/ngtcp2.js';

interface Captured {
  run: RunRecord;
  captured: readonly CapturedDatagram[];
  datagrams: WireDatagram[];
  keylog: string;
}

/** Runs a catalog scenario with our engine on both sides (seed 1), keeping the capture and both endpoints' key log. */
function capture(scenario: string | Scenario, seed = 1): Captured {
  const dir = mkdtempSync(join(tmpdir(), 'crosswire-wire-'));
  try {
    let captured: readonly CapturedDatagram[] = [];
    const run = runScenario(typeof scenario === 'string' ? loadScenario(`scenarios/quic/${scenario}.yaml`) : scenario, { seed, capture: true, outDir: dir, onSimulation: (sim) => (captured = sim.capture?.datagrams ?? []) });
    expect(run.verdict, run.reason).toBe('passed');
    const keylog = readFileSync(run.artifacts.keylog!, 'utf8');
    return { run, captured, datagrams: datagramsFromCapture(captured), keylog };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function analyze(c: Captured, keylog = c.keylog): WireReport {
  return analyzeQuicWire(c.datagrams, keylog);
}

function allPackets(conn: WireConnection): number {
  return [...Object.values(conn.packets['to-server']), ...Object.values(conn.packets['to-client'])].reduce((a, b) => a + b, 0);
}

/** Nothing failed to parse or authenticate, and every packet found its connection. */
function expectClean(r: WireReport): void {
  expect(r.summary.unreadable).toBe(0);
  expect(r.summary.unattributed).toBe(0);
  expect(r.summary.malformed).toBe(0);
  expect(r.summary.withoutKeys).toBe(0);
}

test('handshake: one v1 connection, its ClientHello/ServerHello read from Initials, HANDSHAKE_DONE and EncryptedExtensions with the key log', () => {
  const c = capture('handshake');
  const r = analyze(c);
  expectClean(r);
  expect(r.connections).toHaveLength(1);
  const conn = r.connections[0]!;
  expect(conn.version).toEqual({ initial: QUIC_V1, final: QUIC_V1, name: 'v1', versionNegotiation: false, compatibleUpgrade: false });
  expect(conn.retry).toBeUndefined();
  expect(conn.cipherSuite).toBe('TLS_AES_128_GCM_SHA256');
  expect(conn.serverName).toBe('localhost');
  expect(conn.alpnOffered).toContain('hq-interop');
  expect(conn.alpn).toBe('hq-interop');
  expect(conn.pskOffered).toBe(false);
  expect(conn.earlyDataOffered).toBe(false);
  expect(conn.resumed).toBe(false);
  expect(conn.helloRetryRequest).toBe(false);
  expect(conn.zeroRttPackets).toBe(0);
  expect(conn.earlyDataAccepted).toBe(false);
  expect(conn.handshakeCompleted).toBe(true);
  expect(conn.handshakeConfirmed).toBe(true);
  expect(conn.keyUpdates).toEqual({ client: 0, server: 0, unverified: 0 });
  expect(conn.keysFound).toEqual({ handshake: true, early: false, oneRtt: true });
  // The client random is the one both endpoints logged their secrets under.
  expect(c.keylog).toContain(`CLIENT_HANDSHAKE_TRAFFIC_SECRET ${conn.clientRandom}`);
  expect(c.keylog).toContain(`SERVER_TRAFFIC_SECRET_0 ${conn.clientRandom}`);
  // Our client ends the run with an application close (no error).
  expect(conn.closed.length).toBeGreaterThanOrEqual(1);
  expect(conn.closed[0]).toMatchObject({ by: 'client', space: '1rtt', application: true, errorCode: 0 });
  // Every datagram was accounted for, and every packet decrypted.
  const sent = c.datagrams.filter((d) => d.direction === 'to-server').length;
  expect(conn.datagrams['to-server']).toBe(sent);
  expect(conn.datagrams['to-client']).toBe(c.datagrams.length - sent);
  expect(conn.decrypted).toBe(allPackets(conn));
  expect(conn.packets['to-server'].initial).toBeGreaterThanOrEqual(1);
  expect(conn.packets['to-client'].handshake).toBeGreaterThanOrEqual(1);
  expect(r.summary).toMatchObject({ connections: 1, handshakesCompleted: 1, handshakesConfirmed: 1, resumed: 0, retries: 0, versions: [QUIC_V1], cipherSuites: ['TLS_AES_128_GCM_SHA256'] });
});

test('the analysis is a pure function: same input, same report; the noble backend agrees with node:crypto', () => {
  const c = capture('handshake');
  expect(JSON.stringify(analyze(c))).toBe(JSON.stringify(analyze(c)));
  expect(JSON.stringify(analyzeQuicWire(c.datagrams, c.keylog, { crypto: nobleCrypto }))).toBe(JSON.stringify(analyze(c)));
});

test('the capture adapter: direction from trace entries or from the server address, fates from the trace', () => {
  const c = capture('handshake');
  const bare = c.captured.map(({ time, from, to, data }) => ({ time, from, to, data }));
  const byAddress = datagramsFromCapture(bare, DEFAULT_SERVER_ADDRESS);
  const byFirst = datagramsFromCapture(bare);
  expect(byAddress.map((d) => d.direction)).toEqual(c.datagrams.map((d) => d.direction));
  expect(byFirst.map((d) => d.direction)).toEqual(c.datagrams.map((d) => d.direction));
  expect(byAddress.every((d) => d.delivered)).toBe(true); // no trace entry: nothing says otherwise
  for (let i = 0; i < c.captured.length; i++) {
    const fate = c.captured[i]!.entry!.fate;
    expect(c.datagrams[i]!.delivered).toBe(fate === 'delivered' || fate === 'reordered' || fate === 'duplicated');
  }
});

test('resumption: the second connection offers a PSK and resumes, the first does not', () => {
  const r = analyze(capture('resumption'));
  expectClean(r);
  expect(r.connections).toHaveLength(2);
  const [first, second] = r.connections as [WireConnection, WireConnection];
  expect(first.originalDcid).not.toBe(second.originalDcid);
  expect(first.clientRandom).not.toBe(second.clientRandom);
  expect(first).toMatchObject({ pskOffered: false, resumed: false, handshakeConfirmed: true });
  expect(first.sessionTickets).toBeGreaterThanOrEqual(1);
  expect(second).toMatchObject({ pskOffered: true, resumed: true, earlyDataOffered: false, zeroRttPackets: 0, handshakeConfirmed: true });
  // A resumed handshake has no certificate flight: fewer Handshake packets from the server.
  expect(second.packets['to-client'].handshake!).toBeLessThanOrEqual(first.packets['to-client'].handshake!);
  expect(r.summary).toMatchObject({ connections: 2, resumed: 1, handshakesCompleted: 2, handshakesConfirmed: 2 });
});

test('zerortt: the resumed connection sends 0-RTT packets, they decrypt with CLIENT_EARLY_TRAFFIC_SECRET, and the server accepts early data', () => {
  const r = analyze(capture('zerortt'));
  expectClean(r);
  expect(r.connections).toHaveLength(2);
  const [first, second] = r.connections as [WireConnection, WireConnection];
  expect(first).toMatchObject({ zeroRttPackets: 0, earlyDataOffered: false, earlyDataAccepted: false, resumed: false });
  expect(first.zeroRttDecrypted).toBeUndefined();
  expect(second).toMatchObject({ earlyDataOffered: true, pskOffered: true, resumed: true, earlyDataAccepted: true });
  expect(second.zeroRttPackets).toBeGreaterThanOrEqual(1);
  expect(second.zeroRttDecrypted).toBe(second.zeroRttPackets);
  expect(second.packets['to-server']['0rtt']).toBe(second.zeroRttPackets);
  expect(second.keysFound.early).toBe(true);
  expect(r.summary).toMatchObject({ earlyDataAccepted: 1, resumed: 1, zeroRttPackets: second.zeroRttPackets });
});

test('retry: a Retry with a valid integrity tag, its token echoed, the connection followed to the new DCID', () => {
  const r = analyze(capture('retry'));
  expectClean(r);
  expect(r.connections).toHaveLength(1);
  const conn = r.connections[0]!;
  expect(conn.retry).toEqual({ tokenEchoed: true, integrityValid: true });
  expect(conn.packets['to-client'].retry).toBe(1);
  // The original DCID plus the Retry's SCID (and the server's handshake CID) all name this connection.
  expect(conn.serverCids.length).toBeGreaterThanOrEqual(2);
  expect(conn).toMatchObject({ cipherSuite: 'TLS_AES_128_GCM_SHA256', handshakeConfirmed: true, handshakeCompleted: true });
  expect(r.summary.retries).toBe(1);
});

test('v2: the client starts in v1, the server upgrades compatibly, and Handshake/1-RTT decrypt with the v2 labels', () => {
  const r = analyze(capture('v2'));
  expectClean(r);
  const conn = r.connections[0]!;
  expect(conn.version).toEqual({ initial: QUIC_V1, final: QUIC_V2, name: 'v2', versionNegotiation: false, compatibleUpgrade: true });
  expect(conn.handshakeConfirmed).toBe(true);
  expect(conn.earlyDataAccepted).toBe(false); // EncryptedExtensions read from v2 Handshake packets
  expect(r.summary.versions).toEqual([QUIC_V2]);
});

test('keyupdate: the key phase flips at least once each way, and each flip authenticates with the next-generation keys', () => {
  const r = analyze(capture('keyupdate'));
  expectClean(r);
  const conn = r.connections[0]!;
  expect(conn.keyUpdates!.client).toBeGreaterThanOrEqual(1);
  expect(conn.keyUpdates!.server).toBeGreaterThanOrEqual(1);
  expect(conn.keyUpdates!.unverified).toBe(0);
  expect(r.summary.keyUpdates!.client).toBe(conn.keyUpdates!.client);
});

test('chacha20: TLS_CHACHA20_POLY1305_SHA256 from the ServerHello; ChaCha20 header protection and AEAD open every packet', () => {
  const r = analyze(capture('chacha20'));
  expectClean(r);
  const conn = r.connections[0]!;
  expect(conn.cipherSuite).toBe('TLS_CHACHA20_POLY1305_SHA256');
  expect(conn.handshakeConfirmed).toBe(true);
  expect(r.summary.cipherSuites).toEqual(['TLS_CHACHA20_POLY1305_SHA256']);
});

test('without the key log: Initial facts stay, fields that need secrets are undefined, packets count as without keys', () => {
  const c = capture('zerortt');
  const r = analyze(c, '');
  expect(r.summary.unreadable).toBe(0);
  expect(r.summary.unattributed).toBe(0);
  expect(r.summary.withoutKeys).toBeGreaterThan(0);
  expect(r.connections).toHaveLength(2);
  for (const conn of r.connections) {
    expect(conn.cipherSuite).toBe('TLS_AES_128_GCM_SHA256');
    expect(conn.clientRandom).toMatch(/^[0-9a-f]{64}$/);
    expect(conn.handshakeCompleted).toBe(true);
    expect(conn.earlyDataAccepted).toBeUndefined();
    expect(conn.handshakeConfirmed).toBeUndefined();
    expect(conn.keyUpdates).toBeUndefined();
    expect(conn.zeroRttDecrypted).toBeUndefined();
    expect(conn.alpn).toBeUndefined();
    expect(conn.keysFound).toEqual({ handshake: false, early: false, oneRtt: false });
  }
  expect(r.connections[1]).toMatchObject({ resumed: true, pskOffered: true, earlyDataOffered: true });
  expect(r.connections[1]!.zeroRttPackets).toBeGreaterThanOrEqual(1);
  expect(r.summary.handshakesConfirmed).toBeUndefined();
  expect(r.summary.earlyDataAccepted).toBeUndefined();
  expect(r.summary.keyUpdates).toBeUndefined();

  // Only the handshake secrets: EncryptedExtensions is readable, 1-RTT is not.
  const handshakeOnly = c.keylog.split('\n').filter((l) => l.includes('HANDSHAKE_TRAFFIC_SECRET')).join('\n');
  const h = analyze(c, handshakeOnly);
  expect(h.connections[1]!.earlyDataAccepted).toBe(true);
  expect(h.connections[1]!.handshakeConfirmed).toBeUndefined();
  expect(h.summary.unreadable).toBe(0);

  // Duplicated lines, CRLF, comments and junk lines change nothing.
  const messy = `# SSL/TLS secrets log file\r\n${c.keylog.replace(/\n/g, '\r\n')}not a key log line\nCLIENT_RANDOM zz 00\n${c.keylog}`;
  expect(JSON.stringify(analyze(c, messy))).toBe(JSON.stringify(analyze(c)));
  // A wrong secret under the right client random: unreadable, never a throw.
  const wrong = c.keylog.replace(/^(SERVER_TRAFFIC_SECRET_0 [0-9a-f]+ )([0-9a-f])/gm, (_m, p: string, d: string) => p + (d === '0' ? '1' : '0'));
  const w = analyze(c, wrong);
  expect(w.summary.unreadable).toBeGreaterThan(0);
  expect(w.connections[0]!.handshakeConfirmed).toBeUndefined();
});

test('the analysed bytes are the bytes as sent: corruption on the path leaves every packet readable', () => {
  // Corruption towards the client only: a corrupted client packet can make our server answer an unknown DCID with a
  // stateless reset whose token nobody was issued, which no reader can tell from noise.
  const yaml = 'name: corrupt-to-client\nprotocol: quic\nnetwork:\n  to-client: [{ corrupt: { rate: 0.05 } }]\nclient: { alpn: [hq-interop], requests: [{ size: 1MiB }] }\nexpect: { handshakes: 1, files: identical }\n';
  const c = capture(parseScenario(yaml, 'corrupt-to-client.yaml'));
  expect(c.captured.filter((d) => d.entry?.fate === 'corrupted').length).toBeGreaterThan(10);
  const r = analyze(c);
  expectClean(r);
  expect(r.connections).toHaveLength(1);
  expect(r.connections[0]!.handshakeConfirmed).toBe(true);
  expect(r.connections[0]!.decrypted).toBe(allPackets(r.connections[0]!));
});

test('garbage, truncated, corrupted and empty datagrams are counted, never thrown', () => {
  const c = capture('handshake');
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  const inputs: WireDatagram[][] = [];
  // Pure noise, including long-header-looking and short-header-looking first bytes.
  inputs.push(Array.from({ length: 200 }, (_, i) => {
    const d = randomBytes(Math.floor(rand() * 1400));
    if (d.length && i % 3 === 0) d[0] = 0xc0 | (d[0]! & 0x3f);
    if (d.length && i % 3 === 1) d[0] = 0x40 | (d[0]! & 0x3f);
    return { time: i, direction: i % 2 ? 'to-client' : 'to-server', data: d, delivered: true };
  }));
  // The real capture with every datagram cut at every 37th length, and with bytes flipped.
  inputs.push(c.datagrams.flatMap((d) => Array.from({ length: Math.ceil(d.data.length / 37) }, (_, k) => ({ ...d, data: d.data.subarray(0, k * 37) }))));
  for (let round = 0; round < 20; round++) {
    inputs.push(c.datagrams.map((d) => {
      const data = d.data.slice();
      for (let k = 0; k < 3 && data.length; k++) data[Math.floor(rand() * data.length)] ^= 1 + Math.floor(rand() * 255);
      return { ...d, data };
    }));
  }
  // Odd shapes a caller might pass.
  inputs.push([{ time: 0, direction: 'to-server', data: new Uint8Array(0), delivered: false }]);
  inputs.push([{ time: 0, direction: 'sideways' as never, data: undefined as never, delivered: true }]);
  for (const input of inputs) {
    let r: WireReport | undefined;
    expect(() => (r = analyzeQuicWire(input, c.keylog))).not.toThrow();
    expect(r!.summary.connections).toBeGreaterThanOrEqual(0);
  }
  expect(() => analyzeQuicWire(c.datagrams, '\u0000\uffff garbage\nCLIENT_TRAFFIC_SECRET_0 abc')).not.toThrow();
  expect(analyzeQuicWire([], '').summary.connections).toBe(0);
  // Noise after the real capture does not disturb what was already read.
  const tail = [...c.datagrams, ...inputs[0]!];
  const r = analyzeQuicWire(tail, c.keylog);
  expect(r.connections[0]).toMatchObject({ cipherSuite: 'TLS_AES_128_GCM_SHA256', handshakeConfirmed: true });
  expect(r.summary.malformed + r.summary.unattributed).toBeGreaterThan(0);
});

test('a cleared fixed bit (grease_quic_bit, RFC 9287) still parses; the engine\'s own splitter would reject it', () => {
  const c = capture('handshake');
  const first = c.datagrams[0]!;
  const p = parsePacket(first.data, 0, 0);
  expect(p.kind).toBe('initial');
  const keys = initialKeys(nodeCrypto, QUIC_V1, p.dcid).client;
  const opened = unprotectPacket(keys, p.packet, p.pnOffset, -1)!;
  const header = opened.header.slice();
  header[0] = header[0]! & ~0x40; // the fixed bit is not header-protected, but it is AEAD associated data: re-seal
  const greased = concat(protectPacket(keys, header, p.pnOffset, opened.pn, opened.payload), first.data.subarray(p.packet.length));
  expect(splitDatagram(greased, 0).error).toMatch(/fixed bit/);
  const r = analyzeQuicWire([{ ...first, data: greased }], '');
  expect(r.summary).toMatchObject({ connections: 1, malformed: 0, unreadable: 0 });
  expect(r.connections[0]!.clientRandom).toBe(analyze(c).connections[0]!.clientRandom);
  expect(r.connections[0]!.decrypted).toBe(1);
});

test('Version Negotiation: the attempt in an unknown version and the versions the server offered', () => {
  const dcid = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const scid = Uint8Array.of(9, 9, 9, 9);
  const initial = new Uint8Array(1200);
  initial.set([0xc0, 0x1a, 0x2a, 0x3a, 0x4a, dcid.length, ...dcid, scid.length, ...scid]);
  const vn = encodeVersionNegotiation({ dcid: scid, scid: dcid, versions: [QUIC_V1, QUIC_V2] });
  const r = analyzeQuicWire([
    { time: 0, direction: 'to-server', data: initial, delivered: true },
    { time: 1, direction: 'to-client', data: vn, delivered: true },
  ], '');
  expect(r.connections).toHaveLength(1);
  expect(r.connections[0]!.version).toMatchObject({ initial: 0x1a2a3a4a, versionNegotiation: true, offered: [QUIC_V1, QUIC_V2], compatibleUpgrade: false });
  expect(r.connections[0]!.packets).toEqual({ 'to-server': { 'unsupported-version': 1 }, 'to-client': { 'version-negotiation': 1 } });
  expect(r.summary.versionNegotiations).toBe(1);
});

test('many connections at once: handshakeloss (50 connections through loss) all group and read cleanly', () => {
  const c = capture('handshakeloss');
  const r = analyze(c);
  expectClean(r);
  expect(r.summary.connections).toBe(50);
  expect(r.summary.handshakesCompleted).toBe(50);
  expect(r.summary.handshakesConfirmed).toBe(50);
  expect(r.summary.datagrams['to-server'] + r.summary.datagrams['to-client']).toBe(c.datagrams.length);
});

// ---------------------------------------------------------------------------------------------------------------------
// Real ngtcp2 (GnuTLS honours SSLKEYLOGFILE) through the real-time relay.

test('ngtcp2 through the relay: Retry, compatible upgrade to v2, key updates both ways, all read from the wire with their key logs', async () => {
  test.setTimeout(120_000);
  const { server: serverBin, client: clientBin } = requireNgtcp2();
  const pki = makePki();
  const files = makeTestFiles({ file: '4MB' });
  const logs = mkdtempSync(join(tmpdir(), 'crosswire-keylog-'));
  const port = await freeUdpPort();
  const server = spawnPeer(serverBin, ['-q', '-V', '--preferred-versions=v2,v1', '-d', files.dir, '127.0.0.1', String(port), pki.leaf.ec.key, pki.leaf.ec.cert], {
    env: { ...process.env, SSLKEYLOGFILE: join(logs, 'server.keys') },
  });
  let relay: Awaited<ReturnType<typeof startRelay>> | undefined;
  try {
    await waitForUdpListener(port, server);
    relay = await startRelay({ target: { host: '127.0.0.1', port }, capture: true, seed: 1, protocol: 'quic' });
    const client = spawnPeer(clientBin, ['-q', '--exit-on-all-streams-close', '--key-update=20ms', '--download', logs, '--available-versions=v2,v1', '127.0.0.1', String(relay.port), `https://localhost:${relay.port}/file`], {
      env: { ...process.env, SSLKEYLOGFILE: join(logs, 'client.keys') },
    });
    const guard = setTimeout(() => void client.kill(), 90_000);
    const code = await client.exited;
    clearTimeout(guard);
    expect(code, client.stderr().slice(-2000)).toBe(0);
    await relay.stop();
    const keylog = readFileSync(join(logs, 'client.keys'), 'utf8') + readFileSync(join(logs, 'server.keys'), 'utf8');
    const r = analyzeQuicWire(datagramsFromCapture(relay.capture!.datagrams), keylog);
    // The readiness probes the helper sent went straight to the server, not through the relay: one connection.
    expect(r.connections).toHaveLength(1);
    const conn = r.connections[0]!;
    expect(r.summary.unreadable).toBe(0);
    expect(r.summary.unattributed).toBe(0);
    expect(r.summary.malformed).toBe(0); // ngtcp2 greases the fixed bit (RFC 9287) on most connections
    expect(conn.retry).toEqual({ tokenEchoed: true, integrityValid: true });
    expect(conn.version).toMatchObject({ initial: QUIC_V1, final: QUIC_V2, compatibleUpgrade: true, versionNegotiation: false });
    expect(conn.alpn).toBe('h3');
    expect(conn.cipherSuite).toMatch(/^TLS_AES_(128|256)_GCM_SHA(256|384)$/);
    expect(conn.handshakeConfirmed).toBe(true);
    expect(conn.keyUpdates!.client).toBeGreaterThanOrEqual(1);
    expect(conn.keyUpdates!.server).toBeGreaterThanOrEqual(1);
    expect(conn.keyUpdates!.unverified).toBe(0);
    expect(keylog).toContain(`CLIENT_TRAFFIC_SECRET_0 ${conn.clientRandom}`);
  } finally {
    await relay?.stop();
    await server.kill();
    rmSync(files.dir, { recursive: true, force: true });
    rmSync(logs, { recursive: true, force: true });
  }
});

/** gtlsclient through a fresh relay to `port`; returns the relay's capture and the client's key log. */
async function gtlsClientThroughRelay(clientBin: string, port: number, dir: string, name: string, args: string[]): Promise<{ datagrams: WireDatagram[]; keylog: string }> {
  const relay = await startRelay({ target: { host: '127.0.0.1', port }, capture: true, seed: 1, protocol: 'quic' });
  try {
    const keys = join(dir, `${name}.keys`);
    const client = spawnPeer(clientBin, ['-q', '--exit-on-all-streams-close', '--download', dir, ...args, '127.0.0.1', String(relay.port), `https://localhost:${relay.port}/file`], {
      env: { ...process.env, SSLKEYLOGFILE: keys },
    });
    const guard = setTimeout(() => void client.kill(), 60_000);
    const code = await client.exited;
    clearTimeout(guard);
    expect(code, client.stderr().slice(-2000)).toBe(0);
    await relay.stop();
    return { datagrams: datagramsFromCapture(relay.capture!.datagrams), keylog: readFileSync(keys, 'utf8') };
  } finally {
    await relay.stop();
  }
}

test('ngtcp2 resumption through the relay: the second connection offers and gets the PSK, its 0-RTT packets are accepted', async () => {
  test.setTimeout(120_000);
  const { server: serverBin, client: clientBin } = requireNgtcp2();
  const pki = makePki();
  const files = makeTestFiles({ file: '10KB' });
  const dir = mkdtempSync(join(tmpdir(), 'crosswire-resume-'));
  const port = await freeUdpPort();
  const server = spawnPeer(serverBin, ['-q', '-d', files.dir, '127.0.0.1', String(port), pki.leaf.ec.key, pki.leaf.ec.cert], {
    env: { ...process.env, SSLKEYLOGFILE: join(dir, 'server.keys') },
  });
  try {
    await waitForUdpListener(port, server);
    const session = ['--session-file', join(dir, 'session'), '--tp-file', join(dir, 'tp')];
    const first = await gtlsClientThroughRelay(clientBin, port, dir, 'client1', [...session, '--wait-for-ticket']);
    const second = await gtlsClientThroughRelay(clientBin, port, dir, 'client2', session);
    const keylog = first.keylog + second.keylog + readFileSync(join(dir, 'server.keys'), 'utf8');
    const r = analyzeQuicWire([...first.datagrams, ...second.datagrams], keylog);
    expect(r.connections).toHaveLength(2);
    expect(r.summary).toMatchObject({ unreadable: 0, unattributed: 0, malformed: 0, withoutKeys: 0, handshakesConfirmed: 2, resumed: 1 });
    const [a, b] = r.connections as [WireConnection, WireConnection];
    expect(a).toMatchObject({ pskOffered: false, resumed: false, earlyDataOffered: false, zeroRttPackets: 0 });
    expect(a.sessionTickets).toBeGreaterThanOrEqual(1);
    expect(b).toMatchObject({ pskOffered: true, resumed: true, earlyDataOffered: true, earlyDataAccepted: true });
    expect(b.zeroRttPackets).toBeGreaterThanOrEqual(1);
    expect(b.zeroRttDecrypted).toBe(b.zeroRttPackets);
  } finally {
    await server.kill();
    rmSync(files.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
