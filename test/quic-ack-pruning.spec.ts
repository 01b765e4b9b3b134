// RFC 9000 §13.2.4: once the peer has acknowledged a packet carrying our ACK, its ranges are not repeated. The receiving
// side of a transfer sends only ACKs, which nobody acknowledges, so it asks for one with a PING now and then.
import { test, expect } from '@playwright/test';
import { connectedPair } from './quic-conn-harness.js';

function upload(dropUntil: number) {
  const { client, wire, serverConn } = connectedPair();
  const id = client.openStream('bidi')!;
  const total = 3_000_000;
  const chunk = new Uint8Array(32 * 1024);
  let written = 0;
  let received = 0;
  let peakRanges = 0;
  // Every 40th client datagram is lost early in the upload: each loss leaves a gap in the server's packet numbers.
  wire.toServer = (i) => (i > 0 && i < dropUntil && i % 40 === 0 ? 'drop' : 'deliver');
  const done = wire.run(() => {
    while (written < total) {
      const n = Math.min(chunk.length, total - written);
      const took = client.writeStream(id, chunk.subarray(0, n), written + n === total);
      if (took === 0) break;
      written += took;
    }
    const s = serverConn();
    for (let r = s.readStream(id, 1 << 20, wire.now); r.data.length; r = s.readStream(id, 1 << 20, wire.now)) received += r.data.length;
    peakRanges = Math.max(peakRanges, s.spaces.application.received.size);
    return received === total;
  }, 300_000);
  return { done, peakRanges, rangesAtEnd: serverConn().spaces.application.received.size, gaps: Math.floor((Math.min(dropUntil, wire.sent.toServer) - 1) / 40) };
}

test('the receiver of a transfer stops repeating ACK ranges the sender has seen (RFC 9000 §13.2.4)', () => {
  const r = upload(1000);
  expect(r.done).toBe(true);
  expect(r.gaps).toBeGreaterThanOrEqual(20);
  // Without pruning every gap stays reported until the transfer ends (up to MAX_ACK_RANGES = 32).
  expect(r.peakRanges).toBeLessThan(8);
  expect(r.rangesAtEnd).toBeLessThanOrEqual(2);
});
