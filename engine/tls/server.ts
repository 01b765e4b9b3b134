// TLS 1.3 server (RFC 8446 §4.1.1 negotiation, §4.1.4 HelloRetryRequest, §4.2.11 PSK and binder check, §4.2.10 early data, §4.3 server parameters, §4.4 authentication, §4.6.1 tickets; RFC 9001 §4 and §8 for QUIC mode).

import type { EcdhGroup, PublicKey } from '../crypto/provider.js';
import { equal } from '../wire/bytes.js';
import { Alert, TlsError, type CipherSuite, type SignatureScheme, type TlsConfig } from './api.js';
import {
  ExtensionType as X,
  GROUP_IDS,
  PSK_DHE_KE,
  SIGNATURE_SCHEME_IDS,
  TLS13,
  decodeAlpn,
  decodeCookie,
  decodeKeyShareClient,
  decodeOfferedPsks,
  decodePskModes,
  decodeServerName,
  decodeSupportedVersionsClient,
  decodeU16List,
  encodeAlpn,
  encodeCookie,
  encodeKeyShareServer,
  encodeU16,
  encodeU16List,
  encodeU32,
  expectEmpty,
  signatureSchemeName,
  type Extension,
  type KeyShareEntry,
} from './extensions.js';
import {
  HRR_RANDOM,
  HandshakeType as H,
  decodeCertificate,
  decodeCertificateVerify,
  decodeClientHello,
  encodeCertificate,
  encodeCertificateRequest,
  encodeCertificateVerify,
  encodeEncryptedExtensions,
  encodeFinished,
  encodeNewSessionTicket,
  encodeServerHello,
  type ClientHello,
  type HandshakeMessage,
} from './handshake-codec.js';
import { KeySchedule, resumptionPsk } from './key-schedule.js';
import { authenticatePeerCertificate } from './peer-certificate.js';
import { chooseSignatureScheme, signCertificateVerify, verifyCertificateVerify } from './signature.js';
import { TlsSessionBase } from './session-base.js';
import { openTicket, sealTicket, type TicketState } from './ticket.js';

type ServerState = 'wait_ch' | 'wait_ch2' | 'wait_eoed' | 'wait_cert' | 'wait_cv' | 'wait_finished' | 'connected';

const DEFAULT_TICKET_LIFETIME = 7200;
const MAX_TICKET_LIFETIME = 604800;
/** Non-QUIC 0-RTT budget written into tickets when the caller does not choose one. */
const DEFAULT_MAX_EARLY_DATA = 16384;
/** How far the client's view of the ticket age may drift from ours before 0-RTT is refused (§8.3 freshness check). */
const EARLY_DATA_AGE_TOLERANCE_MS = 10_000;

export class TlsServer extends TlsSessionBase {
  private state: ServerState = 'wait_ch';
  private cookie?: Uint8Array;
  private hrrGroup?: EcdhGroup;
  private clientHandshakeSecret?: Uint8Array;
  private clientApplicationSecret?: Uint8Array;
  private clientCertRequested = false;
  private clientKey?: PublicKey;
  private ticketNonce = 0;
  private resumedTicket?: TicketState;
  /** Ticket age as the client reports it and as our clock says, for the 0-RTT freshness check. */
  private pskClientAge = 0;
  private pskServerAge = 0;

  constructor(config: TlsConfig) {
    super(config);
    if (config.role !== 'server') throw new Error('TlsServer needs role server');
  }

  start(): void {
    // The server speaks only after the ClientHello arrives.
  }

  protected handleMessage(msg: HandshakeMessage): void {
    switch (this.state) {
      case 'wait_ch':
      case 'wait_ch2':
        if (msg.type !== H.client_hello) this.unexpected(msg, this.state);
        return this.onClientHello(msg);
      case 'wait_eoed':
        if (msg.type !== H.end_of_early_data) this.unexpected(msg, this.state);
        expectEmpty(msg.body, 'EndOfEarlyData');
        this.transcript.add(msg.raw);
        this.installSecret('handshake', 'read', this.clientHandshakeSecret!);
        this.readEpoch = 'handshake';
        this.state = this.clientCertRequested ? 'wait_cert' : 'wait_finished';
        return;
      case 'wait_cert':
        if (msg.type !== H.certificate) this.unexpected(msg, this.state);
        return this.onClientCertificate(msg);
      case 'wait_cv':
        if (msg.type !== H.certificate_verify) this.unexpected(msg, this.state);
        return this.onClientCertificateVerify(msg);
      case 'wait_finished':
        if (msg.type !== H.finished) this.unexpected(msg, this.state);
        return this.onClientFinished(msg);
      case 'connected':
        if (msg.type === H.key_update) return this.handleKeyUpdate(msg);
        return this.unexpected(msg, this.state);
    }
  }

  private onClientHello(msg: HandshakeMessage): void {
    const c = this.config;
    const ch = decodeClientHello(msg.body);
    const ext = ch.extensions;
    const second = this.state === 'wait_ch2';
    this.clientRandom ??= ch.random.slice();

    const sv = ext.get(X.supported_versions);
    if (!sv || !decodeSupportedVersionsClient(sv).includes(TLS13)) throw new TlsError(Alert.protocol_version, 'client does not offer TLS 1.3');
    const last = ext.items[ext.items.length - 1];
    if (ext.has(X.pre_shared_key) && last?.type !== X.pre_shared_key) throw new TlsError(Alert.illegal_parameter, 'pre_shared_key is not the last extension');
    if (second) {
      const cookie = ext.get(X.cookie);
      if (!cookie || !equal(decodeCookie(cookie), this.cookie!)) throw new TlsError(Alert.illegal_parameter, 'second ClientHello does not echo our cookie');
      if (ext.has(X.early_data)) throw new TlsError(Alert.illegal_parameter, 'early_data after HelloRetryRequest');
      if (!equal(ch.random, this.clientRandom!)) throw new TlsError(Alert.illegal_parameter, 'second ClientHello changed its random');
    }

    // Cipher suite: ours in preference order; after an HRR it must stay the same.
    const suite = second
      ? this.suite!
      : this.suites.map((n) => this.suiteByName(n)).find((s) => ch.cipherSuites.includes(s.id));
    if (!suite) throw new TlsError(Alert.handshake_failure, 'no cipher suite in common');
    if (second && !ch.cipherSuites.includes(suite.id)) throw new TlsError(Alert.illegal_parameter, 'second ClientHello dropped the selected cipher suite');

    // Group: the first of ours the client supports; without its share we ask for one (HRR).
    const sgData = ext.get(X.supported_groups);
    const ksData = ext.get(X.key_share);
    if (!sgData || !ksData) throw new TlsError(Alert.missing_extension, 'ClientHello without supported_groups or key_share (only (EC)DHE is supported)');
    const clientGroups = decodeU16List(sgData, 'supported_groups');
    const shares = decodeKeyShareClient(ksData);
    for (const s of shares) if (!clientGroups.includes(s.group)) throw new TlsError(Alert.illegal_parameter, 'key share for a group not in supported_groups');
    const group = this.groups.find((g) => clientGroups.includes(GROUP_IDS[g]));
    if (!group) throw new TlsError(Alert.handshake_failure, 'no key exchange group in common');
    const share: KeyShareEntry | undefined = shares.find((s) => s.group === GROUP_IDS[group]);
    if (second && (!share || group !== this.hrrGroup || shares.length !== 1)) {
      throw new TlsError(Alert.illegal_parameter, 'second ClientHello lacks exactly the share the HelloRetryRequest asked for');
    }

    if (ext.has(X.pre_shared_key) && !ext.has(X.psk_key_exchange_modes)) throw new TlsError(Alert.missing_extension, 'pre_shared_key without psk_key_exchange_modes');
    const alpn = this.selectAlpn(ch);
    const snData = ext.get(X.server_name);
    if (snData) this.serverName = decodeServerName(snData);
    const tp = ext.get(X.quic_transport_parameters);
    if (c.quic && !tp) throw new TlsError(Alert.missing_extension, 'QUIC ClientHello without quic_transport_parameters');
    if (tp && (c.quic || c.quicTransportParameters)) this.peerTransportParameters = tp.slice();

    if (!share) return this.sendHelloRetryRequest(ch, msg, suite, group);

    this.suite = suite;
    this.group = group;
    this.alpn = alpn;
    const pskIndex = this.acceptPsk(ch, msg, suite);
    let signatureScheme: SignatureScheme | undefined;
    if (pskIndex === undefined) signatureScheme = this.chooseServerSignature(ch);

    const earlyOffered = ext.has(X.early_data);
    this.transcript.setHash(suite.hash);
    this.transcript.add(msg.raw);
    if (earlyOffered) {
      this.earlyDataAccepted = this.acceptEarlyData(pskIndex, second);
      if (this.earlyDataAccepted) {
        const secret = this.ks!.clientEarlyTrafficSecret(this.transcript.hash());
        this.keyLog('CLIENT_EARLY_TRAFFIC_SECRET', secret);
        this.installSecret('early', 'read', secret);
      }
      this.emit({ type: 'early-data', accepted: this.earlyDataAccepted });
    }

    // Random before key share: the order RFC 8448 lists them, so its trace can be replayed by injecting both.
    const serverRandom = c.random(32);
    const kp = c.crypto.ecdhGenerate(group, c.random);
    const shared = kp.deriveSecret(share.key);
    const shExt: Extension[] = [];
    if (pskIndex !== undefined) shExt.push({ type: X.pre_shared_key, data: encodeU16(pskIndex) });
    shExt.push({ type: X.key_share, data: encodeKeyShareServer({ group: GROUP_IDS[group], key: kp.publicKey }) });
    shExt.push({ type: X.supported_versions, data: encodeU16(TLS13) });
    this.send('initial', encodeServerHello(serverRandom, ch.sessionId, suite.id, shExt));

    this.ks ??= new KeySchedule(c.crypto, suite.hash);
    this.ks.enterHandshake(shared);
    const th = this.transcript.hash();
    const serverHs = this.ks.serverHandshakeTrafficSecret(th);
    this.clientHandshakeSecret = this.ks.clientHandshakeTrafficSecret(th);
    this.keyLog('CLIENT_HANDSHAKE_TRAFFIC_SECRET', this.clientHandshakeSecret);
    this.keyLog('SERVER_HANDSHAKE_TRAFFIC_SECRET', serverHs);
    this.installSecret('handshake', 'write', serverHs);
    // Over TCP the client's early data comes first under the early key; its handshake key applies after EndOfEarlyData.
    const awaitEndOfEarlyData = this.earlyDataAccepted && !c.quic;
    if (!awaitEndOfEarlyData) this.installSecret('handshake', 'read', this.clientHandshakeSecret);

    const eeExt: Extension[] = [];
    if (this.serverName !== undefined && pskIndex === undefined) eeExt.push({ type: X.server_name, data: new Uint8Array(0) });
    if (alpn) eeExt.push({ type: X.alpn, data: encodeAlpn([alpn]) });
    if (this.earlyDataAccepted) eeExt.push({ type: X.early_data, data: new Uint8Array(0) });
    if (c.quic || (c.quicTransportParameters && tp)) {
      if (!c.quicTransportParameters) throw new TlsError(Alert.internal_error, 'QUIC mode needs quicTransportParameters');
      eeExt.push({ type: X.quic_transport_parameters, data: c.quicTransportParameters });
    }
    this.send('handshake', this.encodeEncryptedExtensions(eeExt));

    if (pskIndex === undefined) {
      // Servers authenticating with a PSK must not ask for a client certificate (§4.3.2).
      this.clientCertRequested = !!(c.requestClientCertificate || c.requireClientCertificate);
      if (this.clientCertRequested) {
        const sa = encodeU16List(this.schemes.map((s) => SIGNATURE_SCHEME_IDS[s]));
        this.send('handshake', encodeCertificateRequest(new Uint8Array(0), [{ type: X.signature_algorithms, data: sa }]));
      }
      this.send('handshake', encodeCertificate(new Uint8Array(0), c.certificateChain!));
      const sig = signCertificateVerify(c.crypto, signatureScheme!, c.privateKey!, 'server', this.transcript.hash(), c.random);
      this.send('handshake', encodeCertificateVerify(SIGNATURE_SCHEME_IDS[signatureScheme!], sig));
    }
    this.send('handshake', encodeFinished(this.ks.finishedVerifyData(serverHs, this.transcript.hash())));

    const app = this.deriveApplicationSecrets();
    this.appWriteSecret = app.server;
    this.clientApplicationSecret = app.client;
    this.installSecret('application', 'write', app.server);
    this.readEpoch = awaitEndOfEarlyData ? 'early' : 'handshake';
    this.state = awaitEndOfEarlyData ? 'wait_eoed' : this.clientCertRequested ? 'wait_cert' : 'wait_finished';
  }

  /** The resumption state in a PSK identity, if it is one of our tickets. A seam for trace replays (RFC 8448 §4). */
  protected openTicket(identity: Uint8Array): TicketState | undefined {
    return openTicket(this.config.crypto, this.config.ticketKey!, identity);
  }

  /** Encodes EncryptedExtensions. A seam for trace replays (RFC 8448 tests substitute the trace's message). */
  protected encodeEncryptedExtensions(extensions: readonly Extension[]): Uint8Array {
    return encodeEncryptedExtensions(extensions);
  }

  private selectAlpn(ch: ClientHello): string | undefined {
    const data = ch.extensions.get(X.alpn);
    const ours = this.config.alpn;
    if (!data || !ours?.length) return undefined;
    const offered = decodeAlpn(data);
    const pick = ours.find((p) => offered.includes(p));
    if (!pick) throw new TlsError(Alert.no_application_protocol, `no ALPN protocol in common (client offered ${offered.join(', ')})`);
    return pick;
  }

  private chooseServerSignature(ch: ClientHello): SignatureScheme {
    const c = this.config;
    if (!c.certificateChain?.length || !c.privateKey) throw new TlsError(Alert.internal_error, 'server has no certificate and key');
    const sa = ch.extensions.get(X.signature_algorithms);
    if (!sa) throw new TlsError(Alert.missing_extension, 'ClientHello without signature_algorithms');
    const peer = decodeU16List(sa, 'signature_algorithms').map(signatureSchemeName).filter((s): s is SignatureScheme => !!s);
    const scheme = chooseSignatureScheme(c.privateKey, peer, this.schemes);
    if (!scheme) throw new TlsError(Alert.handshake_failure, 'no signature scheme in common for our key');
    return scheme;
  }

  private sendHelloRetryRequest(ch: ClientHello, msg: HandshakeMessage, suite: CipherSuite, group: EcdhGroup): void {
    if (this.state === 'wait_ch2') throw new TlsError(Alert.illegal_parameter, 'second ClientHello still lacks a usable key share');
    this.helloRetry = true;
    this.suite = suite;
    this.hrrGroup = group;
    // A fresh cookie the client must echo; it proves the second ClientHello answers this HRR.
    this.cookie = this.config.random(16);
    this.transcript.setHash(suite.hash);
    this.transcript.add(msg.raw);
    this.transcript.replaceWithMessageHash();
    const ext: Extension[] = [
      { type: X.supported_versions, data: encodeU16(TLS13) },
      { type: X.key_share, data: encodeU16(GROUP_IDS[group]) },
      { type: X.cookie, data: encodeCookie(this.cookie) },
    ];
    this.send('initial', encodeServerHello(HRR_RANDOM, ch.sessionId, suite.id, ext));
    if (ch.extensions.has(X.early_data)) {
      this.earlyDataAccepted = false;
      this.emit({ type: 'early-data', accepted: false });
    }
    this.state = 'wait_ch2';
  }

  /** Index of the accepted PSK identity, after its binder verified; undefined for a full handshake. */
  private acceptPsk(ch: ClientHello, msg: HandshakeMessage, suite: CipherSuite): number | undefined {
    const c = this.config;
    const data = ch.extensions.get(X.pre_shared_key);
    if (!data || !c.ticketKey) return undefined;
    if (!decodePskModes(ch.extensions.get(X.psk_key_exchange_modes)!).includes(PSK_DHE_KE)) return undefined;
    const offered = decodeOfferedPsks(data);
    const now = c.clock();
    for (let i = 0; i < offered.identities.length; i++) {
      const state = this.openTicket(offered.identities[i]!.identity);
      if (!state) continue;
      if (now - state.issuedAtMs > state.lifetimeSec * 1000 || now < state.issuedAtMs) continue;
      if (this.suiteByName(state.suite).hash !== suite.hash) continue;
      const ks = new KeySchedule(c.crypto, suite.hash, state.psk);
      const partial = msg.raw.subarray(0, msg.raw.length - offered.bindersLength);
      const expected = ks.finishedVerifyData(ks.resumptionBinderKey(), this.transcript.hashWith(suite.hash, partial));
      if (!equal(expected, offered.binders[i]!)) throw new TlsError(Alert.decrypt_error, 'PSK binder does not verify');
      this.ks = ks;
      this.resumed = true;
      this.resumedTicket = state;
      this.ticketAppData = state.appData;
      this.pskClientAge = (offered.identities[i]!.obfuscatedTicketAge - state.ageAdd) >>> 0;
      this.pskServerAge = now - state.issuedAtMs;
      return i;
    }
    return undefined;
  }
  private acceptEarlyData(pskIndex: number | undefined, second: boolean): boolean {
    const t = this.resumedTicket;
    if (!this.config.earlyData || pskIndex !== 0 || second || !t) return false;
    if (t.maxEarlyData === 0 || (this.config.quic && t.maxEarlyData !== 0xffffffff)) return false;
    if (t.suite !== this.suite!.name) return false;
    if ((t.alpn ?? undefined) !== this.alpn) return false;
    if (t.serverName !== undefined && t.serverName !== this.serverName) return false;
    if (Math.abs(this.pskClientAge - this.pskServerAge) > EARLY_DATA_AGE_TOLERANCE_MS) return false;
    return this.config.acceptEarlyData ? this.config.acceptEarlyData(t.appData) : true;
  }

  private onClientCertificate(msg: HandshakeMessage): void {
    const cert = decodeCertificate(msg.body);
    if (cert.context.length !== 0) throw new TlsError(Alert.illegal_parameter, 'client Certificate context differs from the request');
    this.transcript.add(msg.raw);
    if (cert.certificates.length === 0) {
      if (this.config.requireClientCertificate) throw new TlsError(Alert.certificate_required, 'client sent no certificate');
      this.state = 'wait_finished';
      return;
    }
    this.peerCertificates = cert.certificates;
    const v = this.config.verify;
    if (!v) throw new TlsError(Alert.internal_error, 'server requests client certificates without verify options');
    this.clientKey = authenticatePeerCertificate(cert.certificates, { crypto: this.config.crypto, anchors: v.ca, now: this.config.clock(), insecure: v.insecure, purpose: 'client' });
    this.state = 'wait_cv';
  }

  private onClientCertificateVerify(msg: HandshakeMessage): void {
    const cv = decodeCertificateVerify(msg.body);
    verifyCertificateVerify(this.config.crypto, signatureSchemeName(cv.scheme), this.schemes, this.clientKey!, 'client', this.transcript.hash(), cv.signature);
    this.transcript.add(msg.raw);
    this.state = 'wait_finished';
  }

  private onClientFinished(msg: HandshakeMessage): void {
    const expected = this.ks!.finishedVerifyData(this.clientHandshakeSecret!, this.transcript.hash());
    if (!equal(expected, msg.body)) throw new TlsError(Alert.decrypt_error, 'client Finished does not verify');
    this.transcript.add(msg.raw);
    this.resumptionMasterSecret = this.ks!.resumptionMasterSecret(this.transcript.hash());
    this.appReadSecret = this.clientApplicationSecret;
    this.installSecret('application', 'read', this.clientApplicationSecret!);
    this.readEpoch = 'application';
    this.state = 'connected';
    this.handshakeComplete = true;
    this.emit({ type: 'handshake-complete' });
    if (this.config.ticketKey) for (let i = 0; i < (this.config.ticketCount ?? 1); i++) this.issueTicket({});
    this.clientHandshakeSecret = undefined;
    this.clientApplicationSecret = undefined; // appReadSecret holds it
    this.cookie = undefined;
    this.releaseHandshakeState();
  }

  sendSessionTicket(opts: { maxEarlyData?: number; appData?: Uint8Array } = {}): void {
    this.guard(() => {
      if (!this.handshakeComplete) throw new Error('sendSessionTicket() before the handshake completed');
      if (!this.config.ticketKey) throw new Error('sendSessionTicket() needs config.ticketKey');
      this.issueTicket(opts);
    });
  }

  private issueTicket(opts: { maxEarlyData?: number; appData?: Uint8Array }): void {
    const c = this.config;
    const suite = this.suite!;
    const nonce = new Uint8Array(8);
    new DataView(nonce.buffer).setUint32(4, this.ticketNonce++);
    const lifetimeSec = Math.min(c.ticketLifetimeSec ?? DEFAULT_TICKET_LIFETIME, MAX_TICKET_LIFETIME);
    let maxEarlyData = opts.maxEarlyData ?? (c.earlyData ? (c.quic ? 0xffffffff : DEFAULT_MAX_EARLY_DATA) : 0);
    // QUIC signals 0-RTT permission with exactly 0xffffffff; other values are a protocol violation there (RFC 9001 §4.6.1).
    if (c.quic && maxEarlyData !== 0) maxEarlyData = 0xffffffff;
    const r4 = c.random(4);
    const ageAdd = new DataView(r4.buffer, r4.byteOffset, 4).getUint32(0);
    const psk = resumptionPsk(c.crypto, suite.hash, this.resumptionMasterSecret!, nonce);
    const ticket = sealTicket(c.crypto, c.ticketKey!, c.random, {
      suite: suite.name,
      psk,
      issuedAtMs: c.clock(),
      lifetimeSec,
      ageAdd,
      maxEarlyData,
      alpn: this.alpn,
      serverName: this.serverName,
      appData: opts.appData,
    });
    const ext: Extension[] = maxEarlyData ? [{ type: X.early_data, data: encodeU32(maxEarlyData) }] : [];
    this.send('application', encodeNewSessionTicket({ lifetimeSec, ageAdd, nonce, ticket }, ext), false);
  }
}
