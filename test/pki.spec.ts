import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { makePki } from './helpers/pki.js';

test('the test PKI verifies with openssl: good leaves pass, expired and untrusted fail', () => {
  const pki = makePki();
  const verify = (cert: string, extra: string[] = []) => {
    try {
      execFileSync('openssl', ['verify', '-CAfile', pki.ca, ...extra, cert], { stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  };
  for (const k of ['ec', 'p384', 'rsa', 'ed25519', 'client'] as const) expect(verify(pki.leaf[k].cert), k).toBe(true);
  expect(verify(pki.leaf.chain.cert.replace('chain.pem', 'chain-leaf.pem'), ['-untrusted', pki.leaf.chain.cert])).toBe(true);
  expect(verify(pki.leaf.expired.cert)).toBe(false);
  expect(verify(pki.leaf.untrusted.cert)).toBe(false);
});
