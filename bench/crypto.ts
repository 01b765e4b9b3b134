// Crypto backend benchmark: packet AEAD throughput (1200-byte QUIC packets) and header-protection mask rate for the
// noble and node backends, printed as ratios against noble measured in the same run (DESIGN.md §8: never asserted).
//
// Run: npm run build && node dist/bench/crypto.js [--ms 400] [--json]

import { createCipheriv, generateKeyPairSync } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { nodeCrypto } from '../engine/crypto/node.js';
import type { AeadName, CryptoProvider, HeaderProtectionName, PrivateKey, PublicKey, SignatureAlgorithm } from '../engine/crypto/provider.js';
import { seededRandom } from '../engine/crypto/random.js';
import { emitBench, type BenchMetric } from './emit.js';

const PACKET_BYTES = 1200;

/** Runs `op` in batches until `budgetMs` has passed; returns operations per second. */
function rate(op: () => void, budgetMs: number): number {
  // Warm-up lets the JIT settle; bounded in time too, since one RSA signature in JS can take milliseconds.
  const warmStart = performance.now();
  for (let i = 0; i < 200 && performance.now() - warmStart < budgetMs / 4; i++) op();
  let ops = 0;
  let batch = 1;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    for (let i = 0; i < batch; i++) op();
    ops += batch;
    elapsed = performance.now() - start;
    if (elapsed < budgetMs / 10) batch *= 2;
  }
  return (ops * 1000) / elapsed;
}

export interface AeadResult {
  aead: AeadName;
  direction: 'seal' | 'open';
  mbps: Record<'noble' | 'node', number>;
  ratio: number;
}

export interface MaskResult {
  scheme: string;
  masksPerSec: Record<string, number>;
}

function aeadRate(provider: CryptoProvider, name: AeadName, direction: 'seal' | 'open', budgetMs: number): number {
  const key = new Uint8Array(name === 'aes-128-gcm' ? 16 : 32).fill(0x42);
  const aead = provider.aead(name, key);
  const nonce = new Uint8Array(12);
  const header = new Uint8Array(20).fill(0xc3);
  const payload = new Uint8Array(PACKET_BYTES - header.length - 16).fill(0x17);
  const view = new DataView(nonce.buffer);
  let pn = 0;
  const sealed = aead.seal(nonce, payload, header);
  const op =
    direction === 'seal'
      ? () => {
          view.setUint32(8, pn++); // a fresh nonce per packet, as QUIC derives it from the packet number
          aead.seal(nonce, payload, header);
        }
      : () => {
          if (aead.open(nonce, sealed, header) === null) throw new Error('bench: open failed');
        };
  return (rate(op, budgetMs) * PACKET_BYTES) / 1e6;
}

export function benchAead(budgetMs = 400): AeadResult[] {
  const out: AeadResult[] = [];
  for (const aead of ['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'] as const) {
    for (const direction of ['seal', 'open'] as const) {
      const noble = aeadRate(nobleCrypto, aead, direction, budgetMs);
      const node = aeadRate(nodeCrypto, aead, direction, budgetMs);
      out.push({ aead, direction, mbps: { noble, node }, ratio: node / noble });
    }
  }
  return out;
}

/** Header protection: the two backends plus the node:crypto alternatives (the node backend keeps one ECB cipher per AES key). */
export function benchHeaderProtection(budgetMs = 400): MaskResult[] {
  const sample = new Uint8Array(16).map((_, i) => i * 13);
  const results: MaskResult[] = [];
  for (const scheme of ['aes-128', 'chacha20'] as HeaderProtectionName[]) {
    const key = new Uint8Array(scheme === 'aes-128' ? 16 : 32).fill(7);
    const masksPerSec: Record<string, number> = {};
    for (const provider of [nobleCrypto, nodeCrypto]) {
      const hp = provider.headerProtection(scheme, key);
      masksPerSec[provider.name] = rate(() => hp.mask(sample), budgetMs);
    }
    if (scheme === 'aes-128') {
      masksPerSec['node:crypto ecb, new cipher per mask'] = rate(() => {
        createCipheriv('aes-128-ecb', key, null).update(sample);
      }, budgetMs);
      // ECB has no chaining state, so one cipher object can encrypt sample after sample without final().
      const reused = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
      masksPerSec['node:crypto ecb, one reused cipher'] = rate(() => {
        reused.update(sample);
      }, budgetMs);
    }
    if (scheme === 'chacha20') {
      // OpenSSL's chacha20 IV is counter || nonce, i.e. the sample itself; a cipher object is needed per sample.
      const zeros = new Uint8Array(5);
      masksPerSec['node:crypto chacha20, new cipher per mask'] = rate(() => {
        createCipheriv('chacha20', key, sample).update(zeros);
      }, budgetMs);
    }
    results.push({ scheme, masksPerSec });
  }
  return results;
}

export interface HandshakeResult {
  operation: string;
  opsPerSec: Record<'noble' | 'node', number>;
}

const fromB64u = (s: string | undefined) => new Uint8Array(Buffer.from(s ?? '', 'base64url'));
const bigFromB64u = (s: string | undefined) => BigInt('0x' + (Buffer.from(s ?? '', 'base64url').toString('hex') || '0'));

/** Test keys from node:crypto, converted to the provider's key unions (the bench's only use of node:crypto keygen). */
function benchKeys(): { ec: [PrivateKey, PublicKey]; rsa: [PrivateKey, PublicKey]; ed: [PrivateKey, PublicKey] } {
  const ecJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const point = new Uint8Array([4, ...fromB64u(ecJwk.x), ...fromB64u(ecJwk.y)]);
  const edJwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const rsaJwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const n = bigFromB64u(rsaJwk.n);
  const e = bigFromB64u(rsaJwk.e);
  const spki = new Uint8Array(0); // both backends import from the parsed fields
  return {
    ec: [{ kind: 'ec', curve: 'secp256r1', d: fromB64u(ecJwk.d), publicPoint: point }, { kind: 'ec', curve: 'secp256r1', point, spki }],
    ed: [{ kind: 'ed25519', seed: fromB64u(edJwk.d), publicKey: fromB64u(edJwk.x) }, { kind: 'ed25519', key: fromB64u(edJwk.x), spki }],
    rsa: [
      { kind: 'rsa', n, e, d: bigFromB64u(rsaJwk.d), p: bigFromB64u(rsaJwk.p), q: bigFromB64u(rsaJwk.q), dp: bigFromB64u(rsaJwk.dp), dq: bigFromB64u(rsaJwk.dq), qinv: bigFromB64u(rsaJwk.qi) },
      { kind: 'rsa', n, e, spki },
    ],
  };
}

/** Per-handshake public-key operations: key exchange, CertificateVerify signing and verification. */
export function benchHandshake(budgetMs = 400): HandshakeResult[] {
  const keys = benchKeys();
  const random = seededRandom('bench', (d) => nobleCrypto.hash('sha256', d));
  const message = new Uint8Array(130).fill(0x20); // the size of a TLS 1.3 CertificateVerify content
  const ops: [string, (p: CryptoProvider) => () => void][] = [
    ['x25519 generate + derive', (p) => {
      const peer = p.ecdhGenerate('x25519', random).publicKey;
      return () => void p.ecdhGenerate('x25519', random).deriveSecret(peer);
    }],
    ['secp256r1 generate + derive', (p) => {
      const peer = p.ecdhGenerate('secp256r1', random).publicKey;
      return () => void p.ecdhGenerate('secp256r1', random).deriveSecret(peer);
    }],
  ];
  const sigCases: [SignatureAlgorithm, [PrivateKey, PublicKey]][] = [
    ['ecdsa_secp256r1_sha256', keys.ec],
    ['ed25519', keys.ed],
    ['rsa_pss_rsae_sha256', keys.rsa],
  ];
  for (const [alg, [priv, pub]] of sigCases) {
    ops.push([`${alg} sign`, (p) => () => void p.sign(alg, priv, message, random)]);
    ops.push([`${alg} verify`, (p) => {
      const sig = p.sign(alg, priv, message, random);
      return () => {
        if (!p.verify(alg, pub, message, sig)) throw new Error(`bench: ${alg} did not verify`);
      };
    }]);
  }
  return ops.map(([operation, make]) => ({
    operation,
    opsPerSec: { noble: rate(make(nobleCrypto), budgetMs), node: rate(make(nodeCrypto), budgetMs) },
  }));
}

export function printCryptoBench(budgetMs = 400): void {
  console.log(`crypto bench: ${PACKET_BYTES}-byte packets, ~${budgetMs} ms per measurement, node ${process.version}`);
  console.log('(one run on a shared machine is noisy: compare ratios across runs, or raise --ms)');
  console.log('');
  console.log('AEAD               dir    noble MB/s   node MB/s   node/noble');
  for (const r of benchAead(budgetMs)) {
    console.log(
      `${r.aead.padEnd(18)} ${r.direction.padEnd(5)} ${r.mbps.noble.toFixed(1).padStart(11)} ${r.mbps.node.toFixed(1).padStart(11)} ${r.ratio.toFixed(2).padStart(11)}x`,
    );
  }
  console.log('');
  console.log('header protection (masks/s; ratio against noble)');
  for (const r of benchHeaderProtection(budgetMs)) {
    const base = r.masksPerSec.noble;
    for (const [impl, perSec] of Object.entries(r.masksPerSec)) {
      console.log(`  ${r.scheme.padEnd(9)} ${impl.padEnd(38)} ${Math.round(perSec).toString().padStart(10)}  ${(perSec / base).toFixed(2)}x`);
    }
  }
  console.log('');
  console.log('handshake operations         noble ops/s   node ops/s   node/noble');
  for (const r of benchHandshake(budgetMs)) {
    console.log(
      `${r.operation.padEnd(30)} ${r.opsPerSec.noble.toFixed(0).padStart(10)} ${r.opsPerSec.node.toFixed(0).padStart(12)} ${(r.opsPerSec.node / r.opsPerSec.noble).toFixed(2).padStart(11)}x`,
    );
  }
}

function budgetFromArgs(argv: string[]): number {
  const i = argv.indexOf('--ms');
  const v = i >= 0 ? Number(argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : 400;
}

/** The per-packet figures the engine's speed depends on, for bench/index.ts (the handshake table stays human-only). */
function emitCryptoBench(budgetMs: number): void {
  const metrics: BenchMetric[] = [];
  for (const r of benchAead(budgetMs)) {
    if (r.direction !== 'seal') continue;
    metrics.push({ id: `crypto.${r.aead}.seal.node`, name: `${r.aead} seal, node backend (${PACKET_BYTES} B)`, value: r.mbps.node, unit: 'MB/s', better: 'higher' });
    metrics.push({ id: `crypto.${r.aead}.seal.node-over-noble`, name: `${r.aead} seal node / noble`, value: r.ratio, unit: '×', better: 'higher' });
  }
  for (const r of benchHeaderProtection(budgetMs)) {
    for (const backend of ['noble', 'node']) {
      const v = r.masksPerSec[backend];
      if (v !== undefined) metrics.push({ id: `crypto.hp.${r.scheme}.${backend}`, name: `${r.scheme} header protection, ${backend} backend`, value: v / 1e6, unit: 'M masks/s', better: 'higher' });
    }
  }
  emitBench({ bench: 'crypto', metrics });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--json')) emitCryptoBench(budgetFromArgs(process.argv.slice(2)));
  else printCryptoBench(budgetFromArgs(process.argv.slice(2)));
}
