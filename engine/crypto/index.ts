// Backend selection for the crypto provider interface (DESIGN.md §2): 'noble' (pure JS, default), 'node' (node:crypto)
// or 'sodium' (node:crypto with ChaCha20-Poly1305 on libsodium; needs the optional npm package sodium-native).

import type { CryptoProvider } from './provider.js';
import { nobleCrypto } from './noble.js';
import { nodeCrypto } from './node.js';
import { sodiumCrypto } from './sodium.js';

export * from './provider.js';
export { nobleCrypto } from './noble.js';
export { nodeCrypto } from './node.js';
export { sodiumCrypto } from './sodium.js';
export type { RandomSource } from './random.js';

/** Every backend name, in the order help texts and schema list them. */
export const CRYPTO_BACKENDS = ['node', 'noble', 'sodium'] as const;
export type CryptoBackendName = (typeof CRYPTO_BACKENDS)[number];

export function isCryptoBackendName(name: string): name is CryptoBackendName {
  return (CRYPTO_BACKENDS as readonly string[]).includes(name);
}

export function cryptoProvider(name: CryptoBackendName = 'noble'): CryptoProvider {
  switch (name) {
    case 'noble':
      return nobleCrypto;
    case 'node':
      return nodeCrypto;
    case 'sodium':
      return sodiumCrypto();
    default:
      throw new Error(`unknown crypto backend '${String(name)}' (expected ${CRYPTO_BACKENDS.join(', ')})`);
  }
}
