// Hostile input against the DTLS 1.2 engine (issue 14): replayed flights (RFC 6347 §4.2.4), inconsistent fragments
// (§4.2.3), unauthenticated records and the replay window (§4.1.2.6), and a reordered last flight (§4.2.4, §4.1).
// Everything runs in virtual time.

import { test, expect } from '@playwright/test';
import { DtlsClient, DtlsServer } from '../engine/dtls/index.js';
import { HandshakeReassembler } from '../engine/dtls/reassembly.js';
import { ContentType, DTLS_1_2, encodeRecord } from '../engine/dtls/record.js';
import { CLIENT_ADDR, Link, SERVER_ADDR, clientConfig, makeLink, serverConfig } from './dtls-harness.js';

const RECORD_HEADER = 13;

/** The records of a datagram: [offset, type, epoch, length]. */
function records(d: Uint8Array): { at: number; type: number; epoch: number; length: number }[] {
  const out = [];
  for (let at = 0; at + RECORD_HEADER <= d.length; ) {
    const length = (d[at + 11]! << 8) | d[at + 12]!;
    out.push({ at, type: d[at]!, epoch: (d[at + 3]! << 8) | d[at + 4]!, length });
    at += RECORD_HEADER + length;
  }
  return out;
}

/** A copy of `d` whose epoch-0 records carry fresh sequence numbers (epoch 0 is unauthenticated: anyone can do this). */
function withFreshSequence(d: Uint8Array, seq: number): Uint8Array {
  const out = d.slice();
  for (const r of records(out)) {
    if (r.epoch !== 0) continue;
    const v = new DataView(out.buffer, out.byteOffset + r.at + 5, 6);
    v.setUint16(0, Math.floor(seq / 2 ** 32));
    v.setUint32(2, seq >>> 0);
    seq++;
  }
  return out;
}

function bytes(ds: { data: Uint8Array }[]): number {
  return ds.reduce((n, d) => n + d.data.length, 0);
}

/** Drives a server alone: delivers `data` at `now` after running its timers, returns what it sent meanwhile. */
function feed(server: DtlsServer, data: Uint8Array | undefined, now: number): number {
  let sent = 0;
  for (let t = server.nextTimeout(); t !== undefined && t <= now; t = server.nextTimeout()) {
    server.handleTimeout(t);
    sent += bytes(server.pollDatagrams(t));
  }
  if (data) server.receiveDatagram(data, CLIENT_ADDR, now);
  return sent + bytes(server.pollDatagrams(now));
}

// ---- item 7: a replayed flight draws a bounded number of answers

test('mid-handshake: the cookie ClientHello replayed 10,000 times (every 10 ms, fresh record numbers) draws at most 20 more server flights (10 by the timer, 10 answers)', () => {
  const server = new DtlsServer(serverConfig('ec'));
  const client = new DtlsClient(clientConfig(), SERVER_ADDR, 0);
  server.receiveDatagram(client.pollDatagrams(0)[0]!.data, CLIENT_ADDR, 0);
  client.receiveDatagram(server.pollDatagrams(0)[0]!.data, SERVER_ADDR, 0);
  const hello = client.pollDatagrams(0)[0]!.data;
  const flight = feed(server, hello, 0);
  expect(flight).toBeGreaterThan(500);
  let drawn = 0;
  for (let i = 1; i <= 10_000; i++) drawn += feed(server, withFreshSequence(hello, 100 + i), i * 10);
  drawn += feed(server, undefined, 400_000);
  // The timer's own 10 retransmissions plus at most 10 answers to the peer's: bounded, whatever the attacker sends.
  expect(drawn).toBeLessThanOrEqual(20 * flight);
  expect(server.peerStateCount).toBe(0); // the handshake timed out in the end
});

test('after the handshake: the client\'s final flight replayed 10,000 times draws at most 10 retransmissions of the server\'s', () => {
  const clientDatagrams: Uint8Array[] = [];
  const link = new Link(new DtlsClient(clientConfig(), SERVER_ADDR, 0), new DtlsServer(serverConfig('ec')), (s) => {
    if (s.direction === 'to-server') clientDatagrams.push(s.data);
    return [10];
  });
  link.run(() => link.bothConnected());
  const server = link.server;
  // The datagram with the ClientKeyExchange (epoch 0) and the client's Finished (epoch 1).
  const final = clientDatagrams.find((d) => records(d).some((r) => r.epoch === 1))!;
  expect(final).toBeDefined();
  const finalFlight = bytes(server.pollDatagrams(link.now));
  expect(finalFlight).toBe(0);
  let drawn = 0;
  let replies = 0;
  for (let i = 1; i <= 10_000; i++) {
    const n = feed(server, withFreshSequence(final, 1000 + i * 4), link.now + i * 10);
    drawn += n;
    if (n) replies++;
  }
  expect(replies).toBeGreaterThan(0); // a genuinely lost last flight is still answered
  expect(replies).toBeLessThanOrEqual(10);
  expect(drawn).toBeLessThanOrEqual(10 * 200);
  expect(server.peerStateCount).toBe(1);
});

test('after the handshake: the ClientHello the association answered, replayed 10,000 times, neither restarts it nor draws anything', () => {
  const clientDatagrams: Uint8Array[] = [];
  const link = new Link(new DtlsClient(clientConfig(), SERVER_ADDR, 0), new DtlsServer(serverConfig('ec')), (s) => {
    if (s.direction === 'to-server') clientDatagrams.push(s.data);
    return [10];
  });
  link.run(() => link.bothConnected());
  const server = link.server;
  const association = server.connection(CLIENT_ADDR);
  const cookieHello = clientDatagrams[1]!; // the second ClientHello, with the cookie
  let drawn = 0;
  for (let i = 1; i <= 10_000; i++) drawn += feed(server, withFreshSequence(cookieHello, 5000 + i), link.now + i);
  expect(drawn).toBe(0);
  expect(server.connection(CLIENT_ADDR)).toBe(association);
  expect(server.peerStateCount).toBe(1);
  // The association still works.
  link.clientSend(new TextEncoder().encode('still here\n'));
  link.run(() => link.serverEvents.some((e) => e.event.type === 'data'));
  expect(link.serverEvents.some((e) => e.event.type === 'data')).toBe(true);
});

// ---- item 8: an inconsistent fragment is discarded and never wedges reassembly

/** An epoch-0 handshake record holding one fragment: anyone on the path can send this. */
function spoofedFragment(f: { msgType: number; length: number; messageSeq: number; offset: number; body: Uint8Array }, recordSeq: number): Uint8Array {
  const frag = new Uint8Array(12 + f.body.length);
  const v = new DataView(frag.buffer);
  v.setUint8(0, f.msgType);
  v.setUint16(1, f.length >> 8);
  v.setUint8(3, f.length & 0xff);
  v.setUint16(4, f.messageSeq);
  v.setUint16(6, f.offset >> 8);
  v.setUint8(8, f.offset & 0xff);
  v.setUint16(9, f.body.length >> 8);
  v.setUint8(11, f.body.length & 0xff);
  frag.set(f.body, 12);
  return encodeRecord(ContentType.handshake, DTLS_1_2, 0, recordSeq, frag);
}

test('a forged ServerHello fragment with another length, buffered first, does not wedge the handshake: it is dropped when the real one conflicts', () => {
  const link = makeLink();
  // Before the server's flight: a fragment claiming ServerHello (message_seq 1, after the cookie round) is 500 bytes.
  link.client.receiveDatagram(spoofedFragment({ msgType: 2, length: 500, messageSeq: 1, offset: 0, body: new Uint8Array(40).fill(7) }, 1), SERVER_ADDR, 0);
  link.run(() => link.bothConnected() || link.client.closed, 120_000);
  expect(link.bothConnected()).toBe(true);
  expect(link.client.connection.drops['inconsistent handshake fragment']).toBeGreaterThanOrEqual(1);
});

test('reassembler: fragments disagreeing in type, length or overlapping bytes are dropped with what was buffered; the message then completes from consistent ones', () => {
  const body = Uint8Array.from({ length: 30 }, (_, i) => i + 1);
  const frag = (offset: number, end: number, over: Partial<{ msgType: number; length: number; bytes: Uint8Array }> = {}) => ({
    msgType: over.msgType ?? 11,
    length: over.length ?? body.length,
    messageSeq: 0,
    fragmentOffset: offset,
    body: over.bytes ?? body.subarray(offset, end),
  });
  const r = new HandshakeReassembler();
  expect(r.add(frag(0, 10), 0)).toBe('accepted');
  expect(r.add(frag(5, 15, { bytes: new Uint8Array(10).fill(0xee) }), 0)).toBe('conflict');
  expect(r.add(frag(10, 20), 0)).toBe('accepted'); // a fresh start: [10, 20) alone
  expect(r.add(frag(10, 20, { length: 31 }), 0)).toBe('conflict');
  expect(r.add(frag(0, 10, { msgType: 12 }), 0)).toBe('accepted'); // the buffer was empty again: a new view
  expect(r.add(frag(0, 10), 0)).toBe('conflict');
  // The peer's retransmission rebuilds it.
  for (const [a, b] of [[0, 12], [12, 24], [20, 30]] as const) expect(r.add(frag(a, b), 0)).toBe('accepted');
  const m = r.next()!;
  expect(m.msgType).toBe(11);
  expect([...m.body]).toEqual([...body]);
});

// ---- item 9: only authenticated records move the replay window; unexpected unauthenticated messages are dropped

/** A handshake run where `inject` feeds forged datagrams to the client before the server's first answer arrives. */
function handshakeWithForgery(inject: (client: DtlsClient) => void) {
  const link = makeLink();
  inject(link.client);
  link.run(() => link.bothConnected() || link.client.closed, 120_000);
  return link;
}

test('a forged epoch-0 record with sequence number 2^40 does not make the genuine records look replayed', () => {
  // A HelloRequest (ignored during a handshake) in a record far ahead of anything genuine.
  const link = handshakeWithForgery((c) => c.receiveDatagram(spoofedFragment({ msgType: 0, length: 0, messageSeq: 0, offset: 0, body: new Uint8Array(0) }, 2 ** 40), SERVER_ADDR, 0));
  expect(link.client.connection.drops['replay'] ?? 0).toBe(0);
  expect(link.bothConnected()).toBe(true);
  expect(link.clientEvents.some((e) => e.type === 'alert')).toBe(false);
});

for (const [what, forged] of [
  ['an unknown handshake type (99)', { msgType: 99, length: 4, messageSeq: 1, offset: 0, body: new Uint8Array(4) }],
  ['a Finished in cleartext', { msgType: 20, length: 12, messageSeq: 1, offset: 0, body: new Uint8Array(12) }],
  ['a ServerHelloDone where the ServerHello belongs', { msgType: 14, length: 0, messageSeq: 1, offset: 0, body: new Uint8Array(0) }],
] as const) {
  test(`${what}, forged at the next message_seq, is dropped without ending the handshake or taking the genuine message's place`, () => {
    const link = handshakeWithForgery((c) => c.receiveDatagram(spoofedFragment(forged, 5), SERVER_ADDR, 0));
    // Seq 0 is the HelloVerifyRequest; the forgery waits at seq 1 and is judged once it comes up.
    expect(link.bothConnected()).toBe(true);
    expect(link.client.connection.drops['unexpected unauthenticated handshake message']).toBe(1);
    expect(link.clientEvents.filter((e) => e.type === 'alert')).toEqual([]);
  });
}

test('a forged epoch-0 handshake record whose fragment header does not parse is dropped, not a decode_error', () => {
  const bad = encodeRecord(ContentType.handshake, DTLS_1_2, 0, 3, new Uint8Array([2, 0, 0, 10, 0, 1, 0, 0, 20, 0, 0, 5, 1, 2, 3, 4, 5]));
  const link = handshakeWithForgery((c) => c.receiveDatagram(bad, SERVER_ADDR, 0));
  expect(link.bothConnected()).toBe(true);
  expect(link.client.connection.drops['malformed handshake record']).toBe(1);
});

test('authenticated records still use the window: an epoch-1 application record replayed is dropped, once delivered', () => {
  const toServer: Uint8Array[] = [];
  const link = new Link(new DtlsClient(clientConfig(), SERVER_ADDR, 0), new DtlsServer(serverConfig('ec')), (s) => {
    if (s.direction === 'to-server') toServer.push(s.data);
    return [10];
  });
  link.run(() => link.bothConnected());
  link.clientSend(new TextEncoder().encode('once\n'));
  link.run(() => link.serverEvents.some((e) => e.event.type === 'data'));
  const record = toServer.at(-1)!;
  for (let i = 0; i < 5; i++) link.server.receiveDatagram(record, CLIENT_ADDR, link.now + i);
  link.flush();
  expect(link.serverEvents.filter((e) => e.event.type === 'data')).toHaveLength(1);
  expect(link.server.connection(CLIENT_ADDR)!.drops['replay']).toBe(5);
});

// ---- item 10: a reordered last flight is processed in order

function split(d: Uint8Array): Uint8Array[] {
  return records(d).map((r) => d.subarray(r.at, r.at + RECORD_HEADER + r.length));
}

for (const order of [
  ['Finished', 'ChangeCipherSpec', 'ClientKeyExchange'],
  ['ChangeCipherSpec', 'Finished', 'ClientKeyExchange'],
  ['ChangeCipherSpec', 'ClientKeyExchange', 'Finished'],
  ['Finished', 'ClientKeyExchange', 'ChangeCipherSpec'],
] as const) {
  test(`the client's last flight arriving as ${order.join(', ')} completes the handshake`, () => {
    let held: Uint8Array | undefined;
    const link = new Link(new DtlsClient(clientConfig(), SERVER_ADDR, 0), new DtlsServer(serverConfig('ec')), (s) => {
      if (s.direction === 'to-server' && !held && records(s.data).some((r) => r.epoch === 1)) {
        held = s.data;
        return [];
      }
      return [10];
    });
    link.run(() => held !== undefined);
    const [cke, ccs, fin] = split(held!);
    expect(records(cke!)[0]!.type).toBe(ContentType.handshake);
    expect(records(ccs!)[0]!.type).toBe(ContentType.change_cipher_spec);
    const byName = { ClientKeyExchange: cke!, ChangeCipherSpec: ccs!, Finished: fin! };
    for (const name of order) link.server.receiveDatagram(byName[name], CLIENT_ADDR, link.now);
    link.flush();
    expect(link.serverEvents.filter((e) => e.event.type === 'alert')).toEqual([]);
    expect(link.serverEvents.some((e) => e.event.type === 'handshake-complete')).toBe(true);
    link.run(() => link.bothConnected(), 5_000);
    expect(link.bothConnected()).toBe(true);
  });
}

// ---- found by crosswire fuzz-wire: a cookie ClientHello whose (unauthenticated) record number is near 2^48

test('a cookie ClientHello with record sequence 2^48-1 is dropped, not failed with internal_error, and the genuine one still connects', () => {
  const clientDatagrams: Uint8Array[] = [];
  const server = new DtlsServer(serverConfig('ec'));
  const client = new DtlsClient(clientConfig(), SERVER_ADDR, 0);
  server.receiveDatagram(client.pollDatagrams(0)[0]!.data, CLIENT_ADDR, 0);
  client.receiveDatagram(server.pollDatagrams(0)[0]!.data, SERVER_ADDR, 0);
  const hello = client.pollDatagrams(0)[0]!.data;
  clientDatagrams.push(hello);
  const late = hello.slice();
  late.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 5); // sequence_number: the cookie does not cover the record header
  server.receiveDatagram(late, CLIENT_ADDR, 1);
  const events: unknown[] = [];
  for (let e = server.pollEvent(); e; e = server.pollEvent()) events.push(e.event);
  expect(events).toEqual([]); // before the fix: closed with internal_error 'record sequence number space exhausted'
  expect(server.pollDatagrams(1)).toEqual([]);
  expect(server.peerStateCount).toBe(0);
  const link = new Link(client, server);
  server.receiveDatagram(hello, CLIENT_ADDR, 2);
  link.flush();
  link.run(() => link.bothConnected());
  expect(link.bothConnected()).toBe(true);
});
