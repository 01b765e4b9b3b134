// Frame, frame-table, transport-parameter, packet-number and header codecs: round trips, RFC examples, every validation error, seeded fuzz.
import { test, expect } from '@playwright/test';
import seedrandom from 'seedrandom';
import { fromHex, hex } from '../engine/wire/bytes.js';
import { Reader } from '../engine/wire/reader.js';
import { DecodeError } from '../engine/wire/reader.js';
import { TransportErrorCode, QuicError, cryptoErrorCode, transportErrorName } from '../engine/quic/errors.js';
import { decodeFrames, encodeFrames, frameSize, maxStreamDataFitting, maxCryptoDataFitting, streamFrameHeaderSize, cryptoFrameHeaderSize, type Frame } from '../engine/quic/frames.js';
import { FRAME_TABLE, frameAllowedIn, isAckEliciting, isInFlight, isProbingOnly } from '../engine/quic/frame-table.js';
import { DEFAULT_TRANSPORT_PARAMETERS, decodeTransportParameters, encodeTransportParameters, defaultTransportParameters, isGreaseParameterId, validateConnectionIdParameters, type TransportParameters } from '../engine/quic/transport-params.js';
import { ackDelayMs, encodeAckDelay } from '../engine/quic/frames.js';
import { peekQuicDatagram } from '../engine/wire/quic-peek.js';
import { cryptoProvider } from '../engine/crypto/index.js';
import { initialKeys, unprotectPacket, removeHeaderProtection, aeadLimits } from '../engine/quic/protection.js';
import { CIPHER_SUITES } from '../engine/tls/api.js';
import { decodePacketNumber, packetNumberLength, truncatePacketNumber } from '../engine/quic/packet-number.js';
import { parsePacket, peekDatagram, peekPacket, splitDatagram, encodeVersionNegotiation, parseVersionNegotiation, versionNegotiationFor, encodeLongHeader, longHeaderSize } from '../engine/quic/packet.js';
import { QUIC_V1, QUIC_V2, greaseVersion, isReservedVersion, longTypeBits, longTypeFromBits, versionParams } from '../engine/quic/version.js';
import { parseRetry } from '../engine/quic/retry.js';

const bytes = (n: number, fill = 0xab) => new Uint8Array(n).fill(fill);

const EVERY_FRAME: Frame[] = [
  { type: 'padding', length: 3 },
  { type: 'ping' },
  { type: 'ack', ranges: [{ smallest: 90, largest: 100 }, { smallest: 50, largest: 80 }, { smallest: 0, largest: 10 }], ackDelay: 1234 },
  { type: 'ack', ranges: [{ smallest: 7, largest: 7 }], ackDelay: 0, ecn: { ect0: 5, ect1: 0, ce: 2 } },
  { type: 'reset_stream', streamId: 4, errorCode: 0x1234, finalSize: 100000 },
  { type: 'stop_sending', streamId: 8, errorCode: 7 },
  { type: 'crypto', offset: 1000, data: bytes(10) },
  { type: 'new_token', token: bytes(32) },
  { type: 'stream', streamId: 0, offset: 0, data: bytes(5), fin: false, explicitLength: true },
  { type: 'stream', streamId: 1234567, offset: 99999, data: bytes(70), fin: true, explicitLength: true },
  { type: 'max_data', maximum: 2 ** 40 },
  { type: 'max_stream_data', streamId: 3, maximum: 65536 },
  { type: 'max_streams', bidi: true, maximum: 100 },
  { type: 'max_streams', bidi: false, maximum: 2 ** 60 },
  { type: 'data_blocked', limit: 5000 },
  { type: 'stream_data_blocked', streamId: 2, limit: 6000 },
  { type: 'streams_blocked', bidi: true, limit: 10 },
  { type: 'streams_blocked', bidi: false, limit: 11 },
  { type: 'new_connection_id', sequence: 3, retirePriorTo: 1, connectionId: bytes(8, 1), resetToken: bytes(16, 2) },
  { type: 'retire_connection_id', sequence: 2 },
  { type: 'path_challenge', data: bytes(8, 3) },
  { type: 'path_response', data: bytes(8, 4) },
  { type: 'connection_close', application: false, errorCode: TransportErrorCode.PROTOCOL_VIOLATION, frameType: 0x08, reason: 'bad stream ✓' },
  { type: 'connection_close', application: true, errorCode: 42, frameType: 0, reason: '' },
  { type: 'handshake_done' },
  // A STREAM frame without Length must be last: it runs to the end of the payload.
  { type: 'stream', streamId: 4, offset: 10, data: bytes(20), fin: false, explicitLength: false },
];

function expectQuicError(fn: () => unknown, code: number): QuicError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QuicError);
    expect(transportErrorName((e as QuicError).code)).toBe(transportErrorName(code));
    return e as QuicError;
  }
  throw new Error('expected a QuicError');
}

test('every frame type round-trips through encode and decode, and frameSize matches', () => {
  const encoded = encodeFrames(EVERY_FRAME);
  expect(decodeFrames(encoded)).toEqual(EVERY_FRAME);
  for (const f of EVERY_FRAME) expect(encodeFrames([f]).length).toBe(frameSize(f));
});

test('frame wire images match RFC 9000 §19 layouts', () => {
  expect(hex(encodeFrames([{ type: 'ack', ranges: [{ smallest: 2, largest: 5 }, { smallest: 0, largest: 0 }], ackDelay: 3 }]))).toBe('02050301030000');
  expect(hex(encodeFrames([{ type: 'stream', streamId: 1, offset: 0, data: fromHex('aa'), fin: true }]))).toBe('0b0101aa');
  expect(hex(encodeFrames([{ type: 'stream', streamId: 1, offset: 2, data: fromHex('aa'), fin: false, explicitLength: false }]))).toBe('0c0102aa');
  expect(hex(encodeFrames([{ type: 'crypto', offset: 0, data: fromHex('bbcc') }]))).toBe('060002bbcc');
  expect(hex(encodeFrames([{ type: 'connection_close', application: false, errorCode: 0x10a, frameType: 6, reason: 'x' }]))).toBe('1c410a060178');
  expect(hex(encodeFrames([{ type: 'handshake_done' }]))).toBe('1e');
});

test('STREAM and CRYPTO header sizes let a packetizer fill a packet exactly', () => {
  for (const space of [3, 10, 64, 65, 66, 67, 1000, 1200, 16385, 16390]) {
    for (const [id, off] of [[0, 0], [4, 100], [1_000_000, 2 ** 31]] as const) {
      const n = maxStreamDataFitting(space, id, off);
      if (n > 0) {
        expect(streamFrameHeaderSize(id, off, n) + n).toBeLessThanOrEqual(space);
        expect(encodeFrames([{ type: 'stream', streamId: id, offset: off, data: new Uint8Array(n), fin: false }]).length).toBeLessThanOrEqual(space);
        // Maximal: one more byte would not fit.
        expect(streamFrameHeaderSize(id, off, n + 1) + n + 1).toBeGreaterThan(space);
      }
      const c = maxCryptoDataFitting(space, off);
      if (c > 0) {
        expect(cryptoFrameHeaderSize(off, c) + c).toBeLessThanOrEqual(space);
        expect(cryptoFrameHeaderSize(off, c + 1) + c + 1).toBeGreaterThan(space);
      }
    }
  }
  expect(maxStreamDataFitting(2, 0, 0)).toBe(0);
});

test('frame table follows RFC 9000 Table 3', () => {
  const allowed = (code: number) => (['initial', 'handshake', '0rtt', '1rtt'] as const).filter((k) => frameAllowedIn(code, k));
  expect(allowed(0x00)).toEqual(['initial', 'handshake', '0rtt', '1rtt']);
  expect(allowed(0x02)).toEqual(['initial', 'handshake', '1rtt']);
  expect(allowed(0x06)).toEqual(['initial', 'handshake', '1rtt']);
  expect(allowed(0x07)).toEqual(['1rtt']);
  expect(allowed(0x08)).toEqual(['0rtt', '1rtt']);
  expect(allowed(0x1b)).toEqual(['1rtt']);
  expect(allowed(0x1c)).toEqual(['initial', 'handshake', '0rtt', '1rtt']);
  expect(allowed(0x1d)).toEqual(['0rtt', '1rtt']);
  expect(allowed(0x1e)).toEqual(['1rtt']);
  expect(allowed(0x40)).toEqual([]);
  expect(FRAME_TABLE.ack.ackEliciting).toBe(false);
  expect(FRAME_TABLE.ack.congestionControlled).toBe(false);
  expect(FRAME_TABLE.stream.flowControlled).toBe(true);
  expect(isAckEliciting([{ type: 'ack' }, { type: 'padding' }])).toBe(false);
  expect(isAckEliciting([{ type: 'ack' }, { type: 'ping' }])).toBe(true);
  expect(isInFlight([{ type: 'ack' }, { type: 'padding' }])).toBe(true);
  expect(isInFlight([{ type: 'ack' }, { type: 'connection_close' }])).toBe(false);
  expect(isProbingOnly([{ type: 'path_challenge' }, { type: 'padding' }])).toBe(true);
  expect(isProbingOnly([{ type: 'path_challenge' }, { type: 'ping' }])).toBe(false);
});

test('forbidden frames are PROTOCOL_VIOLATION, malformed and unknown ones FRAME_ENCODING_ERROR', () => {
  const PV = TransportErrorCode.PROTOCOL_VIOLATION;
  const FE = TransportErrorCode.FRAME_ENCODING_ERROR;
  expect(expectQuicError(() => decodeFrames(encodeFrames([{ type: 'stream', streamId: 0, offset: 0, data: bytes(1), fin: false }]), 'initial'), PV).frameType).toBe(0x0a);
  expectQuicError(() => decodeFrames(fromHex('1e'), 'handshake'), PV);
  expectQuicError(() => decodeFrames(fromHex('020000 0000'.replace(' ', '')), '0rtt'), PV);
  expectQuicError(() => decodeFrames(fromHex('1d0000'), 'initial'), PV);
  expect(decodeFrames(fromHex('1c000000'), 'initial')[0]!.type).toBe('connection_close');
  expectQuicError(() => decodeFrames(new Uint8Array(0)), PV);
  expectQuicError(() => decodeFrames(fromHex('4001')), PV); // PING with a two-byte type encoding
  expect(expectQuicError(() => decodeFrames(fromHex('21')), FE).frameType).toBe(0x21); // unknown type (0x1f is IMMEDIATE_ACK)
  expectQuicError(() => decodeFrames(fromHex('0205000600')), FE); // first range 6 > largest 5
  expectQuicError(() => decodeFrames(fromHex('020500010301 05'.replace(' ', ''))), FE); // gap leads below 0
  expectQuicError(() => decodeFrames(fromHex('0205')), FE); // truncated
  expectQuicError(() => decodeFrames(fromHex('0700')), FE); // empty NEW_TOKEN
  expectQuicError(() => decodeFrames(fromHex('12d000000000000001')), FE); // MAX_STREAMS 2^60 + 1
  expectQuicError(() => decodeFrames(fromHex('17d000000000000001')), FE);
  expectQuicError(() => decodeFrames(fromHex('18010200' + '00'.repeat(16))), FE); // zero-length CID
  expectQuicError(() => decodeFrames(fromHex('180102' + '08' + '11'.repeat(8) + '00'.repeat(16))), FE); // retire prior to > seq
  expectQuicError(() => decodeFrames(fromHex('0e00ffffffffffffffff01aa')), FE); // STREAM beyond 2^62 - 1
  expectQuicError(() => decodeFrames(fromHex('06ffffffffffffffff01aa')), FE); // CRYPTO beyond 2^62 - 1
  expectQuicError(() => decodeFrames(fromHex('1a0102')), FE); // short PATH_CHALLENGE
  expectQuicError(() => decodeFrames(fromHex('0a0005aabb')), FE); // STREAM length beyond payload
});

test('error codes: every RFC 9000 §20.1 transport error and CRYPTO_ERROR carry their numbers', () => {
  expect(Object.values(TransportErrorCode)).toEqual([...Array(0x12).keys()]);
  expect(cryptoErrorCode(40)).toBe(0x128);
  expect(transportErrorName(0x128)).toBe('CRYPTO_ERROR(0x28)');
  expect(transportErrorName(0x0a)).toBe('PROTOCOL_VIOLATION');
  const e = new QuicError(77, 'app said no', { application: true });
  expect(e.application).toBe(true);
  expect(e.message).toContain('application error 77');
});

function fullTp(): TransportParameters {
  return {
    ...defaultTransportParameters(),
    originalDestinationConnectionId: bytes(8, 1),
    maxIdleTimeout: 30000,
    statelessResetToken: bytes(16, 2),
    maxUdpPayloadSize: 1472,
    initialMaxData: 1 << 20,
    initialMaxStreamDataBidiLocal: 1 << 18,
    initialMaxStreamDataBidiRemote: 1 << 17,
    initialMaxStreamDataUni: 1 << 16,
    initialMaxStreamsBidi: 100,
    initialMaxStreamsUni: 3,
    ackDelayExponent: 8,
    maxAckDelay: 40,
    disableActiveMigration: true,
    preferredAddress: { ipv4: fromHex('7f000001'), ipv4Port: 4433, ipv6: bytes(16, 0), ipv6Port: 0, connectionId: bytes(4, 9), statelessResetToken: bytes(16, 5) },
    activeConnectionIdLimit: 4,
    initialSourceConnectionId: bytes(4, 7),
    retrySourceConnectionId: bytes(5, 8),
    versionInformation: { chosenVersion: QUIC_V1, availableVersions: [QUIC_V1, QUIC_V2] },
    maxDatagramFrameSize: 1200,
    unknown: [{ id: 0x4143, value: bytes(3) }],
  };
}

test('transport parameters: every parameter round-trips; absent ones take RFC 9000 §18.2 defaults; grease is ignored', () => {
  const tp = fullTp();
  expect(decodeTransportParameters(encodeTransportParameters(tp), 'server')).toEqual(tp);
  const def = decodeTransportParameters(new Uint8Array(0), 'client');
  expect(def.maxUdpPayloadSize).toBe(65527);
  expect(def.ackDelayExponent).toBe(3);
  expect(def.maxAckDelay).toBe(25);
  expect(def.activeConnectionIdLimit).toBe(2);
  expect(defaultTransportParameters()).toEqual({ ...DEFAULT_TRANSPORT_PARAMETERS, unknown: [] });
  // 8-byte varints: an integer value in that form, and a parameter id above 2^53 (kept as an unknown parameter).
  expect(decodeTransportParameters(fromHex('0408c000000000001000'), 'client').initialMaxData).toBe(4096);
  const bigId = decodeTransportParameters(fromHex('ffffffffffffffff0100'), 'client');
  expect(bigId.unknown).toHaveLength(1);
  expect(bigId.unknown[0]!.id).toBe(2 ** 62);
  let seed = 0;
  const rnd = (n: number) => new Uint8Array(n).map(() => (seed = (seed * 75 + 74) % 65537) & 0xff);
  const greased = decodeTransportParameters(encodeTransportParameters(defaultTransportParameters(), { grease: rnd }), 'client');
  expect(greased.unknown.length).toBe(1);
  expect(isGreaseParameterId(greased.unknown[0]!.id)).toBe(true);
});

test('transport parameter validation raises TRANSPORT_PARAMETER_ERROR', () => {
  const TPE = TransportErrorCode.TRANSPORT_PARAMETER_ERROR;
  const tp = fullTp();
  const enc = (patch: Partial<TransportParameters>) => encodeTransportParameters({ ...defaultTransportParameters(), ...patch });
  // Role: a client must not send the server-only parameters.
  for (const patch of [
    { originalDestinationConnectionId: bytes(8) },
    { statelessResetToken: bytes(16) },
    { preferredAddress: tp.preferredAddress },
    { retrySourceConnectionId: bytes(4) },
  ]) {
    expectQuicError(() => decodeTransportParameters(enc(patch), 'client'), TPE);
    expect(() => decodeTransportParameters(enc(patch), 'server')).not.toThrow();
  }
  expectQuicError(() => decodeTransportParameters(enc({ ackDelayExponent: 21 }), 'server'), TPE);
  expect(decodeTransportParameters(enc({ ackDelayExponent: 20 }), 'server').ackDelayExponent).toBe(20);
  expectQuicError(() => decodeTransportParameters(enc({ maxAckDelay: 2 ** 14 }), 'server'), TPE);
  expectQuicError(() => decodeTransportParameters(enc({ activeConnectionIdLimit: 1 }), 'server'), TPE);
  expectQuicError(() => decodeTransportParameters(enc({ maxUdpPayloadSize: 1199 }), 'server'), TPE);
  expectQuicError(() => decodeTransportParameters(fromHex('0808d000000000000001'), 'server'), TPE);
  expectQuicError(() => decodeTransportParameters(fromHex('0908e000000000000000'), 'server'), TPE);
  expectQuicError(() => decodeTransportParameters(fromHex('0104800075300104 80007530'.replace(' ', '')), 'server'), TPE); // duplicate
  expectQuicError(() => decodeTransportParameters(fromHex('020401020304'), 'server'), TPE); // short reset token
  expectQuicError(() => decodeTransportParameters(fromHex('0c0100'), 'server'), TPE); // non-empty disable_active_migration
  expectQuicError(() => decodeTransportParameters(fromHex('01024000ff'), 'server'), TPE); // trailing bytes in an integer
  expectQuicError(() => decodeTransportParameters(fromHex('0105'), 'server'), TPE); // truncated
  expectQuicError(() => decodeTransportParameters(fromHex('0f15' + '00'.repeat(21)), 'server'), TPE); // CID > 20
  expectQuicError(() => decodeTransportParameters(fromHex('110400000000'), 'server'), TPE); // chosen version 0
  expectQuicError(() => decodeTransportParameters(fromHex('110300000001'.slice(0, 10)), 'server'), TPE); // not a multiple of 4
  const zeroCidPa = enc({ preferredAddress: { ...tp.preferredAddress!, connectionId: new Uint8Array(0) } });
  expectQuicError(() => decodeTransportParameters(zeroCidPa, 'server'), TPE);
});

test('handshake connection IDs are authenticated through transport parameters (RFC 9000 §7.3)', () => {
  const TPE = TransportErrorCode.TRANSPORT_PARAMETER_ERROR;
  const odcid = bytes(8, 1);
  const serverScid = bytes(8, 2);
  const retryScid = bytes(8, 3);
  const server = { ...defaultTransportParameters(), originalDestinationConnectionId: odcid, initialSourceConnectionId: serverScid };
  expect(() => validateConnectionIdParameters(server, 'server', { initialSourceConnectionId: serverScid, originalDestinationConnectionId: odcid })).not.toThrow();
  expectQuicError(() => validateConnectionIdParameters(server, 'server', { initialSourceConnectionId: bytes(8, 9), originalDestinationConnectionId: odcid }), TPE);
  expectQuicError(() => validateConnectionIdParameters(server, 'server', { initialSourceConnectionId: serverScid, originalDestinationConnectionId: bytes(8, 9) }), TPE);
  expectQuicError(() => validateConnectionIdParameters({ ...server, originalDestinationConnectionId: undefined }, 'server', { initialSourceConnectionId: serverScid }), TPE);
  // After a Retry the server must echo the Retry's SCID; without one it must not send retry_source_connection_id.
  expectQuicError(() => validateConnectionIdParameters(server, 'server', { initialSourceConnectionId: serverScid, retrySourceConnectionId: retryScid }), TPE);
  expect(() => validateConnectionIdParameters({ ...server, retrySourceConnectionId: retryScid }, 'server', { initialSourceConnectionId: serverScid, retrySourceConnectionId: retryScid })).not.toThrow();
  expectQuicError(() => validateConnectionIdParameters({ ...server, retrySourceConnectionId: retryScid }, 'server', { initialSourceConnectionId: serverScid }), TPE);
  expectQuicError(() => validateConnectionIdParameters(defaultTransportParameters(), 'client', { initialSourceConnectionId: bytes(0) }), TPE);
  // A zero-length CID is a valid CID and must still match.
  expect(() => validateConnectionIdParameters({ ...defaultTransportParameters(), initialSourceConnectionId: bytes(0) }, 'client', { initialSourceConnectionId: bytes(0) })).not.toThrow();
});

test('ACK delay scaling and AEAD usage limits', () => {
  expect(ackDelayMs(1000, 3)).toBe(8);
  expect(encodeAckDelay(8, 3)).toBe(1000);
  expect(ackDelayMs(encodeAckDelay(25, 0), 0)).toBe(25);
  expect(aeadLimits(CIPHER_SUITES.TLS_AES_128_GCM_SHA256)).toEqual({ confidentiality: 2 ** 23, integrity: 2 ** 52 });
  expect(aeadLimits(CIPHER_SUITES.TLS_CHACHA20_POLY1305_SHA256).integrity).toBe(2 ** 36);
});

test('packet number encoding and decoding: RFC 9000 Appendix A.2 and A.3 examples', () => {
  // A.2: largest acked 0xabe8b3; sending 0xac5c02 needs 2 bytes, 0xace8fe needs 3.
  expect(packetNumberLength(0xac5c02, 0xabe8b3)).toBe(2);
  expect(packetNumberLength(0xace8fe, 0xabe8b3)).toBe(3);
  expect(truncatePacketNumber(0xac5c02, 2)).toBe(0x5c02);
  // A.3: largest received 0xa82f30ea, 16-bit truncated 0x9b32 decodes to 0xa82f9b32.
  expect(decodePacketNumber(0xa82f30ea, 0x9b32, 16)).toBe(0xa82f9b32);
  expect(packetNumberLength(0, undefined)).toBe(1);
  expect(packetNumberLength(2 ** 31, 0)).toBe(4);
  // Window edges and wrap-around in both directions, and exactness above 2^32.
  expect(decodePacketNumber(-1, 0, 8)).toBe(0);
  expect(decodePacketNumber(255, 0, 8)).toBe(256);
  expect(decodePacketNumber(256, 0xff, 8)).toBe(255);
  expect(decodePacketNumber(2 ** 40 + 5, 3, 8)).toBe(2 ** 40 + 3);
  for (let full = 0; full < 5000; full += 37) {
    for (const acked of [undefined, Math.max(0, full - 100), full - 1]) {
      const len = packetNumberLength(full, acked === -1 ? undefined : acked);
      expect(decodePacketNumber(acked ?? -1, truncatePacketNumber(full, len), 8 * len)).toBe(full);
    }
  }
});

test('versions: v1/v2 type codes, labels, reserved-version greasing', () => {
  expect(longTypeBits(QUIC_V2, 'initial')).toBe(1);
  expect(longTypeBits(QUIC_V2, 'retry')).toBe(0);
  expect(longTypeFromBits(QUIC_V2, 3)).toBe('handshake');
  expect(longTypeFromBits(QUIC_V1, 3)).toBe('retry');
  expect(longTypeFromBits(0x12345678, 0)).toBeUndefined();
  expect(versionParams(QUIC_V2)!.labels.hp).toBe('quicv2 hp');
  expect(isReservedVersion(0x1a2a3a4a)).toBe(true);
  expect(isReservedVersion(QUIC_V1)).toBe(false);
  const rng = seedrandom('grease');
  for (let i = 0; i < 50; i++) expect(isReservedVersion(greaseVersion((n) => new Uint8Array(n).map(() => Math.floor(rng() * 256))))).toBe(true);
});

test('Version Negotiation: encode, parse, answer an unknown version with swapped CIDs and a greased entry', () => {
  const vn = encodeVersionNegotiation({ dcid: fromHex('0102'), scid: fromHex('030405'), versions: [QUIC_V1, QUIC_V2] }, 0x15);
  expect(hex(vn)).toBe('d50000000002010203030405000000016b3343cf');
  expect(parseVersionNegotiation(vn)).toEqual({ dcid: fromHex('0102'), scid: fromHex('030405'), versions: [QUIC_V1, QUIC_V2] });
  expect(peekPacket(vn)?.kind).toBe('version-negotiation');
  // A client Initial of an unknown version: the server reads its CIDs through the invariants and answers.
  const unknown = fromHex('c0' + '1a2a3a4a' + '04aabbccdd' + '02eeff' + '00'.repeat(1180));
  const h = parsePacket(unknown, 0, 0);
  expect(h.kind).toBe('unsupported-version');
  const answer = parseVersionNegotiation(versionNegotiationFor(h, [QUIC_V1, QUIC_V2], (n) => new Uint8Array(n).fill(0x55)));
  expect(hex(answer.dcid)).toBe('eeff');
  expect(hex(answer.scid)).toBe('aabbccdd');
  expect(answer.versions.slice(0, 2)).toEqual([QUIC_V1, QUIC_V2]);
  expect(isReservedVersion(answer.versions[2]!)).toBe(true);
  expect(() => parseVersionNegotiation(fromHex('c000000000000001'))).toThrow(DecodeError);
});

test('header peeking reports kinds and CIDs of coalesced packets from unprotected bits', () => {
  const mk = (type: 'initial' | 'handshake' | '0rtt', version: number) => {
    const { header } = encodeLongHeader({ type, version, dcid: fromHex('1122'), scid: fromHex('33') }, 0, 1, 20);
    return new Uint8Array([...header, ...new Uint8Array(20)]);
  };
  for (const version of [QUIC_V1, QUIC_V2]) {
    const dg = new Uint8Array([...mk('initial', version), ...mk('0rtt', version), ...mk('handshake', version), 0x41, 0x11, 0x22, 9, 9, 9]);
    const kinds = peekDatagram(dg, 2);
    expect(kinds.map((k) => k.kind)).toEqual(['initial', '0rtt', 'handshake', '1rtt']);
    expect(hex(kinds[3]!.dcid!)).toBe('1122');
    expect(hex(kinds[0]!.dcid!)).toBe('1122');
    expect(splitDatagram(dg, 2).packets.map((p) => p.kind)).toEqual(['initial', '0rtt', 'handshake', '1rtt']);
  }
  expect(longHeaderSize({ type: 'initial', version: QUIC_V1, dcid: bytes(8), scid: bytes(0), token: bytes(0) }, 4, 1162 + 16)).toBe(22);
  expect(peekPacket(new Uint8Array(0))).toBeUndefined();
  expect(peekPacket(fromHex('c000000001ff'))).toBeUndefined();
  expect(parseRetry(fromHex('f0000000010000' + '00'.repeat(16))).token.length).toBe(0);
});

test('fuzz: thousands of seeded random inputs into every decoder raise only typed errors', () => {
  const rng = seedrandom('crosswire-quic-codec-fuzz');
  const randomBytes = (n: number) => new Uint8Array(n).map(() => Math.floor(rng() * 256));
  const valid = [encodeFrames(EVERY_FRAME), encodeTransportParameters(fullTp()), fromHex('c000000001088394c8f03e5157080000449e' + '00'.repeat(40))];
  const mutate = (b: Uint8Array) => {
    const c = b.slice(0, Math.floor(rng() * (b.length + 1)));
    for (let i = 0; i < 1 + Math.floor(rng() * 4); i++) if (c.length) c[Math.floor(rng() * c.length)] = Math.floor(rng() * 256);
    return c;
  };
  const keys = initialKeys(cryptoProvider('node'), QUIC_V1, fromHex('8394c8f03e515708')).client;
  let typed = 0;
  for (let i = 0; i < 3000; i++) {
    const input = i % 2 ? randomBytes(Math.floor(rng() * 64)) : mutate(valid[i % 3]!);
    const run = (fn: () => unknown, ok: (e: unknown) => boolean) => {
      try {
        fn();
      } catch (e) {
        if (!ok(e)) throw new Error(`untyped ${String(e)} for input ${hex(input)}`);
        typed++;
      }
    };
    const isQuic = (e: unknown) => e instanceof QuicError;
    const isDecode = (e: unknown) => e instanceof DecodeError;
    for (const kind of [undefined, 'initial', '0rtt', 'handshake', '1rtt'] as const) run(() => decodeFrames(input, kind), isQuic);
    run(() => decodeTransportParameters(input, i % 2 ? 'client' : 'server'), isQuic);
    run(() => parsePacket(input, 0, 8), isDecode);
    run(() => parseVersionNegotiation(input), isDecode);
    run(() => parseRetry(input), isDecode);
    splitDatagram(input, 8);
    peekDatagram(input, 8);
    peekQuicDatagram(input);
    // Header protection removal and AEAD open on garbage: null, never an exception.
    if (i % 4 === 0) {
      const pnOffset = 1 + (i % 20);
      if (unprotectPacket(keys, input, pnOffset, 5) !== null) throw new Error(`garbage opened: ${hex(input)}`);
      removeHeaderProtection(keys, input, pnOffset, -1);
    }
    const r = new Reader(input);
    run(() => r.varint(), isDecode);
  }
  expect(typed).toBeGreaterThan(1000);
});
