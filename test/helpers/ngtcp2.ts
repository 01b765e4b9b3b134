// QUIC peers for interop tests: real ngtcp2 (Debian's ngtcp2-server / ngtcp2-client 0.12.1, GnuTLS, ALPN h3 only)
// and our own CLI server, started with guaranteed cleanup and waited for; random test files to move between them.

import { createSocket } from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from '@playwright/test';
import { makePki } from './pki.js';
import { freeUdpPort, requireBinary, runCli, spawnPeer, type Peer } from './proc.js';

export const GTLS_SERVER = '/usr/sbin/gtlsserver';
export const GTLS_CLIENT = '/usr/bin/gtlsclient';
const INSTALL_HINT = 'apt-get install -y ngtcp2-server ngtcp2-client';

export function requireNgtcp2(): { server: string; client: string } {
  return { server: requireBinary(GTLS_SERVER, INSTALL_HINT), client: requireBinary(GTLS_CLIENT, INSTALL_HINT) };
}

/** Sizes like 5MB, 100KB, 1024 (binary units: the same ones the CLI and ngtcp2 use). */
export function parseSize(s: string | number): number {
  if (typeof s === 'number') return s;
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|KIB|K|MB|MIB|M|GB|GIB|G)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${s}`);
  const unit = (m[2] ?? 'B').toUpperCase()[0];
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
  return Math.round(Number(m[1]) * mult);
}

export interface TestFiles {
  dir: string;
  /** Absolute path of a file by name. */
  path(name: string): string;
  /** SHA-256 (hex) of a file by name, computed once when it was written. */
  sha256(name: string): string;
}

/** A fresh temp directory holding files of random bytes, e.g. makeTestFiles({ '5MB.bin': '5MB' }). */
export function makeTestFiles(files: Record<string, string | number>): TestFiles {
  const dir = mkdtempSync(join(tmpdir(), 'crosswire-files-'));
  const sums = new Map<string, string>();
  for (const [name, size] of Object.entries(files)) {
    let left = parseSize(size);
    const hash = createHash('sha256');
    const fd = openSync(join(dir, name), 'w');
    // Written in chunks so a 100 MB file never sits in memory twice.
    while (left > 0) {
      const chunk = randomBytes(Math.min(left, 1 << 20));
      writeSync(fd, chunk);
      hash.update(chunk);
      left -= chunk.length;
    }
    closeSync(fd);
    sums.set(name, hash.digest('hex'));
  }
  return {
    dir,
    path: (name) => join(dir, name),
    sha256: (name) => {
      const s = sums.get(name);
      if (!s) throw new Error(`no test file ${name}`);
      return s;
    },
  };
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * A minimal QUIC v1 long-header Initial with a random DCID, padded to 1200 bytes. Its payload is garbage, so a
 * server drops it after failing to decrypt; what matters is that a listening server receives it without error.
 * Readiness is proved by the absence of an ICMP port-unreachable (which node reports as ECONNREFUSED on a
 * connected socket) — the only signal a quiet gtlsserver gives.
 */
function probeInitial(): Buffer {
  const d = Buffer.alloc(1200);
  d[0] = 0xc0; // long header, fixed bit, Initial, 1-byte packet number
  d.writeUInt32BE(1, 1);
  d[5] = 8;
  randomBytes(8).copy(d, 6);
  d[14] = 0; // empty SCID
  d[15] = 0; // empty token
  d.writeUInt16BE(0x4000 | (1200 - 18), 16);
  randomBytes(1200 - 18).copy(d, 18);
  return d;
}

/** Resolves once something listens on UDP 127.0.0.1:port (no ICMP port unreachable for two probes in a row). */
export async function waitForUdpListener(port: number, peer?: Peer, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    if (peer && (peer.proc.exitCode !== null || peer.proc.signalCode !== null)) {
      throw new Error(`peer exited before listening on ${port}: ${peer.stderr().slice(-500)}`);
    }
    const refused = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      let done = false;
      const finish = (r: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        s.close();
        resolve(r);
      };
      const t = setTimeout(() => finish(false), 150);
      s.on('error', () => finish(true));
      s.connect(port, '127.0.0.1', () => s.send(probeInitial(), (e) => e && finish(true)));
    });
    quiet = refused ? 0 : quiet + 1;
    if (quiet >= 2) return;
    if (refused) await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on udp 127.0.0.1:${port} after ${timeoutMs} ms`);
}

export interface GtlsServerOptions {
  key: string;
  cert: string;
  /** Document root served over h3. */
  root: string;
  /** -V: address validation with Retry. */
  retry?: boolean;
  qlogDir?: string;
  /** Extra flags, e.g. ['--ciphers=…']. */
  args?: string[];
}

export interface RunningServer {
  peer: Peer;
  port: number;
  url(path: string): string;
  stop(): Promise<void>;
}

/** Starts gtlsserver quietly on 127.0.0.1 and a free UDP port; resolves once it receives datagrams. */
export async function startGtlsServer(o: GtlsServerOptions): Promise<RunningServer> {
  const { server } = requireNgtcp2();
  const port = await freeUdpPort();
  const args = ['127.0.0.1', String(port), o.key, o.cert, '-d', o.root, '-q'];
  if (o.retry) args.push('-V');
  if (o.qlogDir) args.push(`--qlog-dir=${o.qlogDir}`);
  args.push(...(o.args ?? []));
  const peer = spawnPeer(server, args);
  try {
    await waitForUdpListener(port, peer);
  } catch (e) {
    await peer.kill();
    throw e;
  }
  return { peer, port, url: (p) => `https://localhost:${port}${p.startsWith('/') ? p : `/${p}`}`, stop: () => peer.kill() };
}

export interface GtlsClientOptions {
  port: number;
  /** Request paths (each becomes https://localhost:PORT/path). */
  paths: string[];
  /** --download DIR: where response bodies are written, named after the path's last component. */
  download: string;
  /** Extra flags, e.g. ['--key-update=100ms'] or ['--session-file=F', '--tp-file=F']. */
  args?: string[];
  /** Kills a hung client after this long (a guard, not an assertion). Default 180 s. */
  killAfterMs?: number;
}

/**
 * Runs gtlsclient to completion (--exit-on-all-streams-close). ngtcp2's client verifies nothing by itself in
 * 0.12.1 (it has no CA option), so byte-identical downloads are what tests assert on.
 */
export async function runGtlsClient(o: GtlsClientOptions): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const { client } = requireNgtcp2();
  const urls = o.paths.map((p) => `https://localhost:${o.port}${p.startsWith('/') ? p : `/${p}`}`);
  const peer = spawnPeer(client, ['127.0.0.1', String(o.port), ...urls, '--exit-on-all-streams-close', '-q', `--download=${o.download}`, ...(o.args ?? [])]);
  const guard = setTimeout(() => void peer.kill(), o.killAfterMs ?? 180_000);
  const code = await peer.exited;
  clearTimeout(guard);
  return { code, stdout: peer.stdout(), stderr: peer.stderr() };
}

export function tempDir(prefix = 'crosswire-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** One qlog record of our CLI's JSON-SEQ output. */
export interface QlogRecord {
  name?: string;
  data?: any;
}

/** Every qlog record (JSON-SEQ, RFC 7464) of every file `--qlog DIR` wrote, parsed. */
export function readQlogDir(dir: string): QlogRecord[] {
  return readdirSync(dir)
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\x1e'))
    .filter((r) => r.trim())
    .map((r) => JSON.parse(r) as QlogRecord);
}

/** `crosswire serve quic://127.0.0.1:PORT --root DIR -v` on a free port (the PKI's P-256 leaf); resolves once listening. */
export async function serveQuic(root: string, extra: string[] = []): Promise<{ peer: Peer; port: number }> {
  const pki = makePki();
  const port = await freeUdpPort();
  const peer = spawnPeer(process.execPath, ['bin/crosswire.js', 'serve', `quic://127.0.0.1:${port}`, '--cert', pki.leaf.ec.cert, '--key', pki.leaf.ec.key, '--root', root, '-v', ...extra]);
  await peer.waitFor(/listening on 127\.0\.0\.1:\d+/, 60_000);
  return { peer, port };
}

/**
 * gtlsclient downloads `name` from `crosswire serve quic://` run with `--qlog`; asserts a clean exit and a
 * byte-identical file, and returns our server's qlog records.
 */
export async function gtlsClientFromOurServer(files: TestFiles, name: string): Promise<QlogRecord[]> {
  const qlogDir = tempDir('crosswire-qlog-');
  const srv = await serveQuic(files.dir, ['--qlog', qlogDir]);
  const dir = tempDir('crosswire-dl-');
  try {
    const r = await runGtlsClient({ port: srv.port, paths: [`/${name}`], download: dir });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(sha256File(join(dir, name))).toBe(files.sha256(name));
  } finally {
    await srv.peer.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  const records = readQlogDir(qlogDir);
  rmSync(qlogDir, { recursive: true, force: true });
  return records;
}

/**
 * Our server and our client over loopback: `crosswire get` downloads `name` from `files` with ALPN `alpn` in QUIC
 * `version`, verified against the test CA; asserts the version and ALPN in both -v logs and a byte-identical body.
 */
export async function selfTransfer(files: TestFiles, name: string, alpn: 'h3' | 'hq-interop', version: 1 | 2): Promise<void> {
  const pki = makePki();
  // The server prefers the same version, or it would upgrade a v2 client to v1 (RFC 9368 compatible negotiation).
  const { peer, port } = await serveQuic(files.dir, ['--quic-version', String(version)]);
  const dir = tempDir('crosswire-self-');
  try {
    const out = join(dir, name);
    const r = await runCli(['get', `https://localhost:${port}/${name}`, '--ca', pki.ca, '--alpn', alpn, '--quic-version', String(version), '--out', out, '-v', '--timeout', '1500'], { timeoutMs: 1_600_000 });
    expect(r.code, `${r.stderr.slice(-1500)}\n--- server:\n${peer.stderr().slice(-1500)}`).toBe(0);
    expect(r.stderr).toContain(`connecting to 127.0.0.1:${port} over v${version}, ALPN ${alpn}`);
    expect(r.stderr).toMatch(new RegExp(`handshake complete: v${version}, ALPN ${alpn}, TLS_AES_128_GCM_SHA256`));
    expect(sha256File(out)).toBe(files.sha256(name));
    expect(peer.stderr()).toMatch(new RegExp(`handshake complete with 127\\.0\\.0\\.1:\\d+: TLS_AES_128_GCM_SHA256, ALPN ${alpn}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await peer.kill();
  }
}
