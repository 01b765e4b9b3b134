// RFC 9001 Appendix A and RFC 9369 Appendix A, byte for byte, against every crypto backend.
import { test, expect } from '@playwright/test';
import { CRYPTO_BACKENDS, cryptoProvider } from '../engine/crypto/index.js';
import { hkdfExpandLabel } from '../engine/crypto/hkdf-label.js';
import { fromHex, hex } from '../engine/wire/bytes.js';
import { CIPHER_SUITES } from '../engine/tls/api.js';
import { initialKeys, initialSecrets, derivePacketKeys, nextGenerationKeys, nextGenerationSecret, packetNonce, protectPacket, removeHeaderProtection, unprotectPacket, openPayload, minPayloadForSample } from '../engine/quic/protection.js';
import { encodeLongHeader, encodeShortHeader, parsePacket, splitDatagram } from '../engine/quic/packet.js';
import { buildRetry, parseRetry, verifyRetry, retryIntegrityTag } from '../engine/quic/retry.js';
import { decodeFrames } from '../engine/quic/frames.js';
import { decodeTransportParameters } from '../engine/quic/transport-params.js';
import { peekQuicDatagram } from '../engine/wire/quic-peek.js';
import { CLIENT_DCID, CLIENT_CRYPTO_FRAME, SERVER_PAYLOAD, CHACHA_SECRET, V1, V2, type VersionVectors } from './quic-codec-vectors.js';

const dcid = fromHex(CLIENT_DCID);

for (const backend of CRYPTO_BACKENDS) {
  const crypto = cryptoProvider(backend);
  for (const [name, v] of [['v1 (RFC 9001)', V1], ['v2 (RFC 9369)', V2]] as [string, VersionVectors][]) {
    test.describe(`${name} Appendix A with the ${backend} backend`, () => {
      test('A.1 keys: initial secret, client and server secrets, key, iv, hp', () => {
        const s = initialSecrets(crypto, v.version, dcid);
        expect(hex(s.initial)).toBe(v.initialSecret);
        expect(hex(s.client)).toBe(v.client.secret);
        expect(hex(s.server)).toBe(v.server.secret);
        const k = initialKeys(crypto, v.version, dcid);
        for (const [side, keys] of [['client', k.client], ['server', k.server]] as const) {
          expect(hex(keys.key)).toBe(v[side].key);
          expect(hex(keys.iv)).toBe(v[side].iv);
          expect(hex(keys.hp)).toBe(v[side].hp);
        }
      });

      test('A.2 client Initial: protected byte for byte, then opened again', () => {
        const { client } = initialKeys(crypto, v.version, dcid);
        const header = fromHex(v.clientHeader);
        // Our own header encoder must produce the appendix's unprotected header.
        const built = encodeLongHeader({ type: 'initial', version: v.version, dcid, scid: new Uint8Array(0), token: new Uint8Array(0) }, 2, 4, 1162 + 16);
        expect(hex(built.header)).toBe(v.clientHeader);
        const payload = new Uint8Array(1162);
        payload.set(fromHex(CLIENT_CRYPTO_FRAME));
        const packet = protectPacket(client, header, built.pnOffset, 2, payload);
        expect(packet.length).toBe(1200);
        expect(hex(packet.subarray(built.pnOffset + 4, built.pnOffset + 20))).toBe(v.clientSample);
        expect(hex(client.headerProtection.mask(fromHex(v.clientSample)))).toBe(v.clientMask);
        expect(hex(packet.subarray(0, header.length))).toBe(v.clientProtectedHeader);
        expect(hex(packet)).toBe(v.clientPacket);

        // Receive side: the server parses, unprotects and decodes the appendix packet.
        const wire = fromHex(v.clientPacket);
        const h = parsePacket(wire, 0, 8);
        expect(h.kind).toBe('initial');
        expect(hex(h.dcid)).toBe(CLIENT_DCID);
        const opened = unprotectPacket(initialKeys(crypto, v.version, h.dcid).client, h.packet, h.pnOffset, -1);
        expect(opened).not.toBeNull();
        expect(opened!.pn).toBe(2);
        expect(hex(opened!.header)).toBe(v.clientHeader);
        const frames = decodeFrames(opened!.payload, 'initial');
        expect(frames.map((f) => f.type)).toEqual(['crypto', 'padding']);
        const crypto0 = frames[0]!;
        if (crypto0.type !== 'crypto') throw new Error('unreachable');
        expect(crypto0.offset).toBe(0);
        expect(crypto0.data.length).toBe(241);
        // The ClientHello's quic_transport_parameters extension (0x39) decodes as a client's parameters.
        const ch = crypto0.data;
        const at = hex(ch).indexOf('00390032');
        const tp = decodeTransportParameters(ch.subarray(at / 2 + 4, at / 2 + 4 + 0x32), 'client');
        expect(tp.initialMaxData).toBe(2 ** 62 - 1); // 'unlimited', held approximately above 2^53
        expect(tp.initialMaxStreamDataBidiLocal).toBe(65535);
        expect(tp.initialMaxStreamsBidi).toBe(16);
        expect(hex(tp.initialSourceConnectionId!)).toBe(CLIENT_DCID);
        expect(tp.maxIdleTimeout).toBe(30000);
      });

      test('A.3 server Initial: protected byte for byte, then opened again', () => {
        const { server } = initialKeys(crypto, v.version, dcid);
        const payload = fromHex(SERVER_PAYLOAD);
        const scid = fromHex('f067a5502a4262b5');
        const built = encodeLongHeader({ type: 'initial', version: v.version, dcid: new Uint8Array(0), scid }, 1, 2, payload.length + 16);
        expect(hex(built.header)).toBe(v.serverHeader);
        const packet = protectPacket(server, built.header, built.pnOffset, 1, payload);
        expect(hex(packet.subarray(built.pnOffset + 4, built.pnOffset + 20))).toBe(v.serverSample);
        expect(hex(packet.subarray(0, built.header.length))).toBe(v.serverProtectedHeader);
        expect(hex(packet)).toBe(v.serverPacket);

        const h = parsePacket(fromHex(v.serverPacket), 0, 0);
        const opened = unprotectPacket(server, h.packet, h.pnOffset, 0);
        expect(opened?.pn).toBe(1);
        expect(hex(opened!.payload)).toBe(SERVER_PAYLOAD);
        expect(decodeFrames(opened!.payload, 'initial').map((f) => f.type)).toEqual(['ack', 'crypto']);
      });

      test('A.4 Retry: integrity tag built and verified', () => {
        const token = new TextEncoder().encode('token');
        const retry = buildRetry(crypto, { version: v.version, dcid: new Uint8Array(0), scid: fromHex('f067a5502a4262b5'), token, originalDcid: dcid, unusedBits: 0x0f });
        expect(hex(retry)).toBe(v.retry);
        const parsed = parseRetry(fromHex(v.retry));
        expect(new TextDecoder().decode(parsed.token)).toBe('token');
        expect(hex(parsed.scid)).toBe('f067a5502a4262b5');
        expect(verifyRetry(crypto, fromHex(v.retry), dcid)).toBe(true);
        expect(hex(retryIntegrityTag(crypto, v.version, dcid, fromHex(v.retry).subarray(0, -16)))).toBe(hex(parsed.tag));
        // A different original DCID, or any flipped bit, fails verification without throwing.
        expect(verifyRetry(crypto, fromHex(v.retry), fromHex('0000000000000000'))).toBe(false);
        const tampered = fromHex(v.retry);
        tampered[10]! ^= 1;
        expect(verifyRetry(crypto, tampered, dcid)).toBe(false);
        expect(verifyRetry(crypto, new Uint8Array(3), dcid)).toBe(false);
        expect(parsePacket(fromHex(v.retry), 0, 0).kind).toBe('retry');
      });

      test('A.5 ChaCha20-Poly1305 short header packet', () => {
        const suite = CIPHER_SUITES.TLS_CHACHA20_POLY1305_SHA256;
        const secret = fromHex(CHACHA_SECRET);
        const keys = derivePacketKeys(crypto, suite, secret, v.version);
        expect(hex(keys.key)).toBe(v.chacha.key);
        expect(hex(keys.iv)).toBe(v.chacha.iv);
        expect(hex(keys.hp)).toBe(v.chacha.hp);
        expect(hex(nextGenerationSecret(crypto, suite, secret, v.version))).toBe(v.chacha.ku);
        const pn = 654360564;
        expect(hex(packetNonce(keys.iv, pn))).toBe(v.chacha.nonce);
        const built = encodeShortHeader({ dcid: new Uint8Array(0) }, pn % 2 ** 24, 3);
        expect(hex(built.header)).toBe(v.chacha.header);
        const packet = protectPacket(keys, built.header, built.pnOffset, pn, fromHex('01'));
        expect(hex(packet.subarray(built.header.length))).toBe(v.chacha.ciphertext);
        expect(hex(keys.headerProtection.mask(fromHex(v.chacha.sample)))).toBe(v.chacha.mask);
        expect(hex(packet)).toBe(v.chacha.packet);
        const opened = unprotectPacket(keys, fromHex(v.chacha.packet), 1, pn - 1);
        expect(opened?.pn).toBe(pn);
        expect(hex(opened!.payload)).toBe('01');
        expect(decodeFrames(opened!.payload, '1rtt')).toEqual([{ type: 'ping' }]);
      });
    });
  }

  test(`key update with the ${backend} backend: next keys keep hp, change key/iv, and old keys cannot open new packets`, () => {
    const suite = CIPHER_SUITES.TLS_AES_128_GCM_SHA256;
    const secret = fromHex('00'.repeat(16) + '11'.repeat(16));
    const k0 = derivePacketKeys(crypto, suite, secret, V1.version);
    const k1 = nextGenerationKeys(crypto, k0);
    expect(hex(k1.hp)).toBe(hex(k0.hp));
    expect(hex(k1.key)).not.toBe(hex(k0.key));
    expect(hex(k1.secret)).toBe(hex(hkdfExpandLabel(crypto, 'sha256', secret, 'quic ku', new Uint8Array(0), 32)));
    const { header, pnOffset } = encodeShortHeader({ dcid: fromHex('0102030405060708'), keyPhase: true }, 7, 1);
    const packet = protectPacket(k1, header, pnOffset, 7, new TextEncoder().encode('hello after key update'));
    // Header protection is generation-independent: remove it with the old keys, read the key phase, then open with new keys.
    const hdr = removeHeaderProtection(k0, packet, pnOffset, 6)!;
    expect(hdr.keyPhase).toBe(true);
    expect(hdr.reservedBits).toBe(0);
    expect(openPayload(k0, hdr, packet)).toBeNull();
    expect(new TextDecoder().decode(openPayload(k1, hdr, packet)!)).toBe('hello after key update');
  });

  test(`tampered and truncated packets open to null with the ${backend} backend`, () => {
    const { client } = initialKeys(crypto, V1.version, dcid);
    const wire = fromHex(V1.clientPacket);
    const h = parsePacket(wire, 0, 8);
    for (const i of [0, 5, 20, 100, wire.length - 1]) {
      const bad = wire.slice();
      bad[i]! ^= 0x40;
      expect(unprotectPacket(client, bad.subarray(0, h.packet.length), h.pnOffset, -1)).toBeNull();
    }
    expect(unprotectPacket(client, wire.subarray(0, h.pnOffset + 10), h.pnOffset, -1)).toBeNull();
    expect(unprotectPacket(client, wire.subarray(0, h.pnOffset + 4 + 16 + 2), h.pnOffset, -1)).toBeNull();
    expect(minPayloadForSample(1)).toBe(3);
    expect(minPayloadForSample(4)).toBe(0);
    expect(() => protectPacket(client, encodeShortHeader({ dcid }, 1, 1).header, 9, 1, new Uint8Array(2))).toThrow(RangeError);
  });
}

test('coalesced Initial + Handshake + 1-RTT packets split in order with exact boundaries', () => {
  const crypto = cryptoProvider('noble');
  const { server } = initialKeys(crypto, V1.version, dcid);
  const scid = fromHex('f067a5502a4262b5');
  const mk = (type: 'initial' | 'handshake', pn: number, body: Uint8Array) => {
    const { header, pnOffset } = encodeLongHeader({ type, version: V1.version, dcid: fromHex('aabb'), scid }, pn, 1, body.length + 16);
    return protectPacket(server, header, pnOffset, pn, body);
  };
  const a = mk('initial', 0, fromHex('01000000'));
  const b = mk('handshake', 1, fromHex('01000000'));
  const s = encodeShortHeader({ dcid: fromHex('aabb') }, 2, 1);
  const c = protectPacket(server, s.header, s.pnOffset, 2, fromHex('01000000'));
  const datagram = new Uint8Array([...a, ...b, ...c]);
  const { packets, error } = splitDatagram(datagram, 2);
  expect(error).toBeUndefined();
  expect(packets.map((p) => p.kind)).toEqual(['initial', 'handshake', '1rtt']);
  expect(packets.map((p) => p.packet.length)).toEqual([a.length, b.length, c.length]);
  expect(packets.map((p) => p.offset)).toEqual([0, a.length, a.length + b.length]);
  for (const p of packets) expect(unprotectPacket(server, p.packet, p.pnOffset, -1)).not.toBeNull();
  // A malformed second packet keeps the first and reports why the rest was dropped.
  const broken = new Uint8Array([...a, 0xe0, 0, 0, 0, 1, 30]);
  const r = splitDatagram(broken, 2);
  expect(r.packets.length).toBe(1);
  expect(r.error).toBeDefined();
  // Trailing zero padding after a long-header packet is ignored.
  expect(splitDatagram(new Uint8Array([...a, 0, 0, 0]), 2)).toEqual({ packets: [expect.objectContaining({ kind: 'initial' })] });
});

test('header peeking (engine/wire/quic-peek.ts) classifies the appendix packets of both versions without keys', () => {
  for (const v of [V1, V2]) {
    const client = peekQuicDatagram(fromHex(v.clientPacket));
    expect(client).toEqual([{ kind: 'initial', version: v.version, dcid: fromHex(CLIENT_DCID), scid: new Uint8Array(0), length: 1200 }]);
    const server = peekQuicDatagram(fromHex(v.serverPacket));
    expect(server.map((p) => [p.kind, hex(p.scid!), p.length])).toEqual([['initial', 'f067a5502a4262b5', fromHex(v.serverPacket).length]]);
    expect(peekQuicDatagram(fromHex(v.retry))[0]!.kind).toBe('retry');
    expect(peekQuicDatagram(fromHex(v.chacha.packet), 0)[0]!.kind).toBe('1rtt');
    // Truncated headers are unreadable, not an exception.
    expect(peekQuicDatagram(fromHex(v.clientPacket).subarray(0, 12))).toEqual([]);
  }
});
