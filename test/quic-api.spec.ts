import { test, expect } from '@playwright/test';
import { baseConfig, newServer, SERVER_ADDR, Wire } from './quic-conn-harness.js';
import { QuicConnection } from '../engine/quic/connection.js';
import { QuicApi, QuicStream, type ApiOptions } from '../engine/quic/api.js';
import type { QuicConfig } from '../engine/quic/config.js';
import { utf8 } from '../engine/wire/bytes.js';

const text = (r: unknown) => (r instanceof Uint8Array ? utf8.decode(r) : String(r));

/** Client API object and server API object wired back to back, with the virtual clock of the wire. */
function apis(opts: { client?: Partial<ApiOptions>; server?: Partial<ApiOptions>; clientCfg?: Partial<QuicConfig>; serverCfg?: Partial<QuicConfig> } = {}) {
  let wire!: Wire;
  const clock = () => wire.now;
  const driver = { wait: async () => void wire.step() };
  const conn = new QuicConnection({ role: 'client', config: baseConfig('client', opts.clientCfg), remote: SERVER_ADDR, now: 0 });
  const client = new QuicApi(conn, { clock, driver, ...opts.client });
  const endpoint = newServer({}, opts.serverCfg);
  wire = new Wire(client, endpoint);
  let server: QuicApi | undefined;
  const srv = () => {
    if (!server) {
      const c = endpoint.accept();
      if (c) server = new QuicApi(c, { clock, driver, ...opts.server });
    }
    return server;
  };
  const connect = () => {
    expect(wire.run(() => client.doHandshake() === true && srv()?.doHandshake() === true)).toBe(true);
    return srv()!;
  };
  return { client, srv, wire, connect };
}

function readAll(api: { read(max?: number): unknown }, wire: Wire): string {
  let out = '';
  wire.run(() => {
    for (;;) {
      const r = api.read();
      if (r instanceof Uint8Array) {
        out += utf8.decode(r);
        continue;
      }
      return r !== 'want-read';
    }
  });
  return out;
}

test('default stream mode: the first write opens a client bidi stream; the server\'s first read adopts it; replies flow back', () => {
  const { client, wire, connect } = apis();
  const server = connect();
  expect(client.write(utf8.encode('ping'))).toBe(4);
  expect(client.defaultStreamObject!.id).toBe(0);
  expect(client.conclude()).toBe(true);
  expect(client.streamWriteState).toBe('finished');
  expect(server.read()).toBe('want-read');
  expect(readAll(server, wire)).toBe('ping');
  expect(server.streamReadState).toBe('finished');
  expect(server.defaultStreamObject!.id).toBe(0);
  server.write(utf8.encode('pong'));
  server.conclude();
  expect(readAll(client, wire)).toBe('pong');
  expect(client.streamReadState).toBe('finished');
});

test('default stream mode: a client that reads first waits for a server-initiated stream', () => {
  const { client, wire, connect } = apis();
  const server = connect();
  expect(client.read()).toBe('want-read');
  expect(client.defaultStreamObject).toBeUndefined();
  server.write(utf8.encode('hello from the server'));
  server.conclude();
  expect(server.defaultStreamObject!.id).toBe(1); // server-initiated bidi
  expect(readAll(client, wire)).toBe('hello from the server');
  expect(client.defaultStreamObject!.id).toBe(1);
});

test('multi-stream mode: newStream bidi/uni, acceptStream and the accept queue length', () => {
  const { client, wire, connect } = apis({ client: { defaultStreamMode: 'none' }, server: { defaultStreamMode: 'none' } });
  const server = connect();
  expect(client.write(utf8.encode('x'))).toBe('none');
  const a = client.newStream('bidi') as QuicStream;
  const b = client.newStream('uni') as QuicStream;
  const c = client.newStream('bidi') as QuicStream;
  expect([a.id, b.id, c.id]).toEqual([0, 2, 4]);
  for (const s of [a, b, c]) {
    s.write(utf8.encode(`stream ${s.id}`));
    s.conclude();
  }
  wire.run(() => server.acceptQueueLength === 3);
  expect(server.acceptQueueLength).toBe(3);
  const got: string[] = [];
  for (let s = server.acceptStream(); s; s = server.acceptStream()) {
    got.push(`${s.id}:${readAll(s, wire)}:${s.direction}`);
    if (s.direction === 'uni') expect(s.writeState).toBe('none');
  }
  expect(got.sort()).toEqual(['0:stream 0:bidi', '2:stream 2:uni', '4:stream 4:bidi']);
  expect(server.acceptQueueLength).toBe(0);
});

test('newStream returns want-streams when the peer\'s MAX_STREAMS is used up, and succeeds once credit returns', () => {
  const { client, wire, connect } = apis({ client: { defaultStreamMode: 'none' }, server: { defaultStreamMode: 'none' }, serverCfg: { transport: { initialMaxStreamsBidi: 1 } } });
  const server = connect();
  const first = client.newStream('bidi') as QuicStream;
  expect(client.newStream('bidi')).toBe('want-streams');
  first.write(utf8.encode('done'));
  first.conclude();
  wire.run(() => server.acceptQueueLength === 1);
  const s = server.acceptStream()!;
  readAll(s, wire);
  s.conclude();
  wire.run(() => client.newStream('bidi') instanceof QuicStream, 5000);
});

test('incoming stream policy reject: the peer sees its stream stopped and reset with our code', () => {
  const { client, wire, connect } = apis({ client: { defaultStreamMode: 'none' }, server: { defaultStreamMode: 'none', incomingStreamPolicy: 'reject', incomingRejectCode: 77 } });
  const server = connect();
  const s = client.newStream('bidi') as QuicStream;
  s.write(utf8.encode('unwanted'));
  // The server application only has to keep handling events; the policy acts on its own.
  wire.run(() => {
    server.handleEvents(wire.now);
    return s.writeState === 'reset-remote' && s.readState === 'reset-remote';
  });
  expect(s.peerStopSendingCode).toBe(77);
  expect(s.peerResetCode).toBe(77);
  expect(server.acceptQueueLength).toBe(0);
});

test('reset(code) and stopSending(code): read/write states and the peer\'s error codes', () => {
  const { client, wire, connect } = apis({ client: { defaultStreamMode: 'none' }, server: { defaultStreamMode: 'none' } });
  const server = connect();
  const s = client.newStream('bidi') as QuicStream;
  s.write(utf8.encode('partial'));
  wire.run(() => server.acceptQueueLength === 1);
  const peer = server.acceptStream()!;
  expect(s.reset(0x99)).toBe(true);
  expect(s.writeState).toBe('reset-local');
  wire.run(() => peer.readState === 'reset-remote');
  expect(peer.peerResetCode).toBe(0x99);
  expect(peer.read()).toBe('reset-remote');
  // The other direction: the client stops reading what the server sends.
  expect(s.stopSending(0x55)).toBe(true);
  expect(s.readState).toBe('reset-local');
  wire.run(() => peer.writeState === 'reset-remote');
  expect(peer.peerStopSendingCode).toBe(0x55);
  expect(peer.write(utf8.encode('more'))).toBe('reset-remote');
});

test('graceful shutdown waits for stream data to be acknowledged; close info on both sides', () => {
  const { client, wire, connect } = apis();
  const server = connect();
  client.write(new Uint8Array(50_000).fill(1));
  client.conclude();
  expect(client.shutdown({ appErrorCode: 7, reason: 'all done' })).toBe('in-progress');
  let received = 0;
  wire.run(() => {
    for (let r = server.read(); r instanceof Uint8Array; r = server.read()) received += r.length;
    return client.shutdown() === 'complete' && server.isTerminated;
  }, 20_000);
  expect(received).toBe(50_000); // everything arrived before the close
  expect(client.closeInfo).toMatchObject({ errorCode: 7, reason: 'all done', initiator: 'local', kind: 'application' });
  expect(server.closeInfo).toMatchObject({ errorCode: 7, reason: 'all done', initiator: 'remote', kind: 'application' });
  expect(server.streamReadState).toBe('finished');
  expect(client.streamWriteState).toBe('finished'); // all data was delivered before the close
});

test('rapid shutdown closes at once; later calls report connection-closed', () => {
  const { client, wire, connect } = apis({ client: { defaultStreamMode: 'none' }, server: { defaultStreamMode: 'none' } });
  const server = connect();
  const s = client.newStream('bidi') as QuicStream;
  s.write(new Uint8Array(100_000));
  client.shutdown({ rapid: true, appErrorCode: 3 });
  expect(client.connectionEnded).toBe(true);
  expect(s.write(utf8.encode('x'))).toBe('connection-closed');
  expect(client.newStream('bidi')).toBe('connection-closed');
  wire.run(() => server.connectionEnded);
  expect(server.closeInfo).toMatchObject({ errorCode: 3, initiator: 'remote' });
});

test('non-blocking event loop: eventTimeout/handleEvents with netReadDesired/netWriteDesired', () => {
  const { client, wire, connect } = apis();
  connect();
  expect(client.netReadDesired).toBe(true);
  expect(client.netWriteDesired).toBe(false);
  client.write(utf8.encode('data'));
  expect(client.netWriteDesired).toBe(true);
  const out = client.pollDatagrams(wire.now);
  expect(out.length).toBeGreaterThan(0);
  expect(client.netWriteDesired).toBe(false);
  // Unacknowledged data arms the loss-detection timer; handleEvents at the deadline fires it (a probe becomes due).
  const deadline = client.eventTimeout();
  expect(deadline).toBeDefined();
  client.handleEvents(deadline!);
  expect(client.netWriteDesired).toBe(true);
});

test('blocking mode: async handshake, writes and reads resolve as the driver moves the network', async () => {
  const { client, srv, wire } = apis({ client: { defaultStreamMode: 'none' }, server: { defaultStreamMode: 'none' } });
  await client.handshakeAsync();
  await wire.run(() => srv()?.doHandshake() === true);
  const server = srv()!;
  const s = await client.newStreamAsync('bidi');
  await s.writeAllAsync(new Uint8Array(300_000).fill(9), true);
  const peer = await server.acceptStreamAsync();
  const body = await peer.readAllAsync();
  expect(body.length).toBe(300_000);
  await peer.writeAllAsync(utf8.encode('thanks'), true);
  expect(text(await s.readAllAsync())).toBe('thanks');
  await client.shutdownAsync({ appErrorCode: 0 });
  expect(client.isTerminated).toBe(true);
});
