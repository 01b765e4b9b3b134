// Hostile record streams against the TLS 1.3 record layer (RFC 8446 §5): runs of zero-length records are handled in a
// loop with a bound on how many may come in a row (OpenSSL's MAX_EMPTY_RECORDS, 32), ending in unexpected_message —
// never a stack overflow reported as internal_error.

import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { makePki } from './helpers/pki.js';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { seededRandom } from '../engine/crypto/random.js';
import { Alert, CIPHER_SUITES, TlsError, type TlsConfig } from '../engine/tls/api.js';
import { createTlsSession } from '../engine/tls/session.js';
import { TlsRecordConnection, type TlsStreamEvent } from '../engine/tls/record-connection.js';
import { ContentType, MAX_EMPTY_RECORDS, RecordProtector, RecordReader, RecordWriter } from '../engine/tls/record.js';
import { loadCertificateChain, loadPrivateKey } from '../engine/tls/x509/pem.js';

const crypto = nobleCrypto;
const AES128 = CIPHER_SUITES.TLS_AES_128_GCM_SHA256;
const SECRET = new Uint8Array(32).fill(9);
const RUN = 100_000;

/** `n` copies of one record, back to back. */
function repeated(record: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(record.length * n);
  for (let i = 0; i < n; i++) out.set(record, i * record.length);
  return out;
}

/** Reads every record, returning how many came out and the error that ended the stream (if any). */
function readAll(r: RecordReader): { records: number; error?: unknown } {
  let records = 0;
  try {
    while (r.next()) records++;
  } catch (error) {
    return { records, error };
  }
  return { records };
}

function expectAlert(error: unknown, alert: number): void {
  expect(error, String(error)).toBeInstanceOf(TlsError);
  expect((error as TlsError).alert).toBe(alert);
}

test('100,000 empty protected application_data records: 32 are delivered, the 33rd is unexpected_message', () => {
  const sender = new RecordProtector(crypto, AES128, SECRET, 'application');
  const w = new RecordWriter();
  const one = () => w.write(ContentType.application_data, new Uint8Array(0), sender)[0]!;
  const records: Uint8Array[] = [];
  for (let i = 0; i < RUN; i++) records.push(one());
  const r = new RecordReader();
  r.protector = new RecordProtector(crypto, AES128, SECRET, 'application');
  const wire = new Uint8Array(records.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of records) {
    wire.set(x, o);
    o += x.length;
  }
  r.feed(wire);
  const got = readAll(r);
  expect(got.records).toBe(MAX_EMPTY_RECORDS);
  expectAlert(got.error, Alert.unexpected_message);
});

test('empty records interleaved with data never trip the bound: the count is of consecutive ones', () => {
  const sender = new RecordProtector(crypto, AES128, SECRET, 'application');
  const w = new RecordWriter();
  const chunks: Uint8Array[] = [];
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < MAX_EMPTY_RECORDS; i++) chunks.push(w.write(ContentType.application_data, new Uint8Array(0), sender)[0]!);
    chunks.push(w.write(ContentType.application_data, new Uint8Array([round]), sender)[0]!);
  }
  const r = new RecordReader();
  r.protector = new RecordProtector(crypto, AES128, SECRET, 'application');
  for (const c of chunks) r.feed(c);
  const got = readAll(r);
  expect(got.error).toBeUndefined();
  expect(got.records).toBe(20 * (MAX_EMPTY_RECORDS + 1));
});

test('100,000 empty plaintext application_data records before any key: unexpected_message at the first, no recursion', () => {
  const r = new RecordReader();
  r.feed(repeated(new Uint8Array([ContentType.application_data, 3, 3, 0, 0]), RUN));
  const got = readAll(r);
  expect(got.records).toBe(0);
  expectAlert(got.error, Alert.unexpected_message);
  expect((got.error as Error).message).toContain('before any traffic key');
});

test('a server skipping rejected 0-RTT: 100,000 empty early-data records end in unexpected_message after 32, not a stack overflow', () => {
  const r = new RecordReader();
  r.skipEarlyDataBudget = 16384;
  r.feed(repeated(new Uint8Array([ContentType.application_data, 3, 3, 0, 0]), RUN));
  const got = readAll(r);
  expect(got.records).toBe(0);
  expectAlert(got.error, Alert.unexpected_message);
});

// ---- the same through TlsRecordConnection (what TLS over TCP runs)

const pki = makePki();
function configs(seed: string): { client: TlsConfig; server: TlsConfig } {
  const clock = () => Date.now();
  const sha256 = (d: Uint8Array) => crypto.hash('sha256', d);
  return {
    client: { role: 'client', crypto, random: seededRandom(`${seed}/c`, sha256), clock, serverName: 'localhost', verify: { ca: loadCertificateChain(readFileSync(pki.ca, 'utf8')) } },
    server: {
      role: 'server', crypto, random: seededRandom(`${seed}/s`, sha256), clock,
      certificateChain: loadCertificateChain(readFileSync(pki.leaf.ec.cert, 'utf8')),
      privateKey: loadPrivateKey(readFileSync(pki.leaf.ec.key, 'utf8')),
    },
  };
}

function events(c: TlsRecordConnection): TlsStreamEvent[] {
  const out: TlsStreamEvent[] = [];
  for (let e = c.pollEvent(); e; e = c.pollEvent()) out.push(e);
  return out;
}

function pump(a: TlsRecordConnection, b: TlsRecordConnection): void {
  for (let i = 0; i < 100; i++) {
    let moved = false;
    for (let out = a.pollOutput(); out; out = a.pollOutput()) (b.receive(out), (moved = true));
    for (let out = b.pollOutput(); out; out = b.pollOutput()) (a.receive(out), (moved = true));
    if (!moved) return;
  }
}

test('TlsRecordConnection: a peer sending 100,000 empty application records is failed with unexpected_message (not internal_error)', () => {
  const { client: cc, server: sc } = configs('empty-run');
  const client = new TlsRecordConnection(createTlsSession(cc), crypto);
  const server = new TlsRecordConnection(createTlsSession(sc), crypto);
  client.start();
  pump(client, server);
  expect(server.established && client.established).toBe(true);
  events(server);
  for (let i = 0; i < RUN; i++) client.write(new Uint8Array(0));
  server.receive(client.pollOutput()!);
  const errors = events(server).filter((e) => e.type === 'error');
  expect(errors).toHaveLength(1);
  expectAlert((errors[0] as { error: TlsError }).error, Alert.unexpected_message);
  // The alert goes to the peer too.
  client.receive(server.pollOutput()!);
  const clientErrors = events(client).filter((e) => e.type === 'error');
  expect(clientErrors.map((e) => (e as { error: TlsError }).error.alert)).toEqual([Alert.unexpected_message]);
});

test('TlsRecordConnection: 100,000 empty plaintext application records before the handshake are unexpected_message', () => {
  const { server: sc } = configs('empty-plain');
  const server = new TlsRecordConnection(createTlsSession(sc), crypto);
  server.receive(repeated(new Uint8Array([ContentType.application_data, 3, 3, 0, 0]), RUN));
  const errors = events(server).filter((e) => e.type === 'error');
  expect(errors).toHaveLength(1);
  expectAlert((errors[0] as { error: TlsError }).error, Alert.unexpected_message);
});
