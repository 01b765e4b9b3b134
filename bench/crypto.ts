// Crypto backend benchmark: packet AEAD throughput (1200-byte QUIC packets: seal, open, and seal+open as the engine
// does them) and header-protection mask rate for the noble, node and (where sodium-native loads) sodium backends,
// printed as ratios measured in the same run (DESIGN.md §8: never asserted).
//
// Run: npm run build && node dist/bench/crypto.js [--ms 400] [--json]
//      node dist/bench/crypto.js --goodput [--backends node,noble,sodium] [--rounds 2] [--mb 10]
//      (the goodput scenario with ChaCha20-Poly1305 on each backend: wall time in the same run, one trace hash)

import { createCipheriv, generateKeyPairSync } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { nodeCrypto } from '../engine/crypto/node.js';
import { sodiumCrypto } from '../engine/crypto/sodium.js';
import type { AeadName, CryptoProvider, HeaderProtectionName, PrivateKey, PublicKey, SignatureAlgorithm } from '../engine/crypto/provider.js';
import { seededRandom } from '../engine/crypto/random.js';
import { loadScenario } from '../interop/scenario/load.js';
import type { Scenario } from '../interop/scenario/model.js';
import { runScenario } from '../interop/runner/run.js';
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
  /** 'seal+open' is one packet's round trip as the engine does it: sealInPlace where the backend has it, then open. */
  direction: 'seal' | 'open' | 'seal+open';
  /** MB/s of 1200-byte packets by backend name. */
  mbps: Record<string, number>;
  /** node over noble (the figure bench/index.ts has always tracked). */
  ratio: number;
}

export interface MaskResult {
  scheme: string;
  masksPerSec: Record<string, number>;
}

/**
 * Every backend this install can run: sodium only where sodium-native loads, so the bench also runs without it
 * (and says so once).
 */
export function benchProviders(log: (line: string) => void = () => {}): CryptoProvider[] {
  const list: CryptoProvider[] = [nobleCrypto, nodeCrypto];
  try {
    list.push(sodiumCrypto());
  } catch (e) {
    log(`(sodium backend not measured: ${(e as Error).message})`);
  }
  return list;
}

function aeadOp(provider: CryptoProvider, name: AeadName, direction: AeadResult['direction']): () => void {
  const key = new Uint8Array(name === 'aes-128-gcm' ? 16 : 32).fill(0x42);
  const aead = provider.aead(name, key);
  const nonce = new Uint8Array(12);
  const header = new Uint8Array(20).fill(0xc3);
  const payload = new Uint8Array(PACKET_BYTES - header.length - 16).fill(0x17);
  const view = new DataView(nonce.buffer);
  let pn = 0;
  const sealed = aead.seal(nonce, payload, header);
  if (direction === 'seal') {
    return () => {
      view.setUint32(8, pn++); // a fresh nonce per packet, as QUIC derives it from the packet number
      aead.seal(nonce, payload, header);
    };
  }
  if (direction === 'open') {
    return () => {
      if (aead.open(nonce, sealed, header) === null) throw new Error('bench: open failed');
    };
  }
  // One packet buffer, sealed in place (or through seal() and a copy, as engine/quic/protection.ts falls back to),
  // then opened from the same bytes: the receiver's view of the packet the sender just built.
  const packet = new Uint8Array(PACKET_BYTES);
  packet.set(header);
  const body = packet.subarray(header.length);
  return () => {
    view.setUint32(8, pn++);
    if (aead.sealInPlace) aead.sealInPlace(nonce, packet, header.length, payload.length);
    else packet.set(aead.seal(nonce, body.subarray(0, payload.length), header), header.length);
    if (aead.open(nonce, body, header) === null) throw new Error('bench: open failed');
  };
}

/**
 * Each (AEAD, direction) is measured on every backend in `rounds` interleaved rounds and the best round kept: on a
 * shared machine a burst of other work then costs one round of one backend, not the whole comparison.
 */
export function benchAead(budgetMs = 400, providers: CryptoProvider[] = benchProviders(), rounds = 3): AeadResult[] {
  const out: AeadResult[] = [];
  for (const aead of ['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'] as const) {
    for (const direction of ['seal', 'open', 'seal+open'] as const) {
      const ops = providers.map((p) => [p.name, aeadOp(p, aead, direction)] as const);
      const mbps: Record<string, number> = {};
      for (let r = 0; r < rounds; r++) {
        for (const [name, op] of ops) mbps[name] = Math.max(mbps[name] ?? 0, (rate(op, budgetMs / rounds) * PACKET_BYTES) / 1e6);
      }
      out.push({ aead, direction, mbps, ratio: mbps['node']! / mbps['noble']! });
    }
  }
  return out;
}

/**
 * Header protection: every backend plus the node:crypto alternatives (the node backend keeps one ECB cipher per AES
 * key), in interleaved best-of rounds like benchAead.
 */
export function benchHeaderProtection(budgetMs = 400, providers: CryptoProvider[] = benchProviders(), rounds = 3): MaskResult[] {
  const sample = new Uint8Array(16).map((_, i) => i * 13);
  const results: MaskResult[] = [];
  for (const scheme of ['aes-128', 'chacha20'] as HeaderProtectionName[]) {
    const key = new Uint8Array(scheme === 'aes-128' ? 16 : 32).fill(7);
    const ops: [string, () => void][] = providers.map((provider) => {
      const hp = provider.headerProtection(scheme, key);
      return [provider.name, () => void hp.mask(sample)];
    });
    if (scheme === 'aes-128') {
      ops.push(['node:crypto ecb, new cipher per mask', () => void createCipheriv('aes-128-ecb', key, null).update(sample)]);
      // ECB has no chaining state, so one cipher object can encrypt sample after sample without final().
      const reused = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
      ops.push(['node:crypto ecb, one reused cipher', () => void reused.update(sample)]);
    }
    if (scheme === 'chacha20') {
      // OpenSSL's chacha20 IV is counter || nonce, i.e. the sample itself; a cipher object is needed per sample.
      const zeros = new Uint8Array(5);
      ops.push(['node:crypto chacha20, new cipher per mask', () => void createCipheriv('chacha20', key, sample).update(zeros)]);
    }
    const masksPerSec: Record<string, number> = {};
    for (let r = 0; r < rounds; r++) {
      for (const [name, op] of ops) masksPerSec[name] = Math.max(masksPerSec[name] ?? 0, rate(op, budgetMs / rounds));
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
  const providers = benchProviders((line) => console.log(line));
  const names = providers.map((p) => p.name);
  console.log('');
  console.log('AEAD MB/s (µs per packet)  ' + names.map((n) => n.padStart(18)).join('') + '   ' + names.slice(1).map((n) => `${n}/noble`.padStart(13)).join('') + (names.includes('sodium') ? '  sodium/node' : ''));
  for (const r of benchAead(budgetMs, providers)) {
    const cells = names.map((n) => `${r.mbps[n]!.toFixed(1)} (${((PACKET_BYTES / r.mbps[n]!)).toFixed(2)})`.padStart(18)).join('');
    const ratios = names.slice(1).map((n) => `${(r.mbps[n]! / r.mbps['noble']!).toFixed(2)}x`.padStart(13)).join('');
    const sodium = r.mbps['sodium'] !== undefined ? `${(r.mbps['sodium'] / r.mbps['node']!).toFixed(2)}x`.padStart(13) : '';
    console.log(`${r.aead.padEnd(18)} ${r.direction.padEnd(9)}${cells}   ${ratios}${sodium}`);
  }
  console.log('');
  console.log('header protection (masks/s; ratio against noble)');
  for (const r of benchHeaderProtection(budgetMs, providers)) {
    const base = r.masksPerSec.noble!;
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

export interface GoodputResult {
  backend: string;
  /** Wall time of each round's run, in the order measured. */
  wallMs: number[];
  /** This process's CPU time (user + system) of each round's run: on a machine shared with other work, the steadier figure. */
  cpuMs: number[];
  simulatedMs: number;
  goodputBps: number;
  traceHash: string;
  verdict: string;
}

/**
 * The goodput scenario (scenarios/quic/goodput.yaml: 10 MB over the 10 Mbps, 30 ms RTT link) self↔self with only
 * ChaCha20-Poly1305 offered and both endpoints on `backend`, run in virtual time through the scenario runner, as
 * `crosswire run` does. Backends alternate round by round so a burst of other load hits them alike; the simulated
 * outcome (and trace hash) must be the same for all of them, only the wall time may differ.
 */
export function benchChachaGoodput(backends: string[], rounds = 2, mb?: number): GoodputResult[] {
  const base = loadScenario(fileURLToPath(new URL('../../scenarios/quic/goodput.yaml', import.meta.url)));
  const results = new Map<string, GoodputResult>();
  for (let round = 0; round < rounds; round++) {
    for (const backend of backends) {
      const crypto = backend as NonNullable<Scenario['client']['crypto']>;
      const requests = mb === undefined ? base.client.requests : [{ size: Math.round(mb * 1e6), count: 1 }];
      const scenario: Scenario = {
        ...base,
        client: { ...base.client, requests, cipherSuites: ['TLS_CHACHA20_POLY1305_SHA256'], crypto },
        server: { ...base.server, crypto },
      };
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      const r = runScenario(scenario, { seed: 1 });
      const wall = performance.now() - start;
      const cpu = process.cpuUsage(cpuStart);
      const entry: GoodputResult = results.get(backend) ?? { backend, wallMs: [], cpuMs: [], simulatedMs: r.simulatedMs ?? 0, goodputBps: Number(r.metrics['goodputBps'] ?? 0), traceHash: r.traceHash, verdict: r.verdict };
      entry.wallMs.push(wall);
      entry.cpuMs.push((cpu.user + cpu.system) / 1000);
      results.set(backend, entry);
    }
  }
  return [...results.values()];
}

function printGoodput(backends: string[], rounds: number, mb: number | undefined): void {
  console.log(`ChaCha20-Poly1305 goodput scenario self↔self in virtual time (seed 1), ${rounds} interleaved rounds per backend; best and median`);
  const results = benchChachaGoodput(backends, rounds, mb);
  const node = results.find((r) => r.backend === 'node');
  const best = (xs: number[]) => Math.min(...xs);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log('backend   verdict  goodput     simulated  wall best/median   cpu best/median   × real time   cpu vs node   trace hash');
  for (const r of results) {
    console.log(
      `${r.backend.padEnd(9)} ${r.verdict.padEnd(8)} ${(r.goodputBps / 1e6).toFixed(2).padStart(5)} Mbps ${(r.simulatedMs / 1000).toFixed(2).padStart(6)} s ` +
        `${`${best(r.wallMs).toFixed(0)}/${median(r.wallMs).toFixed(0)} ms`.padStart(16)} ${`${best(r.cpuMs).toFixed(0)}/${median(r.cpuMs).toFixed(0)} ms`.padStart(17)} ` +
        `${(r.simulatedMs / best(r.wallMs)).toFixed(2).padStart(12)}× ${node ? (best(r.cpuMs) / best(node.cpuMs)).toFixed(3).padStart(12) : ''}   ${r.traceHash.slice(0, 16)}`,
    );
    console.log(`          wall ms by round: ${r.wallMs.map((w) => w.toFixed(0)).join(', ')}; cpu ms: ${r.cpuMs.map((w) => w.toFixed(0)).join(', ')}`);
  }
  const hashes = new Set(results.map((r) => r.traceHash));
  console.log(hashes.size === 1 ? 'one trace hash for every backend' : `TRACE HASHES DIFFER across backends (${hashes.size})`);
}

function budgetFromArgs(argv: string[]): number {
  const i = argv.indexOf('--ms');
  const v = i >= 0 ? Number(argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : 400;
}

/** The per-packet figures the engine's speed depends on, for bench/index.ts (the handshake table stays human-only). */
function emitCryptoBench(budgetMs: number): void {
  const metrics: BenchMetric[] = [];
  const providers = benchProviders((line) => process.stderr.write(line + '\n'));
  for (const r of benchAead(budgetMs, providers)) {
    if (r.direction === 'seal') {
      metrics.push({ id: `crypto.${r.aead}.seal.node`, name: `${r.aead} seal, node backend (${PACKET_BYTES} B)`, value: r.mbps['node']!, unit: 'MB/s', better: 'higher' });
      metrics.push({ id: `crypto.${r.aead}.seal.node-over-noble`, name: `${r.aead} seal node / noble`, value: r.ratio, unit: '×', better: 'higher' });
    }
    if (r.direction === 'seal+open' && r.aead === 'chacha20-poly1305') {
      for (const [backend, v] of Object.entries(r.mbps)) {
        metrics.push({ id: `crypto.${r.aead}.seal+open.${backend}`, name: `${r.aead} seal+open, ${backend} backend`, value: PACKET_BYTES / v, unit: 'µs/packet', better: 'lower' });
      }
      const sodium = r.mbps['sodium'];
      if (sodium !== undefined) metrics.push({ id: `crypto.${r.aead}.seal+open.sodium-over-node`, name: `${r.aead} seal+open sodium / node`, value: sodium / r.mbps['node']!, unit: '×', better: 'higher' });
    }
  }
  for (const r of benchHeaderProtection(budgetMs, providers)) {
    for (const backend of providers.map((p) => p.name)) {
      const v = r.masksPerSec[backend];
      if (v !== undefined) metrics.push({ id: `crypto.hp.${r.scheme}.${backend}`, name: `${r.scheme} header protection, ${backend} backend`, value: v / 1e6, unit: 'M masks/s', better: 'higher' });
    }
  }
  emitBench({ bench: 'crypto', metrics });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const value = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  if (argv.includes('--goodput')) {
    const backends = (value('--backends') ?? benchProviders((line) => console.log(line)).map((p) => p.name).join(',')).split(',');
    const mb = value('--mb');
    printGoodput(backends, Number(value('--rounds') ?? 2), mb === undefined ? undefined : Number(mb));
  } else if (argv.includes('--json')) emitCryptoBench(budgetFromArgs(argv));
  else printCryptoBench(budgetFromArgs(argv));
}
