// On-wire observer of TLS 1.3 over TCP (RFC 8446 §5.1 record framing, §4.1.2 ClientHello, §4.1.3 ServerHello and
// HelloRetryRequest, §4.2.11 pre_shared_key, §6 alerts): parses each connection's two byte streams as delivered, reads
// what is in the clear (hellos, the chosen suite and group, resumption, plaintext alerts, record counts) and keeps
// the protected records so a key-log-assisted decode (interop/runner/tls-wire-analysis.ts) can read the rest.

import { HRR_RANDOM } from './stream-impairments.js';
import type { Direction } from './types.js';

export interface WireRecord {
  /** Outer content type (23 for every protected record). */
  readonly type: number;
  /** The whole record: header and body. */
  readonly bytes: Uint8Array;
  /** When its last byte arrived (ms). */
  readonly time: number;
}

export interface PlainAlert {
  readonly from: 'client' | 'server';
  readonly level: number;
  readonly description: number;
  readonly time: number;
}

export interface ClientHelloFacts {
  readonly random: Uint8Array;
  readonly groups: number[];
  readonly keyShares: number[];
  readonly pskOffered: boolean;
  readonly earlyData: boolean;
  readonly alpn: string[];
}

export interface ServerHelloFacts {
  readonly suite: number;
  readonly group?: number;
  readonly psk: boolean;
  readonly version?: number;
}

export interface TransportEvent {
  readonly kind: 'fin' | 'rst';
  readonly time: number;
}

/** Everything the clear text of one connection shows, both directions. */
export class TlsConnectionObserver {
  readonly records: Record<Direction, WireRecord[]> = { 'to-server': [], 'to-client': [] };
  readonly clientHellos: ClientHelloFacts[] = [];
  serverHello: ServerHelloFacts | undefined;
  helloRetryRequests = 0;
  /** Group the HelloRetryRequest asked for. */
  hrrGroup: number | undefined;
  readonly alerts: PlainAlert[] = [];
  readonly counts: Record<Direction, Record<string, number>> = { 'to-server': {}, 'to-client': {} };
  readonly bytes: Record<Direction, number> = { 'to-server': 0, 'to-client': 0 };
  readonly transport: Record<Direction, TransportEvent[]> = { 'to-server': [], 'to-client': [] };
  /** Framing errors (a record header that cannot be TLS): the rest of that direction is not parsed. */
  readonly problems: string[] = [];
  openedAt: number | undefined;
  private readonly pending: Record<Direction, Uint8Array> = { 'to-server': new Uint8Array(0), 'to-client': new Uint8Array(0) };
  private readonly handshake: Record<Direction, Uint8Array> = { 'to-server': new Uint8Array(0), 'to-client': new Uint8Array(0) };
  private readonly broken: Record<Direction, boolean> = { 'to-server': false, 'to-client': false };

  constructor(readonly id: number) {}

  /** Bytes that reached the receiver, in order. */
  deliver(direction: Direction, data: Uint8Array, time: number): void {
    this.bytes[direction] += data.length;
    if (this.broken[direction]) return;
    let buf = concat(this.pending[direction], data);
    let i = 0;
    while (buf.length - i >= 5) {
      const type = buf[i]!;
      const len = (buf[i + 3]! << 8) | buf[i + 4]!;
      if (type < 20 || type > 24 || buf[i + 1] !== 3) {
        this.problems.push(`${direction}: bytes at record ${this.records[direction].length + 1} are not a TLS record header (type ${type}, version ${buf[i + 1]}.${buf[i + 2]})`);
        this.broken[direction] = true;
        this.pending[direction] = new Uint8Array(0);
        return;
      }
      if (buf.length - i < 5 + len) break;
      const rec = buf.slice(i, i + 5 + len);
      i += 5 + len;
      this.record(direction, type, rec, time);
    }
    this.pending[direction] = buf.subarray(i).slice();
    buf = new Uint8Array(0);
  }

  /** FIN or RST reached the receiver of `direction`. */
  end(direction: Direction, kind: 'fin' | 'rst', time: number): void {
    this.transport[direction].push({ kind, time });
  }

  /** Bytes of an incomplete record left when the direction ended (a truncated record). */
  partial(direction: Direction): number {
    return this.pending[direction].length;
  }

  private record(direction: Direction, type: number, rec: Uint8Array, time: number): void {
    const name = type === 20 ? 'change_cipher_spec' : type === 21 ? 'alert' : type === 22 ? 'handshake' : type === 23 ? 'application_data' : `type_${type}`;
    const c = this.counts[direction];
    c[name] = (c[name] ?? 0) + 1;
    this.records[direction].push({ type, bytes: rec, time });
    const body = rec.subarray(5);
    if (type === 21 && body.length === 2) {
      this.alerts.push({ from: direction === 'to-server' ? 'client' : 'server', level: body[0]!, description: body[1]!, time });
    } else if (type === 22) {
      this.handshake[direction] = concat(this.handshake[direction], body);
      this.plainMessages(direction);
    }
  }

  /** Complete plaintext handshake messages of one direction. */
  private plainMessages(direction: Direction): void {
    let buf = this.handshake[direction];
    while (buf.length >= 4) {
      const len = (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!;
      if (buf.length < 4 + len) break;
      const msg = buf.subarray(0, 4 + len);
      buf = buf.subarray(4 + len);
      try {
        if (msg[0] === 1 && direction === 'to-server') this.clientHellos.push(parseClientHello(msg.subarray(4)));
        else if (msg[0] === 2 && direction === 'to-client') this.onServerHello(msg.subarray(4));
      } catch (e) {
        this.problems.push(`${direction}: malformed ${msg[0] === 1 ? 'ClientHello' : 'ServerHello'}: ${(e as Error).message}`);
      }
    }
    this.handshake[direction] = buf.slice();
  }

  private onServerHello(body: Uint8Array): void {
    const random = body.subarray(2, 34);
    const hrr = random.length === 32 && random.every((b, k) => b === HRR_RANDOM[k]);
    const sh = parseServerHello(body);
    if (hrr) {
      this.helloRetryRequests++;
      this.hrrGroup = sh.group;
    } else this.serverHello = sh;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!a.length) return b;
  if (!b.length) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

class Cursor {
  i = 0;
  constructor(readonly b: Uint8Array) {}
  need(n: number): void {
    if (this.i + n > this.b.length) throw new Error(`truncated at byte ${this.i}`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.i++]!;
  }
  u16(): number {
    this.need(2);
    const v = (this.b[this.i]! << 8) | this.b[this.i + 1]!;
    this.i += 2;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.i, this.i + n);
    this.i += n;
    return v;
  }
  vec8(): Uint8Array {
    return this.bytes(this.u8());
  }
  vec16(): Uint8Array {
    return this.bytes(this.u16());
  }
  get done(): boolean {
    return this.i >= this.b.length;
  }
}

function extensions(c: Cursor): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  if (c.done) return out;
  const e = new Cursor(c.vec16());
  while (!e.done) {
    const type = e.u16();
    out.set(type, e.vec16());
  }
  return out;
}

const u16List = (b: Uint8Array | undefined): number[] => {
  if (!b) return [];
  const c = new Cursor(b);
  const l = new Cursor(c.vec16());
  const out: number[] = [];
  while (!l.done) out.push(l.u16());
  return out;
};

export function parseClientHello(body: Uint8Array): ClientHelloFacts {
  const c = new Cursor(body);
  c.u16(); // legacy_version
  const random = c.bytes(32).slice();
  c.vec8(); // legacy_session_id
  c.vec16(); // cipher_suites
  c.vec8(); // legacy_compression_methods
  const ext = extensions(c);
  const keyShares: number[] = [];
  const ks = ext.get(51);
  if (ks) {
    const l = new Cursor(new Cursor(ks).vec16());
    while (!l.done) {
      keyShares.push(l.u16());
      l.vec16();
    }
  }
  const alpn: string[] = [];
  const a = ext.get(16);
  if (a) {
    const l = new Cursor(new Cursor(a).vec16());
    while (!l.done) alpn.push(new TextDecoder().decode(l.vec8()));
  }
  return { random, groups: u16List(ext.get(10)), keyShares, pskOffered: ext.has(41), earlyData: ext.has(42), alpn };
}

export function parseServerHello(body: Uint8Array): ServerHelloFacts {
  const c = new Cursor(body);
  c.u16();
  c.bytes(32);
  c.vec8();
  const suite = c.u16();
  c.u8();
  const ext = extensions(c);
  const ks = ext.get(51);
  const sv = ext.get(43);
  return {
    suite,
    ...(ks && ks.length >= 2 ? { group: (ks[0]! << 8) | ks[1]! } : {}),
    psk: ext.has(41),
    ...(sv && sv.length === 2 ? { version: (sv[0]! << 8) | sv[1]! } : {}),
  };
}

export const GROUP_NAMES: Record<number, string> = { 0x1d: 'x25519', 0x17: 'secp256r1', 0x18: 'secp384r1', 0x19: 'secp521r1', 0x1e: 'x448', 0x11ec: 'X25519MLKEM768' };
export const SUITE_NAMES: Record<number, string> = { 0x1301: 'TLS_AES_128_GCM_SHA256', 0x1302: 'TLS_AES_256_GCM_SHA384', 0x1303: 'TLS_CHACHA20_POLY1305_SHA256' };
export const groupName = (g: number | undefined): string => (g === undefined ? 'none' : GROUP_NAMES[g] ?? `0x${g.toString(16)}`);
