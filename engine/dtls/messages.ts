// DTLS 1.2 handshake message codecs: the DTLS handshake header (RFC 6347 §4.2.2), ClientHello with cookie and
// HelloVerifyRequest (§4.2.1, §4.3.2), ServerHello/Certificate/ServerHelloDone/Finished (RFC 5246 §7.4),
// ECDHE ServerKeyExchange and ClientKeyExchange (RFC 8422 §5.4, §5.7) and the hello extensions DTLS 1.2 uses
// (RFC 6066 §3 SNI, RFC 7301 ALPN, RFC 7627 extended master secret, RFC 5746 renegotiation_info, RFC 8422 §5.1 groups/point formats).

import { DecodeError, Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { utf8 } from '../wire/bytes.js';

export const HandshakeType = {
  hello_request: 0,
  client_hello: 1,
  server_hello: 2,
  hello_verify_request: 3,
  certificate: 11,
  server_key_exchange: 12,
  certificate_request: 13,
  server_hello_done: 14,
  certificate_verify: 15,
  client_key_exchange: 16,
  finished: 20,
} as const;

export const ExtensionType = {
  server_name: 0,
  supported_groups: 10,
  ec_point_formats: 11,
  signature_algorithms: 13,
  alpn: 16,
  extended_master_secret: 23,
  renegotiation_info: 0xff01,
} as const;

export const HANDSHAKE_HEADER_LENGTH = 12;

/** One handshake fragment as carried in a record. */
export interface HandshakeFragment {
  readonly msgType: number;
  readonly length: number;
  readonly messageSeq: number;
  readonly fragmentOffset: number;
  readonly body: Uint8Array; // fragment_length bytes
}

/** Parses every handshake fragment in a handshake record; a malformed one throws DecodeError. */
export function parseHandshakeFragments(record: Uint8Array): HandshakeFragment[] {
  const r = new Reader(record);
  const out: HandshakeFragment[] = [];
  while (!r.atEnd()) {
    const msgType = r.u8();
    const length = r.u24();
    const messageSeq = r.u16();
    const fragmentOffset = r.u24();
    const fragmentLength = r.u24();
    if (fragmentOffset + fragmentLength > length) throw new DecodeError('handshake fragment extends past the message length');
    out.push({ msgType, length, messageSeq, fragmentOffset, body: r.bytes(fragmentLength) });
  }
  return out;
}

export function encodeHandshakeFragment(msgType: number, messageSeq: number, body: Uint8Array, offset: number, fragmentLength: number): Uint8Array {
  return new Writer(HANDSHAKE_HEADER_LENGTH + fragmentLength)
    .u8(msgType)
    .u24(body.length)
    .u16(messageSeq)
    .u24(offset)
    .u24(fragmentLength)
    .bytes(body.subarray(offset, offset + fragmentLength))
    .finish();
}

/** The unfragmented form (offset 0, fragment_length = length) that the transcript hash covers (RFC 6347 §4.2.6). */
export function transcriptForm(msgType: number, messageSeq: number, body: Uint8Array): Uint8Array {
  return encodeHandshakeFragment(msgType, messageSeq, body, 0, body.length);
}

export interface Extension {
  readonly type: number;
  readonly data: Uint8Array;
}

function parseExtensions(r: Reader): Extension[] {
  if (r.atEnd()) return [];
  const er = r.sub(2);
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (!er.atEnd()) {
    const type = er.u16();
    if (seen.has(type)) throw new DecodeError(`duplicate extension ${type}`);
    seen.add(type);
    out.push({ type, data: er.vec(2) });
  }
  return out;
}

function writeExtensions(w: Writer, exts: readonly Extension[]): void {
  w.begin(2);
  for (const e of exts) w.u16(e.type).vec(2, e.data);
  w.end();
}

export function findExtension(exts: readonly Extension[], type: number): Uint8Array | undefined {
  return exts.find((e) => e.type === type)?.data;
}

export interface ClientHello {
  readonly version: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cookie: Uint8Array;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: Uint8Array;
  readonly extensions: readonly Extension[];
}

export function encodeClientHello(ch: ClientHello): Uint8Array {
  const w = new Writer(256).u16(ch.version).bytes(ch.random).vec(1, ch.sessionId).vec(1, ch.cookie);
  w.begin(2);
  for (const s of ch.cipherSuites) w.u16(s);
  w.end().vec(1, ch.compressionMethods);
  writeExtensions(w, ch.extensions);
  return w.finish();
}

/** Parses a ClientHello body; `cookieInput` is every field except the cookie, which is what the stateless cookie binds. */
export function parseClientHello(body: Uint8Array): { hello: ClientHello; cookieInput: Uint8Array } {
  const r = new Reader(body);
  const version = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vec(1);
  if (sessionId.length > 32) throw new DecodeError('session_id longer than 32 bytes');
  const cookieStart = r.pos;
  const cookie = r.vec(1);
  const cookieEnd = r.pos;
  const sr = r.sub(2);
  const cipherSuites: number[] = [];
  while (!sr.atEnd()) cipherSuites.push(sr.u16());
  const compressionMethods = r.vec(1);
  const extensions = parseExtensions(r);
  if (!r.atEnd()) throw new DecodeError('trailing bytes after ClientHello');
  const cookieInput = new Uint8Array(body.length - (cookieEnd - cookieStart));
  cookieInput.set(body.subarray(0, cookieStart));
  cookieInput.set(body.subarray(cookieEnd), cookieStart);
  return { hello: { version, random, sessionId, cookie, cipherSuites, compressionMethods, extensions }, cookieInput };
}

export function encodeHelloVerifyRequest(version: number, cookie: Uint8Array): Uint8Array {
  return new Writer(3 + cookie.length).u16(version).vec(1, cookie).finish();
}

export function parseHelloVerifyRequest(body: Uint8Array): { version: number; cookie: Uint8Array } {
  const r = new Reader(body);
  const version = r.u16();
  const cookie = r.vec(1);
  if (!r.atEnd()) throw new DecodeError('trailing bytes after HelloVerifyRequest');
  return { version, cookie };
}

export interface ServerHello {
  readonly version: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuite: number;
  readonly compressionMethod: number;
  readonly extensions: readonly Extension[];
}

export function encodeServerHello(sh: ServerHello): Uint8Array {
  const w = new Writer(128).u16(sh.version).bytes(sh.random).vec(1, sh.sessionId).u16(sh.cipherSuite).u8(sh.compressionMethod);
  writeExtensions(w, sh.extensions);
  return w.finish();
}

export function parseServerHello(body: Uint8Array): ServerHello {
  const r = new Reader(body);
  const version = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vec(1);
  const cipherSuite = r.u16();
  const compressionMethod = r.u8();
  const extensions = parseExtensions(r);
  if (!r.atEnd()) throw new DecodeError('trailing bytes after ServerHello');
  return { version, random, sessionId, cipherSuite, compressionMethod, extensions };
}

export function encodeCertificate(chain: readonly Uint8Array[]): Uint8Array {
  const w = new Writer(4096).begin(3);
  for (const c of chain) w.vec(3, c);
  return w.end().finish();
}

export function parseCertificate(body: Uint8Array): Uint8Array[] {
  const r = new Reader(body);
  const lr = r.sub(3);
  if (!r.atEnd()) throw new DecodeError('trailing bytes after Certificate');
  const out: Uint8Array[] = [];
  while (!lr.atEnd()) {
    const c = lr.vec(3);
    if (c.length === 0) throw new DecodeError('empty certificate');
    out.push(c);
  }
  return out;
}

/** RFC 8422 §5.4: the ECParameters and ECPoint a ServerKeyExchange signature covers (after the two randoms). */
export function encodeEcdhParams(namedCurve: number, publicPoint: Uint8Array): Uint8Array {
  return new Writer(4 + publicPoint.length).u8(3 /* named_curve */).u16(namedCurve).vec(1, publicPoint).finish();
}

export interface ServerKeyExchange {
  readonly namedCurve: number;
  readonly publicPoint: Uint8Array;
  readonly params: Uint8Array; // the signed ECParameters || ECPoint bytes, as received
  readonly signatureScheme: number;
  readonly signature: Uint8Array;
}

export function encodeServerKeyExchange(params: Uint8Array, signatureScheme: number, signature: Uint8Array): Uint8Array {
  return new Writer(params.length + 4 + signature.length).bytes(params).u16(signatureScheme).vec(2, signature).finish();
}

export function parseServerKeyExchange(body: Uint8Array): ServerKeyExchange {
  const r = new Reader(body);
  const curveType = r.u8();
  if (curveType !== 3) throw new DecodeError(`ECCurveType ${curveType} is not named_curve`);
  const namedCurve = r.u16();
  const publicPoint = r.vec(1);
  if (publicPoint.length === 0) throw new DecodeError('empty ECDH public point');
  const params = body.subarray(0, r.pos);
  const signatureScheme = r.u16();
  const signature = r.vec(2);
  if (!r.atEnd()) throw new DecodeError('trailing bytes after ServerKeyExchange');
  return { namedCurve, publicPoint, params, signatureScheme, signature };
}

export function encodeClientKeyExchange(publicPoint: Uint8Array): Uint8Array {
  return new Writer(1 + publicPoint.length).vec(1, publicPoint).finish();
}

export function parseClientKeyExchange(body: Uint8Array): Uint8Array {
  const r = new Reader(body);
  const point = r.vec(1);
  if (!r.atEnd() || point.length === 0) throw new DecodeError('malformed ClientKeyExchange');
  return point;
}

// --- hello extension bodies ---

export function encodeServerName(name: string): Uint8Array {
  return new Writer(5 + name.length).begin(2).u8(0 /* host_name */).vec(2, utf8.encode(name)).end().finish();
}

export function parseServerName(data: Uint8Array): string | undefined {
  const r = new Reader(data).sub(2);
  while (!r.atEnd()) {
    const type = r.u8();
    const name = r.vec(2);
    if (type === 0) return utf8.decode(name);
  }
  return undefined;
}

export function encodeU16List(values: readonly number[]): Uint8Array {
  const w = new Writer(2 + 2 * values.length).begin(2);
  for (const v of values) w.u16(v);
  return w.end().finish();
}

export function parseU16List(data: Uint8Array): number[] {
  const r = new Reader(data);
  const lr = r.sub(2);
  if (!r.atEnd() || lr.remaining % 2) throw new DecodeError('malformed u16 list');
  const out: number[] = [];
  while (!lr.atEnd()) out.push(lr.u16());
  return out;
}

export function encodeAlpn(protocols: readonly string[]): Uint8Array {
  const w = new Writer(64).begin(2);
  for (const p of protocols) w.vec(1, utf8.encode(p));
  return w.end().finish();
}

export function parseAlpn(data: Uint8Array): string[] {
  const r = new Reader(data);
  const lr = r.sub(2);
  if (!r.atEnd()) throw new DecodeError('trailing bytes after ALPN list');
  const out: string[] = [];
  while (!lr.atEnd()) {
    const p = lr.vec(1);
    if (p.length === 0) throw new DecodeError('empty ALPN protocol name');
    out.push(utf8.decode(p));
  }
  return out;
}
