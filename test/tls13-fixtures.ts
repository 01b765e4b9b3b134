// Shared fixtures for the TLS 1.3 tests: PKI loading, a deterministic environment, and a pump that shuttles handshake bytes.

import { readFileSync } from 'node:fs';
import { cryptoProvider, type CryptoBackendName, type CryptoProvider, type PrivateKey } from '../engine/crypto/index.js';
import { seededRandom, type RandomSource } from '../engine/crypto/random.js';
import type { Epoch, TlsConfig, TlsEvent, TlsSession } from '../engine/tls/api.js';
import { createTlsSession } from '../engine/tls/session.js';
import { privateKeyFromPkcs8 } from '../engine/tls/x509/keys.js';
import { makePki } from './helpers/pki.js';

export const BACKENDS: CryptoBackendName[] = ['noble', 'node'];

export function pemBlocks(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/g)) out.push(new Uint8Array(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

export interface Identity {
  chain: Uint8Array[];
  key: PrivateKey;
}

export function loadIdentity(name: keyof ReturnType<typeof makePki>['leaf']): Identity {
  const pki = makePki();
  const leaf = pki.leaf[name];
  return { chain: pemBlocks(readFileSync(leaf.cert, 'utf8')), key: privateKeyFromPkcs8(pemBlocks(readFileSync(leaf.key, 'utf8'))[0]!) };
}

export function caDer(): Uint8Array[] {
  return pemBlocks(readFileSync(makePki().ca, 'utf8'));
}

export interface Env {
  crypto: CryptoProvider;
  random: RandomSource;
  now: { ms: number };
  clock: () => number;
}

export function env(backend: CryptoBackendName, seed: string): Env {
  const crypto = cryptoProvider(backend);
  // The test PKI is minted at run time, so the simulated clock starts at the real time once it exists (read once, then
  // only advanced by tests): certificates are not valid before their minting second.
  makePki();
  const now = { ms: Date.now() };
  return { crypto, random: seededRandom(seed, (d) => crypto.hash('sha256', d)), now, clock: () => now.ms };
}

export function clientConfig(e: Env, extra: Partial<TlsConfig> = {}): TlsConfig {
  return { role: 'client', crypto: e.crypto, random: e.random, clock: e.clock, serverName: 'localhost', verify: { ca: caDer() }, ...extra };
}

export function serverConfig(e: Env, id: Identity, extra: Partial<TlsConfig> = {}): TlsConfig {
  return { role: 'server', crypto: e.crypto, random: e.random, clock: e.clock, certificateChain: id.chain, privateKey: id.key, ...extra };
}

export interface Side {
  session: TlsSession;
  events: TlsEvent[];
  /** Bytes sent per epoch, in order. */
  sent: { epoch: Epoch; data: Uint8Array }[];
}

export function side(session: TlsSession): Side {
  return { session, events: [], sent: [] };
}

/**
 * Moves handshake bytes both ways until neither side has anything to say. `chunk` splits every transfer into
 * pieces of that many bytes to exercise reassembly. Errors propagate (TlsError with the alert).
 */
export type Tamper = (from: 'client' | 'server', epoch: Epoch, data: Uint8Array) => Uint8Array;

export function pump(a: Side, b: Side, chunk = 0, tamper?: Tamper): void {
  for (let progress = true; progress; ) {
    progress = false;
    for (const [from, to] of [[a, b], [b, a]] as const) {
      for (let out = from.session.pollOutput(); out; out = from.session.pollOutput()) {
        progress = true;
        from.sent.push(out);
        const data = tamper ? tamper(from.session.config.role, out.epoch, out.data) : out.data;
        const pieces = chunk > 0 ? split(data, chunk) : [data];
        for (const p of pieces) to.session.receive(out.epoch, p);
      }
      for (let ev = from.session.pollEvent(); ev; ev = from.session.pollEvent()) from.events.push(ev);
    }
  }
}

function split(b: Uint8Array, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += n) out.push(b.subarray(i, i + n));
  return out;
}

export function connect(clientCfg: TlsConfig, serverCfg: TlsConfig, chunk = 0, tamper?: Tamper): { client: Side; server: Side } {
  const client = side(createTlsSession(clientCfg));
  const server = side(createTlsSession(serverCfg));
  client.session.start();
  server.session.start();
  pump(client, server, chunk, tamper);
  return { client, server };
}

export function secrets(s: Side, epoch: Epoch, direction: 'read' | 'write'): Uint8Array[] {
  return s.events.flatMap((e) => (e.type === 'secret' && e.secret.epoch === epoch && e.secret.direction === direction ? [e.secret.secret] : []));
}

/** Splits a flight into its handshake messages (type, offset of the body, body length). */
export function messagesOf(flight: Uint8Array): { type: number; bodyAt: number; length: number }[] {
  const out: { type: number; bodyAt: number; length: number }[] = [];
  for (let p = 0; p + 4 <= flight.length; ) {
    const length = (flight[p + 1]! << 16) | (flight[p + 2]! << 8) | flight[p + 3]!;
    out.push({ type: flight[p]!, bodyAt: p + 4, length });
    p += 4 + length;
  }
  return out;
}

/** Returns a copy of `flight` with the last byte of the first message of `type` flipped. */
export function flipLastByteOf(flight: Uint8Array, type: number): Uint8Array {
  const m = messagesOf(flight).find((x) => x.type === type);
  if (!m) return flight;
  const copy = flight.slice();
  const at = m.bodyAt + m.length - 1;
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}
