// Key update against real ngtcp2: gtlsserver 0.12.1 has no flag to initiate key updates itself, so our client
// initiates them (--key-update N packets) and ngtcp2 must follow (RFC 9001 §6).
import { test, expect } from '@playwright/test';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { makePki } from './helpers/pki.js';
import { runCli } from './helpers/proc.js';
import { makeTestFiles, requireNgtcp2, sha256File, startGtlsServer, tempDir } from './helpers/ngtcp2.js';

test('crosswire get initiates key updates every 25 packets while downloading 5 MB from gtlsserver', async () => {
  test.setTimeout(300_000);
  requireNgtcp2();
  const pki = makePki();
  const files = makeTestFiles({ '5MB.bin': '5MB' });
  const server = await startGtlsServer({ key: pki.leaf.ec.key, cert: pki.leaf.ec.cert, root: files.dir });
  try {
    const out = join(tempDir(), '5MB.bin');
    const r = await runCli(['get', server.url('5MB.bin'), '--ca', pki.ca, '--key-update', '25', '--out', out, '-v'], { timeoutMs: 280_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/key update to generation 2 \(local\)/);
    expect(sha256File(out)).toBe(files.sha256('5MB.bin'));
  } finally {
    await server.stop();
    rmSync(files.dir, { recursive: true, force: true });
  }
});
