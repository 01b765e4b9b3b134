// The TLS 1.2 PRF (RFC 5246 §5), the extended master secret (RFC 7627 §4) and the key block (RFC 5246 §6.3).

import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { concat, utf8 } from '../wire/bytes.js';

/** PRF(secret, label, seed) = P_hash(secret, label + seed), truncated to `length` bytes. */
export function prf(crypto: CryptoProvider, hash: HashName, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const labelSeed = concat(utf8.encode(label), seed);
  const out = new Uint8Array(length);
  let a: Uint8Array = labelSeed; // A(0)
  let filled = 0;
  while (filled < length) {
    a = crypto.hmac(hash, secret, a);
    const block = crypto.hmac(hash, secret, concat(a, labelSeed));
    const take = Math.min(block.length, length - filled);
    out.set(block.subarray(0, take), filled);
    filled += take;
  }
  return out;
}

/** RFC 7627 §4: the master secret bound to the session hash (transcript through ClientKeyExchange). */
export function extendedMasterSecret(crypto: CryptoProvider, hash: HashName, preMasterSecret: Uint8Array, sessionHash: Uint8Array): Uint8Array {
  return prf(crypto, hash, preMasterSecret, 'extended master secret', sessionHash, 48);
}

export interface KeyBlock {
  clientWriteKey: Uint8Array;
  serverWriteKey: Uint8Array;
  clientWriteIv: Uint8Array;
  serverWriteIv: Uint8Array;
}

/** AEAD suites have no MAC keys, so the block is two keys then two IVs (RFC 5246 §6.3, RFC 5288 §3). */
export function keyBlock(
  crypto: CryptoProvider,
  hash: HashName,
  masterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  keyLength: number,
  ivLength: number,
): KeyBlock {
  const block = prf(crypto, hash, masterSecret, 'key expansion', concat(serverRandom, clientRandom), 2 * (keyLength + ivLength));
  let o = 0;
  const take = (n: number) => block.slice(o, (o += n));
  return { clientWriteKey: take(keyLength), serverWriteKey: take(keyLength), clientWriteIv: take(ivLength), serverWriteIv: take(ivLength) };
}

/** Finished.verify_data (RFC 5246 §7.4.9): 12 bytes. */
export function verifyData(crypto: CryptoProvider, hash: HashName, masterSecret: Uint8Array, sender: 'client' | 'server', transcriptHash: Uint8Array): Uint8Array {
  return prf(crypto, hash, masterSecret, `${sender} finished`, transcriptHash, 12);
}
