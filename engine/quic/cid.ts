// Connection IDs (RFC 9000 §5.1, §19.15, §19.16, §10.3): issuing ours, tracking the peer's, retirement and stateless reset tokens.

import { QuicError, TransportErrorCode } from './errors.js';
import { equal, hex } from '../wire/bytes.js';
import type { RandomSource } from '../crypto/random.js';

export const FRAME_NEW_CONNECTION_ID = 0x18;
export const FRAME_RETIRE_CONNECTION_ID = 0x19;

export interface IssuedCid {
  readonly sequence: number;
  readonly cid: Uint8Array;
  readonly resetToken: Uint8Array;
}

export interface NewConnectionIdFrame {
  readonly sequence: number;
  readonly retirePriorTo: number;
  readonly cid: Uint8Array;
  readonly resetToken: Uint8Array;
}

export interface CidManagerOptions {
  readonly random: RandomSource;
  /** Length of the connection IDs we issue (0..20). */
  readonly cidLength: number;
  /** Our active_connection_id_limit: how many of the peer's IDs we are willing to hold. */
  readonly localActiveLimit: number;
  /** Stateless reset token for one of our IDs; a server derives it from a static key so it can reset without state. */
  readonly resetTokenFor: (cid: Uint8Array) => Uint8Array;
  /** Routing hooks: a server endpoint maps our IDs to this connection. */
  readonly onLocalAdded?: (cid: Uint8Array) => void;
  readonly onLocalRetired?: (cid: Uint8Array) => void;
}

/** Upper bound on IDs we issue, whatever the peer allows: more only costs memory. */
const MAX_ISSUED = 8;

/** What the take* methods return when nothing is due: asked for on every packet, so no array is allocated then. */
const NO_NEW_IDS: readonly NewConnectionIdFrame[] = Object.freeze([]);
const NO_RETIREMENTS: readonly number[] = Object.freeze([]);

export class CidManager {
  private readonly local = new Map<number, IssuedCid>();
  private nextLocalSeq = 0;
  /** Our IDs whose NEW_CONNECTION_ID frames still need sending. */
  private readonly pendingNew: IssuedCid[] = [];
  private peerActiveLimit = 2;

  private readonly remote = new Map<number, IssuedCid>();
  private activeRemoteSeq = 0;
  private remoteRetirePriorTo = 0;
  private readonly pendingRetire: number[] = [];
  /** Reset tokens of retired peer IDs stay recognisable for a while (RFC 9000 §10.3.1 permits it; it helps after migration). */
  private readonly oldResetTokens: Uint8Array[] = [];

  constructor(private readonly opts: CidManagerOptions) {}

  // ---- our IDs ----

  /** Registers the ID chosen during the handshake (sequence 0). */
  setInitialLocal(cid: Uint8Array): IssuedCid {
    const entry = { sequence: this.nextLocalSeq++, cid, resetToken: this.opts.resetTokenFor(cid) };
    this.local.set(entry.sequence, entry);
    this.opts.onLocalAdded?.(cid);
    return entry;
  }

  newLocalCid(): Uint8Array {
    return this.opts.random(this.opts.cidLength);
  }

  localCids(): IssuedCid[] {
    return [...this.local.values()];
  }

  /** The oldest of our IDs still active, i.e. localCids()[0], without copying the list (asked per datagram). */
  firstLocal(): IssuedCid | undefined {
    for (const e of this.local.values()) return e;
    return undefined;
  }

  isLocal(cid: Uint8Array): boolean {
    for (const e of this.local.values()) if (equal(e.cid, cid)) return true;
    return false;
  }

  /** The peer's active_connection_id_limit is known (its transport parameters): top up to it. */
  setPeerActiveLimit(limit: number): void {
    this.peerActiveLimit = limit;
    this.topUp();
  }

  /** Issues new IDs until the peer holds as many as it allows. Zero-length IDs cannot be rotated. */
  topUp(): void {
    if (this.opts.cidLength === 0) return;
    const target = Math.min(this.peerActiveLimit, MAX_ISSUED);
    while (this.local.size < target) {
      const cid = this.newLocalCid();
      const entry = { sequence: this.nextLocalSeq++, cid, resetToken: this.opts.resetTokenFor(cid) };
      this.local.set(entry.sequence, entry);
      this.pendingNew.push(entry);
      this.opts.onLocalAdded?.(cid);
    }
  }

  takeNewConnectionIds(): readonly NewConnectionIdFrame[] {
    if (!this.pendingNew.length) return NO_NEW_IDS;
    const out = this.pendingNew.splice(0).filter((e) => this.local.has(e.sequence));
    return out.map((e) => ({ sequence: e.sequence, retirePriorTo: 0, cid: e.cid, resetToken: e.resetToken }));
  }

  onNewConnectionIdLost(sequence: number): void {
    const e = this.local.get(sequence);
    if (e) this.pendingNew.push(e);
  }

  /** RETIRE_CONNECTION_ID from the peer (RFC 9000 §19.16). `packetDcid` is the ID the carrying packet was sent to. */
  onRetireConnectionId(sequence: number, packetDcid: Uint8Array): void {
    if (sequence >= this.nextLocalSeq) {
      throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, `RETIRE_CONNECTION_ID for unissued sequence ${sequence}`, { frameType: FRAME_RETIRE_CONNECTION_ID });
    }
    const e = this.local.get(sequence);
    if (!e) return; // already retired
    if (equal(e.cid, packetDcid)) {
      throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, 'RETIRE_CONNECTION_ID names the ID of its own packet', { frameType: FRAME_RETIRE_CONNECTION_ID });
    }
    this.local.delete(sequence);
    this.opts.onLocalRetired?.(e.cid);
    this.topUp();
  }

  // ---- the peer's IDs ----

  /** The ID the peer chose in its first packet (sequence 0); a client learns the reset token from transport parameters. */
  setInitialRemote(cid: Uint8Array, resetToken?: Uint8Array): void {
    this.remote.clear();
    this.remote.set(0, { sequence: 0, cid, resetToken: resetToken ?? new Uint8Array(0) });
    this.activeRemoteSeq = 0;
  }

  setRemoteResetToken(sequence: number, token: Uint8Array): void {
    const e = this.remote.get(sequence);
    if (e) this.remote.set(sequence, { ...e, resetToken: token });
  }

  get activeRemote(): IssuedCid {
    const e = this.remote.get(this.activeRemoteSeq);
    if (!e) throw new Error('no active peer connection ID');
    return e;
  }

  get remoteCount(): number {
    return this.remote.size;
  }

  /** NEW_CONNECTION_ID from the peer (RFC 9000 §19.15). */
  onNewConnectionId(f: NewConnectionIdFrame): void {
    const type = FRAME_NEW_CONNECTION_ID;
    if (f.retirePriorTo > f.sequence) throw new QuicError(TransportErrorCode.FRAME_ENCODING_ERROR, 'retire_prior_to exceeds sequence number', { frameType: type });
    if (f.cid.length < 1 || f.cid.length > 20) throw new QuicError(TransportErrorCode.FRAME_ENCODING_ERROR, `connection ID length ${f.cid.length}`, { frameType: type });
    if (this.activeRemote.cid.length === 0) throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, 'NEW_CONNECTION_ID while the peer uses a zero-length ID', { frameType: type });
    const known = this.remote.get(f.sequence);
    if (known) {
      if (!equal(known.cid, f.cid) || !equal(known.resetToken, f.resetToken)) {
        throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, `sequence ${f.sequence} reused for a different ID`, { frameType: type });
      }
      return;
    }
    for (const e of this.remote.values()) {
      if (equal(e.cid, f.cid)) throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, `ID ${hex(f.cid)} announced under two sequence numbers`, { frameType: type });
    }
    if (f.sequence < this.remoteRetirePriorTo) {
      // Already retired by an earlier retire_prior_to: retire it straight away (RFC 9000 §19.15).
      this.pendingRetire.push(f.sequence);
      return;
    }
    this.remote.set(f.sequence, { sequence: f.sequence, cid: f.cid, resetToken: f.resetToken });
    if (f.retirePriorTo > this.remoteRetirePriorTo) {
      this.remoteRetirePriorTo = f.retirePriorTo;
      for (const seq of [...this.remote.keys()]) {
        if (seq < f.retirePriorTo) this.retireRemote(seq);
      }
    }
    if (this.remote.size > this.opts.localActiveLimit) {
      throw new QuicError(TransportErrorCode.CONNECTION_ID_LIMIT_ERROR, `peer has ${this.remote.size} active IDs, limit ${this.opts.localActiveLimit}`, { frameType: type });
    }
    if (!this.remote.has(this.activeRemoteSeq)) this.activeRemoteSeq = Math.min(...this.remote.keys());
  }

  private retireRemote(seq: number): void {
    const e = this.remote.get(seq);
    if (!e) return;
    this.remote.delete(seq);
    if (e.resetToken.length) this.oldResetTokens.push(e.resetToken);
    if (this.oldResetTokens.length > 8) this.oldResetTokens.shift();
    this.pendingRetire.push(seq);
  }

  /** Moves to an unused peer ID (on our own migration, or to unlink paths); returns false when none is spare. */
  rotateRemote(): boolean {
    const spare = [...this.remote.keys()].filter((s) => s !== this.activeRemoteSeq).sort((a, b) => a - b);
    if (!spare.length) return false;
    const old = this.activeRemoteSeq;
    this.activeRemoteSeq = spare[0]!;
    this.retireRemote(old);
    return true;
  }

  takeRetirements(): readonly number[] {
    return this.pendingRetire.length ? this.pendingRetire.splice(0) : NO_RETIREMENTS;
  }

  onRetireLost(sequence: number): void {
    this.pendingRetire.push(sequence);
  }

  /** RFC 9000 §10.3.1: a datagram whose last 16 bytes equal a peer reset token is a stateless reset. */
  isStatelessReset(datagram: Uint8Array): boolean {
    if (datagram.length < 21) return false;
    const tail = datagram.subarray(datagram.length - 16);
    for (const e of this.remote.values()) if (e.resetToken.length === 16 && equal(e.resetToken, tail)) return true;
    for (const t of this.oldResetTokens) if (equal(t, tail)) return true;
    return false;
  }
}
