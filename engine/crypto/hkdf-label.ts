// HKDF-Expand-Label and Derive-Secret (RFC 8446 §7.1), used by TLS 1.3, QUIC (RFC 9001 §5) and DTLS 1.3 labels.

import type { CryptoProvider, HashName } from './provider.js';
import { Writer } from '../wire/writer.js';

const enc = new TextEncoder();

/** HKDF-Expand-Label(secret, label, context, length) with the "tls13 " prefix. */
export function hkdfExpandLabel(
  crypto: CryptoProvider,
  hash: HashName,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const info = new Writer(64)
    .u16(length)
    .vec(1, enc.encode('tls13 ' + label))
    .vec(1, context)
    .finish();
  return crypto.hkdfExpand(hash, secret, info, length);
}

/** Derive-Secret(secret, label, transcriptHash) = HKDF-Expand-Label(secret, label, hash, Hash.length). */
export function deriveSecret(crypto: CryptoProvider, hash: HashName, secret: Uint8Array, label: string, transcriptHash: Uint8Array): Uint8Array {
  return hkdfExpandLabel(crypto, hash, secret, label, transcriptHash, crypto.hashLength(hash));
}
