import { test, expect } from '@playwright/test';
import { makePki } from './helpers/pki.js';
import { freeUdpPort, runCli, spawnPeer } from './helpers/proc.js';

test('connect quic:// to a server with an untrusted certificate fails naming the alert', async () => {
  const pki = makePki();
  const port = await freeUdpPort();
  const server = spawnPeer(process.execPath, ['bin/crosswire.js', 'serve', `quic://127.0.0.1:${port}`, '--cert', pki.leaf.untrusted.cert, '--key', pki.leaf.untrusted.key, '--echo']);
  try {
    await server.waitFor(/listening on/, 60_000);
    const r = await runCli(['connect', `quic://localhost:${port}`, '--ca', pki.ca], { input: 'x' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown_ca/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  } finally {
    await server.kill();
  }
});
