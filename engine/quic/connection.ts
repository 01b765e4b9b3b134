// The QUIC connection state machine (RFC 9000 §5–§14, §17; RFC 9001 §4–§6; RFC 9002; RFC 9368): sans-I/O, driven by datagrams, time and API calls.
/**
 * Exports:
 * - `QuicConnection` (DatagramEndpoint): `receiveDatagram(bytes, from, now)`, `pollDatagrams(now)`, `nextTimeout()`,
 *   `handleTimeout(now)`, `pollEvent()` → ConnectionEvent (connection-events.ts). Streams: `openStream('bidi'|'uni')`,
 *   `writeStream(id, data, fin?)`, `concludeStream(id)`, `readStream(id, max, now)`, `resetStream(id, code)`,
 *   `stopSending(id, code, now)`. Control: `close(code, reason, application, now)`, `initiateKeyUpdate()`, `ping()`.
 *   State: `phase`, `version`, `handshakeComplete`, `handshakeConfirmed`, `closeInfo`, `earlyDataState`, `tls`,
 *   `peerTransportParameters`, `remoteAddress`, `isAddressValidated`, `pathBytes`, `keyPhaseGeneration`, `recovery`, `rtt`.
 * - `ConnectionOptions` (server-side fields are filled by server.ts), `FrameContext`.
 * Client: `new QuicConnection({ role: 'client', config, remote, now })`; servers get theirs from QuicServer (server.ts).
 */

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../endpoint.js';
import { addressKey, canonicalHost, sameAddress } from '../endpoint.js';
import { TlsError, type Epoch, type TlsSession, type TrafficSecret } from '../tls/api.js';
import { DecodeError } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { Slab } from '../wire/slab.js';
import { equal, hex } from '../wire/bytes.js';
import { QuicError, TransportErrorCode, checkErrorCode, cryptoErrorCode, transportErrorName, type ErrorCode } from './errors.js';
import { decodeFrames, encodeFrame, frameSize, maxCryptoDataFitting, type AckFrame, type AckFrequencyFrame, type Frame } from './frames.js';
import { AckFrequencyReceiver, AckFrequencySender, localMinAckDelayUs } from './ack-frequency.js';
import { isAckEliciting, isProbingOnly, type FrameTypeName } from './frame-table.js';
import { longHeaderSize, parsePacket, parseVersionNegotiation, shortHeaderSize, splitDatagram, writeLongHeader, writeShortHeader, MIN_INITIAL_DATAGRAM, type ProtectedHeader } from './packet.js';
import { packetNumberLength, truncatePacketNumber } from './packet-number.js';
import { derivePacketKeys, initialKeys, minPayloadForSample, nextGenerationKeys, openPayload, protectPacketInPlace, removeHeaderProtection, unprotectPacket, AEAD_TAG_LENGTH, type PacketKeys, type UnprotectedHeader } from './protection.js';
import { parseRetry, verifyRetry } from './retry.js';
import { decodeTransportParameters, encodeTransportParameters, defaultTransportParameters, type TransportParameters } from './transport-params.js';
import { QUIC_V1, QUIC_V2, isSupportedVersion, versionName } from './version.js';
import { CidManager } from './cid.js';
import { PacketSpace, type SpaceId } from './connection-space.js';
import { Recovery, Pacer, createCongestionController, type RttEstimator, type SentPacket } from './recovery/index.js';
import { BASE_PLPMTU, DEFAULT_MAX_DATAGRAM_SIZE, PmtuDiscovery, type MtuUpdate } from './pmtu.js';
import { StreamManager, sendBufferLimitFor } from './connection-streams.js';
import type { CloseInfo, ConnectionEvent, ConnectionPhase } from './connection-events.js';
import { resolveTransport, resolveVersions, type QuicConfig, type TransportSettings } from './config.js';
import type { QlogEventData, QlogEventName, QlogFrame, QlogKeyType, QlogPacketType } from './qlog.js';
import { qlogFrame } from './qlog-frames.js';
import type { Role, StreamDirection } from './stream-id.js';
import type { TokenSealer } from './token.js';

export interface ConnectionOptions {
  readonly role: Role;
  readonly config: QuicConfig;
  readonly remote: Address;
  readonly local?: Address;
  readonly now: number;
  // Server side, from the endpoint that accepted the first Initial:
  /** The DCID of the client's very first Initial (before any Retry): original_destination_connection_id. */
  readonly originalDcid?: Uint8Array;
  /** The DCID of the Initial that created this connection (Initial keys derive from it). */
  readonly initialDcid?: Uint8Array;
  readonly clientScid?: Uint8Array;
  /** Our SCID of the Retry we sent, echoed as retry_source_connection_id. */
  readonly retrySourceCid?: Uint8Array;
  /** The client proved its address with a token: no amplification limit. */
  readonly addressValidated?: boolean;
  readonly version?: number;
  readonly resetTokenFor?: (cid: Uint8Array) => Uint8Array;
  readonly onCidAdded?: (cid: Uint8Array) => void;
  readonly onCidRetired?: (cid: Uint8Array) => void;
  /** Server: issues NEW_TOKEN tokens once the handshake is confirmed. */
  readonly tokenSealer?: TokenSealer;
}

/** Ack-eliciting packets per space that are acknowledged immediately before delayed ACKs (every second packet) start. */
const QUICK_ACK_PACKETS = 100;
const IMMEDIATE_ACK: Frame = { type: 'immediate_ack' };
/**
 * ACK-only 1-RTT packets in a row, while our ACK reports more than one range, after which the next one carries a PING.
 * The receiving side of a transfer sends nothing else, so nothing tells it which ACKs arrived and it would repeat every
 * range it ever reported (up to MAX_ACK_RANGES) in each ACK; an acknowledged PING lets it drop them (RFC 9000 §13.2.4).
 */
const ACK_ONLY_BEFORE_PING = 20;
const PING: Frame = { type: 'ping' };
const MAX_DATAGRAMS_PER_POLL = 64;
const MAX_BUFFERED_UNDECRYPTABLE = 16;
/** Addresses other than the current path whose amplification accounting is kept (oldest forgotten first). */
const MAX_OFF_PATH_ADDRESSES = 16;
/** PATH_RESPONSEs waiting to be sent; more challenges than this between two polls are not all answered (RFC 9000 §8.2.2). */
const MAX_PENDING_PATH_RESPONSES = 8;
/** Each probe timeout sends two packets so a single loss does not cost another PTO (RFC 9002 §6.2.4). */
const PROBE_PACKETS = 2;

/** Outgoing datagrams are views into shared slabs: one allocation per ~50 datagrams instead of one each. */
const DATAGRAM_SLAB = new Slab();

/** A server's Initial packets carry an empty token (RFC 9000 §17.2.2). */
const EMPTY_TOKEN = new Uint8Array(0);

const SPACE_OF_EPOCH: Record<Exclude<Epoch, 'early'>, SpaceId> = { initial: 'initial', handshake: 'handshake', application: 'application' };

/** The order packets of the three spaces are coalesced in a datagram (RFC 9000 §12.2). */
const SEND_ORDER: readonly SpaceId[] = ['initial', 'handshake', 'application'];

interface Path {
  remote: Address;
  local?: Address;
  validated: boolean;
  bytesReceived: number;
  bytesSent: number;
  challenge?: Uint8Array;
  challengePending: boolean;
  /** When an unanswered PATH_CHALLENGE is replaced by a fresh one, and how many were sent (for the backoff). */
  challengeRetryAt?: number;
  challengesSent?: number;
  /** The peer moved to another host (not just another port): RTT and congestion state restart once validated (RFC 9000 §9.4). */
  newHost?: boolean;
}

/**
 * Bytes exchanged with an address that is not the current path, for its anti-amplification limit (RFC 9000 §8.2.1,
 * §9.3): until validated, an endpoint sends an address at most three times what it received from there. Kept across
 * path switches, so alternating between addresses never resets what an address has already been sent.
 */
interface AddressBudget {
  received: number;
  sent: number;
}

interface BufferedPacket {
  header: ProtectedHeader;
  from: Address;
  datagramLength: number;
  /** Arrival time: the wait for keys counts as ACK delay once the packet opens (RFC 9000 §13.2.5). */
  receivedAt: number;
}

interface PlannedPacket {
  space: SpaceId;
  kind: 'initial' | 'handshake' | '0rtt' | '1rtt';
  keys: PacketKeys;
  frames: Frame[];
  pn: number;
  pnLength: 1 | 2 | 3 | 4;
  headerSize: number;
  payloadSize: number;
  keyPhase?: boolean;
}

export class QuicConnection implements DatagramEndpoint {
  readonly role: Role;
  readonly config: QuicConfig;
  /**
   * The config fields read on every packet, copied once. Client and server build their configs differently, so the
   * two connections of a run hold config objects of different shapes: read through `config`, each of these sites saw
   * a second map after the JIT had specialised it for the first, and the whole (large, heavily inlined) function was
   * deoptimised and compiled again (onPacket, seal, pollDatagrams; --trace-deopt on P1).
   */
  private readonly qlogSink: QuicConfig['qlog'];
  /** @internal read by the frame table */
  readonly faults: QuicConfig['faults'];
  private readonly keyUpdateAfterPackets: number | undefined;
  readonly local: TransportSettings;
  phase: ConnectionPhase = 'handshake';
  version: number;
  private readonly versions: readonly number[];
  readonly tls: TlsSession;
  private tlsSessionFor: number;
  readonly spaces: Record<SpaceId, PacketSpace> = {
    initial: new PacketSpace('initial'),
    handshake: new PacketSpace('handshake'),
    application: new PacketSpace('application'),
  };
  private zeroRttSend: PacketKeys | undefined;
  private zeroRttRecv: PacketKeys | undefined;
  /** Initial read keys of the version we started with, kept while a compatible upgrade settles (RFC 9368 §6). */
  private fallbackInitialRecv: PacketKeys | undefined;
  readonly cids: CidManager;
  readonly streams: StreamManager;
  /** RFC 9002 loss detection, RTT and congestion control (recovery/): sent packets with their frames, per space. */
  readonly recovery: Recovery<Frame>;
  private readonly pacer = new Pacer(BASE_PLPMTU);
  /** DPLPMTUD (pmtu.ts): the datagram size full packets use, raised by acknowledged probes after the handshake. */
  readonly pmtu: PmtuDiscovery;
  /** Repeated probe timeouts with full-size packets outstanding: PTO probes go at the base size in case the size is a black hole. */
  private ptoProbesAtBase = false;
  private readonly ccEnabled: boolean;
  /** draft-ietf-quic-ack-frequency-14 (ack-frequency.ts): the peer's requests to us, and ours to a peer that supports it. */
  private readonly ackFrequencyIn: AckFrequencyReceiver;
  private ackFrequencyOut: AckFrequencySender | undefined;
  private path: Path;
  private readonly events: ConnectionEvent[] = [];
  /**
   * Exceptions that were no protocol error (engine bugs) and closed the connection with INTERNAL_ERROR, kept whole
   * (stack included) for harnesses: the CONNECTION_CLOSE reason carries only the message.
   */
  readonly internalErrors: Error[] = [];

  // Handshake identity
  /** Client: the DCID of our first Initial (also after a Retry, for transport parameter checks). */
  readonly originalDcid: Uint8Array;
  private initialDcid: Uint8Array;
  private retrySourceCid: Uint8Array | undefined;
  private token: Uint8Array;
  private retried = false;
  private receivedAnyPacket = false;
  private peerParams: TransportParameters | undefined;
  private peerParamsBytes: Uint8Array | undefined;
  handshakeComplete = false;
  handshakeConfirmed = false;
  private handshakeDonePending = false;
  private newTokenPending: Uint8Array | undefined;
  private sentHandshakePacket = false;
  private peerAckedHandshake = false;
  earlyDataState: 'none' | 'attempted' | 'accepted' | 'rejected' = 'none';

  // 1-RTT key update (RFC 9001 §6)
  private sendKeyPhase = false;
  private recvKeyPhase = false;
  private keyGeneration = 0;
  private nextRecvKeys: PacketKeys | undefined;
  private prevRecvKeys: PacketKeys | undefined;
  private prevRecvKeysDiscardAt: number | undefined;
  private firstPnInSendPhase = 0;
  private currentPhaseAcked = true;
  private packetsInSendPhase = 0;
  private keyUpdateRequested = false;

  // Timers and liveness
  private readonly probesPending: Record<SpaceId, number> = { initial: 0, handshake: 0, application: 0 };
  private lossTimerAt: number | undefined;
  private idleDeadline: number | undefined;
  private lastActivity: number;
  private closeDeadline: number | undefined;
  private closeFrame: Frame | undefined;
  private closeFrameDue = false;
  closeInfo: CloseInfo | undefined;
  private readonly pathResponses: { data: Uint8Array; to: Address }[] = [];
  /** Amplification accounting of unvalidated addresses other than the current path, by canonical address. */
  private readonly offPath = new Map<string, AddressBudget>();
  private pendingPing = false;
  private readonly undecryptable: BufferedPacket[] = [];
  private readonly tokenSealer: TokenSealer | undefined;

  constructor(private readonly opts: ConnectionOptions) {
    this.role = opts.role;
    this.config = opts.config;
    this.qlogSink = opts.config.qlog;
    this.faults = opts.config.faults;
    this.keyUpdateAfterPackets = opts.config.keyUpdateAfterPackets;
    this.local = resolveTransport(opts.config);
    const v = resolveVersions(opts.config);
    this.versions = v.all;
    this.version = opts.version ?? v.first;
    this.tlsSessionFor = this.version;
    this.tokenSealer = opts.tokenSealer;
    this.ccEnabled = opts.config.congestionControl !== 'none';
    this.ackFrequencyIn = new AckFrequencyReceiver(opts.config.ackFrequency !== false ? localMinAckDelayUs(this.local.maxAckDelayMs) : undefined);
    this.pmtu = new PmtuDiscovery(opts.config.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM_SIZE, opts.config.pmtud !== false);
    this.recovery = new Recovery<Frame>({
      role: opts.role,
      congestion: this.freshCongestionController(),
      initialRtt: opts.config.initialRttMs ?? 333,
    });
    this.lastActivity = opts.now;
    this.path = { remote: opts.remote, local: opts.local, validated: opts.role === 'client' || !!opts.addressValidated, bytesReceived: 0, bytesSent: 0, challengePending: false };
    // Clients default to zero-length connection IDs (RFC 9000 §5.1), as browsers do: packets reach them by their own
    // 4-tuple, and the 8 bytes every server packet would otherwise repeat carry data instead. Servers route on theirs.
    const cidLength = opts.config.cidLength ?? (opts.role === 'client' ? 0 : 8);
    const random = opts.config.random;
    this.cids = new CidManager({
      random,
      cidLength,
      localActiveLimit: this.local.activeConnectionIdLimit,
      resetTokenFor: opts.resetTokenFor ?? (() => random(16)),
      onLocalAdded: opts.onCidAdded,
      onLocalRetired: opts.onCidRetired,
    });
    this.streams = new StreamManager(this.role, this.local, (e) => this.events.push(e), opts.config.maxReceiveWindow ?? 16 << 20, () =>
      sendBufferLimitFor(this.recovery.congestion.window),
    );
    this.token = opts.config.token ?? new Uint8Array(0);

    if (this.role === 'client') {
      this.originalDcid = random(8);
      this.initialDcid = this.originalDcid;
      this.cids.setInitialLocal(this.cids.newLocalCid());
      this.cids.setInitialRemote(this.initialDcid);
    } else {
      if (!opts.initialDcid || !opts.clientScid) throw new Error('a server connection needs the client Initial DCID and SCID');
      this.originalDcid = opts.originalDcid ?? opts.initialDcid;
      this.initialDcid = opts.initialDcid;
      this.retrySourceCid = opts.retrySourceCid;
      this.cids.setInitialLocal(this.cids.newLocalCid());
      this.cids.setInitialRemote(opts.clientScid);
    }
    this.installInitialKeys();
    // Built once for both uses (it was built twice per connection, the second time only for a qlog that is usually off).
    const localParams = this.localTransportParameters();
    this.tls = this.createTls(localParams);
    if (this.qlogSink) this.qlog('transport:parameters_set', { owner: 'local', ...qlogParams(localParams) });
    if (this.role === 'client') {
      this.rememberedParameters();
      this.tls.start();
      this.pumpTls(opts.now);
    }
    this.resetIdle(opts.now);
  }

  // =====================================================================================================================
  // Setup helpers

  get rtt(): RttEstimator {
    return this.recovery.rtt;
  }

  get localCid(): Uint8Array {
    return this.cids.firstLocal()!.cid;
  }

  get remoteAddress(): Address {
    return this.path.remote;
  }

  get isAddressValidated(): boolean {
    return this.path.validated;
  }

  /** Bytes received from and sent to the current path (for amplification accounting). */
  get pathBytes(): { received: number; sent: number } {
    return { received: this.path.bytesReceived, sent: this.path.bytesSent };
  }

  get peerTransportParameters(): TransportParameters | undefined {
    return this.peerParams;
  }

  private freshCongestionController() {
    const cc = this.config.congestionControl;
    return createCongestionController(cc === 'newreno' || cc === 'bbr' ? cc : 'cubic', { maxDatagramSize: this.pmtu.current });
  }

  private installInitialKeys(): void {
    const keys = initialKeys(this.config.crypto, this.version, this.initialDcid);
    const s = this.spaces.initial;
    s.sendKeys = this.role === 'client' ? keys.client : keys.server;
    s.recvKeys = this.role === 'client' ? keys.server : keys.client;
  }

  private localTransportParameters(): TransportParameters {
    const l = this.local;
    const tp = defaultTransportParameters();
    tp.maxIdleTimeout = l.maxIdleTimeoutMs;
    tp.maxUdpPayloadSize = l.maxUdpPayloadSize;
    tp.initialMaxData = l.initialMaxData;
    tp.initialMaxStreamDataBidiLocal = l.initialMaxStreamDataBidiLocal;
    tp.initialMaxStreamDataBidiRemote = l.initialMaxStreamDataBidiRemote;
    tp.initialMaxStreamDataUni = l.initialMaxStreamDataUni;
    tp.initialMaxStreamsBidi = l.initialMaxStreamsBidi;
    tp.initialMaxStreamsUni = l.initialMaxStreamsUni;
    tp.ackDelayExponent = l.ackDelayExponent;
    tp.maxAckDelay = l.maxAckDelayMs;
    if (this.config.ackFrequency !== false) tp.minAckDelay = localMinAckDelayUs(l.maxAckDelayMs);
    tp.activeConnectionIdLimit = l.activeConnectionIdLimit;
    tp.disableActiveMigration = l.disableActiveMigration;
    tp.initialSourceConnectionId = this.localCid;
    tp.versionInformation = { chosenVersion: this.version, availableVersions: [...this.versions] };
    if (this.role === 'server') {
      tp.originalDestinationConnectionId = this.originalDcid;
      tp.retrySourceConnectionId = this.retrySourceCid;
      tp.statelessResetToken = this.cids.localCids()[0]!.resetToken;
    }
    return tp;
  }

  private createTls(localParams: TransportParameters = this.localTransportParameters()): TlsSession {
    const c = this.config;
    return c.createTls({
      ...c.tls,
      role: this.role,
      crypto: c.crypto,
      random: c.random,
      clock: c.clock,
      quic: true,
      quicTransportParameters: encodeTransportParameters(localParams),
      session: this.role === 'client' ? (c.session ?? c.tls.session) : undefined,
      earlyData: this.role === 'client' ? !!(c.session ?? c.tls.session) && (c.tls.earlyData ?? true) : c.tls.earlyData,
    });
  }

  /** 0-RTT: the server's parameters remembered with the ticket bound what we may send early (RFC 9000 §7.4.1). */
  private rememberedParameters(): void {
    const ticket = this.config.session ?? this.config.tls.session;
    if (!ticket?.appData || ticket.maxEarlyData !== 0xffffffff) return;
    try {
      const tp = decodeTransportParameters(ticket.appData, 'server');
      this.streams.applyPeerParameters(tp);
    } catch {
      // A corrupt remembered value only costs 0-RTT.
    }
  }

  // =====================================================================================================================
  // DatagramEndpoint: input

  receiveDatagram(data: Uint8Array, from: Address, now: number, local?: Address): void {
    this.clockNow = now;
    try {
      this.onDatagram(data, from, now, local);
    } catch (e) {
      this.failWith(e, now);
    }
  }

  private failWith(e: unknown, now: number): void {
    if (e instanceof QuicError) {
      this.closeLocally(e.code, e.reason, e.application, e.frameType, now);
    } else if (e instanceof TlsError) {
      this.closeLocally(cryptoErrorCode(e.alert), e.message, false, 0x06, now);
    } else if (e instanceof DecodeError) {
      this.closeLocally(TransportErrorCode.FRAME_ENCODING_ERROR, e.message, false, 0, now);
    } else {
      const error = e instanceof Error ? e : new Error(String(e));
      this.internalErrors.push(error);
      this.closeLocally(TransportErrorCode.INTERNAL_ERROR, error.message, false, 0, now);
    }
  }

  private onDatagram(data: Uint8Array, from: Address, now: number, local?: Address): void {
    if (this.phase === 'closed' || this.phase === 'draining') return;
    const onPath = sameAddress(from, this.path.remote);
    if (onPath) this.path.bytesReceived += data.length;
    if (this.phase === 'closing') {
      // RFC 9000 §10.2.1: answer further packets with the CONNECTION_CLOSE again, no more often than packets arrive.
      this.closeFrameDue = true;
      return;
    }
    let anyProcessed = false;
    if ((data[0]! & 0xc0) === 0x40 && data.length > this.localCid.length) {
      // Nearly every datagram of a transfer is one short-header packet: parsed and handled without the coalesced walk's
      // array and result object (splitDatagram would return exactly this one header; it cannot fail to parse).
      anyProcessed = this.onPacket(parsePacket(data, 0, this.localCid.length), from, now, data.length, local);
    } else {
      const { packets, error } = splitDatagram(data, this.localCid.length);
      if (!packets.length) {
        if (this.cids.isStatelessReset(data)) return this.onStatelessReset(now);
        this.dropped(data.length, 'header_parse_error', error ?? 'empty datagram', now);
        return;
      }
      for (let i = 0; i < packets.length; i++) {
        if (this.phase !== 'handshake' && this.phase !== 'established') break;
        if (this.onPacket(packets[i]!, from, now, data.length, local)) anyProcessed = true;
      }
      if (error) this.dropped(data.length, 'header_parse_error', error, now);
    }
    // An authenticated datagram from elsewhere (a probe, a reordered packet, a spoofed copy) earns that address its 3x
    // (RFC 9000 §8.2.1); unless it moved the path there, which counted it already (checkPathChange).
    if (!onPath && anyProcessed && !sameAddress(from, this.path.remote)) this.offPathBudget(from).received += data.length;
    if (!anyProcessed && this.cids.isStatelessReset(data)) this.onStatelessReset(now);
  }

  /** The accounting of an address other than the current path (created empty; the oldest is forgotten past the bound). */
  private offPathBudget(a: Address): AddressBudget {
    const key = offPathKey(a);
    let b = this.offPath.get(key);
    if (!b) {
      // Forgetting an address loses what it received and what it was sent alike: each kept entry stays within 3x, and
      // so does the sum over an address's entries, old and new.
      if (this.offPath.size >= MAX_OFF_PATH_ADDRESSES) this.offPath.delete(this.offPath.keys().next().value!);
      b = { received: 0, sent: 0 };
      this.offPath.set(key, b);
    }
    return b;
  }

  /** Returns whether the packet authenticated and was processed. */
  private onPacket(h: ProtectedHeader, from: Address, now: number, datagramLength: number, local?: Address, receivedAt = now): boolean {
    switch (h.kind) {
      case 'version-negotiation':
        this.onVersionNegotiation(h, now);
        return false;
      case 'retry':
        this.onRetry(h, now);
        return false;
      case 'unsupported-version':
        this.dropped(h.packet.length, 'unsupported_version', `version 0x${(h.version ?? 0).toString(16)}`, now);
        return false;
      default:
        break;
    }
    if (h.form === 'long' && !equal(h.dcid, this.localCid) && !this.cids.isLocal(h.dcid) && !(this.role === 'server' && (equal(h.dcid, this.initialDcid) || equal(h.dcid, this.originalDcid)))) {
      this.dropped(h.packet.length, 'unknown_connection_id', `DCID ${hex(h.dcid)}`, now, h.kind);
      return false;
    }
    if (h.form === 'short' && !this.cids.isLocal(h.dcid)) {
      this.dropped(h.packet.length, 'unknown_connection_id', `DCID ${hex(h.dcid)}`, now, h.kind);
      return false;
    }
    const spaceId: SpaceId = h.kind === 'initial' ? 'initial' : h.kind === 'handshake' ? 'handshake' : 'application';
    const space = this.spaces[spaceId];
    if (space.discarded) {
      this.dropped(h.packet.length, 'key_unavailable', `${spaceId} keys discarded`, now, h.kind);
      return false;
    }
    // Compatible version negotiation: the server answered in another version we offered (RFC 9368 §4).
    if (h.version !== undefined && h.version !== this.version && h.form === 'long') {
      if (!this.acceptVersionChange(h, now)) return false;
    }
    const opened = this.open(h, space, now);
    if (!opened) {
      const keysMissing = h.kind === '0rtt' ? !this.zeroRttRecv && !this.spaces.application.recvKeys : !space.recvKeys;
      if (keysMissing && this.undecryptable.length < MAX_BUFFERED_UNDECRYPTABLE && !(h.kind === '0rtt' && this.role === 'client')) {
        // Reordering can deliver Handshake or 1-RTT packets before their keys: keep a few (RFC 9001 §4.1.4).
        this.undecryptable.push({ header: { ...h, packet: h.packet.slice() }, from, datagramLength, receivedAt });
        this.dropped(h.packet.length, 'key_unavailable', `${h.kind} keys not yet available (buffered)`, now, h.kind);
      } else {
        this.dropped(h.packet.length, keysMissing ? 'key_unavailable' : 'decryption_failure', `${h.kind} packet did not open`, now, h.kind);
      }
      return false;
    }
    const { pn, payload, reservedBits } = opened;
    // RFC 9000 §17.2.2. Only once the packet authenticated (the token is in the AEAD's associated data): before that a
    // non-zero length is as likely a flipped bit on the path, which must cost a drop, not the connection.
    if (h.kind === 'initial' && this.role === 'client' && h.token.length) {
      throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, 'server Initial with a token');
    }
    if (space.isDuplicate(pn)) {
      this.dropped(h.packet.length, 'duplicate', `packet ${pn} already received`, now, h.kind);
      return true;
    }
    if (reservedBits !== 0) throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, 'reserved header bits set');
    if (this.role === 'client' && !this.receivedAnyPacket && h.form === 'long') {
      // The server's chosen SCID becomes our destination (RFC 9000 §7.2).
      this.cids.setInitialRemote(h.scid);
    }
    this.receivedAnyPacket = true;
    const frames = decodeFrames(payload, h.kind as 'initial' | '0rtt' | 'handshake' | '1rtt');
    // The hot per-packet events are built only when a qlog sink listens: without one they must cost nothing.
    if (this.qlogSink) this.qlog('transport:packet_received', {
      header: { packet_type: qlogPacketType(h.kind), packet_number: pn, dcid: hex(h.dcid), scid: h.form === 'long' ? hex(h.scid) : undefined },
      raw: { length: h.packet.length, payload_length: payload.length },
      frames: frames.map(qlogFrame),
    });
    if (h.kind === 'handshake' && this.role === 'server' && !this.path.validated) this.path.validated = true;
    const ackEliciting = isAckEliciting(frames);
    const largestBefore = space.largestReceived;
    // A packet that waited for its keys is acknowledged with that wait as ACK delay: otherwise the peer takes the wait
    // for path delay, and one such sample (seconds after a lost ServerHello) inflates its PTO past the idle timeout.
    space.onPacketReceived(pn, ackEliciting, receivedAt, this.local.maxAckDelayMs);
    this.lastActivity = now;
    this.resetIdle(now);
    if (h.form === 'short') this.checkPathChange(from, frames, pn > largestBefore, datagramLength);
    const ctx: FrameContext = { space, kind: h.kind as FrameContext['kind'], dcid: h.dcid, from, now };
    for (let i = 0; i < frames.length; i++) {
      if (this.phase !== 'handshake' && this.phase !== 'established') break;
      this.handleFrame(frames[i]!, ctx);
    }
    if (h.kind === 'handshake' && this.role === 'server') this.discardSpace('initial', now);
    // A repeated client Initial (its PTO or anti-deadlock probe, RFC 9002 §6.2.2.1) whose ACK frame, handled above, still
    // leaves our Initial CRYPTO unacknowledged means the client lacks the ServerHello and so cannot read our Handshake
    // packets: resend that CRYPTO now as a probe, since congestion control may otherwise hold it back indefinitely.
    if (h.kind === 'initial' && this.role === 'server' && ackEliciting && largestBefore >= 0 && this.hasInitialCryptoOutstanding()) {
      this.probesPending.initial = Math.max(this.probesPending.initial, 1);
      this.requeueUnackedCrypto('initial');
      // The Handshake flight rides in the same datagram: sent apart, the Initial alone would be padded to 1200 bytes
      // and spend the amplification budget (RFC 9000 §8.1) the rest of the flight needs.
      const hs = this.spaces.handshake;
      if (hs.sendKeys && !hs.discarded && this.recovery.unacked('handshake').some((p) => p.ackEliciting)) {
        this.probesPending.handshake = Math.max(this.probesPending.handshake, 1);
        this.requeueUnackedCrypto('handshake');
      }
    }
    this.pumpTls(now);
    return true;
  }

  private open(h: ProtectedHeader, space: PacketSpace, now: number): { pn: number; payload: Uint8Array; reservedBits: number } | undefined {
    if (h.kind === '0rtt') {
      if (!this.zeroRttRecv) return undefined;
      const o = unprotectPacket(this.zeroRttRecv, h.packet, h.pnOffset, space.largestReceived);
      return o ?? undefined;
    }
    if (h.kind !== '1rtt') {
      if (!space.recvKeys) return undefined;
      let o = unprotectPacket(space.recvKeys, h.packet, h.pnOffset, space.largestReceived);
      if (!o && h.kind === 'initial' && this.fallbackInitialRecv) o = unprotectPacket(this.fallbackInitialRecv, h.packet, h.pnOffset, space.largestReceived);
      return o ?? undefined;
    }
    const current = space.recvKeys;
    if (!current) return undefined;
    // Key phase (RFC 9001 §6.3): header protection keys never change, so the current ones reveal the phase bit first.
    const hdr = removeHeaderProtection(current, h.packet, h.pnOffset, space.largestReceived);
    if (!hdr) return undefined;
    if (hdr.keyPhase === this.recvKeyPhase) return withPayload(current, hdr, h.packet);
    if (this.prevRecvKeys && hdr.pn < this.firstPnOfRecvPhase) return withPayload(this.prevRecvKeys, hdr, h.packet);
    this.nextRecvKeys ??= nextGenerationKeys(this.config.crypto, current);
    const o = withPayload(this.nextRecvKeys, hdr, h.packet);
    if (!o) return undefined;
    this.onPeerKeyPhase(o.pn, now);
    return o;
  }

  private firstPnOfRecvPhase = 0;

  /** The peer's packets moved to the next key phase: rotate read keys, and follow with our write keys if the peer initiated. */
  private onPeerKeyPhase(pn: number, now: number): void {
    const app = this.spaces.application;
    if (!this.handshakeConfirmed && this.role === 'client') {
      // A client may see the server's update only after confirmation; still accept it.
    }
    this.prevRecvKeys = app.recvKeys;
    this.prevRecvKeysDiscardAt = now + 3 * this.ptoPeriod();
    app.recvKeys = this.nextRecvKeys;
    this.nextRecvKeys = undefined;
    this.recvKeyPhase = !this.recvKeyPhase;
    this.firstPnOfRecvPhase = pn;
    if (this.sendKeyPhase !== this.recvKeyPhase) {
      // The peer initiated: respond with our next write keys (RFC 9001 §6.2).
      app.sendKeys = nextGenerationKeys(this.config.crypto, app.sendKeys!);
      this.sendKeyPhase = this.recvKeyPhase;
      this.firstPnInSendPhase = app.nextPn;
      this.currentPhaseAcked = false;
      this.packetsInSendPhase = 0;
      this.keyGeneration++;
      this.events.push({ type: 'key-update', generation: this.keyGeneration, initiator: 'remote' });
      this.qlogKeyUpdate('remote_update');
    }
  }

  private qlogKeyUpdate(trigger: 'remote_update' | 'local_update'): void {
    this.qlog('security:key_updated', { key_type: this.role === 'client' ? 'client_1rtt_secret' : 'server_1rtt_secret', trigger, generation: this.keyGeneration });
    this.qlog('security:key_updated', { key_type: this.role === 'client' ? 'server_1rtt_secret' : 'client_1rtt_secret', trigger, generation: this.keyGeneration });
  }

  /** Starts a 1-RTT key update (RFC 9001 §6.1). Returns false when not permitted yet (handshake not confirmed or previous update unacknowledged). */
  initiateKeyUpdate(): boolean {
    const app = this.spaces.application;
    if (!this.handshakeConfirmed || !app.sendKeys || !this.currentPhaseAcked || this.sendKeyPhase !== this.recvKeyPhase) {
      this.keyUpdateRequested = true;
      return false;
    }
    this.keyUpdateRequested = false;
    app.sendKeys = nextGenerationKeys(this.config.crypto, app.sendKeys);
    this.nextRecvKeys ??= nextGenerationKeys(this.config.crypto, app.recvKeys!);
    this.sendKeyPhase = !this.sendKeyPhase;
    this.firstPnInSendPhase = app.nextPn;
    this.currentPhaseAcked = false;
    this.packetsInSendPhase = 0;
    this.keyGeneration++;
    this.events.push({ type: 'key-update', generation: this.keyGeneration, initiator: 'local' });
    this.qlogKeyUpdate('local_update');
    return true;
  }

  get keyPhaseGeneration(): number {
    return this.keyGeneration;
  }

  private checkPathChange(from: Address, frames: Frame[], isLargest: boolean, datagramLength: number): void {
    if (sameAddress(from, this.path.remote)) return;
    const probing = isProbingOnly(frames as { type: FrameTypeName }[]);
    if (probing || !isLargest) return;
    if (this.role === 'client') return; // servers do not migrate (no preferred address support)
    if (this.local.disableActiveMigration && this.handshakeConfirmed === false) return;
    // RFC 9000 §9.3: the peer moved (migration or NAT rebinding): send to the new address, validate it, limit what we send until then.
    const portOnly = from.host === this.path.remote.host;
    // A new host compared with the last validated path: a port change on a host still being validated is one too.
    const newHost = !portOnly || (!this.path.validated && !!this.path.newHost);
    // The old path, if never validated, keeps its accounting for when the peer (or a spoofer) returns to it; the new one
    // takes up what that address has received and been sent before. The datagram that revealed it counts too.
    const old = this.path;
    if (!old.validated) {
      const b = this.offPathBudget(old.remote);
      b.received += old.bytesReceived;
      b.sent += old.bytesSent;
    }
    const key = offPathKey(from);
    const before = this.offPath.get(key) ?? { received: 0, sent: 0 };
    this.offPath.delete(key);
    this.path = { remote: from, local: this.path.local, validated: false, bytesReceived: before.received + datagramLength, bytesSent: before.sent, challenge: this.config.random(8), challengePending: true, newHost };
    this.qlog('connectivity:connection_state_updated', { new: 'path_migrating' });
    // A new host is a new path whose MTU is unknown (RFC 9000 §14.2); a port-only rebinding keeps it, as it keeps congestion state.
    const mtu = portOnly ? undefined : this.pmtu.onPathChanged();
    if (mtu) this.applyMtu(mtu);
  }

  private onStatelessReset(now: number): void {
    this.closeInfo = { errorCode: 0, frameType: 0, reason: 'stateless reset', initiator: 'remote', kind: 'transport', cause: 'stateless-reset' };
    this.qlog('connectivity:connection_closed', { owner: 'remote', trigger: 'stateless_reset', reason: 'stateless reset' });
    this.enterDraining(now, false);
  }

  // ---- Version negotiation and Retry (client) ----

  private onVersionNegotiation(h: ProtectedHeader, now: number): void {
    if (this.role !== 'client' || this.receivedAnyPacket || this.retried) return this.dropped(h.packet.length, 'unexpected_packet', 'Version Negotiation', now, 'version-negotiation');
    let vn;
    try {
      vn = parseVersionNegotiation(h.packet);
    } catch (e) {
      return this.dropped(h.packet.length, 'header_parse_error', (e as Error).message, now, 'version-negotiation');
    }
    if (!equal(vn.dcid, this.localCid) || !equal(vn.scid, this.initialDcid)) return this.dropped(h.packet.length, 'unexpected_packet', 'VN with foreign connection IDs', now, 'version-negotiation');
    // RFC 9000 §6.2: a VN listing our version is bogus (or delayed): ignore it.
    if (vn.versions.includes(this.version)) return this.dropped(h.packet.length, 'unexpected_packet', 'VN lists the version we used', now, 'version-negotiation');
    const next = this.versions.find((v) => vn.versions.includes(v));
    this.qlog('transport:version_information', { server_versions: vn.versions.map(versionName), client_versions: this.versions.map(versionName), chosen_version: next !== undefined ? versionName(next) : undefined });
    if (next === undefined) {
      this.closeInfo = { errorCode: TransportErrorCode.VERSION_NEGOTIATION_ERROR, frameType: 0, reason: `no common version (server offers ${vn.versions.map(versionName).join(', ')})`, initiator: 'remote', kind: 'transport', cause: 'version-negotiation' };
      this.enterDraining(now, false);
      return;
    }
    this.restartWithVersion(next, now);
    this.events.push({ type: 'version-changed', version: next, reason: 'version-negotiation' });
  }

  /** New Initial with another version after VN: the handshake starts over (RFC 9000 §6.2, RFC 9368 §2.1). */
  private restartWithVersion(version: number, now: number): void {
    this.version = version;
    const old = this.spaces.initial;
    this.recovery.discardSpace('initial', now);
    const fresh = new PacketSpace('initial');
    fresh.nextPn = old.nextPn; // packet numbers keep increasing across the restart
    this.spaces.initial = fresh;
    this.installInitialKeys();
    (this as { tls: TlsSession }).tls = this.createTls();
    this.tlsSessionFor = version;
    this.tls.start();
    this.pumpTls(now);
  }

  private onRetry(h: ProtectedHeader, now: number): void {
    if (this.role !== 'client' || this.retried || this.receivedAnyPacket) return this.dropped(h.packet.length, 'unexpected_packet', 'Retry', now, 'retry');
    if (!verifyRetry(this.config.crypto, h.packet, this.initialDcid)) return this.dropped(h.packet.length, 'decryption_failure', 'Retry integrity tag', now, 'retry');
    let retry;
    try {
      retry = parseRetry(h.packet);
    } catch (e) {
      return this.dropped(h.packet.length, 'header_parse_error', (e as Error).message, now, 'retry');
    }
    if (!retry.token.length || equal(retry.scid, this.initialDcid)) return this.dropped(h.packet.length, 'unexpected_packet', 'Retry without token or with our DCID', now, 'retry');
    this.qlog('transport:packet_received', { header: { packet_type: 'retry', scid: hex(retry.scid), dcid: hex(retry.dcid), token: { length: retry.token.length } }, raw: { length: h.packet.length } });
    this.retried = true;
    this.retrySourceCid = retry.scid;
    this.token = retry.token;
    this.initialDcid = retry.scid;
    this.cids.setInitialRemote(retry.scid);
    this.installInitialKeys();
    // Everything sent in Initial packets goes again with the token, without counting as loss (RFC 9002 §6.3).
    const s = this.spaces.initial;
    for (const p of this.recovery.unacked('initial')) for (const f of p.frames) this.onFrameLost(f, s);
    this.recovery.discardSpace('initial', now);
    if (this.zeroRttSend) {
      const app = this.spaces.application;
      for (const p of this.recovery.unacked('application')) for (const f of p.frames) this.onFrameLost(f, app);
      this.recovery.discardSpace('application', now);
    }
    this.events.push({ type: 'retry' });
  }

  /** Client side of a compatible version change: the server's first Initial comes in another version (RFC 9368 §4). */
  private acceptVersionChange(h: ProtectedHeader, now: number): boolean {
    if (this.role === 'server') {
      // A client still sending its first version after we upgraded: fallback keys handle it.
      return !!this.fallbackInitialRecv && h.kind === 'initial';
    }
    if (this.receivedAnyPacket || h.kind !== 'initial' || h.version === undefined || !this.versions.includes(h.version) || !isCompatible(this.version, h.version)) {
      this.dropped(h.packet.length, 'unsupported_version', `packet of version ${versionName(h.version ?? 0)}`, now, h.kind);
      return false;
    }
    const from = this.version;
    this.version = h.version;
    this.installInitialKeys();
    this.events.push({ type: 'version-changed', version: h.version, reason: 'compatible-upgrade' });
    this.qlog('transport:version_information', { client_versions: this.versions.map(versionName), chosen_version: versionName(h.version) });
    void from;
    return true;
  }

  /**
   * Server side of compatible version negotiation: before the TLS server answers, look at the client's
   * version_information and switch to our preferred compatible version (RFC 9368 §4, §6).
   */
  serverChooseVersion(clientVersions: readonly number[] | undefined): void {
    if (this.role !== 'server' || !clientVersions) return;
    const preferred = this.versions.find((v) => clientVersions.includes(v) && isCompatible(this.version, v));
    if (preferred === undefined || preferred === this.version) return;
    this.fallbackInitialRecv = this.spaces.initial.recvKeys;
    this.version = preferred;
    this.installInitialKeys();
    (this as { tls: TlsSession }).tls = this.createTls();
    this.tlsSessionFor = preferred;
    this.events.push({ type: 'version-changed', version: preferred, reason: 'compatible-upgrade' });
  }

  // =====================================================================================================================
  // Frames

  private handleFrame(f: Frame, ctx: FrameContext): void {
    const handler = FRAME_HANDLERS[f.type] as (c: QuicConnection, f: Frame, ctx: FrameContext) => void;
    handler(this, f, ctx);
  }

  /** @internal used by the frame table */
  onAck(f: AckFrame, ctx: FrameContext): void {
    const space = ctx.space;
    if (f.ranges[0]!.largest >= space.nextPn) {
      throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, `ACK of unsent packet ${f.ranges[0]!.largest}`, { frameType: 0x02 });
    }
    const exponent = this.peerParams?.ackDelayExponent ?? 3;
    // recovery/ caps the delay at max_ack_delay once the handshake is confirmed (RFC 9002 §5.3).
    const ackDelay = (f.ackDelay * 2 ** exponent) / 1000;
    const res = this.recovery.onAckReceived(space.id, f, ackDelay, ctx.now);
    const largestAcked = this.recovery.largestAcked(space.id);
    if (largestAcked >= 0) space.largestAcked = largestAcked;
    const newlyAcked = res.newlyAcked;
    for (let i = 0; i < newlyAcked.length; i++) {
      const p = newlyAcked[i]!;
      for (let j = 0; j < p.frames.length; j++) this.onFrameAcked(p.frames[j]!, space);
      if (space.id === 'application' && p.pn >= this.firstPnInSendPhase && p.pn >= this.firstOneRttPn) this.currentPhaseAcked = true;
      if (space.id === 'handshake') this.peerAckedHandshake = true;
    }
    this.streams.emitAckedWritable();
    if (space.id === 'application' && this.role === 'client' && this.handshakeComplete && !this.handshakeConfirmed) {
      // RFC 9001 §4.1.2: an acknowledged 1-RTT packet also confirms the handshake.
      if (res.newlyAcked.some((p) => p.pn >= this.firstOneRttPn)) this.confirmHandshake(ctx.now);
    }
    if (space.id === 'application') {
      this.ptoProbesAtBase = false;
      this.pmtuFeedback(res.newlyAcked, res.lost, ctx.now);
    }
    this.onPacketsLost(res.lost, space, ctx.now, 'reordering_threshold');
    if (space.id === 'application') this.updateAckFrequency(ctx.now);
    if (!res.newlyAcked.length) return;
    this.qlogCongestionState();
    this.qlogMetrics();
  }

  /** The state of a controller that names one (BBR), as qlog's congestion_state_updated when it changes. */
  private qlogCongestionState(): void {
    const state = this.recovery.congestion.state;
    if (state === undefined || state === this.lastCongestionState) return;
    const old = this.lastCongestionState;
    this.lastCongestionState = state;
    if (this.qlogSink) this.qlog('recovery:congestion_state_updated', { ...(old ? { old } : {}), new: state });
  }

  private lastCongestionState: string | undefined;
  /** ACK-only 1-RTT packets sent since the last ack-eliciting one (see ACK_ONLY_BEFORE_PING). */
  private ackOnlyRun = 0;

  /** Our ACK_FREQUENCY request follows the congestion state (ack-frequency.ts explains the policy). */
  private updateAckFrequency(now: number): void {
    const out = this.ackFrequencyOut;
    if (!out || !this.handshakeConfirmed) return;
    const cc = this.recovery.congestion;
    const modelBdp = cc.bdpEstimate;
    out.update({ now, inSlowStart: cc.inSlowStart(), recoveryStartTime: cc.recoveryStartTime, congestionWindow: cc.window, maxDatagramSize: cc.maxDatagramSize, smoothedRtt: this.rtt.smoothed, minRtt: this.rtt.min, ...(modelBdp !== undefined ? { modelBdp } : {}) });
  }

  /** The max_ack_delay loss recovery assumes: the peer's, or the largest we asked for that may be in force (draft §7). */
  private syncPeerMaxAckDelay(): void {
    if (this.ackFrequencyOut) this.recovery.setPeerMaxAckDelay(this.ackFrequencyOut.peerMaxAckDelayMs());
  }

  /** @internal */
  onAckFrequency(f: AckFrequencyFrame, ctx: FrameContext): void {
    const policy = this.ackFrequencyIn.onFrame(f);
    if (policy) ctx.space.ackPolicy = policy;
  }

  /** @internal */
  onImmediateAck(ctx: FrameContext): void {
    this.ackFrequencyIn.assertAllowed(0x1f);
    ctx.space.ackImmediately = true;
  }

  private qlogMetrics(): void {
    const cc = this.recovery.congestion;
    if (this.qlogSink) this.qlog('recovery:metrics_updated', {
      min_rtt: this.rtt.min,
      smoothed_rtt: this.rtt.smoothed,
      latest_rtt: this.rtt.latest,
      rtt_variance: this.rtt.rttvar,
      pto_count: this.recovery.ptoCount,
      congestion_window: cc.window,
      bytes_in_flight: this.recovery.bytesInFlight,
      ssthresh: Number.isFinite(cc.ssthresh) ? cc.ssthresh : undefined,
      pacing_rate: !this.rtt.hasSample ? undefined : cc.pacingRate !== undefined ? Math.round(cc.pacingRate * 8 * 1000) : Math.round((1.25 * cc.window * 8 * 1000) / Math.max(1, this.rtt.smoothed)),
    });
  }

  /** Packet number of our first 1-RTT packet (earlier application-space packets were 0-RTT). */
  private firstOneRttPn = Number.MAX_SAFE_INTEGER;

  /** Frames of lost packets go back to pending work (recovery/ has already told congestion control). */
  private onPacketsLost(lost: readonly SentPacket<Frame>[], space: PacketSpace, now: number, trigger: 'reordering_threshold' | 'time_threshold' | 'pto_expired'): void {
    for (const p of lost) {
      const type = p.space === 'initial' ? 'initial' : p.space === 'handshake' ? 'handshake' : p.pn < this.firstOneRttPn ? '0RTT' : '1RTT';
      if (this.qlogSink) this.qlog('recovery:packet_lost', { header: { packet_type: type, packet_number: p.pn }, frames: p.frames.map(qlogFrame), trigger });
      for (const f of p.frames) this.onFrameLost(f, space);
    }
    void now;
  }

  private onFrameAcked(f: Frame, space: PacketSpace): void {
    switch (f.type) {
      case 'ack':
        // The peer has our ACK: its ranges need not be repeated (RFC 9000 §13.2.4).
        space.onAckAcknowledged(f.ranges[0]!.largest);
        return;
      case 'crypto':
        space.cryptoSend.onAcked(f.offset, f.data.length, false);
        return;
      case 'stream':
      case 'reset_stream':
        this.streams.onFrameAcked(f);
        return;
      case 'ack_frequency':
        this.ackFrequencyOut?.onAcked(f);
        this.syncPeerMaxAckDelay();
        return;
      default:
        return;
    }
  }

  private onFrameLost(f: Frame, space: PacketSpace): void {
    switch (f.type) {
      case 'crypto':
        if (space === this.spaces.handshake && this.faults?.includes('handshake-crypto-no-retransmit')) return;
        space.cryptoSend.onLost(f.offset, f.data.length, false);
        return;
      case 'handshake_done':
        this.handshakeDonePending = true;
        return;
      case 'new_token':
        this.newTokenPending ??= f.token;
        return;
      case 'new_connection_id':
        this.cids.onNewConnectionIdLost(f.sequence);
        return;
      case 'retire_connection_id':
        this.cids.onRetireLost(f.sequence);
        return;
      case 'path_challenge':
        if (this.path.challenge && equal(this.path.challenge, f.data) && !this.path.validated) this.path.challengePending = true;
        return;
      case 'ack_frequency':
        this.ackFrequencyOut?.onLost(f);
        return;
      case 'ping':
      case 'immediate_ack':
      case 'path_response':
      case 'ack':
      case 'padding':
      case 'connection_close':
        return;
      default:
        this.streams.onFrameLost(f);
    }
  }

  /** @internal */
  onCrypto(f: { offset: number; data: Uint8Array }, ctx: FrameContext): void {
    const space = ctx.space;
    try {
      space.cryptoRecv.receive(f.offset, f.data, false, 0x06);
    } catch (e) {
      if (e instanceof QuicError && e.code === TransportErrorCode.FLOW_CONTROL_ERROR) {
        throw new QuicError(TransportErrorCode.CRYPTO_BUFFER_EXCEEDED, 'CRYPTO data beyond the reassembly buffer', { frameType: 0x06 });
      }
      throw e;
    }
    const epoch: Epoch = space.id;
    const chunk = space.cryptoRecv.read(Number.MAX_SAFE_INTEGER, ctx.now, this.rtt.smoothed);
    if (!chunk.length) return;
    if (space.id === 'initial' && this.role === 'server' && !this.tls.serverName && this.tlsSessionFor === this.version && !this.peerParams) {
      this.serverChooseVersion(clientVersionsFromClientHello(chunk));
    }
    this.tls.receive(epoch, chunk);
  }

  /** @internal */
  onConnectionClose(f: Extract<Frame, { type: 'connection_close' }>, ctx: FrameContext): void {
    this.closeInfo = {
      errorCode: f.errorCode,
      frameType: f.frameType,
      reason: f.reason,
      initiator: 'remote',
      kind: f.application ? 'application' : 'transport',
      cause: 'close',
    };
    this.qlog('connectivity:connection_closed', f.application ? { owner: 'remote', application_code: f.errorCode, reason: f.reason, trigger: 'application' } : { owner: 'remote', connection_code: f.errorCode, reason: f.reason, trigger: f.errorCode === 0 ? 'clean' : 'error' });
    this.enterDraining(ctx.now, true);
  }

  /** @internal */
  onHandshakeDone(ctx: FrameContext): void {
    if (this.role === 'server') throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, 'HANDSHAKE_DONE from a client', { frameType: 0x1e });
    this.confirmHandshake(ctx.now);
  }

  /** @internal */
  onNewToken(f: { token: Uint8Array }): void {
    if (this.role === 'server') throw new QuicError(TransportErrorCode.PROTOCOL_VIOLATION, 'NEW_TOKEN from a client', { frameType: 0x07 });
    if (!f.token.length) throw new QuicError(TransportErrorCode.FRAME_ENCODING_ERROR, 'empty NEW_TOKEN', { frameType: 0x07 });
    this.events.push({ type: 'new-token', token: f.token });
  }

  /** @internal */
  onPathChallenge(f: { data: Uint8Array }, ctx: FrameContext): void {
    // A packet full of challenges gets a bounded number of answers: each one costs a datagram off the current path.
    if (this.pathResponses.length >= MAX_PENDING_PATH_RESPONSES) return;
    this.pathResponses.push({ data: f.data, to: ctx.from });
  }

  /** @internal */
  onPathResponse(f: { data: Uint8Array }, ctx: FrameContext): void {
    if (this.path.challenge && equal(f.data, this.path.challenge) && sameAddress(ctx.from, this.path.remote)) {
      this.path.validated = true;
      this.path.challenge = undefined;
      this.path.challengePending = false;
      this.path.challengeRetryAt = undefined;
      // RFC 9000 §9.4: a new host is a new path whose capacity and RTT we know nothing about; a port-only change (NAT
      // rebinding) is most likely the same path, and keeps what was learnt (the MAY of the same section).
      const reset = !!this.path.newHost;
      this.qlog('connectivity:connection_state_updated', { old: 'path_migrating', new: 'path_validated' });
      if (reset) this.resetPathState(ctx.now);
      this.events.push({ type: 'path-validated', host: ctx.from.host, port: ctx.from.port, congestionReset: reset });
    }
  }

  private resetPathState(now: number): void {
    this.recovery.resetForNewPath(this.freshCongestionController(), now);
    this.qlog('recovery:congestion_state_updated', { new: 'slow_start', trigger: 'path_change' });
    this.qlogMetrics();
  }

  // =====================================================================================================================
  // TLS

  private pumpTls(now: number): void {
    for (;;) {
      const out = this.tls.pollOutput();
      if (!out) break;
      if (out.epoch === 'early') continue;
      this.spaces[SPACE_OF_EPOCH[out.epoch]].cryptoSend.write(out.data);
    }
    let installedRead = false;
    for (;;) {
      const ev = this.tls.pollEvent();
      if (!ev) break;
      switch (ev.type) {
        case 'secret':
          if (this.installSecret(ev.secret)) installedRead = true;
          break;
        case 'handshake-complete':
          this.onHandshakeComplete(now);
          break;
        case 'ticket':
          if (this.peerParamsBytes) ev.ticket.appData = this.peerParamsBytes;
          this.events.push({ type: 'ticket', ticket: ev.ticket });
          break;
        case 'early-data':
          this.onEarlyDataDecision(ev.accepted, now);
          break;
        case 'alert':
          if (ev.level === 'fatal' && !ev.sent) this.closeLocally(cryptoErrorCode(ev.description), 'TLS alert received', false, 0x06, now);
          break;
        default:
          break;
      }
    }
    if (!this.peerParams && this.tls.peerTransportParameters) this.applyPeerParameters(this.tls.peerTransportParameters);
    if (installedRead && this.undecryptable.length) {
      const pending = this.undecryptable.splice(0);
      for (const b of pending) {
        if (this.phase !== 'handshake' && this.phase !== 'established') break;
        this.onPacket(b.header, b.from, now, b.datagramLength, undefined, b.receivedAt);
      }
    }
  }

  private installSecret(s: TrafficSecret): boolean {
    const keys = derivePacketKeys(this.config.crypto, s.suite, s.secret, this.version);
    if (this.qlogSink) {
      const mine = (this.role === 'client') === (s.direction === 'write');
      const keyType = `${mine ? 'client' : 'server'}_${s.epoch === 'early' ? '0rtt' : s.epoch === 'application' ? '1rtt' : s.epoch}_secret` as QlogKeyType;
      this.qlog('security:key_updated', { key_type: keyType, trigger: 'tls', generation: 0 });
    }
    if (s.epoch === 'early') {
      if (s.direction === 'write') {
        this.zeroRttSend = keys;
        this.earlyDataState = 'attempted';
      } else this.zeroRttRecv = keys;
      return s.direction === 'read';
    }
    const space = this.spaces[SPACE_OF_EPOCH[s.epoch]];
    if (s.epoch === 'handshake') this.recovery.setHasHandshakeKeys(this.clockNow);
    if (s.direction === 'write') space.sendKeys = keys;
    else space.recvKeys = keys;
    return s.direction === 'read';
  }

  private onEarlyDataDecision(accepted: boolean, now: number): void {
    // The server reports its own decision too (applications and logs want to know); it has nothing to resend.
    this.events.push({ type: 'early-data', accepted });
    if (this.role === 'server') return;
    this.earlyDataState = accepted ? 'accepted' : 'rejected';
    if (accepted) return;
    // RFC 9001 §4.6.2: rejected 0-RTT data must be sent again in 1-RTT.
    const app = this.spaces.application;
    for (const p of this.recovery.unacked('application')) for (const f of p.frames) this.onFrameLost(f, app);
    // No 1-RTT packet has gone out yet (the decision arrives with EncryptedExtensions), so this drops only 0-RTT ones.
    this.recovery.discardSpace('application', now);
    this.zeroRttSend = undefined;
  }

  private applyPeerParameters(bytes: Uint8Array): void {
    const tp = decodeTransportParameters(bytes, this.role === 'client' ? 'server' : 'client');
    // Connection ID authentication (RFC 9000 §7.3).
    const peerInitialScid = this.role === 'client' ? this.cids.activeRemote.cid : this.opts.clientScid!;
    if (!tp.initialSourceConnectionId || !equal(tp.initialSourceConnectionId, peerInitialScid)) {
      throw new QuicError(TransportErrorCode.TRANSPORT_PARAMETER_ERROR, 'initial_source_connection_id does not match the Source Connection ID');
    }
    if (this.role === 'client') {
      if (!tp.originalDestinationConnectionId || !equal(tp.originalDestinationConnectionId, this.originalDcid)) {
        throw new QuicError(TransportErrorCode.TRANSPORT_PARAMETER_ERROR, 'original_destination_connection_id mismatch');
      }
      if (this.retried ? !tp.retrySourceConnectionId || !equal(tp.retrySourceConnectionId, this.retrySourceCid!) : tp.retrySourceConnectionId) {
        throw new QuicError(TransportErrorCode.TRANSPORT_PARAMETER_ERROR, 'retry_source_connection_id mismatch');
      }
      if (tp.versionInformation && tp.versionInformation.chosenVersion !== this.version) {
        throw new QuicError(TransportErrorCode.VERSION_NEGOTIATION_ERROR, `server chose ${versionName(tp.versionInformation.chosenVersion)} but speaks ${versionName(this.version)}`);
      }
      if (tp.statelessResetToken) this.cids.setRemoteResetToken(0, tp.statelessResetToken);
    }
    this.peerParams = tp;
    this.peerParamsBytes = bytes;
    this.recovery.setPeerMaxAckDelay(tp.maxAckDelay);
    if (tp.minAckDelay !== undefined && this.config.ackFrequency !== false) this.ackFrequencyOut = new AckFrequencySender(tp.minAckDelay / 1000, tp.maxAckDelay, this.local.maxAckDelayMs);
    this.streams.applyPeerParameters(tp);
    this.cids.setPeerActiveLimit(tp.activeConnectionIdLimit);
    this.qlog('transport:parameters_set', { owner: 'remote', ...qlogParams(tp) });
  }

  private onHandshakeComplete(now: number): void {
    if (this.handshakeComplete) return;
    this.handshakeComplete = true;
    this.phase = 'established';
    this.qlog('connectivity:connection_state_updated', { old: 'handshake', new: 'handshake_complete' });
    this.events.push({ type: 'handshake-complete', alpn: this.tls.alpn, resumed: this.tls.resumed, version: this.version });
    if (this.role === 'server') {
      this.handshakeDonePending = true;
      if (this.tokenSealer) this.newTokenPending = this.tokenSealer.issueNewToken(this.path.remote, now);
      this.confirmHandshake(now);
    }
  }

  private confirmHandshake(now: number): void {
    if (this.handshakeConfirmed) return;
    this.handshakeConfirmed = true;
    this.recovery.setHandshakeConfirmed(now);
    this.events.push({ type: 'handshake-confirmed' });
    this.qlog('connectivity:connection_state_updated', { new: 'handshake_confirmed' });
    this.discardSpace('initial', now);
    this.discardSpace('handshake', now);
    this.zeroRttSend = undefined;
    if (this.keyUpdateRequested) this.initiateKeyUpdate();
    if (this.peerParams) this.pmtu.start(this.peerParams.maxUdpPayloadSize);
  }

  private discardSpace(id: SpaceId, now: number): void {
    const s = this.spaces[id];
    if (s.discarded) return;
    this.recovery.discardSpace(id, now);
    s.discard();
    this.fallbackInitialRecv = id === 'initial' ? undefined : this.fallbackInitialRecv;
    this.probesPending[id] = 0;
    const mine = this.role;
    const other = mine === 'client' ? 'server' : 'client';
    if (id !== 'application') {
      this.qlog('security:key_discarded', { key_type: `${mine}_${id}_secret` as QlogKeyType, trigger: 'tls' });
      this.qlog('security:key_discarded', { key_type: `${other}_${id}_secret` as QlogKeyType, trigger: 'tls' });
    }
    void now;
  }

  // =====================================================================================================================
  // Closing (RFC 9000 §10)

  /** Closes the connection: CONNECTION_CLOSE now, then the closing period (3 × PTO). */
  close(errorCode: ErrorCode, reason = '', application = true, now: number): void {
    this.closeLocally(checkErrorCode(errorCode), reason, application, 0, now);
  }

  private closeLocally(code: ErrorCode, reason: string, application: boolean, frameType: number, now: number): void {
    if (this.phase === 'closing' || this.phase === 'draining' || this.phase === 'closed') return;
    this.closeInfo = { errorCode: code, frameType, reason, initiator: 'local', kind: application ? 'application' : 'transport', cause: 'close' };
    this.qlog('connectivity:connection_closed', application ? { owner: 'local', application_code: code, reason, trigger: 'application' } : { owner: 'local', connection_code: code, reason, trigger: code === 0 ? 'clean' : 'error' });
    this.closeFrame = { type: 'connection_close', application, errorCode: code, frameType: application ? 0 : frameType, reason };
    this.closeFrameDue = true;
    this.phase = 'closing';
    this.closeDeadline = now + 3 * this.ptoPeriod();
    this.events.push({ type: 'closing', info: this.closeInfo });
  }

  private enterDraining(now: number, announce: boolean): void {
    if (this.phase === 'closed' || this.phase === 'draining') return;
    this.phase = 'draining';
    this.closeDeadline = now + 3 * this.ptoPeriod();
    if (announce && this.closeInfo) this.events.push({ type: 'closing', info: this.closeInfo });
    if (!announce) this.finishClose();
  }

  private finishClose(): void {
    this.phase = 'closed';
    this.closeDeadline = undefined;
    if (this.closeInfo) this.events.push({ type: 'closed', info: this.closeInfo });
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  // =====================================================================================================================
  // Timers

  private ptoPeriod(): number {
    return this.rtt.ptoBase() + (this.handshakeConfirmed ? this.recovery.peerMaxAckDelay : 0);
  }

  private effectiveIdleTimeout(): number | undefined {
    const mine = this.local.maxIdleTimeoutMs;
    const theirs = this.peerParams?.maxIdleTimeout ?? 0;
    const t = mine && theirs ? Math.min(mine, theirs) : mine || theirs;
    return t ? Math.max(t, 3 * this.ptoPeriod()) : undefined;
  }

  private resetIdle(now: number): void {
    const t = this.effectiveIdleTimeout();
    this.idleDeadline = t === undefined ? undefined : now + t;
  }

  /** The loss-detection timer from recovery/, after telling it whether the amplification limit blocks us. */
  private computeLossTimer(now: number): number | undefined {
    // A server must not arm a PTO it could not honour under the amplification limit (RFC 9002 §6.2.2.1).
    this.recovery.setAmplificationBlocked(this.role === 'server' && !this.path.validated && this.amplificationBudget() <= 0, now);
    return this.recovery.nextTimeout();
  }

  nextTimeout(): number | undefined {
    if (this.phase === 'closed') return undefined;
    if (this.phase === 'closing' || this.phase === 'draining') return this.closeDeadline;
    // Asked after every event the simulator runs: the minimum is folded in place rather than over a candidate array.
    let min = earliest(earliest(earliest(this.closeDeadline, this.idleDeadline), this.lossTimerAt), this.prevRecvKeysDiscardAt);
    if (!this.path.validated) min = earliest(min, this.path.challengeRetryAt);
    const app = this.spaces.application;
    if (!app.discarded && app.ackDeadline !== undefined && app.sendKeys) min = earliest(min, app.ackDeadline);
    const pacedUntil = this.pacingTime(this.lastPollAt);
    if (pacedUntil > this.lastPollAt && this.wantsToSend()) min = earliest(min, pacedUntil);
    return min;
  }

  private lastPollAt = 0;
  /** Time of the latest input or poll, for stamping qlog events. */
  private clockNow = 0;

  handleTimeout(now: number): void {
    this.clockNow = now;
    try {
      this.onTimeout(now);
    } catch (e) {
      this.failWith(e, now);
    }
  }

  private onTimeout(now: number): void {
    if (this.phase === 'closed') return;
    if (this.closeDeadline !== undefined && now >= this.closeDeadline) {
      this.finishClose();
      return;
    }
    if (this.phase === 'closing' || this.phase === 'draining') return;
    if (this.idleDeadline !== undefined && now >= this.idleDeadline) {
      this.closeInfo = { errorCode: 0, frameType: 0, reason: 'idle timeout', initiator: 'local', kind: 'transport', cause: 'idle-timeout' };
      this.qlog('connectivity:connection_closed', { owner: 'local', trigger: 'idle_timeout', reason: 'idle timeout' });
      this.finishClose();
      return;
    }
    if (this.prevRecvKeysDiscardAt !== undefined && now >= this.prevRecvKeysDiscardAt) {
      this.prevRecvKeys = undefined;
      this.prevRecvKeysDiscardAt = undefined;
    }
    if (this.lossTimerAt !== undefined && now >= this.lossTimerAt) this.onLossTimer(now);
    if (!this.path.validated && this.path.challengeRetryAt !== undefined && now >= this.path.challengeRetryAt) {
      // RFC 9000 §8.2.1: challenge again, with fresh unpredictable data.
      this.path.challengeRetryAt = undefined;
      this.path.challenge = this.config.random(8);
      this.path.challengePending = true;
    }
  }

  private onLossTimer(now: number): void {
    this.lossTimerAt = undefined;
    const r = this.recovery.onTimeout(now);
    if (r.kind === 'loss') {
      if (r.space === 'application') this.pmtuFeedback([], r.lost, now);
      this.onPacketsLost(r.lost, this.spaces[r.space], now, 'time_threshold');
    } else if (r.kind === 'pto') {
      // Probe timeout (RFC 9002 §6.2.4): probes in the space whose timer fired, preferably carrying unacknowledged CRYPTO data.
      const target = r.space;
      this.probesPending[target] = r.probes;
      // A second probe timeout in a row while full-size packets go unanswered may be a PMTU black hole (RFC 8899 §4.3):
      // probes at the base size get through one, and their acknowledgement lets pmtu.ts tell it from an outage.
      if (target === 'application' && this.pmtu.current > BASE_PLPMTU && this.recovery.ptoCount >= 2) this.ptoProbesAtBase = true;
      this.requeueUnackedCrypto(target);
      if (target === 'application') this.requeueOldestUnackedStreamData(r.probes);
      // A lost server Handshake flight is probed along with the Initial one: the client may need both.
      if (target === 'initial' && this.spaces.handshake.sendKeys && !this.spaces.handshake.discarded && this.recovery.unacked('handshake').some((p) => p.ackEliciting)) {
        this.probesPending.handshake = 1;
        this.requeueUnackedCrypto('handshake');
      }
      // The other way round too (§6.2.4: probe the other spaces as well): Initial CRYPTO declared lost has no packet in
      // flight, so no Initial PTO will ever fire for it, and its retransmission waits for congestion window room that
      // Handshake packets the peer cannot decrypt without that very data never give back. Send it as a probe instead.
      if (target === 'handshake' && this.hasInitialCryptoOutstanding()) {
        this.probesPending.initial = Math.max(this.probesPending.initial, 1);
        this.requeueUnackedCrypto('initial');
      }
      // A client still waiting for HANDSHAKE_DONE probes in 1-RTT too, with an ACK of what it got: a server that has
      // dropped its Handshake keys ignores our Handshake probes, and if it probes with bare PINGs (OpenSSL does) it only
      // learns that its HANDSHAKE_DONE was lost from our ACKs — which the same loss may have taken.
      if (target === 'handshake' && this.role === 'client' && !this.handshakeConfirmed && this.spaces.application.sendKeys) {
        this.probesPending.application = Math.max(this.probesPending.application, 1);
      }
    }
    this.lossTimerAt = this.computeLossTimer(now);
  }

  /** Marks the CRYPTO data of a space's unacknowledged packets for retransmission (probes carry data, not just PING). */
  private requeueUnackedCrypto(id: SpaceId): void {
    if (id === 'handshake' && this.faults?.includes('handshake-crypto-no-retransmit')) return;
    const s = this.spaces[id];
    for (const p of this.recovery.unacked(id)) for (const f of p.frames) if (f.type === 'crypto') s.cryptoSend.onLost(f.offset, f.data.length, false);
  }

  /**
   * 1-RTT probes carry the stream data (and HANDSHAKE_DONE) of the oldest unacknowledged packets rather than a bare PING (RFC 9002 §6.2.4):
   * when both a request and the ACKs of later PINGs are lost, PINGs alone never deliver the data before the idle timeout.
   * Only as many packets as there are probes are re-queued, so a PTO in a bulk transfer does not resend the whole window.
   */
  private requeueOldestUnackedStreamData(packets: number): void {
    let left = packets;
    for (const p of this.recovery.unacked('application')) {
      if (left <= 0) break;
      if (!p.ackEliciting) continue;
      left--;
      // HANDSHAKE_DONE too: a client whose copy was lost keeps probing Handshake packets the server can no longer read.
      for (const f of p.frames) if (f.type === 'stream' || f.type === 'handshake_done') this.onFrameLost(f, this.spaces.application);
    }
  }

  /** Our Initial CRYPTO data is not all acknowledged: some is queued for retransmission or still in flight. */
  private hasInitialCryptoOutstanding(): boolean {
    const initial = this.spaces.initial;
    if (initial.discarded || !initial.sendKeys) return false;
    return initial.cryptoSend.hasData() || this.recovery.unacked('initial').some((p) => p.frames.some((f) => f.type === 'crypto'));
  }

  // =====================================================================================================================
  // Output

  pollEvent(): ConnectionEvent | undefined {
    return this.events.shift();
  }

  private amplificationBudget(): number {
    if (this.path.validated) return Number.MAX_SAFE_INTEGER;
    return 3 * this.path.bytesReceived - this.path.bytesSent;
  }

  /** Whether pollDatagrams would have something to send now (the API's netWriteDesired). */
  wantsToWrite(now: number): boolean {
    if (this.phase === 'closed' || this.phase === 'draining') return false;
    if (this.phase === 'closing') return this.closeFrameDue;
    for (const id of ['initial', 'handshake', 'application'] as const) {
      const s = this.spaces[id];
      if (s.discarded || !s.sendKeys) continue;
      if ((s.hasAckToSend() && s.ackDue(now)) || s.cryptoSend.hasData() || this.probesPending[id] > 0) return true;
    }
    return this.handshakeDonePending || !!this.newTokenPending || this.pathResponses.length > 0 || this.path.challengePending || this.pendingPing || this.streams.hasStreamData();
  }

  private wantsToSend(): boolean {
    return this.streams.hasStreamData();
  }

  pollDatagrams(now: number): OutgoingDatagram[] {
    const out: OutgoingDatagram[] = [];
    this.lastPollAt = now;
    this.clockNow = now;
    try {
      if (this.keyUpdateRequested) this.initiateKeyUpdate();
      const k = this.keyUpdateAfterPackets;
      if (k && this.packetsInSendPhase >= k && this.handshakeConfirmed) this.initiateKeyUpdate();
      // Path responses go back to where the challenge came from (RFC 9000 §8.2.2), within that address's 3x: one that
      // does not fit is not sent (the peer challenges again).
      while (this.pathResponses.length && this.phase !== 'closed' && this.phase !== 'draining') {
        const r = this.pathResponses[0]!;
        if (sameAddress(r.to, this.path.remote)) break;
        this.pathResponses.shift();
        const d = this.buildDatagram(now, [{ type: 'path_response', data: r.data }], r.to);
        if (d) out.push(d);
      }
      const probe = this.buildPmtuProbe(now);
      if (probe) out.push(probe);
      for (let i = 0; i < MAX_DATAGRAMS_PER_POLL; i++) {
        const d = this.buildDatagram(now);
        if (!d) break;
        out.push(d);
      }
      this.noteAppLimited();
    } catch (e) {
      this.failWith(e, now);
    }
    this.lossTimerAt = this.phase === 'handshake' || this.phase === 'established' ? this.computeLossTimer(now) : undefined;
    return out;
  }

  /**
   * Delivery-rate sampling (draft-cheng-iccrg-delivery-rate-estimation §3.4): the window had room but the application had
   * nothing to send, so the rates the current flight measures are the application's, not the path's. Only controllers
   * that sample rates (BBR) listen.
   */
  private noteAppLimited(): void {
    const cc = this.recovery.congestion;
    if (!cc.onAppLimited || !this.ccEnabled || this.phase !== 'established') return;
    if (this.wantsToSend() || this.recovery.sendableBytes() < this.pmtu.current) return;
    cc.onAppLimited(this.recovery.bytesInFlight);
  }

  private buildDatagram(now: number, only?: Frame[], to?: Address): OutgoingDatagram | undefined {
    if (this.phase === 'closed' || this.phase === 'draining') return undefined;
    if (this.phase === 'closing' && !this.closeFrameDue) return undefined;
    const size = this.ptoProbesAtBase && this.probesPending.application > 0 ? BASE_PLPMTU : this.pmtu.current;
    let budget = Math.min(size, this.amplificationBudget());
    // Off-path responses go at most at the size every path carries (nothing is known about that path's MTU), and never
    // beyond three times what that address sent us (RFC 9000 §8.2.1, §9.3).
    if (to) {
      const b = this.offPath.get(offPathKey(to));
      budget = b ? Math.min(BASE_PLPMTU, 3 * b.received - b.sent) : 0;
    }
    if (budget <= 0) return undefined;
    const ccRoom = this.ccEnabled ? this.recovery.sendableBytes() : Number.MAX_SAFE_INTEGER;
    const paced = this.pacingTime(now) > now;
    const plans: PlannedPacket[] = [];
    let used = 0;
    let needsPadding = false;
    for (let s = 0; s < SEND_ORDER.length; s++) {
      const id = SEND_ORDER[s]!;
      const plan = this.planPacket(id, now, budget - used, ccRoom - used, paced, only, plans.length > 0);
      if (!plan) continue;
      plans.push(plan);
      used += plan.headerSize + plan.payloadSize + AEAD_TAG_LENGTH;
      if (plan.kind === 'initial' && (this.role === 'client' || isAckEliciting(plan.frames as { type: FrameTypeName }[]))) needsPadding = true;
      if (only) break;
    }
    if (!plans.length) return undefined;
    if (this.phase === 'closing') this.closeFrameDue = false;
    // RFC 9000 §14.1: datagrams with client Initials (and ack-eliciting server Initials) are padded to 1200 bytes;
    // path probes too (§8.2.1) so the path is shown to carry full-size datagrams.
    const pathProbe = (only && only[0]?.type === 'path_response') || plans.some(carriesPathChallenge);
    // Path probes are padded only as far as the amplification limit allows (RFC 9000 §8.2.1); Initials must be full size.
    const wantSize = needsPadding ? MIN_INITIAL_DATAGRAM : pathProbe ? Math.min(MIN_INITIAL_DATAGRAM, budget) : 0;
    if (used < wantSize || (needsPadding && budget < MIN_INITIAL_DATAGRAM)) {
      if (needsPadding && budget < MIN_INITIAL_DATAGRAM && this.role === 'server') {
        // Cannot pad an Initial within the amplification budget: wait for more bytes from the client rather than send short.
        return this.rollback(plans);
      }
      const last = plans[plans.length - 1]!;
      const pad = wantSize - used;
      addPadding(last.frames, pad);
      last.payloadSize += pad;
      used += pad;
      if (last.kind !== '1rtt') last.headerSize = this.longHeaderSizeFor(last);
    }
    // The plans know their exact sizes: the whole datagram is laid out in one buffer and each packet sealed in place.
    let total = 0;
    for (let i = 0; i < plans.length; i++) total += plans[i]!.headerSize + plans[i]!.payloadSize + AEAD_TAG_LENGTH;
    const w = new Writer(DATAGRAM_SLAB.take(total));
    for (let i = 0; i < plans.length; i++) this.seal(plans[i]!, now, w);
    const data = w.view();
    const dest = to ?? this.path.remote;
    if (sameAddress(dest, this.path.remote)) this.path.bytesSent += data.length;
    else this.offPathBudget(dest).sent += data.length;
    // The client discards Initial keys once it sends its first Handshake packet (RFC 9001 §4.9.1).
    if (this.role === 'client' && !this.sentHandshakePacket && plans.some(isHandshakePlan)) {
      this.sentHandshakePacket = true;
      this.discardSpace('initial', now);
    }
    return { data, to: dest, from: this.path.local };
  }

  /** Undo packet-number reservations and frame takes of plans that will not be sent. */
  private rollback(plans: PlannedPacket[]): undefined {
    for (const p of plans) {
      const space = this.spaces[p.space];
      space.nextPn = Math.min(space.nextPn, p.pn);
      for (const f of p.frames) this.onFrameLost(f, space);
    }
    return undefined;
  }

  private longHeaderSizeFor(p: PlannedPacket): number {
    return longHeaderSize(
      { type: p.kind as 'initial' | 'handshake' | '0rtt', version: this.version, dcid: this.cids.activeRemote.cid, scid: this.localCid, token: p.kind === 'initial' && this.role === 'client' ? this.token : undefined },
      p.pnLength,
      p.payloadSize + AEAD_TAG_LENGTH,
    );
  }

  private planPacket(id: SpaceId, now: number, room: number, ccRoom: number, paced: boolean, only: Frame[] | undefined, coalesced: boolean): PlannedPacket | undefined {
    const space = this.spaces[id];
    if (space.discarded) return undefined;
    let keys = space.sendKeys;
    let kind: PlannedPacket['kind'] = id === 'initial' ? 'initial' : id === 'handshake' ? 'handshake' : '1rtt';
    if (id === 'application' && !keys) {
      if (!this.zeroRttSend || this.role !== 'client') return undefined;
      keys = this.zeroRttSend;
      kind = '0rtt';
    }
    if (!keys) return undefined;
    // 1-RTT packets wait until the handshake completes on the client (server may send 0.5-RTT data).
    if (kind === '1rtt' && this.role === 'client' && !this.handshakeComplete) return undefined;
    const pn = space.nextPn;
    const pnLength = packetNumberLength(pn, space.largestAcked);
    const headerSize = kind === '1rtt' ? shortHeaderSize(this.cids.activeRemote.cid.length, pnLength) : this.longHeaderSizeFor({ space: id, kind, keys, frames: [], pn, pnLength, headerSize: 0, payloadSize: 0 });
    const availAtStart = room - headerSize - AEAD_TAG_LENGTH;
    if (availAtStart < 24) return undefined;
    // The packet being filled lives in planFrames/planAvail (see addFrame): no closures or arrays per call, which
    // matters because most calls (every poll that finds nothing to send) end with no frame at all.
    this.planAvail = availAtStart;
    this.planFrames = undefined;
    if (only) {
      for (const f of only) this.addFrame(f);
    } else if (this.phase === 'closing') {
      if (!this.closeFrame) return undefined;
      // During the handshake the close goes in every space the peer might read; application details stay hidden (RFC 9000 §10.2.3).
      if (this.handshakeConfirmed && id !== 'application') return undefined;
      let f = this.closeFrame;
      if (f.type === 'connection_close' && f.application && (id !== 'application' || kind === '0rtt')) {
        f = { type: 'connection_close', application: false, errorCode: TransportErrorCode.APPLICATION_ERROR, frameType: 0, reason: '' };
      }
      if (kind === '0rtt') return undefined;
      this.addFrame(f);
    } else {
      const probe = this.probesPending[id] > 0;
      // Congestion control limits ack-eliciting packets; ACK-only packets and probes always go (RFC 9002 §7).
      const ccBlocked = !probe && (ccRoom < this.pmtu.current / 2 || paced);
      const ackPending = kind !== '0rtt' && space.hasAckToSend();
      // Early on (request/response exchanges, the start of a transfer) every packet is acknowledged at once, like TCP's
      // quick-ACK mode, so the peer samples RTT and frees its buffers promptly.
      // A peer that asked for an ACK frequency (ack-frequency.ts) gets what it asked for instead.
      const quickAck = space.ackElicitingReceived <= QUICK_ACK_PACKETS && !space.ackPolicy;
      if (ackPending && (space.ackDue(now) || (quickAck && !ccBlocked))) this.addFrame(this.ackFrame(space, now));
      // A 1-RTT probe repeats our ACK even when nothing new arrived: the last one may have been lost (see onLossTimer).
      else if (probe && kind === '1rtt' && !space.received.isEmpty()) this.addFrame(this.ackFrame(space, now));
      // PTO probes ask a peer that supports it to acknowledge at once rather than after its (requested) ACK delay (draft §7).
      const immediateAck = probe && kind === '1rtt' && this.ackFrequencyOut !== undefined && this.planAvail > 1;
      if (immediateAck) this.planAvail -= 1;
      if (!ccBlocked && ackPending && this.planFrames === undefined) {
        // Past that, a not-yet-due ACK only rides along on a packet that goes anyway: alone it would make one ACK-only
        // packet per received packet instead of one per two (RFC 9000 §13.2.2), doubling reverse traffic and its crypto.
        // Only its size is needed to know the room left; the frame itself is made once something else is going.
        const ackDelay = this.ackDelayField(space, now);
        const ackSize = space.ackFrameSize(ackDelay);
        this.planAvail -= ackSize;
        if (this.planAvail > 0) this.fillFrames(id, kind, space);
        if (this.planFrames) (this.planFrames as Frame[]).unshift(this.ackFrame(space, now, ackDelay));
        else this.planAvail += ackSize;
      } else if (!ccBlocked) {
        this.fillFrames(id, kind, space);
      }
      if (immediateAck) {
        // In front: a STREAM frame without Length must stay last.
        (this.planFrames ??= []).unshift(IMMEDIATE_ACK);
      }
      const eliciting = this.planFrames !== undefined && isAckEliciting(this.planFrames as { type: FrameTypeName }[]);
      if (probe && !eliciting) this.addFrame({ type: 'ping' });
      if (probe) {
        this.probesPending[id]--;
        // Both probes of a PTO carry the CRYPTO data (RFC 9002 §6.2.4 allows the same data twice): with only the first
        // carrying it and the second a bare PING, losing the first leaves the peer with nothing to answer — a client
        // Initial's ClientHello then never arrives however many PTOs pass, as seen through 30% loss against ngtcp2.
        if (this.probesPending[id] > 0 && id !== 'application') this.requeueUnackedCrypto(id);
      }
      let pinged = probe; // a probe is ack-eliciting whatever else it carries (its PING was added above)
      if (this.pendingPing && kind === '1rtt' && !eliciting) {
        this.addFrame(PING);
        this.pendingPing = false;
        pinged = true;
      }
      if (kind === '1rtt' && this.planFrames !== undefined) {
        if (eliciting || pinged) this.ackOnlyRun = 0;
        else if (space.received.size > 1 && ++this.ackOnlyRun >= ACK_ONLY_BEFORE_PING && this.addFrame(PING)) this.ackOnlyRun = 0;
      }
    }
    const frames = this.planFrames as Frame[] | undefined;
    this.planFrames = undefined;
    if (!frames || !frames.length) return undefined;
    if (frames.some(isAck)) space.onAckSent();
    // Every frame came in through addFrame() or, for a riding ACK, was charged to planAvail as well: what it lost is the payload.
    let payloadSize = availAtStart - this.planAvail;
    const minPayload = minPayloadForSample(pnLength);
    if (payloadSize < minPayload) {
      addPadding(frames, minPayload - payloadSize);
      payloadSize = minPayload;
    }
    space.nextPn++;
    void coalesced;
    const plan: PlannedPacket = { space: id, kind, keys, frames, pn, pnLength, headerSize, payloadSize, keyPhase: kind === '1rtt' ? this.sendKeyPhase : undefined };
    if (kind !== '1rtt') plan.headerSize = this.longHeaderSizeFor(plan);
    return plan;
  }

  private ackFrame(space: PacketSpace, now: number, ackDelay = this.ackDelayField(space, now)): AckFrame {
    return { type: 'ack', ranges: space.ackRanges(), ackDelay };
  }

  /** The ACK Delay field of an ACK sent now (RFC 9000 §19.3, §18.2 ack_delay_exponent; zero outside 1-RTT). */
  private ackDelayField(space: PacketSpace, now: number): number {
    const exponent = space.id === 'application' ? this.local.ackDelayExponent : 0;
    const delayUs = space.id === 'application' ? Math.max(0, now - space.largestReceivedTime) * 1000 : 0;
    return Math.floor(delayUs / 2 ** exponent);
  }

  /** The frames of the packet planPacket is filling (allocated with the first one) and the payload room left. */
  private planFrames: Frame[] | undefined;
  private planAvail = 0;

  /** Adds `f` to the packet being planned if it fits in planAvail. */
  private addFrame(f: Frame): boolean {
    const size = frameSize(f);
    if (size > this.planAvail) return false;
    (this.planFrames ??= []).push(f);
    this.planAvail -= size;
    return true;
  }

  private fillFrames(id: SpaceId, kind: PlannedPacket['kind'], space: PacketSpace): void {
    // CRYPTO first: the handshake cannot progress without it.
    if (kind !== '0rtt') {
      while (space.cryptoSend.hasData() && this.planAvail > 8) {
        const offset = space.cryptoSend.nextOffset();
        const fit = maxCryptoDataFitting(this.planAvail, offset);
        if (fit <= 0) break;
        const next = space.cryptoSend.nextChunk(fit, Number.MAX_SAFE_INTEGER);
        if (!next) break;
        this.addFrame({ type: 'crypto', offset: next.chunk.offset, data: next.chunk.data });
      }
    }
    if (id !== 'application') return;
    if (kind === '1rtt') {
      if (this.handshakeDonePending && this.role === 'server' && this.addFrame({ type: 'handshake_done' })) this.handshakeDonePending = false;
      if (this.newTokenPending && this.role === 'server' && this.addFrame({ type: 'new_token', token: this.newTokenPending })) this.newTokenPending = undefined;
      while (this.pathResponses.length && sameAddress(this.pathResponses[0]!.to, this.path.remote)) {
        if (!this.addFrame({ type: 'path_response', data: this.pathResponses[0]!.data })) break;
        this.pathResponses.shift();
      }
      if (this.path.challengePending && this.path.challenge && this.addFrame({ type: 'path_challenge', data: this.path.challenge })) {
        this.path.challengePending = false;
        // A lost PATH_RESPONSE is never resent by the peer and an acknowledged challenge is not "lost": without a timer
        // of its own the path would stay unvalidated, held to 3x what the peer sends, for the rest of the connection.
        this.path.challengesSent = (this.path.challengesSent ?? 0) + 1;
        this.path.challengeRetryAt = this.clockNow + this.ptoPeriod() * 2 ** (this.path.challengesSent - 1);
      }
      const newIds = this.cids.takeNewConnectionIds();
      for (let i = 0; i < newIds.length; i++) {
        const f = newIds[i]!;
        if (!this.addFrame({ type: 'new_connection_id', sequence: f.sequence, retirePriorTo: f.retirePriorTo, connectionId: f.cid, resetToken: f.resetToken })) this.cids.onNewConnectionIdLost(f.sequence);
      }
      const retirements = this.cids.takeRetirements();
      for (let i = 0; i < retirements.length; i++) if (!this.addFrame({ type: 'retire_connection_id', sequence: retirements[i]! })) this.cids.onRetireLost(retirements[i]!);
      const ackFrequency = this.ackFrequencyOut?.take();
      if (ackFrequency) {
        if (!this.addFrame(ackFrequency)) this.ackFrequencyOut!.onLost(ackFrequency);
        this.syncPeerMaxAckDelay();
      }
    }
    const control = this.streams.controlFrames();
    for (let i = 0; i < control.length; i++) if (!this.addFrame(control[i]!)) this.streams.onFrameLost(control[i]!);
    while (this.planAvail > 4) {
      const f = this.streams.nextStreamFrame(this.planAvail, true);
      if (!f) break;
      if (!this.addFrame(f)) {
        this.streams.onFrameLost(f);
        break;
      }
      if (f.explicitLength === false) break; // it runs to the end of the packet
    }
  }

  /** Writes packet `p` at the end of `w` and seals it there; returns its protected size. */
  private seal(p: PlannedPacket, now: number, w: Writer, pmtuProbe = false): number {
    const start = w.length;
    const truncated = truncatePacketNumber(p.pn, p.pnLength);
    const dcid = this.cids.activeRemote.cid;
    const pnOffset =
      p.kind === '1rtt'
        ? writeShortHeader(w, { dcid, keyPhase: p.keyPhase }, truncated, p.pnLength)
        : writeLongHeader(w, { type: p.kind, version: this.version, dcid, scid: this.localCid, token: p.kind === 'initial' ? (this.role === 'client' ? this.token : EMPTY_TOKEN) : undefined }, truncated, p.pnLength, p.payloadSize + AEAD_TAG_LENGTH);
    for (let i = 0; i < p.frames.length; i++) encodeFrame(w, p.frames[i]!);
    const size = p.headerSize + p.payloadSize + AEAD_TAG_LENGTH;
    // The Length field and the datagram size were computed from the plan: a frame encoding to another size is a bug here.
    if (w.length - start !== size - AEAD_TAG_LENGTH) throw new Error(`${p.kind} packet ${p.pn}: planned ${size - AEAD_TAG_LENGTH} bytes, wrote ${w.length - start}`);
    w.zeros(AEAD_TAG_LENGTH);
    protectPacketInPlace(p.keys, w.view().subarray(start, start + size), pnOffset, p.pn);
    const ackEliciting = isAckEliciting(p.frames as { type: FrameTypeName }[]);
    // Recovery keeps the frames to resend or release: all but PADDING. Most packets have none, and then the plan's own
    // array (not used after this) is kept as it is. ACK frames stay: when the peer acknowledges this packet,
    // onFrameAcked learns which of our ranges it has seen (they are never resent: onFrameLost ignores them).
    let padded = false;
    let kept: Frame[] = p.frames;
    for (let i = 0; i < p.frames.length; i++) {
      if (p.frames[i]!.type !== 'padding') continue;
      kept = [];
      for (let j = 0; j < p.frames.length; j++) {
        const f = p.frames[j]!;
        if (f.type === 'padding') padded = true;
        else kept.push(f);
      }
      break;
    }
    const inFlight = ackEliciting || padded;
    // Every packet is recorded (ACK-only ones too) so recovery/ knows which packet numbers exist when the peer acknowledges them.
    if (this.phase !== 'closing') this.recovery.onPacketSent({ space: p.space, pn: p.pn, timeSent: now, size, ackEliciting, inFlight, frames: kept, pmtuProbe }, now);
    if (p.kind === '1rtt' && p.pn < this.firstOneRttPn) this.firstOneRttPn = p.pn;
    if (ackEliciting) {
      // Sending an ack-eliciting packet restarts the idle timer, at most once per received packet (RFC 9000 §10.1).
      if (this.lastActivity >= (this.lastIdleRestartBySend ?? -1)) {
        this.resetIdle(now);
        this.lastIdleRestartBySend = this.lastActivity + 1e-9;
      }
    }
    if (p.kind === '1rtt') this.packetsInSendPhase++;
    if (inFlight && this.ccEnabled && this.rtt.hasSample) this.pacer.onPacketSent(now, size, this.recovery.congestion.window, this.rtt.smoothed, this.recovery.congestion.pacingRate);
    if (this.qlogSink) this.qlog('transport:packet_sent', {
      header: { packet_type: qlogPacketType(p.kind), packet_number: p.pn, dcid: hex(dcid), scid: p.kind === '1rtt' ? undefined : hex(this.localCid) },
      raw: { length: size, payload_length: p.payloadSize },
      frames: p.frames.map(qlogFrame),
    });
    return size;
  }

  private lastIdleRestartBySend: number | undefined;

  // =====================================================================================================================
  // PMTU discovery (pmtu.ts decides; the connection sends probes and reports their fate)

  /** A PING+PADDING 1-RTT packet of exactly the size pmtu.ts wants to try, alone in its datagram (RFC 9000 §14.4). */
  private buildPmtuProbe(now: number): OutgoingDatagram | undefined {
    if (this.phase !== 'established' || !this.handshakeConfirmed || !this.path.validated) return undefined;
    const app = this.spaces.application;
    if (!app.sendKeys || app.discarded) return undefined;
    const size = this.pmtu.probeDue(now);
    if (size === undefined) return undefined;
    // Probes are ordinary in-flight packets to congestion control and the pacer; only their loss is judged differently.
    if (this.ccEnabled && (this.recovery.sendableBytes() < size || this.pacingTime(now) > now)) return undefined;
    const pn = app.nextPn;
    const pnLength = packetNumberLength(pn, app.largestAcked);
    const headerSize = shortHeaderSize(this.cids.activeRemote.cid.length, pnLength);
    const payloadSize = size - headerSize - AEAD_TAG_LENGTH;
    app.nextPn++;
    const frames: Frame[] = [{ type: 'ping' }, { type: 'padding', length: payloadSize - 1 }];
    const w = new Writer(size);
    this.seal({ space: 'application', kind: '1rtt', keys: app.sendKeys, frames, pn, pnLength, headerSize, payloadSize, keyPhase: this.sendKeyPhase }, now, w, true);
    const data = w.view();
    this.path.bytesSent += data.length;
    this.pmtu.onProbeSent(pn);
    return { data, to: this.path.remote, from: this.path.local };
  }

  /** Fate of application-space packets for pmtu.ts: probes acknowledged or lost, and black-hole evidence from the rest. */
  private pmtuFeedback(acked: readonly SentPacket<Frame>[], lost: readonly SentPacket<Frame>[], now: number): void {
    if (this.pmtu.state === 'disabled') return;
    for (let i = 0; i < acked.length; i++) {
      const p = acked[i]!;
      if (!p.pmtuProbe) continue;
      const u = this.pmtu.onProbeAcked(p.pn, p.size, now);
      if (u) this.applyMtu(u);
    }
    this.pmtu.onAcked(acked);
    for (let i = 0; i < lost.length; i++) {
      const p = lost[i]!;
      if (!p.pmtuProbe) continue;
      const u = this.pmtu.onProbeLost(p.pn, p.size, now);
      if (u) this.applyMtu(u);
    }
    const u = this.pmtu.onLost(lost);
    if (u) this.applyMtu(u);
  }

  /** The datagram size changed: congestion control counts in it (RFC 9002 §7.2), and qlog records it. */
  private applyMtu(u: MtuUpdate): void {
    this.recovery.congestion.setMaxDatagramSize(u.new);
    this.pacer.maxDatagramSize = u.new;
    this.qlog('connectivity:mtu_updated', { old: u.old, new: u.new, done: u.done });
  }

  /** When recovery/'s pacer lets the next full-size datagram go; before an RTT sample the initial window is a burst. */
  private pacingTime(now: number): number {
    if (!this.ccEnabled || !this.rtt.hasSample) return now;
    return this.pacer.earliestSendTime(now, this.pmtu.current, this.recovery.congestion.window, this.rtt.smoothed, this.recovery.congestion.pacingRate);
  }

  // =====================================================================================================================
  // Stream API (used by api.ts)

  openStream(dir: StreamDirection): number | undefined {
    if (this.phase !== 'handshake' && this.phase !== 'established') return undefined;
    return this.streams.open(dir);
  }

  /**
   * Buffers data on a stream; returns the number of bytes accepted (0 when the buffer is full or the stream ended).
   * `borrow`: the caller never modifies `data` afterwards, so it is kept without a copy.
   */
  writeStream(id: number, data: Uint8Array, fin = false, borrow = false): number {
    const s = this.streams.get(id)?.send;
    if (!s || this.phase === 'closing' || this.phase === 'draining' || this.phase === 'closed') return 0;
    return s.write(data, fin, borrow);
  }

  concludeStream(id: number): boolean {
    const s = this.streams.get(id)?.send;
    if (!s) return false;
    s.conclude();
    return true;
  }

  readStream(id: number, max: number, now: number): { data: Uint8Array; fin: boolean } {
    return this.streams.read(id, max, now, this.rtt.smoothed);
  }

  /** RESET_STREAM with `code` (0..2^62-1; a bigint above 2^53 - 1, RangeError otherwise). */
  resetStream(id: number, code: ErrorCode): boolean {
    const c = checkErrorCode(code);
    const s = this.streams.get(id)?.send;
    return !!s && s.reset(c);
  }

  /** STOP_SENDING with `code` (0..2^62-1, as for resetStream). */
  stopSending(id: number, code: ErrorCode, now: number): boolean {
    return this.streams.stopSending(id, checkErrorCode(code), now, this.rtt.smoothed);
  }

  /** Sends a PING in the next 1-RTT packet (keeps the path warm, or elicits an ACK). */
  ping(): void {
    this.pendingPing = true;
  }

  // =====================================================================================================================
  // qlog

  private qlog<N extends QlogEventName>(name: N, data: QlogEventData[N]): void {
    const sink = this.qlogSink;
    if (!sink) return;
    sink({ time: this.clockNow, name, data });
  }

  private dropped(length: number, trigger: string, reason: string, now: number, kind?: ProtectedHeader['kind']): void {
    this.clockNow = Math.max(this.clockNow, now);
    this.qlog('transport:packet_dropped', { header: kind ? { packet_type: qlogPacketType(kind) } : undefined, raw: { length }, trigger, details: { reason } });
  }
}

// =======================================================================================================================
// Frame table: frame type → handler. Which packet types may carry each frame is enforced by decodeFrames (frame-table.ts).

export interface FrameContext {
  readonly space: PacketSpace;
  readonly kind: 'initial' | 'handshake' | '0rtt' | '1rtt';
  readonly dcid: Uint8Array;
  readonly from: Address;
  readonly now: number;
}

type Handler<T extends Frame['type']> = (c: QuicConnection, f: Extract<Frame, { type: T }>, ctx: FrameContext) => void;

/* eslint-disable @typescript-eslint/no-explicit-any */
const FRAME_HANDLERS: { [T in Frame['type']]: Handler<T> } = {
  padding: () => {},
  ping: () => {},
  ack: (c, f, ctx) => c.onAck(f, ctx),
  reset_stream: (c, f, ctx) => c.streams.onResetStream(f, ctx.now, c.rtt.smoothed),
  stop_sending: (c, f) => c.streams.onStopSending(f),
  crypto: (c, f, ctx) => c.onCrypto(f, ctx),
  new_token: (c, f) => c.onNewToken(f),
  stream: (c, f) => {
    if (c.faults?.includes('internal-error-on-stream-data')) throw new Error('injected fault internal-error-on-stream-data: STREAM frame handler failed');
    c.streams.onStreamFrame(f);
  },
  max_data: (c, f) => c.streams.onMaxData(f.maximum),
  max_stream_data: (c, f) => c.streams.onMaxStreamData(f),
  max_streams: (c, f) => c.streams.onMaxStreams(f.bidi, f.maximum),
  data_blocked: () => {},
  stream_data_blocked: (c, f) => c.streams.onStreamDataBlocked(f),
  streams_blocked: (_c, f) => {
    if (f.limit > 2 ** 60) throw new QuicError(TransportErrorCode.FRAME_ENCODING_ERROR, 'STREAMS_BLOCKED beyond 2^60', { frameType: f.bidi ? 0x16 : 0x17 });
  },
  new_connection_id: (c, f) => c.cids.onNewConnectionId({ sequence: f.sequence, retirePriorTo: f.retirePriorTo, cid: f.connectionId, resetToken: f.resetToken }),
  retire_connection_id: (c, f, ctx) => c.cids.onRetireConnectionId(f.sequence, ctx.dcid),
  path_challenge: (c, f, ctx) => c.onPathChallenge(f, ctx),
  path_response: (c, f, ctx) => c.onPathResponse(f, ctx),
  connection_close: (c, f, ctx) => c.onConnectionClose(f, ctx),
  handshake_done: (c, _f, ctx) => c.onHandshakeDone(ctx),
  ack_frequency: (c, f, ctx) => c.onAckFrequency(f, ctx),
  immediate_ack: (c, _f, ctx) => c.onImmediateAck(ctx),
};

// =======================================================================================================================
// Helpers

function isAck(f: Frame): boolean {
  return f.type === 'ack';
}

function isHandshakePlan(p: PlannedPacket): boolean {
  return p.kind === 'handshake';
}

function carriesPathChallenge(p: PlannedPacket): boolean {
  for (let i = 0; i < p.frames.length; i++) if (p.frames[i]!.type === 'path_challenge') return true;
  return false;
}

/** PADDING goes in front of a STREAM frame without Length: that frame runs to the end of the packet and would swallow it. */
function addPadding(frames: Frame[], length: number): void {
  const last = frames[frames.length - 1];
  if (last?.type === 'stream' && last.explicitLength === false) frames.splice(frames.length - 1, 0, { type: 'padding', length });
  else frames.push({ type: 'padding', length });
}

/** The 1-RTT payload of a packet whose header protection is off, opened with one generation's keys. */
function withPayload(keys: PacketKeys, hdr: UnprotectedHeader, packet: Uint8Array): { pn: number; payload: Uint8Array; reservedBits: number } | undefined {
  const payload = openPayload(keys, hdr, packet);
  return payload ? { pn: hdr.pn, payload, reservedBits: hdr.reservedBits } : undefined;
}

/** Addresses as the amplification accounting keys them: IPv6 spellings of one address are one address. */
function offPathKey(a: Address): string {
  return addressKey({ host: canonicalHost(a.host), port: a.port });
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || (b !== undefined && b < a) ? b : a;
}

function isCompatible(a: number, b: number): boolean {
  // RFC 9369 §4: QUIC v1 and v2 are compatible with each other.
  const pair = new Set([a, b]);
  return [...pair].every((v) => v === QUIC_V1 || v === QUIC_V2);
}

function qlogPacketType(kind: ProtectedHeader['kind'] | PlannedPacket['kind']): QlogPacketType {
  switch (kind) {
    case 'initial':
      return 'initial';
    case 'handshake':
      return 'handshake';
    case '0rtt':
      return '0RTT';
    case '1rtt':
      return '1RTT';
    case 'retry':
      return 'retry';
    case 'version-negotiation':
      return 'version_negotiation';
    default:
      return 'unknown';
  }
}

function qlogParams(tp: TransportParameters): Record<string, unknown> {
  return {
    original_destination_connection_id: tp.originalDestinationConnectionId && hex(tp.originalDestinationConnectionId),
    initial_source_connection_id: tp.initialSourceConnectionId && hex(tp.initialSourceConnectionId),
    retry_source_connection_id: tp.retrySourceConnectionId && hex(tp.retrySourceConnectionId),
    stateless_reset_token: tp.statelessResetToken && hex(tp.statelessResetToken),
    disable_active_migration: tp.disableActiveMigration,
    max_idle_timeout: tp.maxIdleTimeout,
    max_udp_payload_size: tp.maxUdpPayloadSize,
    ack_delay_exponent: tp.ackDelayExponent,
    max_ack_delay: tp.maxAckDelay,
    min_ack_delay: tp.minAckDelay,
    active_connection_id_limit: tp.activeConnectionIdLimit,
    initial_max_data: tp.initialMaxData,
    initial_max_stream_data_bidi_local: tp.initialMaxStreamDataBidiLocal,
    initial_max_stream_data_bidi_remote: tp.initialMaxStreamDataBidiRemote,
    initial_max_stream_data_uni: tp.initialMaxStreamDataUni,
    initial_max_streams_bidi: tp.initialMaxStreamsBidi,
    initial_max_streams_uni: tp.initialMaxStreamsUni,
  };
}

/**
 * The client's version_information from its ClientHello (RFC 9368 §3), read before TLS answers so the server can pick a
 * compatible version for its first flight. Returns undefined when absent or unreadable (TLS will reject real errors).
 */
function clientVersionsFromClientHello(hello: Uint8Array): number[] | undefined {
  try {
    let p = 0;
    const need = (n: number) => {
      if (p + n > hello.length) throw new Error('short');
    };
    const u8 = () => (need(1), hello[p++]!);
    const u16 = () => (need(2), (p += 2), (hello[p - 2]! << 8) | hello[p - 1]!);
    if (u8() !== 1) return undefined; // client_hello
    p += 3; // length
    p += 2 + 32; // legacy_version, random
    // (`p += u8()` would read p before u8() advances it, so each skip takes two steps.)
    const sessionIdLength = u8();
    p += sessionIdLength;
    const suitesLength = u16();
    p += suitesLength;
    const compressionLength = u8();
    p += compressionLength;
    const extEnd = u16() + p;
    while (p + 4 <= extEnd) {
      const type = u16();
      const len = u16();
      if (type === 0x39) {
        const body = hello.subarray(p, p + len);
        const tp = decodeTransportParameters(body, 'client');
        return tp.versionInformation ? [...tp.versionInformation.availableVersions] : undefined;
      }
      p += len;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export { transportErrorName, isSupportedVersion };
export type { QlogFrame };
