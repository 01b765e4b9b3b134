// One DTLS 1.2 association, either role (RFC 6347 §4.2 handshake over RFC 5246 §7.3 with RFC 8422 ECDHE):
// flights and their retransmission timer (§4.2.4), epochs and record protection (§4.1), alerts and close_notify
// (RFC 5246 §7.2), extended master secret (RFC 7627), secure renegotiation signalling and refusal (RFC 5746).

import { type EcdhGroup, type EcdhKeyPair, type HashName, type PublicKey } from '../crypto/provider.js';
import { Alert, TlsError } from '../tls/api.js';
import { concat, equal, hex } from '../wire/bytes.js';
import { DecodeError, Reader } from '../wire/reader.js';
import type { DtlsConfig, DtlsEvent, HandshakeSummary } from './config.js';
import {
  ExtensionType,
  HANDSHAKE_HEADER_LENGTH,
  HandshakeType,
  encodeAlpn,
  encodeCertificate,
  encodeClientHello,
  encodeClientKeyExchange,
  encodeEcdhParams,
  encodeHandshakeFragment,
  encodeServerHello,
  encodeServerKeyExchange,
  encodeServerName,
  encodeU16List,
  findExtension,
  parseAlpn,
  parseCertificate,
  parseClientHello,
  parseClientKeyExchange,
  parseHandshakeFragments,
  parseHelloVerifyRequest,
  parseServerHello,
  parseServerKeyExchange,
  parseServerName,
  parseU16List,
  transcriptForm,
  type ClientHello,
  type Extension,
} from './messages.js';
import { verifyPeerCertificate } from './peer-certificate.js';
import { extendedMasterSecret, keyBlock, verifyData } from './prf.js';
import { HandshakeReassembler, type HandshakeMessage } from './reassembly.js';
import {
  ContentType,
  DTLS_1_0,
  DTLS_1_2,
  MAX_SEQUENCE,
  RECORD_HEADER_LENGTH,
  RecordProtection,
  ReplayWindow,
  encodeRecord,
  splitRecords,
  type DtlsRecord,
} from './record.js';
import { OFFERED_SIGNATURE_SCHEMES, chooseSignatureScheme, keyShape, providerAlgorithm } from './signatures.js';
import { DEFAULT_DTLS_SUITES, DTLS_SUITES, suiteById, type DtlsSuite } from './suites.js';

export const NAMED_GROUP: Record<EcdhGroup, number> = { x25519: 29, secp256r1: 23 };
const NO_RENEGOTIATION = 100;
const MAX_HELLO_VERIFY_ROUNDS = 4;
/** Records of the next epoch that arrive before the ChangeCipherSpec (reordering) are kept, up to this many. */
const MAX_EARLY_RECORDS = 16;
/** Smaller tail pieces than this go into a fresh datagram rather than splitting a message needlessly. */
const MIN_USEFUL_FRAGMENT = 64;

type FlightItem = { kind: 'handshake'; msgType: number; messageSeq: number; body: Uint8Array; epoch: number } | { kind: 'ccs'; epoch: number };

type State =
  | 'client-wait-server-hello'
  | 'client-wait-certificate'
  | 'client-wait-key-exchange'
  | 'client-wait-hello-done'
  | 'client-wait-finished'
  | 'server-wait-client-key-exchange'
  | 'server-wait-finished'
  | 'connected'
  | 'closed';

/** A ClientHello the server endpoint has already vetted (cookie checked): it starts a server-side association. */
export interface AcceptedClientHello {
  readonly body: Uint8Array;
  readonly messageSeq: number;
  readonly recordSeq: number;
}

export class DtlsConnection {
  readonly role: 'client' | 'server';
  private state: State;
  private readonly events: DtlsEvent[] = [];
  private readonly outbox: Uint8Array[] = [];
  private readonly pmtu: number;

  // Record layer: one write epoch, one read epoch (plus epoch 0 kept readable for retransmitted handshake records).
  private writeEpoch = 0;
  private readonly writeSeq = [0, 0];
  private writeProtection: RecordProtection | undefined;
  private pendingWriteProtection: RecordProtection | undefined;
  private readEpoch = 0;
  private readProtection: RecordProtection | undefined;
  private pendingReadProtection: RecordProtection | undefined;
  private earlyCcs = false;
  /** Index 1: epoch 1 (the only authenticated epoch); epoch 0 has none (see receiveRecord). */
  private readonly replay = [undefined, new ReplayWindow()];
  private earlyRecords: DtlsRecord[] = [];

  // Handshake.
  private readonly reassembler = new HandshakeReassembler();
  private nextSendSeq = 0;
  private transcript: Uint8Array[] = [];
  private suite: DtlsSuite | undefined;
  private group: EcdhGroup | undefined;
  private ecdh: EcdhKeyPair | undefined;
  private clientRandom: Uint8Array = new Uint8Array(0);
  private serverRandom: Uint8Array = new Uint8Array(0);
  private masterSecret: Uint8Array = new Uint8Array(0);
  private peerPublicKey: PublicKey | undefined;
  private peerCertificates: Uint8Array[] = [];
  private alpn: string | undefined;
  private serverName: string | undefined;
  private clientHello: ClientHello | undefined;
  private cookie: Uint8Array = new Uint8Array(0);
  private helloVerifyRounds = 0;
  private certificateRequested = false;
  private peerPoint: Uint8Array = new Uint8Array(0);

  // Flights and the retransmission timer (RFC 6347 §4.2.4).
  private flight: FlightItem[] = [];
  private retransmitAt: number | undefined;
  private retransmitInterval: number;
  private retransmissions = 0;
  /** message_seq of the first message of the peer's latest flight: seeing it again means the peer lost our answer. */
  private peerFlightStart: number | undefined;
  /**
   * Answers to the peer's retransmissions of its flight (RFC 6347 §4.2.4): at most one per window and a few per flight,
   * so a replayed (or duplicated) flight cannot draw our flight back without limit.
   */
  private flightReplies = 0;
  /** When our flight last went out, for whatever reason (first send, timer, answer). */
  private flightSentAt = -Infinity;

  private closeNotifySent = false;
  private readonly pendingAppData: Uint8Array[] = [];
  private summary: HandshakeSummary | undefined;
  /** Why records or datagrams were dropped, for logs and tests. */
  readonly drops: Record<string, number> = {};

  constructor(
    private readonly config: DtlsConfig,
    role: 'client' | 'server',
    now: number,
    accepted?: AcceptedClientHello,
  ) {
    this.role = role;
    this.pmtu = config.pmtu ?? 1200;
    this.retransmitInterval = config.initialRetransmitMs ?? 1000;
    if (role === 'client') {
      // Verifying a chain without a name would accept any certificate the anchors ever issued.
      if (!config.insecure && !config.serverName) throw new Error('DTLS client: serverName is required unless insecure is set');
      this.state = 'client-wait-server-hello';
      this.clientRandom = config.random(32);
      this.sendClientHello(now);
    } else {
      this.state = 'server-wait-client-key-exchange';
      if (!accepted) throw new Error('a server-side DTLS connection starts from an accepted ClientHello');
      // RFC 6347 §4.2.1: our first record continues the sequence the stateless HelloVerifyRequest used, and the
      // ServerHello takes the ClientHello's message_seq, as OpenSSL does.
      this.writeSeq[0] = accepted.recordSeq;
      this.nextSendSeq = accepted.messageSeq;
      this.reassembler.nextSeq = accepted.messageSeq + 1;
      this.guard(() => this.handleClientHello({ msgType: HandshakeType.client_hello, messageSeq: accepted.messageSeq, body: accepted.body, epoch: 0 }, now));
    }
  }

  // ---------------------------------------------------------------- public surface

  get handshakeComplete(): boolean {
    return this.summary !== undefined;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get handshake(): HandshakeSummary | undefined {
    return this.summary;
  }

  /** Server: whether `random` is the client_random of the ClientHello this association answered (a replay, not a restart). */
  answeredClientHello(random: Uint8Array): boolean {
    return this.role === 'server' && equal(random, this.clientRandom);
  }

  pollEvent(): DtlsEvent | undefined {
    return this.events.shift();
  }

  pollDatagrams(): Uint8Array[] {
    return this.outbox.splice(0);
  }

  nextTimeout(): number | undefined {
    return this.state === 'closed' ? undefined : this.retransmitAt;
  }

  handleTimeout(now: number): void {
    if (this.retransmitAt === undefined || now < this.retransmitAt || this.state === 'closed') return;
    if (this.retransmissions >= (this.config.maxRetransmissions ?? 10)) {
      this.fail(new TlsError(Alert.handshake_failure, `handshake timed out after ${this.retransmissions} retransmissions`), false);
      return;
    }
    this.retransmissions++;
    this.retransmitInterval = Math.min(this.retransmitInterval * 2, this.config.maxRetransmitMs ?? 60_000);
    this.retransmitAt = now + this.retransmitInterval;
    this.flightSentAt = now;
    this.transmitFlight();
  }

  /** Application data: one record per call when it fits the PMTU, split otherwise; queued until the handshake completes. */
  send(data: Uint8Array): void {
    if (this.state === 'closed' || this.closeNotifySent) throw new Error('DTLS connection is closed');
    if (!this.handshakeComplete) {
      this.pendingAppData.push(data.slice());
      return;
    }
    const room = Math.max(1, this.pmtu - RECORD_HEADER_LENGTH - (this.writeProtection?.overhead ?? 0));
    if (data.length === 0) {
      this.outbox.push(this.protectRecord(ContentType.application_data, data));
      return;
    }
    for (let o = 0; o < data.length; o += room) this.outbox.push(this.protectRecord(ContentType.application_data, data.subarray(o, o + room)));
  }

  /**
   * Sends close_notify (RFC 5246 §7.2.1). After the handshake we stop writing but keep reading until the peer's
   * close_notify (records it sent before seeing ours still arrive); during the handshake we stop at once.
   */
  close(): void {
    if (this.state === 'closed' || this.closeNotifySent) return;
    this.sendAlert('warning', Alert.close_notify);
    this.closeNotifySent = true;
    if (!this.handshakeComplete) this.enterClosed();
  }

  /** We sent close_notify and wait for the peer's. */
  get closing(): boolean {
    return this.closeNotifySent && this.state !== 'closed';
  }

  /** Every datagram from the peer. Never throws: bad records are dropped, protocol violations become alerts. */
  receiveDatagram(data: Uint8Array, now: number): void {
    if (this.state === 'closed') return;
    const { records, trailingGarbage } = splitRecords(data);
    if (trailingGarbage) this.drop('unframed bytes');
    for (const rec of records) {
      if (this.closed) return;
      this.receiveRecord(rec, now);
    }
  }

  // ---------------------------------------------------------------- record layer

  private drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  private receiveRecord(rec: DtlsRecord, now: number): void {
    if (rec.version !== DTLS_1_2 && rec.version !== DTLS_1_0) return this.drop('record version');
    if (rec.epoch === 1 && this.readEpoch === 0) {
      // Sent after a ChangeCipherSpec we have not seen (or cannot act on) yet: keep it for after the epoch change.
      if (this.earlyRecords.length < MAX_EARLY_RECORDS) this.earlyRecords.push({ ...rec, fragment: rec.fragment.slice() });
      else this.drop('early record overflow');
      return;
    }
    // Epoch 0 stays readable after the switch, but only for retransmitted handshake messages (they trigger our resend).
    const stale = rec.epoch === 0 && this.readEpoch === 1;
    if (rec.epoch !== this.readEpoch && !stale) return this.drop('epoch');
    // RFC 6347 §4.1.2.6: the window moves only for records that authenticated. Epoch 0 has nothing to authenticate
    // with, so it has no window at all: a forged record with a high sequence number would otherwise make every genuine
    // one look replayed. Its duplicates are caught by message_seq instead (reassembly.ts).
    const window = rec.epoch === 1 ? this.replay[1] : undefined;
    if (window && !window.check(rec.seq)) return this.drop('replay');
    let plaintext: Uint8Array | null = rec.fragment;
    if (rec.epoch === 1) {
      plaintext = this.readProtection!.open(rec);
      if (plaintext === null) return this.drop('authentication');
    }
    window?.accept(rec.seq);
    if (plaintext.length > 16384) return this.fail(new TlsError(Alert.record_overflow, 'record plaintext exceeds 2^14 bytes'));
    if (stale && rec.type !== ContentType.handshake) return this.drop('cleartext after epoch change');
    this.guard(() => {
      this.dispatchRecord(rec.type, rec.epoch, plaintext!, now);
      // A ChangeCipherSpec that came before the keys (the peer's flight reordered) takes effect once the message that
      // gave them is fully handled, never from inside its handler: epoch-1 records buffered meanwhile (its Finished)
      // must meet the state that message leads to (RFC 6347 §4.1: records of the next epoch wait for their epoch).
      if (this.earlyCcs && this.pendingReadProtection && this.state !== 'closed') this.activateReadEpoch(now);
    });
  }

  private dispatchRecord(type: number, epoch: number, plaintext: Uint8Array, now: number): void {
    switch (type) {
      case ContentType.handshake:
        return this.receiveHandshakeRecord(plaintext, epoch, now);
      case ContentType.change_cipher_spec:
        if (plaintext.length !== 1 || plaintext[0] !== 1) throw new TlsError(Alert.unexpected_message, 'malformed ChangeCipherSpec');
        return this.receiveChangeCipherSpec(now);
      case ContentType.alert:
        return this.receiveAlert(plaintext);
      case ContentType.application_data:
        if (epoch === 0 || !this.handshakeComplete) return this.drop('application data before handshake');
        if (plaintext.length) this.events.push({ type: 'data', data: plaintext.slice() });
        return;
      default:
        return this.drop('content type');
    }
  }

  private receiveChangeCipherSpec(now: number): void {
    if (this.readEpoch === 1) return; // a retransmitted CCS
    if (!this.pendingReadProtection) {
      // Arrived ahead of the messages that give us the keys (reordering): act on it once they are processed.
      this.earlyCcs = true;
      return;
    }
    this.activateReadEpoch(now);
  }

  private activateReadEpoch(now: number): void {
    this.readEpoch = 1;
    this.readProtection = this.pendingReadProtection;
    this.pendingReadProtection = undefined;
    this.earlyCcs = false;
    const early = this.earlyRecords;
    this.earlyRecords = [];
    for (const r of early) if (this.state !== 'closed') this.receiveRecord(r, now);
  }

  /** The peer's next-epoch keys; they take effect at its ChangeCipherSpec (or, if that came first, after this record). */
  private installReadKeys(protection: RecordProtection): void {
    this.pendingReadProtection = protection;
  }

  private protectRecord(type: number, plaintext: Uint8Array, epoch = this.writeEpoch): Uint8Array {
    const seq = this.writeSeq[epoch]!;
    if (seq > MAX_SEQUENCE) throw new TlsError(Alert.internal_error, 'record sequence number space exhausted');
    this.writeSeq[epoch] = seq + 1;
    const protection = epoch === 0 ? undefined : (this.writeProtection ?? this.pendingWriteProtection);
    const fragment = protection ? protection.seal(type, DTLS_1_2, epoch, seq, plaintext) : plaintext;
    return encodeRecord(type, DTLS_1_2, epoch, seq, fragment);
  }

  private overhead(epoch: number): number {
    return epoch === 0 ? 0 : (this.writeProtection ?? this.pendingWriteProtection)!.overhead;
  }

  // ---------------------------------------------------------------- flights

  private startFlight(items: FlightItem[], now: number, final = false): void {
    this.flight = items;
    this.retransmissions = 0;
    this.flightReplies = 0;
    this.flightSentAt = now;
    this.retransmitInterval = this.config.initialRetransmitMs ?? 1000;
    // The final flight is not timed: it is resent only when the peer's retransmission shows it was lost (§4.2.4).
    this.retransmitAt = final ? undefined : now + this.retransmitInterval;
    this.transmitFlight();
  }

  /** Packs the flight into records and datagrams no larger than the PMTU; new record numbers on every transmission. */
  private transmitFlight(): void {
    let datagram: Uint8Array[] = [];
    let used = 0;
    const flush = () => {
      if (datagram.length) this.outbox.push(concat(...datagram));
      datagram = [];
      used = 0;
    };
    const add = (record: Uint8Array) => {
      datagram.push(record);
      used += record.length;
    };
    for (const item of this.flight) {
      const overhead = RECORD_HEADER_LENGTH + this.overhead(item.epoch);
      if (item.kind === 'ccs') {
        if (used + overhead + 1 > this.pmtu) flush();
        add(this.protectRecord(ContentType.change_cipher_spec, new Uint8Array([1]), item.epoch));
        continue;
      }
      // Whole when it fits; otherwise fill the current datagram if a useful piece fits, then PMTU-sized fragments.
      const body = item.body;
      let offset = 0;
      do {
        let room = this.pmtu - used - overhead - HANDSHAKE_HEADER_LENGTH;
        if (used > 0 && room < Math.min(MIN_USEFUL_FRAGMENT, body.length - offset)) {
          flush();
          room = this.pmtu - overhead - HANDSHAKE_HEADER_LENGTH;
        }
        const len = Math.min(Math.max(room, 1), body.length - offset);
        add(this.protectRecord(ContentType.handshake, encodeHandshakeFragment(item.msgType, item.messageSeq, body, offset, len), item.epoch));
        offset += len;
      } while (offset < body.length);
    }
    flush();
  }

  /**
   * The peer retransmitted its last flight, so ours was lost: send it again (RFC 6347 §4.2.4) — but not within half
   * the initial retransmission interval of our last send of it (a peer's own timer never retransmits faster, so
   * anything sooner is a duplicate, a replay, or crossed ours in flight) and at most maxRetransmissions times per
   * flight, the budget the timer has too. Answering every copy would turn replays into an amplifier.
   */
  private replyToRetransmission(now: number): void {
    const gap = (this.config.initialRetransmitMs ?? 1000) / 2;
    if (now - this.flightSentAt < gap) return this.drop('retransmission within the reply window');
    if (this.flightReplies >= (this.config.maxRetransmissions ?? 10)) return this.drop('retransmission reply budget spent');
    this.flightReplies++;
    this.flightSentAt = now;
    this.transmitFlight();
  }

  private handshakeItem(msgType: number, body: Uint8Array, epoch = 0): FlightItem {
    const messageSeq = this.nextSendSeq++;
    this.transcript.push(transcriptForm(msgType, messageSeq, body));
    return { kind: 'handshake', msgType, messageSeq, body, epoch };
  }

  private transcriptHash(): Uint8Array {
    return this.config.crypto.hash(this.suite!.prfHash, concat(...this.transcript));
  }

  // ---------------------------------------------------------------- handshake dispatch

  private receiveHandshakeRecord(plaintext: Uint8Array, epoch: number, now: number): void {
    if (epoch < this.readEpoch) return this.receiveStaleHandshake(plaintext, now);
    let fragments;
    try {
      fragments = parseHandshakeFragments(plaintext);
    } catch (e) {
      // Unauthenticated framing that does not parse could come from anyone: drop the record (RFC 6347 §4.1.2.7).
      if (epoch === 0 && e instanceof DecodeError) return this.drop('malformed handshake record');
      throw e;
    }
    for (const f of fragments) {
      if (f.msgType === HandshakeType.hello_request) {
        // HelloRequest sits outside message_seq accounting (OpenSSL sends it with seq 0) and the transcript
        // (RFC 5246 §7.4.1.1): ignored during a handshake, refused after one (RFC 5746 §4.2 leaves that to us).
        if (this.state === 'connected') this.sendAlert('warning', NO_RENEGOTIATION);
        continue;
      }
      const outcome = this.reassembler.add(f, epoch);
      if (outcome === 'old') {
        if (f.messageSeq === this.peerFlightStart && f.fragmentOffset === 0 && this.flight.length) this.replyToRetransmission(now);
        continue;
      }
      if (outcome === 'ignored') {
        this.drop('handshake fragment');
        continue;
      }
      if (outcome === 'conflict') {
        this.drop('inconsistent handshake fragment');
        continue;
      }
      for (let m = this.reassembler.peek(); m; m = this.reassembler.peek()) {
        if (m.epoch === 0 && !this.expects(m)) {
          // Nothing vouches for an epoch-0 message: one this state cannot take (an unknown type, a Finished before the
          // ChangeCipherSpec, the wrong step) is more likely forged than the peer's, so it is dropped rather than
          // fatal, and its message_seq stays free for the genuine message.
          this.reassembler.discard();
          this.drop('unexpected unauthenticated handshake message');
          continue;
        }
        this.reassembler.accept();
        this.handleMessage(m, now);
        if (this.state === 'closed') return;
      }
    }
  }

  /**
   * Cleartext handshake after our read epoch moved on is unauthenticated: it may only tell us the peer is
   * retransmitting (so we resend our flight); anything else, malformed or new, is dropped rather than trusted.
   */
  private receiveStaleHandshake(plaintext: Uint8Array, now: number): void {
    let fragments;
    try {
      fragments = parseHandshakeFragments(plaintext);
    } catch {
      return this.drop('malformed stale handshake');
    }
    for (const f of fragments) {
      if (f.messageSeq < this.reassembler.nextSeq && f.messageSeq === this.peerFlightStart && f.fragmentOffset === 0 && this.flight.length) {
        this.replyToRetransmission(now);
      } else {
        this.drop('stale handshake');
      }
    }
  }

  private handleMessage(m: HandshakeMessage, now: number): void {
    if (this.state === 'connected') {
      // RFC 5746 §4.4: we never renegotiate; say so with a warning and carry on.
      if (m.msgType === HandshakeType.client_hello) {
        this.sendAlert('warning', NO_RENEGOTIATION);
        return;
      }
      throw new TlsError(Alert.unexpected_message, `handshake message ${m.msgType} after the handshake`);
    }
    if (m.msgType === HandshakeType.finished && m.epoch !== 1) throw new TlsError(Alert.unexpected_message, 'Finished before ChangeCipherSpec');
    if (m.msgType !== HandshakeType.finished && m.epoch !== 0) throw new TlsError(Alert.unexpected_message, 'handshake message in the wrong epoch');
    const expect = (type: number, what: string) => {
      if (m.msgType !== type) throw new TlsError(Alert.unexpected_message, `expected ${what}, got handshake type ${m.msgType}`);
    };
    switch (this.state) {
      case 'client-wait-server-hello':
        if (m.msgType === HandshakeType.hello_verify_request) return this.handleHelloVerifyRequest(m, now);
        expect(HandshakeType.server_hello, 'ServerHello');
        return this.handleServerHello(m);
      case 'client-wait-certificate':
        expect(HandshakeType.certificate, 'Certificate');
        return this.handleServerCertificate(m);
      case 'client-wait-key-exchange':
        expect(HandshakeType.server_key_exchange, 'ServerKeyExchange');
        return this.handleServerKeyExchange(m);
      case 'client-wait-hello-done':
        if (m.msgType === HandshakeType.certificate_request) {
          this.addPeerMessage(m);
          this.certificateRequested = true;
          return;
        }
        expect(HandshakeType.server_hello_done, 'ServerHelloDone');
        return this.handleServerHelloDone(m, now);
      case 'client-wait-finished':
        expect(HandshakeType.finished, 'Finished');
        return this.handleFinished(m, now);
      case 'server-wait-client-key-exchange':
        expect(HandshakeType.client_key_exchange, 'ClientKeyExchange');
        return this.handleClientKeyExchange(m, now);
      case 'server-wait-finished':
        expect(HandshakeType.finished, 'Finished');
        return this.handleFinished(m, now);
    }
  }

  /** Whether the current state takes this message type (handleMessage's switch, as a predicate). */
  private expects(m: HandshakeMessage): boolean {
    const t = m.msgType;
    switch (this.state) {
      case 'client-wait-server-hello':
        return t === HandshakeType.server_hello || t === HandshakeType.hello_verify_request;
      case 'client-wait-certificate':
        return t === HandshakeType.certificate;
      case 'client-wait-key-exchange':
        return t === HandshakeType.server_key_exchange;
      case 'client-wait-hello-done':
        return t === HandshakeType.certificate_request || t === HandshakeType.server_hello_done;
      case 'server-wait-client-key-exchange':
        return t === HandshakeType.client_key_exchange;
      case 'client-wait-finished':
      case 'server-wait-finished':
        return t === HandshakeType.finished && m.epoch === 1;
      default:
        return false;
    }
  }

  private addPeerMessage(m: HandshakeMessage): void {
    this.transcript.push(transcriptForm(m.msgType, m.messageSeq, m.body));
  }

  /** The first message of a new peer flight: the peer has our previous flight, so our timer stops (its timer now runs). */
  private peerFlightBegins(m: HandshakeMessage): void {
    this.peerFlightStart = m.messageSeq;
    this.retransmitAt = undefined;
  }

  // ---------------------------------------------------------------- client

  private sendClientHello(now: number): void {
    const c = this.config;
    const suites = (c.cipherSuites ?? DEFAULT_DTLS_SUITES).map((n) => DTLS_SUITES[n].id);
    const groups = (c.groups ?? ['x25519', 'secp256r1']).map((g) => NAMED_GROUP[g]);
    const extensions: Extension[] = [];
    if (c.serverName && !isIpLiteral(c.serverName)) extensions.push({ type: ExtensionType.server_name, data: encodeServerName(c.serverName) });
    extensions.push(
      { type: ExtensionType.supported_groups, data: encodeU16List(groups) },
      { type: ExtensionType.ec_point_formats, data: new Uint8Array([1, 0]) },
      { type: ExtensionType.signature_algorithms, data: encodeU16List(OFFERED_SIGNATURE_SCHEMES) },
    );
    if (c.alpn?.length) extensions.push({ type: ExtensionType.alpn, data: encodeAlpn(c.alpn) });
    extensions.push(
      { type: ExtensionType.extended_master_secret, data: new Uint8Array(0) },
      { type: ExtensionType.renegotiation_info, data: new Uint8Array([0]) },
    );
    this.clientHello = {
      version: DTLS_1_2,
      random: this.clientRandom,
      sessionId: new Uint8Array(0),
      cookie: this.cookie,
      cipherSuites: suites,
      compressionMethods: new Uint8Array([0]),
      extensions,
    };
    // RFC 6347 §4.2.1: the transcript starts with the ClientHello that carries the cookie; earlier ones are forgotten.
    this.transcript = [];
    this.startFlight([this.handshakeItem(HandshakeType.client_hello, encodeClientHello(this.clientHello))], now);
  }

  private handleHelloVerifyRequest(m: HandshakeMessage, now: number): void {
    const hvr = parseHelloVerifyRequest(m.body);
    if (hvr.version !== DTLS_1_0 && hvr.version !== DTLS_1_2) throw new TlsError(Alert.protocol_version, 'HelloVerifyRequest version');
    if (hvr.cookie.length === 0) throw new TlsError(Alert.illegal_parameter, 'empty cookie in HelloVerifyRequest');
    if (++this.helloVerifyRounds > MAX_HELLO_VERIFY_ROUNDS) throw new TlsError(Alert.handshake_failure, 'too many HelloVerifyRequests');
    this.peerFlightStart = m.messageSeq;
    this.cookie = hvr.cookie.slice();
    this.events.push({ type: 'hello-verify-request', cookieLength: hvr.cookie.length });
    this.sendClientHello(now);
  }

  private handleServerHello(m: HandshakeMessage): void {
    this.peerFlightBegins(m);
    const sh = parseServerHello(m.body);
    const offered = this.clientHello!;
    if (sh.version !== DTLS_1_2) throw new TlsError(Alert.protocol_version, `server chose version 0x${sh.version.toString(16)}; only DTLS 1.2 is supported`);
    const suite = suiteById(sh.cipherSuite);
    if (!suite || !offered.cipherSuites.includes(sh.cipherSuite)) throw new TlsError(Alert.illegal_parameter, 'server chose a cipher suite we did not offer');
    if (sh.compressionMethod !== 0) throw new TlsError(Alert.illegal_parameter, 'server chose compression');
    const offeredTypes = new Set(offered.extensions.map((e) => e.type));
    for (const e of sh.extensions) {
      if (!offeredTypes.has(e.type)) throw new TlsError(Alert.unsupported_extension, `server sent extension ${e.type} we did not offer`);
    }
    if (findExtension(sh.extensions, ExtensionType.extended_master_secret) === undefined) {
      throw new TlsError(Alert.handshake_failure, 'server did not negotiate extended_master_secret (RFC 7627), which we require');
    }
    const reneg = findExtension(sh.extensions, ExtensionType.renegotiation_info);
    if (reneg !== undefined && !(reneg.length === 1 && reneg[0] === 0)) throw new TlsError(Alert.handshake_failure, 'non-empty renegotiation_info on an initial handshake');
    const alpn = findExtension(sh.extensions, ExtensionType.alpn);
    if (alpn !== undefined) {
      const chosen = parseAlpn(alpn);
      if (chosen.length !== 1 || !this.config.alpn?.includes(chosen[0]!)) throw new TlsError(Alert.illegal_parameter, 'server chose an ALPN protocol we did not offer');
      this.alpn = chosen[0];
    }
    this.suite = suite;
    this.serverRandom = sh.random.slice();
    this.addPeerMessage(m);
    this.state = 'client-wait-certificate';
  }

  private handleServerCertificate(m: HandshakeMessage): void {
    const chain = parseCertificate(m.body);
    if (chain.length === 0) throw new TlsError(Alert.handshake_failure, 'server sent no certificate');
    this.peerCertificates = chain.map((c) => c.slice());
    this.peerPublicKey = verifyPeerCertificate(this.peerCertificates, {
      crypto: this.config.crypto,
      anchors: this.config.ca ?? [],
      hostname: this.config.serverName,
      now: this.config.clock(),
      insecure: this.config.insecure ?? false,
    });
    const kind = this.peerPublicKey.kind;
    if ((this.suite!.auth === 'ecdsa' && kind !== 'ec') || (this.suite!.auth === 'rsa' && kind !== 'rsa')) {
      throw new TlsError(Alert.unsupported_certificate, `a ${kind} certificate cannot authenticate ${this.suite!.name}`);
    }
    this.addPeerMessage(m);
    this.state = 'client-wait-key-exchange';
  }

  private handleServerKeyExchange(m: HandshakeMessage): void {
    const ske = parseServerKeyExchange(m.body);
    const groups = this.config.groups ?? ['x25519', 'secp256r1'];
    const group = groups.find((g) => NAMED_GROUP[g] === ske.namedCurve);
    if (!group) throw new TlsError(Alert.illegal_parameter, `server chose curve ${ske.namedCurve} we did not offer`);
    if (!OFFERED_SIGNATURE_SCHEMES.includes(ske.signatureScheme)) throw new TlsError(Alert.illegal_parameter, 'server signed with a scheme we did not offer');
    const alg = providerAlgorithm(ske.signatureScheme, keyShape(this.peerPublicKey!));
    if (!alg) throw new TlsError(Alert.illegal_parameter, 'signature scheme does not match the certificate key');
    const signed = concat(this.clientRandom, this.serverRandom, ske.params);
    if (!this.config.crypto.verify(alg, this.peerPublicKey!, signed, ske.signature)) {
      throw new TlsError(Alert.decrypt_error, 'ServerKeyExchange signature does not verify');
    }
    this.group = group;
    this.ecdh = this.config.crypto.ecdhGenerate(group, this.config.random);
    this.masterSecret = new Uint8Array(0);
    this.peerPoint = ske.publicPoint.slice();
    this.addPeerMessage(m);
    this.state = 'client-wait-hello-done';
  }

  private handleServerHelloDone(m: HandshakeMessage, now: number): void {
    if (m.body.length !== 0) throw new DecodeError('ServerHelloDone with a body');
    this.addPeerMessage(m);
    const preMaster = this.deriveEcdh(this.peerPoint);
    const items: FlightItem[] = [];
    if (this.certificateRequested) items.push(this.handshakeItem(HandshakeType.certificate, encodeCertificate([])));
    items.push(this.handshakeItem(HandshakeType.client_key_exchange, encodeClientKeyExchange(this.ecdh!.publicKey)));
    this.deriveKeys(preMaster);
    items.push({ kind: 'ccs', epoch: 0 });
    const finished = verifyData(this.config.crypto, this.suite!.prfHash, this.masterSecret, 'client', this.transcriptHash());
    items.push(this.handshakeItem(HandshakeType.finished, finished, 1));
    this.state = 'client-wait-finished';
    this.switchWriteEpoch();
    this.startFlight(items, now);
  }

  // ---------------------------------------------------------------- server

  private handleClientHello(m: HandshakeMessage, now: number): void {
    const { hello } = parseClientHello(m.body);
    this.peerFlightStart = m.messageSeq;
    this.clientHello = hello;
    this.clientRandom = hello.random.slice();
    const c = this.config;
    if (hello.version > DTLS_1_2) {
      // DTLS versions count down: 0xfeff (1.0) is numerically larger than 0xfefd (1.2).
      throw new TlsError(Alert.protocol_version, `client offers only DTLS version 0x${hello.version.toString(16)}`);
    }
    if (!hello.compressionMethods.includes(0)) throw new TlsError(Alert.illegal_parameter, 'client does not offer null compression');
    const exts = hello.extensions;
    if (findExtension(exts, ExtensionType.extended_master_secret) === undefined) {
      throw new TlsError(Alert.handshake_failure, 'client did not offer extended_master_secret (RFC 7627), which we require');
    }
    const reneg = findExtension(exts, ExtensionType.renegotiation_info);
    if (reneg !== undefined && !(reneg.length === 1 && reneg[0] === 0)) throw new TlsError(Alert.handshake_failure, 'non-empty renegotiation_info on an initial handshake');
    const formats = findExtension(exts, ExtensionType.ec_point_formats);
    if (formats !== undefined) {
      const list = new Reader(formats).vec(1);
      if (!list.includes(0)) throw new TlsError(Alert.illegal_parameter, 'client does not accept uncompressed points');
    }
    const key = c.privateKey;
    const chain = c.certificateChain;
    if (!key || !chain?.length) throw new TlsError(Alert.internal_error, 'server has no certificate');
    const sigExt = findExtension(exts, ExtensionType.signature_algorithms);
    // RFC 5246 §7.4.1.4.1: without the extension the client implies SHA-1, which we do not sign with.
    const offeredSchemes = sigExt === undefined ? [] : parseU16List(sigExt);
    const scheme = chooseSignatureScheme(key, offeredSchemes);
    if (scheme === undefined) throw new TlsError(Alert.handshake_failure, 'no signature algorithm in common for our certificate key');
    const auth = key.kind === 'ec' ? 'ecdsa' : key.kind === 'rsa' ? 'rsa' : undefined;
    const suite = (c.cipherSuites ?? DEFAULT_DTLS_SUITES).map((n) => DTLS_SUITES[n]).find((s) => s.auth === auth && hello.cipherSuites.includes(s.id));
    if (!suite) throw new TlsError(Alert.handshake_failure, 'no cipher suite in common');
    const groupsExt = findExtension(exts, ExtensionType.supported_groups);
    const clientGroups = groupsExt === undefined ? [NAMED_GROUP.secp256r1] : parseU16List(groupsExt);
    const group = (c.groups ?? ['x25519', 'secp256r1']).find((g) => clientGroups.includes(NAMED_GROUP[g]));
    if (!group) throw new TlsError(Alert.handshake_failure, 'no ECDHE group in common');
    const sni = findExtension(exts, ExtensionType.server_name);
    if (sni !== undefined) this.serverName = parseServerName(sni);
    const alpnExt = findExtension(exts, ExtensionType.alpn);
    if (alpnExt !== undefined && c.alpn?.length) {
      const theirs = parseAlpn(alpnExt);
      this.alpn = c.alpn.find((p) => theirs.includes(p));
      if (!this.alpn) throw new TlsError(Alert.no_application_protocol, `no ALPN protocol in common (client offered ${theirs.join(', ')})`);
    }
    this.suite = suite;
    this.group = group;
    this.serverRandom = c.random(32);
    this.addPeerMessage(m);

    // RFC 5746 §3.6: answer renegotiation_info when the client signalled support by extension or SCSV.
    const shExts: Extension[] = [];
    if (reneg !== undefined || hello.cipherSuites.includes(0x00ff)) shExts.push({ type: ExtensionType.renegotiation_info, data: new Uint8Array([0]) });
    shExts.push({ type: ExtensionType.extended_master_secret, data: new Uint8Array(0) });
    if (formats !== undefined) shExts.push({ type: ExtensionType.ec_point_formats, data: new Uint8Array([1, 0]) });
    if (this.alpn) shExts.push({ type: ExtensionType.alpn, data: encodeAlpn([this.alpn]) });
    if (sni !== undefined && this.serverName !== undefined) shExts.push({ type: ExtensionType.server_name, data: new Uint8Array(0) });
    const serverHello = encodeServerHello({
      version: DTLS_1_2,
      random: this.serverRandom,
      sessionId: new Uint8Array(0),
      cipherSuite: suite.id,
      compressionMethod: 0,
      extensions: shExts,
    });
    this.ecdh = c.crypto.ecdhGenerate(group, c.random);
    const params = encodeEcdhParams(NAMED_GROUP[group], this.ecdh.publicKey);
    const alg = providerAlgorithm(scheme, keyShape(key))!;
    const signature = c.crypto.sign(alg, key, concat(this.clientRandom, this.serverRandom, params), c.random);
    const items = [
      this.handshakeItem(HandshakeType.server_hello, serverHello),
      this.handshakeItem(HandshakeType.certificate, encodeCertificate(chain)),
      this.handshakeItem(HandshakeType.server_key_exchange, encodeServerKeyExchange(params, scheme, signature)),
      this.handshakeItem(HandshakeType.server_hello_done, new Uint8Array(0)),
    ];
    this.state = 'server-wait-client-key-exchange';
    this.startFlight(items, now);
  }

  private handleClientKeyExchange(m: HandshakeMessage, now: number): void {
    this.peerFlightBegins(m);
    const point = parseClientKeyExchange(m.body);
    const preMaster = this.deriveEcdh(point);
    this.addPeerMessage(m);
    this.deriveKeys(preMaster);
    this.state = 'server-wait-finished';
  }

  // ---------------------------------------------------------------- both roles

  private deriveEcdh(peerPoint: Uint8Array): Uint8Array {
    const expected = this.ecdh!.group === 'x25519' ? 32 : 65;
    if (peerPoint.length !== expected || (this.ecdh!.group === 'secp256r1' && peerPoint[0] !== 4)) {
      throw new TlsError(Alert.illegal_parameter, 'ECDH public value is not a valid uncompressed point');
    }
    try {
      return this.ecdh!.deriveSecret(peerPoint);
    } catch (e) {
      throw new TlsError(Alert.illegal_parameter, `invalid ECDH public value: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** After ClientKeyExchange: RFC 7627 master secret from the session hash, then the key block for epoch 1. */
  private deriveKeys(preMaster: Uint8Array): void {
    const crypto = this.config.crypto;
    const hash: HashName = this.suite!.prfHash;
    this.masterSecret = extendedMasterSecret(crypto, hash, preMaster, this.transcriptHash());
    this.config.keyLog?.(`CLIENT_RANDOM ${hex(this.clientRandom)} ${hex(this.masterSecret)}`);
    const s = this.suite!;
    const kb = keyBlock(crypto, hash, this.masterSecret, this.clientRandom, this.serverRandom, s.keyLength, s.fixedIvLength);
    const client = new RecordProtection(crypto, s, kb.clientWriteKey, kb.clientWriteIv);
    const server = new RecordProtection(crypto, s, kb.serverWriteKey, kb.serverWriteIv);
    this.pendingWriteProtection = this.role === 'client' ? client : server;
    this.installReadKeys(this.role === 'client' ? server : client);
  }

  private switchWriteEpoch(): void {
    this.writeEpoch = 1;
    this.writeProtection = this.pendingWriteProtection;
  }

  private handleFinished(m: HandshakeMessage, now: number): void {
    const peer = this.role === 'client' ? 'server' : 'client';
    const expected = verifyData(this.config.crypto, this.suite!.prfHash, this.masterSecret, peer, this.transcriptHash());
    if (!equal(expected, m.body)) throw new TlsError(Alert.decrypt_error, 'Finished verify_data does not match');
    this.addPeerMessage(m);
    if (this.role === 'server') {
      const finished = verifyData(this.config.crypto, this.suite!.prfHash, this.masterSecret, 'server', this.transcriptHash());
      const items: FlightItem[] = [{ kind: 'ccs', epoch: 0 }, this.handshakeItem(HandshakeType.finished, finished, 1)];
      this.switchWriteEpoch();
      this.startFlight(items, now, true);
    } else {
      this.retransmitAt = undefined; // the server's Finished acknowledges our last flight
    }
    this.complete();
  }

  private complete(): void {
    this.state = 'connected';
    this.summary = {
      suite: this.suite!.name,
      group: this.group!,
      alpn: this.alpn,
      serverName: this.role === 'server' ? this.serverName : this.config.serverName,
      peerCertificates: this.peerCertificates,
      helloVerifyRequest: this.helloVerifyRounds > 0,
    };
    this.events.push({ type: 'handshake-complete', summary: this.summary });
    for (const d of this.pendingAppData.splice(0)) this.send(d);
  }

  // ---------------------------------------------------------------- alerts and failure

  private receiveAlert(plaintext: Uint8Array): void {
    if (plaintext.length !== 2) throw new TlsError(Alert.decode_error, 'malformed alert');
    const level = plaintext[0] === 2 ? 'fatal' : 'warning';
    const description = plaintext[1]!;
    this.events.push({ type: 'alert', level, description, sent: false });
    if (description === Alert.close_notify) {
      if (!this.closeNotifySent) {
        this.sendAlert('warning', Alert.close_notify);
        this.closeNotifySent = true;
      }
      this.enterClosed();
      return;
    }
    if (level === 'fatal') this.enterClosed(new TlsError(description, 'peer sent a fatal alert', true));
  }

  private sendAlert(level: 'warning' | 'fatal', description: number): void {
    this.outbox.push(this.protectRecord(ContentType.alert, new Uint8Array([level === 'fatal' ? 2 : 1, description])));
    this.events.push({ type: 'alert', level, description, sent: true });
  }

  /** Runs a handler; protocol errors become a fatal alert and a closed connection instead of escaping. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof TlsError) this.fail(e);
      else if (e instanceof DecodeError) this.fail(new TlsError(Alert.decode_error, e.message));
      else {
        // Not a protocol error but an engine bug: the alert says internal_error; the original error (stack) rides
        // along as the cause for harnesses that report it.
        const error = new TlsError(Alert.internal_error, e instanceof Error ? e.message : String(e));
        error.cause = e;
        this.fail(error);
      }
    }
  }

  private fail(error: TlsError, sendAlert = true): void {
    if (this.state === 'closed') return;
    if (sendAlert && !error.remote) {
      try {
        this.sendAlert('fatal', error.alert);
      } catch {
        // nothing more we can tell the peer
      }
    }
    this.enterClosed(error);
  }

  private enterClosed(error?: TlsError): void {
    this.state = 'closed';
    this.retransmitAt = undefined;
    this.flight = [];
    this.events.push(error ? { type: 'closed', error } : { type: 'closed' });
  }
}

function isIpLiteral(name: string): boolean {
  return /^[0-9.]+$/.test(name) || name.includes(':');
}
