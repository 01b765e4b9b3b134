// Shared CLI plumbing (DESIGN.md §5): exit codes, one-line error reporting, input files and URL targets.

import { readFileSync } from 'node:fs';
import { canonicalHost, type Address } from '../engine/endpoint.js';
import { resolveHost } from '../engine/io/resolve.js';
import { TlsError } from '../engine/tls/api.js';
import { DecodeError } from '../engine/wire/reader.js';

/** crosswire's version, shown by --version and sent as the HTTP User-Agent. */
export const VERSION = '0.1.0';

export const EXIT_OK = 0;
/** The protocol (or the HTTP exchange) failed. */
export const EXIT_FAILURE = 1;
/** Bad flag, unreadable or invalid input file. */
export const EXIT_USAGE = 2;

/** An error meant for the user: printed as one line, no stack trace, with its exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError(message, EXIT_USAGE);

/** The one line printed for an error (without the "crosswire: " prefix), and the exit code it maps to. */
export function describeError(e: unknown, phase: 'handshake' | 'connection' = 'connection'): { line: string; code: number } {
  if (e instanceof CliError) return { line: e.message, code: e.exitCode };
  if (e instanceof TlsError) return { line: `TLS ${phase} failed: ${e.message}`, code: EXIT_FAILURE };
  if (e instanceof Error && e.name === 'TransportError') return { line: e.message, code: EXIT_FAILURE };
  if (e instanceof Error && e.name === 'HttpError') return { line: `HTTP: ${e.message}`, code: EXIT_FAILURE };
  if (e instanceof Error) return { line: `internal error: ${e.message}`, code: EXIT_FAILURE };
  return { line: `internal error: ${String(e)}`, code: EXIT_FAILURE };
}

/**
 * Runs a command body and exits with its code; errors become one line on stderr. Exits explicitly so that a
 * half-closed socket or a pending timer never keeps the process alive after the verdict.
 */
export async function runCommand(body: () => Promise<number | void>): Promise<never> {
  let code: number;
  try {
    code = (await body()) ?? EXIT_OK;
  } catch (e) {
    const d = describeError(e);
    process.stderr.write(`crosswire: ${d.line}\n`);
    if (process.env.CROSSWIRE_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    code = d.code;
  }
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}

/** Reads a text input file (PEM, JSON); a missing or unreadable file is a usage error naming the flag. */
export function readInputText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw usageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Parses input with `parse`; malformed content (DecodeError or any parse error) is a usage error naming the file. */
export function parseInput<T>(path: string, what: string, parse: (text: string) => T): T {
  const text = readInputText(path, what);
  try {
    return parse(text);
  } catch (e) {
    const msg = e instanceof DecodeError || e instanceof Error ? e.message : String(e);
    throw usageError(`${what} ${path}: ${msg}`);
  }
}

export interface Target {
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
  /** Path and query, at least "/". */
  readonly path: string;
  /** host[:port] as written, for Host headers and SNI defaults. */
  readonly authority: string;
}

const DEFAULT_PORTS: Record<string, number> = { https: 443, tls: 443, quic: 443, dtls: 4433 };

/**
 * Parses scheme://host:port/path; `schemes` lists what the command accepts. Port 0 only when `listen` (serve binds a
 * free port); a client needs 1..65535. Every problem is a usage error (exit 2) naming the URL and the expected form.
 */
export function parseTarget(url: string, schemes: readonly string[], opts: { listen?: boolean } = {}): Target {
  const expected = `expected ${schemes.map((s) => `${s}://host:port`).join(' or ')}`;
  // The URL parser refuses ports past 65535 with a bare "Invalid URL": say which part is wrong.
  const port = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/:?#]*):(\d+)(?:[/?#]|$)/i.exec(url)?.[1];
  if (port !== undefined && Number(port) > 65535) throw usageError(`port ${port} out of range in ${url} (1 to 65535)`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`not a URL: ${url} (${expected})`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!schemes.includes(scheme)) throw usageError(`unsupported scheme ${scheme}:// in ${url} (expected ${schemes.join(', ')})`);
  // URL keeps IPv6 literals bracketed; sockets and SAN checks want them bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw usageError(`no host in ${url}`);
  // Port 0 stays 0: `serve` binds a free port and prints it.
  const p = u.port !== '' ? Number(u.port) : DEFAULT_PORTS[scheme];
  if (p === undefined) throw usageError(`no port in ${url}`);
  if (p === 0 && !opts.listen) throw usageError(`port 0 in ${url}: a client needs a port from 1 to 65535`);
  return { scheme, host, port: p, path: (u.pathname || '/') + u.search, authority: u.host };
}

/** Where a client sends: the first address of the peer's name, and the rest to try in order when nothing listens there. */
export interface PeerAddresses {
  readonly remote: Address;
  readonly fallbacks: Address[];
  /** The error line when every address answered ICMP port unreachable (names list the addresses tried). */
  readonly nothingListens: string;
}

/**
 * Resolves a client's target once, to every address the name has (resolveHost: "localhost" means both loopbacks).
 * UDP clients connect to `remote` and move on to each fallback on ICMP port unreachable (UdpOptions.fallbacks).
 */
export async function resolvePeer(host: string, port: number): Promise<PeerAddresses> {
  let hosts: string[];
  try {
    hosts = await resolveHost(host);
  } catch (e) {
    throw usageError(`cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!hosts.length) throw usageError(`cannot resolve ${host}: no addresses`);
  const all = hosts.map((h) => ({ host: h, port }));
  const tried = hosts.length > 1 || hosts[0] !== canonicalHost(host) ? ` from ${hosts.join(', ')}` : '';
  return { remote: all[0]!, fallbacks: all.slice(1), nothingListens: `nothing listens on udp ${host}:${port} (ICMP port unreachable${tried})` };
}

/** Verbose logging to stderr, enabled by -v. */
export function verboseLogger(enabled: boolean): (line: string) => void {
  return enabled ? (line: string) => process.stderr.write(`crosswire: ${line}\n`) : () => {};
}
