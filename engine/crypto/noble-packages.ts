// @noble/curves and @noble/ciphers, loaded when first called. Their module set-up (curve and AES tables, ~50 ms)
// would otherwise be paid by every process that imports the engine, although `crosswire get` and `serve` on the node
// backend never call them (issue 15, P3: a 100 MiB loopback download takes about a second). require() of an ES module
// is synchronous since Node 20.19, so the provider interface stays synchronous.

import { createRequire } from 'node:module';

type Nist = typeof import('@noble/curves/nist.js');
type Edwards = typeof import('@noble/curves/ed25519.js');
type Aes = typeof import('@noble/ciphers/aes.js');
type Chacha = typeof import('@noble/ciphers/chacha.js');
type Polyval = typeof import('@noble/ciphers/_polyval.js');

const load = createRequire(import.meta.url);
let nist: Nist | undefined;
let edwards: Edwards | undefined;
let aes: Aes | undefined;
let chacha: Chacha | undefined;
let polyval: Polyval | undefined;

export const nobleNist = (): Nist => (nist ??= load('@noble/curves/nist.js') as Nist);
export const nobleEdwards = (): Edwards => (edwards ??= load('@noble/curves/ed25519.js') as Edwards);
export const nobleAes = (): Aes => (aes ??= load('@noble/ciphers/aes.js') as Aes);
export const nobleChacha = (): Chacha => (chacha ??= load('@noble/ciphers/chacha.js') as Chacha);
export const noblePolyval = (): Polyval => (polyval ??= load('@noble/ciphers/_polyval.js') as Polyval);
