// Backend selection for the crypto provider interface (DESIGN.md §2): 'noble' (pure JS, default) or 'node' (node:crypto).

import type { CryptoProvider } from './provider.js';
import { nobleCrypto } from './noble.js';
import { nodeCrypto } from './node.js';

export * from './provider.js';
export { nobleCrypto } from './noble.js';
export { nodeCrypto } from './node.js';
export type { RandomSource } from './random.js';

export type CryptoBackendName = 'noble' | 'node';

export function cryptoProvider(name: CryptoBackendName = 'noble'): CryptoProvider {
  switch (name) {
    case 'noble':
      return nobleCrypto;
    case 'node':
      return nodeCrypto;
    default:
      throw new Error(`unknown crypto backend '${String(name)}' (expected noble or node)`);
  }
}
