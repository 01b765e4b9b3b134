// TLS 1.3 key schedule (RFC 8446 §7.1 secrets, §7.2 traffic secret updates, §7.3 traffic keys, §4.4.4 Finished, §4.6.1 resumption PSK, §7.5 exporters).

import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { deriveSecret, hkdfExpandLabel } from '../crypto/hkdf-label.js';
import type { CipherSuite } from './api.js';

/**
 * One handshake's chain of secrets. The stages are advanced explicitly (early → handshake → master) because the
 * inputs arrive at different times: the PSK with the ClientHello, the ECDHE share with the ServerHello.
 */
export class KeySchedule {
  readonly hashLength: number;
  private readonly emptyHash: Uint8Array;
  /** Early Secret = HKDF-Extract(0, PSK or zeros). */
  readonly earlySecret: Uint8Array;
  handshakeSecret?: Uint8Array;
  masterSecret?: Uint8Array;

  constructor(
    readonly crypto: CryptoProvider,
    readonly hash: HashName,
    psk?: Uint8Array,
  ) {
    this.hashLength = crypto.hashLength(hash);
    this.emptyHash = crypto.hash(hash, new Uint8Array(0));
    const zeros = new Uint8Array(this.hashLength);
    this.earlySecret = crypto.hkdfExtract(hash, zeros, psk ?? zeros);
  }

  private derive(secret: Uint8Array, label: string, transcriptHash: Uint8Array): Uint8Array {
    return deriveSecret(this.crypto, this.hash, secret, label, transcriptHash);
  }

  /** binder_key for resumption PSKs (external PSKs would use "ext binder"). */
  resumptionBinderKey(): Uint8Array {
    return this.derive(this.earlySecret, 'res binder', this.emptyHash);
  }

  clientEarlyTrafficSecret(clientHelloHash: Uint8Array): Uint8Array {
    return this.derive(this.earlySecret, 'c e traffic', clientHelloHash);
  }

  earlyExporterMasterSecret(clientHelloHash: Uint8Array): Uint8Array {
    return this.derive(this.earlySecret, 'e exp master', clientHelloHash);
  }

  /** Mixes in the (EC)DHE shared secret. */
  enterHandshake(sharedSecret: Uint8Array): Uint8Array {
    const salt = this.derive(this.earlySecret, 'derived', this.emptyHash);
    this.handshakeSecret = this.crypto.hkdfExtract(this.hash, salt, sharedSecret);
    return this.handshakeSecret;
  }

  clientHandshakeTrafficSecret(serverHelloHash: Uint8Array): Uint8Array {
    return this.derive(this.need(this.handshakeSecret), 'c hs traffic', serverHelloHash);
  }

  serverHandshakeTrafficSecret(serverHelloHash: Uint8Array): Uint8Array {
    return this.derive(this.need(this.handshakeSecret), 's hs traffic', serverHelloHash);
  }

  enterMaster(): Uint8Array {
    const salt = this.derive(this.need(this.handshakeSecret), 'derived', this.emptyHash);
    this.masterSecret = this.crypto.hkdfExtract(this.hash, salt, new Uint8Array(this.hashLength));
    return this.masterSecret;
  }

  clientApplicationTrafficSecret(serverFinishedHash: Uint8Array): Uint8Array {
    return this.derive(this.need(this.masterSecret), 'c ap traffic', serverFinishedHash);
  }

  serverApplicationTrafficSecret(serverFinishedHash: Uint8Array): Uint8Array {
    return this.derive(this.need(this.masterSecret), 's ap traffic', serverFinishedHash);
  }

  exporterMasterSecret(serverFinishedHash: Uint8Array): Uint8Array {
    return this.derive(this.need(this.masterSecret), 'exp master', serverFinishedHash);
  }

  resumptionMasterSecret(clientFinishedHash: Uint8Array): Uint8Array {
    return this.derive(this.need(this.masterSecret), 'res master', clientFinishedHash);
  }

  /** verify_data = HMAC(finished_key, transcript hash); also computes PSK binders with the binder key as base. */
  finishedVerifyData(baseKey: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
    const finishedKey = hkdfExpandLabel(this.crypto, this.hash, baseKey, 'finished', new Uint8Array(0), this.hashLength);
    return this.crypto.hmac(this.hash, finishedKey, transcriptHash);
  }

  private need(s: Uint8Array | undefined): Uint8Array {
    if (!s) throw new Error('key schedule used out of order');
    return s;
  }
}

/** PSK for a ticket: HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length). */
export function resumptionPsk(crypto: CryptoProvider, hash: HashName, resumptionMasterSecret: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hkdfExpandLabel(crypto, hash, resumptionMasterSecret, 'resumption', nonce, crypto.hashLength(hash));
}

/** application_traffic_secret_N+1 (RFC 8446 §7.2); QUIC key update reuses it with its own labels downstream. */
export function nextApplicationTrafficSecret(crypto: CryptoProvider, hash: HashName, secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(crypto, hash, secret, 'traffic upd', new Uint8Array(0), crypto.hashLength(hash));
}

/** Record protection key and IV for TLS-over-TCP (RFC 8446 §7.3). QUIC uses its own "quic key" labels (RFC 9001 §5.1). */
export function trafficKeys(crypto: CryptoProvider, suite: CipherSuite, secret: Uint8Array): { key: Uint8Array; iv: Uint8Array } {
  return {
    key: hkdfExpandLabel(crypto, suite.hash, secret, 'key', new Uint8Array(0), suite.keyLength),
    iv: hkdfExpandLabel(crypto, suite.hash, secret, 'iv', new Uint8Array(0), 12),
  };
}

/** TLS-Exporter(label, context, length) from an exporter master secret (RFC 8446 §7.5). */
export function exportKeyingMaterial(
  crypto: CryptoProvider,
  hash: HashName,
  exporterMasterSecret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const inner = deriveSecret(crypto, hash, exporterMasterSecret, label, crypto.hash(hash, new Uint8Array(0)));
  return hkdfExpandLabel(crypto, hash, inner, 'exporter', crypto.hash(hash, context), length);
}
