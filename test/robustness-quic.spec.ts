// Hostile input against the QUIC engine (issue 14): replayed packets (RFC 9000 §12.3), state for Initials that do not
// decrypt (§5.2.2, §8.1), Retry tokens from another address (§8.1.3), amplification on unvalidated paths (§8.2.1, §9.3)
// and 62-bit error codes (§16, §19.4, §19.5, §19.19). Everything runs in virtual time.

import { test, expect } from '@playwright/test';
import { nodeCrypto } from '../engine/crypto/node.js';
import seedrandom from 'seedrandom';
import { canonicalHost, type Address } from '../engine/endpoint.js';
import { decodeFrames, encodeFrames } from '../engine/quic/frames.js';
import { concat } from '../engine/wire/bytes.js';
import { parsePacket } from '../engine/quic/packet.js';
import { QlogBuffer, serializeQlog } from '../engine/quic/qlog.js';
import { describeClose } from '../interop/cli-util-quic.js';
import type { QuicServer } from '../engine/quic/server.js';
import { TransportErrorCode } from '../engine/quic/errors.js';
import { connectedPair, drainEvents, forge1Rtt, newClient, newServer, pair, CLIENT_ADDR, SERVER_ADDR, Wire } from './quic-conn-harness.js';

/** A fresh client wired to an existing server endpoint. */
function pairWith(server: QuicServer) {
  const client = newClient();
  return { client, wire: new Wire(client, server) };
}

const PING = Uint8Array.of(0x01);

test('replay: a 1-RTT packet replayed after 40 newer ones (41 ACK ranges, more than the 32 kept) is dropped as a duplicate (RFC 9000 §12.3)', () => {
  const qlog = new QlogBuffer();
  const { client, wire, serverConn } = connectedPair({ clientQlog: qlog });
  const s = serverConn();
  const space = (s as unknown as { spaces: { application: { nextPn: number } } }).spaces.application;
  const deliver = (d: Uint8Array) => client.receiveDatagram(d, SERVER_ADDR, wire.now);
  const oldPn = space.nextPn;
  const old = forge1Rtt(s, PING);
  deliver(old);
  // Newer packets with a gap before each: every one is its own ACK range, so the oldest ranges are forgotten.
  for (let i = 0; i < 40; i++) {
    space.nextPn++;
    deliver(forge1Rtt(s, PING));
  }
  deliver(old);
  const receivedOld = qlog.ofType('transport:packet_received').filter((e) => e.data.header.packet_type === '1RTT' && e.data.header.packet_number === oldPn);
  expect(receivedOld).toHaveLength(1);
  const dups = qlog.ofType('transport:packet_dropped').filter((e) => e.data.trigger === 'duplicate');
  expect(dups).toHaveLength(1);
  // The connection carries on.
  expect(client.phase).toBe('established');
});

// ---- server state before an Initial authenticates (RFC 9000 §5.2.2, §8.1)

/** What the server endpoint holds: connections, routes, the accept queue and queued datagrams. */
function serverState(server: QuicServer) {
  const s = server as unknown as { routes: Map<string, unknown>; acceptQueue: unknown[]; outbox: unknown[] };
  return { connections: server.connections.size, routes: s.routes.size, acceptQueue: s.acceptQueue.length, outbox: s.outbox.length };
}

test('5,000 Initials that do not decrypt leave the server with no connection state, no timers and no answers', () => {
  const server = newServer({}, { crypto: nodeCrypto });
  const genuine = newClient().pollDatagrams(0)[0]!.data;
  expect(genuine.length).toBeGreaterThanOrEqual(1200);
  const h = parsePacket(genuine, 0, 8);
  const dcidAt = 6; // first byte, version, DCID length
  expect(genuine[5]).toBe(h.dcid.length);
  let answers = 0;
  for (let i = 0; i < 5000; i++) {
    const d = genuine.slice();
    // A fresh DCID per datagram: 5,000 would-be connections, each Initial sealed under keys it was not made with.
    new DataView(d.buffer).setUint32(dcidAt, i);
    const from: Address = { host: `198.51.100.${i % 250}`, port: 1024 + i };
    server.receiveDatagram(d, from, i);
    answers += server.pollDatagrams(i).length;
  }
  expect(serverState(server)).toEqual({ connections: 0, routes: 0, acceptQueue: 0, outbox: 0 });
  expect(answers).toBe(0);
  expect(server.nextTimeout()).toBeUndefined();
  // A genuine client still gets in.
  const { client, wire } = pairWith(server);
  expect(wire.run(() => client.handshakeConfirmed)).toBe(true);
  expect(server.connections.size).toBe(1);
});

test('valid Initials from 300 spoofed sources: at most maxHandshakes connections, the rest get a stateless Retry', () => {
  const server = newServer({ maxHandshakes: 50 });
  let retries = 0;
  for (let i = 0; i < 300; i++) {
    const d = newClient().pollDatagrams(0)[0]!.data;
    server.receiveDatagram(d, { host: `203.0.113.${i % 250}`, port: 2000 + i }, i);
    for (const out of server.pollDatagrams(i)) if (parsePacket(out.data, 0, 8).kind === 'retry') retries++;
  }
  expect(server.connections.size).toBe(50);
  expect(retries).toBe(250);
  // A client that follows the Retry proves its address and is admitted despite the bound.
  const { client, wire } = pairWith(server);
  expect(wire.run(() => client.handshakeConfirmed)).toBe(true);
  expect(drainEvents(client).some((e) => e.type === 'retry')).toBe(true);
});

// ---- Retry tokens presented from another address (RFC 9000 §8.1.3)

for (const [what, moved] of [
  ['port', { host: '10.0.0.1', port: 50001 }],
  ['address', { host: '10.0.0.77', port: 50000 }],
] as const) {
  test(`a Retry token presented from another ${what} draws CONNECTION_CLOSE with INVALID_TOKEN, and the server keeps no state`, () => {
    const serverEvents: string[] = [];
    const { client, server, wire } = pair({ endpoint: { retry: true, onEvent: (e) => serverEvents.push(e.type) } });
    // The Retry is on its way; the client's next Initial (carrying the token) leaves from elsewhere.
    expect(wire.run(() => serverEvents.includes('retry'))).toBe(true);
    wire.clientAddress = moved;
    expect(wire.run(() => client.phase === 'closed' || client.phase === 'draining', 5_000)).toBe(true);
    expect(client.closeInfo).toMatchObject({ errorCode: TransportErrorCode.INVALID_TOKEN, initiator: 'remote', kind: 'transport' });
    expect(serverEvents).toContain('invalid-token');
    expect(server.connections.size).toBe(0);
    expect(client.handshakeComplete).toBe(false);
    expect(drainEvents(client).map((e) => e.type)).toContain('retry');
  });
}

// ---- amplification on unvalidated paths (RFC 9000 §8.2.1, §9.3)

test('spoofed sources: 600 datagrams from 6 forged addresses (migrations, PATH_CHALLENGE bursts, probes, replays) get each address at most 3x what it sent', () => {
  const { client, wire, serverConn } = connectedPair();
  const s = serverConn();
  // The server has plenty to send to whoever it believes the client is.
  const id = s.openStream('uni')!;
  s.writeStream(id, new Uint8Array(4 << 20), true);
  const genuine: Uint8Array[] = [];
  wire.toServer = (_i, d) => {
    genuine.push(d.data);
    return 'deliver';
  };
  wire.run(() => genuine.length >= 20, 2_000);
  // From here on the attacker speaks with the client's keys from forged sources; nothing reaches the real client.
  const victims: Address[] = [
    { host: '10.0.0.1', port: 50001 }, // the client's host, another port (a NAT rebinding lookalike)
    { host: '10.0.0.1', port: 50002 },
    { host: '192.0.2.10', port: 443 },
    { host: '192.0.2.11', port: 50000 },
    { host: '2001:db8::1', port: 9 },
    { host: '2001:DB8:0:0::1', port: 9 }, // the same address spelt differently: one budget
  ];
  const key = (a: Address) => `${canonicalHost(a.host)}|${a.port}`;
  const received = new Map<string, number>();
  const sent = new Map<string, number>();
  wire.toServer = () => 'drop';
  wire.toClient = (_i, d) => {
    sent.set(key(d.to), (sent.get(key(d.to)) ?? 0) + d.data.length);
    return 'drop';
  };
  const rand = seedrandom('amplification');
  const challenge = (n: number) => encodeFrames(Array.from({ length: n }, (_, i) => ({ type: 'path_challenge' as const, data: new Uint8Array(8).fill(i + 1) })));
  const forged: Uint8Array[] = [];
  for (let step = 0; step < 600; step++) {
    // Now and then the real client's own address, so the path keeps moving away from the victims and back.
    const v = rand() < 0.1 ? CLIENT_ADDR : victims[Math.floor(rand() * victims.length)]!;
    const r = rand();
    let d: Uint8Array;
    if (r < 0.3) d = forge1Rtt(client, concat(PING, challenge(1 + Math.floor(rand() * 30)))); // newest: the path moves there
    else if (r < 0.6) d = forge1Rtt(client, challenge(1 + Math.floor(rand() * 30))); // probing only
    else if (r < 0.8 && forged.length) d = forged[Math.floor(rand() * forged.length)]!; // an older packet again
    else d = genuine[Math.floor(rand() * genuine.length)]!; // a copy of something the client really sent
    forged.push(d);
    s.receiveDatagram(d, v, wire.now, SERVER_ADDR);
    received.set(key(v), (received.get(key(v)) ?? 0) + d.length);
    wire.run(() => false, 1 + Math.floor(rand() * 40));
  }
  // Retransmission timers keep firing toward the last address: still within its budget.
  wire.run(() => false, 10_000);
  expect(s.closeInfo).toBeUndefined();
  let worst = 0;
  for (const [k, bytes] of sent) {
    if (k === key(CLIENT_ADDR)) continue; // validated once, and the genuine client's own
    const ratio = bytes / (received.get(k) ?? 0);
    worst = Math.max(worst, ratio);
    expect(ratio, `${k}: sent ${bytes} bytes for ${received.get(k)} received`).toBeLessThanOrEqual(3);
  }
  // Five distinct victims (two spellings of one address), each answered, some right up to the limit.
  expect(sent.size).toBeGreaterThanOrEqual(5);
  expect(worst).toBeGreaterThan(2.5);
});

// ---- 62-bit error codes (RFC 9000 §16, §19.4, §19.5, §19.19)

const MAX_CODE = (1n << 62n) - 1n;

test('frame codec: error codes of CONNECTION_CLOSE, RESET_STREAM and STOP_SENDING are exact up to 2^62 - 1', () => {
  for (const code of [MAX_CODE, 1n << 53n, (1n << 53n) + 1n]) {
    const frames = [
      { type: 'connection_close' as const, application: true, errorCode: code, frameType: 0, reason: 'x' },
      { type: 'connection_close' as const, application: false, errorCode: code, frameType: 0x08, reason: '' },
      { type: 'reset_stream' as const, streamId: 4, errorCode: code, finalSize: 10 },
      { type: 'stop_sending' as const, streamId: 4, errorCode: code },
    ];
    const decoded = decodeFrames(encodeFrames(frames));
    for (const f of decoded) expect((f as { errorCode: unknown }).errorCode).toBe(code);
  }
  // Codes that fit a double exactly stay numbers, so `code === 42` keeps working.
  const [small] = decodeFrames(encodeFrames([{ type: 'stop_sending', streamId: 0, errorCode: Number.MAX_SAFE_INTEGER }]));
  expect((small as { errorCode: unknown }).errorCode).toBe(Number.MAX_SAFE_INTEGER);
});

test('2^62 - 1 end to end: RESET_STREAM, STOP_SENDING and CONNECTION_CLOSE codes reach the peer, close info and qlog JSON exactly', () => {
  const clientQlog = new QlogBuffer();
  const serverQlog = new QlogBuffer();
  const { client, wire, serverConn } = connectedPair({ clientQlog, server: { qlog: serverQlog.sink } });
  const s = serverConn();
  const a = client.openStream('bidi')!;
  client.writeStream(a, new Uint8Array(100));
  expect(client.resetStream(a, MAX_CODE)).toBe(true);
  const b = client.openStream('bidi')!;
  client.writeStream(b, new Uint8Array(100));
  const serverEvents: ReturnType<typeof drainEvents> = [];
  const clientEvents: ReturnType<typeof drainEvents> = [];
  const collect = () => {
    serverEvents.push(...drainEvents(s));
    clientEvents.push(...drainEvents(client));
  };
  wire.run(() => (collect(), serverEvents.some((e) => e.type === 'stream-reset') && serverEvents.some((e) => e.type === 'stream-readable' && e.streamId === b)));
  expect(serverEvents.find((e) => e.type === 'stream-reset')).toEqual({ type: 'stream-reset', streamId: a, errorCode: MAX_CODE });
  expect(s.stopSending(b, MAX_CODE, wire.now)).toBe(true);
  wire.run(() => (collect(), clientEvents.some((e) => e.type === 'stream-stop-sending')));
  expect(clientEvents.find((e) => e.type === 'stream-stop-sending')).toEqual({ type: 'stream-stop-sending', streamId: b, errorCode: MAX_CODE });
  // The client answers STOP_SENDING with RESET_STREAM carrying the same code (RFC 9000 §3.5).
  wire.run(() => (collect(), serverEvents.filter((e) => e.type === 'stream-reset').length === 2));
  expect(serverEvents.filter((e) => e.type === 'stream-reset')[1]).toEqual({ type: 'stream-reset', streamId: b, errorCode: MAX_CODE });

  client.close(MAX_CODE, 'bye', true, wire.now);
  wire.run(() => s.closeInfo !== undefined);
  expect(s.closeInfo).toMatchObject({ errorCode: MAX_CODE, kind: 'application', initiator: 'remote', reason: 'bye' });
  expect(client.closeInfo).toMatchObject({ errorCode: MAX_CODE, initiator: 'local' });
  expect(describeClose(s.closeInfo!)).toBe('peer closed the connection: application error 0x3fffffffffffffff: bye');

  // qlog: JSON cannot hold the value as a number, so it is written as its decimal string.
  const text = serializeQlog({ vantagePoint: 'server', referenceTime: 0 }, serverQlog.events);
  expect(text).toContain('"application_code":"4611686018427387903"');
  const resetFrames = text.split('\x1e').filter((r) => r.includes('"frame_type":"reset_stream"'));
  expect(resetFrames.length).toBeGreaterThan(0);
  for (const r of resetFrames) expect(r).toContain('"error_code":"4611686018427387903"');
  const clientText = serializeQlog({ vantagePoint: 'client', referenceTime: 0 }, clientQlog.events);
  expect(clientText).toContain('"frame_type":"stop_sending","stream_id":' + b + ',"error_code":"4611686018427387903"');
  for (const record of text.split('\x1e').slice(1)) JSON.parse(record);
});

test('error codes an application passes must be exact: numbers above 2^53 - 1 and values beyond 2^62 - 1 are refused', () => {
  const { client } = connectedPair();
  const id = client.openStream('bidi')!;
  expect(() => client.resetStream(id, 2 ** 62)).toThrow(RangeError);
  expect(() => client.resetStream(id, 1n << 62n)).toThrow(RangeError);
  expect(() => client.stopSending(id, -1, 0)).toThrow(RangeError);
  expect(() => client.close(2 ** 53, '', true, 0)).toThrow(RangeError);
  expect(client.resetStream(id, 2n ** 53n)).toBe(true);
});
