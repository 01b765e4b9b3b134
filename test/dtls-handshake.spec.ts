import { test, expect } from '@playwright/test';
import { DTLS_SUITES, type DtlsSuiteName } from '../engine/dtls/index.js';
import { makeLink, received } from './dtls-harness.js';
import { utf8 } from '../engine/wire/bytes.js';

for (const suite of Object.keys(DTLS_SUITES) as DtlsSuiteName[]) {
  for (const group of ['x25519', 'secp256r1'] as const) {
    test(`self handshake ${suite} over ${group}, data both ways`, () => {
      const kind = DTLS_SUITES[suite].auth === 'ecdsa' ? 'ec' : 'rsa';
      const link = makeLink({ kind, client: { cipherSuites: [suite], groups: [group], alpn: ['x', 'webrtc'] }, server: { alpn: ['webrtc'] } });
      link.run(() => link.bothConnected());
      expect(link.client.handshake).toMatchObject({ suite, group, alpn: 'webrtc', helloVerifyRequest: true });
      link.clientSend(utf8.encode('ping'));
      link.serverSend(utf8.encode('pong'));
      link.run(() => received(link.clientEvents) === 'pong' && link.serverEvents.some((e) => e.event.type === 'data'));
      expect(received(link.clientEvents)).toBe('pong');
      expect(received(link.serverEvents.map((e) => e.event))).toBe('ping');
    });
  }
}
