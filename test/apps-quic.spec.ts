import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import type { Address } from '../engine/endpoint.js';
import { QuicConnection } from '../engine/quic/connection.js';
import { QuicServer } from '../engine/quic/server.js';
import { QuicClientApp, QuicServerApp, withApp, type AppProtocol } from '../engine/apps/quic-app.js';
import { GeneratedFiles, generatedBytes } from '../engine/apps/generated-files.js';
import { simulate } from '../simulator/run.js';
import type { FileSource } from '../engine/apps/transport.js';
import { baseConfig } from './quic-conn-harness.js';

const SERVER: Address = { host: '10.0.0.2', port: 443 };


function download(protocol: AppProtocol, files: [string, number][], missing: string[] = [], wrap: (s: FileSource) => FileSource = (s) => s) {
  const clock = { now: 0 };
  const generated = new GeneratedFiles();
  for (const [p, s] of files) generated.add(p, s);
  const source = wrap(generated);
  const server = new QuicServer({ config: baseConfig('server', { tls: { ...baseConfig('server').tls, alpn: [protocol] } }) });
  const serverApp = new QuicServerApp(source, () => clock.now);
  const conn = new QuicConnection({ role: 'client', config: baseConfig('client', { tls: { ...baseConfig('client').tls, alpn: [protocol] } }), remote: SERVER, now: 0 });
  const accepted: QuicConnection[] = [];
  const hashes = new Map<string, ReturnType<typeof createHash>>();
  const results = new Map<string, { ok: boolean; detail?: string; bytes: number }>();
  const app = new QuicClientApp(
    conn,
    protocol,
    'localhost',
    {
      onData: (p, c) => {
        (hashes.get(p) ?? hashes.set(p, createHash('sha256')).get(p)!).update(c);
        const r = results.get(p) ?? { ok: false, bytes: 0 };
        r.bytes += c.length;
        results.set(p, r);
      },
      onComplete: (p, ok, detail) => results.set(p, { ...(results.get(p) ?? { bytes: 0 }), ok, detail }),
    },
    () => clock.now,
  );
  for (const [p] of files) app.request(p);
  for (const p of missing) app.request(p);
  const sim = simulate(
    withApp(conn, () => app.poll(), clock),
    withApp(server, () => {
      for (let c = server.accept(); c; c = server.accept()) accepted.push(c);
      serverApp.poll(server.connections);
    }, clock),
    {},
    1,
    { protocol: 'quic', until: () => app.idle && app.handshakeDone, maxSimulatedMs: 120_000 },
  );
  return { sim, results, hashes, app, conn, accepted };
}

for (const protocol of ['hq-interop', 'h3'] as const) {
  test(`${protocol}: files download byte-identical through the simulator`, () => {
    const files: [string, number][] = [['/small', 1024], ['/empty', 0], ['/one-mib', 1 << 20]];
    const { sim, results, hashes, app } = download(protocol, files);
    expect(sim.outcome, sim.reason).toBe('stopped');
    expect(app.failed, JSON.stringify([...results])).toBe(0);
    for (const [p, size] of files) {
      const r = results.get(p);
      expect(r?.ok, `${p}: ${r?.detail}`).toBe(true);
      expect(r?.bytes ?? 0).toBe(size);
      if (size) expect(hashes.get(p)!.digest('hex')).toBe(createHash('sha256').update(generatedBytes(p, 0, size)).digest('hex'));
    }
    // The client app keeps the connection-level events for its caller, not the per-packet stream events of the download.
    const kept = app.events.map((e) => e.type);
    expect(kept).toContain('handshake-complete');
    expect(kept).toContain('handshake-confirmed');
    expect(kept.filter((t) => t === 'stream-readable' || t === 'stream-writable' || t === 'stream-finished')).toEqual([]);
  });
}

test('h3: a missing file is a 404 that fails only that request', () => {
  const { sim, results, app } = download('h3', [['/exists', 5000]], ['/missing']);
  expect(sim.outcome, sim.reason).toBe('stopped');
  expect(results.get('/exists')?.ok).toBe(true);
  expect(results.get('/missing')).toMatchObject({ ok: false, detail: 'HTTP status 404' });
  expect(app.failed).toBe(1);
});

for (const [protocol, code] of [['h3', 0x102], ['hq-interop', 0x1]] as const) {
  test(`${protocol}: an exception in the server's application closes only that connection, with the stack kept`, () => {
    // A FileSource that fails mid-body, as a fractional file offset once made readSync throw in `crosswire serve`.
    const failing = (s: FileSource): FileSource => ({
      size: (p) => s.size(p),
      read: (p, offset, length) => {
        if (offset >= 65536) throw new RangeError(`position ${offset + 0.25} is not an integer`);
        return s.read(p, offset, length);
      },
    });
    const { sim, conn, accepted } = download(protocol, [['/big', 300_000]], [], failing);
    expect(sim.outcome).not.toBe('exception');
    expect(conn.closeInfo).toMatchObject({ kind: 'application', errorCode: code, initiator: 'remote' });
    expect(conn.closeInfo?.reason).toContain('internal error: position 65536.25 is not an integer');
    expect(accepted).toHaveLength(1);
    const errors = accepted.flatMap((c) => c.internalErrors);
    expect(errors.map((e) => e.message)).toEqual(['position 65536.25 is not an integer']);
  });
}
