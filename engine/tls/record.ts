// TLS 1.3 record layer (RFC 8446 §5.1 framing, §5.2 record payload protection, §5.3 per-record nonce, §5.4 padding, §5.5 limits).
//
// Sans-I/O: RecordReader turns a TCP byte stream into typed records (decrypting with the installed read protector);
// RecordWriter turns content into framed, optionally protected records. Key schedule decisions (which epoch, when to
// switch) belong to the caller (engine/tls/record-connection.ts); this module only frames and protects.

import type { Aead, CryptoProvider } from '../crypto/provider.js';
import { hkdfExpandLabel } from '../crypto/hkdf-label.js';
import { Alert, TlsError, type CipherSuite, type Epoch } from './api.js';

export const ContentType = {
  change_cipher_spec: 20,
  alert: 21,
  handshake: 22,
  application_data: 23,
} as const;
export type ContentTypeCode = (typeof ContentType)[keyof typeof ContentType];

/** Largest TLSPlaintext / TLSInnerPlaintext content (§5.1). */
export const MAX_PLAINTEXT = 1 << 14;
/** Largest TLSCiphertext.encrypted_record: content + type byte + padding + AEAD expansion, capped at 2^14 + 256 (§5.2). */
export const MAX_CIPHERTEXT = (1 << 14) + 256;
const HEADER_LENGTH = 5;
const LEGACY_VERSION = 0x0303;

export function contentTypeName(type: number): string {
  for (const [k, v] of Object.entries(ContentType)) if (v === type) return k;
  return `content_type_${type}`;
}

/** Record key and IV from a traffic secret (RFC 8446 §7.3). */
export function deriveRecordKeys(crypto: CryptoProvider, suite: CipherSuite, secret: Uint8Array): { key: Uint8Array; iv: Uint8Array } {
  const empty: Uint8Array = new Uint8Array(0);
  return {
    key: hkdfExpandLabel(crypto, suite.hash, secret, 'key', empty, suite.keyLength),
    iv: hkdfExpandLabel(crypto, suite.hash, secret, 'iv', empty, 12),
  };
}

/**
 * One direction's protection state for one traffic secret: the AEAD, the static IV and the sequence number that
 * restarts at 0 for every new secret (§5.3).
 */
export class RecordProtector {
  private readonly aead: Aead;
  private readonly iv: Uint8Array;
  /** Records protected (or opened) so far under this secret; also the next record's sequence number. */
  seq = 0;

  constructor(
    crypto: CryptoProvider,
    readonly suite: CipherSuite,
    readonly secret: Uint8Array,
    readonly epoch: Epoch,
  ) {
    const { key, iv } = deriveRecordKeys(crypto, suite, secret);
    this.aead = crypto.aead(suite.aead, key);
    this.iv = iv;
  }

  /** The per-record nonce: the 64-bit sequence number, left-padded to the IV length, XORed with the IV (§5.3). */
  private nonce(seq: number): Uint8Array {
    const n = this.iv.slice();
    let s = seq;
    for (let i = n.length - 1; i >= n.length - 8 && s > 0; i--) {
      n[i]! ^= s % 256;
      s = Math.floor(s / 256);
    }
    return n;
  }

  private nextSeq(): number {
    // 2^53 records is far beyond any real connection; a KeyUpdate long before keeps the nonce unique (§5.5).
    if (this.seq >= Number.MAX_SAFE_INTEGER) throw new TlsError(Alert.internal_error, 'record sequence number exhausted');
    return this.seq++;
  }

  /** A complete TLSCiphertext record carrying `content` of real type `type`, followed by `padding` zero bytes. */
  seal(type: ContentTypeCode, content: Uint8Array, padding = 0): Uint8Array {
    const inner = new Uint8Array(content.length + 1 + padding);
    inner.set(content);
    inner[content.length] = type;
    const length = inner.length + this.aead.tagLength;
    if (length > MAX_CIPHERTEXT) throw new RangeError(`record of ${length} bytes exceeds 2^14+256`);
    const header = recordHeader(ContentType.application_data, LEGACY_VERSION, length);
    const sealed = this.aead.seal(this.nonce(this.nextSeq()), inner, header);
    const out = new Uint8Array(HEADER_LENGTH + sealed.length);
    out.set(header);
    out.set(sealed, HEADER_LENGTH);
    return out;
  }

  /** Decrypts a TLSCiphertext body and strips the padding; throws TlsError (bad_record_mac, unexpected_message, record_overflow). */
  open(header: Uint8Array, body: Uint8Array): { type: number; content: Uint8Array } {
    const inner = this.tryOpen(header, body);
    if (!inner) throw new TlsError(Alert.bad_record_mac, `record ${this.seq} at ${this.epoch} epoch failed authentication`);
    return stripPadding(inner);
  }

  /** Decrypts without consuming a sequence number on failure (rejected 0-RTT records are skipped, §4.2.10). */
  tryOpen(header: Uint8Array, body: Uint8Array): Uint8Array | null {
    if (this.seq >= Number.MAX_SAFE_INTEGER) throw new TlsError(Alert.internal_error, 'record sequence number exhausted');
    const inner = this.aead.open(this.nonce(this.seq), body, header);
    if (inner) this.seq++;
    return inner;
  }
}

/** Finds the real content type: the last non-zero byte of TLSInnerPlaintext (§5.4). */
function stripPadding(inner: Uint8Array): { type: number; content: Uint8Array } {
  let end = inner.length - 1;
  while (end >= 0 && inner[end] === 0) end--;
  if (end < 0) throw new TlsError(Alert.unexpected_message, 'protected record holds only padding (no content type)');
  if (end > MAX_PLAINTEXT) throw new TlsError(Alert.record_overflow, `decrypted record content of ${end} bytes exceeds 2^14`);
  return { type: inner[end]!, content: inner.subarray(0, end) };
}

function recordHeader(type: number, version: number, length: number): Uint8Array {
  return new Uint8Array([type, version >> 8, version & 0xff, length >> 8, length & 0xff]);
}

/** A record as the reader delivers it: real content type after decryption, and whether it arrived protected. */
export interface InboundRecord {
  readonly type: number;
  readonly content: Uint8Array;
  readonly protected: boolean;
  /** Epoch of the key that opened it ('initial' for plaintext). */
  readonly epoch: Epoch;
  /** Bytes on the wire, header included. */
  readonly wireLength: number;
}

/** Reassembles records from arbitrary TCP segments and opens them with the read protector installed at that moment. */
export class RecordReader {
  private buf: Uint8Array = new Uint8Array(0);
  private off = 0;
  /** Current read protection; undefined until the first read secret (records are then plaintext). */
  protector: RecordProtector | undefined;
  /**
   * Bytes of 0-RTT records a server that rejected early data may still discard (RFC 8446 §4.2.10): records it cannot
   * open, or unprotected application_data before any key after a HelloRetryRequest. Cleared by the first record
   * that opens, so a real forgery later is still bad_record_mac.
   */
  skipEarlyDataBudget = 0;

  feed(data: Uint8Array): void {
    if (data.length === 0) return;
    const left = this.buf.length - this.off;
    const next = new Uint8Array(left + data.length);
    next.set(this.buf.subarray(this.off));
    next.set(data, left);
    this.buf = next;
    this.off = 0;
  }

  /** Bytes received but not yet forming a whole record. */
  get buffered(): number {
    return this.buf.length - this.off;
  }

  /**
   * The next complete record, or undefined when more bytes are needed. Only one record at a time, so the caller can
   * install a new read key between records. Throws TlsError on a malformed or unauthentic record.
   * Records that deliver nothing (skipped rejected early data, empty application data) are passed over in a loop, not
   * by recursion, and more than MAX_EMPTY_RECORDS of them in a row are unexpected_message, as in OpenSSL.
   */
  next(): InboundRecord | undefined {
    for (;;) {
      const rec = this.nextRecord();
      if (rec === undefined) return undefined;
      const empty = rec === SKIPPED || rec.content.length === 0;
      if (!empty) {
        this.emptyRun = 0;
        return rec;
      }
      if (++this.emptyRun > MAX_EMPTY_RECORDS) {
        throw new TlsError(Alert.unexpected_message, `more than ${MAX_EMPTY_RECORDS} consecutive empty or skipped records`);
      }
      if (rec !== SKIPPED) return rec;
    }
  }

  /** Records in a row that carried nothing (see next()). */
  private emptyRun = 0;

  private nextRecord(): InboundRecord | typeof SKIPPED | undefined {
    const avail = this.buf.length - this.off;
    if (avail < HEADER_LENGTH) {
      if (avail > 0) checkType(this.buf[this.off]!);
      return undefined;
    }
    const header = this.buf.subarray(this.off, this.off + HEADER_LENGTH);
    const type = header[0]!;
    checkType(type);
    // legacy_record_version is ignored on receipt (§5.1), so an initial ClientHello at 0x0301 is fine.
    const length = (header[3]! << 8) | header[4]!;
    const protectedRecord = this.protector !== undefined && type === ContentType.application_data;
    // Fail as soon as the header is in: waiting for 2^16 bytes of an oversized record would only stall.
    if (protectedRecord && length > MAX_CIPHERTEXT) throw new TlsError(Alert.record_overflow, `protected record of ${length} bytes exceeds 2^14+256`);
    if (!protectedRecord && length > MAX_PLAINTEXT) throw new TlsError(Alert.record_overflow, `${contentTypeName(type)} record of ${length} bytes exceeds 2^14`);
    if (avail < HEADER_LENGTH + length) return undefined;
    const body = this.buf.subarray(this.off + HEADER_LENGTH, this.off + HEADER_LENGTH + length);
    this.off += HEADER_LENGTH + length;
    if (this.off === this.buf.length) {
      this.buf = new Uint8Array(0);
      this.off = 0;
    }
    const wireLength = HEADER_LENGTH + length;
    if (!protectedRecord) {
      // Only while a rejected-0-RTT budget is open (a zero budget used to let empty records through here, one
      // recursion level each).
      if (type === ContentType.application_data && this.skipEarlyDataBudget > 0 && this.skipEarlyDataBudget >= length) {
        this.skipEarlyDataBudget -= length;
        return SKIPPED;
      }
      if (type === ContentType.application_data) throw new TlsError(Alert.unexpected_message, 'application data before any traffic key');
      if (length === 0) throw new TlsError(Alert.unexpected_message, `empty ${contentTypeName(type)} record`);
      return { type, content: body.slice(), protected: false, epoch: 'initial', wireLength };
    }
    const protector = this.protector!;
    let opened: { type: number; content: Uint8Array };
    if (this.skipEarlyDataBudget > 0) {
      const inner = protector.tryOpen(header.slice(), body);
      if (!inner) {
        if (this.skipEarlyDataBudget < length) throw new TlsError(Alert.bad_record_mac, 'rejected early data exceeds max_early_data_size');
        this.skipEarlyDataBudget -= length;
        return SKIPPED;
      }
      this.skipEarlyDataBudget = 0;
      opened = stripPadding(inner);
    } else {
      opened = protector.open(header.slice(), body);
    }
    const { type: inner, content } = opened;
    checkType(inner);
    if (inner === ContentType.change_cipher_spec) throw new TlsError(Alert.unexpected_message, 'change_cipher_spec inside a protected record');
    if (content.length === 0 && inner !== ContentType.application_data) throw new TlsError(Alert.unexpected_message, `empty protected ${contentTypeName(inner)} record`);
    return { type: inner, content: content.slice(), protected: true, epoch: protector.epoch, wireLength };
  }
}

/** A record consumed without anything to deliver (rejected early data). */
const SKIPPED = Symbol('skipped');

/** Empty or skipped records accepted in a row before unexpected_message (OpenSSL's MAX_EMPTY_RECORDS). */
export const MAX_EMPTY_RECORDS = 32;

function checkType(type: number): void {
  if (type < ContentType.change_cipher_spec || type > ContentType.application_data) {
    throw new TlsError(Alert.unexpected_message, `unknown record content type ${type}`);
  }
}

/** Chooses how many zero bytes to pad a record with (§5.4); the default is none. */
export type PaddingPolicy = (contentLength: number, type: ContentTypeCode) => number;

/** Frames content into records of at most `maxFragment` bytes, protected with the given protector or in plaintext. */
export class RecordWriter {
  maxFragment = MAX_PLAINTEXT;
  padding: PaddingPolicy | undefined;

  /** Splits `content` into as many records as needed; never emits an empty record except for empty application data. */
  write(type: ContentTypeCode, content: Uint8Array, protector: RecordProtector | undefined, legacyVersion = LEGACY_VERSION): Uint8Array[] {
    const out: Uint8Array[] = [];
    const max = Math.max(1, Math.min(this.maxFragment, MAX_PLAINTEXT));
    let pos = 0;
    do {
      const chunk = content.subarray(pos, Math.min(content.length, pos + max));
      pos += chunk.length;
      if (protector) {
        const want = this.padding ? Math.max(0, Math.floor(this.padding(chunk.length, type))) : 0;
        const pad = Math.min(want, MAX_PLAINTEXT - chunk.length);
        out.push(protector.seal(type, chunk, pad));
      } else {
        if (type === ContentType.application_data) throw new TlsError(Alert.internal_error, 'refusing to send application data in plaintext');
        const rec = new Uint8Array(HEADER_LENGTH + chunk.length);
        rec.set(recordHeader(type, legacyVersion, chunk.length));
        rec.set(chunk, HEADER_LENGTH);
        out.push(rec);
      }
    } while (pos < content.length);
    return out;
  }
}

/** The two-byte alert body (§6). */
export function encodeAlert(level: 'warning' | 'fatal', description: number): Uint8Array {
  return new Uint8Array([level === 'warning' ? 1 : 2, description]);
}

/** Parses an alert body; a body that is not exactly two bytes or has an unknown level is a decode_error (§6). */
export function decodeAlert(content: Uint8Array): { level: 'warning' | 'fatal'; description: number } {
  if (content.length !== 2) throw new TlsError(Alert.decode_error, `alert record of ${content.length} bytes (expected 2)`);
  const level = content[0];
  if (level !== 1 && level !== 2) throw new TlsError(Alert.decode_error, `alert level ${level}`);
  return { level: level === 1 ? 'warning' : 'fatal', description: content[1]! };
}
