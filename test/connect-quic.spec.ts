import { test, expect } from '@playwright/test';
import { makePki } from './helpers/pki.js';
import { freeUdpPort, runCli, spawnPeer } from './helpers/proc.js';

test.describe.configure({ timeout: 300_000 });

test('connect quic:// sends stdin on the default stream, concludes at EOF and prints the echo', async () => {
  const pki = makePki();
  const port = await freeUdpPort();
  const server = spawnPeer(process.execPath, ['bin/crosswire.js', 'serve', `quic://127.0.0.1:${port}`, '--cert', pki.leaf.ec.cert, '--key', pki.leaf.ec.key, '--echo']);
  try {
    await server.waitFor(/listening on/, 60_000);
    const input = 'hello over quic\n' + 'x'.repeat(100_000) + '\nbye\n';
    const r = await runCli(['connect', `quic://localhost:${port}`, '--ca', pki.ca, '-v'], { input });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe(input);
    expect(r.stderr).toContain('ALPN echo');
    expect(r.stderr).toContain('stream concluded');
  } finally {
    await server.kill();
  }
});

// The stall this guards against: stdin data written after the read loop had gone to wait for the network stayed in the
// send buffer (nothing flushed it) until the idle timeout, whenever the handshake's last packet came before stdin.
test('connect quic://: five sequential connections to one echo server, by name and by address, all echo byte-identically', async () => {
  const pki = makePki();
  const port = await freeUdpPort();
  const server = spawnPeer(process.execPath, ['bin/crosswire.js', 'serve', `quic://127.0.0.1:${port}`, '--cert', pki.leaf.ec.cert, '--key', pki.leaf.ec.key, '--echo', '-v']);
  try {
    await server.waitFor(/listening on/, 60_000);
    const hosts = ['localhost', '127.0.0.1', 'localhost', '127.0.0.1', 'localhost'];
    for (const [i, host] of hosts.entries()) {
      const input = `connection ${i} via ${host}\n` + String(i).repeat(20_000) + '\n';
      const r = await runCli(['connect', `quic://${host}:${port}`, '--ca', pki.ca, '--servername', 'localhost'], { input });
      expect(r.code, `connection ${i} via ${host}: ${r.stderr}`).toBe(0);
      expect(r.stdout.toString(), `connection ${i} via ${host}`).toBe(input);
    }
    // Each connection closed cleanly on the server side too (no idle timeouts left behind).
    const closedCleanly = () => server.stderr().match(/closing: peer closed the connection: application error 0x0/g)?.length ?? 0;
    await expect.poll(closedCleanly, { timeout: 30_000 }).toBe(hosts.length);
    expect(server.stderr()).not.toContain('idle timeout');
  } finally {
    await server.kill();
  }
});

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

test('connect quic:// to a port where nothing listens exits 1 at once with one line (ICMP port unreachable)', async () => {
  const port = await freeUdpPort();
  const r = await runCli(['connect', `quic://127.0.0.1:${port}`, '--insecure'], { input: 'x' });
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe(`crosswire: nothing listens on udp 127.0.0.1:${port} (ICMP port unreachable)`);
});
