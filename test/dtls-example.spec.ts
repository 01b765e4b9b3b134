import { test, expect } from '@playwright/test';
import { classify, runExample } from '../interop/examples/dtls-custom-transport.js';
import { makePki } from './helpers/pki.js';

test('RFC 7983 demultiplexing by first byte', () => {
  expect([0, 3, 16, 20, 22, 63, 64, 128, 191, 200].map(classify)).toEqual(['stun', 'stun', 'zrtp', 'dtls', 'dtls', 'dtls', 'turn-channel', 'rtp', 'rtp', 'unknown']);
});

test('example: DTLS over a custom in-memory transport shared with STUN and RTP completes and carries data', async () => {
  const pki = makePki();
  const r = await runExample({ cert: pki.leaf.ec.cert, key: pki.leaf.ec.key, ca: pki.ca });
  expect(r.suite).toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
  expect(r.serverReceived).toEqual(['hello over a custom transport']);
  expect(r.clientReceived).toEqual(['echo: hello over a custom transport']);
  expect(r.routed.server.stun).toBe(1);
  expect(r.routed.server.rtp).toBe(1);
  expect(r.routed.client.rtp).toBe(1);
  // ClientHello, ClientHello+cookie, the Finished flight, application data and close_notify at least.
  expect(r.routed.server.dtls).toBeGreaterThanOrEqual(5);
});
