// QUIC on the wire, read back from a capture (RFC 9000 §17 headers, §19 frames, §10.3 stateless reset; RFC 9001 §5 packet
// protection, §6 key update; RFC 9369 v2; RFC 9368 compatible version negotiation; RFC 9287 greased fixed bit; RFC 8446 §4
// handshake messages; NSS key log format): what real peers did, from the datagrams they sent and the secrets they logged.
/**
 * Exports:
 * - `WireDatagram` (one datagram as its endpoint sent it), `datagramsFromCapture(captured, serverAddress?)` (adapter from
 *   the simulator's / relay's CaptureRecorder).
 * - `analyzeQuicWire(datagrams, keylogText, opts?)` → `WireReport` (`WireConnection` per connection, `WireSummary`): per connection (grouped by the client's original
 *   Destination Connection ID) the version story, Retry, TLS facts from the ClientHello/ServerHello (readable by anyone:
 *   Initial keys come from the DCID), EncryptedExtensions / HANDSHAKE_DONE / CONNECTION_CLOSE / key updates when the key
 *   log holds the secrets, packet counters; and a summary over connections.
 * Pure (no I/O) and total: malformed datagrams, unknown connection IDs, corrupted bytes and missing keys are counted,
 * never thrown. Fields that need a secret the key log lacks are left undefined rather than guessed.
 */

import type { Address } from '../../engine/endpoint.js';
import { addressKey } from '../../engine/endpoint.js';
import type { CryptoProvider } from '../../engine/crypto/provider.js';
import { nodeCrypto } from '../../engine/crypto/node.js';
import { hex, equal } from '../../engine/wire/bytes.js';
import { FIRST_BYTE, parsePacket, parseVersionNegotiation, type PacketKind, type ProtectedHeader } from '../../engine/quic/packet.js';
import {
  derivePacketKeys,
  initialKeys,
  nextGenerationKeys,
  openPayload,
  removeHeaderProtection,
  type PacketKeys,
  type UnprotectedHeader,
} from '../../engine/quic/protection.js';
import { QUIC_V1, isSupportedVersion, versionName } from '../../engine/quic/version.js';
import { decodeFrames, type Frame } from '../../engine/quic/frames.js';
import { verifyRetry } from '../../engine/quic/retry.js';
import { decodeTransportParameters } from '../../engine/quic/transport-params.js';
import { CIPHER_SUITES, type CipherSuite, type CipherSuiteName } from '../../engine/tls/api.js';
import {
  HandshakeReassembler,
  HandshakeType,
  decodeClientHello,
  decodeEncryptedExtensions,
  decodeServerHello,
} from '../../engine/tls/handshake-codec.js';
import { ExtensionType, decodeAlpn, decodeServerName } from '../../engine/tls/extensions.js';
import { parseKeyLog } from '../../simulator/capture/keylog.js';
import type { CapturedDatagram } from '../../simulator/capture/recorder.js';
import { isDropped } from '../../simulator/types.js';

export type WireDirection = 'to-server' | 'to-client';

/** One datagram as the endpoint sent it ('to-server' = client → server). */
export interface WireDatagram {
  /** ms since the run started. */
  readonly time: number;
  readonly direction: WireDirection;
  /** The bytes as sent (before any impairment on the path). */
  readonly data: Uint8Array;
  /** false when the network dropped it (or it was still in flight when the run ended). */
  readonly delivered: boolean;
}

/**
 * CapturedDatagram → WireDatagram. The direction comes from the trace entry, else from the server's address, else the
 * first datagram's destination is taken as the server (clients speak first). Captured bytes are the bytes as sent:
 * impairments alter a copy further down the path.
 */
export function datagramsFromCapture(captured: readonly CapturedDatagram[], serverAddress?: Address): WireDatagram[] {
  const server = serverAddress ? addressKey(serverAddress) : captured[0] ? addressKey(captured[0].to) : '';
  return captured.map((d) => {
    const direction: WireDirection = d.entry?.direction ?? (addressKey(d.to) === server ? 'to-server' : 'to-client');
    const fate = d.entry?.fate;
    return { time: d.time, direction, data: d.data, delivered: fate === undefined || !(isDropped(fate) || fate === 'in-flight') };
  });
}

export interface AnalyzeOptions {
  /** Crypto backend (default node:crypto: packet AEAD is the bulk of the work). */
  readonly crypto?: CryptoProvider;
}

export type PacketCounts = Partial<Record<PacketKind, number>>;

export interface WireClose {
  /** Who sent the CONNECTION_CLOSE. */
  readonly by: 'client' | 'server';
  readonly space: 'initial' | 'handshake' | '1rtt';
  /** true: 0x1d (application), false: 0x1c (transport). */
  readonly application: boolean;
  /** All 62 bits exact: a bigint above 2^53 - 1. */
  readonly errorCode: number | bigint;
  /** 0x1c only. */
  readonly frameType?: number;
  readonly reason: string;
  readonly time: number;
}

export interface WireConnection {
  /** Hex of the client's first Destination Connection ID: the connection's name. */
  readonly originalDcid: string;
  readonly firstTime: number;
  readonly lastTime: number;
  /** Connection IDs seen in use (hex): from long-header SCIDs, Retry and NEW_CONNECTION_ID frames. */
  readonly clientCids: string[];
  readonly serverCids: string[];
  readonly version: {
    /** Version of the client's first Initial. */
    readonly initial: number;
    /** Version of the last long-header packet the server sent (the client's last one if the server sent none). */
    readonly final: number;
    readonly name: string;
    /** The server answered with a Version Negotiation packet. */
    readonly versionNegotiation: boolean;
    /** Versions listed in that Version Negotiation packet. */
    readonly offered?: number[];
    /** Compatible version negotiation (RFC 9368): the server's packets use another version than the client's first Initial, without VN. */
    readonly compatibleUpgrade: boolean;
  };
  /** Present when the server sent a Retry. */
  readonly retry?: { readonly tokenEchoed: boolean; readonly integrityValid: boolean };
  // ---- readable without keys (Initial packets) ----
  readonly clientRandom?: string;
  readonly serverName?: string;
  readonly alpnOffered?: string[];
  /** undefined until the ClientHello was read. */
  readonly pskOffered?: boolean;
  readonly earlyDataOffered?: boolean;
  readonly helloRetryRequest: boolean;
  /** From the ServerHello; undefined when it was not read. */
  readonly cipherSuite?: CipherSuiteName | string;
  /** The ServerHello carries pre_shared_key. */
  readonly resumed?: boolean;
  /** 0-RTT long-header packets the client sent. */
  readonly zeroRttPackets: number;
  /** Heuristic without keys: the client sent 1-RTT packets (it has the server's Finished). */
  readonly handshakeCompleted: boolean;
  // ---- need secrets from the key log ----
  /** 0-RTT packets that decrypted with CLIENT_EARLY_TRAFFIC_SECRET; undefined without it. */
  readonly zeroRttDecrypted?: number;
  /** EncryptedExtensions carries early_data (SERVER_HANDSHAKE_TRAFFIC_SECRET). */
  readonly earlyDataAccepted?: boolean;
  /** ALPN the server selected (EncryptedExtensions). */
  readonly alpn?: string;
  /** HANDSHAKE_DONE in the server's 1-RTT packets (SERVER_TRAFFIC_SECRET_0); false when readable but absent. */
  readonly handshakeConfirmed?: boolean;
  /** NewSessionTicket messages in the server's 1-RTT CRYPTO frames (SERVER_TRAFFIC_SECRET_0). */
  readonly sessionTickets?: number;
  /**
   * Key phase flips per sender (CLIENT_/SERVER_TRAFFIC_SECRET_0): counted when the first packet of the new phase
   * authenticates with the next generation's keys ("quic ku" / "quicv2 ku"); `unverified` counts packets whose phase bit
   * changed but which did not. undefined when neither direction's 1-RTT secret is known.
   */
  readonly keyUpdates?: { readonly client: number; readonly server: number; readonly unverified: number };
  /** CONNECTION_CLOSE frames read (Initial ones without keys, others with them). */
  readonly closed: WireClose[];
  readonly keysFound: { readonly handshake: boolean; readonly early: boolean; readonly oneRtt: boolean };
  // ---- counters ----
  readonly datagrams: Record<WireDirection, number>;
  /** Datagrams the network did not deliver (they are still analysed: the endpoint sent them). */
  readonly notDelivered: Record<WireDirection, number>;
  readonly packets: Record<WireDirection, PacketCounts>;
  /** Packets whose payload was decrypted. */
  readonly decrypted: number;
  /** Packets that needed a key the key log lacked (or an unknown version's Initial keys). */
  readonly withoutKeys: number;
  /** Packets that had keys but did not authenticate, or whose frames or handshake messages were malformed. */
  readonly unreadable: number;
  /**
   * Short-header-looking packets that end with a stateless reset token the sender issued (in NEW_CONNECTION_ID or its
   * transport parameters: needs the keys that read those). A reset answering an unknown (e.g. corrupted) DCID carries a
   * token nobody was given, and counts as unreadable.
   */
  readonly statelessResets: number;
}

export interface WireSummary {
  readonly connections: number;
  readonly datagrams: Record<WireDirection, number>;
  readonly handshakesCompleted: number;
  /** Connections whose HANDSHAKE_DONE was read; undefined when no connection's server 1-RTT secret was logged. */
  readonly handshakesConfirmed?: number;
  readonly resumed: number;
  readonly zeroRttPackets: number;
  /** Connections whose server accepted early data; undefined when no EncryptedExtensions could be read. */
  readonly earlyDataAccepted?: number;
  readonly retries: number;
  readonly versionNegotiations: number;
  /** Distinct final versions, ascending. */
  readonly versions: number[];
  readonly cipherSuites: string[];
  /** Sums over connections where key updates could be read; undefined when none could. */
  readonly keyUpdates?: { readonly client: number; readonly server: number };
  readonly closes: number;
  readonly packets: Record<WireDirection, PacketCounts>;
  readonly decrypted: number;
  readonly withoutKeys: number;
  readonly unreadable: number;
  readonly statelessResets: number;
  /** Packets no connection could be found for (unknown DCID: e.g. short headers after a CID change without keys). */
  readonly unattributed: number;
  /** Datagrams that did not parse as QUIC at all (or whose coalesced tail did not). */
  readonly malformed: number;
}

export interface WireReport {
  readonly connections: WireConnection[];
  readonly summary: WireSummary;
}

// ---------------------------------------------------------------------------------------------------------------------
// Internal state

type Epoch = 'initial' | 'handshake' | 'application';

/** Reassembles one CRYPTO stream (frames may repeat, overlap or arrive out of order) into handshake messages. */
class CryptoStream {
  private readonly chunks: { offset: number; data: Uint8Array }[] = [];
  private delivered = 0;
  private readonly messages = new HandshakeReassembler();
  /** Set when the stream could not be parsed any further (a malformed or oversized message). */
  broken = false;

  push(offset: number, data: Uint8Array, onMessage: (type: number, body: Uint8Array) => void): void {
    if (this.broken || offset + data.length <= this.delivered) return;
    this.chunks.push({ offset, data });
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (let i = 0; i < this.chunks.length; i++) {
        const c = this.chunks[i]!;
        const end = c.offset + c.data.length;
        if (end <= this.delivered) {
          this.chunks.splice(i--, 1);
          continue;
        }
        if (c.offset > this.delivered) continue;
        this.messages.push(c.data.subarray(this.delivered - c.offset));
        this.delivered = end;
        this.chunks.splice(i--, 1);
        progressed = true;
      }
    }
    try {
      for (let m = this.messages.next(); m; m = this.messages.next()) onMessage(m.type, m.body);
    } catch {
      this.broken = true;
    }
  }
}

/** A 1-RTT packet opened for one candidate connection; commit() applies what opening it implies to that connection. */
type ShortOpen =
  | { readonly ok: true; readonly payload: Uint8Array; readonly pn: number; readonly commit: () => void }
  | { readonly ok: false; readonly failure: 'no-keys' | 'unreadable' | 'unverified-flip' };

/** 1-RTT receive state of one sender: current generation and key phase (RFC 9001 §6). */
interface OneRttState {
  keys: PacketKeys;
  phase: boolean;
  previous?: PacketKeys;
}

class Conn {
  readonly clientCids = new Set<string>();
  readonly serverCids = new Set<string>();
  /** DCIDs the client put in its Initials before the server's first Initial/Handshake, oldest first (Initial keys derive from one of them). */
  readonly clientInitialDcids: Uint8Array[] = [];
  /** The server sent an Initial or Handshake packet (a Retry does not count: the client starts over). */
  serverSpoke = false;
  firstTime: number;
  lastTime: number;
  initialVersion: number;
  lastClientVersion: number;
  lastServerVersion?: number;
  vn = false;
  vnOffered?: number[];
  retry?: { token: Uint8Array; tokenEchoed: boolean; integrityValid: boolean; answered: boolean };
  clientRandom?: Uint8Array;
  serverName?: string;
  alpnOffered?: string[];
  pskOffered?: boolean;
  earlyDataOffered?: boolean;
  helloRetry = false;
  suite?: CipherSuite;
  suiteName?: string;
  resumed?: boolean;
  zeroRtt = 0;
  zeroRttDecrypted = 0;
  clientOneRtt = 0;
  earlyDataAccepted?: boolean;
  alpn?: string;
  handshakeDone = false;
  tickets = 0;
  serverOneRttRead = false;
  readonly flips = { client: 0, server: 0, unverified: 0 };
  readonly closes: WireClose[] = [];
  readonly keysFound = { handshake: false, early: false, oneRtt: false };
  readonly oneRtt: Partial<Record<WireDirection, OneRttState>> = {};
  readonly largestPn = new Map<string, number>();
  readonly streams = new Map<string, CryptoStream>();
  readonly datagrams: Record<WireDirection, number> = { 'to-server': 0, 'to-client': 0 };
  readonly notDelivered: Record<WireDirection, number> = { 'to-server': 0, 'to-client': 0 };
  readonly packets: Record<WireDirection, PacketCounts> = { 'to-server': {}, 'to-client': {} };
  decrypted = 0;
  withoutKeys = 0;
  unreadable = 0;
  statelessResets = 0;

  constructor(readonly originalDcid: Uint8Array, version: number, time: number) {
    this.initialVersion = version;
    this.lastClientVersion = version;
    this.firstTime = time;
    this.lastTime = time;
  }

  get version(): number {
    return this.lastServerVersion ?? this.lastClientVersion;
  }

  stream(direction: WireDirection, epoch: Epoch): CryptoStream {
    const k = `${direction}/${epoch}`;
    let s = this.streams.get(k);
    if (!s) this.streams.set(k, (s = new CryptoStream()));
    return s;
  }

  largest(direction: WireDirection, space: Epoch): number {
    return this.largestPn.get(`${direction}/${space}`) ?? -1;
  }

  sawPn(direction: WireDirection, space: Epoch, pn: number): void {
    if (pn > this.largest(direction, space)) this.largestPn.set(`${direction}/${space}`, pn);
  }
}

/** Secrets by client random (hex) and label; a label may carry several distinct secrets (tried in turn). */
type Secrets = Map<string, Map<string, Uint8Array[]>>;

function readSecrets(text: string): Secrets {
  const out: Secrets = new Map();
  let lines: ReturnType<typeof parseKeyLog> = [];
  try {
    lines = parseKeyLog(text ?? '');
  } catch {
    return out;
  }
  for (const l of lines) {
    const r = hex(l.clientRandom);
    let byLabel = out.get(r);
    if (!byLabel) out.set(r, (byLabel = new Map()));
    const list = byLabel.get(l.label) ?? [];
    if (!list.some((s) => equal(s, l.secret))) list.push(l.secret);
    byLabel.set(l.label, list);
  }
  return out;
}

const SUITES = Object.values(CIPHER_SUITES);

function suiteById(id: number): CipherSuite | undefined {
  return SUITES.find((s) => s.id === id);
}

/** The negotiated suite if known, else every suite whose hash matches the secret's length. */
function candidateSuites(conn: Conn, secret: Uint8Array, crypto: CryptoProvider): CipherSuite[] {
  if (conn.suite) return [conn.suite];
  return SUITES.filter((s) => crypto.hashLength(s.hash) === secret.length);
}

/** Header protection removal that never throws (a backend may reject an odd sample). */
function unprotectHeader(keys: PacketKeys, packet: Uint8Array, pnOffset: number, largest: number): UnprotectedHeader | null {
  try {
    return removeHeaderProtection(keys, packet, pnOffset, largest);
  } catch {
    return null;
  }
}

/**
 * The coalesced packets of a datagram (RFC 9000 §12.2), like the engine's splitDatagram but tolerating a cleared fixed
 * bit: peers that both send grease_quic_bit (RFC 9287, ngtcp2 does) may clear it on any packet but Version
 * Negotiation. Such a packet is parsed from a copy with the bit set; the packet bytes returned are the original ones
 * (the first byte is AEAD associated data). Short headers are parsed with an empty DCID: the caller finds its length.
 */
function splitPackets(datagram: Uint8Array): { packets: ProtectedHeader[]; error?: string } {
  const packets: ProtectedHeader[] = [];
  let offset = 0;
  while (offset < datagram.length) {
    if (packets.length > 0 && datagram.subarray(offset).every((b) => b === 0)) break; // padding after a long header
    const first = datagram[offset]!;
    let h: ProtectedHeader;
    try {
      if (first & FIRST_BYTE.FIXED) h = parsePacket(datagram, offset, 0);
      else {
        const copy = datagram.slice(offset);
        copy[0] = first | FIRST_BYTE.FIXED;
        const c = parsePacket(copy, 0, 0);
        h = { ...c, firstByte: first, packet: datagram.subarray(offset, offset + c.packet.length), offset };
      }
    } catch (e) {
      return { packets, error: (e as Error)?.message ?? String(e) };
    }
    packets.push(h);
    offset += h.packet.length;
    if (h.pnOffset < 0 || h.form === 'short') break; // these extend to the end of the datagram
  }
  return { packets };
}

/** Connections by connection ID (hex), oldest first. */
function addTo(map: Map<string, Conn[]>, key: string, conn: Conn): void {
  const list = map.get(key);
  if (!list) map.set(key, [conn]);
  else if (list[list.length - 1] !== conn) {
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    list.push(conn);
  }
}

function newest(map: Map<string, Conn[]>, key: string): Conn | undefined {
  const list = map.get(key);
  return list?.[list.length - 1];
}

const bump = (c: PacketCounts, k: PacketKind) => {
  c[k] = (c[k] ?? 0) + 1;
};

// ---------------------------------------------------------------------------------------------------------------------
// The analysis

class Analyzer {
  readonly conns: Conn[] = [];
  /** DCIDs of client → server packets (server CIDs, and the client's chosen original DCIDs) → connection. */
  private readonly toServer = new Map<string, Conn[]>();
  /** DCIDs of server → client packets (client CIDs) → connection. */
  private readonly toClient = new Map<string, Conn[]>();
  private readonly cidLengths: Record<WireDirection, Set<number>> = { 'to-server': new Set(), 'to-client': new Set() };
  private readonly keyCache = new Map<string, PacketKeys>();
  /** Stateless reset tokens by the direction a reset carrying them travels (the issuer sends it). */
  private readonly resetTokens: Record<WireDirection, Map<string, Conn>> = { 'to-server': new Map(), 'to-client': new Map() };
  unattributed = 0;
  malformed = 0;

  constructor(private readonly crypto: CryptoProvider, private readonly secrets: Secrets) {}

  datagram(d: WireDatagram): void {
    const data = d.data instanceof Uint8Array ? d.data : new Uint8Array(0);
    const direction = d.direction === 'to-client' ? 'to-client' : 'to-server';
    const split = splitPackets(data);
    if (split.error || split.packets.length === 0) this.malformed++;
    const counted = new Set<Conn>();
    for (const p of split.packets) {
      let conn: Conn | undefined;
      try {
        conn = this.packet(p, data, direction, d.time);
      } catch {
        conn = undefined;
        this.malformed++;
      }
      if (conn && !counted.has(conn)) {
        counted.add(conn);
        conn.datagrams[direction]++;
        if (!d.delivered) conn.notDelivered[direction]++;
        conn.lastTime = Math.max(conn.lastTime, d.time);
      }
    }
  }

  private learnCid(conn: Conn, side: 'client' | 'server', cid: Uint8Array): void {
    const key = hex(cid);
    if (side === 'client') {
      conn.clientCids.add(key);
      addTo(this.toClient, key, conn);
      this.cidLengths['to-client'].add(cid.length);
    } else {
      conn.serverCids.add(key);
      addTo(this.toServer, key, conn);
      this.cidLengths['to-server'].add(cid.length);
    }
  }

  /** Handles one packet; returns the connection it belongs to, if found. */
  private packet(p: ProtectedHeader, datagram: Uint8Array, direction: WireDirection, time: number): Conn | undefined {
    if (p.form === 'short') return this.shortPacket(datagram.subarray(p.offset), direction, time);
    const dcid = hex(p.dcid);
    if (p.kind === 'version-negotiation') {
      const conn = direction === 'to-client' ? (newest(this.toClient, dcid) ?? newest(this.toServer, hex(p.scid))) : undefined;
      if (!conn) return this.unattributedPacket();
      bump(conn.packets[direction], p.kind);
      conn.vn = true;
      try {
        conn.vnOffered = [...parseVersionNegotiation(p.packet).versions];
      } catch {
        conn.unreadable++;
      }
      return conn;
    }
    let conn = this.longHeaderConn(p, direction);
    if (!conn && direction === 'to-server' && (p.kind === 'initial' || p.kind === 'unsupported-version')) conn = this.newConnection(p, time);
    if (!conn) return this.unattributedPacket();
    bump(conn.packets[direction], p.kind);
    if (p.version !== undefined && p.version !== 0) {
      if (direction === 'to-server') conn.lastClientVersion = p.version;
      else conn.lastServerVersion = p.version;
    }
    if (p.kind === 'unsupported-version') {
      conn.withoutKeys++;
      return conn;
    }
    if (p.kind === 'retry') {
      if (direction !== 'to-client') {
        conn.unreadable++;
        return conn;
      }
      const answered = conn.clientInitialDcids[conn.clientInitialDcids.length - 1] ?? conn.originalDcid;
      conn.retry = { token: p.token, tokenEchoed: false, integrityValid: verifyRetry(this.crypto, p.packet, answered), answered: false };
      this.learnCid(conn, 'server', p.scid);
      return conn;
    }
    // Initial, 0-RTT, Handshake: the SCID names the sender's connection ID.
    this.learnCid(conn, direction === 'to-server' ? 'client' : 'server', p.scid);
    if (direction === 'to-client') conn.serverSpoke = true;
    if (direction === 'to-server' && p.kind === 'initial') {
      // Initial keys come from the DCID of the client's first Initial, or of its first one after a Retry (RFC 9001
      // §5.2); once the server answered, the client's Initials carry the server's CID, which derives nothing.
      if (!conn.serverSpoke && !conn.clientInitialDcids.some((c) => equal(c, p.dcid))) conn.clientInitialDcids.push(p.dcid);
      if (conn.retry && !conn.retry.answered) {
        conn.retry.answered = true;
        conn.retry.tokenEchoed = p.token.length > 0 && equal(p.token, conn.retry.token);
      }
    }
    if (direction === 'to-server' && p.kind === '0rtt') conn.zeroRtt++;
    this.longPacket(conn, p, direction, time);
    return conn;
  }

  /**
   * The connection of a long-header packet: by its DCID; when several connections share that CID (zero-length client
   * CIDs), the one that also knows the packet's SCID as the sender's CID, else the newest.
   */
  private longHeaderConn(p: ProtectedHeader, direction: WireDirection): Conn | undefined {
    const byDcid = (direction === 'to-server' ? this.toServer : this.toClient).get(hex(p.dcid));
    if (!byDcid?.length) return undefined;
    if (byDcid.length > 1) {
      const bySender = (direction === 'to-server' ? this.toClient : this.toServer).get(hex(p.scid)) ?? [];
      for (let i = byDcid.length - 1; i >= 0; i--) if (bySender.includes(byDcid[i]!)) return byDcid[i];
    }
    return byDcid[byDcid.length - 1];
  }

  private unattributedPacket(): undefined {
    this.unattributed++;
    return undefined;
  }

  private newConnection(p: ProtectedHeader, time: number): Conn {
    const version = p.version ?? 0;
    // A client answering Version Negotiation starts over with a new DCID but usually keeps its SCID: same attempt.
    const previous = p.scid.length ? newest(this.toClient, hex(p.scid)) : undefined;
    if (previous && previous.vn && previous.lastServerVersion === undefined) {
      addTo(this.toServer, hex(p.dcid), previous);
      return previous;
    }
    const conn = new Conn(p.dcid, version, time);
    this.conns.push(conn);
    addTo(this.toServer, hex(p.dcid), conn);
    return conn;
  }

  private shortPacket(packet: Uint8Array, direction: WireDirection, time: number): Conn | undefined {
    // Candidates: connections whose CID in this direction prefixes the packet, longest CID first, newest first. Several
    // connections can share one (zero-length CIDs, a reused address): trial decryption picks the right one.
    const map = direction === 'to-server' ? this.toServer : this.toClient;
    const candidates: { conn: Conn; dcidLength: number }[] = [];
    for (const len of [...this.cidLengths[direction]].sort((a, b) => b - a)) {
      if (1 + len > packet.length) continue;
      for (const conn of [...(map.get(hex(packet.subarray(1, 1 + len))) ?? [])].reverse()) candidates.push({ conn, dcidLength: len });
    }
    if (!candidates.length) return this.statelessReset(packet, direction) ?? this.unattributedPacket();
    let chosen = candidates[0]!;
    let opened: ShortOpen | undefined;
    for (const c of candidates) {
      const o = this.openShort(c.conn, direction, packet, 1 + c.dcidLength);
      opened ??= o;
      if (o.ok) {
        chosen = c;
        opened = o;
        break;
      }
    }
    const result = opened!;
    if (!result.ok) {
      const reset = this.statelessReset(packet, direction);
      if (reset) return reset;
    }
    const conn = chosen.conn;
    bump(conn.packets[direction], '1rtt');
    if (direction === 'to-server') conn.clientOneRtt++;
    if (!result.ok) {
      if (result.failure === 'no-keys') conn.withoutKeys++;
      else conn.unreadable++;
      if (result.failure === 'unverified-flip') conn.flips.unverified++;
      return conn;
    }
    result.commit();
    conn.decrypted++;
    conn.sawPn(direction, 'application', result.pn);
    if (direction === 'to-client') conn.serverOneRttRead = true;
    this.frames(conn, result.payload, direction, 'application', time);
    return conn;
  }

  /** A packet that ends with a stateless reset token its sender issued (RFC 9000 §10.3): counted as a reset. */
  private statelessReset(packet: Uint8Array, direction: WireDirection): Conn | undefined {
    if (packet.length < 21) return undefined;
    const conn = this.resetTokens[direction].get(hex(packet.subarray(packet.length - 16)));
    if (conn) conn.statelessResets++;
    return conn;
  }

  /**
   * Opens a 1-RTT packet for `conn` without changing its state (commit() applies a key update or the first
   * generation's keys). 'no-keys' when the key log has no secret for this sender; null when nothing authenticates.
   */
  private openShort(conn: Conn, direction: WireDirection, packet: Uint8Array, pnOffset: number): ShortOpen {
    const fail = (failure: 'no-keys' | 'unreadable' | 'unverified-flip'): ShortOpen => ({ ok: false, failure });
    const largest = conn.largest(direction, 'application');
    const state = conn.oneRtt[direction];
    if (!state) {
      // No packet of this sender authenticated yet: try every logged secret (and suite, without a ServerHello).
      const candidates = this.oneRttCandidates(conn, direction);
      if (!candidates.length) return fail('no-keys');
      for (const keys of candidates) {
        const h = unprotectHeader(keys, packet, pnOffset, largest);
        if (!h) continue;
        // A capture that starts mid-connection may open in phase 1: then the next generation is the one to try.
        const gen = h.keyPhase ? nextGenerationKeys(this.crypto, keys) : keys;
        const payload = openPayload(gen, h, packet);
        if (payload) return { ok: true, payload, pn: h.pn, commit: () => void (conn.oneRtt[direction] = { keys: gen, phase: h.keyPhase }) };
      }
      return fail('unreadable');
    }
    const h = unprotectHeader(state.keys, packet, pnOffset, largest);
    if (!h) return fail('unreadable');
    const done = (payload: Uint8Array | null, commit: () => void = () => {}): ShortOpen => (payload ? { ok: true, payload, pn: h.pn, commit } : fail('unreadable'));
    if (h.keyPhase === state.phase) return done(openPayload(state.keys, h, packet));
    const next = nextGenerationKeys(this.crypto, state.keys);
    const payload = openPayload(next, h, packet);
    if (payload) {
      return done(payload, () => {
        state.previous = state.keys;
        state.keys = next;
        state.phase = h.keyPhase;
        conn.flips[direction === 'to-server' ? 'client' : 'server']++;
      });
    }
    // A packet of the previous generation sent late is not a new update.
    if (state.previous) {
      const late = openPayload(state.previous, h, packet);
      if (late) return done(late);
    }
    return fail('unverified-flip');
  }

  /** Generation-0 keys to try for a sender's 1-RTT packets, from its *_TRAFFIC_SECRET_0 (any suite that fits when no ServerHello was read). */
  private oneRttCandidates(conn: Conn, direction: WireDirection): PacketKeys[] {
    const label = direction === 'to-server' ? 'CLIENT_TRAFFIC_SECRET_0' : 'SERVER_TRAFFIC_SECRET_0';
    const secrets = this.secretsFor(conn, label);
    if (secrets.length) conn.keysFound.oneRtt = true;
    return secrets.flatMap((s) => candidateSuites(conn, s, this.crypto).map((suite) => this.keysFor(suite, s, conn.version)));
  }

  private secretsFor(conn: Conn, label: string): Uint8Array[] {
    if (!conn.clientRandom) return [];
    return this.secrets.get(hex(conn.clientRandom))?.get(label) ?? [];
  }

  private keysFor(suite: CipherSuite, secret: Uint8Array, version: number): PacketKeys {
    const k = `${suite.name}/${version}/${hex(secret)}`;
    let keys = this.keyCache.get(k);
    if (!keys) {
      keys = derivePacketKeys(this.crypto, suite, secret, version);
      this.keyCache.set(k, keys);
    }
    return keys;
  }

  private initialKeysFor(version: number, dcid: Uint8Array, direction: WireDirection): PacketKeys {
    const k = `initial/${version}/${hex(dcid)}/${direction}`;
    let keys = this.keyCache.get(k);
    if (!keys) {
      const both = initialKeys(this.crypto, version, dcid);
      this.keyCache.set(`initial/${version}/${hex(dcid)}/to-server`, both.client);
      this.keyCache.set(`initial/${version}/${hex(dcid)}/to-client`, both.server);
      keys = direction === 'to-server' ? both.client : both.server;
    }
    return keys;
  }

  private longPacket(conn: Conn, p: ProtectedHeader, direction: WireDirection, time: number): void {
    const version = p.version ?? QUIC_V1;
    const space: Epoch = p.kind === 'initial' ? 'initial' : p.kind === 'handshake' ? 'handshake' : 'application';
    let candidates: PacketKeys[];
    if (p.kind === 'initial') {
      if (!isSupportedVersion(version)) {
        conn.withoutKeys++;
        return;
      }
      const dcids = [...conn.clientInitialDcids].reverse();
      if (!dcids.length) dcids.push(conn.originalDcid);
      candidates = dcids.map((d) => this.initialKeysFor(version, d, direction));
    } else {
      const label =
        p.kind === '0rtt' ? 'CLIENT_EARLY_TRAFFIC_SECRET' : direction === 'to-server' ? 'CLIENT_HANDSHAKE_TRAFFIC_SECRET' : 'SERVER_HANDSHAKE_TRAFFIC_SECRET';
      const secrets = this.secretsFor(conn, label);
      if (!secrets.length) {
        conn.withoutKeys++;
        return;
      }
      if (p.kind === '0rtt') conn.keysFound.early = true;
      else conn.keysFound.handshake = true;
      // 0-RTT uses the resumed session's suite, which is the ServerHello's only if early data is accepted: try all.
      candidates = secrets.flatMap((s) => (p.kind === '0rtt' ? SUITES.filter((x) => this.crypto.hashLength(x.hash) === s.length) : candidateSuites(conn, s, this.crypto)).map((suite) => this.keysFor(suite, s, version)));
    }
    for (const keys of candidates) {
      const h = unprotectHeader(keys, p.packet, p.pnOffset, conn.largest(direction, space));
      if (!h) continue;
      const payload = openPayload(keys, h, p.packet);
      if (!payload) continue;
      conn.decrypted++;
      conn.sawPn(direction, space, h.pn);
      if (p.kind === '0rtt') conn.zeroRttDecrypted++;
      this.frames(conn, payload, direction, space, time, p.kind === '0rtt');
      return;
    }
    conn.unreadable++;
  }

  private frames(conn: Conn, payload: Uint8Array, direction: WireDirection, space: Epoch, time: number, zeroRtt = false): void {
    let frames: Frame[];
    try {
      frames = decodeFrames(payload);
    } catch {
      conn.unreadable++;
      return;
    }
    const by = direction === 'to-server' ? 'client' : 'server';
    for (const f of frames) {
      switch (f.type) {
        case 'crypto':
          if (!zeroRtt) conn.stream(direction, space).push(f.offset, f.data, (type, body) => this.handshakeMessage(conn, direction, space, type, body));
          break;
        case 'handshake_done':
          if (direction === 'to-client') conn.handshakeDone = true;
          break;
        case 'new_connection_id':
          this.learnCid(conn, by, f.connectionId);
          this.resetTokens[direction].set(hex(f.resetToken), conn);
          break;
        case 'connection_close':
          conn.closes.push({
            by,
            space: space === 'application' ? '1rtt' : space,
            application: f.application,
            errorCode: f.errorCode,
            ...(f.application ? {} : { frameType: f.frameType }),
            reason: f.reason,
            time,
          });
          break;
        default:
          break;
      }
    }
  }

  private handshakeMessage(conn: Conn, direction: WireDirection, epoch: Epoch, type: number, body: Uint8Array): void {
    try {
      if (direction === 'to-server' && epoch === 'initial' && type === HandshakeType.client_hello) {
        const ch = decodeClientHello(body);
        conn.clientRandom ??= ch.random.slice();
        conn.pskOffered = ch.extensions.has(ExtensionType.pre_shared_key);
        conn.earlyDataOffered = ch.extensions.has(ExtensionType.early_data);
        const sni = ch.extensions.get(ExtensionType.server_name);
        if (sni) conn.serverName = decodeServerName(sni);
        const alpn = ch.extensions.get(ExtensionType.alpn);
        if (alpn) conn.alpnOffered = decodeAlpn(alpn);
      } else if (direction === 'to-client' && epoch === 'initial' && type === HandshakeType.server_hello) {
        const sh = decodeServerHello(body);
        if (sh.isHelloRetryRequest) {
          conn.helloRetry = true;
          return;
        }
        conn.suite = suiteById(sh.cipherSuite);
        conn.suiteName = conn.suite?.name ?? `0x${sh.cipherSuite.toString(16).padStart(4, '0')}`;
        conn.resumed = sh.extensions.has(ExtensionType.pre_shared_key);
      } else if (direction === 'to-client' && epoch === 'handshake' && type === HandshakeType.encrypted_extensions) {
        const ee = decodeEncryptedExtensions(body);
        conn.earlyDataAccepted = ee.has(ExtensionType.early_data);
        const alpn = ee.get(ExtensionType.alpn);
        if (alpn) conn.alpn = decodeAlpn(alpn)[0];
        const tp = ee.get(ExtensionType.quic_transport_parameters);
        const token = tp ? decodeTransportParameters(tp, 'server').statelessResetToken : undefined;
        if (token) this.resetTokens['to-client'].set(hex(token), conn);
      } else if (direction === 'to-client' && epoch === 'application' && type === HandshakeType.new_session_ticket) {
        conn.tickets++;
      }
    } catch {
      conn.unreadable++;
    }
  }

  report(): WireReport {
    const connections = this.conns.map((c) => this.connection(c));
    return { connections, summary: this.summary(connections) };
  }

  private connection(c: Conn): WireConnection {
    const final = c.version;
    const anyOneRtt = c.keysFound.oneRtt;
    return {
      originalDcid: hex(c.originalDcid),
      firstTime: c.firstTime,
      lastTime: c.lastTime,
      clientCids: [...c.clientCids],
      serverCids: [...c.serverCids],
      version: {
        initial: c.initialVersion,
        final,
        name: versionName(final),
        versionNegotiation: c.vn,
        ...(c.vnOffered ? { offered: c.vnOffered } : {}),
        compatibleUpgrade: !c.vn && c.lastServerVersion !== undefined && c.lastServerVersion !== c.initialVersion,
      },
      ...(c.retry ? { retry: { tokenEchoed: c.retry.tokenEchoed, integrityValid: c.retry.integrityValid } } : {}),
      ...(c.clientRandom ? { clientRandom: hex(c.clientRandom) } : {}),
      ...(c.serverName !== undefined ? { serverName: c.serverName } : {}),
      ...(c.alpnOffered ? { alpnOffered: c.alpnOffered } : {}),
      ...(c.pskOffered !== undefined ? { pskOffered: c.pskOffered, earlyDataOffered: c.earlyDataOffered } : {}),
      helloRetryRequest: c.helloRetry,
      ...(c.suiteName ? { cipherSuite: c.suiteName } : {}),
      ...(c.resumed !== undefined ? { resumed: c.resumed } : {}),
      zeroRttPackets: c.zeroRtt,
      handshakeCompleted: c.clientOneRtt > 0,
      ...(c.keysFound.early ? { zeroRttDecrypted: c.zeroRttDecrypted } : {}),
      ...(c.earlyDataAccepted !== undefined ? { earlyDataAccepted: c.earlyDataAccepted } : {}),
      ...(c.alpn !== undefined ? { alpn: c.alpn } : {}),
      ...(c.handshakeDone || c.serverOneRttRead ? { handshakeConfirmed: c.handshakeDone, sessionTickets: c.tickets } : {}),
      ...(anyOneRtt ? { keyUpdates: { ...c.flips } } : {}),
      closed: c.closes,
      keysFound: { ...c.keysFound },
      datagrams: { ...c.datagrams },
      notDelivered: { ...c.notDelivered },
      packets: { 'to-server': { ...c.packets['to-server'] }, 'to-client': { ...c.packets['to-client'] } },
      decrypted: c.decrypted,
      withoutKeys: c.withoutKeys,
      unreadable: c.unreadable,
      statelessResets: c.statelessResets,
    };
  }

  private summary(cs: WireConnection[]): WireSummary {
    const count = (f: (c: WireConnection) => boolean) => cs.filter(f).length;
    const sum = (f: (c: WireConnection) => number) => cs.reduce((s, c) => s + f(c), 0);
    const packets: Record<WireDirection, PacketCounts> = { 'to-server': {}, 'to-client': {} };
    for (const c of cs) {
      for (const d of ['to-server', 'to-client'] as const) {
        for (const [k, n] of Object.entries(c.packets[d]) as [PacketKind, number][]) packets[d][k] = (packets[d][k] ?? 0) + n;
      }
    }
    const withKu = cs.filter((c) => c.keyUpdates);
    return {
      connections: cs.length,
      datagrams: { 'to-server': sum((c) => c.datagrams['to-server']), 'to-client': sum((c) => c.datagrams['to-client']) },
      handshakesCompleted: count((c) => c.handshakeCompleted),
      ...(cs.some((c) => c.handshakeConfirmed !== undefined) ? { handshakesConfirmed: count((c) => c.handshakeConfirmed === true) } : {}),
      resumed: count((c) => c.resumed === true),
      zeroRttPackets: sum((c) => c.zeroRttPackets),
      ...(cs.some((c) => c.earlyDataAccepted !== undefined) ? { earlyDataAccepted: count((c) => c.earlyDataAccepted === true) } : {}),
      retries: count((c) => !!c.retry),
      versionNegotiations: count((c) => c.version.versionNegotiation),
      versions: [...new Set(cs.map((c) => c.version.final))].sort((a, b) => a - b),
      cipherSuites: [...new Set(cs.flatMap((c) => (c.cipherSuite ? [c.cipherSuite] : [])))],
      ...(withKu.length ? { keyUpdates: { client: withKu.reduce((s, c) => s + c.keyUpdates!.client, 0), server: withKu.reduce((s, c) => s + c.keyUpdates!.server, 0) } } : {}),
      closes: sum((c) => c.closed.length),
      packets,
      decrypted: sum((c) => c.decrypted),
      withoutKeys: sum((c) => c.withoutKeys),
      unreadable: sum((c) => c.unreadable),
      statelessResets: sum((c) => c.statelessResets),
      unattributed: this.unattributed,
      malformed: this.malformed,
    };
  }
}

/**
 * Reads a QUIC capture back: `datagrams` in send order, `keylogText` the NSS key log lines of both endpoints (empty,
 * partial or duplicated is fine). Never throws on malformed input.
 */
export function analyzeQuicWire(datagrams: readonly WireDatagram[], keylogText = '', opts: AnalyzeOptions = {}): WireReport {
  const analyzer = new Analyzer(opts.crypto ?? nodeCrypto, readSecrets(typeof keylogText === 'string' ? keylogText : ''));
  for (const d of datagrams ?? []) {
    try {
      analyzer.datagram(d);
    } catch {
      analyzer.malformed++;
    }
  }
  return analyzer.report();
}
