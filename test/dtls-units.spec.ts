import { test, expect } from '@playwright/test';
import { nobleCrypto as crypto } from '../engine/crypto/noble.js';
import { prf } from '../engine/dtls/prf.js';
import { ContentType, DTLS_1_2, RecordProtection, ReplayWindow, encodeRecord, splitRecords } from '../engine/dtls/record.js';
import { HandshakeReassembler } from '../engine/dtls/reassembly.js';
import { encodeHandshakeFragment, parseHandshakeFragments } from '../engine/dtls/messages.js';
import { DTLS_SUITES } from '../engine/dtls/suites.js';
import { fromHex, hex, utf8 } from '../engine/wire/bytes.js';

test('TLS 1.2 PRF (P_SHA256) matches the published IETF TLS WG test vector', () => {
  const out = prf(crypto, 'sha256', fromHex('9bbe436ba940f017b17652849a71db35'), 'test label', fromHex('a0ba9f936cda311827a6f796ffd5198c'), 100);
  expect(hex(out)).toBe(
    'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
  );
});

test('anti-replay window: 64 records wide, rejects duplicates and records older than the window', () => {
  const w = new ReplayWindow();
  for (const s of [5, 3, 100]) {
    expect(w.check(s)).toBe(true);
    w.accept(s);
  }
  expect(w.check(5)).toBe(false); // 95 behind: outside the window
  expect(w.check(100)).toBe(false); // duplicate
  expect(w.check(37)).toBe(true); // exactly 63 behind: inside
  expect(w.check(36)).toBe(false); // 64 behind: outside
  w.accept(37);
  expect(w.check(37)).toBe(false);
  w.accept(1000); // a jump clears the window
  expect(w.check(999)).toBe(true);
  expect(w.check(100)).toBe(false);
});

for (const suite of [DTLS_SUITES['ECDHE-ECDSA-AES128-GCM-SHA256'], DTLS_SUITES['ECDHE-ECDSA-AES256-GCM-SHA384'], DTLS_SUITES['ECDHE-RSA-CHACHA20-POLY1305']]) {
  test(`record protection ${suite.aead}: round trip, nonce layout, and any flipped bit fails authentication`, () => {
    const key = new Uint8Array(suite.keyLength).fill(7);
    const iv = new Uint8Array(suite.fixedIvLength).fill(9);
    const p = new RecordProtection(crypto, suite, key, iv);
    const plaintext = utf8.encode('application data');
    const fragment = p.seal(ContentType.application_data, DTLS_1_2, 1, 0x0102030405, plaintext);
    // GCM carries the 8-byte explicit nonce (epoch || seq) in the record; ChaCha20 (RFC 7905) carries none.
    expect(fragment.length).toBe(plaintext.length + 16 + suite.explicitNonceLength);
    if (suite.explicitNonceLength) expect(hex(fragment.subarray(0, 8))).toBe('0001000102030405');
    const wire = encodeRecord(ContentType.application_data, DTLS_1_2, 1, 0x0102030405, fragment);
    const rec = splitRecords(wire).records[0]!;
    expect(utf8.decode(p.open(rec)!)).toBe('application data');
    // The header is authenticated too: another sequence number or type must not open.
    expect(p.open({ ...rec, seq: rec.seq + 1 })).toBeNull();
    expect(p.open({ ...rec, type: ContentType.handshake })).toBeNull();
    for (let i = 0; i < fragment.length; i += 5) {
      const bad = fragment.slice();
      bad[i]! ^= 0x40;
      expect(p.open({ ...rec, fragment: bad })).toBeNull();
    }
  });
}

test('ChaCha20-Poly1305 nonce is the IV XOR the zero-padded epoch||seq (RFC 7905 §2)', () => {
  const suite = DTLS_SUITES['ECDHE-ECDSA-CHACHA20-POLY1305'];
  const key = new Uint8Array(32).fill(1);
  const iv = fromHex('000102030405060708090a0b');
  const p = new RecordProtection(crypto, suite, key, iv);
  const sealed = p.seal(ContentType.application_data, DTLS_1_2, 1, 2, utf8.encode('x'));
  // Same AEAD by hand: nonce = iv ^ 00000000 0001 000000000002.
  const nonce = fromHex('000102030404060708090a09');
  const aad = fromHex('0001000000000002' + '17' + 'fefd' + '0001');
  expect(hex(sealed)).toBe(hex(crypto.aead('chacha20-poly1305', key).seal(nonce, utf8.encode('x'), aad)));
});

test('records: several per datagram, a truncated tail is discarded', () => {
  const a = encodeRecord(ContentType.handshake, DTLS_1_2, 0, 1, new Uint8Array([1, 2, 3]));
  const b = encodeRecord(ContentType.alert, DTLS_1_2, 0, 2, new Uint8Array([1, 0]));
  const dg = new Uint8Array([...a, ...b, ...b.subarray(0, 7)]);
  const { records, trailingGarbage } = splitRecords(dg);
  expect(records.map((r) => [r.type, r.seq])).toEqual([[22, 1], [21, 2]]);
  expect(trailingGarbage).toBe(7);
});

test('handshake reassembly: out-of-order, overlapping and duplicate fragments yield each message once, in order', () => {
  const body0 = new Uint8Array(300).map((_, i) => i & 0xff);
  const body1 = new Uint8Array(50).fill(0xaa);
  const frags = [
    encodeHandshakeFragment(11, 1, body1, 25, 25),
    encodeHandshakeFragment(2, 0, body0, 200, 100),
    encodeHandshakeFragment(2, 0, body0, 0, 120),
    encodeHandshakeFragment(2, 0, body0, 100, 150), // overlaps both neighbours
    encodeHandshakeFragment(2, 0, body0, 0, 120), // duplicate, after message 0 completed: a peer retransmission
    encodeHandshakeFragment(11, 1, body1, 0, 30),
  ];
  const r = new HandshakeReassembler();
  const delivered: { type: number; body: string }[] = [];
  const outcomes: string[] = [];
  for (const f of frags) {
    for (const parsed of parseHandshakeFragments(f)) outcomes.push(r.add(parsed, 0));
    for (let m = r.next(); m; m = r.next()) delivered.push({ type: m.msgType, body: hex(m.body) });
  }
  expect(delivered).toEqual([{ type: 2, body: hex(body0) }, { type: 11, body: hex(body1) }]);
  expect(outcomes).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'old', 'accepted']);
});
