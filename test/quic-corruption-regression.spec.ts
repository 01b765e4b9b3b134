// Regressions found by `crosswire fuzz scenarios/quic/handshakecorruption.yaml`: a bit flipped on the path is a dropped
// packet, never a connection error (RFC 9000 §12.2, §17.2.2: header fields are only trusted once the packet authenticates).
import { test, expect } from '@playwright/test';
import { loadScenario } from '../interop/scenario/load.js';
import { runScenario } from '../interop/runner/run.js';
import { splitDatagram } from '../engine/quic/packet.js';
import { drainEvents, pair } from './quic-conn-harness.js';

/** Offset of the Token Length field in a long-header Initial: flags, version, DCID length + DCID, SCID length + SCID. */
function tokenLengthOffset(d: Uint8Array): number {
  const dcidLen = d[5]!;
  const scidLen = d[6 + dcidLen]!;
  return 7 + dcidLen + scidLen;
}

test('a server Initial whose Token Length byte was corrupted is dropped, and the handshake completes on the resent flight', () => {
  const { client, wire, serverConn } = pair();
  let corrupted = 0;
  wire.toClient = (i, d) => {
    if (i !== 0) return 'deliver';
    const at = tokenLengthOffset(d.data);
    expect(d.data[at]).toBe(0); // servers send no token (RFC 9000 §17.2.2)
    // A length whose corrupted header still parses (the token then swallows the start of what follows), so the packet
    // reaches the connection rather than failing in the datagram splitter.
    for (let length = 1; length < 64; length++) {
      const out = d.data.slice();
      out[at] = length;
      const first = splitDatagram(out, 8).packets[0];
      if (first?.kind === 'initial' && first.token.length === length) {
        corrupted++;
        return out;
      }
    }
    throw new Error('no token length keeps the header parseable');
  };
  expect(wire.run(() => client.handshakeConfirmed && !!serverConn()?.handshakeConfirmed, 10_000)).toBe(true);
  expect(corrupted).toBe(1);
  expect(client.closeInfo).toBeUndefined();
  expect(drainEvents(client).some((e) => e.type === 'closing')).toBe(false);
});

test('handshakecorruption seed 21 (connection 30 closed itself on a server Initial whose token length was hit): all 50 pass', () => {
  const r = runScenario(loadScenario('scenarios/quic/handshakecorruption.yaml'), { seed: 21 });
  expect(r.verdict, r.reason).toBe('passed');
});
