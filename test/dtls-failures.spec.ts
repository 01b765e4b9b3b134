import { test, expect } from '@playwright/test';
import { PassThrough } from 'node:stream';
import { readFileSync } from 'node:fs';
import { Alert } from '../engine/tls/api.js';
import { loadCertificateChain, loadPrivateKey } from '../engine/tls/x509/pem.js';
import { DtlsClient, DtlsServer, type DtlsEvent } from '../engine/dtls/index.js';
import { connectDtls } from '../interop/commands/dtls.js';
import { makePki } from './helpers/pki.js';
import { freeUdpPort, requireBinary, spawnPeer } from './helpers/proc.js';
import { Link, SERVER_ADDR, clientConfig, makeLink, rng, serverConfig } from './dtls-harness.js';

function leaf(name: 'untrusted' | 'expired' | 'ec') {
  const pki = makePki();
  return {
    certificateChain: loadCertificateChain(readFileSync(pki.leaf[name].cert, 'utf8')),
    privateKey: loadPrivateKey(readFileSync(pki.leaf[name].key, 'utf8')),
  };
}

function closedWith(events: readonly DtlsEvent[]): number | undefined {
  const c = events.find((e) => e.type === 'closed');
  return c?.type === 'closed' ? c.error?.alert : undefined;
}

test('verification is on by default: an untrusted, an expired and a wrongly named certificate each fail with their alert', () => {
  const cases = [
    { name: 'untrusted CA', server: leaf('untrusted'), client: {}, alert: Alert.unknown_ca },
    { name: 'expired', server: leaf('expired'), client: {}, alert: Alert.certificate_expired },
    { name: 'wrong name', server: leaf('ec'), client: { serverName: 'other.example' }, alert: Alert.bad_certificate },
  ];
  for (const c of cases) {
    const link = makeLink({ client: c.client, server: c.server });
    link.run(() => link.client.closed && link.serverEvents.some((e) => e.event.type === 'alert'));
    expect(closedWith(link.clientEvents), c.name).toBe(c.alert);
    // The server hears the same alert from us.
    expect(link.serverEvents.find((e) => e.event.type === 'alert')?.event, c.name).toMatchObject({ level: 'fatal', description: c.alert, sent: false });
  }
});

test('insecure is an explicit opt-out: the untrusted certificate is accepted, its key still checked', () => {
  const link = makeLink({ client: { insecure: true, ca: [] }, server: leaf('untrusted') });
  link.run(() => link.bothConnected());
  expect(link.client.handshakeComplete).toBe(true);
});

test('the extended master secret is required both ways (RFC 7627): a peer without it is refused with handshake_failure', () => {
  // Server side: strip the extension from our own ClientHello before the server sees it.
  const server = new DtlsServer(serverConfig('ec', { cookies: false }));
  const client = new DtlsClient(clientConfig(), SERVER_ADDR, 0);
  const hello = client.pollDatagrams(0)[0]!.data;
  // extended_master_secret is encoded as 00 17 00 00; rename it to an unknown extension type (0x0f17).
  const i = Buffer.from(hello).indexOf(Buffer.from([0x00, 0x17, 0x00, 0x00]));
  expect(i).toBeGreaterThan(0);
  const stripped = hello.slice();
  stripped[i] = 0x0f;
  server.receiveDatagram(stripped, { host: '10.0.0.1', port: 40000 }, 0);
  const events: string[] = [];
  for (let e = server.pollEvent(); e; e = server.pollEvent()) events.push(`${e.event.type}:${e.event.type === 'alert' ? e.event.description : ''}`);
  expect(events).toContain(`alert:${Alert.handshake_failure}`);
  expect(server.peerStateCount).toBe(0);
});

test('no cipher suite in common: handshake_failure alert', () => {
  const link = makeLink({ client: { cipherSuites: ['ECDHE-RSA-AES128-GCM-SHA256'] }, kind: 'ec' });
  link.run(() => link.client.closed);
  expect(closedWith(link.clientEvents)).toBe(Alert.handshake_failure);
  expect(link.client.closed).toBe(true);
});

test('close_notify: the peer answers and both sides report a clean close', () => {
  const link = makeLink();
  link.run(() => link.bothConnected());
  link.client.close();
  link.flush();
  link.run(() => link.serverEvents.some((e) => e.event.type === 'closed'));
  expect(link.serverEvents.find((e) => e.event.type === 'closed')?.event).toEqual({ type: 'closed' });
  expect(link.server.peerStateCount).toBe(0);
  expect(link.client.closing).toBe(true);
  link.run(() => link.client.closed);
  expect(link.clientEvents.slice(-3)).toEqual([
    { type: 'alert', level: 'warning', description: Alert.close_notify, sent: true },
    { type: 'alert', level: 'warning', description: Alert.close_notify, sent: false },
    { type: 'closed' },
  ]);
  // The server answered with its own close_notify before letting go of the association.
  expect(link.serverEvents.map((e) => e.event).filter((e) => e.type === 'alert')).toEqual([
    { type: 'alert', level: 'warning', description: Alert.close_notify, sent: false },
    { type: 'alert', level: 'warning', description: Alert.close_notify, sent: true },
  ]);
});

test('renegotiation is refused: s_server asks (HelloRequest), we answer no_renegotiation', async () => {
  requireBinary('/usr/bin/openssl', 'apt-get install -y openssl');
  const pki = makePki();
  const port = await freeUdpPort();
  const server = spawnPeer('/usr/bin/openssl', ['s_server', '-dtls1_2', '-accept', String(port), '-cert', pki.leaf.ec.cert, '-key', pki.leaf.ec.key, '-msg']);
  try {
    await server.waitFor(/ACCEPT/);
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const done = connectDtls({ scheme: 'dtls', host: '127.0.0.1', port, path: '/', authority: '' }, { ca: pki.ca, servername: 'localhost', v: true }, { stdin, stdout, stderr });
    stdin.write('first\n');
    await server.waitFor(/first/);
    server.proc.stdin!.write('R\n'); // s_server: renegotiate (sends HelloRequest)
    // Our warning alert no_renegotiation (100 = 0x64) shows in s_server's -msg trace as a received alert record.
    // OpenSSL names our answer when it gives up on the renegotiation it asked for.
    await server.waitFor(/no renegotiation/);
    stdin.end();
    // OpenSSL then ends the session with a fatal handshake_failure, which we report as a failed run.
    expect(await done).toBe(1);
    expect(err).toContain('received alert handshake_failure');
    expect(out).toBe('');
  } finally {
    await server.kill();
  }
});

test('a client restarting on the same address replaces its old association after a fresh cookie round (RFC 6347 §4.2.8)', () => {
  const link = makeLink();
  link.run(() => link.bothConnected());
  const server = link.server;
  const again = new DtlsClient(clientConfig({ random: rng('restarted') }), SERVER_ADDR, link.now);
  const second = new Link(again, server);
  second.now = link.now;
  second.run(() => again.handshakeComplete);
  expect(again.handshake?.helloVerifyRequest).toBe(true);
  expect(server.peerStateCount).toBe(1);
  second.clientSend(new TextEncoder().encode('new session'));
  second.run(() => second.serverEvents.some((e) => e.event.type === 'data'));
  expect(second.serverEvents.filter((e) => e.event.type === 'data')).toHaveLength(1);
});
