// The `self` peer: crosswire's own engine in either role, as sans-I/O endpoints in the simulator's virtual time.

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../../engine/endpoint.js';
import { nodeCrypto } from '../../engine/crypto/node.js';
import { cryptoProvider } from '../../engine/crypto/index.js';
import { seededRandom, type RandomSource } from '../../engine/crypto/random.js';
import type { QuicConfig } from '../../engine/quic/config.js';
import { QUIC_V1, QUIC_V2 } from '../../engine/quic/version.js';
import { createTlsSession } from '../../engine/tls/session.js';
import type { CipherSuiteName } from '../../engine/tls/api.js';
import { DtlsClient, DtlsServer, type DtlsSuiteName } from '../../engine/dtls/index.js';
import { ClientFleet } from '../runner/quic-client.js';
import { ServerHost } from '../runner/quic-server.js';
import { internalErrorsField } from '../runner/internal-errors.js';
import { SIMULATION_CLOCK_MS } from '../runner/pki.js';
import type { EndpointSettings } from '../scenario/model.js';
import type { ConnectionReport, Peer, PeerContext, RoleEndpoint } from './types.js';
import { VERSION } from '../version.js';

export const SELF_FEATURES = [
  'handshake', 'transfer', 'multiplexing', 'chacha20', 'retry', 'resumption', 'zerortt', 'http3', 'keyupdate',
  'amplificationlimit', 'multiconnect', 'handshakeloss', 'transferloss', 'handshakecorruption', 'transfercorruption', 'blackhole', 'rebind-port', 'rebind-addr', 'v2', 'goodput', 'streams-api', 'default-stream', 'multi-stream',
  'dtls', 'dtls-cookie', 'hq-interop', 'longrtt', 'cubic',
] as const;

const clock = (): number => SIMULATION_CLOCK_MS;

function rng(ctx: PeerContext, label: string): RandomSource {
  return seededRandom(`${ctx.seed}/${ctx.role}/${label}`, (d) => nodeCrypto.hash('sha256', d));
}

const versionNumber = (v: 1 | 2): number => (v === 2 ? QUIC_V2 : QUIC_V1);

function transportFor(s: EndpointSettings): Partial<NonNullable<QuicConfig['transport']>> {
  return s.idleTimeoutMs !== undefined ? { maxIdleTimeoutMs: s.idleTimeoutMs } : {};
}

function quicClient(ctx: PeerContext): RoleEndpoint {
  const c = ctx.scenario.client;
  const scripted = ctx.scripted;
  const crypto = cryptoProvider(c.crypto ?? 'node'); // here, not per connection: a missing backend fails the role's start
  const alpn = c.alpn ?? 'hq-interop';
  // One array for every connection: the engine indexes trust anchors per array, so a fresh one per connection would
  // rebuild the index on each handshake.
  const anchors = [ctx.pki.ca];
  const fleet = new ClientFleet({
    connections: scripted ? 1 : c.connections,
    parallel: c.parallel,
    alpn: alpn === 'h3' ? 'h3' : 'hq-interop',
    paths: scripted ? [] : [...ctx.paths],
    scripted,
    resumption: c.resumption || c.zerortt,
    zerortt: c.zerortt,
    keyUpdate: !!c.keyUpdate,
    clientHost: ctx.clientAddress.host,
    basePort: ctx.clientAddress.port,
    server: ctx.serverAddress,
    config: (i, ticket) => ({
      crypto,
      random: rng(ctx, `conn-${i}`),
      clock: ctx.clock ?? clock,
      createTls: createTlsSession,
      tls: {
        serverName: 'localhost',
        alpn: [alpn],
        verify: { ca: anchors },
        ...(c.cipherSuites ? { cipherSuites: c.cipherSuites as CipherSuiteName[] } : {}),
        ...(c.groups ? { groups: c.groups } : {}),
        ...(ticket ? { session: ticket, earlyData: c.zerortt } : {}),
        ...(ctx.keyLog ? { keyLog: ctx.keyLog } : {}),
      },
      ...(c.quicVersion ? { version: versionNumber(c.quicVersion) } : {}),
      ...(c.versions ? { versions: c.versions.map(versionNumber) } : {}),
      ...(c.cc ? { congestionControl: c.cc } : {}),
      transport: transportFor(c),
      ...faultConfig(ctx),
      ...(ctx.qlogFor ? { qlog: ctx.qlogFor(`client-${i + 1}`) } : {}),
    }),
  });
  return {
    endpoint: fleet,
    done: () => fleet.done,
    report: () => ({
      connections: fleet.records.map(
        (r): ConnectionReport => ({
          startedAt: r.startedAt,
          handshakeAt: r.handshakeAt,
          finishedAt: r.finishedAt,
          resumed: r.resumed,
          version: r.version,
          alpn: r.alpn,
          cipherSuite: r.cipherSuite,
          earlyData: r.earlyData,
          retried: r.retried,
          keyUpdates: r.keyUpdates,
          closeInfo: r.closeInfo,
          files: [...r.ledger.files].map(([path, f]) => ({ path, bytes: f.bytes, ok: !!f.ok, digest: f.digest, detail: f.detail })),
          bytes: r.ledger.bytes,
          firstByteAt: r.ledger.firstByteAt,
          lastByteAt: r.ledger.lastByteAt,
        }),
      ),
      ...internalErrorsField(fleet.internalErrors),
    }),
    scriptConnection: () => fleet.connection(0),
  };
}

/** Engine faults travel in the QUIC config's optional `faults` field (read by the connection where it applies). */
function faultConfig(ctx: PeerContext): Record<string, unknown> {
  return ctx.faults.length ? { faults: [...ctx.faults] } : {};
}

function quicServer(ctx: PeerContext): RoleEndpoint {
  const s = ctx.scenario.server;
  const leaf = ctx.pki.leaf(s.certificate);
  const host = new ServerHost({
    config: {
      crypto: cryptoProvider(s.crypto ?? 'node'),
      random: rng(ctx, 'endpoint'),
      clock: ctx.clock ?? clock,
      createTls: createTlsSession,
      tls: {
        alpn: s.alpn ? [s.alpn] : ['h3', 'hq-interop', 'echo'],
        certificateChain: leaf.chain,
        privateKey: leaf.key,
        ...(s.tickets ? { ticketKey: rng(ctx, 'ticket-key')(32) } : {}),
        earlyData: s.zerortt,
        ...(s.cipherSuites ? { cipherSuites: s.cipherSuites as CipherSuiteName[] } : {}),
        ...(s.groups ? { groups: s.groups } : {}),
        ...(ctx.keyLog ? { keyLog: ctx.keyLog } : {}),
      },
      ...(s.versions ? { versions: s.versions.map(versionNumber) } : {}),
      ...(s.cc ? { congestionControl: s.cc } : {}),
      transport: transportFor(s),
      ...faultConfig(ctx),
    } as QuicConfig,
    retry: s.retry,
    ...(ctx.qlogFor ? { qlogFor: (odcid: string) => ctx.qlogFor!(`server-${odcid}`) } : {}),
    tokenKey: rng(ctx, 'token-key')(16),
    resetKey: rng(ctx, 'reset-key')(32),
    files: ctx.scripted ? undefined : ctx.files,
    scripted: ctx.scripted,
  });
  return {
    endpoint: host,
    done: () => true,
    report: () => ({
      connections: host.records.map((r): ConnectionReport => ({ handshakeAt: r.handshakeAt, resumed: r.resumed, earlyData: r.earlyData, keyUpdates: r.keyUpdates, closeInfo: r.closeInfo })),
      retriesSent: host.retries,
      ...internalErrorsField(host.internalErrors),
    }),
    scriptConnection: () => host.connection(0),
  };
}

// ----------------------------------------------------------------------------------------------- DTLS

const te = new TextEncoder();

function messageBytes(m: { text?: string; size?: number }, i: number): Uint8Array {
  if (m.text !== undefined) return te.encode(m.text);
  const out = new Uint8Array(m.size ?? 0);
  for (let k = 0; k < out.length; k++) out[k] = (k * 31 + i * 7) & 0xff;
  return out;
}

/** Spoofed ClientHellos go out at this pace so the flood stays under the default link's bandwidth. */
const SPOOF_INTERVAL_MS = 0.5;
/** Echo client: re-send unanswered messages after this long (application-level, like a ping). */
const RESEND_MS = 1000;

class DtlsClientRole implements DatagramEndpoint {
  readonly client: DtlsClient;
  readonly report: ConnectionReport = { keyUpdates: 0, messagesSent: 0, messagesEchoed: 0 };
  /** Engine bugs the connection caught (the cause of its internal_error alert). */
  readonly internalErrors: unknown[] = [];
  private readonly expected: Uint8Array[];
  private readonly echoedFlags: boolean[];
  private echoed = 0;
  private sent = false;
  /** DTLS does not retransmit application data; the echo client re-sends what has not come back yet. */
  private resendAt: number | undefined;
  private spoofTemplate: Uint8Array | undefined;
  private spoofed = 0;
  private nextSpoofAt = 0;

  constructor(private readonly ctx: PeerContext) {
    const c = ctx.scenario.client;
    this.client = new DtlsClient(dtlsConfig(ctx, 'client'), ctx.serverAddress, 0);
    this.report.startedAt = 0;
    this.expected = c.messages.map(messageBytes);
    this.echoedFlags = this.expected.map(() => false);
    if (c.spoofedClientHellos > 0) {
      // Any well-formed ClientHello will do as the flood's payload: take a throwaway client's first flight.
      const other = new DtlsClient(dtlsConfig(ctx, 'client', 'spoof'), ctx.serverAddress, 0);
      this.spoofTemplate = other.pollDatagrams(0)[0]?.data;
    }
  }

  get done(): boolean {
    return (this.report.messagesEchoed ?? 0) >= this.expected.length && this.report.handshakeAt !== undefined && this.spoofed >= this.spoofTotal;
  }

  private get spoofTotal(): number {
    return this.spoofTemplate ? this.ctx.scenario.client.spoofedClientHellos : 0;
  }

  receiveDatagram(data: Uint8Array, from: Address, now: number, local?: Address): void {
    // Answers to spoofed addresses are routed back here by the simulated NAT; they belong to nobody.
    if (local && (local.host !== this.ctx.clientAddress.host || local.port !== this.ctx.clientAddress.port)) return;
    this.client.receiveDatagram(data, from, now);
    this.events(now);
  }

  private events(now: number): void {
    for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) {
      if (e.type === 'handshake-complete') {
        this.report.handshakeAt = now;
        this.report.cipherSuite = e.summary.suite;
        this.report.retried = e.summary.helloVerifyRequest;
      } else if (e.type === 'data') {
        const i = this.expected.findIndex((m, k) => !this.echoedFlags[k] && m.length === e.data.length && m.every((b, j) => b === e.data[j]));
        if (i >= 0) {
          this.echoedFlags[i] = true;
          this.report.messagesEchoed = ++this.echoed;
        }
        if (this.echoed >= this.expected.length) {
          this.report.finishedAt ??= now;
          this.resendAt = undefined;
        }
      } else if (e.type === 'closed' && e.error) {
        if (e.error.cause !== undefined) this.internalErrors.push(e.error.cause);
        this.report.closeInfo = { errorCode: e.error.alert, frameType: 0, reason: e.error.message, initiator: e.error.remote ? 'remote' : 'local', kind: 'transport', cause: 'close' };
      }
    }
    if (this.report.handshakeAt !== undefined && !this.sent) {
      this.sent = true;
      for (const m of this.expected) this.client.send(m);
      this.report.messagesSent = this.expected.length;
      if (this.expected.length) this.resendAt = now + RESEND_MS;
    } else if (this.resendAt !== undefined && now >= this.resendAt && this.echoed < this.expected.length) {
      this.expected.forEach((m, k) => this.echoedFlags[k] || this.client.send(m));
      this.resendAt = now + RESEND_MS;
    }
  }

  pollDatagrams(now: number): OutgoingDatagram[] {
    const out = this.client.pollDatagrams(now).map((d) => ({ ...d, from: this.ctx.clientAddress }));
    while (this.spoofTemplate && this.spoofed < this.spoofTotal && this.nextSpoofAt <= now) {
      const n = this.spoofed++;
      // Spoofed sources: distinct addresses in 192.0.2.0/24-like space, spread over ports.
      const from: Address = { host: `198.18.${(n >> 8) & 0xff}.${n & 0xff}`, port: 1024 + (n % 60000) };
      out.push({ data: this.spoofTemplate, to: this.ctx.serverAddress, from });
      this.nextSpoofAt += SPOOF_INTERVAL_MS;
    }
    return out;
  }

  nextTimeout(): number | undefined {
    const times = [this.client.nextTimeout(), this.spoofTemplate && this.spoofed < this.spoofTotal ? this.nextSpoofAt : undefined, this.client.closed ? undefined : this.resendAt];
    const set = times.filter((t): t is number => t !== undefined);
    return set.length ? Math.min(...set) : undefined;
  }

  handleTimeout(now: number): void {
    const t = this.client.nextTimeout();
    if (t !== undefined && t <= now) this.client.handleTimeout(now);
    this.events(now);
  }
}

class DtlsServerRole implements DatagramEndpoint {
  readonly server: DtlsServer;
  maxStates = 0;
  handshakes = 0;
  echoed = 0;
  /** Engine bugs any association caught (the cause of its internal_error alert). */
  readonly internalErrors: unknown[] = [];

  constructor(ctx: PeerContext) {
    this.server = new DtlsServer({ ...dtlsConfig(ctx, 'server'), cookies: ctx.scenario.server.cookie });
  }

  private after(): void {
    this.maxStates = Math.max(this.maxStates, this.server.peerStateCount);
    for (let e = this.server.pollEvent(); e; e = this.server.pollEvent()) {
      if (e.event.type === 'handshake-complete') this.handshakes++;
      else if (e.event.type === 'data') {
        this.server.send(e.peer, e.event.data); // the echo application
        this.echoed++;
      } else if (e.event.type === 'closed' && e.event.error?.cause !== undefined) this.internalErrors.push(e.event.error.cause);
    }
  }

  receiveDatagram(data: Uint8Array, from: Address, now: number): void {
    this.server.receiveDatagram(data, from, now);
    this.after();
  }

  pollDatagrams(now: number): OutgoingDatagram[] {
    return this.server.pollDatagrams(now);
  }

  nextTimeout(): number | undefined {
    return this.server.nextTimeout();
  }

  handleTimeout(now: number): void {
    this.server.handleTimeout(now);
    this.after();
  }
}

function dtlsConfig(ctx: PeerContext, role: 'client' | 'server', label = 'dtls') {
  const sc = ctx.scenario;
  const mine = role === 'client' ? sc.client : sc.server;
  const leaf = ctx.pki.leaf(sc.server.certificate);
  return {
    crypto: cryptoProvider(mine.crypto ?? 'node'),
    random: rng(ctx, label),
    clock: ctx.clock ?? clock,
    ...(mine.alpn ? { alpn: [mine.alpn] } : {}),
    ...(mine.cipherSuites ? { cipherSuites: mine.cipherSuites as DtlsSuiteName[] } : {}),
    ...(mine.groups ? { groups: mine.groups } : {}),
    ...(mine.mtu ? { pmtu: mine.mtu } : {}),
    ...(ctx.keyLog ? { keyLog: ctx.keyLog } : {}),
    ...(role === 'client' ? { serverName: 'localhost', ca: [ctx.pki.ca] } : { certificateChain: leaf.chain, privateKey: leaf.key }),
  };
}

function dtlsClient(ctx: PeerContext): RoleEndpoint {
  const c = new DtlsClientRole(ctx);
  return { endpoint: c, done: () => c.done, report: () => ({ connections: [c.report], ...internalErrorsField(c.internalErrors) }) };
}

function dtlsServer(ctx: PeerContext): RoleEndpoint {
  const s = new DtlsServerRole(ctx);
  return {
    endpoint: s,
    done: () => true,
    report: () => ({
      connections: [],
      retriesSent: s.server.stats.helloVerifyRequests,
      maxStates: s.maxStates,
      metrics: { serverHandshakes: s.handshakes, serverEchoed: s.echoed, cookiesAccepted: s.server.stats.cookiesAccepted },
      ...internalErrorsField(s.internalErrors),
    }),
  };
}

export const selfPeer: Peer = {
  name: 'self',
  version: VERSION,
  roles: ['client', 'server'],
  protocols: ['quic', 'dtls'],
  features: SELF_FEATURES,
  mode: 'virtual',
  start(ctx) {
    if (ctx.scenario.protocol === 'dtls') return ctx.role === 'client' ? dtlsClient(ctx) : dtlsServer(ctx);
    return ctx.role === 'client' ? quicClient(ctx) : quicServer(ctx);
  },
};

/** Peers by name for --peer; external ones (ngtcp2, openssl, quiche) register here as they land. */
export const PEERS: Record<string, Peer> = { self: selfPeer };
