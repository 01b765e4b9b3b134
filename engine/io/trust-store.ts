// Trust anchor loading (the RFC 5280 §6.1.1(d) trust anchor input) from a PEM file or the Debian system store; the only X.509 code that reads files.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificate } from '../tls/x509/certificate.js';
import { loadCertificateChain, pemDecode } from '../tls/x509/pem.js';

/** A CA file the user named is unusable: unreadable, no certificates, or a broken certificate. */
export class TrustStoreError extends Error {
  override name = 'TrustStoreError';
}

const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const SYSTEM_DIR = '/etc/ssl/certs';

export interface SystemStoreReport {
  readonly source: string;
  readonly anchors: Uint8Array[];
  /** Certificates found but not usable by the engine (unsupported algorithms, malformed), with the reason. */
  readonly skipped: { readonly index: number; readonly reason: string }[];
}

/**
 * Trust anchors as DER. With `caFile`, exactly that file (PEM, or a single DER certificate) and any problem in it is
 * an error, because the user chose it. Without, the system store: $SSL_CERT_FILE, then Debian's bundle, then every
 * *.pem / *.crt in $SSL_CERT_DIR or /etc/ssl/certs; certificates the engine cannot parse are skipped.
 */
export function loadTrustAnchors(caFile?: string): Uint8Array[] {
  if (caFile !== undefined) return loadCaFile(caFile);
  // One frozen array per process: verifyChain caches parsed anchors per array, so reuse makes later handshakes cheap.
  systemAnchors ??= Object.freeze(loadSystemStore().anchors) as Uint8Array[];
  return systemAnchors;
}

let systemAnchors: Uint8Array[] | undefined;

function loadCaFile(path: string): Uint8Array[] {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new TrustStoreError(`cannot read CA file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const text = raw.toString('latin1');
  try {
    if (!text.includes('-----BEGIN')) {
      const der = new Uint8Array(raw);
      parseCertificate(der);
      return [der];
    }
    return loadCertificateChain(text);
  } catch (e) {
    throw new TrustStoreError(`CA file ${path}: ${(e as Error).message}`);
  }
}

/** The system store with a record of what was skipped (`crosswire` -v prints it). */
export function loadSystemStore(): SystemStoreReport {
  const file = process.env.SSL_CERT_FILE || SYSTEM_BUNDLE;
  const bundle = readIfExists(file);
  if (bundle !== undefined) {
    const found = pemDecodeLenient(bundle);
    if (found.length > 0) return filterUsable(file, found);
  }
  const dir = process.env.SSL_CERT_DIR || SYSTEM_DIR;
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => /\.(pem|crt)$/i.test(n)).sort();
  } catch {
    throw new TrustStoreError(`no system trust store: neither ${file} nor ${dir} is readable; pass --ca <pem>`);
  }
  const found: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const n of names) {
    const path = join(dir, n);
    try {
      if (!statSync(path).isFile()) continue;
    } catch {
      continue; // dangling symlink
    }
    const text = readIfExists(path);
    if (text === undefined) continue;
    for (const der of pemDecodeLenient(text)) {
      // Debian's directory holds each CA twice (the .pem symlink and its hash link); keep one copy.
      const key = Buffer.from(der).toString('base64');
      if (seen.has(key)) continue;
      seen.add(key);
      found.push(der);
    }
  }
  if (found.length === 0) throw new TrustStoreError(`no certificates in the system trust store (${file}, ${dir}); pass --ca <pem>`);
  return filterUsable(dir, found);
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/** One broken block must not hide the rest of a system bundle. */
function pemDecodeLenient(text: string): Uint8Array[] {
  try {
    return pemDecode(text, 'CERTIFICATE');
  } catch {
    const out: Uint8Array[] = [];
    for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) {
      try {
        out.push(...pemDecode(m[0], 'CERTIFICATE'));
      } catch {
        // skipped: malformed base64 in one block
      }
    }
    return out;
  }
}

function filterUsable(source: string, certs: Uint8Array[]): SystemStoreReport {
  const anchors: Uint8Array[] = [];
  const skipped: { index: number; reason: string }[] = [];
  certs.forEach((der, index) => {
    try {
      parseCertificate(der);
      anchors.push(der);
    } catch (e) {
      skipped.push({ index, reason: (e as Error).message });
    }
  });
  return { source, anchors, skipped };
}
