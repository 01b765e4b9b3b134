// TLS 1.3 over TCP wire-fuzzing target (RFC 8446 §5 records, §4 handshake messages and extensions): records a genuine
// handshake plus one echoed message as the chunks each side wrote, then replays them into a fresh client or server
// with one chunk mutated — blind, or in record headers, clear-text hello messages and their extensions.

import { nodeCrypto } from '../../engine/crypto/node.js';
import { seededRandom } from '../../engine/crypto/random.js';
import type { Address } from '../../engine/endpoint.js';
import { Alert, type TlsConfig } from '../../engine/tls/api.js';
import { TlsRecordConnection } from '../../engine/tls/record-connection.js';
import { createTlsSession } from '../../engine/tls/session.js';
import { SIMULATION_CLOCK_MS, simulationPki } from '../runner/pki.js';
import type { Delivery, Endpoint, Role, Target } from './harness.js';
import { concat } from '../../engine/wire/bytes.js';
import { mutateHandshakeMessage } from './mutate.js';
import type { Draw } from './rng.js';

// TCP has one peer; the addresses only label the two ends for the harness.
const CLIENT: Address = { host: '192.0.2.1', port: 50000 };
const SERVER: Address = { host: '192.0.2.2', port: 443 };
const MESSAGE = new Uint8Array(200).fill(0x63);
const HEADER = 5;
const crypto = nodeCrypto;

function config(role: Role): TlsConfig {
  const pki = simulationPki();
  const sha = (d: Uint8Array) => crypto.hash('sha256', d);
  const base = { crypto, random: seededRandom(`fuzz-wire/tls/${role}`, sha), clock: () => SIMULATION_CLOCK_MS };
  if (role === 'client') return { ...base, role, serverName: 'localhost', alpn: ['http/1.1'], verify: { ca: [pki.ca] } };
  const leaf = pki.leaf('ed25519');
  return { ...base, role, alpn: ['http/1.1'], certificateChain: leaf.chain, privateKey: leaf.key };
}

class App implements Endpoint {
  private sent = false;
  private readonly errors: unknown[] = [];
  readonly conn: TlsRecordConnection;
  constructor(readonly role: Role) {
    this.conn = new TlsRecordConnection(createTlsSession(config(role)), crypto);
    this.conn.start();
    this.app();
  }
  private app(): void {
    for (let e = this.conn.pollEvent(); e; e = this.conn.pollEvent()) {
      // internal_error we raised ourselves is an engine bug, whatever its message.
      if (e.type === 'error' && e.error.alert === Alert.internal_error && !e.error.remote) this.errors.push(e.error);
      if (e.type === 'data' && this.role === 'server' && !this.conn.writeClosed) this.conn.write(e.data);
    }
    if (this.role === 'client' && !this.sent && this.conn.established && !this.conn.writeClosed) {
      this.sent = true;
      this.conn.write(MESSAGE);
    }
  }
  receive(data: Uint8Array): void {
    this.conn.receive(data);
    this.app();
  }
  poll(): { data: Uint8Array; to: Address }[] {
    const out = [];
    for (let d = this.conn.pollOutput(); d; d = this.conn.pollOutput()) out.push({ data: d, to: this.role === 'server' ? CLIENT : SERVER });
    return out;
  }
  nextTimeout(): number | undefined {
    return undefined;
  }
  handleTimeout(): void {}
  internalErrors() {
    return this.errors;
  }
  statesFor(): number {
    return 0;
  }
  alive(): boolean {
    return !this.conn.failed;
  }
}

function label(d: Uint8Array): string {
  const names: Record<number, string> = { 1: 'ClientHello', 2: 'ServerHello' };
  return records(d)
    .map((r) => (r.type === 22 ? (names[d[r.at + HEADER]!] ?? 'handshake') : r.type === 20 ? 'ChangeCipherSpec' : r.type === 23 ? 'protected' : r.type === 21 ? 'Alert' : `type${r.type}`))
    .join('+') || 'garbage';
}

function records(d: Uint8Array): { at: number; type: number; length: number }[] {
  const out = [];
  for (let at = 0; at + HEADER <= d.length; ) {
    const length = (d[at + 3]! << 8) | d[at + 4]!;
    if (at + HEADER + length > d.length) break;
    out.push({ at, type: d[at]!, length });
    at += HEADER + length;
  }
  return out;
}

/** The chunks each side wrote, in a ping-pong over a 10 ms pipe. */
function record(): { toServer: Delivery[]; toClient: Delivery[] } {
  const client = new App('client');
  const server = new App('server');
  const toServer: Delivery[] = [];
  const toClient: Delivery[] = [];
  let now = 0;
  for (let round = 0; round < 20; round++) {
    let moved = false;
    now += 10;
    for (const d of client.poll()) {
      toServer.push({ at: now, data: d.data, label: label(d.data) });
      server.receive(d.data);
      moved = true;
    }
    now += 10;
    for (const d of server.poll()) {
      toClient.push({ at: now, data: d.data, label: label(d.data) });
      client.receive(d.data);
      moved = true;
    }
    if (!moved) break;
  }
  return { toServer, toClient };
}

export function mutateChunk(r: Draw, data: Uint8Array): { name: string; out: Uint8Array } | undefined {
  const rs = records(data);
  if (!rs.length) return undefined;
  const i = r.int(rs.length);
  const rec = rs[i]!;
  const head = data.slice(rec.at, rec.at + HEADER);
  const body = data.subarray(rec.at + HEADER, rec.at + HEADER + rec.length);
  const before = data.subarray(0, rec.at);
  const after = data.subarray(rec.at + HEADER + rec.length);
  const rebuild = (h: Uint8Array, b: Uint8Array) => {
    h[3] = (b.length >> 8) & 0xff;
    h[4] = b.length & 0xff;
    return concat(before, h, b, after);
  };
  switch (r.weighted([rec.type === 22 ? 50 : 0, 20, 10, 10, 10])) {
    case 0: {
      const m = mutateHandshakeMessage(r, body, false);
      return { name: m.name, out: rebuild(head, m.out) };
    }
    case 1: {
      const f = r.int(3);
      if (f === 0) head[0] = r.pick([20, 21, 22, 23, 24, 0, 255]);
      else if (f === 1) [head[1], head[2]] = r.pick([[3, 1], [3, 3], [3, 4], [0xfe, 0xfd], [0, 0]]);
      else {
        const lie = r.pick([0, 1, rec.length - 1, rec.length + 1, 0xffff, 16384 + 256, 16384 + 257]);
        head[3] = (lie >> 8) & 0xff;
        head[4] = lie & 0xff;
        return { name: 'record-length-lie', out: concat(before, head, body, after) };
      }
      return { name: ['record-type', 'record-version'][f]!, out: rebuild(head, body) };
    }
    case 2:
      return { name: 'record-duplicate', out: concat(data.subarray(0, rec.at + HEADER + rec.length), data.subarray(rec.at, rec.at + HEADER + rec.length), after) };
    case 3: {
      if (rs.length < 2) return undefined;
      const j = r.int(rs.length);
      const parts = rs.map((x) => data.subarray(x.at, x.at + HEADER + x.length));
      [parts[i], parts[j]] = [parts[j]!, parts[i]!];
      return { name: 'record-reorder', out: concat(...parts) };
    }
    default: {
      const b = body.slice();
      if (b.length) b[r.int(b.length)]! ^= 1 << r.int(8);
      return { name: `record-body-${rec.type === 23 ? 'protected' : 'clear'}`, out: rebuild(head, b) };
    }
  }
}

let cached: ReturnType<typeof record> | undefined;

export function tlsTarget(role: Role): Target {
  const rec = (cached ??= record());
  return {
    protocol: 'tls',
    role,
    peer: role === 'server' ? CLIENT : SERVER,
    local: role === 'server' ? SERVER : CLIENT,
    deliveries: role === 'server' ? rec.toServer : rec.toClient,
    // TCP's own handshake validated the address before any TLS byte: nothing to amplify toward.
    validatedAt: undefined,
    datagram: false,
    create: () => new App(role),
    fieldMutation: (r, _stage, data) => mutateChunk(r, data),
    stateAllowed: () => true,
  };
}
