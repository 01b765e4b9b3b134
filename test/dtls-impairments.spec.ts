import { test, expect } from '@playwright/test';
import { splitRecords } from '../engine/dtls/record.js';
import { utf8 } from '../engine/wire/bytes.js';
import { makeLink, received, type Impairment, type Sent } from './dtls-harness.js';

/** Names the flight a datagram starts: its first record's content type, and the handshake type for cleartext handshake records. */
function flightOf(s: Sent): string {
  const rec = splitRecords(s.data).records[0]!;
  if (rec.type === 22 && rec.epoch === 0) {
    // A ClientHello with a cookie (its cookie length byte is non-zero) starts a different flight than the first one.
    const withCookie = rec.fragment[0] === 1 && rec.fragment[12 + 2 + 32 + 1]! > 0;
    return `${s.direction}/hs${rec.fragment[0]}${withCookie ? '+cookie' : ''}`;
  }
  return `${s.direction}/type${rec.type}/epoch${rec.epoch}`;
}

function completesWithData(link: ReturnType<typeof makeLink>): void {
  link.run(() => link.bothConnected());
  expect(link.client.handshakeComplete).toBe(true);
  expect(link.bothConnected()).toBe(true);
  // Application data is not retransmitted by DTLS, so it travels a clean link.
  link.impair = () => [10];
  link.clientSend(utf8.encode('after the handshake'));
  link.serverSend(utf8.encode('and back'));
  link.run(() => received(link.clientEvents) === 'and back' && received(link.serverEvents.map((e) => e.event)) === 'after the handshake');
  expect(received(link.clientEvents)).toBe('and back');
  expect(received(link.serverEvents.map((e) => e.event))).toBe('after the handshake');
}

test('every handshake flight dropped once: retransmission recovers each of them', () => {
  const dropped = new Set<string>();
  const impair: Impairment = (s) => {
    const key = flightOf(s);
    if (dropped.has(key)) return [10];
    dropped.add(key);
    return [];
  };
  const link = makeLink({ impair });
  completesWithData(link);
  // ClientHello, HelloVerifyRequest, ClientHello+cookie, ServerHello flight, ClientKeyExchange flight, CCS+Finished.
  expect([...dropped].sort()).toEqual(
    ['to-server/hs1', 'to-client/hs3', 'to-server/hs1+cookie', 'to-client/hs2', 'to-server/hs16', 'to-client/type20/epoch0'].sort(),
  );
});

test('every datagram duplicated: duplicates are discarded and the handshake completes once', () => {
  const link = makeLink({ impair: () => [10, 15] });
  completesWithData(link);
  expect(link.clientEvents.filter((e) => e.type === 'handshake-complete')).toHaveLength(1);
  expect(link.serverEvents.filter((e) => e.event.type === 'handshake-complete')).toHaveLength(1);
  expect(link.serverEvents.filter((e) => e.event.type === 'data')).toHaveLength(1);
  expect(link.server.peerStateCount).toBe(1);
});

test('handshake fragmented at a 200-byte PMTU: no datagram exceeds it, messages are split and reassembled', () => {
  const link = makeLink({ client: { pmtu: 200 }, server: { pmtu: 200 }, kind: 'rsa' });
  completesWithData(link);
  expect(Math.max(...link.sent.map((s) => s.data.length))).toBeLessThanOrEqual(200);
  // The RSA certificate alone is far larger than one datagram.
  const serverFlight = link.sent.filter((s) => s.direction === 'to-client' && s.time === link.sent.find((x) => x.direction === 'to-client' && x.index === 1)!.time);
  expect(serverFlight.length).toBeGreaterThan(4);
});

test('every flight reordered (datagrams of a burst delivered in reverse) at a 200-byte PMTU', () => {
  const burst = new Map<string, number>();
  const impair: Impairment = (s) => {
    const key = `${s.direction}@${s.time}`;
    const k = burst.get(key) ?? 0;
    burst.set(key, k + 1);
    return [100 - 5 * k]; // later datagrams of the same burst overtake earlier ones
  };
  const link = makeLink({ client: { pmtu: 200 }, server: { pmtu: 200 }, impair });
  completesWithData(link);
  expect(Math.max(...[...burst.values()])).toBeGreaterThan(2);
});

test('dropped, duplicated and reordered together at 200 bytes, with RSA and a cipher that needs SHA-384', () => {
  let n = 0;
  const impair: Impairment = (s) => {
    n++;
    if (n % 5 === 0) return [];
    if (n % 3 === 0) return [40, 5];
    return [10 + ((s.index * 37) % 50)];
  };
  const link = makeLink({ kind: 'rsa', client: { pmtu: 200, cipherSuites: ['ECDHE-RSA-AES256-GCM-SHA384'] }, server: { pmtu: 200 }, impair });
  completesWithData(link);
  expect(link.client.handshake?.suite).toBe('ECDHE-RSA-AES256-GCM-SHA384');
});

test('retransmission timer: 1 s initial, doubling, capped at 60 s, abandoned after 10 retransmissions (exact virtual times)', () => {
  const link = makeLink({ impair: () => [] }); // a black hole: every datagram lost
  link.run(() => link.client.closed);
  const sendTimes = link.sent.filter((s) => s.direction === 'to-server').map((s) => s.time);
  expect(sendTimes).toEqual([0, 1000, 3000, 7000, 15000, 31000, 63000, 123000, 183000, 243000, 303000]);
  expect(link.now).toBe(363000);
  const closed = link.clientEvents.find((e) => e.type === 'closed');
  expect(closed?.type === 'closed' && closed.error?.message).toMatch(/timed out after 10 retransmissions/);
});

test('server flight timer: the ServerHello flight is resent at +1 s, +2 s, +4 s while the client is silent', () => {
  // Deliver the client's first two ClientHellos, then nothing from the client; drop everything from the server after the HVR.
  const impair: Impairment = (s) => (s.direction === 'to-server' ? (s.index < 2 ? [10] : []) : s.index === 0 ? [10] : []);
  const link = makeLink({ impair });
  link.run(() => link.now >= 20_000, 20_000);
  const flight4 = link.sent.filter((s) => s.direction === 'to-client' && s.index > 0).map((s) => s.time);
  // ClientHello+cookie arrives at t=30 (sent at 20 after the HVR at 10).
  expect(flight4.slice(0, 5)).toEqual([30, 1030, 3030, 7030, 15030]);
});

test('a lost final flight is resent when the client retransmits its Finished flight', () => {
  let serverFinalDrops = 0;
  const impair: Impairment = (s) => {
    if (s.direction === 'to-client' && flightOf(s) === 'to-client/type20/epoch0' && serverFinalDrops < 2) {
      serverFinalDrops++;
      return [];
    }
    return [10];
  };
  const link = makeLink({ impair });
  completesWithData(link);
  const clientFinishedFlights = link.sent.filter((s) => flightOf(s) === 'to-server/hs16').map((s) => s.time);
  const serverFinals = link.sent.filter((s) => flightOf(s) === 'to-client/type20/epoch0').map((s) => s.time);
  // The client's timer fires at +1 s and +2 s; each retransmission makes the server resend its CCS+Finished at once.
  expect(clientFinishedFlights.map((t) => t - clientFinishedFlights[0]!)).toEqual([0, 1000, 3000]);
  expect(serverFinals.map((t) => t - serverFinals[0]!)).toEqual([0, 1000, 3000]);
});
