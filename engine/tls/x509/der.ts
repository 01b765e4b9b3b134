// DER decoding (ITU-T X.690 §8 and §10: tag, definite length, INTEGER, BIT STRING, OID, strings, UTCTime/GeneralizedTime as profiled by RFC 5280 §4.1.2.5).

import { DecodeError } from '../../wire/reader.js';

/** Universal tags used by X.509 (first identifier octet, class and constructed bit included). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Context-specific tag byte: [n] IMPLICIT primitive, or [n] constructed (EXPLICIT tags and constructed IMPLICIT ones). */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/**
 * One decoded TLV. Offsets are into `buf`, so callers can slice the exact encoded bytes
 * (a certificate's signature covers the TBSCertificate exactly as sent).
 */
export interface DerNode {
  readonly buf: Uint8Array;
  /** Identifier octet (only low tag numbers < 31 occur in X.509; high-tag-number form is rejected). */
  readonly tag: number;
  readonly constructed: boolean;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly valueStart: number;
  /** Offset just past the last content octet. */
  readonly end: number;
}

/** The whole TLV encoding (a view, no copy). */
export function encoded(node: DerNode): Uint8Array {
  return node.buf.subarray(node.start, node.end);
}

/** The content octets (a view, no copy). */
export function contents(node: DerNode): Uint8Array {
  return node.buf.subarray(node.valueStart, node.end);
}

export function tagName(tag: number): string {
  for (const [k, v] of Object.entries(Tag)) if (v === tag) return k;
  if ((tag & 0xc0) === 0x80) return `[${tag & 0x1f}]${tag & 0x20 ? ' constructed' : ''}`;
  return `tag 0x${tag.toString(16).padStart(2, '0')}`;
}

/** Sequential reader over the TLVs of one region (a whole buffer, or the contents of a constructed node). */
export class DerReader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  /** Reader over the children of a constructed node. */
  static of(node: DerNode): DerReader {
    if (!node.constructed) throw new DecodeError(`DER: ${tagName(node.tag)} is not constructed`);
    return new DerReader(node.buf, node.valueStart, node.end);
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Identifier octet of the next TLV, or undefined at the end of the region. */
  peekTag(): number | undefined {
    return this.pos < this.end ? this.buf[this.pos] : undefined;
  }

  next(): DerNode {
    const buf = this.buf;
    const start = this.pos;
    if (start >= this.end) throw new DecodeError(`DER: expected an element at offset ${start}, found end of data`);
    const tag = buf[start]!;
    if ((tag & 0x1f) === 0x1f) throw new DecodeError(`DER: high-tag-number form at offset ${start} is not used by X.509`);
    let p = start + 1;
    if (p >= this.end) throw new DecodeError(`DER: truncated length at offset ${p}`);
    const first = buf[p++]!;
    let len: number;
    if (first < 0x80) {
      len = first;
    } else if (first === 0x80) {
      throw new DecodeError(`DER: indefinite length at offset ${start + 1} (BER only)`);
    } else {
      const n = first & 0x7f;
      if (n > 4) throw new DecodeError(`DER: length of ${n} octets at offset ${start + 1} is too large`);
      if (p + n > this.end) throw new DecodeError(`DER: truncated length at offset ${p}`);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
      // DER (X.690 §10.1) demands the shortest length form; a longer one means the bytes were not produced by a DER encoder.
      if (len < 0x80 || buf[start + 2] === 0) throw new DecodeError(`DER: non-minimal length encoding at offset ${start + 1}`);
    }
    const valueStart = p;
    const end = valueStart + len;
    if (end > this.end) throw new DecodeError(`DER: ${tagName(tag)} at offset ${start} claims ${len} byte(s), only ${this.end - valueStart} remain`);
    this.pos = end;
    return { buf, tag, constructed: (tag & 0x20) !== 0, start, valueStart, end };
  }

  /** Next TLV, which must carry `tag`. */
  expect(tag: number, what = tagName(tag)): DerNode {
    const at = this.pos;
    const t = this.peekTag();
    if (t === undefined) throw new DecodeError(`DER: expected ${what} at offset ${at}, found end of data`);
    if (t !== tag) throw new DecodeError(`DER: expected ${what} (${tagName(tag)}) at offset ${at}, found ${tagName(t)}`);
    return this.next();
  }

  /** Next TLV if it carries `tag`, otherwise undefined (for OPTIONAL and DEFAULT components). */
  optional(tag: number): DerNode | undefined {
    return this.peekTag() === tag ? this.next() : undefined;
  }

  /** Fails if anything is left in the region (trailing garbage inside a SEQUENCE is a structural error). */
  done(what: string): void {
    if (this.pos !== this.end) throw new DecodeError(`DER: ${this.end - this.pos} unexpected trailing byte(s) in ${what} at offset ${this.pos}`);
  }
}

/** Decodes exactly one TLV spanning all of `der`. */
export function decodeOne(der: Uint8Array, tag: number, what: string): DerNode {
  const r = new DerReader(der);
  const node = r.expect(tag, what);
  r.done(what);
  return node;
}

function need(node: DerNode, tag: number, what: string): void {
  if (node.tag !== tag) throw new DecodeError(`DER: expected ${what} (${tagName(tag)}), found ${tagName(node.tag)} at offset ${node.start}`);
}

/** INTEGER (any size) as bigint, two's complement. Tag is not checked so IMPLICIT-tagged integers decode too. */
export function readInteger(node: DerNode): bigint {
  const v = contents(node);
  if (v.length === 0) throw new DecodeError(`DER: empty INTEGER at offset ${node.start}`);
  if (v.length > 1 && ((v[0] === 0 && v[1]! < 0x80) || (v[0] === 0xff && v[1]! >= 0x80)))
    throw new DecodeError(`DER: non-minimal INTEGER at offset ${node.start}`);
  // Via hex: shifting a bigint byte by byte is quadratic and dominated parsing of 4096-bit RSA moduli.
  let n = BigInt(`0x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`);
  if (v[0]! >= 0x80) n -= 1n << BigInt(v.length * 8);
  return n;
}

/** INTEGER that must fit a JavaScript number (versions, path lengths, salt lengths). */
export function readSmallInt(node: DerNode, what: string): number {
  const n = readInteger(node);
  if (n < 0n || n > 0x7fff_ffffn) throw new DecodeError(`DER: ${what} ${n} out of range`);
  return Number(n);
}

export function readBoolean(node: DerNode): boolean {
  need(node, Tag.BOOLEAN, 'BOOLEAN');
  const v = contents(node);
  if (v.length !== 1 || (v[0] !== 0 && v[0] !== 0xff)) throw new DecodeError(`DER: BOOLEAN at offset ${node.start} is not 0x00 or 0xff`);
  return v[0] === 0xff;
}

export function readNull(node: DerNode): void {
  need(node, Tag.NULL, 'NULL');
  if (node.end !== node.valueStart) throw new DecodeError(`DER: NULL at offset ${node.start} has content`);
}

/** OBJECT IDENTIFIER as dotted decimal ('1.2.840.10045.2.1'). */
export function readOid(node: DerNode): string {
  need(node, Tag.OID, 'OBJECT IDENTIFIER');
  const v = contents(node);
  if (v.length === 0) throw new DecodeError(`DER: empty OBJECT IDENTIFIER at offset ${node.start}`);
  if (v[v.length - 1]! & 0x80) throw new DecodeError(`DER: truncated OBJECT IDENTIFIER at offset ${node.start}`);
  const arcs: (number | bigint)[] = [];
  // Arcs are numbers while they fit in 2^53 (all real-world OIDs); UUID-based arcs (2.25.x) continue as bigint.
  let acc: number | bigint = 0;
  let fresh = true;
  for (const b of v) {
    if (fresh && b === 0x80) throw new DecodeError(`DER: non-minimal OBJECT IDENTIFIER arc at offset ${node.start}`);
    if (typeof acc === 'number' && acc >= 2 ** 45) acc = BigInt(acc);
    acc = typeof acc === 'number' ? acc * 128 + (b & 0x7f) : (acc << 7n) | BigInt(b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      arcs.push(acc);
      acc = 0;
    }
  }
  const first = arcs[0]!;
  const head =
    typeof first === 'bigint' ? ['2', (first - 80n).toString()] : first < 40 ? ['0', first] : first < 80 ? ['1', first - 40] : ['2', first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** Encodes a dotted OID (for building test inputs and comparing against raw bytes). */
export function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((s) => BigInt(s));
  if (arcs.length < 2) throw new Error(`bad OID ${dotted}`);
  const out: number[] = [];
  const push = (n: bigint) => {
    const chunk: number[] = [Number(n & 0x7fn)];
    for (n >>= 7n; n > 0n; n >>= 7n) chunk.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...chunk);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return new Uint8Array([Tag.OID, out.length, ...out]);
}

export interface BitString {
  readonly unusedBits: number;
  readonly bytes: Uint8Array;
}

/** BIT STRING; tag not checked so IMPLICIT-tagged ones decode too. */
export function readBitString(node: DerNode): BitString {
  const v = contents(node);
  if (v.length === 0) throw new DecodeError(`DER: BIT STRING at offset ${node.start} has no unused-bits octet`);
  const unusedBits = v[0]!;
  if (unusedBits > 7 || (unusedBits > 0 && v.length === 1)) throw new DecodeError(`DER: BIT STRING at offset ${node.start} has invalid unused-bits count ${unusedBits}`);
  return { unusedBits, bytes: v.subarray(1) };
}

/** BIT STRING holding whole octets (keys, signatures). */
export function readOctetAlignedBits(node: DerNode, what: string): Uint8Array {
  need(node, Tag.BIT_STRING, what);
  const bs = readBitString(node);
  if (bs.unusedBits !== 0) throw new DecodeError(`DER: ${what} is not a whole number of octets`);
  return bs.bytes;
}

/** Named-bit BIT STRING (KeyUsage) as a number where bit i of the ASN.1 definition is `1 << i`. */
export function readNamedBits(node: DerNode): number {
  const { unusedBits, bytes } = readBitString(node);
  let out = 0;
  const total = bytes.length * 8 - unusedBits;
  for (let i = 0; i < total && i < 31; i++) if (bytes[i >> 3]! & (0x80 >> (i & 7))) out |= 1 << i;
  return out;
}

export function readOctetString(node: DerNode): Uint8Array {
  need(node, Tag.OCTET_STRING, 'OCTET STRING');
  return contents(node);
}

const latin1 = new TextDecoder('latin1');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Any of the X.520 DirectoryString and ASN.1 character string types, as a JavaScript string. */
export function readString(node: DerNode): string {
  const v = contents(node);
  switch (node.tag) {
    case Tag.UTF8_STRING:
      try {
        return utf8Strict.decode(v);
      } catch {
        throw new DecodeError(`DER: invalid UTF-8 in UTF8String at offset ${node.start}`);
      }
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
    case Tag.VISIBLE_STRING:
    case Tag.T61_STRING: // teletex: in practice certificates put Latin-1 here
      return latin1.decode(v);
    case Tag.BMP_STRING: {
      if (v.length % 2) throw new DecodeError(`DER: BMPString at offset ${node.start} has odd length`);
      let s = '';
      for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
      return s;
    }
    case Tag.UNIVERSAL_STRING: {
      if (v.length % 4) throw new DecodeError(`DER: UniversalString at offset ${node.start} has a length not a multiple of 4`);
      let s = '';
      for (let i = 0; i < v.length; i += 4) {
        const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
        if (cp > 0x10ffff) throw new DecodeError(`DER: UniversalString at offset ${node.start} holds an invalid code point`);
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      throw new DecodeError(`DER: expected a character string at offset ${node.start}, found ${tagName(node.tag)}`);
  }
}

/** IA5String content for tags that are IMPLICIT (SAN dNSName etc.): must be 7-bit ASCII. */
export function readAscii(node: DerNode, what: string): string {
  const v = contents(node);
  for (const b of v) if (b > 0x7f) throw new DecodeError(`DER: ${what} at offset ${node.start} contains a non-ASCII byte`);
  return latin1.decode(v);
}

function digits(s: string, from: number, n: number, node: DerNode): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) throw new DecodeError(`DER: malformed time '${s}' at offset ${node.start}`);
    v = v * 10 + c;
  }
  return v;
}

/**
 * UTCTime (two-digit years: 50–99 → 19xx, 00–49 → 20xx, RFC 5280 §4.1.2.5.1) or GeneralizedTime,
 * in milliseconds since the epoch. RFC 5280 requires seconds and 'Z'; fractional seconds are accepted because some
 * issuers emit them and rejecting would fail certificates other stacks accept.
 */
export function readTime(node: DerNode): number {
  const s = latin1.decode(contents(node));
  let year: number;
  let p: number;
  if (node.tag === Tag.UTC_TIME) {
    if (!/^\d{12}Z$/.test(s)) throw new DecodeError(`DER: UTCTime '${s}' at offset ${node.start} is not YYMMDDHHMMSSZ`);
    const yy = digits(s, 0, 2, node);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    p = 2;
  } else if (node.tag === Tag.GENERALIZED_TIME) {
    if (!/^\d{14}(\.\d{1,9})?Z$/.test(s)) throw new DecodeError(`DER: GeneralizedTime '${s}' at offset ${node.start} is not YYYYMMDDHHMMSS[.f]Z`);
    year = digits(s, 0, 4, node);
    p = 4;
  } else {
    throw new DecodeError(`DER: expected UTCTime or GeneralizedTime at offset ${node.start}, found ${tagName(node.tag)}`);
  }
  const month = digits(s, p, 2, node);
  const day = digits(s, p + 2, 2, node);
  const hour = digits(s, p + 4, 2, node);
  const minute = digits(s, p + 6, 2, node);
  const second = digits(s, p + 8, 2, node);
  const frac = s.indexOf('.');
  const ms = frac < 0 ? 0 : Math.floor(Number(`0${s.slice(frac, -1)}`) * 1000);
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  // second 60 is a leap second, allowed by X.680 and seen in the wild.
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60)
    throw new DecodeError(`DER: time '${s}' at offset ${node.start} is not a valid date`);
  const t = new Date(0);
  t.setUTCFullYear(year, month - 1, day); // setUTCFullYear, because Date.UTC maps years 0–99 to 1900–1999
  t.setUTCHours(hour, minute, second, ms);
  return t.getTime();
}
