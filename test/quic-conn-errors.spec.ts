import { test, expect } from '@playwright/test';
import { connectedPair, drainEvents, forge1Rtt, CLIENT_ADDR, SERVER_ADDR } from './quic-conn-harness.js';
import { encodeFrames, type Frame } from '../engine/quic/frames.js';
import { TransportErrorCode } from '../engine/quic/errors.js';
import { fromHex } from '../engine/wire/bytes.js';
import type { QuicConnection } from '../engine/quic/connection.js';

function closeOf(c: QuicConnection) {
  return c.closeInfo;
}

test('a client exceeding MAX_STREAM_DATA gets FLOW_CONTROL_ERROR from the server', () => {
  const { client, wire, serverConn } = connectedPair({ server: { transport: { initialMaxStreamDataBidiRemote: 1000 } } });
  const id = client.openStream('bidi')!;
  client.streams.get(id)!.send!.credit.raise(1_000_000); // the misbehaviour: ignore the server's stream limit
  client.writeStream(id, new Uint8Array(5000));
  wire.run(() => client.phase === 'draining' || client.phase === 'closed');
  expect(closeOf(serverConn())).toMatchObject({ errorCode: TransportErrorCode.FLOW_CONTROL_ERROR, initiator: 'local', kind: 'transport', frameType: 0x08 });
  expect(closeOf(client)).toMatchObject({ errorCode: TransportErrorCode.FLOW_CONTROL_ERROR, initiator: 'remote' });
});

test('a server exceeding MAX_DATA gets FLOW_CONTROL_ERROR from the client', () => {
  const { client, wire, serverConn } = connectedPair({ client: { transport: { initialMaxData: 3000 } } });
  const s = serverConn();
  const id = client.openStream('bidi')!;
  client.writeStream(id, new Uint8Array([1]));
  wire.run(() => s.streams.get(id) !== undefined);
  s.streams.connSend.raise(1_000_000);
  s.writeStream(id, new Uint8Array(10_000));
  wire.run(() => s.phase === 'draining' || s.phase === 'closed');
  expect(closeOf(client)).toMatchObject({ errorCode: TransportErrorCode.FLOW_CONTROL_ERROR, initiator: 'local' });
  expect(closeOf(s)).toMatchObject({ errorCode: TransportErrorCode.FLOW_CONTROL_ERROR, initiator: 'remote' });
});

test('opening more streams than MAX_STREAMS allows is a STREAM_LIMIT_ERROR (both directions)', () => {
  const { client, wire, serverConn } = connectedPair({ server: { transport: { initialMaxStreamsBidi: 2 } }, client: { transport: { initialMaxStreamsUni: 1 } } });
  expect(client.openStream('bidi')).toBe(0);
  expect(client.openStream('bidi')).toBe(4);
  expect(client.openStream('bidi')).toBeUndefined(); // honest clients stop here (and say STREAMS_BLOCKED)
  const s = serverConn();
  expect(s.openStream('uni')).toBe(3);
  expect(s.openStream('uni')).toBeUndefined();
  s.streams.localOpenCredit.uni.raise(10);
  const extra = s.openStream('uni')!;
  s.writeStream(extra, new Uint8Array([1, 2, 3]));
  wire.run(() => s.phase !== 'established');
  expect(closeOf(client)).toMatchObject({ errorCode: TransportErrorCode.STREAM_LIMIT_ERROR, initiator: 'local' });
  expect(closeOf(s)).toMatchObject({ errorCode: TransportErrorCode.STREAM_LIMIT_ERROR, initiator: 'remote' });
});

const cases: { name: string; frames: Uint8Array; code: number; frameType?: number }[] = [
  { name: 'HANDSHAKE_DONE from a client', frames: encodeFrames([{ type: 'handshake_done' }]), code: TransportErrorCode.PROTOCOL_VIOLATION, frameType: 0x1e },
  { name: 'NEW_TOKEN from a client', frames: encodeFrames([{ type: 'new_token', token: fromHex('abcd') }]), code: TransportErrorCode.PROTOCOL_VIOLATION, frameType: 0x07 },
  { name: 'an unknown frame type', frames: fromHex('4040'), code: TransportErrorCode.FRAME_ENCODING_ERROR },
  { name: 'a truncated STREAM frame', frames: fromHex('0a0005aa'), code: TransportErrorCode.FRAME_ENCODING_ERROR },
  { name: 'STREAM data on the server\'s unidirectional stream', frames: encodeFrames([{ type: 'stream', streamId: 3, offset: 0, data: fromHex('00'), fin: false }]), code: TransportErrorCode.STREAM_STATE_ERROR, frameType: 0x08 },
  { name: 'MAX_STREAM_DATA for a server stream not opened yet', frames: encodeFrames([{ type: 'max_stream_data', streamId: 3, maximum: 10 }]), code: TransportErrorCode.STREAM_STATE_ERROR },
  { name: 'RETIRE_CONNECTION_ID for a sequence never issued', frames: encodeFrames([{ type: 'retire_connection_id', sequence: 99 }]), code: TransportErrorCode.PROTOCOL_VIOLATION, frameType: 0x19 },
  { name: 'RESET_STREAM with a final size below received data', frames: encodeFrames([{ type: 'stream', streamId: 0, offset: 0, data: new Uint8Array(10), fin: false }, { type: 'reset_stream', streamId: 0, errorCode: 1, finalSize: 5 }]), code: TransportErrorCode.FINAL_SIZE_ERROR },
  { name: 'an ACK of a packet never sent', frames: encodeFrames([{ type: 'ack', ranges: [{ smallest: 0, largest: 5000 }], ackDelay: 0 }]), code: TransportErrorCode.PROTOCOL_VIOLATION },
  { name: 'NEW_CONNECTION_ID with retire_prior_to above its sequence', frames: encodeFrames([{ type: 'new_connection_id', sequence: 1, retirePriorTo: 2, connectionId: fromHex('0102030405060708'), resetToken: new Uint8Array(16) } as Frame]), code: TransportErrorCode.FRAME_ENCODING_ERROR },
];

for (const c of cases) {
  test(`server answers ${c.name} with ${c.code === TransportErrorCode.PROTOCOL_VIOLATION ? 'PROTOCOL_VIOLATION' : c.code === TransportErrorCode.FRAME_ENCODING_ERROR ? 'FRAME_ENCODING_ERROR' : c.code === TransportErrorCode.STREAM_STATE_ERROR ? 'STREAM_STATE_ERROR' : 'FINAL_SIZE_ERROR'}`, () => {
    const { client, server, wire, serverConn } = connectedPair();
    server.receiveDatagram(forge1Rtt(client, c.frames), CLIENT_ADDR, wire.now, SERVER_ADDR);
    const s = serverConn();
    expect(s.phase).toBe('closing');
    expect(s.closeInfo).toMatchObject({ errorCode: c.code, initiator: 'local', kind: 'transport' });
    if (c.frameType !== undefined) expect(s.closeInfo!.frameType).toBe(c.frameType);
    wire.run(() => client.phase === 'draining' || client.phase === 'closed');
    expect(client.closeInfo).toMatchObject({ errorCode: c.code, initiator: 'remote' });
    drainEvents(client);
  });
}

test('garbage datagrams never throw and never close the connection', () => {
  const { client, server, wire, serverConn } = connectedPair();
  const junk = [new Uint8Array(0), fromHex('00'), fromHex('40'), new Uint8Array(1200).fill(0xff), fromHex('c000000001ff'), new Uint8Array(50).fill(0x41)];
  for (const j of junk) {
    expect(() => server.receiveDatagram(j, CLIENT_ADDR, wire.now, SERVER_ADDR)).not.toThrow();
    expect(() => client.receiveDatagram(j, SERVER_ADDR, wire.now)).not.toThrow();
  }
  expect(serverConn().phase).toBe('established');
  expect(client.phase).toBe('established');
});
