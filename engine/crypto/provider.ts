// The crypto provider interface (DESIGN.md §2): every primitive the engine uses goes through it, so backends are swappable.

export type HashName = 'sha256' | 'sha384';
export type AeadName = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
export type HeaderProtectionName = 'aes-128' | 'aes-256' | 'chacha20';
export type EcdhGroup = 'x25519' | 'secp256r1';

/** Signature algorithms by TLS SignatureScheme semantics (hash + padding + curve). */
export type SignatureAlgorithm =
  | 'ecdsa_secp256r1_sha256'
  | 'ecdsa_secp384r1_sha384'
  | 'ecdsa_secp256r1_sha384' // used in X.509 chains (curve and hash may differ from TLS 1.3 pairs)
  | 'ecdsa_secp384r1_sha256'
  | 'rsa_pss_rsae_sha256'
  | 'rsa_pss_rsae_sha384'
  | 'rsa_pss_rsae_sha512'
  | 'rsa_pkcs1_sha256'
  | 'rsa_pkcs1_sha384'
  | 'rsa_pkcs1_sha512'
  | 'rsa_pkcs1_sha1'
  | 'ed25519';

export interface Aead {
  readonly keyLength: number;
  readonly tagLength: 16;
  /** Encrypts plaintext with the given 12-byte nonce; returns ciphertext || tag. */
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Returns the plaintext, or null when authentication fails (never throws on bad input). */
  open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array | null;
  /**
   * Optional fast path of seal() for a packet laid out in one buffer: `packet[0, aadLength)` is the AAD,
   * `packet[aadLength, aadLength + plaintextLength)` the plaintext, replaced by the ciphertext, and the 16 bytes after
   * it receive the tag. Same result as seal(); backends without it are called through seal() and a copy.
   */
  sealInPlace?(nonce: Uint8Array, packet: Uint8Array, aadLength: number, plaintextLength: number): void;
}

export interface HeaderProtection {
  /** 5-byte mask from a 16-byte sample (RFC 9001 §5.4). */
  mask(sample: Uint8Array): Uint8Array;
}

export interface EcdhKeyPair {
  readonly group: EcdhGroup;
  /** Public key as sent in TLS key_share: 32 bytes for x25519, uncompressed SEC1 point (65 bytes) for secp256r1. */
  readonly publicKey: Uint8Array;
  /** Derives the shared secret; throws CryptoError on an invalid peer key. */
  deriveSecret(peerPublic: Uint8Array): Uint8Array;
}

/** Public key in a form every backend understands: the SubjectPublicKeyInfo DER, plus a parsed summary. */
export type PublicKey =
  | { kind: 'ec'; curve: 'secp256r1' | 'secp384r1'; point: Uint8Array; spki: Uint8Array }
  | { kind: 'ed25519'; key: Uint8Array; spki: Uint8Array }
  | { kind: 'rsa'; n: bigint; e: bigint; spki: Uint8Array };

export type PrivateKey =
  | { kind: 'ec'; curve: 'secp256r1' | 'secp384r1'; d: Uint8Array; publicPoint: Uint8Array }
  | { kind: 'ed25519'; seed: Uint8Array; publicKey: Uint8Array }
  | { kind: 'rsa'; n: bigint; e: bigint; d: bigint; p: bigint; q: bigint; dp: bigint; dq: bigint; qinv: bigint };

export class CryptoError extends Error {
  override name = 'CryptoError';
}

export interface CryptoProvider {
  readonly name: string;
  hashLength(hash: HashName): number;
  hash(hash: HashName, data: Uint8Array): Uint8Array;
  /** Incremental hash; `digest()` does not consume it (a snapshot), so transcripts can branch. */
  hasher(hash: HashName): { update(data: Uint8Array): void; digest(): Uint8Array; clone(): ReturnType<CryptoProvider['hasher']> };
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array;
  hkdfExtract(hash: HashName, salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  aead(name: AeadName, key: Uint8Array): Aead;
  headerProtection(name: HeaderProtectionName, key: Uint8Array): HeaderProtection;
  /** New ephemeral key pair; `random` supplies the private key bytes so runs are reproducible. */
  ecdhGenerate(group: EcdhGroup, random: (n: number) => Uint8Array): EcdhKeyPair;
  /** Verifies `signature` over `message` (the message is hashed by the algorithm). ECDSA signatures are DER; high-S accepted. */
  verify(alg: SignatureAlgorithm, key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean;
  /** Signs `message`; ECDSA output is DER. `random` feeds RSA-PSS salts (ECDSA uses RFC 6979 deterministic nonces). */
  sign(alg: SignatureAlgorithm, key: PrivateKey, message: Uint8Array, random: (n: number) => Uint8Array): Uint8Array;
}
