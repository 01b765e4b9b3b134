import { test, expect } from '@playwright/test';
import { pair, drainEvents } from './quic-conn-harness.js';
import { utf8 } from '../engine/wire/bytes.js';

test('client and server complete a QUIC v1 handshake in memory and exchange stream data both ways', () => {
  const { client, wire, serverConn } = pair();
  expect(wire.run(() => client.handshakeConfirmed && !!serverConn()?.handshakeConfirmed)).toBe(true);
  const ev = drainEvents(client);
  expect(ev.find((e) => e.type === 'handshake-complete')).toMatchObject({ alpn: 'hq-interop', resumed: false, version: 1 });
  const sid = client.openStream('bidi')!;
  expect(sid).toBe(0);
  client.writeStream(sid, utf8.encode('GET /index.html\r\n'), true);
  const s = serverConn()!;
  let got = '';
  let fin = false;
  wire.run(() => {
    const r = s.readStream(0, 1 << 16, wire.now);
    got += utf8.decode(r.data);
    fin ||= r.fin;
    return fin;
  });
  expect(got).toBe('GET /index.html\r\n');
  s.writeStream(0, new Uint8Array(100_000).fill(0x61), true);
  let n = 0;
  let cfin = false;
  wire.run(() => {
    const r = client.readStream(0, 1 << 20, wire.now);
    n += r.data.length;
    cfin ||= r.fin;
    return cfin;
  });
  expect(n).toBe(100_000);
});
