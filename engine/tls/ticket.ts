// Self-contained session tickets (RFC 8446 §4.6.1, with the stateless-server approach of RFC 5077 §4): the resumption state sealed under the server's ticket key.

import type { Aead, CryptoProvider } from '../crypto/provider.js';
import { equal, utf8 } from '../wire/bytes.js';
import type { RandomSource } from '../crypto/random.js';
import { DecodeError, Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { CIPHER_SUITES, type CipherSuiteName } from './api.js';

/** What the server needs to resume without keeping state: everything the client's PSK depends on. */
export interface TicketState {
  readonly suite: CipherSuiteName;
  readonly psk: Uint8Array;
  readonly issuedAtMs: number;
  readonly lifetimeSec: number;
  readonly ageAdd: number;
  readonly maxEarlyData: number;
  readonly alpn?: string;
  readonly serverName?: string;
  /** Opaque data the server sealed with the ticket (QUIC: its transport parameters, for 0-RTT checks). */
  readonly appData?: Uint8Array;
}

const FORMAT = 1;
const AAD = new TextEncoder().encode('crosswire ticket v1');
const NONCE_LENGTH = 12;

/**
 * The AEAD of the last ticket key used, per backend: a server seals a ticket on every handshake with the one key it
 * was configured with, and each crypto.aead() call imports the key anew (a KeyObject in the node backend). The bytes
 * are compared as well as the array, so a caller that rewrites its key buffer gets a fresh AEAD.
 */
const lastTicketAead = new WeakMap<CryptoProvider, { key: Uint8Array; bytes: Uint8Array; aead: Aead }>();

function ticketAead(crypto: CryptoProvider, key: Uint8Array): Aead {
  if (key.length !== 32) throw new RangeError('ticketKey must be 32 bytes');
  const hit = lastTicketAead.get(crypto);
  if (hit && hit.key === key && equal(hit.bytes, key)) return hit.aead;
  const aead = crypto.aead('aes-256-gcm', key);
  lastTicketAead.set(crypto, { key, bytes: new Uint8Array(key), aead });
  return aead;
}

export function sealTicket(crypto: CryptoProvider, key: Uint8Array, random: RandomSource, s: TicketState): Uint8Array {
  const w = new Writer(128);
  w.u8(FORMAT).u16(CIPHER_SUITES[s.suite].id).vec(1, s.psk).u48(s.issuedAtMs).u32(s.lifetimeSec).u32(s.ageAdd).u32(s.maxEarlyData);
  w.vec(1, utf8.encode(s.alpn ?? ''));
  w.vec(2, utf8.encode(s.serverName ?? ''));
  w.u8(s.appData ? 1 : 0);
  if (s.appData) w.vec(2, s.appData);
  const nonce = random(NONCE_LENGTH);
  const sealed = ticketAead(crypto, key).seal(nonce, w.finish(), AAD);
  const out = new Uint8Array(NONCE_LENGTH + sealed.length);
  out.set(nonce);
  out.set(sealed, NONCE_LENGTH);
  return out;
}

/** The state inside a ticket, or undefined when it was not sealed by this key or is malformed (the server then ignores it). */
export function openTicket(crypto: CryptoProvider, key: Uint8Array, ticket: Uint8Array): TicketState | undefined {
  if (ticket.length < NONCE_LENGTH + 16) return undefined;
  const plain = ticketAead(crypto, key).open(ticket.subarray(0, NONCE_LENGTH), ticket.subarray(NONCE_LENGTH), AAD);
  if (!plain) return undefined;
  try {
    const r = new Reader(plain);
    if (r.u8() !== FORMAT) return undefined;
    const id = r.u16();
    const suite = (Object.keys(CIPHER_SUITES) as CipherSuiteName[]).find((n) => CIPHER_SUITES[n].id === id);
    if (!suite) return undefined;
    const psk = r.vec(1).slice();
    const issuedAtMs = r.u48();
    const lifetimeSec = r.u32();
    const ageAdd = r.u32();
    const maxEarlyData = r.u32();
    const alpn = new TextDecoder().decode(r.vec(1));
    const serverName = new TextDecoder().decode(r.vec(2));
    const appData = r.u8() ? r.vec(2).slice() : undefined;
    return { suite, psk, issuedAtMs, lifetimeSec, ageAdd, maxEarlyData, alpn: alpn || undefined, serverName: serverName || undefined, appData };
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}
