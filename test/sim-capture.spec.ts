import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concat, fromHex, hex } from '../engine/wire/bytes.js';
import { requireBinary } from './helpers/proc.js';
import { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS } from '../simulator/run.js';
import { ScriptedEndpoint } from '../simulator/testing/fake-endpoints.js';
import { initialHeader, initialSecrets, packetKeys, protect, shortHeader } from '../simulator/testing/quic-protect.js';
import { KeyLog, parseKeyLog } from '../simulator/capture/keylog.js';
import { writePcapng, ipv4Udp } from '../simulator/capture/pcapng.js';
import { classify } from '../simulator/classify.js';

// RFC 9001 Appendix A: the client's first DCID, its ClientHello (A.2) and the server's ACK + ServerHello (A.3).
const DCID = fromHex('8394c8f03e515708');
const SERVER_SCID = fromHex('f067a5502a4262b5');
const CLIENT_RANDOM = fromHex('ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c');
const CLIENT_CRYPTO = fromHex(
  '060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578' +
    '616d706c652e636f6dff01000100000a00080006001d0017001800100007000504616c706e000500050100000000003300260024001d00209370b2c9caa47fba' +
    'baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b0003020304000d0010000e0403050306030203080408050806002d00020101001c0002400100' +
    '3900320408ffffffffffffffff05048000ffff07048000ffff0801100104800075300901100f088394c8f03e51570806048000ffff',
);
const SERVER_PAYLOAD = fromHex(
  '02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf73988cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94' +
    '0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00020304',
);

function clientInitial(): Uint8Array {
  const payload = new Uint8Array(1162);
  payload.set(CLIENT_CRYPTO);
  const keys = packetKeys(initialSecrets(DCID).client);
  return protect(keys, initialHeader(DCID, new Uint8Array(0), 2, 4, payload.length), 4, 2, payload);
}

function serverInitial(): Uint8Array {
  const keys = packetKeys(initialSecrets(DCID).server);
  return protect(keys, initialHeader(new Uint8Array(0), SERVER_SCID, 1, 2, SERVER_PAYLOAD.length), 2, 1, SERVER_PAYLOAD);
}

/** A client 1-RTT packet: PING, then a STREAM frame (type 0x0a: LEN bit) on stream 0, protected with `secret`. */
function client1Rtt(secret: Uint8Array, pn: number): Uint8Array {
  const data = new TextEncoder().encode('GET /index.html\r\n');
  const payload = concat(new Uint8Array([0x01, 0x0a, 0x00, data.length]), data, new Uint8Array(20));
  return protect(packetKeys(secret), shortHeader(SERVER_SCID, pn, 2), 2, pn, payload);
}

test('QUIC protection helper reproduces RFC 9001 A.2 and A.3 wire bytes', () => {
  const c = clientInitial();
  expect(c.length).toBe(1200);
  expect(hex(c.subarray(0, 32))).toBe('c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11');
  expect(hex(c.subarray(1184))).toBe('e221af44860018ab0856972e194cd934');
  const s = serverInitial();
  expect(hex(s)).toBe(
    'cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3' +
      'dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4' +
      '2158407dd074ee',
  );
});

test('synthetic IPv4/UDP headers carry valid checksums', () => {
  const pkt = ipv4Udp({ host: '10.0.0.1', port: 50000 }, { host: '10.0.0.2', port: 443 }, new Uint8Array([1, 2, 3]));
  const sum = (b: Uint8Array) => {
    let s = 0;
    for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };
  expect(sum(pkt.subarray(0, 20))).toBe(0xffff);
  const pseudo = concat(pkt.subarray(12, 20), new Uint8Array([0, 17, 0, 11]));
  expect(sum(concat(pseudo, pkt.subarray(20)))).toBe(0xffff);
});

test('key log text round-trips', () => {
  const log = new KeyLog();
  log.add('CLIENT_TRAFFIC_SECRET_0', CLIENT_RANDOM, new Uint8Array(32).fill(0x11));
  expect(log.toString()).toBe(`CLIENT_TRAFFIC_SECRET_0 ${hex(CLIENT_RANDOM)} ${'11'.repeat(32)}\n`);
  expect(parseKeyLog('# comment\n' + log.toString() + 'garbage line\n')).toHaveLength(1);
  expect(() => log.add('bad label', CLIENT_RANDOM, CLIENT_RANDOM)).toThrow();
});

test('pcapng of a simulated run: tshark decrypts Initials and, with the embedded secrets, 1-RTT; drops are annotated', () => {
  const tshark = requireBinary('/usr/bin/tshark', 'apt-get install -y tshark');
  const secret = new Uint8Array(32).fill(0x11);
  const client = new ScriptedEndpoint([{ at: 0, data: clientInitial() }, { at: 50, data: client1Rtt(secret, 0) }, { at: 51, data: client1Rtt(secret, 1) }], DEFAULT_SERVER_ADDRESS);
  const server = new ScriptedEndpoint([], DEFAULT_CLIENT_ADDRESS, (d) => (classify(d).kind === 'initial' ? [serverInitial()] : undefined));
  const r = simulate(client, server, { 'to-server': [{ droplist: { indices: [3] } }] }, 'capture', { protocol: 'quic', capture: true });
  const log = new KeyLog();
  log.add('CLIENT_TRAFFIC_SECRET_0', CLIENT_RANDOM, secret);
  // Wireshark sets up both directions of 1-RTT at once, so it needs the server's secret as well.
  log.add('SERVER_TRAFFIC_SECRET_0', CLIENT_RANDOM, new Uint8Array(32).fill(0x22));
  const file = join(mkdtempSync(join(tmpdir(), 'crosswire-sim-')), 'run.pcapng');
  writeFileSync(file, writePcapng(r.capture!.datagrams, { keylog: log.toString() }));

  const out = execFileSync(tshark, ['-r', file, '-Y', 'quic.frame_type', '-T', 'fields', '-E', 'separator=|', '-e', 'frame.number', '-e', 'ip.src', '-e', 'udp.dstport', '-e', 'quic.frame_type', '-e', 'frame.comment'], { encoding: 'utf8' });
  const rows = out.trim().split('\n').map((l) => l.split('|'));
  // Capture order is send order: client Initial (t=0), server Initial (t≈15), the two 1-RTT packets.
  expect(rows.map((r) => r[0])).toEqual(['1', '2', '3', '4']);
  expect(rows[0]![1]).toBe('10.0.0.1');
  expect(rows[0]![2]).toBe('443');
  expect(rows[0]![3]!.split(',')).toContain('6'); // CRYPTO
  expect(rows[1]![3]!.split(',')).toEqual(expect.arrayContaining(['2', '6'])); // ACK, CRYPTO
  expect(rows[2]![3]!.split(',')).toEqual(expect.arrayContaining(['1', '10'])); // PING, STREAM — decrypted with the DSB's secret
  expect(rows[3]![4]).toBe('dropped by droplist');
  // Without the Decryption Secrets Block the 1-RTT packets stay opaque.
  const bare = file.replace('.pcapng', '-bare.pcapng');
  writeFileSync(bare, writePcapng(r.capture!.datagrams));
  const bareOut = execFileSync(tshark, ['-r', bare, '-Y', 'quic.frame_type', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  expect(bareOut.trim().split('\n')).toEqual(['1', '2']);
});
