// Address-validation tokens (RFC 9000 §8.1.2–§8.1.4, §17.2.5, §19.7): Retry and NEW_TOKEN tokens sealed with an AEAD so the server keeps no state.

import type { CryptoProvider, Aead } from '../crypto/provider.js';
import type { RandomSource } from '../crypto/random.js';
import type { Address } from '../endpoint.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { equal } from '../wire/bytes.js';

const KIND_RETRY = 0x52; // 'R'
const KIND_NEW_TOKEN = 0x4e; // 'N'
const NONCE_LENGTH = 12;

export type TokenCheck =
  | { ok: true; kind: 'retry'; originalDcid: Uint8Array; retryScid: Uint8Array; issuedAt: number }
  | { ok: true; kind: 'new-token'; issuedAt: number }
  | { ok: false; reason: string; /** A Retry token that fails is INVALID_TOKEN; a bad NEW_TOKEN token is just ignored (RFC 9000 §8.1.3). */ kind?: 'retry' | 'new-token' };

export interface TokenLifetimes {
  /** A Retry token is only good for the handshake that immediately follows. */
  retryMs: number;
  newTokenMs: number;
}

const DEFAULT_LIFETIMES: TokenLifetimes = { retryMs: 10_000, newTokenMs: 24 * 3600_000 };

/**
 * Seals (kind, issue time, client address, original DCID, Retry SCID) under a server-local key. The kind byte stays
 * in the clear so a server can tell Retry tokens (which must validate) from NEW_TOKEN tokens (which may be stale).
 */
export class TokenSealer {
  private readonly aead: Aead;

  constructor(
    crypto: CryptoProvider,
    key: Uint8Array,
    private readonly random: RandomSource,
    private readonly lifetimes: TokenLifetimes = DEFAULT_LIFETIMES,
  ) {
    if (key.length !== 16) throw new RangeError('token key must be 16 bytes (AES-128-GCM)');
    this.aead = crypto.aead('aes-128-gcm', key);
  }

  issueRetryToken(client: Address, originalDcid: Uint8Array, retryScid: Uint8Array, now: number): Uint8Array {
    return this.seal(KIND_RETRY, client, true, originalDcid, retryScid, now);
  }

  /** NEW_TOKEN tokens bind only the host: the client may come back from another port (RFC 9000 §8.1.3). */
  issueNewToken(client: Address, now: number): Uint8Array {
    return this.seal(KIND_NEW_TOKEN, client, false, new Uint8Array(0), new Uint8Array(0), now);
  }

  private seal(kind: number, client: Address, withPort: boolean, odcid: Uint8Array, rscid: Uint8Array, now: number): Uint8Array {
    const plain = new Writer(96)
      .u48(Math.max(0, Math.floor(now)))
      .vec(1, addressBytes(client, withPort))
      .vec(1, odcid)
      .vec(1, rscid)
      .finish();
    const nonce = this.random(NONCE_LENGTH);
    const aad = Uint8Array.of(kind);
    const sealed = this.aead.seal(nonce, plain, aad);
    return new Writer(1 + NONCE_LENGTH + sealed.length).u8(kind).bytes(nonce).bytes(sealed).finish();
  }

  validate(token: Uint8Array, client: Address, now: number): TokenCheck {
    if (token.length < 1 + NONCE_LENGTH + 16) return { ok: false, reason: 'token too short' };
    const kindByte = token[0]!;
    const kind = kindByte === KIND_RETRY ? 'retry' : kindByte === KIND_NEW_TOKEN ? 'new-token' : undefined;
    if (!kind) return { ok: false, reason: 'not one of our tokens' };
    const plain = this.aead.open(token.subarray(1, 1 + NONCE_LENGTH), token.subarray(1 + NONCE_LENGTH), token.subarray(0, 1));
    if (!plain) return { ok: false, kind, reason: 'token does not authenticate' };
    try {
      const r = new Reader(plain);
      const issuedAt = r.u48();
      const addr = r.vec(1);
      const odcid = r.vec(1);
      const rscid = r.vec(1);
      const lifetime = kind === 'retry' ? this.lifetimes.retryMs : this.lifetimes.newTokenMs;
      if (now - issuedAt > lifetime) return { ok: false, kind, reason: `token expired ${now - issuedAt} ms after issue` };
      if (issuedAt > now + 1000) return { ok: false, kind, reason: 'token issued in the future' };
      if (!equal(addr, addressBytes(client, kind === 'retry'))) return { ok: false, kind, reason: 'token issued to another address' };
      if (kind === 'retry') return { ok: true, kind, originalDcid: odcid.slice(), retryScid: rscid.slice(), issuedAt };
      return { ok: true, kind, issuedAt };
    } catch {
      return { ok: false, kind, reason: 'malformed token contents' };
    }
  }
}

function addressBytes(a: Address, withPort: boolean): Uint8Array {
  return new TextEncoder().encode(withPort ? `${a.host}|${a.port}` : a.host);
}
