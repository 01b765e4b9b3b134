// TlsRecordConnection client ↔ server in memory (no sockets): handshake through the record layer, CCS compatibility,
// KeyUpdate both ways, padding, close_notify, and record-level attacks turned into the right alerts; then the node:net
// adapter over loopback.

import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { makePki } from './helpers/pki.js';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { seededRandom } from '../engine/crypto/random.js';
import { Alert, type TlsConfig } from '../engine/tls/api.js';
import { createTlsSession } from '../engine/tls/session.js';
import { TlsRecordConnection, type RecordTrace, type TlsStreamEvent } from '../engine/tls/record-connection.js';
import { connectTls, listenTls } from '../engine/io/tcp.js';
import { loadCertificateChain, loadPrivateKey } from '../engine/tls/x509/pem.js';
import { utf8 } from '../engine/wire/bytes.js';

const pki = makePki();
const crypto = nobleCrypto;
const sha256 = (d: Uint8Array) => crypto.hash('sha256', d);

function configs(seed: string): { client: TlsConfig; server: TlsConfig } {
  // The test PKI is minted at test time, so certificate validity needs the real date.
  const clock = () => Date.now();
  return {
    client: {
      role: 'client', crypto, random: seededRandom(`${seed}/client`, sha256), clock, serverName: 'localhost',
      verify: { ca: loadCertificateChain(readFileSync(pki.ca, 'utf8')) },
    },
    server: {
      role: 'server', crypto, random: seededRandom(`${seed}/server`, sha256), clock,
      certificateChain: loadCertificateChain(readFileSync(pki.leaf.ec.cert, 'utf8')),
      privateKey: loadPrivateKey(readFileSync(pki.leaf.ec.key, 'utf8')),
    },
  };
}

interface Side {
  conn: TlsRecordConnection;
  events: TlsStreamEvent[];
  trace: RecordTrace[];
  data: () => string;
}

function side(config: TlsConfig, padding?: number): Side {
  const trace: RecordTrace[] = [];
  const conn = new TlsRecordConnection(createTlsSession(config), crypto, {
    onRecord: (r) => trace.push(r),
    padding: padding ? () => padding : undefined,
  });
  const events: TlsStreamEvent[] = [];
  return {
    conn,
    events,
    trace,
    data: () => events.filter((e) => e.type === 'data').map((e) => utf8.decode((e as { data: Uint8Array }).data)).join(''),
  };
}

/** Moves bytes both ways until neither side has output; optionally tampers with client→server bytes. */
function pump(a: Side, b: Side, tamper?: (bytes: Uint8Array) => Uint8Array): void {
  for (let i = 0; i < 100; i++) {
    let moved = false;
    for (let out = a.conn.pollOutput(); out; out = a.conn.pollOutput()) {
      b.conn.receive(tamper ? tamper(out) : out);
      moved = true;
    }
    for (let out = b.conn.pollOutput(); out; out = b.conn.pollOutput()) {
      a.conn.receive(out);
      moved = true;
    }
    for (const s of [a, b]) for (let e = s.conn.pollEvent(); e; e = s.conn.pollEvent()) s.events.push(e);
    if (!moved) return;
  }
  throw new Error('pump did not settle');
}

function connected(seed: string, padding?: number): { client: Side; server: Side } {
  const { client: cc, server: sc } = configs(seed);
  const client = side(cc, padding);
  const server = side(sc, padding);
  client.conn.start();
  pump(client, server);
  expect(client.events.map((e) => e.type)).toContain('handshake-complete');
  expect(server.events.map((e) => e.type)).toContain('handshake-complete');
  return { client, server };
}

test('handshake through the record layer: one CCS each way, right after ClientHello and ServerHello', () => {
  const { client, server } = connected('ccs');
  const sent = client.trace.filter((t) => t.direction === 'sent').map((t) => t.detail ?? t.contentType);
  expect(sent.slice(0, 3)).toEqual(['ClientHello', 'change_cipher_spec', 'Finished']);
  const serverSent = server.trace.filter((t) => t.direction === 'sent');
  expect(serverSent[0]!.detail).toBe('ServerHello');
  expect(serverSent[1]!.contentType).toBe('change_cipher_spec');
  expect(serverSent.filter((t) => t.contentType === 'change_cipher_spec')).toHaveLength(1);
  // Everything after ServerHello/CCS is protected.
  expect(serverSent.slice(2).every((t) => t.protected)).toBe(true);
});

test('application data, queued before completion, flows both ways; close_notify ends each direction', () => {
  const { client: cc, server: sc } = configs('data');
  const client = side(cc);
  const server = side(sc);
  client.conn.write(utf8.encode('early-queued '));
  client.conn.start();
  pump(client, server);
  client.conn.write(utf8.encode('hello'));
  server.conn.write(utf8.encode('world'));
  pump(client, server);
  expect(server.data()).toBe('early-queued hello');
  expect(client.data()).toBe('world');
  client.conn.close();
  pump(client, server);
  expect(server.events.map((e) => e.type)).toContain('peer-closed');
  expect(server.conn.readClosed).toBe(true);
  // Half-close: the server may still write after the client's close_notify (RFC 8446 §6.1).
  server.conn.write(utf8.encode('last words'));
  server.conn.close();
  pump(client, server);
  expect(client.data()).toBe('worldlast words');
  expect(client.events.map((e) => e.type)).toContain('peer-closed');
});

test('KeyUpdate with update_requested switches both directions and data keeps flowing', () => {
  const { client, server } = connected('keyupdate');
  client.conn.keyUpdate(true);
  client.conn.write(utf8.encode('after update'));
  pump(client, server);
  server.conn.write(utf8.encode('server after update'));
  pump(client, server);
  expect(server.data()).toBe('after update');
  expect(client.data()).toBe('server after update');
  const kinds = (s: Side) => s.events.filter((e) => e.type === 'key-update').map((e) => (e as { direction: string }).direction);
  expect(kinds(client)).toEqual(['write', 'read']);
  expect(kinds(server)).toEqual(['read', 'write']);
  expect(client.conn.failed || server.conn.failed).toBe(false);
});

test('padded records are accepted and the padding is invisible to the application', () => {
  const { client, server } = connected('padding', 200);
  client.conn.write(utf8.encode('x'));
  pump(client, server);
  expect(server.data()).toBe('x');
  const appRecords = client.trace.filter((t) => t.direction === 'sent' && t.contentType === 'application_data');
  expect(appRecords).toHaveLength(1);
});

test('a tampered application record is bad_record_mac: the receiver sends the alert, the sender sees it as remote', () => {
  const { client, server } = connected('tamper');
  client.conn.write(utf8.encode('secret'));
  pump(client, server, (b) => {
    const c = b.slice();
    c[c.length - 1]! ^= 0x80;
    return c;
  });
  const serverErr = server.events.find((e) => e.type === 'error') as { error: { alert: number; remote: boolean } } | undefined;
  expect(serverErr?.error.alert).toBe(Alert.bad_record_mac);
  expect(serverErr?.error.remote).toBe(false);
  const clientErr = client.events.find((e) => e.type === 'error') as { error: { alert: number; remote: boolean } } | undefined;
  expect(clientErr?.error.alert).toBe(Alert.bad_record_mac);
  expect(clientErr?.error.remote).toBe(true);
});

test('a change_cipher_spec after the handshake is unexpected_message', () => {
  const { client, server } = connected('late-ccs');
  server.conn.receive(new Uint8Array([20, 3, 3, 0, 1, 1]));
  const err = server.conn.error;
  expect(err?.alert).toBe(Alert.unexpected_message);
  expect(server.conn.pollOutput()).toBeDefined(); // the alert
  expect(client.conn.failed).toBe(false);
});

test('a malformed change_cipher_spec during the handshake is unexpected_message', () => {
  const { client: cc, server: sc } = configs('bad-ccs');
  const server = side(sc);
  const client = side(cc);
  client.conn.start();
  // The ClientHello and the client's compatibility CCS arrive; then a CCS whose byte is not 0x01.
  server.conn.receive(client.conn.pollOutput()!);
  expect(server.conn.failed).toBe(false);
  server.conn.receive(new Uint8Array([20, 3, 3, 0, 1, 2]));
  expect(server.conn.error?.alert).toBe(Alert.unexpected_message);
});

test('a fatal alert from the peer surfaces as a remote TlsError with its description', () => {
  const { client: cc } = configs('alert');
  const client = side(cc);
  client.conn.start();
  client.conn.pollOutput();
  client.conn.receive(new Uint8Array([21, 3, 3, 0, 2, 2, Alert.handshake_failure]));
  const ev = client.conn.pollEvent();
  expect(ev?.type).toBe('error');
  expect(client.conn.error?.alert).toBe(Alert.handshake_failure);
  expect(client.conn.error?.remote).toBe(true);
  expect(client.conn.error?.message).toContain('received alert handshake_failure');
});

test('a second change_cipher_spec, or one before the ClientHello, is unexpected_message', () => {
  const { client: cc, server: sc } = configs('two-ccs');
  const client = side(cc);
  const server = side(sc);
  client.conn.start();
  server.conn.receive(client.conn.pollOutput()!); // ClientHello + the client's one CCS
  expect(server.conn.failed).toBe(false);
  server.conn.receive(new Uint8Array([20, 3, 3, 0, 1, 1]));
  expect(server.conn.error?.alert).toBe(Alert.unexpected_message);
  expect(server.conn.error?.message).toContain('second change_cipher_spec');

  const early = side(configs('ccs-first').server);
  early.conn.receive(new Uint8Array([20, 3, 3, 0, 1, 1]));
  expect(early.conn.error?.message).toContain('before the ClientHello');
});

test('records of another type between the fragments of one handshake message are unexpected_message', () => {
  const { client: cc, server: sc } = configs('interleave');
  const client = side(cc);
  const server = side(sc);
  client.conn.start();
  const flight = client.conn.pollOutput()!;
  // The ClientHello record: header (5 bytes) + message. Re-frame its message as two records with an alert between.
  const len = (flight[3]! << 8) | flight[4]!;
  const msg = flight.subarray(5, 5 + len);
  const rec = (type: number, body: Uint8Array) => new Uint8Array([type, 3, 3, body.length >> 8, body.length & 0xff, ...body]);
  server.conn.receive(rec(22, msg.subarray(0, 10)));
  expect(server.conn.failed).toBe(false);
  server.conn.receive(rec(21, new Uint8Array([1, Alert.user_canceled])));
  expect(server.conn.error?.alert).toBe(Alert.unexpected_message);
  expect(server.conn.error?.message).toContain('inside a fragmented handshake message');
});

test('a ClientHello fragmented over many records is reassembled', () => {
  const { client: cc, server: sc } = configs('fragments');
  const client = side(cc);
  const server = side(sc);
  client.conn.start();
  const flight = client.conn.pollOutput()!;
  const len = (flight[3]! << 8) | flight[4]!;
  const msg = flight.subarray(5, 5 + len);
  for (let i = 0; i < msg.length; i += 7) {
    const body = msg.subarray(i, i + 7);
    server.conn.receive(new Uint8Array([22, 3, 1, 0, body.length, ...body]));
  }
  server.conn.receive(flight.subarray(5 + len)); // the CCS
  expect(server.conn.failed).toBe(false);
  pump(client, server);
  for (let e = server.conn.pollEvent(); e; e = server.conn.pollEvent()) server.events.push(e);
  expect(server.events.map((e) => e.type)).toContain('handshake-complete');
});

test('TlsSocket over real loopback TCP: 1 MiB echoed through connectTls/listenTls with back-pressure, then a clean close', async () => {
  const { client: cc, server: sc } = configs('sockets');
  let serverClosed!: () => void;
  const serverDone = new Promise<void>((r) => (serverClosed = r));
  const server = await listenTls({
    host: '127.0.0.1',
    port: 0,
    crypto,
    createSession: () => createTlsSession(sc),
    onConnection: (tls) => {
      tls.pipe(tls);
      tls.on('close', () => serverClosed());
    },
  });
  try {
    const port = (server.address() as { port: number }).port;
    const tls = await connectTls({ host: '127.0.0.1', port, session: createTlsSession(cc), crypto });
    const payload = new Uint8Array(1 << 20).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
    const chunks: Buffer[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      tls.on('data', (d: Buffer) => chunks.push(d));
      tls.on('end', () => resolve());
      tls.on('error', reject);
    });
    tls.end(payload);
    await ended;
    const got = Buffer.concat(chunks);
    expect(got.length).toBe(payload.length);
    expect(Buffer.compare(got, Buffer.from(payload))).toBe(0);
    expect(tls.truncated).toBe(false);
    await serverDone;
  } finally {
    server.close();
  }
});
