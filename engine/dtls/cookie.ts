// Stateless HelloVerifyRequest cookies (RFC 6347 §4.2.1): an HMAC over the client's address and ClientHello
// parameters under a rotating secret, so a server can demand a return-routability proof before keeping any state.

import type { CryptoProvider } from '../crypto/provider.js';
import type { RandomSource } from '../crypto/random.js';
import { addressKey, type Address } from '../endpoint.js';
import { concat, equal, utf8 } from '../wire/bytes.js';

export const COOKIE_LENGTH = 32;
/** Below this a cookie is too easy to guess; the server drops the ClientHello instead of answering with less. */
export const MIN_COOKIE_LENGTH = 16;

export class CookieJar {
  private current: Uint8Array;
  private previous: Uint8Array | undefined;
  private rotatedAt: number | undefined;

  constructor(
    private readonly crypto: CryptoProvider,
    private readonly random: RandomSource,
    /** A cookie stays valid for one to two rotation periods: current and previous secrets are accepted. */
    private readonly rotationMs = 60_000,
  ) {
    this.current = random(32);
  }

  /** Rotation is lazy (driven by `now` on each use) so the jar needs no timer. */
  private rotate(now: number): void {
    if (this.rotatedAt === undefined) this.rotatedAt = now;
    if (now - this.rotatedAt < this.rotationMs) return;
    this.previous = this.current;
    this.current = this.random(32);
    this.rotatedAt = now;
  }

  private mac(secret: Uint8Array, from: Address, cookieInput: Uint8Array): Uint8Array {
    return this.crypto.hmac('sha256', secret, concat(utf8.encode(addressKey(from)), new Uint8Array([0]), cookieInput));
  }

  make(from: Address, cookieInput: Uint8Array, now: number, length = COOKIE_LENGTH): Uint8Array {
    this.rotate(now);
    return this.mac(this.current, from, cookieInput).slice(0, Math.min(length, COOKIE_LENGTH));
  }

  verify(from: Address, cookieInput: Uint8Array, cookie: Uint8Array, now: number): boolean {
    this.rotate(now);
    if (cookie.length < MIN_COOKIE_LENGTH || cookie.length > COOKIE_LENGTH) return false;
    if (equal(this.mac(this.current, from, cookieInput).subarray(0, cookie.length), cookie)) return true;
    return this.previous !== undefined && equal(this.mac(this.previous, from, cookieInput).subarray(0, cookie.length), cookie);
  }
}
