// DTLS 1.2 wire-fuzzing target (RFC 6347 §4.1 records, §4.2 handshake fragments and the cookie exchange, RFC 5246
// §7.4 messages): records a genuine cookie handshake plus one echoed message, then replays it into a fresh client or
// server with one datagram mutated — blind, or in record headers, handshake fragment headers and hello extensions.

import { nodeCrypto } from '../../engine/crypto/node.js';
import { seededRandom } from '../../engine/crypto/random.js';
import type { Address } from '../../engine/endpoint.js';
import { DtlsClient, DtlsServer, type DtlsConfig, type DtlsEvent } from '../../engine/dtls/index.js';
import { Alert } from '../../engine/tls/api.js';
import { SIMULATION_CLOCK_MS, simulationPki } from '../runner/pki.js';
import type { Delivery, Endpoint, Role, Target } from './harness.js';
import { concat } from '../../engine/wire/bytes.js';
import { mutateHandshakeMessage } from './mutate.js';
import type { Draw } from './rng.js';

const CLIENT: Address = { host: '192.0.2.1', port: 40000 };
const SERVER: Address = { host: '192.0.2.2', port: 4433 };
const DELAY = 10;
const MESSAGE = new Uint8Array(200).fill(0x62);
const HEADER = 13;

const crypto = nodeCrypto;

function config(role: Role): DtlsConfig {
  const pki = simulationPki();
  const sha = (d: Uint8Array) => crypto.hash('sha256', d);
  const base = { crypto, random: seededRandom(`fuzz-wire/dtls/${role}`, sha), clock: () => SIMULATION_CLOCK_MS };
  if (role === 'client') return { ...base, serverName: 'localhost', ca: [pki.ca] };
  const leaf = pki.leaf('ec');
  return { ...base, certificateChain: leaf.chain, privateKey: leaf.key };
}

/** A DTLS engine bug: the connection caught a non-protocol exception and closed with internal_error (the cause kept). */
function internalError(e: DtlsEvent): unknown {
  if (e.type !== 'closed' || !e.error || e.error.alert !== Alert.internal_error || e.error.remote) return undefined;
  return e.error.cause ?? e.error;
}

class ClientApp implements Endpoint {
  private sent = false;
  private readonly errors: unknown[] = [];
  constructor(readonly client: DtlsClient) {}
  private app(): void {
    for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) {
      const err = internalError(e);
      if (err) this.errors.push(err);
    }
    if (!this.sent && this.client.handshakeComplete && !this.client.closed) {
      this.sent = true;
      this.client.send(MESSAGE);
    }
  }
  receive(data: Uint8Array, from: Address, now: number): void {
    this.client.receiveDatagram(data, from, now);
    this.app();
  }
  poll(now: number) {
    return this.client.pollDatagrams(now);
  }
  nextTimeout() {
    return this.client.nextTimeout();
  }
  handleTimeout(now: number): void {
    this.client.handleTimeout(now);
    this.app();
  }
  internalErrors() {
    return this.errors;
  }
  statesFor(): number {
    return 0;
  }
  alive(): boolean {
    return !this.client.closed;
  }
}

class ServerApp implements Endpoint {
  private readonly errors: unknown[] = [];
  constructor(readonly server: DtlsServer) {}
  private app(): void {
    for (let e = this.server.pollEvent(); e; e = this.server.pollEvent()) {
      const err = internalError(e.event);
      if (err) this.errors.push(err);
      // Echo what arrives, as `serve dtls --echo` does.
      if (e.event.type === 'data' && this.server.connection(e.peer) && !this.server.connection(e.peer)!.closed) this.server.send(e.peer, e.event.data);
    }
  }
  receive(data: Uint8Array, from: Address, now: number): void {
    this.server.receiveDatagram(data, from, now);
    this.app();
  }
  poll(now: number) {
    return this.server.pollDatagrams(now);
  }
  nextTimeout() {
    return this.server.nextTimeout();
  }
  handleTimeout(now: number): void {
    this.server.handleTimeout(now);
    this.app();
  }
  internalErrors() {
    return this.errors;
  }
  statesFor(a: Address): number {
    return this.server.connection(a) ? 1 : 0;
  }
  validated(a: Address): boolean {
    return this.server.connection(a) !== undefined;
  }
  alive(): boolean {
    const c = this.server.connection(CLIENT);
    return !c || !c.closed;
  }
}

const newClient = () => new ClientApp(new DtlsClient(config('client'), SERVER, 0));
const newServer = () => new ServerApp(new DtlsServer(config('server')));

export function label(d: Uint8Array): string {
  const names: Record<number, string> = { 1: 'ClientHello', 2: 'ServerHello', 3: 'HelloVerifyRequest', 11: 'Certificate', 12: 'ServerKeyExchange', 14: 'ServerHelloDone', 16: 'ClientKeyExchange' };
  const out: string[] = [];
  for (const r of records(d)) {
    const body = d.subarray(r.at + HEADER, r.at + HEADER + r.length);
    if (r.type === 22 && r.epoch === 0) out.push(names[body[0]!] ?? `handshake(${body[0]})`);
    else out.push(r.type === 20 ? 'ChangeCipherSpec' : r.type === 23 ? 'ApplicationData' : r.type === 21 ? 'Alert' : `epoch${r.epoch}-handshake`);
  }
  return out.join('+') || 'garbage';
}

/** Records of a datagram by offset (header fields read directly; a truncated tail is left out). */
function records(d: Uint8Array): { at: number; type: number; epoch: number; length: number }[] {
  const out = [];
  for (let at = 0; at + HEADER <= d.length; ) {
    const length = (d[at + 11]! << 8) | d[at + 12]!;
    if (at + HEADER + length > d.length) break;
    out.push({ at, type: d[at]!, epoch: (d[at + 3]! << 8) | d[at + 4]!, length });
    at += HEADER + length;
  }
  return out;
}

function record(): { toServer: Delivery[]; toClient: Delivery[] } {
  const client = newClient();
  const server = newServer();
  const queue: { at: number; seq: number; to: Role; data: Uint8Array }[] = [];
  const toServer: Delivery[] = [];
  const toClient: Delivery[] = [];
  let now = 0;
  let seq = 0;
  const flush = () => {
    for (const d of client.poll(now)) queue.push({ at: now + DELAY, seq: seq++, to: 'server', data: d.data });
    for (const d of server.poll(now)) queue.push({ at: now + DELAY, seq: seq++, to: 'client', data: d.data });
  };
  flush();
  for (let steps = 0; steps < 1000 && queue.length; steps++) {
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const d = queue.shift()!;
    now = d.at;
    if (d.to === 'server') {
      toServer.push({ at: now, data: d.data, label: label(d.data) });
      server.receive(d.data, CLIENT, now);
    } else {
      toClient.push({ at: now, data: d.data, label: label(d.data) });
      client.receive(d.data, SERVER, now);
    }
    flush();
  }
  return { toServer, toClient };
}

/** One structure-aware edit: a record header field, a handshake fragment (header or hello extensions), record order. */
export function mutateDatagram(r: Draw, data: Uint8Array): { name: string; out: Uint8Array } | undefined {
  const rs = records(data);
  if (!rs.length) return undefined;
  const i = r.int(rs.length);
  const rec = rs[i]!;
  const head = data.slice(rec.at, rec.at + HEADER);
  const body = data.subarray(rec.at + HEADER, rec.at + HEADER + rec.length);
  const before = data.subarray(0, rec.at);
  const after = data.subarray(rec.at + HEADER + rec.length);
  const rebuild = (h: Uint8Array, b: Uint8Array, keepLength = false) => {
    if (!keepLength) {
      h[11] = (b.length >> 8) & 0xff;
      h[12] = b.length & 0xff;
    }
    return concat(before, h, b, after);
  };
  const c = r.weighted([rec.type === 22 && rec.epoch === 0 ? 50 : 0, 20, 10, 10, 10]);
  switch (c) {
    case 0: {
      // The first handshake fragment of a clear-text handshake record (RFC 6347 §4.2.2 header plus the message).
      const len = (body[9]! << 16) | (body[10]! << 8) | body[11]!;
      const frag = body.subarray(0, Math.min(body.length, 12 + len));
      const m = mutateHandshakeMessage(r, frag, true);
      return { name: m.name, out: rebuild(head, concat(m.out, body.subarray(frag.length))) };
    }
    case 1: {
      // Header fields: content type, version, epoch, sequence number, length.
      const f = r.int(5);
      if (f === 0) head[0] = r.pick([20, 21, 22, 23, 24, 0, 255]);
      else if (f === 1) [head[1], head[2]] = r.pick([[0xfe, 0xff], [0xfe, 0xfd], [0x03, 0x03], [0xfe, 0xfc], [0, 0]]);
      else if (f === 2) [head[3], head[4]] = r.pick([[0, 0], [0, 1], [0, 2], [0xff, 0xff]]);
      else if (f === 3) head.set(r.pick([[0, 0, 0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0, 0, 0, 0, 0, 200], [0, 0, 0, 1, 0, 0]]), 5);
      else {
        const lie = r.pick([0, 1, rec.length - 1, rec.length + 1, 0xffff, 16384 + 2049]);
        head[11] = (lie >> 8) & 0xff;
        head[12] = lie & 0xff;
        return { name: 'record-length-lie', out: rebuild(head, body, true) };
      }
      return { name: ['record-type', 'record-version', 'record-epoch', 'record-sequence'][f]!, out: rebuild(head, body) };
    }
    case 2:
      // The record twice (a replay inside one datagram).
      return { name: 'record-duplicate', out: concat(data.subarray(0, rec.at + HEADER + rec.length), data.subarray(rec.at, rec.at + HEADER + rec.length), after) };
    case 3: {
      // Records swapped: the last flight out of order (ChangeCipherSpec/Finished before ClientKeyExchange).
      if (rs.length < 2) return undefined;
      const j = r.int(rs.length);
      const parts = rs.map((x) => data.subarray(x.at, x.at + HEADER + x.length));
      [parts[i], parts[j]] = [parts[j]!, parts[i]!];
      return { name: 'record-reorder', out: concat(...parts) };
    }
    default: {
      // Protected or clear record body edited in place (an AEAD must reject it; a clear one reaches the parser).
      const b = body.slice();
      if (b.length) b[r.int(b.length)]! ^= 1 << r.int(8);
      return { name: `record-body-${rec.epoch ? 'protected' : 'clear'}`, out: rebuild(head, b) };
    }
  }
}

let cached: ReturnType<typeof record> | undefined;

export function dtlsTarget(role: Role): Target {
  const rec = (cached ??= record());
  const deliveries = role === 'server' ? rec.toServer : rec.toClient;
  return {
    protocol: 'dtls',
    role,
    peer: role === 'server' ? CLIENT : SERVER,
    local: role === 'server' ? SERVER : CLIENT,
    deliveries,
    // The second ClientHello, carrying the cookie, proves the client's address (RFC 6347 §4.2.1).
    validatedAt: role === 'server' ? 1 : undefined,
    datagram: true,
    create: () => (role === 'server' ? newServer() : newClient()),
    fieldMutation: (r, _stage, data) => mutateDatagram(r, data),
    // Cookies bind the source address, so no datagram from a spoofed source may create an association.
    stateAllowed: () => false,
  };
}
