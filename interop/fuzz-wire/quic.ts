// QUIC wire-fuzzing target (RFC 9000 §12, §17 packets, §19 frames, §18 transport parameters; RFC 9001 §5 protection):
// records a genuine handshake plus one echoed stream, then replays it into a fresh client or server with one datagram
// mutated — blind, in the clear header fields, or inside the protected payload (decrypted with the recorded keys,
// frames and TLS messages edited, sealed again) so the frame and handshake parsers see hostile content that authenticates.

import { nodeCrypto } from '../../engine/crypto/node.js';
import { seededRandom } from '../../engine/crypto/random.js';
import type { Address } from '../../engine/endpoint.js';
import { addressKey } from '../../engine/endpoint.js';
import { QuicConnection } from '../../engine/quic/connection.js';
import type { QuicConfig, QuicFault } from '../../engine/quic/config.js';
import { decodeFrames, encodeFrames, type Frame } from '../../engine/quic/frames.js';
import { encodeLongHeader, splitDatagram, type ProtectedHeader } from '../../engine/quic/packet.js';
import { derivePacketKeys, initialKeys, minPayloadForSample, protectPacket, unprotectPacket, type PacketKeys } from '../../engine/quic/protection.js';
import { QuicServer } from '../../engine/quic/server.js';
import { CIPHER_SUITES } from '../../engine/tls/api.js';
import { createTlsSession } from '../../engine/tls/session.js';
import { fromHex } from '../../engine/wire/bytes.js';
import { SIMULATION_CLOCK_MS, simulationPki } from '../runner/pki.js';
import type { Delivery, Endpoint, Role, Target } from './harness.js';
import { concat } from '../../engine/wire/bytes.js';
import { encodeVarint, mutateHandshakeMessage, splitTlsMessages, VARINT_EDGES } from './mutate.js';
import type { Draw } from './rng.js';

const CLIENT: Address = { host: '192.0.2.1', port: 50000 };
const SERVER: Address = { host: '192.0.2.2', port: 443 };
const DELAY = 10;
const VERSION = 1;
const SUITE = CIPHER_SUITES.TLS_AES_128_GCM_SHA256;
const REQUEST = new Uint8Array(300).fill(0x61);

// node:crypto throughout (AEAD and header protection are the per-packet cost). The server's Ed25519 certificate signs
// deterministically (RFC 8032) and fast: a replayed server must sign exactly as in the recording, or the recorded
// client Finished no longer verifies.
const crypto = nodeCrypto;

function config(role: Role, keyLog?: (line: string) => void, faults: readonly QuicFault[] = []): QuicConfig {
  const pki = simulationPki();
  const sha = (d: Uint8Array) => crypto.hash('sha256', d);
  const leaf = pki.leaf('ed25519');
  return {
    crypto,
    random: seededRandom(`fuzz-wire/quic/${role}`, sha),
    clock: () => SIMULATION_CLOCK_MS,
    createTls: createTlsSession,
    // One suite so recorded secrets map to packet keys without asking which was negotiated.
    tls:
      role === 'client'
        ? { serverName: 'localhost', alpn: ['hq-interop'], verify: { ca: [pki.ca] }, cipherSuites: ['TLS_AES_128_GCM_SHA256'], keyLog }
        : { alpn: ['hq-interop'], certificateChain: leaf.chain, privateKey: leaf.key, cipherSuites: ['TLS_AES_128_GCM_SHA256'], keyLog },
    version: VERSION,
    // No PMTU probes: they only add datagrams to the recording without reaching new parsers.
    pmtud: false,
    ...(faults.length ? { faults } : {}),
  };
}

/** The client application: once the handshake completes, one request on a bidirectional stream; reads what comes back. */
class ClientApp implements Endpoint {
  private opened = false;
  constructor(readonly conn: QuicConnection) {}
  receive(data: Uint8Array, from: Address, now: number): void {
    this.conn.receiveDatagram(data, from, now);
    this.app(now);
  }
  private app(now: number): void {
    for (let e = this.conn.pollEvent(); e; e = this.conn.pollEvent()) {
      if (e.type === 'stream-readable') while (this.conn.readStream(e.streamId, 65536, now).data.length);
    }
    if (!this.opened && this.conn.handshakeComplete) {
      this.opened = true;
      const id = this.conn.openStream('bidi');
      if (id !== undefined) this.conn.writeStream(id, REQUEST, true);
    }
  }
  poll(now: number) {
    return this.conn.pollDatagrams(now);
  }
  nextTimeout() {
    return this.conn.nextTimeout();
  }
  handleTimeout(now: number): void {
    this.conn.handleTimeout(now);
    this.app(now);
  }
  internalErrors() {
    return this.conn.internalErrors;
  }
  statesFor(): number {
    return 0;
  }
  alive(): boolean {
    return live(this.conn);
  }
}

function live(c: QuicConnection): boolean {
  return c.phase !== 'closing' && c.phase !== 'draining' && c.phase !== 'closed';
}

/** The server application: accepts connections and echoes each stream back once it ends. */
class ServerApp implements Endpoint {
  private readonly conns: QuicConnection[] = [];
  private readonly bodies = new Map<string, Uint8Array[]>();
  constructor(readonly server: QuicServer) {}
  receive(data: Uint8Array, from: Address, now: number): void {
    this.server.receiveDatagram(data, from, now, SERVER);
    this.app(now);
  }
  private app(now: number): void {
    for (let c = this.server.accept(); c; c = this.server.accept()) this.conns.push(c);
    this.conns.forEach((c, i) => {
      for (let e = c.pollEvent(); e; e = c.pollEvent()) {
        if (e.type !== 'stream-readable') continue;
        const key = `${i}/${e.streamId}`;
        const parts = this.bodies.get(key) ?? [];
        this.bodies.set(key, parts);
        for (;;) {
          const r = c.readStream(e.streamId, 65536, now);
          if (r.data.length) parts.push(r.data);
          if (r.fin) {
            c.writeStream(e.streamId, concat(...parts), true);
            break;
          }
          if (!r.data.length) break;
        }
      }
    });
  }
  poll(now: number) {
    return this.server.pollDatagrams(now);
  }
  nextTimeout() {
    return this.server.nextTimeout();
  }
  handleTimeout(now: number): void {
    this.server.handleTimeout(now);
    this.app(now);
  }
  internalErrors() {
    return [...this.server.internalErrors, ...[...this.server.connections].flatMap((c) => c.internalErrors)];
  }
  statesFor(a: Address): number {
    let n = 0;
    for (const c of this.server.connections) if (addressKey(c.remoteAddress) === addressKey(a)) n++;
    return n;
  }
  alive(): boolean {
    return this.conns.every(live);
  }
  validated(a: Address): boolean {
    for (const c of this.server.connections) if (c.isAddressValidated && addressKey(c.remoteAddress) === addressKey(a)) return true;
    return false;
  }
}

function newClient(keyLog?: (line: string) => void, faults: readonly QuicFault[] = []): ClientApp {
  return new ClientApp(new QuicConnection({ role: 'client', config: config('client', keyLog, faults), remote: SERVER, local: CLIENT, now: 0 }));
}

function newServer(keyLog?: (line: string) => void, faults: readonly QuicFault[] = []): ServerApp {
  // Fixed token and reset keys: the replayed server must answer exactly as the recorded one.
  return new ServerApp(new QuicServer({ config: config('server', keyLog, faults), tokenKey: new Uint8Array(16).fill(3), resetKey: new Uint8Array(32).fill(4) }));
}

interface Recording {
  toServer: Delivery[];
  toClient: Delivery[];
  secrets: Map<string, Uint8Array>;
  clientDcid: Uint8Array;
}

/** A genuine run between our client and server over a 10 ms link, every datagram kept with its arrival time. */
function record(): Recording {
  const secrets = new Map<string, Uint8Array>();
  const keyLog = (line: string) => {
    const [label, , secret] = line.split(' ');
    if (label && secret) secrets.set(label, fromHex(secret));
  };
  const client = newClient(keyLog);
  const server = newServer(keyLog);
  const queue: { at: number; seq: number; to: Role; data: Uint8Array }[] = [];
  const toServer: Delivery[] = [];
  const toClient: Delivery[] = [];
  let now = 0;
  let seq = 0;
  let clientDcid: Uint8Array | undefined;
  const flush = () => {
    for (const d of client.poll(now)) {
      clientDcid ??= splitDatagram(d.data, 8).packets[0]!.dcid.slice();
      queue.push({ at: now + DELAY, seq: seq++, to: 'server', data: d.data });
    }
    for (const d of server.poll(now)) queue.push({ at: now + DELAY, seq: seq++, to: 'client', data: d.data });
  };
  flush();
  for (let steps = 0; steps < 10_000; steps++) {
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const timers = [client.nextTimeout(), server.nextTimeout()].filter((t): t is number => t !== undefined);
    const t = Math.min(queue[0]?.at ?? Infinity, ...timers);
    // The conversation ends when the echo is done and only idle timers remain.
    if (!queue.length && (client.conn.isClosed || t > now + 5_000)) break;
    if (t === Infinity) break;
    now = Math.max(now, t);
    if (queue[0] && queue[0].at <= now) {
      const d = queue.shift()!;
      const label = labelOf(d.data, d.to === 'server' ? 8 : 0);
      if (d.to === 'server') {
        toServer.push({ at: now, data: d.data, label });
        server.receive(d.data, CLIENT, now);
      } else {
        toClient.push({ at: now, data: d.data, label });
        client.receive(d.data, SERVER, now);
      }
    } else {
      if ((client.nextTimeout() ?? Infinity) <= now) client.handleTimeout(now);
      if ((server.nextTimeout() ?? Infinity) <= now) server.handleTimeout(now);
    }
    flush();
  }
  return { toServer, toClient, secrets, clientDcid: clientDcid! };
}

function labelOf(d: Uint8Array, cidLength: number): string {
  const { packets } = splitDatagram(d, cidLength);
  return packets.map((p) => p.kind).join('+') || 'garbage';
}

/** Packet keys of one direction, per packet kind, from the recorded secrets. */
function keysFor(rec: Recording, sender: Role): Partial<Record<ProtectedHeader['kind'], PacketKeys>> {
  const init = initialKeys(crypto, VERSION, rec.clientDcid);
  const side = sender === 'client' ? 'CLIENT' : 'SERVER';
  const hs = rec.secrets.get(`${side}_HANDSHAKE_TRAFFIC_SECRET`);
  const app = rec.secrets.get(`${side}_TRAFFIC_SECRET_0`);
  return {
    initial: sender === 'client' ? init.client : init.server,
    handshake: hs ? derivePacketKeys(crypto, SUITE, hs, VERSION) : undefined,
    '1rtt': app ? derivePacketKeys(crypto, SUITE, app, VERSION) : undefined,
  };
}

/** Frame type bytes worth inserting: every RFC 9000 frame, ACK_FREQUENCY / IMMEDIATE_ACK, and unknown or reserved types. */
const FRAME_TYPES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0a, 0x0b, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0xaf, 0x21, 0x30, 0x3f];

/** A frame built from raw fields: a type then a few varints from the edge values, sometimes followed by bytes. */
function hostileFrame(r: Draw): Uint8Array {
  const parts = [encodeVarint(r.pick(FRAME_TYPES))];
  for (let k = r.int(5); k > 0; k--) parts.push(encodeVarint(r.chance(0.7) ? r.pick(VARINT_EDGES) : r.int(64)));
  if (r.chance(0.4)) parts.push(r.bytes(r.pick([0, 1, 8, 16, 20, 21, 32])));
  return concat(...parts);
}

/** Numeric fields of a decoded frame that can take an edge value. */
function withEdgeValue(r: Draw, f: Frame): Frame | undefined {
  const numeric = Object.entries(f).filter(([k, v]) => typeof v === 'number' && k !== 'length');
  if (f.type === 'ack') {
    const ranges = f.ranges.map((x) => ({ ...x }));
    const i = r.int(ranges.length);
    if (r.chance(0.5)) ranges[i] = { smallest: ranges[i]!.smallest, largest: ranges[i]!.largest + r.pick([1, 100, 2 ** 20]) };
    else ranges[i] = { smallest: Math.max(0, ranges[i]!.smallest - r.pick([1, 2, 100])), largest: ranges[i]!.largest };
    return { ...f, ranges, ackDelay: r.chance(0.3) ? r.pick(VARINT_EDGES) : f.ackDelay };
  }
  if (!numeric.length) return undefined;
  const [key] = r.pick(numeric);
  return { ...f, [key]: r.pick(VARINT_EDGES) } as Frame;
}

/** One edit of a decrypted payload: frames edited, dropped, duplicated, inserted, TLS messages in CRYPTO edited, raw bytes. */
function mutatePayload(r: Draw, payload: Uint8Array, kind: ProtectedHeader['kind']): { name: string; out: Uint8Array } {
  let frames: Frame[] | undefined;
  try {
    frames = decodeFrames(payload);
  } catch {
    frames = undefined;
  }
  const c = frames ? r.weighted([25, 10, 10, 20, 25, 10]) : 5;
  const crypto = frames?.findIndex((f) => f.type === 'crypto') ?? -1;
  const encode = (fs: Frame[]) => {
    try {
      return encodeFrames(fs);
    } catch {
      return undefined; // an edge value the encoder refuses: fall back to a raw insertion
    }
  };
  if (c === 4 && crypto >= 0) {
    const f = frames![crypto] as Extract<Frame, { type: 'crypto' }>;
    const msgs = splitTlsMessages(f.data);
    if (msgs.length) {
      const i = r.int(msgs.length);
      const m = mutateHandshakeMessage(r, msgs[i]!, false);
      msgs[i] = m.out;
      const out = encode(frames!.map((x, j) => (j === crypto ? { ...f, data: concat(...msgs) } : x)));
      if (out) return { name: `crypto-${m.name}`, out };
    }
  }
  if (frames && c <= 2) {
    const i = r.int(frames.length);
    const fs = frames.slice();
    if (c === 0) {
      const edited = withEdgeValue(r, fs[i]!);
      if (edited) {
        fs[i] = edited;
        const out = encode(fs);
        if (out) return { name: `frame-edge-${fs[i]!.type}`, out };
      }
    } else if (c === 1 && fs.length > 1) {
      fs.splice(i, 1);
      const out = encode(fs);
      if (out) return { name: `frame-drop-${frames[i]!.type}`, out };
    } else if (c === 2) {
      fs.splice(i, 0, fs[i]!);
      const out = encode(fs);
      if (out) return { name: `frame-duplicate-${frames[i]!.type}`, out };
    }
  }
  if (c !== 5 && frames) {
    // Insert a hostile frame at a frame boundary (after the first few frames, before any padding run).
    const nonPadding = frames.filter((f) => f.type !== 'padding');
    const at = r.int(nonPadding.length + 1);
    const before = encode(nonPadding.slice(0, at)) ?? new Uint8Array(0);
    const after = encode(nonPadding.slice(at)) ?? new Uint8Array(0);
    return { name: `frame-insert-${kind}`, out: concat(before, hostileFrame(r), after) };
  }
  const out = payload.slice();
  const flips = r.range(1, 4);
  for (let k = 0; k < flips && out.length; k++) out[r.int(Math.min(out.length, 48))]! ^= 1 << r.int(8);
  return { name: 'payload-bitflip', out };
}

/** Field-aware edit of one packet of a datagram: clear header fields, or a re-sealed edited payload. */
export function mutateDatagram(r: Draw, data: Uint8Array, cidLength: number, keys: Partial<Record<ProtectedHeader['kind'], PacketKeys>>): { name: string; out: Uint8Array } | undefined {
  const { packets } = splitDatagram(data, cidLength);
  if (!packets.length) return undefined;
  const p = r.pick(packets);
  const before = data.subarray(0, p.offset);
  const after = data.subarray(p.offset + p.packet.length);
  const k = keys[p.kind];
  if (!k || p.pnOffset < 0 || r.chance(0.2)) {
    // Clear header fields: first byte, version, CID lengths, token length, Length.
    const out = p.packet.slice();
    const end = Math.max(1, p.pnOffset > 0 ? p.pnOffset : Math.min(out.length, 24));
    const at = r.int(end);
    out[at] = r.pick([0x00, 0xff, 0x40, 0xc0, 0x14, 0x15, out[at]! ^ 0x80, out[at]! ^ 0x40, out[at]! + 1]);
    return { name: `header-${p.kind}`, out: concat(before, out, after) };
  }
  const opened = unprotectPacket(k, p.packet, p.pnOffset, -1);
  if (!opened) return undefined;
  const m = mutatePayload(r, opened.payload, p.kind);
  let payload = m.out;
  // Keep the packet at least as long as it was (an Initial must still fill 1200 bytes) and long enough to sample.
  const min = Math.max(opened.payload.length, minPayloadForSample(opened.pnLength));
  if (payload.length < min) payload = concat(payload, new Uint8Array(min - payload.length));
  let header = opened.header;
  let pnOffset = p.pnOffset;
  if (p.form === 'long') {
    const type = p.kind === 'initial' ? 'initial' : p.kind === 'handshake' ? 'handshake' : '0rtt';
    const h = encodeLongHeader({ type, version: p.version!, dcid: p.dcid, scid: p.scid, token: p.token }, opened.truncatedPn, opened.pnLength, payload.length + 16);
    header = h.header;
    pnOffset = h.pnOffset;
  }
  let packet: Uint8Array;
  try {
    packet = protectPacket(k, header, pnOffset, opened.pn, payload);
  } catch {
    return undefined;
  }
  return { name: m.name, out: concat(before, packet, after) };
}

let cached: Recording | undefined;

/** The QUIC target for one role; the recording is made once per process. */
export function quicTarget(role: Role, faults: readonly QuicFault[] = []): Target {
  const rec = (cached ??= record());
  const deliveries = role === 'server' ? rec.toServer : rec.toClient;
  const sender: Role = role === 'server' ? 'client' : 'server';
  const keys = keysFor(rec, sender);
  // The client's CID length is 0 (the server sends short headers to an empty DCID); the server's is 8.
  const cidLength = role === 'server' ? 8 : 0;
  const firstInitial = rec.toServer[0]!.data;
  return {
    protocol: 'quic',
    role,
    peer: role === 'server' ? CLIENT : SERVER,
    local: role === 'server' ? SERVER : CLIENT,
    deliveries,
    // The first datagram carrying a Handshake packet proves the client receives at its address (RFC 9000 §8.1).
    validatedAt: role === 'server' ? deliveries.findIndex((d) => d.label.includes('handshake')) : undefined,
    datagram: true,
    create: () => (role === 'server' ? newServer(undefined, faults) : newClient(undefined, faults)),
    fieldMutation: (r, _stage, data) => mutateDatagram(r, data, cidLength, keys),
    // A copy of the genuine first Initial from elsewhere is a legitimate new connection attempt (it decrypts).
    stateAllowed: (injected) => injected.length >= firstInitial.length && firstInitial.every((b, i) => injected[i] === b),
  };
}
