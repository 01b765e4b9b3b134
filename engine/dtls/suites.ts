// DTLS 1.2 cipher suites (RFC 5289 §3 AES-GCM, RFC 7905 §2 ChaCha20-Poly1305, RFC 8422 §6 ECDHE) and their key-block sizes (RFC 5246 §6.3).

import type { AeadName, HashName } from '../crypto/provider.js';

export type DtlsSuiteName =
  | 'ECDHE-ECDSA-AES128-GCM-SHA256'
  | 'ECDHE-RSA-AES128-GCM-SHA256'
  | 'ECDHE-ECDSA-AES256-GCM-SHA384'
  | 'ECDHE-RSA-AES256-GCM-SHA384'
  | 'ECDHE-ECDSA-CHACHA20-POLY1305'
  | 'ECDHE-RSA-CHACHA20-POLY1305';

export interface DtlsSuite {
  readonly name: DtlsSuiteName;
  readonly id: number;
  /** Which certificate key the suite authenticates with. */
  readonly auth: 'ecdsa' | 'rsa';
  readonly aead: AeadName;
  /** The PRF hash (RFC 5246 §5; SHA-384 for the *_SHA384 suites per RFC 5289). */
  readonly prfHash: HashName;
  readonly keyLength: number;
  /** GCM: 4-byte salt plus an 8-byte explicit nonce per record; ChaCha20: a 12-byte IV XORed with the sequence. */
  readonly fixedIvLength: 4 | 12;
  readonly explicitNonceLength: 0 | 8;
}

const gcm128 = { aead: 'aes-128-gcm', prfHash: 'sha256', keyLength: 16, fixedIvLength: 4, explicitNonceLength: 8 } as const;
const gcm256 = { aead: 'aes-256-gcm', prfHash: 'sha384', keyLength: 32, fixedIvLength: 4, explicitNonceLength: 8 } as const;
const chacha = { aead: 'chacha20-poly1305', prfHash: 'sha256', keyLength: 32, fixedIvLength: 12, explicitNonceLength: 0 } as const;

export const DTLS_SUITES: Record<DtlsSuiteName, DtlsSuite> = {
  'ECDHE-ECDSA-AES128-GCM-SHA256': { name: 'ECDHE-ECDSA-AES128-GCM-SHA256', id: 0xc02b, auth: 'ecdsa', ...gcm128 },
  'ECDHE-RSA-AES128-GCM-SHA256': { name: 'ECDHE-RSA-AES128-GCM-SHA256', id: 0xc02f, auth: 'rsa', ...gcm128 },
  'ECDHE-ECDSA-AES256-GCM-SHA384': { name: 'ECDHE-ECDSA-AES256-GCM-SHA384', id: 0xc02c, auth: 'ecdsa', ...gcm256 },
  'ECDHE-RSA-AES256-GCM-SHA384': { name: 'ECDHE-RSA-AES256-GCM-SHA384', id: 0xc030, auth: 'rsa', ...gcm256 },
  'ECDHE-ECDSA-CHACHA20-POLY1305': { name: 'ECDHE-ECDSA-CHACHA20-POLY1305', id: 0xcca9, auth: 'ecdsa', ...chacha },
  'ECDHE-RSA-CHACHA20-POLY1305': { name: 'ECDHE-RSA-CHACHA20-POLY1305', id: 0xcca8, auth: 'rsa', ...chacha },
};

/** Default preference: AES-128-GCM first (cheapest), then ChaCha20, then AES-256; ECDSA before RSA within a family. */
export const DEFAULT_DTLS_SUITES: readonly DtlsSuiteName[] = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
];

export function suiteById(id: number): DtlsSuite | undefined {
  for (const s of Object.values(DTLS_SUITES)) if (s.id === id) return s;
  return undefined;
}
