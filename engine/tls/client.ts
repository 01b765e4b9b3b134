// TLS 1.3 client (RFC 8446 §4.1.2 ClientHello, §4.1.4 HelloRetryRequest, §4.2.11 PSK offers and binders, §4.2.10 early data, §4.4 authentication, §4.6.1 tickets; RFC 9001 §4 and §8 for QUIC mode).

import type { EcdhGroup, EcdhKeyPair, PublicKey } from '../crypto/provider.js';
import { equal } from '../wire/bytes.js';
import { Alert, TlsError, type CipherSuite, type SessionTicket, type SignatureScheme, type TlsConfig } from './api.js';
import {
  ExtensionType as X,
  GROUP_IDS,
  PSK_DHE_KE,
  SIGNATURE_SCHEME_IDS,
  TLS13,
  decodeAlpn,
  decodeCookie,
  decodeKeyShareServer,
  decodeU16,
  decodeU16List,
  decodeU32,
  encodeAlpn,
  encodeCookie,
  encodeKeyShareClient,
  encodeOfferedPsks,
  encodePskModes,
  encodeServerName,
  encodeSupportedVersionsClient,
  encodeU16List,
  expectEmpty,
  groupName,
  signatureSchemeName,
  type Extension,
} from './extensions.js';
import {
  HandshakeType as H,
  decodeCertificate,
  decodeCertificateRequest,
  decodeCertificateVerify,
  decodeEncryptedExtensions,
  decodeNewSessionTicket,
  decodeServerHello,
  encodeCertificate,
  encodeCertificateVerify,
  decodeClientHello,
  encodeClientHello,
  encodeEndOfEarlyData,
  encodeFinished,
  type HandshakeMessage,
  type ServerHello,
} from './handshake-codec.js';
import { KeySchedule, resumptionPsk } from './key-schedule.js';
import { authenticatePeerCertificate } from './peer-certificate.js';
import { chooseSignatureScheme, signCertificateVerify, verifyCertificateVerify } from './signature.js';
import { TlsSessionBase } from './session-base.js';

type ClientState = 'idle' | 'wait_sh' | 'wait_ee' | 'wait_cert_cr' | 'wait_cert' | 'wait_cv' | 'wait_finished' | 'connected';

/** Tickets live at most 7 days (§4.6.1); a longer lifetime from a server is a protocol error. */
const MAX_TICKET_LIFETIME = 604800;

export class TlsClient extends TlsSessionBase {
  private state: ClientState = 'idle';
  protected sessionId: Uint8Array = new Uint8Array(0);
  /** Extension types of the ClientHello actually sent: a server may only answer those (§4.2). */
  private offeredExtensions = new Set<number>();
  private readonly shares = new Map<EcdhGroup, EcdhKeyPair>();
  private cookie?: Uint8Array;
  private hrrSuite?: CipherSuite;
  /** The ticket offered in the ClientHello, if it is still offered (an HRR to another hash drops it). */
  private offeredTicket?: SessionTicket;
  private pskSchedule?: KeySchedule;
  private earlyDataOffered = false;
  private certificateRequest?: { context: Uint8Array; schemes: SignatureScheme[] };
  private serverKey?: PublicKey;
  private clientHandshakeSecret?: Uint8Array;
  private serverHandshakeSecret?: Uint8Array;

  constructor(config: TlsConfig) {
    super(config);
    if (config.role !== 'client') throw new Error('TlsClient needs role client');
  }

  start(): void {
    this.guard(() => {
      if (this.state !== 'idle') return;
      if (!this.config.verify) throw new TlsError(Alert.internal_error, 'client needs verify options (ca, or insecure)');
      const rnd = this.config.random;
      this.clientRandom = rnd(32);
      // Middlebox compatibility (RFC 8446 App. D.4) wants a non-empty session id over TCP; QUIC forbids it (RFC 9001 §8.4).
      this.sessionId = this.config.quic ? new Uint8Array(0) : rnd(32);
      const shareGroups = (this.config.keyShareGroups?.length ? this.config.keyShareGroups : [this.groups[0]!]).filter((g) => this.groups.includes(g));
      for (const g of shareGroups) this.shares.set(g, this.config.crypto.ecdhGenerate(g, rnd));
      const ticket = this.config.session;
      if (ticket && this.suites.includes(ticket.suite) && this.ticketUsable(ticket)) this.offeredTicket = ticket;
      const quicEarly = this.config.quic ? ticket?.maxEarlyData === 0xffffffff : (ticket?.maxEarlyData ?? 0) > 0;
      this.earlyDataOffered = !!(this.offeredTicket && this.config.earlyData && quicEarly && (!ticket!.alpn || this.config.alpn?.includes(ticket!.alpn)));
      this.sendClientHello();
      this.state = 'wait_sh';
      if (this.earlyDataOffered) {
        const ks = this.pskSchedule!;
        const secret = ks.clientEarlyTrafficSecret(this.transcript.hashWith(ks.hash, new Uint8Array(0)));
        this.suite = this.suiteByName(this.offeredTicket!.suite);
        this.keyLog('CLIENT_EARLY_TRAFFIC_SECRET', secret);
        this.installSecret('early', 'write', secret);
      }
    });
  }

  /** A ticket is offered only while fresh and only to the server it came from (§4.6.1, §4.2.11). */
  private ticketUsable(t: SessionTicket): boolean {
    const ageMs = this.config.clock() - t.receivedAtMs;
    if (t.serverName && this.config.serverName && t.serverName.toLowerCase() !== this.config.serverName.toLowerCase()) return false;
    return ageMs >= 0 && ageMs <= t.lifetimeSec * 1000;
  }

  private sendClientHello(): void {
    const c = this.config;
    const ext: Extension[] = [];
    if (c.serverName && !isIpLiteral(c.serverName)) ext.push({ type: X.server_name, data: encodeServerName(c.serverName) });
    ext.push({ type: X.supported_groups, data: encodeU16List(this.groups.map((g) => GROUP_IDS[g])) });
    ext.push({ type: X.signature_algorithms, data: encodeU16List(this.schemes.map((s) => SIGNATURE_SCHEME_IDS[s])) });
    if (c.alpn?.length) ext.push({ type: X.alpn, data: encodeAlpn(c.alpn) });
    if (c.quic || c.quicTransportParameters) {
      if (!c.quicTransportParameters) throw new TlsError(Alert.internal_error, 'QUIC mode needs quicTransportParameters');
      ext.push({ type: X.quic_transport_parameters, data: c.quicTransportParameters });
    }
    ext.push({ type: X.supported_versions, data: encodeSupportedVersionsClient([TLS13]) });
    ext.push({ type: X.key_share, data: encodeKeyShareClient([...this.shares].map(([g, kp]) => ({ group: GROUP_IDS[g], key: kp.publicKey }))) });
    if (this.cookie) ext.push({ type: X.cookie, data: encodeCookie(this.cookie) });
    ext.push({ type: X.psk_key_exchange_modes, data: encodePskModes([PSK_DHE_KE]) });
    if (this.earlyDataOffered && !this.helloRetry) ext.push({ type: X.early_data, data: new Uint8Array(0) });

    const suiteIds = this.hrrSuite ? [this.hrrSuite.id] : this.suites.map((n) => this.suiteByName(n).id);
    const t = this.offeredTicket;
    if (!t) {
      this.sendHello(this.encodeHello(this.clientRandom!, this.sessionId, suiteIds, ext));
      return;
    }
    // pre_shared_key goes last (§4.2.11); its binder covers the ClientHello up to the binders, so it is patched in after encoding.
    const hash = this.suiteByName(t.suite).hash;
    const hashLength = this.config.crypto.hashLength(hash);
    const age = (this.config.clock() - t.receivedAtMs + t.ageAdd) >>> 0;
    ext.push({ type: X.pre_shared_key, data: encodeOfferedPsks([{ identity: t.ticket, obfuscatedTicketAge: age }], [new Uint8Array(hashLength)]) });
    const hello = this.encodeHello(this.clientRandom!, this.sessionId, suiteIds, ext);
    const bindersLength = 2 + 1 + hashLength;
    this.pskSchedule ??= new KeySchedule(this.config.crypto, hash, t.resumptionSecret);
    const partial = hello.subarray(0, hello.length - bindersLength);
    const binder = this.pskSchedule.finishedVerifyData(this.pskSchedule.resumptionBinderKey(), this.transcript.hashWith(hash, partial));
    hello.set(binder, hello.length - hashLength);
    this.sendHello(hello);
  }

  /**
   * Encodes the ClientHello. A seam for trace replays (RFC 8448 tests substitute the trace's bytes); everything the
   * client later checks is derived from what this returns.
   */
  protected encodeHello(random: Uint8Array, sessionId: Uint8Array, suites: readonly number[], extensions: readonly Extension[]): Uint8Array {
    return encodeClientHello(random, sessionId, suites, extensions);
  }

  private sendHello(hello: Uint8Array): void {
    this.offeredExtensions = new Set(decodeClientHello(hello.subarray(4)).extensions.items.map((e) => e.type));
    this.send('initial', hello);
  }

  protected handleMessage(msg: HandshakeMessage): void {
    switch (this.state) {
      case 'wait_sh':
        if (msg.type !== H.server_hello) this.unexpected(msg, this.state);
        return this.onServerHello(msg);
      case 'wait_ee':
        if (msg.type !== H.encrypted_extensions) this.unexpected(msg, this.state);
        return this.onEncryptedExtensions(msg);
      case 'wait_cert_cr':
        if (msg.type === H.certificate_request) return this.onCertificateRequest(msg);
        if (msg.type !== H.certificate) this.unexpected(msg, this.state);
        return this.onCertificate(msg);
      case 'wait_cert':
        if (msg.type !== H.certificate) this.unexpected(msg, this.state);
        return this.onCertificate(msg);
      case 'wait_cv':
        if (msg.type !== H.certificate_verify) this.unexpected(msg, this.state);
        return this.onCertificateVerify(msg);
      case 'wait_finished':
        if (msg.type !== H.finished) this.unexpected(msg, this.state);
        return this.onFinished(msg);
      case 'connected':
        if (msg.type === H.new_session_ticket) return this.onNewSessionTicket(msg);
        if (msg.type === H.key_update) return this.handleKeyUpdate(msg);
        return this.unexpected(msg, this.state);
      default:
        return this.unexpected(msg, this.state);
    }
  }

  private checkVersionAndEcho(sh: ServerHello): CipherSuite {
    const sv = sh.extensions.get(X.supported_versions);
    if (!sv) throw new TlsError(Alert.protocol_version, 'server did not negotiate TLS 1.3 (no supported_versions)');
    if (decodeU16(sv, 'supported_versions') !== TLS13) throw new TlsError(Alert.illegal_parameter, 'server selected a version other than TLS 1.3');
    if (!equal(sh.sessionIdEcho, this.sessionId)) throw new TlsError(Alert.illegal_parameter, 'legacy_session_id_echo differs from ours');
    const suite = this.suiteById(sh.cipherSuite);
    if (!suite || !this.suites.includes(suite.name)) throw new TlsError(Alert.illegal_parameter, `server selected cipher suite 0x${sh.cipherSuite.toString(16)} we did not offer`);
    if (this.hrrSuite && suite !== this.hrrSuite) throw new TlsError(Alert.illegal_parameter, 'ServerHello cipher suite differs from the HelloRetryRequest');
    return suite;
  }

  private onServerHello(msg: HandshakeMessage): void {
    const sh = decodeServerHello(msg.body);
    if (sh.isHelloRetryRequest) return this.onHelloRetryRequest(sh, msg);
    const suite = this.checkVersionAndEcho(sh);
    for (const e of sh.extensions.items) {
      if (e.type !== X.supported_versions && e.type !== X.key_share && e.type !== X.pre_shared_key) {
        throw new TlsError(Alert.unsupported_extension, `ServerHello carries extension ${e.type}`);
      }
    }
    this.suite = suite;
    const psk = sh.extensions.get(X.pre_shared_key);
    if (psk) {
      if (!this.offeredTicket) throw new TlsError(Alert.unsupported_extension, 'server accepted a PSK we did not offer');
      if (decodeU16(psk, 'pre_shared_key') !== 0) throw new TlsError(Alert.illegal_parameter, 'server selected a PSK identity we did not offer');
      if (this.suiteByName(this.offeredTicket.suite).hash !== suite.hash) throw new TlsError(Alert.illegal_parameter, 'PSK cipher suite hash differs from the selected suite');
      this.resumed = true;
    }
    const ksData = sh.extensions.get(X.key_share);
    if (!ksData) throw new TlsError(Alert.missing_extension, 'ServerHello without key_share (only psk_dhe_ke is offered)');
    const share = decodeKeyShareServer(ksData);
    const group = groupName(share.group);
    const kp = group && this.shares.get(group);
    if (!group || !kp) throw new TlsError(Alert.illegal_parameter, `server key share for group 0x${share.group.toString(16)} we did not send`);
    this.group = group;
    const shared = kp.deriveSecret(share.key);

    this.transcript.setHash(suite.hash);
    this.transcript.add(msg.raw);
    this.ks = this.resumed ? this.pskSchedule! : new KeySchedule(this.config.crypto, suite.hash);
    this.ks.enterHandshake(shared);
    const th = this.transcript.hash();
    this.clientHandshakeSecret = this.ks.clientHandshakeTrafficSecret(th);
    this.serverHandshakeSecret = this.ks.serverHandshakeTrafficSecret(th);
    this.keyLog('CLIENT_HANDSHAKE_TRAFFIC_SECRET', this.clientHandshakeSecret);
    this.keyLog('SERVER_HANDSHAKE_TRAFFIC_SECRET', this.serverHandshakeSecret);
    this.installSecret('handshake', 'read', this.serverHandshakeSecret);
    this.installSecret('handshake', 'write', this.clientHandshakeSecret);
    this.readEpoch = 'handshake';
    this.state = 'wait_ee';
  }

  private onHelloRetryRequest(sh: ServerHello, msg: HandshakeMessage): void {
    if (this.helloRetry) throw new TlsError(Alert.unexpected_message, 'second HelloRetryRequest');
    const suite = this.checkVersionAndEcho(sh);
    for (const e of sh.extensions.items) {
      if (e.type !== X.supported_versions && e.type !== X.key_share && e.type !== X.cookie) {
        throw new TlsError(Alert.unsupported_extension, `HelloRetryRequest carries extension ${e.type}`);
      }
    }
    const ksData = sh.extensions.get(X.key_share);
    const cookie = sh.extensions.get(X.cookie);
    if (!ksData && !cookie) throw new TlsError(Alert.illegal_parameter, 'HelloRetryRequest would not change the ClientHello');
    if (ksData) {
      const id = decodeU16(ksData, 'key_share');
      const group = groupName(id);
      if (!group || !this.groups.includes(group)) throw new TlsError(Alert.illegal_parameter, `HelloRetryRequest selected group 0x${id.toString(16)} we do not support`);
      if (this.shares.has(group)) throw new TlsError(Alert.illegal_parameter, 'HelloRetryRequest selected a group we already sent a share for');
      this.shares.clear();
      this.shares.set(group, this.config.crypto.ecdhGenerate(group, this.config.random));
    }
    if (cookie) this.cookie = decodeCookie(cookie);
    this.helloRetry = true;
    this.hrrSuite = suite;
    this.suite = suite;
    this.transcript.setHash(suite.hash);
    this.transcript.replaceWithMessageHash();
    this.transcript.add(msg.raw);
    if (this.offeredTicket && this.suiteByName(this.offeredTicket.suite).hash !== suite.hash) {
      this.offeredTicket = undefined;
      this.pskSchedule = undefined;
    }
    if (this.earlyDataOffered) {
      // 0-RTT never survives a HelloRetryRequest (§4.2.10).
      this.earlyDataAccepted = false;
      this.emit({ type: 'early-data', accepted: false });
    }
    this.sendClientHello();
  }

  private onEncryptedExtensions(msg: HandshakeMessage): void {
    const ee = decodeEncryptedExtensions(msg.body);
    const c = this.config;
    for (const e of ee.items) {
      switch (e.type) {
        case X.server_name:
          expectEmpty(e.data, 'server_name');
          if (!c.serverName || isIpLiteral(c.serverName)) throw new TlsError(Alert.unsupported_extension, 'server_name acknowledged but not sent');
          break;
        case X.supported_groups:
          decodeU16List(e.data, 'supported_groups'); // the server's preference, informational only
          break;
        case X.alpn: {
          if (!c.alpn?.length) throw new TlsError(Alert.unsupported_extension, 'ALPN selected but not offered');
          const list = decodeAlpn(e.data);
          if (list.length !== 1 || !c.alpn.includes(list[0]!)) throw new TlsError(Alert.illegal_parameter, 'server selected an ALPN protocol we did not offer');
          this.alpn = list[0];
          break;
        }
        case X.early_data:
          expectEmpty(e.data, 'early_data');
          if (!this.earlyDataOffered || this.helloRetry || !this.resumed) throw new TlsError(Alert.unsupported_extension, 'early_data accepted but not offered');
          break;
        case X.quic_transport_parameters:
          if (!c.quic && !c.quicTransportParameters) throw new TlsError(Alert.unsupported_extension, 'quic_transport_parameters outside QUIC');
          this.peerTransportParameters = e.data.slice();
          break;
        case X.key_share:
        case X.supported_versions:
        case X.pre_shared_key:
        case X.cookie:
        case X.psk_key_exchange_modes:
        case X.signature_algorithms:
        case X.signature_algorithms_cert:
          throw new TlsError(Alert.illegal_parameter, `extension ${e.type} is not allowed in EncryptedExtensions`);
        default:
          // An extension we offered but do not act on (e.g. record_size_limit from a replayed hello) is ignored.
          if (!this.offeredExtensions.has(e.type)) throw new TlsError(Alert.unsupported_extension, `EncryptedExtensions carries extension ${e.type} we did not offer`);
      }
    }
    if (c.quic && !this.peerTransportParameters) throw new TlsError(Alert.missing_extension, 'server sent no quic_transport_parameters');
    if (this.earlyDataOffered && !this.helloRetry) {
      this.earlyDataAccepted = ee.has(X.early_data);
      // 0-RTT was sent under the ticket's parameters; a server accepting it with others is lying (§4.2.10).
      if (this.earlyDataAccepted && (this.suite!.name !== this.offeredTicket!.suite || this.alpn !== this.offeredTicket!.alpn)) {
        throw new TlsError(Alert.illegal_parameter, 'server accepted 0-RTT with a different cipher suite or ALPN than the ticket');
      }
      this.emit({ type: 'early-data', accepted: this.earlyDataAccepted });
    }
    this.transcript.add(msg.raw);
    this.state = this.resumed ? 'wait_finished' : 'wait_cert_cr';
  }

  private onCertificateRequest(msg: HandshakeMessage): void {
    const cr = decodeCertificateRequest(msg.body);
    const sa = cr.extensions.get(X.signature_algorithms);
    if (!sa) throw new TlsError(Alert.missing_extension, 'CertificateRequest without signature_algorithms');
    if (cr.context.length !== 0) throw new TlsError(Alert.illegal_parameter, 'handshake CertificateRequest with a non-empty context');
    const schemes = decodeU16List(sa, 'signature_algorithms').map(signatureSchemeName).filter((s): s is SignatureScheme => !!s);
    this.certificateRequest = { context: cr.context.slice(), schemes };
    this.transcript.add(msg.raw);
    this.state = 'wait_cert';
  }

  private onCertificate(msg: HandshakeMessage): void {
    const cert = decodeCertificate(msg.body);
    if (cert.context.length !== 0) throw new TlsError(Alert.illegal_parameter, 'server Certificate with a non-empty context');
    if (cert.certificates.length === 0) throw new TlsError(Alert.decode_error, 'server sent an empty Certificate');
    this.peerCertificates = cert.certificates;
    const v = this.config.verify!;
    this.serverKey = authenticatePeerCertificate(cert.certificates, {
      crypto: this.config.crypto,
      anchors: v.ca,
      hostname: this.config.serverName,
      now: this.config.clock(),
      insecure: v.insecure,
      purpose: 'server',
    });
    this.transcript.add(msg.raw);
    this.state = 'wait_cv';
  }

  private onCertificateVerify(msg: HandshakeMessage): void {
    const cv = decodeCertificateVerify(msg.body);
    verifyCertificateVerify(this.config.crypto, signatureSchemeName(cv.scheme), this.schemes, this.serverKey!, 'server', this.transcript.hash(), cv.signature);
    this.transcript.add(msg.raw);
    this.state = 'wait_finished';
  }

  private onFinished(msg: HandshakeMessage): void {
    const ks = this.ks!;
    const expected = ks.finishedVerifyData(this.serverHandshakeSecret!, this.transcript.hash());
    if (!equal(expected, msg.body)) throw new TlsError(Alert.decrypt_error, 'server Finished does not verify');
    this.transcript.add(msg.raw);
    const app = this.deriveApplicationSecrets();
    this.appReadSecret = app.server;
    this.appWriteSecret = app.client;
    this.installSecret('application', 'read', app.server);

    // Over TCP the client ends 0-RTT with EndOfEarlyData under the early key; QUIC has no such message (RFC 9001 §8.3).
    if (this.earlyDataAccepted && !this.config.quic) this.send('early', encodeEndOfEarlyData());
    if (this.certificateRequest) this.sendClientCertificate(this.certificateRequest);
    this.send('handshake', encodeFinished(ks.finishedVerifyData(this.clientHandshakeSecret!, this.transcript.hash())));
    this.resumptionMasterSecret = ks.resumptionMasterSecret(this.transcript.hash());
    this.installSecret('application', 'write', app.client);
    this.readEpoch = 'application';
    this.state = 'connected';
    this.handshakeComplete = true;
    this.emit({ type: 'handshake-complete' });
    this.shares.clear(); // the ECDHE private keys
    this.pskSchedule = undefined;
    this.clientHandshakeSecret = undefined;
    this.serverHandshakeSecret = undefined;
    this.cookie = undefined;
    this.certificateRequest = undefined;
    this.releaseHandshakeState();
  }

  private sendClientCertificate(req: { context: Uint8Array; schemes: SignatureScheme[] }): void {
    const { certificateChain: chain, privateKey: key } = this.config;
    const scheme = chain?.length && key ? chooseSignatureScheme(key, req.schemes, this.schemes) : undefined;
    if (!scheme || !chain || !key) {
      // No usable certificate: an empty Certificate lets the server decide (§4.4.2).
      this.send('handshake', encodeCertificate(req.context, []));
      return;
    }
    this.send('handshake', encodeCertificate(req.context, chain));
    const sig = signCertificateVerify(this.config.crypto, scheme, key, 'client', this.transcript.hash(), this.config.random);
    this.send('handshake', encodeCertificateVerify(SIGNATURE_SCHEME_IDS[scheme], sig));
  }

  private onNewSessionTicket(msg: HandshakeMessage): void {
    const nst = decodeNewSessionTicket(msg.body);
    if (nst.lifetimeSec > MAX_TICKET_LIFETIME) throw new TlsError(Alert.illegal_parameter, `ticket lifetime ${nst.lifetimeSec}s exceeds 7 days`);
    let maxEarlyData = 0;
    for (const e of nst.extensions.items) {
      if (e.type === X.early_data) maxEarlyData = decodeU32(e.data, 'early_data');
    }
    if (this.config.quic && maxEarlyData !== 0 && maxEarlyData !== 0xffffffff) {
      throw new TlsError(Alert.illegal_parameter, 'QUIC ticket max_early_data_size must be 0xffffffff (RFC 9001 §4.6.1)');
    }
    if (nst.lifetimeSec === 0) return; // the server says: do not use this ticket
    const suite = this.suite!;
    this.emit({
      type: 'ticket',
      ticket: {
        serverName: this.config.serverName ?? '',
        suite: suite.name,
        ticket: nst.ticket,
        resumptionSecret: resumptionPsk(this.config.crypto, suite.hash, this.resumptionMasterSecret!, nst.nonce),
        ageAdd: nst.ageAdd,
        lifetimeSec: nst.lifetimeSec,
        receivedAtMs: this.config.clock(),
        maxEarlyData,
        alpn: this.alpn,
      },
    });
  }

  sendSessionTicket(): void {
    throw new Error('sendSessionTicket() is a server operation');
  }
}

function isIpLiteral(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':');
}
