import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { classify, FILTER_KIND_NAMES, matchesFilter, parseKind, QUIC_V1, QUIC_V2 } from '../simulator/classify.js';
import { concat } from '../engine/wire/bytes.js';
import { clientHelloBody, dtlsRecord, quicLong, quicShort, versionNegotiation } from '../simulator/testing/packets.js';
import seedrandom from 'seedrandom';

test('QUIC v1 long-header types, short header and Version Negotiation', () => {
  expect(classify(quicLong('initial')).kind).toBe('initial');
  expect(classify(quicLong('0rtt')).kind).toBe('0rtt');
  expect(classify(quicLong('handshake')).kind).toBe('handshake');
  expect(classify(quicLong('retry')).kind).toBe('retry');
  expect(classify(quicShort()).kind).toBe('1rtt');
  const vn = classify(versionNegotiation([QUIC_V1, QUIC_V2]));
  expect(vn.kind).toBe('version-negotiation');
  expect(vn.packets[0]!.supportedVersions).toEqual([QUIC_V1, QUIC_V2]);
});

test('QUIC v2 swaps the long-header type codes (RFC 9369 §3.2)', () => {
  for (const t of ['initial', '0rtt', 'handshake', 'retry'] as const) {
    const b = quicLong(t, { version: QUIC_V2 });
    expect(classify(b).kind).toBe(t);
    expect(classify(b).packets[0]!.version).toBe(QUIC_V2);
  }
  // The same first byte means different types under v1 and v2: 0b01 is 0-RTT in v1, Initial in v2.
  const v1 = quicLong('0rtt');
  const v2 = quicLong('initial', { version: QUIC_V2, token: new Uint8Array(0) });
  expect(v1[0]! & 0x30).toBe(v2[0]! & 0x30);
});

test('coalesced datagrams are classified by their first packet and list all of them', () => {
  const d = concat(quicLong('initial', { token: new Uint8Array([7, 7]) }), quicLong('handshake'), quicShort(30));
  const c = classify(d);
  expect(c.kind).toBe('initial');
  expect(c.packets.map((p) => p.kind)).toEqual(['initial', 'handshake', '1rtt']);
  expect([...c.packets[0]!.token!]).toEqual([7, 7]);
  expect(c.packets.reduce((n, p) => n + p.length, 0)).toBe(d.length);
  // Padding zeros after the last long-header packet are not another packet.
  expect(classify(concat(quicLong('initial'), new Uint8Array(100))).packets).toHaveLength(1);
});

test('Retry token excludes the integrity tag; unknown versions are not guessed', () => {
  const r = classify(quicLong('retry', { token: new Uint8Array([1, 2, 3]) }));
  expect([...r.packets[0]!.token!]).toEqual([1, 2, 3]);
  const weird = quicLong('initial', { version: 0x1a2a3a4a });
  expect(classify(weird).kind).toBe('unknown');
  expect(classify(weird).packets[0]!.version).toBe(0x1a2a3a4a);
});

test('DTLS records by content type and handshake type; encrypted handshake after CCS', () => {
  const kinds: [number, string][] = [[1, 'client-hello'], [3, 'hello-verify-request'], [2, 'server-hello'], [11, 'certificate'],
    [12, 'server-key-exchange'], [14, 'server-hello-done'], [16, 'client-key-exchange'], [20, 'finished'], [99, 'dtls-handshake']];
  for (const [t, k] of kinds) expect(classify(dtlsRecord(22, { hsType: t })).kind).toBe(k);
  expect(classify(dtlsRecord(20)).kind).toBe('change-cipher-spec');
  expect(classify(dtlsRecord(21)).kind).toBe('alert');
  expect(classify(dtlsRecord(23, { epoch: 1 })).kind).toBe('application-data');
  const flight = classify(concat(dtlsRecord(22, { hsType: 16 }), dtlsRecord(20), dtlsRecord(22, { epoch: 1 })));
  expect(flight.packets.map((p) => p.kind)).toEqual(['client-key-exchange', 'change-cipher-spec', 'encrypted-handshake']);
  const ch = classify(dtlsRecord(22, { hsType: 1, body: clientHelloBody(new Uint8Array([5, 6, 7])) }));
  expect([...ch.packets[0]!.cookie!]).toEqual([5, 6, 7]);
  expect(classify(new Uint8Array([0x2c, 1, 2, 3])).kind).toBe('dtls13-ciphertext');
});

test('never throws on random or truncated input', () => {
  const rnd = seedrandom('classify-fuzz');
  const seeds = [quicLong('initial', { token: new Uint8Array(5) }), quicLong('retry'), dtlsRecord(22, { hsType: 1, body: clientHelloBody(new Uint8Array(4)) })];
  let bad = 0; // plain counter: one expect() per case would dominate the run time
  for (let i = 0; i < 3000; i++) {
    const base = seeds[i % seeds.length]!;
    const b = base.slice(0, Math.floor(rnd() * (base.length + 1)));
    for (let j = 0; j < 3 && b.length; j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    for (const protocol of [undefined, 'quic', 'dtls'] as const) {
      const c = classify(b, protocol ? { protocol } : {});
      if (typeof c.kind !== 'string') bad++;
    }
  }
  expect(bad).toBe(0);
  expect(classify(new Uint8Array(0)).kind).toBe('unknown');
});

test('filters: aliases, match any vs first', () => {
  expect(parseKind('0-RTT')).toBe('0rtt');
  expect(parseKind('ClientHello')).toBe('client-hello');
  expect(parseKind('VN')).toBe('version-negotiation');
  expect(parseKind('nope')).toBeUndefined();
  const c = classify(concat(quicLong('initial'), quicLong('handshake')));
  expect(matchesFilter(c, { kinds: ['handshake'] })).toBe(true);
  expect(matchesFilter(c, { kinds: ['handshake'], match: 'first' })).toBe(false);
  expect(matchesFilter(c, { kinds: ['1rtt'] })).toBe(false);
});

test('one list of packet-kind names: scenarios/schema.json\'s packetKind enum is the classifier\'s FILTER_KIND_NAMES, and each name parses to itself', () => {
  const schema = JSON.parse(readFileSync(new URL('../scenarios/schema.json', import.meta.url), 'utf8'));
  expect(schema.definitions.packetKind.enum).toEqual(FILTER_KIND_NAMES);
  for (const dir of ['to-server', 'to-client']) expect(schema.properties.network.properties[dir].items.properties.only.items).toEqual({ $ref: '#/definitions/packetKind' });
  for (const n of FILTER_KIND_NAMES) expect(parseKind(n)).toBe(n);
});
