// The DTLS 1.2 server endpoint (RFC 6347 §4.2.1): many clients by address behind a stateless cookie exchange,
// so per-peer state exists only for clients that proved they receive at their source address.

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../endpoint.js';
import { addressKey } from '../endpoint.js';
import { DecodeError } from '../wire/reader.js';
import type { DtlsConfig, DtlsEvent } from './config.js';
import { DtlsConnection } from './connection.js';
import { CookieJar, COOKIE_LENGTH, MIN_COOKIE_LENGTH } from './cookie.js';
import { HANDSHAKE_HEADER_LENGTH, HandshakeType, encodeHandshakeFragment, encodeHelloVerifyRequest, parseClientHello, parseHandshakeFragments } from './messages.js';
import { ContentType, DTLS_1_0, MAX_SEQUENCE, RECORD_HEADER_LENGTH, encodeRecord, splitRecords } from './record.js';

export interface DtlsServerConfig extends DtlsConfig {
  /** An unfinished handshake is forgotten after this long without completing. Default 120 s. */
  readonly handshakeTimeoutMs?: number;
}

export interface DtlsServerEvent {
  readonly peer: Address;
  readonly event: DtlsEvent;
}

interface Peer {
  readonly address: Address;
  readonly connection: DtlsConnection;
  readonly createdAt: number;
}

/** Epoch-0 record numbers a server association may need: its flights and every retransmission of them, with room to spare. */
export const EPOCH0_HEADROOM = 2 ** 16;

/** HelloVerifyRequest bytes besides the cookie: record header, handshake header, version, cookie length. */
const HVR_OVERHEAD = RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH + 3;

export class DtlsServer implements DatagramEndpoint {
  private readonly peers = new Map<string, Peer>();
  private readonly outbox: OutgoingDatagram[] = [];
  private readonly events: DtlsServerEvent[] = [];
  private readonly cookies: CookieJar;
  readonly stats = { helloVerifyRequests: 0, cookiesAccepted: 0, dropped: 0 };

  constructor(private readonly config: DtlsServerConfig) {
    this.cookies = new CookieJar(config.crypto, config.random, config.cookieRotationMs);
  }

  /** Per-peer states held right now (tests assert a ClientHello flood leaves this at 0). */
  get peerStateCount(): number {
    return this.peers.size;
  }

  connection(peer: Address): DtlsConnection | undefined {
    return this.peers.get(addressKey(peer))?.connection;
  }

  receiveDatagram(data: Uint8Array, from: Address, now: number): void {
    const key = addressKey(from);
    const peer = this.peers.get(key);
    // RFC 6347 §4.2.8: a fresh cleartext ClientHello to an established association means the client restarted on
    // the same port; it goes through the cookie check and, if it passes, replaces the old association. The very
    // ClientHello the association answered (same client_random) is a replay or a late duplicate, not a restart: it
    // stays with the association, which ignores it.
    if (peer && !peer.connection.closed && !(peer.connection.handshakeComplete && startsWithClientHello(data) && !peer.connection.answeredClientHello(helloRandom(data)))) {
      peer.connection.receiveDatagram(data, now);
      this.collect(peer);
      return;
    }
    if (peer?.connection.closed) this.peers.delete(key); // a new association from an address whose last one ended
    try {
      this.receiveStateless(data, from, now);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.stats.dropped++;
    }
  }

  /**
   * Before the cookie checks out only a complete, unfragmented ClientHello in the datagram's first record is looked
   * at; anything else is dropped without a trace, which keeps the server stateless under spoofed floods.
   */
  private receiveStateless(data: Uint8Array, from: Address, now: number): void {
    const rec = splitRecords(data).records[0];
    if (!rec || rec.type !== ContentType.handshake || rec.epoch !== 0) return void this.stats.dropped++;
    const frag = parseHandshakeFragments(rec.fragment)[0];
    if (!frag || frag.msgType !== HandshakeType.client_hello || frag.fragmentOffset !== 0 || frag.body.length !== frag.length) {
      return void this.stats.dropped++;
    }
    const { hello, cookieInput } = parseClientHello(frag.body);
    if (this.config.cookies !== false && !this.cookies.verify(from, cookieInput, hello.cookie, now)) {
      // RFC 6347 §4.2.1: the answer must not amplify, so the cookie shrinks to keep it no larger than the ClientHello.
      const cookieLength = Math.min(COOKIE_LENGTH, RECORD_HEADER_LENGTH + rec.fragment.length - HVR_OVERHEAD);
      if (cookieLength < MIN_COOKIE_LENGTH) return void this.stats.dropped++;
      const cookie = this.cookies.make(from, cookieInput, now, cookieLength);
      const hvr = encodeHelloVerifyRequest(DTLS_1_0, cookie);
      // Same record and message sequence numbers as the ClientHello (§4.2.1), so the client's windows accept both rounds.
      const fragment = encodeHandshakeFragment(HandshakeType.hello_verify_request, frag.messageSeq, hvr, 0, hvr.length);
      this.outbox.push({ data: encodeRecord(ContentType.handshake, DTLS_1_0, 0, rec.seq, fragment), to: from });
      this.stats.helloVerifyRequests++;
      return;
    }
    // Our epoch-0 records continue the ClientHello's sequence (§4.2.1). Record numbers are not authenticated in epoch
    // 0, so one near 2^48 would leave the flight and its retransmissions no numbers: drop it (no honest client starts
    // there) rather than fail the association with internal_error (found by crosswire fuzz-wire).
    if (rec.seq > MAX_SEQUENCE - EPOCH0_HEADROOM) return void this.stats.dropped++;
    if (this.config.cookies !== false) this.stats.cookiesAccepted++;
    const connection = new DtlsConnection(this.config, 'server', now, { body: frag.body, messageSeq: frag.messageSeq, recordSeq: rec.seq });
    const peer: Peer = { address: from, connection, createdAt: now };
    this.peers.set(addressKey(from), peer); // replaces a restarted client's previous association, if any
    this.collect(peer);
  }

  /** Moves a connection's output and events to the endpoint queues; a closed association's state is released here. */
  private collect(peer: Peer): void {
    for (const data of peer.connection.pollDatagrams()) this.outbox.push({ data, to: peer.address });
    for (let e = peer.connection.pollEvent(); e; e = peer.connection.pollEvent()) this.events.push({ peer: peer.address, event: e });
    if (peer.connection.closed) this.peers.delete(addressKey(peer.address));
  }

  pollDatagrams(_now: number): OutgoingDatagram[] {
    return this.outbox.splice(0);
  }

  pollEvent(): DtlsServerEvent | undefined {
    return this.events.shift();
  }

  private handshakeDeadline(peer: Peer): number | undefined {
    return peer.connection.handshakeComplete ? undefined : peer.createdAt + (this.config.handshakeTimeoutMs ?? 120_000);
  }

  nextTimeout(): number | undefined {
    let t: number | undefined;
    for (const p of this.peers.values()) {
      for (const c of [p.connection.nextTimeout(), this.handshakeDeadline(p)]) if (c !== undefined && (t === undefined || c < t)) t = c;
    }
    return t;
  }

  handleTimeout(now: number): void {
    for (const p of [...this.peers.values()]) {
      const deadline = this.handshakeDeadline(p);
      if (deadline !== undefined && now >= deadline) {
        this.peers.delete(addressKey(p.address));
        continue;
      }
      p.connection.handleTimeout(now);
      this.collect(p);
    }
  }

  send(peer: Address, data: Uint8Array): void {
    const p = this.peers.get(addressKey(peer));
    if (!p) throw new Error(`no DTLS association with ${addressKey(peer)}`);
    p.connection.send(data);
    this.collect(p);
  }

  close(peer?: Address): void {
    const targets = peer ? [this.peers.get(addressKey(peer))].filter((p): p is Peer => p !== undefined) : [...this.peers.values()];
    for (const p of targets) {
      p.connection.close();
      this.collect(p);
    }
  }
}

/** The client_random of a ClientHello at the start of the datagram (see startsWithClientHello); empty when too short. */
function helloRandom(data: Uint8Array): Uint8Array {
  const at = RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH + 2; // record header, handshake header, client_version
  return data.length >= at + 32 ? data.subarray(at, at + 32) : new Uint8Array(0);
}

/** A cleartext epoch-0 handshake record carrying a ClientHello (type 1) first. */
function startsWithClientHello(data: Uint8Array): boolean {
  return data.length > RECORD_HEADER_LENGTH && data[0] === ContentType.handshake && data[3] === 0 && data[4] === 0 && data[RECORD_HEADER_LENGTH] === HandshakeType.client_hello;
}
