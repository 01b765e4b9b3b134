// Packet kinds from unprotected header bits: QUIC invariants and long headers (RFC 8999 §5, RFC 9000 §17.2-17.3,
// RFC 9369 §3.2 for v2 type codes) and DTLS records (RFC 6347 §4.1, §4.2.2; RFC 9147 §4 unified header).

import type { DtlsKind, PacketKind, QuicKind } from './types.js';

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;
/** ngtcp2 0.12 still speaks the last v2 draft; its long-header types already use the v2 mapping. */
export const QUIC_V2_DRAFT = 0x709a50c4;

/** One packet (QUIC) or record (DTLS) inside a datagram. */
export interface PacketInfo {
  readonly kind: PacketKind;
  readonly offset: number;
  readonly length: number;
  /** QUIC long header fields. */
  readonly version?: number;
  readonly dcid?: Uint8Array;
  readonly scid?: Uint8Array;
  /** QUIC Initial token, or the Retry token (without its integrity tag). */
  readonly token?: Uint8Array;
  /** Version Negotiation: the versions the server offers. */
  readonly supportedVersions?: number[];
  /** DTLS record epoch; non-zero means the content is encrypted. */
  readonly epoch?: number;
  /** DTLS ClientHello cookie (empty on the first ClientHello of a cookie exchange). */
  readonly cookie?: Uint8Array;
}

export interface Classification {
  readonly protocol: 'quic' | 'dtls' | 'unknown';
  /** The first packet's kind: the datagram's kind for filters and the trace. */
  readonly kind: PacketKind;
  readonly packets: readonly PacketInfo[];
}

export interface ClassifyOptions {
  /** Which protocol the run speaks; without it the first byte decides. */
  readonly protocol?: 'quic' | 'dtls';
}

const UNKNOWN: Classification = { protocol: 'unknown', kind: 'unknown', packets: [] };

/** Never throws: malformed or truncated input yields 'unknown' for the unreadable part. */
export function classify(data: Uint8Array, opts: ClassifyOptions = {}): Classification {
  if (data.length === 0) return UNKNOWN;
  const protocol = opts.protocol ?? guessProtocol(data);
  if (protocol === 'dtls') return classifyDtls(data);
  if (protocol === 'quic') return classifyQuic(data);
  return UNKNOWN;
}

function guessProtocol(data: Uint8Array): 'quic' | 'dtls' | undefined {
  const b0 = data[0]!;
  // DTLS 1.0/1.2 record versions are 0xfeff/0xfefd (and 0xfefc for DTLS 1.3's legacy field); content types 20..25.
  if (b0 >= 20 && b0 <= 25 && data.length >= 13 && data[1] === 0xfe) return 'dtls';
  if ((b0 & 0xe0) === 0x20) return 'dtls'; // DTLS 1.3 unified header 0b001xxxxx
  if (b0 & 0x80) return 'quic';
  if (b0 & 0x40) return 'quic'; // short header with the fixed bit
  return undefined;
}

// ---------------------------------------------------------------- QUIC

function longType(version: number, bits: number): QuicKind | undefined {
  if (version === QUIC_V2 || version === QUIC_V2_DRAFT) return (['retry', 'initial', '0rtt', 'handshake'] as const)[bits];
  // v1 and its drafts (0xff0000xx) share the v1 codes; unknown versions are not guessed
  if (version === QUIC_V1 || (version >>> 8) === 0xff0000) return (['initial', '0rtt', 'handshake', 'retry'] as const)[bits];
  return undefined;
}

/** Bounds-checked varint read; undefined when truncated. */
function varintAt(d: Uint8Array, at: number): { value: number; next: number } | undefined {
  if (at >= d.length) return undefined;
  const len = 1 << (d[at]! >> 6);
  if (at + len > d.length) return undefined;
  let v = d[at]! & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + d[at + i]!;
  return { value: v, next: at + len };
}

function u32At(d: Uint8Array, at: number): number {
  return ((d[at]! << 24) >>> 0) + ((d[at + 1]! << 16) | (d[at + 2]! << 8) | d[at + 3]!);
}

function classifyQuic(data: Uint8Array): Classification {
  const packets: PacketInfo[] = [];
  let off = 0;
  // Coalescing (RFC 9000 §12.2): long-header packets carry a Length; a short header runs to the datagram's end.
  while (off < data.length) {
    const p = quicPacketAt(data, off);
    packets.push(p);
    if (p.kind === 'unknown' || p.length <= 0) break;
    off += p.length;
    // Padding after the last packet is not another packet: zero bytes cannot start a QUIC packet (fixed bit clear).
    if (off < data.length && data[off] === 0) break;
  }
  return { protocol: 'quic', kind: packets[0]?.kind ?? 'unknown', packets };
}

function quicPacketAt(d: Uint8Array, off: number): PacketInfo {
  const rest = d.length - off;
  const b0 = d[off]!;
  if (!(b0 & 0x80)) return { kind: '1rtt', offset: off, length: rest };
  const unknown: PacketInfo = { kind: 'unknown', offset: off, length: rest };
  if (rest < 7) return unknown;
  const version = u32At(d, off + 1);
  let p = off + 5;
  const dcidLen = d[p++]!;
  if (p + dcidLen + 1 > d.length) return { ...unknown, version };
  const dcid = d.subarray(p, p + dcidLen);
  p += dcidLen;
  const scidLen = d[p++]!;
  if (p + scidLen > d.length) return { ...unknown, version, dcid };
  const scid = d.subarray(p, p + scidLen);
  p += scidLen;
  if (version === 0) {
    const supportedVersions: number[] = [];
    for (; p + 4 <= d.length; p += 4) supportedVersions.push(u32At(d, p));
    return { kind: 'version-negotiation', offset: off, length: rest, version, dcid, scid, supportedVersions };
  }
  const kind = longType(version, (b0 >> 4) & 0x03);
  if (!kind) return { ...unknown, version, dcid, scid };
  if (kind === 'retry') {
    // The last 16 bytes are the Retry Integrity Tag (RFC 9001 §5.8).
    const token = d.subarray(p, Math.max(p, d.length - 16));
    return { kind, offset: off, length: rest, version, dcid, scid, token };
  }
  let token: Uint8Array | undefined;
  if (kind === 'initial') {
    const t = varintAt(d, p);
    if (!t || t.next + t.value > d.length) return { ...unknown, version, dcid, scid };
    token = d.subarray(t.next, t.next + t.value);
    p = t.next + t.value;
  }
  const len = varintAt(d, p);
  if (!len || len.next + len.value > d.length) return { kind, offset: off, length: rest, version, dcid, scid, ...(token ? { token } : {}) };
  return { kind, offset: off, length: len.next + len.value - off, version, dcid, scid, ...(token ? { token } : {}) };
}

// ---------------------------------------------------------------- DTLS

const HANDSHAKE_TYPES: Record<number, DtlsKind> = {
  1: 'client-hello',
  2: 'server-hello',
  3: 'hello-verify-request',
  11: 'certificate',
  12: 'server-key-exchange',
  13: 'certificate-request',
  14: 'server-hello-done',
  15: 'certificate-verify',
  16: 'client-key-exchange',
  20: 'finished',
};

const RECORD_HEADER = 13; // type, version(2), epoch(2), sequence(6), length(2)
const HANDSHAKE_HEADER = 12; // msg_type, length(3), message_seq(2), fragment_offset(3), fragment_length(3)

function classifyDtls(data: Uint8Array): Classification {
  const packets: PacketInfo[] = [];
  let off = 0;
  while (off < data.length) {
    const b0 = data[off]!;
    if ((b0 & 0xe0) === 0x20) {
      // DTLS 1.3 ciphertext: its length field is optional, so it may run to the end of the datagram.
      packets.push({ kind: 'dtls13-ciphertext', offset: off, length: data.length - off });
      break;
    }
    if (data.length - off < RECORD_HEADER) {
      packets.push({ kind: 'unknown', offset: off, length: data.length - off });
      break;
    }
    const epoch = (data[off + 3]! << 8) | data[off + 4]!;
    const len = (data[off + 11]! << 8) | data[off + 12]!;
    const body = off + RECORD_HEADER;
    const end = Math.min(data.length, body + len);
    packets.push(dtlsRecord(data, b0, epoch, off, body, end));
    if (body + len > data.length) break;
    off = end;
  }
  return { protocol: 'dtls', kind: packets[0]?.kind ?? 'unknown', packets };
}

function dtlsRecord(d: Uint8Array, type: number, epoch: number, off: number, body: number, end: number): PacketInfo {
  const base = { offset: off, length: end - off, epoch };
  switch (type) {
    case 20:
      return { kind: 'change-cipher-spec', ...base };
    case 21:
      return { kind: 'alert', ...base };
    case 23:
      return { kind: 'application-data', ...base };
    case 22: {
      if (epoch !== 0) return { kind: 'encrypted-handshake', ...base };
      if (body >= end) return { kind: 'unknown', ...base };
      const kind = HANDSHAKE_TYPES[d[body]!] ?? 'dtls-handshake';
      if (kind === 'client-hello') {
        const cookie = clientHelloCookie(d, body, end);
        return cookie ? { kind, ...base, cookie } : { kind, ...base };
      }
      return { kind, ...base };
    }
    default:
      return { kind: 'unknown', ...base };
  }
}

/** Cookie of an unfragmented ClientHello (RFC 6347 §4.2.1): version, random, session_id<0..32>, cookie<0..255>. */
function clientHelloCookie(d: Uint8Array, body: number, end: number): Uint8Array | undefined {
  let p = body + HANDSHAKE_HEADER + 2 + 32;
  if (p >= end) return undefined;
  p += 1 + d[p]!;
  if (p >= end) return undefined;
  const n = d[p]!;
  if (p + 1 + n > end) return undefined;
  return d.subarray(p + 1, p + 1 + n);
}

// ---------------------------------------------------------------- filters

/**
 * The packet-kind names a scenario's `only:` accepts, and the protocol each belongs to: exactly the kinds classify()
 * produces. scenarios/schema.json's `packetKind` enum lists the same names (test/sim-classify.spec.ts keeps them equal),
 * so a name the schema accepts always reaches a filter, and a wrong one is a schema error at its file:line:col.
 */
export const FILTER_KINDS = {
  initial: 'quic',
  '0rtt': 'quic',
  handshake: 'quic',
  retry: 'quic',
  'version-negotiation': 'quic',
  '1rtt': 'quic',
  'client-hello': 'dtls',
  'hello-verify-request': 'dtls',
  'server-hello': 'dtls',
  certificate: 'dtls',
  'server-key-exchange': 'dtls',
  'certificate-request': 'dtls',
  'server-hello-done': 'dtls',
  'certificate-verify': 'dtls',
  'client-key-exchange': 'dtls',
  finished: 'dtls',
  'dtls-handshake': 'dtls',
  'encrypted-handshake': 'dtls',
  'change-cipher-spec': 'dtls',
  alert: 'dtls',
  'application-data': 'dtls',
  'dtls13-ciphertext': 'dtls',
  unknown: 'any',
} as const satisfies Record<PacketKind, 'quic' | 'dtls' | 'any'>;

export const FILTER_KIND_NAMES = Object.keys(FILTER_KINDS) as PacketKind[];

const ALIASES: Record<string, PacketKind> = {
  initial: 'initial',
  '0rtt': '0rtt',
  zerortt: '0rtt',
  handshake: 'handshake',
  retry: 'retry',
  vn: 'version-negotiation',
  versionnegotiation: 'version-negotiation',
  '1rtt': '1rtt',
  short: '1rtt',
  clienthello: 'client-hello',
  helloverifyrequest: 'hello-verify-request',
  hvr: 'hello-verify-request',
  serverhello: 'server-hello',
  certificate: 'certificate',
  serverkeyexchange: 'server-key-exchange',
  certificaterequest: 'certificate-request',
  serverhellodone: 'server-hello-done',
  certificateverify: 'certificate-verify',
  clientkeyexchange: 'client-key-exchange',
  finished: 'finished',
  dtlshandshake: 'dtls-handshake',
  encryptedhandshake: 'encrypted-handshake',
  changecipherspec: 'change-cipher-spec',
  ccs: 'change-cipher-spec',
  alert: 'alert',
  applicationdata: 'application-data',
  dtls13ciphertext: 'dtls13-ciphertext',
  unknown: 'unknown',
};

/** Accepts the canonical names and the spellings people write in scenarios ("0-RTT", "ClientHello", "VN"). */
export function parseKind(name: string): PacketKind | undefined {
  return ALIASES[name.toLowerCase().replace(/[^a-z0-9]/g, '')];
}

/**
 * Which datagrams an impairment applies to. 'any' (default) matches a coalesced datagram if any of its packets is of
 * a listed kind — dropping the datagram drops them all, so that is what "impair Handshake packets" has to mean.
 */
export interface KindFilter {
  readonly kinds: readonly PacketKind[];
  readonly match?: 'first' | 'any';
}

export function matchesFilter(c: Classification, f: KindFilter | undefined): boolean {
  if (!f) return true;
  if (f.match === 'first') return f.kinds.includes(c.kind);
  if (c.packets.length === 0) return f.kinds.includes(c.kind);
  return c.packets.some((p) => f.kinds.includes(p.kind));
}
