// The handshake transcript hash (RFC 8446 §4.4.1), including the message_hash substitution after a HelloRetryRequest.

import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { messageHash } from './handshake-codec.js';

/**
 * Messages are kept raw until the cipher suite (and so the hash) is known: the client learns it only from the
 * ServerHello, yet must hash the ClientHello it sent before.
 */
export class Transcript {
  private readonly pending: Uint8Array[] = [];
  private hasher?: ReturnType<CryptoProvider['hasher']>;
  hashName?: HashName;

  constructor(private readonly crypto: CryptoProvider) {}

  private released = false;

  add(message: Uint8Array): void {
    if (this.released) return;
    if (this.hasher) this.hasher.update(message);
    else this.pending.push(message);
  }

  /**
   * The handshake is over: drop the hash state (and any messages still waiting for a hash). Later messages are not
   * hashed, and hash() throws: nothing after both Finished messages is part of the transcript (RFC 8446 §4.4.1).
   */
  release(): void {
    this.released = true;
    this.hasher = undefined;
    this.pending.length = 0;
  }

  setHash(hash: HashName): void {
    if (this.hasher) return;
    this.hashName = hash;
    this.hasher = this.crypto.hasher(hash);
    for (const m of this.pending) this.hasher.update(m);
    this.pending.length = 0;
  }

  /** Hash of everything so far. */
  hash(): Uint8Array {
    if (!this.hasher) throw new Error(this.released ? 'transcript released after the handshake' : 'transcript hash not chosen yet');
    return this.hasher.digest();
  }

  /** Hash of everything so far plus `extra`, without adding it (PSK binders hash a truncated ClientHello). */
  hashWith(hash: HashName, extra: Uint8Array): Uint8Array {
    let h: ReturnType<CryptoProvider['hasher']>;
    if (this.hasher) {
      if (this.hashName !== hash) throw new Error(`transcript already uses ${this.hashName}`);
      h = this.hasher.clone();
    } else {
      h = this.crypto.hasher(hash);
      for (const m of this.pending) h.update(m);
    }
    h.update(extra);
    return h.digest();
  }

  /** After a HelloRetryRequest: ClientHello1 becomes message_hash(Hash(ClientHello1)). Requires the hash set. */
  replaceWithMessageHash(): void {
    const h = this.hash();
    this.hasher = this.crypto.hasher(this.hashName!);
    this.hasher.update(messageHash(h));
  }
}
