// The simulator driving the real DTLS 1.2 engine (engine/dtls): cookie exchange and handshake through loss, with the
// DTLS on-wire observers judging the HelloVerifyRequest rules.
import { test, expect } from '@playwright/test';
import { DtlsClient } from '../engine/dtls/client.js';
import { DtlsServer } from '../engine/dtls/server.js';
import { clientConfig, serverConfig, rng } from './dtls-harness.js';
import { simulate, DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import type { NetworkConfig } from '../simulator/network.js';

function handshake(seed: string, network: NetworkConfig, cookies: boolean) {
  const client = new DtlsClient(clientConfig({ random: rng(`${seed}/client`) }), DEFAULT_SERVER_ADDRESS, 0);
  const server = new DtlsServer(serverConfig('ec', { random: rng(`${seed}/server`), cookies }));
  return { client, r: simulate(client, server, network, seed, { protocol: 'dtls', until: () => client.handshakeComplete, maxSimulatedMs: 120_000 }) };
}

test('real DTLS engine: cookie exchange passes the HelloVerifyRequest checks, also through loss', () => {
  const { client, r } = handshake('dtls-sim', { link: { delay: 15 }, 'to-server': [{ loss: { rate: 0.2 } }], 'to-client': [{ loss: { rate: 0.2 } }] }, true);
  expect(r.outcome, r.reason).toBe('stopped');
  expect(client.handshakeComplete).toBe(true);
  for (const name of ['dtls-hvr-before-server-hello', 'dtls-hvr-not-larger-than-client-hello']) {
    const c = r.checks.find((x) => x.name === name)!;
    expect(c.ok, c.detail).toBe(true);
  }
  expect(r.metrics.helloVerifyRequests).toBeGreaterThan(0);
  const kinds = new Set(r.trace.flatMap((e) => e.kinds));
  for (const k of ['client-hello', 'hello-verify-request', 'server-hello', 'certificate', 'change-cipher-spec', 'encrypted-handshake']) expect(kinds).toContain(k);
});

test('real DTLS engine without cookies: the observer flags ServerHello to a new address', () => {
  const { r } = handshake('dtls-nocookie', { link: { delay: 15 } }, false);
  expect(r.outcome, r.reason).toBe('stopped');
  expect(r.checks.find((x) => x.name === 'dtls-hvr-before-server-hello')!.ok).toBe(false);
});
