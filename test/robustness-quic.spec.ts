// Hostile input against the QUIC engine (issue 14): replayed packets (RFC 9000 §12.3), state for Initials that do not
// decrypt (§5.2.2, §8.1), Retry tokens from another address (§8.1.3), amplification on unvalidated paths (§8.2.1, §9.3)
// and 62-bit error codes (§16, §19.4, §19.5, §19.19). Everything runs in virtual time.

import { test, expect } from '@playwright/test';
import { QlogBuffer } from '../engine/quic/qlog.js';
import { connectedPair, forge1Rtt, SERVER_ADDR } from './quic-conn-harness.js';

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
