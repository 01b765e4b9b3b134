// In-memory QUIC client↔server wiring for the connection tests: a virtual clock, a scripted link, our own server endpoint.

import { readFileSync } from 'node:fs';
import { makePki } from './helpers/pki.js';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { seededRandom } from '../engine/crypto/random.js';
import { createTlsSession } from '../engine/tls/session.js';
import { loadCertificateChain, loadPrivateKey, pemDecode } from '../engine/tls/x509/pem.js';
import type { Address, DatagramEndpoint, OutgoingDatagram } from '../engine/endpoint.js';
import { QuicConnection } from '../engine/quic/connection.js';
import type { QuicConfig } from '../engine/quic/config.js';
import type { ConnectionEvent } from '../engine/quic/connection-events.js';
import { QlogBuffer } from '../engine/quic/qlog.js';
import { encodeShortHeader } from '../engine/quic/packet.js';
import { truncatePacketNumber } from '../engine/quic/packet-number.js';
import { protectPacket, type PacketKeys } from '../engine/quic/protection.js';
import { concat } from '../engine/wire/bytes.js';
import { QuicServer, type ServerOptions } from '../engine/quic/server.js';

export const CLIENT_ADDR: Address = { host: '10.0.0.1', port: 50000 };
export const SERVER_ADDR: Address = { host: '10.0.0.2', port: 443 };

let counter = 0;
/** TLS checks certificate dates against this; the test PKI is made now, so a fixed past date would fail. */
const TEST_WALL_CLOCK = Date.now() + 60_000;

export function pkiMaterial() {
  const pki = makePki();
  return {
    ca: pemDecode(readFileSync(pki.ca, 'utf8'), 'CERTIFICATE'),
    chain: loadCertificateChain(readFileSync(pki.leaf.ec.cert, 'utf8')),
    key: loadPrivateKey(readFileSync(pki.leaf.ec.key, 'utf8')),
  };
}

export function baseConfig(role: 'client' | 'server', over: Partial<QuicConfig> = {}, seed = `${role}-${counter++}`): QuicConfig {
  const m = pkiMaterial();
  const random = seededRandom(seed, (d) => nobleCrypto.hash('sha256', d));
  return {
    crypto: nobleCrypto,
    random,
    clock: () => TEST_WALL_CLOCK,
    createTls: createTlsSession,
    tls:
      role === 'client'
        ? { serverName: 'localhost', alpn: ['hq-interop'], verify: { ca: m.ca } }
        : { alpn: ['hq-interop'], certificateChain: m.chain, privateKey: m.key, ticketKey: new Uint8Array(32).fill(7), earlyData: true },
    ...over,
  };
}

export interface LinkRule {
  /** Decide the fate of the n-th datagram (0-based) in a direction: deliver, drop, or hold back until later. */
  (index: number, d: OutgoingDatagram): 'deliver' | 'drop' | 'hold' | Uint8Array;
}

/** Two endpoints joined by a link with a fixed one-way delay and per-direction scripts. */
export class Wire {
  now = 0;
  readonly delay: number;
  private queue: { at: number; seq: number; to: 'client' | 'server'; data: Uint8Array; from: Address }[] = [];
  private seq = 0;
  readonly sent = { toServer: 0, toClient: 0 };
  readonly bytes = { toServer: 0, toClient: 0 };
  toServer: LinkRule = () => 'deliver';
  toClient: LinkRule = () => 'deliver';
  held: { to: 'client' | 'server'; data: Uint8Array; from: Address }[] = [];
  clientAddress: Address = CLIENT_ADDR;
  log: string[] = [];

  constructor(
    readonly client: DatagramEndpoint,
    readonly server: DatagramEndpoint,
    delay = 10,
  ) {
    this.delay = delay;
  }

  /** Flush output of both sides onto the link. */
  private flush(): void {
    for (const d of this.client.pollDatagrams(this.now)) {
      const i = this.sent.toServer++;
      this.bytes.toServer += d.data.length;
      const fate = this.toServer(i, d);
      this.log.push(`c→s #${i} ${d.data.length}B ${fate instanceof Uint8Array ? 'modified' : fate}`);
      if (fate instanceof Uint8Array) this.queue.push({ at: this.now + this.delay, seq: this.seq++, to: 'server', data: fate, from: this.clientAddress });
      else if (fate === 'deliver') this.queue.push({ at: this.now + this.delay, seq: this.seq++, to: 'server', data: d.data, from: this.clientAddress });
      else if (fate === 'hold') this.held.push({ to: 'server', data: d.data, from: this.clientAddress });
    }
    for (const d of this.server.pollDatagrams(this.now)) {
      const i = this.sent.toClient++;
      this.bytes.toClient += d.data.length;
      const fate = this.toClient(i, d);
      this.log.push(`s→c #${i} ${d.data.length}B ${fate instanceof Uint8Array ? 'modified' : fate}`);
      if (fate instanceof Uint8Array) this.queue.push({ at: this.now + this.delay, seq: this.seq++, to: 'client', data: fate, from: SERVER_ADDR });
      else if (fate === 'deliver') this.queue.push({ at: this.now + this.delay, seq: this.seq++, to: 'client', data: d.data, from: SERVER_ADDR });
      else if (fate === 'hold') this.held.push({ to: 'client', data: d.data, from: SERVER_ADDR });
    }
  }

  /** Deliver held datagrams now (in reverse order: a reordering). */
  releaseHeld(reverse = true): void {
    const h = reverse ? this.held.reverse() : this.held;
    for (const d of h) this.queue.push({ at: this.now + this.delay, seq: this.seq++, ...d });
    this.held = [];
  }

  /** One step: send what is ready, then advance to the next delivery or timer and process it. False when idle. */
  step(): boolean {
    this.flush();
    return this.advance(Infinity);
  }

  /** Runs until `until` returns true or virtual time passes `limitMs`. */
  run(until: () => boolean, limitMs = 60_000): boolean {
    const end = this.now + limitMs;
    for (let guard = 0; guard < 100_000; guard++) {
      this.flush();
      if (until()) return true;
      if (!this.advance(end)) return until();
    }
    return until();
  }

  private advance(end: number): boolean {
    {
      const timers = [this.client.nextTimeout(), this.server.nextTimeout()].filter((t): t is number => t !== undefined);
      const nextDelivery = this.queue.length ? Math.min(...this.queue.map((q) => q.at)) : undefined;
      const candidates = [...timers, ...(nextDelivery !== undefined ? [nextDelivery] : [])];
      if (!candidates.length) return false;
      const t = Math.max(this.now, Math.min(...candidates));
      if (t > end) return false;
      this.now = t;
      const due = this.queue.filter((q) => q.at <= t).sort((a, b) => a.at - b.at || a.seq - b.seq);
      this.queue = this.queue.filter((q) => q.at > t);
      for (const d of due) {
        if (d.to === 'server') this.server.receiveDatagram(d.data, d.from, this.now, SERVER_ADDR);
        else this.client.receiveDatagram(d.data, d.from, this.now, this.clientAddress);
      }
      const ct = this.client.nextTimeout();
      if (ct !== undefined && ct <= this.now) this.client.handleTimeout(this.now);
      const st = this.server.nextTimeout();
      if (st !== undefined && st <= this.now) this.server.handleTimeout(this.now);
    }
    return true;
  }
}

export function drainEvents(c: { pollEvent(): ConnectionEvent | undefined }): ConnectionEvent[] {
  const out: ConnectionEvent[] = [];
  for (let e = c.pollEvent(); e; e = c.pollEvent()) out.push(e);
  return out;
}

export function newClient(over: Partial<QuicConfig> = {}, qlog?: QlogBuffer): QuicConnection {
  return new QuicConnection({ role: 'client', config: baseConfig('client', { ...over, qlog: qlog?.sink }), remote: SERVER_ADDR, now: 0 });
}

export function newServer(over: Partial<ServerOptions> = {}, cfg: Partial<QuicConfig> = {}): QuicServer {
  return new QuicServer({ config: baseConfig('server', cfg), ...over });
}

/** A client, our server endpoint, and the link between them; `serverConn()` is the accepted connection. */
export function pair(opts: { client?: Partial<QuicConfig>; server?: Partial<QuicConfig>; endpoint?: Partial<ServerOptions>; delay?: number; clientQlog?: QlogBuffer } = {}) {
  const client = newClient(opts.client, opts.clientQlog);
  const server = newServer(opts.endpoint, opts.server);
  const wire = new Wire(client, server, opts.delay ?? 10);
  let accepted: QuicConnection | undefined;
  const serverConn = () => (accepted ??= server.accept());
  return { client, server, wire, serverConn };
}

/** Connected pair, handshake done. */
export function connectedPair(opts: Parameters<typeof pair>[0] = {}) {
  const p = pair(opts);
  if (!p.wire.run(() => p.client.handshakeConfirmed && !!p.serverConn()?.handshakeConfirmed)) throw new Error(`handshake failed: ${p.wire.log.join(' | ')}`);
  drainEvents(p.client);
  drainEvents(p.serverConn()!);
  return { ...p, serverConn: p.serverConn as () => QuicConnection };
}

/**
 * A 1-RTT packet from `conn` carrying exactly `payload` (raw frame bytes): how the tests play a misbehaving peer.
 * It uses the connection's real keys and next packet number, so the receiver authenticates it.
 */
export function forge1Rtt(conn: QuicConnection, payload: Uint8Array): Uint8Array {
  const c = conn as unknown as { spaces: { application: { nextPn: number; sendKeys: PacketKeys } }; sendKeyPhase: boolean };
  const space = c.spaces.application;
  const pn = space.nextPn++;
  const { header, pnOffset } = encodeShortHeader({ dcid: conn.cids.activeRemote.cid, keyPhase: c.sendKeyPhase }, truncatePacketNumber(pn, 4), 4);
  const body = payload.length >= 4 ? payload : concat(payload, new Uint8Array(4 - payload.length));
  return protectPacket(space.sendKeys, header, pnOffset, pn, body);
}
