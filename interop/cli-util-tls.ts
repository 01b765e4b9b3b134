// TLS options shared by get/connect/serve (DESIGN.md §5): trust anchors, client and server credentials, key logging,
// cipher/group choice, ticket files for resumption, and the -v handshake summary.

import { writeFileSync, existsSync } from 'node:fs';
import { cryptoProvider } from '../engine/crypto/index.js';
import type { CryptoProvider, EcdhGroup, PrivateKey, PublicKey } from '../engine/crypto/provider.js';
import { CIPHER_SUITES, type CipherSuiteName, type SessionTicket, type TlsConfig, type TlsSession } from '../engine/tls/api.js';
import { createTlsSession } from '../engine/tls/session.js';
import { loadCertificateChain, loadPrivateKey } from '../engine/tls/x509/pem.js';
import { parseCertificate, commonNames } from '../engine/tls/x509/certificate.js';
import { loadTrustAnchors } from '../engine/io/trust-store.js';
import { keyLogFile, keyLogPath } from '../engine/io/keylog.js';
import { systemClock, systemRandom } from '../engine/io/system.js';
import type { RecordTrace } from '../engine/tls/record-connection.js';
import { hex, fromHex, equal } from '../engine/wire/bytes.js';
import { parseInput, usageError } from './cli-util.js';

/** The TLS-over-TCP commands' backend, loaded when one of them first runs (not when any command starts). */
export const cliCrypto = (): CryptoProvider => cryptoProvider();

/** Options every TLS client command accepts (yargs fills them). */
export interface TlsClientFlags {
  ca?: string;
  insecure?: boolean;
  servername?: string;
  alpn?: string[];
  cipher?: string[];
  group?: string[];
  keylog?: string;
  cert?: string;
  key?: string;
}

export interface TlsServerFlags {
  cert: string;
  key: string;
  'client-ca'?: string;
  cipher?: string[];
  group?: string[];
  keylog?: string;
  alpn?: string[];
}

const GROUP_ALIASES: Record<string, EcdhGroup> = {
  x25519: 'x25519', X25519: 'x25519',
  secp256r1: 'secp256r1', 'P-256': 'secp256r1', p256: 'secp256r1', prime256v1: 'secp256r1',
};

/** Flags may repeat or hold comma-separated lists. */
export function listFlag(v: string[] | string | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
}

export function parseCiphers(v: string[] | undefined): CipherSuiteName[] | undefined {
  const names = listFlag(v);
  if (!names.length) return undefined;
  return names.map((n) => {
    if (!(n in CIPHER_SUITES)) throw usageError(`unknown cipher suite ${n} (expected ${Object.keys(CIPHER_SUITES).join(', ')})`);
    return n as CipherSuiteName;
  });
}

export function parseGroups(v: string[] | undefined): EcdhGroup[] | undefined {
  const names = listFlag(v);
  if (!names.length) return undefined;
  return names.map((n) => {
    const g = GROUP_ALIASES[n];
    if (!g) throw usageError(`unknown group ${n} (expected x25519 or secp256r1)`);
    return g;
  });
}

export function loadChainFile(path: string, what: string): Uint8Array[] {
  return parseInput(path, what, loadCertificateChain);
}

export function loadKeyFile(path: string, what: string): PrivateKey {
  return parseInput(path, what, loadPrivateKey);
}

/** Whether `key` is the private half of `pub`: compares the public parts, no signing needed. */
export function keyMatches(key: PrivateKey, pub: PublicKey): boolean {
  if (key.kind === 'ec' && pub.kind === 'ec') return key.curve === pub.curve && equal(key.publicPoint, pub.point);
  if (key.kind === 'ed25519' && pub.kind === 'ed25519') return equal(key.publicKey, pub.key);
  if (key.kind === 'rsa' && pub.kind === 'rsa') return key.n === pub.n && key.e === pub.e;
  return false;
}

/** Certificate chain and key files, refused (exit 2) when the key does not belong to the leaf: the peer would only say decrypt_error. */
export function loadCredentials(certPath: string, keyPath: string, what: string): { chain: Uint8Array[]; key: PrivateKey } {
  const chain = loadChainFile(certPath, `${what} certificate`);
  const key = loadKeyFile(keyPath, `${what} key`);
  if (!keyMatches(key, parseCertificate(chain[0]!).publicKey)) {
    throw usageError(`the key in ${keyPath} does not belong to the certificate in ${certPath}`);
  }
  return { chain, key };
}

function trustAnchors(caFile: string | undefined, what: string): Uint8Array[] {
  try {
    return loadTrustAnchors(caFile);
  } catch (e) {
    if (e instanceof Error && e.name === 'TrustStoreError') throw usageError(e.message);
    throw usageError(`${what}: ${(e as Error).message}`);
  }
}

function keyLog(flag: string | undefined): ((line: string) => void) | undefined {
  const path = keyLogPath(flag);
  return path ? keyLogFile(path) : undefined;
}

/**
 * Client TLS configuration; verification is on unless --insecure. `crypto` defaults to the TLS-over-TCP backend; QUIC
 * commands pass theirs, so a QUIC run never loads the other backend.
 */
export function clientConfig(flags: TlsClientFlags, host: string, session?: SessionTicket, defaultAlpn?: string[], crypto: CryptoProvider = cliCrypto()): TlsConfig {
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw usageError('--cert and --key go together (client certificate)');
  const alpn = listFlag(flags.alpn);
  const own = flags.cert && flags.key ? loadCredentials(flags.cert, flags.key, 'client') : undefined;
  return {
    role: 'client',
    crypto,
    random: systemRandom,
    clock: systemClock,
    serverName: flags.servername ?? host,
    alpn: alpn.length ? alpn : defaultAlpn,
    cipherSuites: parseCiphers(flags.cipher),
    groups: parseGroups(flags.group),
    verify: { ca: flags.insecure ? [] : trustAnchors(flags.ca, '--ca'), insecure: !!flags.insecure },
    certificateChain: own?.chain,
    privateKey: own?.key,
    session,
    keyLog: keyLog(flags.keylog),
  };
}

/** Server TLS configuration with a fresh random ticket key, so tickets survive only as long as this process. */
export function serverConfig(flags: TlsServerFlags, defaultAlpn?: string[], crypto: CryptoProvider = cliCrypto()): TlsConfig {
  const alpn = listFlag(flags.alpn);
  const clientCa = flags['client-ca'];
  const own = loadCredentials(flags.cert, flags.key, 'server');
  return {
    role: 'server',
    crypto,
    random: systemRandom,
    clock: systemClock,
    alpn: alpn.length ? alpn : defaultAlpn,
    cipherSuites: parseCiphers(flags.cipher),
    groups: parseGroups(flags.group),
    certificateChain: own.chain,
    privateKey: own.key,
    verify: clientCa ? { ca: trustAnchors(clientCa, '--client-ca') } : undefined,
    requestClientCertificate: !!clientCa,
    requireClientCertificate: !!clientCa,
    ticketKey: systemRandom(32),
    ticketCount: 2,
    keyLog: keyLog(flags.keylog),
  };
}

export function newSession(config: TlsConfig): TlsSession {
  return createTlsSession(config);
}

// --- ticket files (--resume FILE): JSON, bytes as hex ---

interface TicketJson {
  serverName: string;
  suite: CipherSuiteName;
  ticket: string;
  resumptionSecret: string;
  ageAdd: number;
  lifetimeSec: number;
  receivedAtMs: number;
  maxEarlyData: number;
  alpn?: string;
  appData?: string;
}

/** Loads a saved ticket; a missing file means "no ticket yet", a malformed one is a usage error; expired ones are dropped. */
export function loadTicketFile(path: string, now = systemClock()): SessionTicket | undefined {
  if (!existsSync(path)) return undefined;
  const t = parseInput(path, 'ticket file', (text) => {
    const j = JSON.parse(text) as TicketJson;
    if (typeof j !== 'object' || !j || typeof j.ticket !== 'string' || typeof j.resumptionSecret !== 'string' || !(j.suite in CIPHER_SUITES)) {
      throw new Error('not a crosswire ticket (expected serverName, suite, ticket, resumptionSecret, …)');
    }
    const ticket: SessionTicket = {
      serverName: String(j.serverName ?? ''),
      suite: j.suite,
      ticket: fromHex(j.ticket),
      resumptionSecret: fromHex(j.resumptionSecret),
      ageAdd: Number(j.ageAdd) >>> 0,
      lifetimeSec: Number(j.lifetimeSec),
      receivedAtMs: Number(j.receivedAtMs),
      maxEarlyData: Number(j.maxEarlyData ?? 0),
      alpn: j.alpn,
      appData: j.appData !== undefined ? fromHex(j.appData) : undefined,
    };
    return ticket;
  });
  if (t.receivedAtMs + t.lifetimeSec * 1000 <= now) return undefined;
  return t;
}

export function saveTicketFile(path: string, t: SessionTicket): void {
  const j: TicketJson = {
    serverName: t.serverName,
    suite: t.suite,
    ticket: hex(t.ticket),
    resumptionSecret: hex(t.resumptionSecret),
    ageAdd: t.ageAdd,
    lifetimeSec: t.lifetimeSec,
    receivedAtMs: t.receivedAtMs,
    maxEarlyData: t.maxEarlyData,
    alpn: t.alpn,
    appData: t.appData ? hex(t.appData) : undefined,
  };
  try {
    writeFileSync(path, JSON.stringify(j, null, 2) + '\n', { mode: 0o600 });
  } catch (e) {
    throw usageError(`cannot write ticket file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

// --- -v output ---

/** One line describing a completed handshake; tests and users grep it for HelloRetryRequest and resumption. */
export function handshakeSummary(s: TlsSession): string {
  const parts = [`TLS 1.3 ${s.suite?.name ?? '?'}`, `group ${s.group ?? (s.resumed ? 'none (psk_ke)' : '?')}`];
  parts.push(s.helloRetry ? 'HelloRetryRequest: yes' : 'HelloRetryRequest: no');
  parts.push(s.resumed ? 'resumed: yes' : 'resumed: no');
  if (s.alpn) parts.push(`ALPN ${s.alpn}`);
  const leaf = s.peerCertificates[0];
  if (leaf) {
    try {
      const cn = commonNames(parseCertificate(leaf).subject)[0];
      if (cn) parts.push(`peer certificate CN=${cn}`);
    } catch {
      // The summary is informational; an odd certificate already passed (or failed) verification on its own.
    }
  }
  return `handshake complete: ${parts.join(', ')}`;
}

export function recordTracer(log: (line: string) => void): (r: RecordTrace) => void {
  return (r) => {
    const arrow = r.direction === 'sent' ? '>' : '<';
    const what = r.detail ? `${r.contentType} ${r.detail}` : r.contentType;
    log(`${arrow} ${what} (${r.length} bytes, ${r.protected ? `${r.epoch} keys` : 'plaintext'})`);
  };
}
