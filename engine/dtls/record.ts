// DTLS 1.2 record layer (RFC 6347 §4.1): record framing, epochs and 48-bit sequence numbers, AEAD protection
// (RFC 5288 §3 AES-GCM with an explicit nonce, RFC 7905 §2 ChaCha20-Poly1305 with a XORed nonce) and the anti-replay window (§4.1.2.6).

import type { Aead, CryptoProvider } from '../crypto/provider.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import type { DtlsSuite } from './suites.js';

export const ContentType = { change_cipher_spec: 20, alert: 21, handshake: 22, application_data: 23 } as const;

export const DTLS_1_2 = 0xfefd;
export const DTLS_1_0 = 0xfeff;
export const RECORD_HEADER_LENGTH = 13;
/** RFC 6347 §4.1: 2^14 plaintext bytes per record; AEAD expansion may add up to 2048 more on the wire. */
export const MAX_PLAINTEXT = 16384;
export const MAX_SEQUENCE = 2 ** 48 - 1;

export interface DtlsRecord {
  readonly type: number;
  readonly version: number;
  readonly epoch: number;
  readonly seq: number;
  readonly fragment: Uint8Array;
}

/**
 * Splits a datagram into records. A truncated or oversized record ends parsing: the rest of the datagram cannot be
 * framed, so it is discarded (RFC 6347 §4.1.2.7 lets invalid records be dropped silently).
 */
export function splitRecords(datagram: Uint8Array): { records: DtlsRecord[]; trailingGarbage: number } {
  const records: DtlsRecord[] = [];
  const r = new Reader(datagram);
  while (r.remaining >= RECORD_HEADER_LENGTH) {
    const type = r.u8();
    const version = r.u16();
    const epoch = r.u16();
    const seq = r.u48();
    const length = r.u16();
    if (length > r.remaining || length > MAX_PLAINTEXT + 2048) return { records, trailingGarbage: r.remaining + RECORD_HEADER_LENGTH };
    records.push({ type, version, epoch, seq, fragment: r.bytes(length) });
  }
  return { records, trailingGarbage: r.remaining };
}

export function encodeRecord(type: number, version: number, epoch: number, seq: number, fragment: Uint8Array): Uint8Array {
  return new Writer(RECORD_HEADER_LENGTH + fragment.length).u8(type).u16(version).u16(epoch).u48(seq).vec(2, fragment).finish();
}

/** The 8-byte epoch || sequence_number that both the nonce and the additional data use. */
function epochSeq(epoch: number, seq: number): Uint8Array {
  return new Writer(8).u16(epoch).u48(seq).finish();
}

/** RFC 5246 §6.2.3.3 / RFC 6347 §4.1.2.1: seq_num(epoch||seq) || type || version || plaintext length. */
function additionalData(epoch: number, seq: number, type: number, version: number, plaintextLength: number): Uint8Array {
  return new Writer(13).u16(epoch).u48(seq).u8(type).u16(version).u16(plaintextLength).finish();
}

/** One direction's AEAD state for one epoch. */
export class RecordProtection {
  private readonly aead: Aead;

  constructor(crypto: CryptoProvider, readonly suite: DtlsSuite, key: Uint8Array, private readonly iv: Uint8Array) {
    this.aead = crypto.aead(suite.aead, key);
  }

  /** Bytes a record grows by when protected: explicit nonce plus tag. */
  get overhead(): number {
    return this.suite.explicitNonceLength + 16;
  }

  private nonce(epoch: number, seq: number, explicit?: Uint8Array): Uint8Array {
    if (this.suite.explicitNonceLength === 8) {
      const n = new Uint8Array(12);
      n.set(this.iv.subarray(0, 4));
      n.set(explicit ?? epochSeq(epoch, seq), 4);
      return n;
    }
    const n = this.iv.slice(0, 12);
    const es = epochSeq(epoch, seq);
    for (let i = 0; i < 8; i++) n[4 + i]! ^= es[i]!;
    return n;
  }

  /** The record fragment for `plaintext`. GCM's explicit nonce is the epoch and sequence: unique per key, as RFC 5288 §3 requires. */
  seal(type: number, version: number, epoch: number, seq: number, plaintext: Uint8Array): Uint8Array {
    const aad = additionalData(epoch, seq, type, version, plaintext.length);
    const sealed = this.aead.seal(this.nonce(epoch, seq), plaintext, aad);
    if (this.suite.explicitNonceLength === 0) return sealed;
    const out = new Uint8Array(8 + sealed.length);
    out.set(epochSeq(epoch, seq));
    out.set(sealed, 8);
    return out;
  }

  /** The plaintext, or null when the record does not authenticate (the caller drops it silently). */
  open(record: DtlsRecord): Uint8Array | null {
    const explicitLen = this.suite.explicitNonceLength;
    if (record.fragment.length < explicitLen + 16) return null;
    const explicit = explicitLen ? record.fragment.subarray(0, explicitLen) : undefined;
    const ciphertext = record.fragment.subarray(explicitLen);
    const aad = additionalData(record.epoch, record.seq, record.type, record.version, ciphertext.length - 16);
    return this.aead.open(this.nonce(record.epoch, record.seq, explicit), ciphertext, aad);
  }
}

/**
 * RFC 6347 §4.1.2.6: a 64-record sliding window. `check` before decryption is cheap; `accept` only after the record
 * authenticated, so forged records cannot advance the window.
 */
export class ReplayWindow {
  private highest = -1;
  private bits = 0n; // bit i set: record (highest - i) was seen
  static readonly SIZE = 64;

  /** true when the record is new and inside (or ahead of) the window. */
  check(seq: number): boolean {
    if (seq > this.highest) return true;
    const offset = this.highest - seq;
    if (offset >= ReplayWindow.SIZE) return false;
    return ((this.bits >> BigInt(offset)) & 1n) === 0n;
  }

  accept(seq: number): void {
    if (seq > this.highest) {
      const shift = this.highest < 0 ? ReplayWindow.SIZE : seq - this.highest;
      this.bits = shift >= ReplayWindow.SIZE ? 0n : (this.bits << BigInt(shift)) & 0xffff_ffff_ffff_ffffn;
      this.bits |= 1n;
      this.highest = seq;
      return;
    }
    const offset = this.highest - seq;
    if (offset < ReplayWindow.SIZE) this.bits |= 1n << BigInt(offset);
  }
}
