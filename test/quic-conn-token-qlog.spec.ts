import { test, expect } from '@playwright/test';
import { TokenSealer } from '../engine/quic/token.js';
import { serializeQlog, QlogBuffer, type QlogEvent } from '../engine/quic/qlog.js';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { seededRandom } from '../engine/crypto/random.js';
import { fromHex } from '../engine/wire/bytes.js';

const random = seededRandom('token-test', (d) => nobleCrypto.hash('sha256', d));
const key = fromHex('000102030405060708090a0b0c0d0e0f');
const client = { host: '192.0.2.7', port: 4433 };

test('a Retry token validates for the same address within its lifetime and returns the original DCID', () => {
  const s = new TokenSealer(nobleCrypto, key, random);
  const t = s.issueRetryToken(client, fromHex('8394c8f03e515708'), fromHex('f067a5502a4262b5'), 5_000);
  const ok = s.validate(t, client, 6_000);
  expect(ok).toMatchObject({ ok: true, kind: 'retry' });
  if (ok.ok && ok.kind === 'retry') {
    expect(Buffer.from(ok.originalDcid).toString('hex')).toBe('8394c8f03e515708');
    expect(Buffer.from(ok.retryScid).toString('hex')).toBe('f067a5502a4262b5');
  }
  expect(s.validate(t, { ...client, port: 4434 }, 6_000)).toMatchObject({ ok: false, kind: 'retry' });
  expect(s.validate(t, client, 60_000)).toMatchObject({ ok: false, kind: 'retry' });
  const tampered = t.slice();
  tampered[tampered.length - 1]! ^= 1;
  expect(s.validate(tampered, client, 6_000)).toMatchObject({ ok: false, reason: 'token does not authenticate' });
  const other = new TokenSealer(nobleCrypto, fromHex('ff0102030405060708090a0b0c0d0e0f'), random);
  expect(other.validate(t, client, 6_000).ok).toBe(false);
});

test('a NEW_TOKEN token binds the host but not the port', () => {
  const s = new TokenSealer(nobleCrypto, key, random);
  const t = s.issueNewToken(client, 0);
  expect(s.validate(t, { host: client.host, port: 9999 }, 3600_000)).toMatchObject({ ok: true, kind: 'new-token' });
  expect(s.validate(t, { host: '192.0.2.8', port: 4433 }, 1)).toMatchObject({ ok: false });
  expect(s.validate(new Uint8Array(5), client, 1)).toMatchObject({ ok: false });
});

test('qlog JSON-SEQ: a 0.3 header record then one record per event with relative times', () => {
  const buf = new QlogBuffer();
  buf.sink({ time: 1000.5, name: 'transport:packet_sent', data: { header: { packet_type: 'initial', packet_number: 0 }, raw: { length: 1200 }, frames: [{ frame_type: 'padding' }] } });
  buf.sink({ time: 1010, name: 'connectivity:connection_closed', data: { owner: 'remote', connection_code: 10, reason: 'bye' } } as QlogEvent);
  const text = serializeQlog({ vantagePoint: 'client', referenceTime: 1000, odcid: 'abcd' }, buf.events);
  const records = text.split('\x1e').filter(Boolean).map((r) => {
    expect(r.endsWith('\n')).toBe(true);
    return JSON.parse(r);
  });
  expect(records[0]).toMatchObject({ qlog_version: '0.3', qlog_format: 'JSON-SEQ', trace: { vantage_point: { type: 'client' }, common_fields: { ODCID: 'abcd', reference_time: 1000 } } });
  expect(records[1]).toMatchObject({ time: 0.5, name: 'transport:packet_sent', data: { header: { packet_type: 'initial' } } });
  expect(records[2]).toMatchObject({ time: 10, name: 'connectivity:connection_closed' });
  expect(buf.ofType('transport:packet_sent')).toHaveLength(1);
});
