import { test, expect } from '@playwright/test';
import { DTLS_SUITES, type DtlsSuiteName } from '../engine/dtls/index.js';
import { makeLink, received, serverConfig } from './dtls-harness.js';
import { readFileSync } from 'node:fs';
import { DtlsServer, ContentType, DTLS_1_2 } from '../engine/dtls/index.js';
import { encodeRecord } from '../engine/dtls/record.js';
import { HandshakeType, encodeClientHello, encodeHandshakeFragment } from '../engine/dtls/messages.js';
import { Alert } from '../engine/tls/api.js';
import { loadCertificateChain, loadPrivateKey } from '../engine/tls/x509/pem.js';
import { makePki } from './helpers/pki.js';
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

test('SNI reaches the server; a P-384 ECDSA certificate signs with SHA-384 and verifies', () => {
  const pki = makePki();
  const link = makeLink({
    server: {
      certificateChain: loadCertificateChain(readFileSync(pki.leaf.p384.cert, 'utf8')),
      privateKey: loadPrivateKey(readFileSync(pki.leaf.p384.key, 'utf8')),
    },
  });
  link.run(() => link.bothConnected());
  const done = link.serverEvents.find((e) => e.event.type === 'handshake-complete')!.event;
  expect(done.type === 'handshake-complete' && done.summary.serverName).toBe('localhost');
  expect(link.client.handshake?.peerCertificates).toHaveLength(1);
});

test('ALPN without overlap: the server refuses with no_application_protocol', () => {
  const link = makeLink({ client: { alpn: ['h2'] }, server: { alpn: ['webrtc'] } });
  link.run(() => link.client.closed);
  const closed = link.clientEvents.find((e) => e.type === 'closed');
  expect(closed?.type === 'closed' && closed.error?.alert).toBe(Alert.no_application_protocol);
  expect(closed?.type === 'closed' && closed.error?.remote).toBe(true);
});

test('HelloVerifyRequest is never larger than the ClientHello that caused it, even for a minimal ClientHello', () => {
  const server = new DtlsServer(serverConfig('ec'));
  const body = encodeClientHello({
    version: DTLS_1_2,
    random: new Uint8Array(32).fill(1),
    sessionId: new Uint8Array(0),
    cookie: new Uint8Array(0),
    cipherSuites: [0xc02b],
    compressionMethods: new Uint8Array([0]),
    extensions: [],
  });
  const hello = encodeRecord(ContentType.handshake, DTLS_1_2, 0, 0, encodeHandshakeFragment(HandshakeType.client_hello, 0, body, 0, body.length));
  server.receiveDatagram(hello, { host: '192.0.2.1', port: 1 }, 0);
  const [hvr] = server.pollDatagrams(0);
  expect(hello.length).toBe(69); // record 13 + handshake header 12 + body 44 (one suite, empty extension block)
  expect(hvr!.data.length).toBeLessThanOrEqual(hello.length);
  expect(server.peerStateCount).toBe(0);
});

test('keys are logged in NSS format (CLIENT_RANDOM) by both ends with the same master secret', () => {
  const lines: string[] = [];
  const link = makeLink({ client: { keyLog: (l) => lines.push(`c ${l}`) }, server: { keyLog: (l) => lines.push(`s ${l}`) } });
  link.run(() => link.bothConnected());
  expect(lines).toHaveLength(2);
  expect(lines[0]!.slice(2)).toBe(lines[1]!.slice(2));
  expect(lines[0]).toMatch(/^c CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
});
