// Mutations for wire fuzzing: blind byte edits (bit flips, interesting values, truncation, splicing, duplication) and
// structure-aware edits of TLS handshake messages (RFC 8446 §4, RFC 6347 §4.2.2 headers), their extensions (§4.2) and
// QUIC transport parameters (RFC 9000 §18), re-encoded with consistent lengths unless the edit is the length itself.

import { concat, hex } from '../../engine/wire/bytes.js';
import type { LiveInput, LivePlan } from './live-types.js';
import type { Draw } from './rng.js';

// ------------------------------------------------------------------------------------------------ bytes

/** Boundary values for 8/16/32-bit fields: where parsers' arithmetic tends to go wrong. */
const INTERESTING8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x40, 0x3f, 0xfe, 0x20];
const INTERESTING16 = [0x0000, 0x0001, 0x7fff, 0x8000, 0xffff, 0x0100, 0x00ff, 0x3fff, 0x4000, 0xfffe, 0x05dc];
const INTERESTING32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x00010000, 0x0000ffff, 0x3fffffff, 0x40000000];

/**
 * A live input's planned mutations applied in turn to one outgoing datagram or record: half the time a field-aware edit
 * (`field`, when it finds something to edit), else a blind one spliced with an earlier unit; each name goes to `names`.
 */
export function applyMutations(r: Draw, d: Uint8Array, count: number, sent: readonly Uint8Array[], field: (data: Uint8Array) => { name: string; out: Uint8Array } | undefined, names: string[]): Uint8Array {
  let data = d;
  for (let i = 0; i < count; i++) {
    const m = (r.chance(0.5) ? field(data) : undefined) ?? blindMutation(r, data, sent[r.int(sent.length)] ?? d);
    names.push(m.name);
    data = m.out;
  }
  return data;
}

/**
 * What goes out in place of unit `idx` (`d`), the one the input's plan targets: its mutated form, after the original
 * for an `inject` plan. The edits and both forms go to `record`.
 */
export function mutatedUnits(r: Draw, plan: LivePlan, record: LiveInput, idx: number, d: Uint8Array, sent: readonly Uint8Array[], field: (data: Uint8Array) => { name: string; out: Uint8Array } | undefined): Uint8Array[] {
  const data = applyMutations(r, d, plan.count, sent, field, record.mutations);
  record.datagram = idx;
  record.original = hex(d);
  record.mutated = hex(data);
  return plan.mode === 'inject' ? [d, data] : [data];
}

/** Names of the blind strategies, in the order `blindMutation` draws them (recorded in findings). */
export const BLIND = ['bitflip', 'interesting', 'truncate', 'extend', 'delete', 'insert', 'duplicate-chunk', 'splice', 'duplicate'] as const;

/** One blind edit of `d`; `other` is another recorded datagram or chunk, for splicing. */
export function blindMutation(r: Draw, d: Uint8Array, other: Uint8Array): { name: string; out: Uint8Array } {
  const i = r.weighted([30, 20, 12, 6, 8, 6, 6, 8, 4]);
  const name = BLIND[i]!;
  return { name, out: applyBlind(r, name, d, other) };
}

function applyBlind(r: Draw, name: (typeof BLIND)[number], d: Uint8Array, other: Uint8Array): Uint8Array {
  if (d.length === 0) return r.bytes(r.range(1, 16));
  switch (name) {
    case 'bitflip': {
      const out = d.slice();
      const flips = r.pick([1, 1, 1, 2, 3, 8]);
      // Flips near the front hit headers; half of them land in the first 64 bytes.
      for (let k = 0; k < flips; k++) {
        const at = r.chance(0.5) ? r.int(Math.min(64, out.length)) : r.int(out.length);
        out[at]! ^= 1 << r.int(8);
      }
      return out;
    }
    case 'interesting': {
      const out = d.slice();
      const width = r.pick([1, 1, 2, 4]);
      const at = r.chance(0.6) ? r.int(Math.min(64, out.length)) : r.int(out.length);
      const v = new DataView(out.buffer, out.byteOffset, out.length);
      if (width === 1 || at + width > out.length) out[at] = r.pick(INTERESTING8);
      else if (width === 2) v.setUint16(at, r.pick(INTERESTING16));
      else v.setUint32(at, r.pick(INTERESTING32));
      return out;
    }
    case 'truncate':
      return d.slice(0, r.chance(0.3) ? r.int(Math.min(64, d.length)) : r.int(d.length));
    case 'extend':
      return concat(d, r.chance(0.5) ? new Uint8Array(r.range(1, 256)) : r.bytes(r.range(1, 64)));
    case 'delete': {
      const at = r.int(d.length);
      const n = r.range(1, Math.max(1, Math.min(64, d.length - at)));
      return concat(d.subarray(0, at), d.subarray(at + n));
    }
    case 'insert': {
      const at = r.int(d.length + 1);
      return concat(d.subarray(0, at), r.bytes(r.range(1, 32)), d.subarray(at));
    }
    case 'duplicate-chunk': {
      const at = r.int(d.length);
      const n = r.range(1, Math.min(128, d.length - at));
      const to = r.int(d.length + 1);
      return concat(d.subarray(0, to), d.subarray(at, at + n), d.subarray(to));
    }
    case 'splice': {
      const cut = r.int(d.length + 1);
      const from = other.length ? r.int(other.length) : 0;
      return concat(d.subarray(0, cut), other.subarray(from));
    }
    case 'duplicate':
      // The datagram twice in one: coalesced copies of every packet or record it holds.
      return concat(d, d);
  }
}

// ------------------------------------------------------------------------------------------------ TLS structures

/** A length-prefixed vector's bounds inside `b` at `at` (prefix of `width` bytes); undefined when it overruns. */
function vec(b: Uint8Array, at: number, width: 1 | 2 | 3): { start: number; end: number } | undefined {
  if (at + width > b.length) return undefined;
  let n = 0;
  for (let i = 0; i < width; i++) n = n * 256 + b[at + i]!;
  const start = at + width;
  return start + n <= b.length ? { start, end: start + n } : undefined;
}

/**
 * Offset of the extensions block's 2-byte length in a handshake message body (ClientHello, ServerHello,
 * EncryptedExtensions); `dtls` adds the ClientHello cookie (RFC 6347 §4.2.1). Undefined when the body is not that shape.
 */
export function extensionsOffset(type: number, body: Uint8Array, dtls: boolean): number | undefined {
  let at: number;
  if (type === 1) {
    const sid = vec(body, 34, 1);
    if (!sid) return undefined;
    at = sid.end;
    if (dtls) {
      const cookie = vec(body, at, 1);
      if (!cookie) return undefined;
      at = cookie.end;
    }
    const suites = vec(body, at, 2);
    if (!suites) return undefined;
    const comp = vec(body, suites.end, 1);
    if (!comp) return undefined;
    at = comp.end;
  } else if (type === 2) {
    const sid = vec(body, 34, 1);
    if (!sid) return undefined;
    at = sid.end + 3;
  } else if (type === 8) {
    at = 0;
  } else return undefined;
  return vec(body, at, 2) ? at : undefined;
}

interface Ext {
  type: number;
  data: Uint8Array;
}

function parseExtensions(body: Uint8Array, at: number): Ext[] | undefined {
  const block = vec(body, at, 2);
  if (!block) return undefined;
  const out: Ext[] = [];
  for (let p = block.start; p < block.end; ) {
    if (p + 4 > block.end) return undefined;
    const type = (body[p]! << 8) | body[p + 1]!;
    const v = vec(body, p + 2, 2);
    if (!v || v.end > block.end) return undefined;
    out.push({ type, data: body.subarray(v.start, v.end) });
    p = v.end;
  }
  return out;
}

function u16(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}

function encodeExtensions(exts: readonly Ext[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of exts) parts.push(u16(e.type), u16(e.data.length), e.data);
  const inner = concat(...parts);
  return concat(u16(inner.length), inner);
}

const QUIC_TP_EXTENSIONS = new Set([0x39, 0xffa5]);
/** Extension types worth adding when absent: SNI, groups, ALPN, supported_versions, key_share, PSK, early_data, cookie, TPs. */
const EXTENSION_TYPES = [0, 10, 13, 16, 41, 42, 43, 44, 45, 51, 0x39, 0xff01, 0x0a0a, 23, 11, 22];

/** One structural edit of an extension list (drop, duplicate, reorder, replace, lie about a length, edit transport parameters). */
function mutateExtensions(r: Draw, exts: Ext[]): { name: string; exts: Ext[]; rawLengthLie?: boolean } {
  const pickIndex = () => r.int(exts.length);
  const choice = exts.length ? r.weighted([10, 10, 5, 12, 8, 8, 6, 14]) : 5;
  switch (choice) {
    case 0: {
      exts.splice(pickIndex(), 1);
      return { name: 'ext-drop', exts };
    }
    case 1: {
      const i = pickIndex();
      exts.splice(r.int(exts.length + 1), 0, { ...exts[i]! });
      return { name: 'ext-duplicate', exts };
    }
    case 2: {
      const i = pickIndex();
      const j = pickIndex();
      [exts[i], exts[j]] = [exts[j]!, exts[i]!];
      return { name: 'ext-swap', exts };
    }
    case 3: {
      const i = pickIndex();
      const e = exts[i]!;
      const data = e.data.length && r.chance(0.7) ? editInner(r, e.data) : r.bytes(r.int(8));
      exts[i] = { type: e.type, data };
      return { name: 'ext-edit', exts };
    }
    case 4: {
      const i = pickIndex();
      exts[i] = { type: exts[i]!.type, data: new Uint8Array(0) };
      return { name: 'ext-empty', exts };
    }
    case 5: {
      exts.splice(r.int(exts.length + 1), 0, { type: r.pick(EXTENSION_TYPES), data: r.bytes(r.int(12)) });
      return { name: 'ext-add', exts };
    }
    case 6: {
      const i = pickIndex();
      exts[i] = { type: r.chance(0.5) ? r.int(0x10000) : r.pick(EXTENSION_TYPES), data: exts[i]!.data };
      return { name: 'ext-retype', exts };
    }
    default: {
      const i = exts.findIndex((e) => QUIC_TP_EXTENSIONS.has(e.type));
      if (i < 0) {
        const j = pickIndex();
        exts[j] = { type: exts[j]!.type, data: editInner(r, exts[j]!.data) };
        return { name: 'ext-edit', exts };
      }
      const tp = mutateTransportParameters(r, exts[i]!.data);
      exts[i] = { type: exts[i]!.type, data: tp.out };
      return { name: `tp-${tp.name}`, exts };
    }
  }
}

/** Edits inside an extension's data: its inner length prefixes and first fields are what parsers trust. */
function editInner(r: Draw, data: Uint8Array): Uint8Array {
  const out = data.slice();
  if (!out.length) return out;
  const at = r.chance(0.7) ? r.int(Math.min(4, out.length)) : r.int(out.length);
  if (r.chance(0.5) && at + 1 < out.length) {
    const v = (out[at]! << 8) | out[at + 1]!;
    const nv = r.pick([0, 1, 0xffff, v + 1, v - 1, v * 2, out.length]);
    out[at] = (nv >> 8) & 0xff;
    out[at + 1] = nv & 0xff;
  } else out[at] = r.pick(INTERESTING8);
  return r.chance(0.2) ? out.subarray(0, r.int(out.length)) : out;
}

// ------------------------------------------------------------------------------------------------ QUIC varints, TPs

/**
 * Minimal QUIC varint (RFC 9000 §16) that, unlike the engine's Writer, encodes out-of-range edge values (2^62 and up
 * as 8 bytes with the top bits lost) instead of throwing: the fuzzer wants exactly those on the wire.
 */
export function encodeVarint(v: number): Uint8Array {
  if (v < 0x40) return Uint8Array.of(v);
  if (v < 0x4000) return Uint8Array.of(0x40 | (v >> 8), v & 0xff);
  if (v < 0x40000000) return Uint8Array.of(0x80 | (v >>> 24), (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const hi = Math.floor(v / 2 ** 32);
  const lo = v >>> 0;
  return Uint8Array.of(0xc0 | (hi >>> 24), (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff);
}

/** Reads a varint at `at`; undefined when truncated. */
export function readVarint(b: Uint8Array, at: number): { value: number; next: number } | undefined {
  if (at >= b.length) return undefined;
  const len = 1 << (b[at]! >> 6);
  if (at + len > b.length) return undefined;
  let v = b[at]! & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[at + i]!;
  return { value: v, next: at + len };
}

/** Varint values at the edges of what receivers accept (RFC 9000 §18.2 limits, §16 encoding bounds). */
export const VARINT_EDGES = [0, 1, 2, 3, 20, 63, 64, 1199, 1200, 16383, 16384, 65527, 2 ** 20, 2 ** 30 - 1, 2 ** 30, 2 ** 53, 2 ** 60, 2 ** 60 + 1, 2 ** 62 - 1];
const TP_IDS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x20, 0xff04de1b, 0x1b, 0x3a];

interface Tp {
  id: number;
  value: Uint8Array;
}

function parseTps(b: Uint8Array): Tp[] | undefined {
  const out: Tp[] = [];
  for (let p = 0; p < b.length; ) {
    const id = readVarint(b, p);
    if (!id) return undefined;
    const len = readVarint(b, id.next);
    if (!len || len.next + len.value > b.length) return undefined;
    out.push({ id: id.value, value: b.subarray(len.next, len.next + len.value) });
    p = len.next + len.value;
  }
  return out;
}

function encodeTps(tps: readonly Tp[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const t of tps) parts.push(encodeVarint(t.id), encodeVarint(t.value.length), t.value);
  return concat(...parts);
}

/** One edit of a transport parameter list: boundary values, duplicates, removals, unknown or role-forbidden ids, bad lengths. */
export function mutateTransportParameters(r: Draw, data: Uint8Array): { name: string; out: Uint8Array } {
  const tps = parseTps(data);
  if (!tps || !tps.length) return { name: 'raw', out: editInner(r, data) };
  const i = r.int(tps.length);
  switch (r.weighted([30, 10, 10, 15, 10, 10, 15])) {
    case 0:
      tps[i] = { id: tps[i]!.id, value: encodeVarint(r.pick(VARINT_EDGES)) };
      return { name: 'edge-value', out: encodeTps(tps) };
    case 1:
      tps.splice(i, 1);
      return { name: 'drop', out: encodeTps(tps) };
    case 2:
      tps.splice(r.int(tps.length + 1), 0, { ...tps[i]! });
      return { name: 'duplicate', out: encodeTps(tps) };
    case 3:
      // Known ids, including those only the other role may send (stateless_reset_token, preferred_address, ODCID).
      tps.push({ id: r.pick(TP_IDS), value: r.chance(0.5) ? encodeVarint(r.pick(VARINT_EDGES)) : r.bytes(r.pick([0, 1, 8, 16, 20, 21, 41, 64])) });
      return { name: 'add', out: encodeTps(tps) };
    case 4:
      tps[i] = { id: tps[i]!.id, value: r.bytes(r.pick([0, 1, 3, 9, 17, 255])) };
      return { name: 'bad-length', out: encodeTps(tps) };
    case 5: {
      // Lie about one parameter's length inside an otherwise well-formed list.
      const enc = encodeTps(tps.slice(0, i));
      const t = tps[i]!;
      const lie = Math.max(0, t.value.length + r.pick([-1, 1, 2, 100, 2 ** 14]));
      return { name: 'length-lie', out: concat(enc, encodeVarint(t.id), encodeVarint(lie), t.value, encodeTps(tps.slice(i + 1))) };
    }
    default:
      tps[i] = { id: tps[i]!.id, value: encodeVarint(r.int(2 ** 16)) };
      return { name: 'value', out: encodeTps(tps) };
  }
}

// ------------------------------------------------------------------------------------------------ handshake messages

/**
 * One structural edit of a handshake message (header included: 4 bytes for TLS, 12 for DTLS). Extensions and transport
 * parameters are edited and every enclosing length recomputed; some edits lie about the message length or type instead.
 */
export function mutateHandshakeMessage(r: Draw, msg: Uint8Array, dtls: boolean): { name: string; out: Uint8Array } {
  const hl = dtls ? 12 : 4;
  if (msg.length < hl) return { name: 'hs-raw', out: msg };
  const type = msg[0]!;
  const header = msg.slice(0, hl);
  const body = msg.subarray(hl);
  const setLength = (h: Uint8Array, n: number) => {
    h[1] = (n >> 16) & 0xff;
    h[2] = (n >> 8) & 0xff;
    h[3] = n & 0xff;
    // DTLS: a whole message is one fragment: fragment_offset 0, fragment_length = length.
    if (dtls) {
      h[9] = (n >> 16) & 0xff;
      h[10] = (n >> 8) & 0xff;
      h[11] = n & 0xff;
    }
  };
  const extAt = extensionsOffset(type, body, dtls);
  const c = r.weighted([extAt !== undefined ? 60 : 0, 8, 8, 8, dtls ? 10 : 0, 8]);
  switch (c) {
    case 0: {
      const exts = parseExtensions(body, extAt!)!;
      const m = mutateExtensions(r, exts ?? []);
      const newBody = concat(body.subarray(0, extAt!), encodeExtensions(m.exts));
      setLength(header, newBody.length);
      return { name: m.name, out: concat(header, newBody) };
    }
    case 1:
      header[0] = r.pick([0, 1, 2, 3, 4, 5, 6, 8, 11, 12, 13, 14, 15, 16, 20, 24, 254, 255]);
      return { name: 'hs-type', out: concat(header, body) };
    case 2: {
      const lie = Math.max(0, body.length + r.pick([-1, 1, -4, 64, 2 ** 16, 2 ** 24 - 1 - body.length]));
      setLength(header, lie);
      return { name: 'hs-length-lie', out: concat(header, body) };
    }
    case 3: {
      // Edit a field of the fixed part: versions, random, session ID or cookie lengths, suites.
      const out = concat(header, body);
      const at = hl + r.int(Math.min(body.length, 48) || 1);
      if (at < out.length) out[at] = r.pick(INTERESTING8);
      return { name: 'hs-field', out };
    }
    case 4: {
      // DTLS fragment header: message_seq, fragment_offset, fragment_length disagreeing with length.
      const f = r.int(3);
      const v = new DataView(header.buffer, header.byteOffset, header.length);
      if (f === 0) v.setUint16(4, r.pick([0, 1, 2, 5, 0xffff, v.getUint16(4) + 1]));
      else {
        const at = f === 1 ? 6 : 9;
        const n = r.pick([0, 1, body.length - 1, body.length + 1, 0xffffff, body.length >> 1]);
        header[at] = (n >> 16) & 0xff;
        header[at + 1] = (n >> 8) & 0xff;
        header[at + 2] = n & 0xff;
      }
      return { name: ['dtls-message-seq', 'dtls-fragment-offset', 'dtls-fragment-length'][f]!, out: concat(header, body) };
    }
    default:
      return { name: 'hs-truncate-body', out: concat(header, body.subarray(0, r.int(body.length + 1))) };
  }
}

/** Splits a run of TLS handshake messages (4-byte headers) into whole messages; a trailing partial one stays last. */
export function splitTlsMessages(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p + 4 <= b.length) {
    const n = (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    const end = Math.min(b.length, p + 4 + n);
    out.push(b.subarray(p, end));
    p = end;
  }
  if (p < b.length) out.push(b.subarray(p));
  return out;
}
