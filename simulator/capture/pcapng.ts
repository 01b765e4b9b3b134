// pcapng writer (draft-ietf-opsawg-pcapng: SHB §4.1, IDB §4.2, EPB §4.3, DSB §4.7 with the TLS key log secrets type
// 0x544c534b) over LINKTYPE_RAW, with synthetic IPv4 (RFC 791) and UDP (RFC 768) headers around each datagram,
// so Wireshark/tshark open a run's capture with its secrets and need no key log file.

import { Writer } from '../../engine/wire/writer.js';
import type { Address } from '../../engine/endpoint.js';
import { fateComment, type CapturedDatagram } from './recorder.js';

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const DSB = 0x0000000a;
const TLS_KEY_LOG = 0x544c534b;
const LINKTYPE_RAW = 101;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;

export interface PcapngOptions {
  /** NSS key log text to embed (a Decryption Secrets Block before the first packet). */
  keylog?: string;
  /** Wall-clock epoch (ms) of time 0; default 0, so captures of the same run are byte-identical. */
  epochMs?: number;
  /** Leave out datagrams that never arrived (default: keep them, with a comment saying why). */
  deliveredOnly?: boolean;
}

export function writePcapng(datagrams: readonly CapturedDatagram[], opts: PcapngOptions = {}): Uint8Array {
  const w = new LeWriter();
  block(w, SHB, (b) => {
    b.u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff); // byte-order magic, v1.0, section length unknown
    option(b, SHB_USERAPPL, new TextEncoder().encode('crosswire simulator'));
    b.u32(0); // opt_endofopt
  });
  block(w, IDB, (b) => {
    b.u16(LINKTYPE_RAW).u16(0).u32(0); // snaplen 0 = unlimited; default resolution: microseconds
    b.u32(0);
  });
  if (opts.keylog) {
    const secrets = new TextEncoder().encode(opts.keylog);
    block(w, DSB, (b) => {
      b.u32(TLS_KEY_LOG).u32(secrets.length).bytes(secrets).pad();
    });
  }
  let ipId = 0;
  for (const d of datagrams) {
    const comment = d.comment ?? fateComment(d.entry);
    if (opts.deliveredOnly && d.entry && d.entry.arrivedAt === undefined) continue;
    const pkt = ipv4Udp(d.from, d.to, d.data, ipId++ & 0xffff);
    const us = BigInt(Math.round(((opts.epochMs ?? 0) + d.time) * 1000));
    block(w, EPB, (b) => {
      b.u32(0).u32(Number(us >> 32n)).u32(Number(us & 0xffffffffn)).u32(pkt.length).u32(pkt.length).bytes(pkt).pad();
      if (comment) option(b, OPT_COMMENT, new TextEncoder().encode(comment));
      b.u32(0);
    });
  }
  return w.finish();
}

/** A block: type, total length, body, total length again (all little-endian here; the SHB magic says so). */
function block(w: LeWriter, type: number, body: (b: LeWriter) => void): void {
  const b = new LeWriter();
  body(b);
  const inner = b.finish();
  const total = 12 + inner.length;
  w.u32(type).u32(total).bytes(inner).u32(total);
}

function option(b: LeWriter, code: number, value: Uint8Array): void {
  b.u16(code).u16(value.length).bytes(value).pad();
}

/** Little-endian byte sink in chunks, so multi-megabyte captures do not go through a per-byte array. */
class LeWriter {
  private readonly chunks: Uint8Array[] = [];
  private cur = new Uint8Array(4096);
  private pos = 0;
  private total = 0;

  private room(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.chunks.push(this.cur.subarray(0, this.pos));
    this.cur = new Uint8Array(Math.max(4096, n));
    this.pos = 0;
  }
  u16(v: number): this {
    this.room(2);
    this.cur[this.pos++] = v & 0xff;
    this.cur[this.pos++] = (v >>> 8) & 0xff;
    this.total += 2;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    for (let i = 0; i < 4; i++) this.cur[this.pos++] = (v >>> (8 * i)) & 0xff;
    this.total += 4;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.cur.set(b, this.pos);
    this.pos += b.length;
    this.total += b.length;
    return this;
  }
  pad(): this {
    const n = (4 - (this.total % 4)) % 4;
    return n ? this.bytes(new Uint8Array(n)) : this;
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.total);
    let o = 0;
    for (const c of [...this.chunks, this.cur.subarray(0, this.pos)]) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** IPv4 dotted quad to 4 bytes; anything else (e.g. a synthetic rebinding host) maps into 10.255.0.0/16 stably. */
export function ipv4Bytes(host: string): Uint8Array {
  const o = host.split('.').map(Number);
  if (o.length === 4 && o.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) return Uint8Array.from(o);
  let h = 0;
  for (const c of host) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return Uint8Array.from([10, 255, (h >>> 8) & 0xff, h & 0xff]);
}

function checksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** IPv4 header (DF set, TTL 64) + UDP header with a real checksum, around `payload`. */
export function ipv4Udp(from: Address, to: Address, payload: Uint8Array, id = 0): Uint8Array {
  const src = ipv4Bytes(from.host);
  const dst = ipv4Bytes(to.host);
  const udpLen = 8 + payload.length;
  const ip = new Writer(20).u8(0x45).u8(0).u16(20 + udpLen).u16(id).u16(0x4000).u8(64).u8(17).u16(0).bytes(src).bytes(dst).finish();
  const ipSum = checksum(ip);
  ip[10] = ipSum >> 8;
  ip[11] = ipSum & 0xff;
  const udp = new Writer(udpLen).u16(from.port).u16(to.port).u16(udpLen).u16(0).bytes(payload).finish();
  const pseudo = new Writer(12).bytes(src).bytes(dst).u8(0).u8(17).u16(udpLen).finish();
  let sum = 0;
  for (let i = 0; i < pseudo.length; i += 2) sum += (pseudo[i]! << 8) | pseudo[i + 1]!;
  const udpSum = checksum(udp, sum) || 0xffff; // 0 means "no checksum" in IPv4 UDP
  udp[6] = udpSum >> 8;
  udp[7] = udpSum & 0xff;
  const out = new Uint8Array(20 + udpLen);
  out.set(ip);
  out.set(udp, 20);
  return out;
}
