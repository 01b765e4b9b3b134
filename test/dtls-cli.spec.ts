import { test, expect } from '@playwright/test';
import { freeUdpPort, runCli, spawnPeer } from './helpers/proc.js';
import { makePki } from './helpers/pki.js';

// The built CLI (npm run build → dist/): serve dtls:// with --echo, connect dtls:// piping stdin lines.
test('crosswire serve dtls:// --echo ↔ crosswire connect dtls://: each stdin line comes back, exit 0 on stdin EOF', async () => {
  const pki = makePki();
  const port = await freeUdpPort();
  const server = spawnPeer(process.execPath, ['bin/crosswire.js', 'serve', `dtls://127.0.0.1:${port}`, '--cert', pki.leaf.rsa.cert, '--key', pki.leaf.rsa.key, '--echo']);
  try {
    await server.waitFor(new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
    const r = await runCli(['connect', `dtls://127.0.0.1:${port}`, '--ca', pki.ca, '-v'], { input: 'one\ntwo\n' });
    expect(r.stderr).toContain('HelloVerifyRequest');
    expect(r.code).toBe(0);
    // After stdin EOF we keep reading until the server's close_notify, so both echoes arrive first.
    expect(r.stdout.toString()).toBe('one\ntwo\n');
  } finally {
    await server.kill();
  }
});

test('crosswire connect dtls:// to an untrusted server fails with exit 1 and a one-line alert reason', async () => {
  const pki = makePki();
  const port = await freeUdpPort();
  const server = spawnPeer(process.execPath, ['bin/crosswire.js', 'serve', `dtls://127.0.0.1:${port}`, '--cert', pki.leaf.untrusted.cert, '--key', pki.leaf.untrusted.key, '--echo']);
  try {
    await server.waitFor(/listening on/);
    const r = await runCli(['connect', `dtls://127.0.0.1:${port}`, '--ca', pki.ca], { input: 'x\n' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/DTLS failed: sent alert unknown_ca/);
  } finally {
    await server.kill();
  }
});

test('crosswire connect dtls:// with an unreadable --ca is a usage error (exit 2)', async () => {
  const r = await runCli(['connect', 'dtls://127.0.0.1:9', '--ca', '/nonexistent/ca.pem'], { input: '' });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('/nonexistent/ca.pem');
});
