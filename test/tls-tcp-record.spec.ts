// Record layer (RFC 8446 §5) against the RFC 8448 §3 trace, plus framing and error paths.

import { test, expect } from '@playwright/test';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { CIPHER_SUITES, TlsError, Alert } from '../engine/tls/api.js';
import { ContentType, RecordProtector, RecordReader, RecordWriter, deriveRecordKeys, MAX_CIPHERTEXT } from '../engine/tls/record.js';
import { fromHex, hex } from '../engine/wire/bytes.js';

const crypto = nobleCrypto;
const AES128 = CIPHER_SUITES.TLS_AES_128_GCM_SHA256;

// RFC 8448 §3 (Simple 1-RTT Handshake).
const C_HS_SECRET = fromHex('b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21');
const C_AP_SECRET = fromHex('9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5');
const S_AP_SECRET = fromHex('a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43');
const C_FINISHED_RECORD = fromHex(`17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0 51 7f e9 b9 3c 7a 4b fc
  44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46`);
const C_APP_RECORD = fromHex(`17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab 3f
  2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4`);
const C_ALERT_RECORD = fromHex('17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3');
const S_ALERT_RECORD = fromHex('17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9');
const APP_PAYLOAD = Uint8Array.from({ length: 50 }, (_, i) => i);

test('record key and IV derivation matches RFC 8448 §3', () => {
  const c = deriveRecordKeys(crypto, AES128, C_AP_SECRET);
  expect(hex(c.key)).toBe('17422dda596ed5d9acd890e3c63f5051');
  expect(hex(c.iv)).toBe('5b78923dee08579033e523d9');
  const s = deriveRecordKeys(crypto, AES128, S_AP_SECRET);
  expect(hex(s.key)).toBe('9f02283b6c9c07efc26bb9f2ac92e356');
  expect(hex(s.iv)).toBe('cf782b88dd83549aadf1e984');
});

test('sealing the client application data and close_notify reproduces RFC 8448 §3 records byte for byte', () => {
  const w = new RecordWriter();
  const p = new RecordProtector(crypto, AES128, C_AP_SECRET, 'application');
  const [app] = w.write(ContentType.application_data, APP_PAYLOAD, p);
  expect(hex(app!)).toBe(hex(C_APP_RECORD));
  const [alert] = w.write(ContentType.alert, new Uint8Array([1, 0]), p);
  expect(hex(alert!)).toBe(hex(C_ALERT_RECORD));
  expect(p.seq).toBe(2);
});

test('reader opens RFC 8448 records split at every byte boundary, with sequence numbers per direction', () => {
  const wire = new Uint8Array([...C_APP_RECORD, ...C_ALERT_RECORD]);
  const r = new RecordReader();
  r.protector = new RecordProtector(crypto, AES128, C_AP_SECRET, 'application');
  const got: { type: number; content: string }[] = [];
  for (const b of wire) {
    r.feed(new Uint8Array([b]));
    for (let rec = r.next(); rec; rec = r.next()) got.push({ type: rec.type, content: hex(rec.content) });
  }
  expect(got).toEqual([
    { type: ContentType.application_data, content: hex(APP_PAYLOAD) },
    { type: ContentType.alert, content: '0100' },
  ]);
  expect(r.buffered).toBe(0);
});

test('the client Finished record opens under the client handshake key (RFC 8448 §3)', () => {
  const r = new RecordReader();
  r.protector = new RecordProtector(crypto, AES128, C_HS_SECRET, 'handshake');
  r.feed(C_FINISHED_RECORD);
  const rec = r.next()!;
  expect(rec.type).toBe(ContentType.handshake);
  expect(rec.epoch).toBe('handshake');
  expect(hex(rec.content.subarray(0, 4))).toBe('14000020');
  expect(rec.content.length).toBe(36);
});

test('the server close_notify opens as the third server application record (NewSessionTicket and data before it)', () => {
  const r = new RecordReader();
  const p = new RecordProtector(crypto, AES128, S_AP_SECRET, 'application');
  p.seq = 2;
  r.protector = p;
  r.feed(S_ALERT_RECORD);
  const rec = r.next()!;
  expect(rec.type).toBe(ContentType.alert);
  expect(hex(rec.content)).toBe('0100');
});

function expectAlert(fn: () => unknown, alert: number): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TlsError);
  expect((err as TlsError).alert).toBe(alert);
}

test('a flipped ciphertext bit is bad_record_mac', () => {
  const bad = C_APP_RECORD.slice();
  bad[20]! ^= 1;
  const r = new RecordReader();
  r.protector = new RecordProtector(crypto, AES128, C_AP_SECRET, 'application');
  r.feed(bad);
  expectAlert(() => r.next(), Alert.bad_record_mac);
});

test('padding is stripped and content type recovered; all-padding records are unexpected_message', () => {
  for (const suite of Object.values(CIPHER_SUITES)) {
    const secret = new Uint8Array(crypto.hashLength(suite.hash)).fill(7);
    const w = new RecordWriter();
    w.padding = () => 100;
    const sender = new RecordProtector(crypto, suite, secret, 'application');
    const r = new RecordReader();
    r.protector = new RecordProtector(crypto, suite, secret, 'application');
    const recs = w.write(ContentType.handshake, new Uint8Array([4, 0, 0, 1, 9]), sender);
    expect(recs[0]!.length).toBe(5 + 5 + 1 + 100 + 16);
    r.feed(recs[0]!);
    const rec = r.next()!;
    expect(rec.type).toBe(ContentType.handshake);
    expect(hex(rec.content)).toBe('0400000109');
  }
  // A record whose inner plaintext is all zeros has no content type (§5.4).
  const secret = new Uint8Array(32).fill(1);
  const sender = new RecordProtector(crypto, AES128, secret, 'application');
  const zeros = sender.seal(0 as never, new Uint8Array(0), 3);
  const r = new RecordReader();
  r.protector = new RecordProtector(crypto, AES128, secret, 'application');
  r.feed(zeros);
  expectAlert(() => r.next(), Alert.unexpected_message);
});

test('oversized records are record_overflow as soon as the header arrives; sends are fragmented at 2^14', () => {
  const r = new RecordReader();
  r.feed(new Uint8Array([22, 3, 3, 0x40, 0x01]));
  expectAlert(() => r.next(), Alert.record_overflow);

  const r2 = new RecordReader();
  r2.protector = new RecordProtector(crypto, AES128, C_AP_SECRET, 'application');
  const len = MAX_CIPHERTEXT + 1;
  r2.feed(new Uint8Array([23, 3, 3, len >> 8, len & 0xff]));
  expectAlert(() => r2.next(), Alert.record_overflow);

  const w = new RecordWriter();
  const p = new RecordProtector(crypto, AES128, C_AP_SECRET, 'application');
  const recs = w.write(ContentType.application_data, new Uint8Array(40000), p);
  expect(recs.map((x) => x.length)).toEqual([5 + 16384 + 17, 5 + 16384 + 17, 5 + 7232 + 17]);
});

test('unknown content types, plaintext application data, malformed alerts are rejected with the right alert', () => {
  const r = new RecordReader();
  r.feed(new Uint8Array([99, 3, 3, 0, 1, 0]));
  expectAlert(() => r.next(), Alert.unexpected_message);
  const r2 = new RecordReader();
  r2.feed(new Uint8Array([23, 3, 3, 0, 1, 0]));
  expectAlert(() => r2.next(), Alert.unexpected_message);
  const r3 = new RecordReader();
  r3.feed(new Uint8Array([22, 3, 1, 0, 0]));
  expectAlert(() => r3.next(), Alert.unexpected_message);
});
