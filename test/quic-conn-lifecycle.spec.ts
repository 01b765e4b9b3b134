import { test, expect } from '@playwright/test';
import { pair, connectedPair, drainEvents, newClient, newServer, baseConfig, CLIENT_ADDR, SERVER_ADDR, Wire } from './quic-conn-harness.js';
import { QlogBuffer, serializeQlog } from '../engine/quic/qlog.js';
import { QUIC_V1, QUIC_V2 } from '../engine/quic/version.js';
import { peekDatagram } from '../engine/quic/packet.js';
import { TransportErrorCode } from '../engine/quic/errors.js';
import { QuicConnection } from '../engine/quic/connection.js';
import type { SessionTicket } from '../engine/tls/api.js';
import { utf8 } from '../engine/wire/bytes.js';
import { readFileSync } from 'node:fs';
import { makePki } from './helpers/pki.js';
import { loadCertificateChain, loadPrivateKey } from '../engine/tls/x509/pem.js';

function exchange(client: QuicConnection, server: () => QuicConnection | undefined, wire: Wire, text: string): string {
  const id = client.openStream('bidi')!;
  client.writeStream(id, utf8.encode(text), true);
  let got = '';
  wire.run(() => {
    const s = server();
    if (!s) return false;
    const r = s.readStream(id, 1 << 20, wire.now);
    got += utf8.decode(r.data);
    return r.fin;
  });
  return got;
}

test('stateless Retry: the client retries with the token and the server validates it (transport parameters authenticate the CIDs)', () => {
  const events: string[] = [];
  const { client, wire, serverConn } = pair({ endpoint: { retry: true, onEvent: (e) => events.push(e.type) } });
  expect(wire.run(() => client.handshakeConfirmed)).toBe(true);
  expect(events.filter((e) => e === 'retry')).toHaveLength(1);
  expect(drainEvents(client).some((e) => e.type === 'retry')).toBe(true);
  expect(serverConn()!.isAddressValidated).toBe(true);
  expect(serverConn()!.peerTransportParameters).toBeDefined();
  expect(client.peerTransportParameters!.retrySourceConnectionId).toBeDefined();
  expect(exchange(client, serverConn, wire, 'after retry')).toBe('after retry');
});

test('a server Initial datagram shorter than 1200 bytes is dropped, and so is a client Initial under 1200', () => {
  const dropped: string[] = [];
  const server = newServer({ onEvent: (e) => e.type === 'dropped' && dropped.push(e.reason) });
  const client = newClient();
  const [first] = client.pollDatagrams(0);
  expect(first!.data.length).toBeGreaterThanOrEqual(1200);
  // Cut the datagram to 1100 bytes and fix the Length field so it still parses: only the size rule can reject it.
  const short = first!.data.slice(0, 1100);
  const dcidLength = first!.data[5]!;
  const scidLength = first!.data[6 + dcidLength]!;
  const lengthAt = 1 + 4 + 1 + dcidLength + 1 + scidLength + 1; // first byte, version, CIDs, empty token
  const len = 1100 - lengthAt - 2;
  short[lengthAt] = 0x40 | (len >> 8);
  short[lengthAt + 1] = len & 0xff;
  server.receiveDatagram(short, CLIENT_ADDR, 1, SERVER_ADDR);
  expect(server.connections.size).toBe(0);
  expect(dropped[0]).toContain('< 1200');
});

test('anti-amplification: fed only the client\'s first Initial, the server sends at most 3× what it received', () => {
  const server = newServer({}, { transport: { initialMaxData: 1 << 20 } });
  const client = newClient();
  const [first] = client.pollDatagrams(0);
  server.receiveDatagram(first!.data, CLIENT_ADDR, 1, SERVER_ADDR);
  let sent = 0;
  let now = 1;
  for (let i = 0; i < 20; i++) {
    for (const d of server.pollDatagrams(now)) sent += d.data.length;
    const t = server.nextTimeout();
    if (t === undefined) break;
    now = Math.max(now, t);
    server.handleTimeout(now);
  }
  expect(sent).toBeGreaterThan(0);
  expect(sent).toBeLessThanOrEqual(3 * first!.data.length);
  const conn = server.accept()!;
  expect(conn.pathBytes.sent).toBe(sent);
  expect(conn.isAddressValidated).toBe(false);
});

test('every handshake flight lost once: client Initial, server Initial+Handshake, client Handshake — the handshake still completes', () => {
  const { client, wire, serverConn } = pair();
  wire.toServer = (i) => (i === 0 || i === 2 ? 'drop' : 'deliver');
  wire.toClient = (i) => (i === 0 ? 'drop' : 'deliver');
  expect(wire.run(() => client.handshakeConfirmed && !!serverConn()?.handshakeConfirmed)).toBe(true);
  expect(exchange(client, serverConn, wire, 'survived')).toBe('survived');
});

test('reordered server flight (1-RTT before Handshake) is buffered until keys arrive', () => {
  const { client, wire, serverConn } = pair();
  wire.toClient = (i) => (i === 0 ? 'hold' : 'deliver');
  wire.run(() => wire.sent.toClient >= 1 && wire.held.length > 0, 100);
  wire.releaseHeld();
  expect(wire.run(() => client.handshakeConfirmed && !!serverConn()?.handshakeConfirmed)).toBe(true);
});

test('1-RTT key update initiated by the client, then by the server, both answered', () => {
  const { client, wire, serverConn } = connectedPair();
  const s = serverConn();
  expect(client.initiateKeyUpdate()).toBe(true);
  expect(exchange(client, serverConn, wire, 'phase 1')).toBe('phase 1');
  expect(s.keyPhaseGeneration).toBe(1);
  expect(drainEvents(s).filter((e) => e.type === 'key-update')).toEqual([{ type: 'key-update', generation: 1, initiator: 'remote' }]);
  // The server may only start the next update once the client acknowledged one of its packets in the current phase;
  // until then the request is held and carried out as soon as it is allowed (RFC 9001 §6.1).
  s.initiateKeyUpdate();
  s.ping();
  expect(wire.run(() => s.keyPhaseGeneration === 2, 2000)).toBe(true);
  const id = s.openStream('uni')!;
  s.writeStream(id, utf8.encode('phase 2'), true);
  let got = '';
  wire.run(() => {
    const r = client.readStream(id, 100, wire.now);
    got += utf8.decode(r.data);
    return r.fin;
  });
  expect(got).toBe('phase 2');
  expect(client.keyPhaseGeneration).toBe(2);
  expect(drainEvents(client).filter((e) => e.type === 'key-update').map((e) => (e as { initiator: string }).initiator)).toEqual(['local', 'remote']);
});

test('automatic key update after N packets keeps data flowing', () => {
  const { client, wire, serverConn } = connectedPair({ client: { keyUpdateAfterPackets: 5 } });
  for (let i = 0; i < 4; i++) expect(exchange(client, serverConn, wire, `round ${i}`)).toBe(`round ${i}`);
  expect(client.keyPhaseGeneration).toBeGreaterThanOrEqual(1);
  expect(serverConn().keyPhaseGeneration).toBe(client.keyPhaseGeneration);
});

test('NAT rebinding: the client\'s port changes, the server validates the new path and the connection carries on', () => {
  const { client, wire, serverConn } = connectedPair();
  wire.clientAddress = { host: CLIENT_ADDR.host, port: 61000 };
  expect(exchange(client, serverConn, wire, 'from a new port')).toBe('from a new port');
  const s = serverConn();
  wire.run(() => s.isAddressValidated, 2000);
  expect(s.remoteAddress).toEqual({ host: CLIENT_ADDR.host, port: 61000 });
  expect(drainEvents(s).some((e) => e.type === 'path-validated')).toBe(true);
  // Server → client data now flows to the new address.
  const id = s.openStream('uni')!;
  s.writeStream(id, utf8.encode('back'), true);
  let got = '';
  wire.run(() => {
    const r = client.readStream(id, 100, wire.now);
    got += utf8.decode(r.data);
    return r.fin;
  });
  expect(got).toBe('back');
});

test('idle timeout closes both sides silently with cause idle-timeout', () => {
  const { client, wire, serverConn } = connectedPair({ client: { transport: { maxIdleTimeoutMs: 2000 } } });
  const t0 = wire.now;
  wire.run(() => client.isClosed && serverConn().isClosed, 10_000);
  expect(client.closeInfo).toMatchObject({ cause: 'idle-timeout', initiator: 'local' });
  expect(serverConn().closeInfo).toMatchObject({ cause: 'idle-timeout' });
  expect(wire.now - t0).toBeGreaterThanOrEqual(2000);
});

test('application close: the closer sees local/application info, the peer remote, both reach closed after the closing/draining period', () => {
  const { client, wire, serverConn } = connectedPair();
  client.close(0x42, 'bye now', true, wire.now);
  wire.run(() => client.isClosed && serverConn().isClosed, 10_000);
  expect(client.closeInfo).toEqual({ errorCode: 0x42, frameType: 0, reason: 'bye now', initiator: 'local', kind: 'application', cause: 'close' });
  expect(serverConn().closeInfo).toEqual({ errorCode: 0x42, frameType: 0, reason: 'bye now', initiator: 'remote', kind: 'application', cause: 'close' });
  const ev = drainEvents(serverConn()).map((e) => e.type);
  expect(ev).toEqual(['closing', 'closed']);
});

test('version negotiation: a v2-only server makes a v1-first client restart in v2', () => {
  const client = new QuicConnection({ role: 'client', config: baseConfig('client', { version: QUIC_V1, versions: [QUIC_V1, QUIC_V2] }), remote: SERVER_ADDR, now: 0 });
  const events: string[] = [];
  const server = newServer({ onEvent: (e) => events.push(e.type) }, { versions: [QUIC_V2] });
  const wire = new Wire(client, server);
  expect(wire.run(() => client.handshakeConfirmed)).toBe(true);
  expect(events).toContain('version-negotiation');
  expect(client.version).toBe(QUIC_V2);
  expect(drainEvents(client).find((e) => e.type === 'version-changed')).toMatchObject({ version: QUIC_V2, reason: 'version-negotiation' });
});

test('compatible version negotiation (RFC 9368): the server upgrades a v1 client to v2 without a round trip', () => {
  const client = new QuicConnection({ role: 'client', config: baseConfig('client', { version: QUIC_V1, versions: [QUIC_V1, QUIC_V2] }), remote: SERVER_ADDR, now: 0 });
  const server = newServer({}, { versions: [QUIC_V2, QUIC_V1] });
  const wire = new Wire(client, server);
  const kinds: string[] = [];
  wire.toClient = (_i, d) => {
    for (const p of peekDatagram(d.data, 8)) if (p.version !== undefined) kinds.push(`${p.kind}:${p.version.toString(16)}`);
    return 'deliver';
  };
  expect(wire.run(() => client.handshakeConfirmed)).toBe(true);
  expect(client.version).toBe(QUIC_V2);
  expect(kinds[0]).toBe(`initial:${QUIC_V2.toString(16)}`);
  expect(drainEvents(client).find((e) => e.type === 'version-changed')).toMatchObject({ version: QUIC_V2, reason: 'compatible-upgrade' });
});

function ticketFromFirstConnection(): SessionTicket {
  const { client, wire } = pair();
  let ticket: SessionTicket | undefined;
  wire.run(() => {
    for (let e = client.pollEvent(); e; e = client.pollEvent()) if (e.type === 'ticket') ticket = e.ticket;
    return !!ticket;
  }, 2000);
  if (!ticket) throw new Error('no ticket');
  return ticket;
}

test('0-RTT accepted: resumption with remembered transport parameters, stream data in 0-RTT packets', () => {
  const ticket = ticketFromFirstConnection();
  expect(ticket.appData).toBeDefined();
  const qlog = new QlogBuffer();
  const { client, wire, serverConn } = pair({ client: { session: ticket }, clientQlog: qlog });
  const id = client.openStream('bidi');
  expect(id).toBe(0); // the remembered MAX_STREAMS allows opening before the handshake
  client.writeStream(id!, utf8.encode('early hello'), true);
  let got = '';
  wire.run(() => {
    const s = serverConn();
    if (!s) return false;
    const r = s.readStream(0, 100, wire.now);
    got += utf8.decode(r.data);
    return r.fin && client.handshakeConfirmed;
  });
  expect(got).toBe('early hello');
  expect(client.earlyDataState).toBe('accepted');
  expect(serverConn()!.tls.resumed).toBe(true);
  expect(qlog.ofType('transport:packet_sent').some((e) => e.data.header.packet_type === '0RTT')).toBe(true);
});

test('0-RTT rejected: the data is sent again in 1-RTT', () => {
  const ticket = ticketFromFirstConnection();
  const { client, wire, serverConn } = pair({ client: { session: ticket }, server: { tls: { ...baseConfig('server').tls, earlyData: false } } });
  const id = client.openStream('bidi')!;
  client.writeStream(id, utf8.encode('early, then again'), true);
  let got = '';
  wire.run(() => {
    const s = serverConn();
    if (!s) return false;
    const r = s.readStream(0, 100, wire.now);
    got += utf8.decode(r.data);
    return r.fin;
  });
  expect(got).toBe('early, then again');
  expect(client.earlyDataState).toBe('rejected');
});

test('qlog: packet_sent/received, parameters_set, key_updated and metrics_updated are emitted', () => {
  const q = new QlogBuffer();
  connectedPair({ clientQlog: q });
  const names = new Set(q.events.map((e) => e.name));
  for (const n of ['transport:packet_sent', 'transport:packet_received', 'transport:parameters_set', 'security:key_updated', 'recovery:metrics_updated'] as const) expect(names.has(n)).toBe(true);
  expect(q.ofType('transport:parameters_set').map((e) => e.data.owner)).toEqual(['local', 'remote']);
  void TransportErrorCode;
});

test('client anti-deadlock: with its Initial acknowledged and the server\'s Handshake flight lost, the client probes until the server may send again', () => {
  const q = new QlogBuffer();
  const { client, wire, serverConn } = pair({ clientQlog: q });
  // Deliver only the Initial packet of the server's first datagram; drop everything else the server sends while it is
  // still bound by the amplification limit, so only the client can unblock the handshake.
  wire.toClient = (i, d) => {
    if (i === 0) {
      const first = peekDatagram(d.data, 8)[0]!;
      return d.data.slice(0, first.length);
    }
    return serverConn()?.isAddressValidated ? 'deliver' : 'drop';
  };
  expect(wire.run(() => client.handshakeConfirmed)).toBe(true);
  const probes = q.ofType('transport:packet_sent').filter((e) => e.data.header.packet_type === 'handshake' && e.data.frames?.some((f) => f.frame_type === 'ping'));
  expect(probes.length).toBeGreaterThanOrEqual(1);
});

test('a failed handshake (certificate from an untrusted CA) closes with CRYPTO_ERROR on both sides', () => {
  const pki = makePki();
  const tls = {
    ...baseConfig('server').tls,
    certificateChain: loadCertificateChain(readFileSync(pki.leaf.untrusted.cert, 'utf8')),
    privateKey: loadPrivateKey(readFileSync(pki.leaf.untrusted.key, 'utf8')),
  };
  const { client, wire, serverConn } = pair({ server: { tls } });
  wire.run(() => client.isClosed && !!serverConn()?.isClosed, 10_000);
  const code = client.closeInfo!.errorCode;
  expect(code).toBeGreaterThanOrEqual(0x100);
  expect(code).toBeLessThanOrEqual(0x1ff);
  expect(client.closeInfo).toMatchObject({ initiator: 'local', kind: 'transport', frameType: 0x06 });
  expect(serverConn()!.closeInfo).toMatchObject({ errorCode: code, initiator: 'remote', kind: 'transport' });
});

test('a real connection\'s qlog serialises to JSON-SEQ records that all parse (qvis input)', () => {
  const q = new QlogBuffer();
  const { client, wire, serverConn } = connectedPair({ clientQlog: q });
  exchange(client, serverConn, wire, 'logged');
  client.close(0, 'done', true, wire.now);
  wire.run(() => client.isClosed, 5000);
  const textOut = serializeQlog({ vantagePoint: 'client', referenceTime: 0, odcid: Buffer.from(client.originalDcid).toString('hex') }, q.events);
  const records = textOut.split('\x1e').filter(Boolean).map((r) => JSON.parse(r));
  expect(records[0]).toMatchObject({ qlog_version: '0.3', qlog_format: 'JSON-SEQ', trace: { vantage_point: { type: 'client' } } });
  const names = new Set(records.slice(1).map((r) => r.name));
  for (const n of ['transport:packet_sent', 'transport:packet_received', 'transport:parameters_set', 'security:key_updated', 'recovery:metrics_updated', 'connectivity:connection_closed']) expect(names.has(n)).toBe(true);
  for (const r of records.slice(1)) expect(typeof r.time).toBe('number');
});
