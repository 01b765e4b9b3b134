// Test support for DTLS: a virtual-time, scripted in-memory link between a DtlsClient and a DtlsServer, and PKI loading.

import { readFileSync } from 'node:fs';
import { nobleCrypto } from '../engine/crypto/noble.js';
import { seededRandom } from '../engine/crypto/random.js';
import type { Address } from '../engine/endpoint.js';
import { DtlsClient, DtlsServer, type DtlsConfig, type DtlsEvent, type DtlsServerConfig, type DtlsServerEvent } from '../engine/dtls/index.js';
import { loadCertificateChain, loadPrivateKey } from '../engine/tls/x509/pem.js';
import { makePki } from './helpers/pki.js';

export const crypto = nobleCrypto;
export const CLIENT_ADDR: Address = { host: '10.0.0.1', port: 40000 };
export const SERVER_ADDR: Address = { host: '10.0.0.2', port: 4433 };
/** The wall clock the certificates (made fresh by makePki) are checked against; protocol time is the link's virtual time. */
export const WALL = () => Date.now();

export function rng(seed: string) {
  return seededRandom(seed, (d) => crypto.hash('sha256', d));
}

export function serverIdentity(kind: 'ec' | 'rsa') {
  const pki = makePki();
  return {
    certificateChain: loadCertificateChain(readFileSync(pki.leaf[kind].cert, 'utf8')),
    privateKey: loadPrivateKey(readFileSync(pki.leaf[kind].key, 'utf8')),
  };
}

export function caAnchors(): Uint8Array[] {
  return loadCertificateChain(readFileSync(makePki().ca, 'utf8'));
}

export function clientConfig(over: Partial<DtlsConfig> = {}): DtlsConfig {
  return { crypto, random: rng('client'), clock: WALL, serverName: 'localhost', ca: caAnchors(), ...over };
}

export function serverConfig(kind: 'ec' | 'rsa' = 'ec', over: Partial<DtlsServerConfig> = {}): DtlsServerConfig {
  return { crypto, random: rng('server'), clock: WALL, ...serverIdentity(kind), ...over };
}

export type Direction = 'to-server' | 'to-client';
export interface Sent {
  time: number;
  direction: Direction;
  /** Index of the datagram in its direction, from 0. */
  index: number;
  data: Uint8Array;
}
/** Decides what happens to a datagram: a list of delivery delays (empty = dropped, two = duplicated). */
export type Impairment = (s: Sent) => number[];

/** A deterministic two-party link: each datagram is delivered after `delayMs` unless the impairment says otherwise. */
export class Link {
  now = 0;
  readonly sent: Sent[] = [];
  readonly clientEvents: DtlsEvent[] = [];
  readonly serverEvents: DtlsServerEvent[] = [];
  private queue: { at: number; order: number; to: Direction; data: Uint8Array }[] = [];
  private order = 0;
  private counts = { 'to-server': 0, 'to-client': 0 };

  constructor(
    readonly client: DtlsClient,
    readonly server: DtlsServer,
    /** Mutable: tests lift impairments once the handshake is done (DTLS does not retransmit application data). */
    public impair: Impairment = () => [10],
  ) {
    this.flush();
  }

  /** Collects output and events; call after API calls made directly on the endpoints. */
  flush(): void {
    for (const d of this.client.pollDatagrams(this.now)) this.transmit('to-server', d.data);
    for (const d of this.server.pollDatagrams(this.now)) this.transmit('to-client', d.data);
    for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) this.clientEvents.push(e);
    for (let e = this.server.pollEvent(); e; e = this.server.pollEvent()) this.serverEvents.push(e);
  }

  private transmit(direction: Direction, data: Uint8Array): void {
    const s: Sent = { time: this.now, direction, index: this.counts[direction]++, data };
    this.sent.push(s);
    for (const delay of this.impair(s)) this.queue.push({ at: this.now + delay, order: this.order++, to: direction, data });
  }

  /** Runs events in (time, order) until `done` holds or nothing is left to do before `limitMs`. */
  run(done: () => boolean, limitMs = 600_000): void {
    while (!done()) {
      this.queue.sort((a, b) => a.at - b.at || a.order - b.order);
      const candidates = [this.queue[0]?.at, this.client.nextTimeout(), this.server.nextTimeout()].filter((t): t is number => t !== undefined);
      if (!candidates.length) return;
      const t = Math.min(...candidates);
      if (t > limitMs) return;
      this.now = Math.max(this.now, t);
      if (this.queue[0] && this.queue[0].at <= this.now) {
        const d = this.queue.shift()!;
        if (d.to === 'to-server') this.server.receiveDatagram(d.data, CLIENT_ADDR, this.now);
        else this.client.receiveDatagram(d.data, SERVER_ADDR, this.now);
      } else {
        const ct = this.client.nextTimeout();
        if (ct !== undefined && ct <= this.now) this.client.handleTimeout(this.now);
        const st = this.server.nextTimeout();
        if (st !== undefined && st <= this.now) this.server.handleTimeout(this.now);
      }
      this.flush();
    }
  }

  clientSend(data: Uint8Array): void {
    this.client.send(data);
    this.flush();
  }

  serverSend(data: Uint8Array): void {
    this.server.send(CLIENT_ADDR, data);
    this.flush();
  }

  bothConnected(): boolean {
    return this.client.handshakeComplete && this.serverEvents.some((e) => e.event.type === 'handshake-complete');
  }
}

export function makeLink(opts: { client?: Partial<DtlsConfig>; server?: Partial<DtlsServerConfig>; kind?: 'ec' | 'rsa'; impair?: Impairment } = {}): Link {
  const server = new DtlsServer(serverConfig(opts.kind ?? 'ec', opts.server));
  const client = new DtlsClient(clientConfig(opts.client), SERVER_ADDR, 0);
  return new Link(client, server, opts.impair);
}

export function received(events: readonly DtlsEvent[]): string {
  return events.filter((e): e is Extract<DtlsEvent, { type: 'data' }> => e.type === 'data').map((e) => new TextDecoder().decode(e.data)).join('');
}
