// PEM textual encoding (RFC 7468 §2–§3, lax parser per §3) of certificates and private keys; key bodies decoded by keys.ts.

import type { PrivateKey, PublicKey } from '../../crypto/provider.js';
import { DecodeError } from '../../wire/reader.js';
import { UnsupportedAlgorithmError } from './algorithms.js';
import { parseCertificate } from './certificate.js';
import { privateKeyFromPkcs1, privateKeyFromPkcs8, privateKeyFromSec1, publicKeyFromSpki as spkiToKey } from './keys.js';

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
  /** RFC 1421 headers ('Proc-Type', 'DEK-Info') of legacy OpenSSL files; empty for RFC 7468 PEM. */
  readonly headers: Readonly<Record<string, string>>;
}

const BEGIN = /-----BEGIN ([A-Z0-9 ]*)-----/g;

/** Every PEM block in `text`, in order. Text outside blocks (openssl's "Bag Attributes", comments) is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  BEGIN.lastIndex = 0;
  for (let m = BEGIN.exec(text); m; m = BEGIN.exec(text)) {
    const label = m[1]!;
    const endMarker = `-----END ${label}-----`;
    const bodyStart = m.index + m[0].length;
    const endAt = text.indexOf(endMarker, bodyStart);
    if (endAt < 0) throw new DecodeError(`PEM: "-----BEGIN ${label}-----" has no matching "${endMarker}"`);
    let body = text.slice(bodyStart, endAt);
    const headers: Record<string, string> = {};
    // Legacy encrypted keys carry "Name: value" lines before a blank line.
    const headerEnd = body.search(/\r?\n\r?\n/);
    if (/^\s*[A-Za-z-]+:/.test(body) && headerEnd >= 0) {
      for (const line of body.slice(0, headerEnd).split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
      body = body.slice(headerEnd);
    }
    out.push({ label, der: base64(body, label), headers });
    BEGIN.lastIndex = endAt + endMarker.length;
  }
  return out;
}

function base64(body: string, label: string): Uint8Array {
  const clean = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1)
    throw new DecodeError(`PEM: the body of "${label}" is not valid base64`);
  const der = new Uint8Array(Buffer.from(clean, 'base64'));
  if (der.length === 0) throw new DecodeError(`PEM: "${label}" block is empty`);
  return der;
}

/** DER bodies of the PEM blocks in `text`, only those labelled `label` when given. */
export function pemDecode(text: string, label?: string): Uint8Array[] {
  return pemBlocks(text)
    .filter((b) => label === undefined || b.label === label)
    .map((b) => b.der);
}

/** PEM encoding with 64-column lines (RFC 7468 §2), e.g. for writing test fixtures or exporting a peer's chain. */
export function pemEncode(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Certificates of a PEM file, in file order (leaf first for a server chain). Each is parsed so a broken file fails
 * here with its position, not later in the middle of a handshake; unsupported algorithms are not an error here. OpenSSL's "TRUSTED CERTIFICATE" blocks are rejected:
 * their trailing trust settings are not understood.
 */
export function loadCertificateChain(pemText: string): Uint8Array[] {
  const blocks = pemBlocks(pemText);
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE').map((b) => b.der);
  if (certs.length === 0) {
    const found = blocks.map((b) => b.label);
    throw new DecodeError(`PEM: no CERTIFICATE block found${found.length ? ` (found ${found.join(', ')})` : ''}`);
  }
  certs.forEach((der, i) => {
    try {
      parseCertificate(der);
    } catch (e) {
      // Well-formed but using an algorithm the engine cannot verify: still servable, and verifyChain explains it.
      if (e instanceof UnsupportedAlgorithmError) return;
      throw new DecodeError(`PEM: certificate #${i + 1} cannot be parsed: ${(e as Error).message}`);
    }
  });
  return certs;
}

/** The first private key in a PEM file: PKCS#8 "PRIVATE KEY", SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY". */
export function loadPrivateKey(pemText: string): PrivateKey {
  const blocks = pemBlocks(pemText);
  for (const b of blocks) {
    if (b.label === 'ENCRYPTED PRIVATE KEY' || b.headers['Proc-Type']?.includes('ENCRYPTED'))
      throw new DecodeError(
        `PEM: the private key is encrypted ("${b.label}"), which crosswire does not decrypt; ` +
          'write an unencrypted copy with: openssl pkey -in key.pem -out key-plain.pem',
      );
    try {
      if (b.label === 'PRIVATE KEY') return privateKeyFromPkcs8(b.der);
      if (b.label === 'EC PRIVATE KEY') return privateKeyFromSec1(b.der);
      if (b.label === 'RSA PRIVATE KEY') return privateKeyFromPkcs1(b.der);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      e.message = `PEM: "${b.label}" cannot be used: ${e.message}`;
      throw e;
    }
  }
  const found = blocks.map((b) => b.label);
  throw new DecodeError(`PEM: no private key found${found.length ? ` (found ${found.join(', ')})` : ''}; expected PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY`);
}

/** SubjectPublicKeyInfo DER → PublicKey (EC P-256/P-384 uncompressed point, Ed25519, RSA n/e). */
export function publicKeyFromSpki(spki: Uint8Array): PublicKey {
  return spkiToKey(spki);
}
