// The server endpoint (RFC 9000 §5.2 demultiplexing, §6 Version Negotiation, §8.1 address validation with Retry and NEW_TOKEN, §10.3 stateless reset, §14.1 minimum Initial size).
// No state exists for a client until one of its Initials decrypts (§5.2.2 lets servers drop what they cannot process),
// and connections still in their handshake are bounded: past the bound, unvalidated clients get a stateless Retry.

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../endpoint.js';
import { hex } from '../wire/bytes.js';
import { Writer } from '../wire/writer.js';
import { encodeLongHeader, parsePacket, versionNegotiationFor, MIN_INITIAL_DATAGRAM, type ProtectedHeader } from './packet.js';
import { encodeFrame } from './frames.js';
import { TransportErrorCode } from './errors.js';
import { buildRetry } from './retry.js';
import { isSupportedVersion } from './version.js';
import { AEAD_TAG_LENGTH, initialKeys, protectPacket, unprotectPacket } from './protection.js';
import { QuicConnection } from './connection.js';
import { TokenSealer } from './token.js';
import { resolveVersions, type QuicConfig } from './config.js';
import type { QlogSink } from './qlog.js';

export interface ServerOptions {
  /** Configuration for each accepted connection (role server). `qlogFor` gives per-connection qlog sinks. */
  readonly config: QuicConfig;
  /** Require address validation with a stateless Retry before creating any connection state. */
  readonly retry?: boolean;
  /** 16-byte key sealing Retry and NEW_TOKEN tokens; random by default (tokens then die with the process). */
  readonly tokenKey?: Uint8Array;
  /** Key for stateless reset tokens, so resets work without connection state (RFC 9000 §10.3.2). */
  readonly resetKey?: Uint8Array;
  /** Issue NEW_TOKEN tokens after handshakes so clients can skip Retry next time. */
  readonly issueNewTokens?: boolean;
  /** Per-connection qlog sink, keyed by the original destination connection ID. */
  readonly qlogFor?: (odcidHex: string) => QlogSink | undefined;
  /** Endpoint-level events (dropped datagrams, Retry and VN sent) for logs and tests. */
  readonly onEvent?: (e: ServerEvent) => void;
  /**
   * Connections allowed in their handshake at once (default 1024). Past it, a client without a valid token gets a
   * stateless Retry (RFC 9000 §8.1.2) instead of connection state, so spoofed Initials cannot pile up state.
   */
  readonly maxHandshakes?: number;
}

export type ServerEvent =
  | { type: 'dropped'; reason: string; length: number; from: Address }
  | { type: 'version-negotiation'; to: Address; offered: number }
  | { type: 'retry'; to: Address }
  /** A client Initial carried a Retry token that does not validate (e.g. issued to another address or port). */
  | { type: 'invalid-token'; to: Address; reason: string }
  | { type: 'stateless-reset'; to: Address }
  | { type: 'accepted'; connection: QuicConnection };

interface Route {
  conn?: QuicConnection;
}

/** Smallest stateless reset we send: shorter ones cannot be told apart from short-header packets (RFC 9000 §10.3). */
const MIN_STATELESS_RESET = 21;
const DEFAULT_MAX_HANDSHAKES = 1024;

export class QuicServer implements DatagramEndpoint {
  private readonly routes = new Map<string, Route>();
  /**
   * The connection ID and route of the last short-header datagram routed: in a transfer nearly every datagram goes to
   * the same connection, and comparing a few bytes skips the header parse and the hex key of the general path.
   * Cleared whenever a route goes away.
   */
  private lastCid: Uint8Array | undefined;
  private lastRoute: Route | undefined;
  readonly connections = new Set<QuicConnection>();
  /** Exceptions from routing itself (outside any connection), kept whole for harnesses; the datagram was dropped. */
  readonly internalErrors: Error[] = [];
  private readonly acceptQueue: QuicConnection[] = [];
  private readonly outbox: OutgoingDatagram[] = [];
  private readonly sealer: TokenSealer;
  private readonly resetKey: Uint8Array;
  private readonly cidLength: number;
  private readonly versions: readonly number[];

  constructor(private readonly opts: ServerOptions) {
    const c = opts.config;
    this.sealer = new TokenSealer(c.crypto, opts.tokenKey ?? c.random(16), c.random);
    this.resetKey = opts.resetKey ?? c.random(32);
    this.cidLength = c.cidLength ?? 8;
    if (this.cidLength < 4) throw new RangeError('a server needs connection IDs of at least 4 bytes to route packets');
    this.versions = resolveVersions(c).all;
  }

  /** The next connection that completed... or at least started its handshake (OpenSSL's SSL_accept_connection). */
  accept(): QuicConnection | undefined {
    return this.acceptQueue.shift();
  }

  resetTokenFor(cid: Uint8Array): Uint8Array {
    return this.opts.config.crypto.hmac('sha256', this.resetKey, cid).slice(0, 16);
  }

  receiveDatagram(data: Uint8Array, from: Address, now: number, local?: Address): void {
    try {
      this.route(data, from, now, local);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.internalErrors.push(error);
      this.drop(data.length, from, `internal: ${error.message}`);
    }
  }

  private drop(length: number, from: Address, reason: string): void {
    this.opts.onEvent?.({ type: 'dropped', reason, length, from });
  }

  private route(data: Uint8Array, from: Address, now: number, local?: Address): void {
    const fast = this.lastRoute?.conn;
    if (fast && this.matchesLastCid(data)) {
      fast.receiveDatagram(data, from, now, local);
      return;
    }
    let h: ProtectedHeader;
    try {
      h = parsePacket(data, 0, this.cidLength);
    } catch (e) {
      return this.drop(data.length, from, `unparseable: ${(e as Error).message}`);
    }
    const knownRoute = this.routes.get(hex(h.dcid));
    const known = knownRoute?.conn;
    if (known) {
      if (h.form === 'short') {
        this.lastCid = h.dcid.slice();
        this.lastRoute = knownRoute;
      }
      known.receiveDatagram(data, from, now, local);
      return;
    }
    if (h.form === 'short') return this.statelessReset(data, h, from);
    if (h.kind === 'unsupported-version') {
      // Only answer datagrams big enough to be a real Initial, so VN cannot amplify (RFC 9000 §6.1).
      if (data.length < MIN_INITIAL_DATAGRAM) return this.drop(data.length, from, 'short datagram of unknown version');
      this.outbox.push({ data: versionNegotiationFor(h, this.versions, this.opts.config.random), to: from, from: local });
      this.opts.onEvent?.({ type: 'version-negotiation', to: from, offered: h.version ?? 0 });
      return;
    }
    if (h.kind !== 'initial') return this.drop(data.length, from, `${h.kind} packet for unknown connection`);
    if (data.length < MIN_INITIAL_DATAGRAM) return this.drop(data.length, from, `Initial in a ${data.length}-byte datagram (< 1200)`);
    if (h.dcid.length < 8) return this.drop(data.length, from, 'client Initial DCID shorter than 8 bytes');
    if (!isSupportedVersion(h.version ?? 0) || !this.versions.includes(h.version!)) {
      this.outbox.push({ data: versionNegotiationFor(h, this.versions, this.opts.config.random), to: from, from: local });
      this.opts.onEvent?.({ type: 'version-negotiation', to: from, offered: h.version ?? 0 });
      return;
    }
    // The Initial must decrypt before anything is kept for it: Initial keys are public, but garbage (and corruption) ends
    // here, costing one key derivation and no memory.
    if (!this.initialDecrypts(h)) return this.drop(data.length, from, 'Initial does not decrypt');
    let originalDcid = h.dcid;
    let retrySourceCid: Uint8Array | undefined;
    let validated = false;
    if (h.token.length) {
      const check = this.sealer.validate(h.token, from, now);
      if (check.ok && check.kind === 'retry') {
        originalDcid = check.originalDcid;
        retrySourceCid = check.retryScid;
        validated = true;
      } else if (check.ok) {
        validated = true;
      } else if (check.kind === 'retry') {
        // RFC 9000 §8.1.3: the client will not accept another Retry, so close at once with INVALID_TOKEN rather than let
        // it time out; no state was created, so there is no closing period either.
        this.outbox.push({ data: this.invalidTokenClose(h), to: from, from: local });
        this.opts.onEvent?.({ type: 'invalid-token', to: from, reason: check.reason });
        return this.drop(data.length, from, `invalid Retry token: ${check.reason}`);
      }
    }
    const busy = !validated && this.handshakesInProgress() >= (this.opts.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES);
    if ((this.opts.retry || busy) && !validated) {
      const scid = this.opts.config.random(this.cidLength);
      const token = this.sealer.issueRetryToken(from, h.dcid, scid, now);
      this.outbox.push({ data: buildRetry(this.opts.config.crypto, { version: h.version!, dcid: h.scid, scid, token, originalDcid: h.dcid }), to: from, from: local });
      this.opts.onEvent?.({ type: 'retry', to: from });
      return;
    }
    const route: Route = {};
    const conn = new QuicConnection({
      role: 'server',
      config: { ...this.opts.config, qlog: this.opts.qlogFor?.(hex(originalDcid)) ?? this.opts.config.qlog },
      remote: from,
      local,
      now,
      // Copies: the header's CIDs are views into the datagram, which the connection would otherwise keep alive for its
      // whole life (issue 15: ~7 KiB per idle connection).
      originalDcid: new Uint8Array(originalDcid),
      initialDcid: new Uint8Array(h.dcid),
      clientScid: new Uint8Array(h.scid),
      retrySourceCid: retrySourceCid && new Uint8Array(retrySourceCid),
      addressValidated: validated,
      version: h.version,
      resetTokenFor: (cid) => this.resetTokenFor(cid),
      onCidAdded: (cid) => this.routes.set(hex(cid), route),
      onCidRetired: (cid) => this.unroute(hex(cid)),
      tokenSealer: this.opts.issueNewTokens === false ? undefined : this.sealer,
    });
    route.conn = conn;
    // Until the client switches to our CID, its packets still carry the DCID it chose.
    this.routes.set(hex(h.dcid), route);
    this.connections.add(conn);
    this.acceptQueue.push(conn);
    this.opts.onEvent?.({ type: 'accepted', connection: conn });
    conn.receiveDatagram(data, from, now, local);
  }

  /** Whether a client's first Initial authenticates under the Initial keys of its DCID (RFC 9001 §5.2). */
  private initialDecrypts(h: ProtectedHeader): boolean {
    const keys = initialKeys(this.opts.config.crypto, h.version!, h.dcid);
    return unprotectPacket(keys.client, h.packet, h.pnOffset, -1) !== null;
  }

  /**
   * A stateless Initial packet carrying CONNECTION_CLOSE with INVALID_TOKEN (RFC 9000 §8.1.3, §10.2.3), sealed with the
   * server Initial keys of the client's DCID and addressed to the client's SCID. Not ack-eliciting, so not padded.
   */
  private invalidTokenClose(h: ProtectedHeader): Uint8Array {
    const keys = initialKeys(this.opts.config.crypto, h.version!, h.dcid);
    const payload = new Writer(64);
    encodeFrame(payload, { type: 'connection_close', application: false, errorCode: TransportErrorCode.INVALID_TOKEN, frameType: 0, reason: 'invalid Retry token' });
    const body = payload.finish();
    const { header, pnOffset } = encodeLongHeader({ type: 'initial', version: h.version!, dcid: h.scid, scid: this.opts.config.random(this.cidLength), token: new Uint8Array(0) }, 0, 1, body.length + AEAD_TAG_LENGTH);
    return protectPacket(keys.server, header, pnOffset, 0, body);
  }

  /** Connections whose handshake has not completed (and are not closing): the state an unvalidated client can cost. */
  private handshakesInProgress(): number {
    let n = 0;
    for (const c of this.connections) if (c.phase === 'handshake') n++;
    return n;
  }

  /** A short header (fixed bit set, as parsePacket requires) whose DCID is the last routed one. */
  private matchesLastCid(data: Uint8Array): boolean {
    const cid = this.lastCid!;
    const n = cid.length;
    if ((data[0]! & 0xc0) !== 0x40 || data.length < 1 + n) return false;
    for (let i = 0; i < n; i++) if (data[1 + i] !== cid[i]) return false;
    return true;
  }

  private unroute(key: string): void {
    this.routes.delete(key);
    this.lastCid = undefined;
    this.lastRoute = undefined;
  }

  private statelessReset(data: Uint8Array, h: ProtectedHeader, from: Address): void {
    // The reset must be shorter than what triggered it, so two endpoints cannot loop (RFC 9000 §10.3.3).
    const length = Math.min(data.length - 1, 43);
    if (length < MIN_STATELESS_RESET) return this.drop(data.length, from, 'short header for unknown connection (too short to reset)');
    const out = this.opts.config.random(length);
    out[0] = 0x40 | (out[0]! & 0x3f);
    out.set(this.resetTokenFor(h.dcid), length - 16);
    this.outbox.push({ data: out, to: from });
    this.opts.onEvent?.({ type: 'stateless-reset', to: from });
  }

  pollDatagrams(now: number): OutgoingDatagram[] {
    // Polled after every input and mostly with one connection: its own fresh array is handed on rather than copied.
    let out = this.outbox.length ? this.outbox.splice(0) : undefined;
    for (const c of this.connections) {
      const ds = c.pollDatagrams(now);
      if (!out) out = ds;
      else for (const d of ds) out.push(d);
      if (c.isClosed) this.forget(c);
    }
    return out ?? [];
  }

  private forget(c: QuicConnection): void {
    this.connections.delete(c);
    for (const [k, r] of this.routes) if (r.conn === c) this.unroute(k);
  }

  nextTimeout(): number | undefined {
    let min: number | undefined;
    for (const c of this.connections) {
      const t = c.nextTimeout();
      if (t !== undefined && (min === undefined || t < min)) min = t;
    }
    return min;
  }

  handleTimeout(now: number): void {
    for (const c of [...this.connections]) {
      const t = c.nextTimeout();
      if (t !== undefined && t <= now) c.handleTimeout(now);
      if (c.isClosed) this.forget(c);
    }
  }
}
