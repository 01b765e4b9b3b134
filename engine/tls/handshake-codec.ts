// TLS 1.3 handshake messages (RFC 8446 §4: framing §4, ClientHello §4.1.2, ServerHello/HelloRetryRequest §4.1.3-4, EncryptedExtensions §4.3.1, CertificateRequest §4.3.2, Certificate §4.4.2, CertificateVerify §4.4.3, Finished §4.4.4, EndOfEarlyData §4.5, NewSessionTicket §4.6.1, KeyUpdate §4.6.3).

import { DecodeError, Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { equal, fromHex } from '../wire/bytes.js';
import { Alert, TlsError } from './api.js';
import { decodeBody, readExtensions, writeExtensions, type Extension, type ExtensionList } from './extensions.js';

export const HandshakeType = {
  client_hello: 1,
  server_hello: 2,
  new_session_ticket: 4,
  end_of_early_data: 5,
  encrypted_extensions: 8,
  certificate: 11,
  certificate_request: 13,
  certificate_verify: 15,
  finished: 20,
  key_update: 24,
  message_hash: 254,
} as const;

/** SHA-256("HelloRetryRequest"): the ServerHello.random that marks a HelloRetryRequest (§4.1.3). */
export const HRR_RANDOM = fromHex('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c');

/** Largest handshake message accepted; bounds memory against a peer announcing a 16 MiB message. */
export const MAX_HANDSHAKE_MESSAGE = 1 << 18;

export interface HandshakeMessage {
  readonly type: number;
  readonly body: Uint8Array;
  /** The full message with its 4-byte header, as it enters the transcript. */
  readonly raw: Uint8Array;
}

/** Reassembles handshake messages from a byte stream: a message may arrive in pieces, or several in one chunk. */
export class HandshakeReassembler {
  private buf: Uint8Array = new Uint8Array(0);

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    const next = new Uint8Array(this.buf.length + data.length);
    next.set(this.buf);
    next.set(data, this.buf.length);
    this.buf = next;
  }

  /** The next complete message, or undefined when more bytes are needed. */
  next(): HandshakeMessage | undefined {
    if (this.buf.length < 4) return undefined;
    const len = (this.buf[1]! << 16) | (this.buf[2]! << 8) | this.buf[3]!;
    if (len > MAX_HANDSHAKE_MESSAGE) throw new TlsError(Alert.decode_error, `handshake message of ${len} bytes exceeds the limit`);
    if (this.buf.length < 4 + len) return undefined;
    const raw = this.buf.slice(0, 4 + len);
    this.buf = this.buf.slice(4 + len);
    return { type: raw[0]!, body: raw.subarray(4), raw };
  }

  /** Bytes of an incomplete message: must be empty when the peer changes keys (§5.1). */
  get pending(): number {
    return this.buf.length;
  }
}

/** type + uint24 length + body, written straight into the one array it returns (no Writer, no second copy). */
export function frameHandshake(type: number, body: Uint8Array): Uint8Array {
  const len = body.length;
  if (len > 0xffffff) throw new RangeError(`handshake message body of ${len} bytes does not fit a uint24 length`);
  const out = new Uint8Array(4 + len);
  out[0] = type;
  out[1] = len >>> 16;
  out[2] = (len >>> 8) & 0xff;
  out[3] = len & 0xff;
  out.set(body, 4);
  return out;
}

/** `size`: expected length, so a large body (a certificate chain) is not regrown and copied on the way. */
function build(fn: (w: Writer) => void, size = 256): Uint8Array {
  const w = new Writer(size);
  fn(w);
  return w.finish();
}

// ---- ClientHello ----

export interface ClientHello {
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuites: number[];
  readonly extensions: ExtensionList;
}

export function encodeClientHello(random: Uint8Array, sessionId: Uint8Array, suites: readonly number[], extensions: readonly Extension[]): Uint8Array {
  return frameHandshake(
    HandshakeType.client_hello,
    build((w) => {
      w.u16(0x0303).bytes(random).vec(1, sessionId);
      w.begin(2);
      for (const s of suites) w.u16(s);
      w.end();
      w.vec(1, Uint8Array.of(0));
      writeExtensions(w, extensions);
    }),
  );
}

export function decodeClientHello(body: Uint8Array): ClientHello {
  return decodeBody(body, 'ClientHello', (r) => {
    r.u16(); // legacy_version: ignored; supported_versions decides (§4.2.1)
    const random = r.bytes(32);
    const sessionId = r.vec(1);
    if (sessionId.length > 32) throw new DecodeError('legacy_session_id longer than 32');
    const suiteBytes = r.sub(2);
    if (suiteBytes.remaining % 2 || suiteBytes.remaining === 0) throw new DecodeError('bad cipher_suites length');
    const cipherSuites: number[] = [];
    while (!suiteBytes.atEnd()) cipherSuites.push(suiteBytes.u16());
    const compression = r.vec(1);
    if (compression.length !== 1 || compression[0] !== 0) throw new TlsError(Alert.illegal_parameter, 'legacy_compression_methods must be [null]');
    const extensions = r.atEnd() ? emptyList() : readExtensions(r);
    return { random, sessionId, cipherSuites, extensions };
  });
}

function emptyList(): ExtensionList {
  return readExtensions(new Reader(new Uint8Array(2)));
}

// ---- ServerHello / HelloRetryRequest ----

export interface ServerHello {
  readonly random: Uint8Array;
  readonly sessionIdEcho: Uint8Array;
  readonly cipherSuite: number;
  readonly extensions: ExtensionList;
  readonly isHelloRetryRequest: boolean;
}

export function encodeServerHello(random: Uint8Array, sessionIdEcho: Uint8Array, suite: number, extensions: readonly Extension[]): Uint8Array {
  return frameHandshake(
    HandshakeType.server_hello,
    build((w) => {
      w.u16(0x0303).bytes(random).vec(1, sessionIdEcho).u16(suite).u8(0);
      writeExtensions(w, extensions);
    }),
  );
}

export function decodeServerHello(body: Uint8Array): ServerHello {
  return decodeBody(body, 'ServerHello', (r) => {
    const version = r.u16();
    if (version !== 0x0303) throw new TlsError(Alert.protocol_version, `ServerHello legacy_version 0x${version.toString(16)}`);
    const random = r.bytes(32);
    const sessionIdEcho = r.vec(1);
    const cipherSuite = r.u16();
    if (r.u8() !== 0) throw new TlsError(Alert.illegal_parameter, 'ServerHello compression method must be 0');
    const extensions = readExtensions(r);
    return { random, sessionIdEcho, cipherSuite, extensions, isHelloRetryRequest: equal(random, HRR_RANDOM) };
  });
}

// ---- EncryptedExtensions ----

export function encodeEncryptedExtensions(extensions: readonly Extension[]): Uint8Array {
  return frameHandshake(HandshakeType.encrypted_extensions, build((w) => writeExtensions(w, extensions)));
}
export function decodeEncryptedExtensions(body: Uint8Array): ExtensionList {
  return decodeBody(body, 'EncryptedExtensions', (r) => readExtensions(r));
}

// ---- CertificateRequest ----

export interface CertificateRequest {
  readonly context: Uint8Array;
  readonly extensions: ExtensionList;
}
export function encodeCertificateRequest(context: Uint8Array, extensions: readonly Extension[]): Uint8Array {
  return frameHandshake(HandshakeType.certificate_request, build((w) => {
    w.vec(1, context);
    writeExtensions(w, extensions);
  }));
}
export function decodeCertificateRequest(body: Uint8Array): CertificateRequest {
  return decodeBody(body, 'CertificateRequest', (r) => ({ context: r.vec(1), extensions: readExtensions(r) }));
}

// ---- Certificate ----

export interface CertificateMessage {
  readonly context: Uint8Array;
  readonly certificates: Uint8Array[];
}
export function encodeCertificate(context: Uint8Array, chain: readonly Uint8Array[]): Uint8Array {
  let size = 1 + context.length + 3;
  for (const der of chain) size += 3 + der.length + 2;
  return frameHandshake(HandshakeType.certificate, build((w) => {
    w.vec(1, context);
    w.begin(3);
    for (const der of chain) w.vec(3, der).u16(0);
    w.end();
  }, size));
}
export function decodeCertificate(body: Uint8Array): CertificateMessage {
  return decodeBody(body, 'Certificate', (r) => {
    const context = r.vec(1);
    const list = r.sub(3);
    const certificates: Uint8Array[] = [];
    while (!list.atEnd()) {
      const der = list.vec(3);
      if (der.length === 0) throw new DecodeError('empty cert_data');
      readExtensions(list); // status_request / SCT entries are not used; still validated for duplicates
      certificates.push(der.slice());
    }
    return { context, certificates };
  });
}

// ---- CertificateVerify ----

export interface CertificateVerify {
  readonly scheme: number;
  readonly signature: Uint8Array;
}
export function encodeCertificateVerify(scheme: number, signature: Uint8Array): Uint8Array {
  return frameHandshake(HandshakeType.certificate_verify, build((w) => w.u16(scheme).vec(2, signature)));
}
export function decodeCertificateVerify(body: Uint8Array): CertificateVerify {
  return decodeBody(body, 'CertificateVerify', (r) => ({ scheme: r.u16(), signature: r.vec(2) }));
}

// ---- Finished / EndOfEarlyData / KeyUpdate ----

export function encodeFinished(verifyData: Uint8Array): Uint8Array {
  return frameHandshake(HandshakeType.finished, verifyData);
}
export function encodeEndOfEarlyData(): Uint8Array {
  return frameHandshake(HandshakeType.end_of_early_data, new Uint8Array(0));
}
export function encodeKeyUpdate(updateRequested: boolean): Uint8Array {
  return frameHandshake(HandshakeType.key_update, Uint8Array.of(updateRequested ? 1 : 0));
}
export function decodeKeyUpdate(body: Uint8Array): boolean {
  return decodeBody(body, 'KeyUpdate', (r) => {
    const v = r.u8();
    if (v > 1) throw new TlsError(Alert.illegal_parameter, `KeyUpdate request_update ${v}`);
    return v === 1;
  });
}

// ---- NewSessionTicket ----

export interface NewSessionTicket {
  readonly lifetimeSec: number;
  readonly ageAdd: number;
  readonly nonce: Uint8Array;
  readonly ticket: Uint8Array;
  readonly extensions: ExtensionList;
}
export function encodeNewSessionTicket(t: Omit<NewSessionTicket, 'extensions'>, extensions: readonly Extension[]): Uint8Array {
  return frameHandshake(HandshakeType.new_session_ticket, build((w) => {
    w.u32(t.lifetimeSec).u32(t.ageAdd).vec(1, t.nonce).vec(2, t.ticket);
    writeExtensions(w, extensions);
  }));
}
export function decodeNewSessionTicket(body: Uint8Array): NewSessionTicket {
  return decodeBody(body, 'NewSessionTicket', (r) => {
    const lifetimeSec = r.u32();
    const ageAdd = r.u32();
    const nonce = r.vec(1).slice();
    const ticket = r.vec(2).slice();
    if (ticket.length === 0) throw new DecodeError('empty ticket');
    const extensions = readExtensions(r);
    return { lifetimeSec, ageAdd, nonce, ticket, extensions };
  });
}

/** The synthetic message that replaces ClientHello1 in the transcript after a HelloRetryRequest (§4.4.1). */
export function messageHash(clientHello1Hash: Uint8Array): Uint8Array {
  return frameHandshake(HandshakeType.message_hash, clientHello1Hash);
}
