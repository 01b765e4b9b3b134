// HKDF-Expand-Label and Derive-Secret (RFC 8446 §7.1), used by TLS 1.3, QUIC (RFC 9001 §5) and DTLS 1.3 labels.

import type { CryptoProvider, HashName } from './provider.js';

const enc = new TextEncoder();

/**
 * `opaque label<7..255>` = length byte + "tls13 " + label, per label string. A handshake expands a few dozen labels
 * per side, all from a fixed set ("key", "iv", "quic hp", "c hs traffic"...): encoding each once spares a TextEncoder
 * call and a growing Writer per expansion. Labels are program constants, so the map stays small.
 */
const labelBytes = new Map<string, Uint8Array>();

function encodedLabel(label: string): Uint8Array {
  let b = labelBytes.get(label);
  if (b === undefined) {
    const text = enc.encode('tls13 ' + label);
    if (text.length > 255) throw new RangeError(`HKDF label '${label}' is longer than 255 bytes`);
    b = new Uint8Array(1 + text.length);
    b[0] = text.length;
    b.set(text, 1);
    if (labelBytes.size < 256) labelBytes.set(label, b);
  }
  return b;
}

/** HKDF-Expand-Label(secret, label, context, length) with the "tls13 " prefix. */
export function hkdfExpandLabel(
  crypto: CryptoProvider,
  hash: HashName,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  if (length > 0xffff) throw new RangeError(`HKDF-Expand-Label length ${length} does not fit in 16 bits`);
  if (context.length > 255) throw new RangeError(`HKDF-Expand-Label context of ${context.length} bytes is longer than 255`);
  // struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } HkdfLabel
  const l = encodedLabel(label);
  const info = new Uint8Array(2 + l.length + 1 + context.length);
  info[0] = length >>> 8;
  info[1] = length & 0xff;
  info.set(l, 2);
  info[2 + l.length] = context.length;
  info.set(context, 3 + l.length);
  return crypto.hkdfExpand(hash, secret, info, length);
}

/** Derive-Secret(secret, label, transcriptHash) = HKDF-Expand-Label(secret, label, hash, Hash.length). */
export function deriveSecret(crypto: CryptoProvider, hash: HashName, secret: Uint8Array, label: string, transcriptHash: Uint8Array): Uint8Array {
  return hkdfExpandLabel(crypto, hash, secret, label, transcriptHash, crypto.hashLength(hash));
}
