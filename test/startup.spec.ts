// What a command's start costs: `get` and `serve` on the node backend must not load the pure-JS curve and cipher
// packages (~50 ms of module set-up per process, issue 15 P3); the noble backend loads them when first called.
import { test, expect } from '@playwright/test';
import { spawnSync } from 'node:child_process';

function modulesOf(file: string): string[] {
  const r = spawnSync(process.execPath, ['test/fixtures/module-trace.mjs', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const { loaded, required } = JSON.parse(r.stdout) as { loaded: string[]; required: string[] };
  return [...loaded, ...required];
}

for (const command of ['get', 'serve', 'connect']) {
  test(`importing the ${command} command loads no @noble/curves curve and no @noble/ciphers module`, () => {
    const mods = modulesOf(`dist/interop/commands/${command}.js`);
    expect(mods.some((m) => m.includes('/dist/engine/quic/connection.js')), 'the trace sees the engine').toBe(true);
    const heavy = mods.filter((m) => /@noble\/(curves\/(nist|ed25519)|ciphers\/)/.test(m));
    expect(heavy).toEqual([]);
  });
}

test('the noble backend loads its packages on first use and works', () => {
  const script = `
    const { nobleCrypto } = await import('./dist/engine/crypto/noble.js');
    const random = (n) => new Uint8Array(n).fill(7);
    const a = nobleCrypto.ecdhGenerate('x25519', random), b = nobleCrypto.ecdhGenerate('secp256r1', random);
    const aead = nobleCrypto.aead('aes-128-gcm', new Uint8Array(16));
    const sealed = aead.seal(new Uint8Array(12), new Uint8Array([1, 2, 3]), new Uint8Array(0));
    process.stdout.write(JSON.stringify([a.publicKey.length, b.publicKey.length, sealed.length, aead.open(new Uint8Array(12), sealed, new Uint8Array(0))?.length]));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual([32, 65, 19, 3]);
});
