import { test, expect } from '@playwright/test';
import { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import { ScriptedEndpoint } from '../simulator/testing/fake-endpoints.js';
import { clientHelloBody, dtlsRecord, quicLong, quicShort, versionNegotiation } from '../simulator/testing/packets.js';
import { classify, QUIC_V1, QUIC_V2 } from '../simulator/classify.js';
import { concat } from '../engine/wire/bytes.js';
import type { Check } from '../simulator/types.js';

const IDEAL = { delay: 1, bandwidth: Infinity, queue: 1000 };
const check = (checks: Check[], name: string) => checks.find((c) => c.name === name);

/** A long-header packet of exactly `total` bytes. */
function sized(type: 'initial' | 'handshake', total: number): Uint8Array {
  const header = quicLong(type, { payload: 0 }).length;
  return quicLong(type, { payload: total - header });
}

/** A server that answers the first client Initial with `factor` × its size, then waits for a Handshake packet. */
function amplifier(factor: number) {
  const client = new ScriptedEndpoint([{ at: 0, data: quicLong('initial', { payload: 1170 }) }], DEFAULT_SERVER_ADDRESS, (d) =>
    classify(d).kind === 'initial' ? [quicLong('handshake', { payload: 100 })] : undefined);
  const server = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS, (d) => {
    const k = classify(d).kind;
    if (k === 'initial') {
      const n = (d.length * factor) / 4;
      return Array.from({ length: 4 }, (_, i) => sized(i === 0 ? 'initial' : 'handshake', n));
    }
    // After the client's Handshake packet the address is validated: sending more is fine.
    if (k === 'handshake') return Array.from({ length: 10 }, () => quicShort(1200));
    return undefined;
  });
  return simulate(client, server, { link: IDEAL }, 1, { protocol: 'quic' });
}

test('amplification: a server sending 4× before validation is flagged, 3× passes', () => {
  const bad = amplifier(4);
  const c4 = check(bad.checks, 'quic-amplification-limit')!;
  expect(c4.ok).toBe(false);
  expect(c4.detail).toMatch(/×4\.00/);
  expect(bad.metrics.amplificationPeak).toBeCloseTo(4, 5);
  const good = amplifier(3);
  const c3 = check(good.checks, 'quic-amplification-limit')!;
  expect(c3.ok).toBe(true);
  expect(c3.detail).toMatch(/peak ratio 3\.00/);
  // The 12 000 bytes after the client's Handshake packet do not count.
  expect(good.metrics.amplificationPeak).toBeCloseTo(3, 5);
});

function retryRun(echo: (token: Uint8Array) => Uint8Array) {
  const token = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
  const client = new ScriptedEndpoint([{ at: 0, data: quicLong('initial', { payload: 1170 }) }], DEFAULT_SERVER_ADDRESS, (d) => {
    const p = classify(d).packets[0]!;
    // RFC 9000 §17.2.5.2: after a Retry the client's Initials go to the Retry's Source Connection ID.
    return p.kind === 'retry' ? [quicLong('initial', { token: echo(p.token!), dcid: p.scid!, payload: 1100 })] : undefined;
  });
  const server = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS, (d) => {
    const p = classify(d).packets[0]!;
    if (p.kind !== 'initial') return undefined;
    if (!p.token?.length) return [quicLong('retry', { token, scid: new Uint8Array([0x77]) })];
    return [concat(quicLong('initial', { scid: new Uint8Array([0x51, 0x52]) }), quicLong('handshake', { scid: new Uint8Array([0x51, 0x52]) }))];
  });
  return simulate(client, server, { link: IDEAL }, 1, { protocol: 'quic' });
}

test('retry: the token must come back in the next client Initial; handshakes count server SCIDs', () => {
  const ok = retryRun((t) => t);
  expect(check(ok.checks, 'quic-retry-token-echoed')).toMatchObject({ ok: true });
  expect(ok.metrics.retries).toBe(1);
  // The Retry's SCID is not a handshake; the Initial+Handshake share one SCID.
  expect(ok.metrics.handshakes).toBe(1);
  // Validated by the echoed token, so the reply is not held to 3×.
  expect(check(ok.checks, 'quic-amplification-limit')!.ok).toBe(true);
  const bad = retryRun((t) => t.slice(1));
  const c = check(bad.checks, 'quic-retry-token-echoed')!;
  expect(c.ok).toBe(false);
  expect(c.detail).toMatch(/carried token 'adbeef010203' instead of the Retry's 'deadbeef010203'/);
});

test('versions on the wire and Version Negotiation offers', () => {
  const client = new ScriptedEndpoint([{ at: 0, data: quicLong('initial', { version: 0x1a2a3a4a, payload: 1170 }) }, { at: 10, data: quicLong('initial', { version: QUIC_V2, payload: 1170 }) }], DEFAULT_SERVER_ADDRESS);
  const server = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS, (d) => (classify(d).packets[0]!.version === 0x1a2a3a4a ? [versionNegotiation([QUIC_V2, QUIC_V1])] : undefined));
  const r = simulate(client, server, { link: IDEAL }, 1, { protocol: 'quic' });
  expect(check(r.checks, 'quic-versions')!.detail).toBe('client sent 0x1a2a3a4a, 0x6b3343cf; server sent 0x00000000; Version Negotiation offered 0x00000001, 0x6b3343cf');
  expect(r.metrics.versions).toEqual([0x1a2a3a4a, QUIC_V2]);
});

test('key phase flips are counted per side with the 1-RTT header-protection keys', () => {
  const phases = [0, 0, 1, 1, 1, 0, 0, 1];
  const client = new ScriptedEndpoint(phases.map((k, i) => ({ at: i, data: quicShort(80, k) })), DEFAULT_SERVER_ADDRESS);
  const server = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS);
  // A mask of 0x04 on the first byte means "the wire bit is the inverse of the real one": the observer must unmask.
  const hp = { mask: () => new Uint8Array([0x04, 0, 0, 0, 0]) };
  const r = simulate(client, server, { link: IDEAL }, 1, { protocol: 'quic', keyPhaseKeys: (d) => (d === 'to-server' ? { headerProtection: hp, dcidLength: 8 } : undefined) });
  expect(check(r.checks, 'quic-key-phase')!.detail).toBe('key phase flips: client 3, server 0');
  expect(r.metrics.keyUpdates).toEqual({ client: 3, server: 0 });
  const blind = simulate(new ScriptedEndpoint([{ at: 0, data: quicShort(80) }], DEFAULT_SERVER_ADDRESS), new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS), {}, 1, { protocol: 'quic' });
  expect(check(blind.checks, 'quic-key-phase')!.detail).toMatch(/not observed: no 1-RTT header-protection keys/);
});

function dtlsRun(useCookie: boolean, hvrExtra = 0) {
  const ch = (cookie: Uint8Array) => dtlsRecord(22, { hsType: 1, body: clientHelloBody(cookie) });
  const client = new ScriptedEndpoint([{ at: 0, data: ch(new Uint8Array(0)) }], DEFAULT_SERVER_ADDRESS, (d) =>
    classify(d).kind === 'hello-verify-request' ? [ch(new Uint8Array(20).fill(9))] : undefined);
  const server = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS, (d) => {
    const p = classify(d).packets[0]!;
    if (p.kind !== 'client-hello') return undefined;
    if (useCookie && !p.cookie?.length) return [dtlsRecord(22, { hsType: 3, body: new Uint8Array(23 + hvrExtra) })];
    return [concat(dtlsRecord(22, { hsType: 2, body: new Uint8Array(70) }), dtlsRecord(22, { hsType: 11, body: new Uint8Array(500) }))];
  });
  return simulate(client, server, { link: IDEAL }, 1, { protocol: 'dtls' });
}

test('DTLS: HelloVerifyRequest before ServerHello, no larger than the ClientHello; bytes before the cookie round', () => {
  const good = dtlsRun(true);
  expect(check(good.checks, 'dtls-hvr-before-server-hello')!.ok).toBe(true);
  expect(check(good.checks, 'dtls-hvr-not-larger-than-client-hello')!.ok).toBe(true);
  expect(good.metrics.dtlsBytesBeforeCookie).toBe(13 + 12 + 23);
  const noCookie = dtlsRun(false);
  expect(check(noCookie.checks, 'dtls-hvr-before-server-hello')).toMatchObject({ ok: false, detail: expect.stringMatching(/ServerHello to 10\.0\.0\.1:50000 .* without a HelloVerifyRequest/) });
  expect(noCookie.metrics.dtlsBytesBeforeCookie).toBe(2 * 13 + 2 * 12 + 570);
  const fat = dtlsRun(true, 200);
  expect(check(fat.checks, 'dtls-hvr-not-larger-than-client-hello')!.ok).toBe(false);
});
