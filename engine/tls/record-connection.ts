// TLS 1.3 over a byte stream (RFC 8446 §5 record layer driven by the §4 handshake; §4.6.3 KeyUpdate, §6.1 closure,
// §6.2 error alerts, Appendix D.4 middlebox compatibility change_cipher_spec).
//
// Sans-I/O glue between a TlsSession (handshake bytes per epoch, secrets as events) and the record layer: TCP bytes in
// via receive(), TCP bytes out via pollOutput(), application data and lifecycle via pollEvent(). No sockets, no
// timers, no clock: engine/io/tcp.ts drives it.

import type { CryptoProvider } from '../crypto/provider.js';
import { Alert, TlsError, alertName, type Epoch, type SessionTicket, type TlsSession } from './api.js';
import {
  ContentType,
  RecordProtector,
  RecordReader,
  RecordWriter,
  contentTypeName,
  decodeAlert,
  encodeAlert,
  type ContentTypeCode,
  type PaddingPolicy,
} from './record.js';

export type TlsStreamEvent =
  | { type: 'handshake-complete' }
  | { type: 'data'; data: Uint8Array }
  /** The peer sent close_notify: it will send nothing more (we may still write, §6.1). */
  | { type: 'peer-closed' }
  | { type: 'ticket'; ticket: SessionTicket }
  | { type: 'key-update'; direction: 'read' | 'write' }
  /** Fatal: the connection is dead. When we raised it, the alert is already queued in pollOutput(). */
  | { type: 'error'; error: TlsError };

/** One record crossing the wire, for -v traces and tests. */
export interface RecordTrace {
  readonly direction: 'sent' | 'received';
  /** Real content type (after decryption for protected records). */
  readonly contentType: string;
  readonly epoch: Epoch;
  readonly protected: boolean;
  readonly length: number;
  /** Alert records: the alert's name; handshake records: the first message type in it. */
  readonly detail?: string;
}

export interface TlsRecordConnectionOptions {
  /** Zero padding per protected record (§5.4); default none. */
  readonly padding?: PaddingPolicy;
  /** Largest plaintext fragment to send; default and maximum 2^14. */
  readonly maxFragment?: number;
  /** Middlebox compatibility change_cipher_spec (Appendix D.4); default true, as browsers and OpenSSL do. */
  readonly compatibilityCcs?: boolean;
  readonly onRecord?: (r: RecordTrace) => void;
}

/** Upper bound of rejected 0-RTT bytes to skip: OpenSSL's default max_early_data (16 KiB) plus record overhead. */
const REJECTED_EARLY_DATA_BUDGET = 16384 + 2 * 256;

type State = 'handshaking' | 'established' | 'failed';

const HANDSHAKE_NAMES: Record<number, string> = {
  1: 'ClientHello', 2: 'ServerHello', 4: 'NewSessionTicket', 5: 'EndOfEarlyData', 8: 'EncryptedExtensions',
  11: 'Certificate', 13: 'CertificateRequest', 15: 'CertificateVerify', 20: 'Finished', 24: 'KeyUpdate', 254: 'message_hash',
};

/** Names of the handshake messages that start in `content` (a record may carry a whole flight), e.g. "Certificate+Finished". */
function handshakeMessageNames(content: Uint8Array): string {
  const names: string[] = [];
  let i = 0;
  while (i + 4 <= content.length) {
    names.push(HANDSHAKE_NAMES[content[i]!] ?? `handshake_${content[i]}`);
    i += 4 + ((content[i + 1]! << 16) | (content[i + 2]! << 8) | content[i + 3]!);
  }
  // A message that continues in the next record, or a header split across records (trace only, never parsed further).
  if (i > content.length) names[names.length - 1] += '…';
  else if (i < content.length || names.length === 0) names.push('(fragment)');
  return names.join('+');
}

/**
 * Tracks handshake message boundaries in the received byte stream: RFC 8446 §5.1 forbids a message spanning a key
 * change, which only the record layer can see (the session just receives bytes per epoch).
 */
class HandshakeFraming {
  private header: number[] = [];
  private bodyLeft = 0;

  consume(data: Uint8Array): void {
    let i = 0;
    while (i < data.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, data.length - i);
        this.bodyLeft -= take;
        i += take;
        continue;
      }
      this.header.push(data[i++]!);
      if (this.header.length === 4) {
        this.bodyLeft = (this.header[1]! << 16) | (this.header[2]! << 8) | this.header[3]!;
        this.header = [];
      }
    }
  }

  get atBoundary(): boolean {
    return this.header.length === 0 && this.bodyLeft === 0;
  }
}

export class TlsRecordConnection {
  private readonly reader = new RecordReader();
  private readonly writer = new RecordWriter();
  private readonly writeKeys = new Map<Epoch, RecordProtector>();
  /** The newest write protector: alerts and application data go under it. */
  private currentWrite: RecordProtector | undefined;
  private readonly framing = new HandshakeFraming();
  private readonly output: Uint8Array[] = [];
  private readonly events: TlsStreamEvent[] = [];
  private readonly pendingAppData: Uint8Array[] = [];
  private state: State = 'handshaking';
  private ccsSent = false;
  private ccsReceived = false;
  private handshakeBytesReceived = false;
  private sentCloseNotify = false;
  private receivedCloseNotify = false;
  private firstClientHelloSent = false;
  private pendingApplicationRead: RecordProtector | undefined;
  private readonly compatCcs: boolean;
  private readonly onRecord?: (r: RecordTrace) => void;
  /** The error that ended the connection, if any. */
  error: TlsError | undefined;

  constructor(
    readonly session: TlsSession,
    private readonly crypto: CryptoProvider,
    opts: TlsRecordConnectionOptions = {},
  ) {
    this.writer.padding = opts.padding;
    if (opts.maxFragment !== undefined) this.writer.maxFragment = opts.maxFragment;
    this.compatCcs = opts.compatibilityCcs ?? true;
    this.onRecord = opts.onRecord;
  }

  /** The handshake completed at some point (stays true after a later failure or closure). */
  handshakeDone = false;

  get established(): boolean {
    return this.state === 'established';
  }

  get failed(): boolean {
    return this.state === 'failed';
  }

  /** True once we sent close_notify (or a fatal alert): nothing more will be written. */
  get writeClosed(): boolean {
    return this.sentCloseNotify || this.state === 'failed';
  }

  /** True once the peer's close_notify (or a fatal alert either way) ended the read side. */
  get readClosed(): boolean {
    return this.receivedCloseNotify || this.state === 'failed';
  }

  /** Client: queue the ClientHello. Server: nothing to do until bytes arrive. */
  start(): void {
    this.guard(() => {
      this.session.start();
      this.pump();
    });
  }

  /** TCP bytes from the peer. Never throws: failures become an 'error' event and a queued alert. */
  receive(data: Uint8Array): void {
    if (this.state === 'failed' || this.receivedCloseNotify) return;
    this.guard(() => {
      this.reader.feed(data);
      for (;;) {
        if (this.state === 'failed' || this.receivedCloseNotify) return;
        const rec = this.reader.next();
        if (!rec) return;
        this.handleRecord(rec.type, rec.content, rec.protected, rec.epoch);
        this.pump();
      }
    });
  }

  /** Application data to send; queued until the handshake completes. */
  write(data: Uint8Array): void {
    if (this.writeClosed) throw new Error('TLS connection is closed for writing');
    if (this.state !== 'established') {
      this.pendingAppData.push(data.slice());
      return;
    }
    this.guard(() => this.sendAppData(data));
  }

  /**
   * Sends close_notify (§6.1). Reading continues until the peer closes. Before the handshake completes, data still
   * queued is dropped: it was never going to be sent under keys the peer authenticated.
   */
  close(): void {
    if (this.writeClosed) return;
    this.guard(() => {
      if (this.state === 'established') this.flushAppData();
      else this.pendingAppData.length = 0;
      this.sendAlert('warning', Alert.close_notify);
      this.sentCloseNotify = true;
    });
  }

  /** Sends a KeyUpdate (§4.6.3); `requestPeer` asks the peer to update its sending keys too. */
  keyUpdate(requestPeer: boolean): void {
    if (this.state !== 'established') throw new Error('KeyUpdate before the handshake completed');
    this.guard(() => {
      this.session.keyUpdate(requestPeer);
      this.pump();
    });
  }

  /** Next bytes to write to the socket, in order; undefined when nothing is pending. */
  pollOutput(): Uint8Array | undefined {
    if (this.output.length <= 1) return this.output.shift();
    let n = 0;
    for (const b of this.output) n += b.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const b of this.output.splice(0)) {
      out.set(b, o);
      o += b.length;
    }
    return out;
  }

  pollEvent(): TlsStreamEvent | undefined {
    return this.events.shift();
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (this.state === 'failed') return;
    const err = e instanceof TlsError ? e : new TlsError(Alert.internal_error, e instanceof Error ? e.message : String(e));
    if (!err.remote && !this.sentCloseNotify) {
      try {
        this.sendAlert('fatal', err.alert);
      } catch {
        // The alert is a courtesy; failing to frame it must not hide the original error.
      }
    }
    this.state = 'failed';
    this.error = err;
    this.events.push({ type: 'error', error: err });
  }

  private handleRecord(type: number, content: Uint8Array, isProtected: boolean, epoch: Epoch): void {
    this.trace('received', type, content, epoch, isProtected);
    // §5.1: a handshake message split over records must not have other records between its pieces.
    if (type !== ContentType.handshake && !this.framing.atBoundary) {
      throw new TlsError(Alert.unexpected_message, `${contentTypeName(type)} record inside a fragmented handshake message`);
    }
    switch (type) {
      case ContentType.change_cipher_spec:
        // Appendix D.4 / §5: one byte 0x01, unprotected, once, after the first ClientHello and before the peer's Finished.
        if (content.length !== 1 || content[0] !== 1) throw new TlsError(Alert.unexpected_message, 'malformed change_cipher_spec');
        if (this.state !== 'handshaking') throw new TlsError(Alert.unexpected_message, 'change_cipher_spec after the handshake');
        if (this.session.config.role === 'server' && !this.handshakeBytesReceived) throw new TlsError(Alert.unexpected_message, 'change_cipher_spec before the ClientHello');
        if (this.ccsReceived) throw new TlsError(Alert.unexpected_message, 'a second change_cipher_spec');
        this.ccsReceived = true;
        return;
      case ContentType.alert:
        return this.handleAlert(content, isProtected);
      case ContentType.handshake: {
        if (!isProtected && this.reader.protector) throw new TlsError(Alert.unexpected_message, 'plaintext handshake record after keys were installed');
        this.framing.consume(content);
        this.handshakeBytesReceived = true;
        this.session.receive(epoch, content);
        return;
      }
      case ContentType.application_data:
        if (this.state !== 'established' || epoch !== 'application') {
          throw new TlsError(Alert.unexpected_message, `application data at ${epoch} epoch before the handshake completed`);
        }
        if (content.length > 0) this.events.push({ type: 'data', data: content });
        return;
    }
  }

  private handleAlert(content: Uint8Array, isProtected: boolean): void {
    const { level, description } = decodeAlert(content);
    if (description === Alert.close_notify) {
      this.receivedCloseNotify = true;
      this.events.push({ type: 'peer-closed' });
      return;
    }
    // §6: user_canceled is the only alert that is not an error; every other alert ends the connection whatever its level.
    if (description === Alert.user_canceled) return;
    const how = isProtected ? '' : ' (unprotected)';
    throw new TlsError(description, `peer sent ${level} alert${how}`, true);
  }

  /** Moves everything the session produced (handshake bytes, secrets, events) through the record layer. */
  private pump(): void {
    for (;;) {
      const ev = this.session.pollEvent();
      if (!ev) break;
      switch (ev.type) {
        case 'secret': {
          const { epoch, direction, secret, suite } = ev.secret;
          if (direction === 'write') {
            // Output chunks carry their epoch, so installing a key early never mis-protects a chunk of another epoch.
            const p = new RecordProtector(this.crypto, suite, secret, epoch);
            this.writeKeys.set(epoch, p);
            this.currentWrite = p;
          } else if (epoch === 'application' && this.state === 'handshaking') {
            // A server knows the client's application secret before the client's Finished arrives (which is still
            // under handshake keys); the peer switches only after its Finished, i.e. at handshake completion.
            this.pendingApplicationRead = new RecordProtector(this.crypto, suite, secret, epoch);
          } else {
            this.requireBoundary(epoch);
            this.reader.protector = new RecordProtector(this.crypto, suite, secret, epoch);
          }
          break;
        }
        case 'handshake-complete':
          this.flushHandshake();
          if (this.pendingApplicationRead) {
            this.requireBoundary('application');
            this.reader.protector = this.pendingApplicationRead;
            this.pendingApplicationRead = undefined;
          }
          this.state = 'established';
          this.handshakeDone = true;
          this.events.push({ type: 'handshake-complete' });
          this.flushAppData();
          break;
        case 'ticket':
          this.events.push({ type: 'ticket', ticket: ev.ticket });
          break;
        case 'key-update': {
          const current = ev.direction === 'write' ? this.writeKeys.get('application') : this.reader.protector;
          if (!current) throw new TlsError(Alert.unexpected_message, 'KeyUpdate before application keys');
          if (ev.direction === 'write') {
            // The KeyUpdate message itself goes out under the old key; everything after it under the new one.
            this.flushHandshake();
            const p = new RecordProtector(this.crypto, current.suite, ev.secret, 'application');
            this.writeKeys.set('application', p);
            this.currentWrite = p;
          } else {
            this.requireBoundary('application');
            this.reader.protector = new RecordProtector(this.crypto, current.suite, ev.secret, 'application');
          }
          this.events.push({ type: 'key-update', direction: ev.direction });
          break;
        }
        case 'early-data':
          // A server that declined 0-RTT must skip the client's early records, bounded like max_early_data_size (§4.2.10).
          if (this.session.config.role === 'server' && !ev.accepted) this.reader.skipEarlyDataBudget = REJECTED_EARLY_DATA_BUDGET;
          break;
        case 'alert':
          // Alerts to send come from TlsError (fail()); the session's alert events are informational here.
          break;
      }
    }
    this.flushHandshake();
  }

  private requireBoundary(epoch: Epoch): void {
    if (!this.framing.atBoundary) {
      throw new TlsError(Alert.unexpected_message, `handshake message spans the key change to ${epoch} epoch`);
    }
  }

  private flushHandshake(): void {
    for (;;) {
      const chunk = this.session.pollOutput();
      if (!chunk) return;
      const protector = chunk.epoch === 'initial' ? undefined : this.writeKeys.get(chunk.epoch);
      if (chunk.epoch !== 'initial' && !protector) throw new TlsError(Alert.internal_error, `no write key for ${chunk.epoch} epoch`);
      const isClient = this.session.config.role === 'client';
      // RFC 8446 §5.1: an initial ClientHello may carry record version 0x0301 for old middleboxes; everything else 0x0303.
      const version = isClient && !this.firstClientHelloSent && !protector ? 0x0301 : 0x0303;
      this.emit(ContentType.handshake, chunk.data, protector, version);
      if (!protector && this.compatCcs && !this.ccsSent) {
        // Appendix D.4: the client right after its first ClientHello, the server right after ServerHello or HRR.
        this.ccsSent = true;
        this.emit(ContentType.change_cipher_spec, new Uint8Array([1]), undefined);
      }
      if (isClient && !protector) this.firstClientHelloSent = true;
    }
  }

  private flushAppData(): void {
    while (this.pendingAppData.length) this.sendAppData(this.pendingAppData.shift()!);
  }

  private sendAppData(data: Uint8Array): void {
    const p = this.writeKeys.get('application');
    if (!p) throw new TlsError(Alert.internal_error, 'no application write key');
    this.emit(ContentType.application_data, data, p);
  }

  private sendAlert(level: 'warning' | 'fatal', description: number): void {
    this.emit(ContentType.alert, encodeAlert(level, description), this.currentWrite);
  }

  private emit(type: ContentTypeCode, content: Uint8Array, protector: RecordProtector | undefined, version = 0x0303): void {
    for (const rec of this.writer.write(type, content, protector, version)) this.output.push(rec);
    this.trace('sent', type, content, protector?.epoch ?? 'initial', protector !== undefined);
  }

  private trace(direction: 'sent' | 'received', type: number, content: Uint8Array, epoch: Epoch, isProtected: boolean): void {
    if (!this.onRecord) return;
    let detail: string | undefined;
    if (type === ContentType.alert && content.length === 2) detail = alertName(content[1]!);
    else if (type === ContentType.handshake) detail = handshakeMessageNames(content);
    this.onRecord({ direction, contentType: contentTypeName(type), epoch, protected: isProtected, length: content.length, detail });
  }
}
