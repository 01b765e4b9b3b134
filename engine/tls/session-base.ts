// State shared by both TLS 1.3 roles (RFC 8446 §4 message flow, §5.1 key changes on message boundaries, §6 alerts, §7.2 key updates); roles live in client.ts and server.ts.

import { CryptoError, type EcdhGroup } from '../crypto/provider.js';
import { DecodeError } from '../wire/reader.js';
import { hex } from '../wire/bytes.js';
import {
  Alert,
  CIPHER_SUITES,
  TlsError,
  type CipherSuite,
  type CipherSuiteName,
  type Epoch,
  type SignatureScheme,
  type TlsConfig,
  type TlsEvent,
  type TlsSession,
} from './api.js';
import { HandshakeReassembler, decodeKeyUpdate, encodeKeyUpdate, type HandshakeMessage } from './handshake-codec.js';
import { KeySchedule, exportKeyingMaterial, nextApplicationTrafficSecret } from './key-schedule.js';
import { DEFAULT_SIGNATURE_SCHEMES } from './signature.js';
import { Transcript } from './transcript.js';

export const DEFAULT_SUITES: readonly CipherSuiteName[] = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
export const DEFAULT_GROUPS: readonly EcdhGroup[] = ['x25519', 'secp256r1'];

export abstract class TlsSessionBase implements TlsSession {
  handshakeComplete = false;
  suite?: CipherSuite;
  alpn?: string;
  group?: EcdhGroup;
  helloRetry = false;
  resumed = false;
  earlyDataAccepted?: boolean;
  peerTransportParameters?: Uint8Array;
  peerCertificates: readonly Uint8Array[] = [];
  serverName?: string;
  ticketAppData?: Uint8Array;

  protected readonly suites: readonly CipherSuiteName[];
  protected readonly groups: readonly EcdhGroup[];
  protected readonly schemes: readonly SignatureScheme[];
  protected readonly transcript: Transcript;
  protected ks?: KeySchedule;
  protected clientRandom?: Uint8Array;
  /** The epoch whose handshake bytes we accept next; bytes at any other epoch are unexpected (§5.1). */
  protected readEpoch: Epoch = 'initial';
  protected appReadSecret?: Uint8Array;
  protected appWriteSecret?: Uint8Array;
  protected exporterSecret?: Uint8Array;
  protected resumptionMasterSecret?: Uint8Array;

  /** Set by a handler that changed the read key without changing epoch (KeyUpdate). */
  protected readKeyChanged = false;
  private readonly reassembler = new HandshakeReassembler();
  private readonly outputs: { epoch: Epoch; data: Uint8Array }[] = [];
  private readonly events: TlsEvent[] = [];
  private failure?: TlsError;

  constructor(readonly config: TlsConfig) {
    this.suites = config.cipherSuites?.length ? config.cipherSuites : DEFAULT_SUITES;
    this.groups = config.groups?.length ? config.groups : DEFAULT_GROUPS;
    this.schemes = config.signatureSchemes?.length ? config.signatureSchemes : DEFAULT_SIGNATURE_SCHEMES;
    this.transcript = new Transcript(config.crypto);
  }

  abstract start(): void;
  protected abstract handleMessage(msg: HandshakeMessage): void;

  receive(epoch: Epoch, data: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (data.length === 0) return;
    this.guard(() => {
      if (epoch !== this.readEpoch) throw new TlsError(Alert.unexpected_message, `handshake data at epoch ${epoch} while expecting ${this.readEpoch}`);
      this.reassembler.push(data);
      for (let msg = this.reassembler.next(); msg; msg = this.reassembler.next()) {
        const before = this.readEpoch;
        this.readKeyChanged = false;
        this.handleMessage(msg);
        if ((this.readEpoch !== before || this.readKeyChanged) && this.reassembler.pending > 0) {
          throw new TlsError(Alert.unexpected_message, 'handshake data continues past a key change');
        }
      }
    });
  }

  pollOutput(): { epoch: Epoch; data: Uint8Array } | undefined {
    return this.outputs.shift();
  }

  pollEvent(): TlsEvent | undefined {
    return this.events.shift();
  }

  /** Runs a step; any failure becomes a TlsError carrying an alert, recorded once, and the session stays failed. */
  protected guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      const err = toTlsError(e);
      this.failure = err;
      this.events.push({ type: 'alert', level: 'fatal', description: err.alert, sent: !err.remote });
      throw err;
    }
  }

  protected send(epoch: Epoch, data: Uint8Array, transcript = true): void {
    if (transcript) this.transcript.add(data);
    const last = this.outputs[this.outputs.length - 1];
    // Coalesce consecutive messages at one epoch so QUIC can pack a flight into few CRYPTO frames.
    if (last && last.epoch === epoch) {
      const joined = new Uint8Array(last.data.length + data.length);
      joined.set(last.data);
      joined.set(data, last.data.length);
      last.data = joined;
    } else {
      this.outputs.push({ epoch, data });
    }
  }

  protected emit(event: TlsEvent): void {
    this.events.push(event);
  }

  protected installSecret(epoch: Epoch, direction: 'read' | 'write', secret: Uint8Array): void {
    this.emit({ type: 'secret', secret: { epoch, direction, secret, suite: this.suite! } });
  }

  protected keyLog(label: string, secret: Uint8Array): void {
    if (this.config.keyLog && this.clientRandom) this.config.keyLog(`${label} ${hex(this.clientRandom)} ${hex(secret)}`);
  }

  protected suiteByName(name: CipherSuiteName): CipherSuite {
    return CIPHER_SUITES[name];
  }

  protected suiteById(id: number): CipherSuite | undefined {
    return Object.values(CIPHER_SUITES).find((s) => s.id === id);
  }

  /** Master-secret stage, common to both roles once the server Finished is in the transcript. */
  protected deriveApplicationSecrets(): { client: Uint8Array; server: Uint8Array } {
    const ks = this.ks!;
    ks.enterMaster();
    const th = this.transcript.hash();
    const client = ks.clientApplicationTrafficSecret(th);
    const server = ks.serverApplicationTrafficSecret(th);
    this.exporterSecret = ks.exporterMasterSecret(th);
    this.keyLog('CLIENT_TRAFFIC_SECRET_0', client);
    this.keyLog('SERVER_TRAFFIC_SECRET_0', server);
    this.keyLog('EXPORTER_SECRET', this.exporterSecret);
    return { client, server };
  }

  /**
   * Both Finished messages are through: drop what only the handshake needed — the transcript hash state and the key
   * schedule with its early, handshake and master secrets (RFC 9001 §4.9 discards the keys; this is the TLS side of it).
   * Kept: the traffic secrets (key updates), the exporter and resumption master secrets (exporters, tickets), the peer's
   * certificates and transport parameters, and the configuration. Issue 15: part of an idle connection's footprint.
   */
  protected releaseHandshakeState(): void {
    this.transcript.release();
    this.ks = undefined;
  }

  /** KeyUpdate and the other post-handshake messages both roles accept (§4.6.3). */
  protected handleKeyUpdate(msg: HandshakeMessage): void {
    if (this.config.quic) throw new TlsError(Alert.unexpected_message, 'KeyUpdate is forbidden in QUIC (RFC 9001 §6)');
    const requested = decodeKeyUpdate(msg.body);
    this.appReadSecret = this.nextTrafficSecret(this.appReadSecret!);
    this.emit({ type: 'key-update', direction: 'read', secret: this.appReadSecret });
    if (requested) this.sendKeyUpdate(false);
    // A KeyUpdate changes the read key, so it must end its record (§5.1): receive() checks nothing follows.
    this.readKeyChanged = true;
  }

  keyUpdate(requestPeer: boolean): void {
    if (this.failure) throw this.failure;
    if (!this.handshakeComplete || !this.appWriteSecret) throw new Error('keyUpdate() before the handshake completed');
    if (this.config.quic) throw new Error('QUIC updates keys with the key phase bit (RFC 9001 §6), not KeyUpdate');
    this.sendKeyUpdate(requestPeer);
  }

  private sendKeyUpdate(requestPeer: boolean): void {
    this.send('application', encodeKeyUpdate(requestPeer), false);
    this.appWriteSecret = this.nextTrafficSecret(this.appWriteSecret!);
    this.emit({ type: 'key-update', direction: 'write', secret: this.appWriteSecret });
  }

  nextTrafficSecret(secret: Uint8Array): Uint8Array {
    if (!this.suite) throw new Error('nextTrafficSecret() before a cipher suite was chosen');
    return nextApplicationTrafficSecret(this.config.crypto, this.suite.hash, secret);
  }

  /** TLS-Exporter (RFC 8446 §7.5) once the handshake has derived the exporter master secret. */
  exportKeyingMaterial(label: string, context: Uint8Array, length: number): Uint8Array {
    if (!this.exporterSecret || !this.suite) throw new Error('exportKeyingMaterial() before the server Finished');
    return exportKeyingMaterial(this.config.crypto, this.suite.hash, this.exporterSecret, label, context, length);
  }

  abstract sendSessionTicket(opts?: { maxEarlyData?: number; appData?: Uint8Array }): void;

  protected unexpected(msg: HandshakeMessage, state: string): never {
    throw new TlsError(Alert.unexpected_message, `handshake message type ${msg.type} in state ${state}`);
  }
}

export function toTlsError(e: unknown): TlsError {
  if (e instanceof TlsError) return e;
  if (e instanceof DecodeError) return new TlsError(Alert.decode_error, e.message);
  if (e instanceof CryptoError) return new TlsError(Alert.illegal_parameter, e.message);
  return new TlsError(Alert.internal_error, e instanceof Error ? e.message : String(e));
}
