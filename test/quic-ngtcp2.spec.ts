// Interop against real ngtcp2 0.12.1 (Debian gtlsserver/gtlsclient, GnuTLS, h3): `crosswire get` downloads from
// gtlsserver and gtlsclient downloads from `crosswire serve quic://`, all with certificate verification on.
// Needs the built CLI (npm run build). A missing ngtcp2 binary fails these tests (requireNgtcp2), never skips them.

import { test, expect } from '@playwright/test';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makePki } from './helpers/pki.js';
import { runCli, type Peer } from './helpers/proc.js';
import { makeTestFiles, readQlogDir, requireNgtcp2, runGtlsClient, serveQuic, sha256File, startGtlsServer, tempDir, type RunningServer, type TestFiles } from './helpers/ngtcp2.js';

const FILE = '5MB.bin';
let files: TestFiles;

test.describe.configure({ timeout: 300_000 });

test.beforeAll(() => {
  requireNgtcp2();
  files = makeTestFiles({ [FILE]: '5MB' });
});

test.afterAll(() => rmSync(files.dir, { recursive: true, force: true }));

/** `crosswire get URL --ca … -v --out F`; asserts a clean exit and a byte-identical body; returns the -v log. */
async function getFrom(url: string, extra: string[] = []): Promise<string> {
  const pki = makePki();
  const out = join(tempDir('crosswire-get-'), FILE);
  const r = await runCli(['get', url, '--ca', pki.ca, '--out', out, '-v', '--timeout', '240', ...extra], { timeoutMs: 280_000 });
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  expect(r.stderr).toContain('HTTP/3 status 200');
  expect(sha256File(out)).toBe(files.sha256(FILE));
  rmSync(out);
  return r.stderr;
}

test.describe('crosswire get from gtlsserver', () => {
  let server: RunningServer | undefined;
  test.afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  test('downloads 5 MB byte-identical over h3 with the certificate verified', async () => {
    const pki = makePki();
    server = await startGtlsServer({ key: pki.leaf.ec.key, cert: pki.leaf.ec.cert, root: files.dir });
    const log = await getFrom(server.url(FILE));
    expect(log).toMatch(/handshake complete: v1, ALPN h3, TLS_AES_128_GCM_SHA256, resumed: no/);
    expect(log).not.toContain('Retry');
    expect(log).toContain(`received ${5 * 1024 * 1024} bytes`);
  });

  test('follows a Retry from gtlsserver -V', async () => {
    const pki = makePki();
    server = await startGtlsServer({ key: pki.leaf.ec.key, cert: pki.leaf.ec.cert, root: files.dir, retry: true });
    const log = await getFrom(server.url(FILE));
    expect(log).toContain('server sent a Retry');
    expect(log).toMatch(/handshake complete: v1, ALPN h3/);
  });

  test('uses ChaCha20-Poly1305 when it is the only suite we offer', async () => {
    const pki = makePki();
    server = await startGtlsServer({ key: pki.leaf.ec.key, cert: pki.leaf.ec.cert, root: files.dir });
    const log = await getFrom(server.url(FILE), ['--cipher', 'TLS_CHACHA20_POLY1305_SHA256']);
    expect(log).toMatch(/handshake complete: v1, ALPN h3, TLS_CHACHA20_POLY1305_SHA256/);
  });

  test('resumes on a second connection with 0-RTT accepted', async () => {
    const pki = makePki();
    server = await startGtlsServer({ key: pki.leaf.ec.key, cert: pki.leaf.ec.cert, root: files.dir });
    const ticket = join(tempDir('crosswire-ticket-'), 'ticket');
    const first = await getFrom(server.url(FILE), ['--resume', ticket, '--0rtt']);
    expect(first).toContain('resumed: no');
    expect(first).toContain(`saved ticket to ${ticket}`);
    expect(existsSync(ticket)).toBe(true);
    const second = await getFrom(server.url(FILE), ['--resume', ticket, '--0rtt']);
    expect(second).toContain(`loaded ticket from ${ticket}`);
    expect(second).toContain('0-RTT accepted by the server');
    expect(second).toContain('resumed: yes');
  });
});

test.describe('gtlsclient from crosswire serve quic://', () => {
  let server: Peer | undefined;
  test.afterEach(async () => {
    await server?.kill();
    server = undefined;
  });

  async function serve(extra: string[] = []): Promise<number> {
    const started = await serveQuic(files.dir, extra);
    server = started.peer;
    return started.port;
  }

  async function download(port: number, args: string[] = []): Promise<void> {
    const dir = tempDir('crosswire-dl-');
    const r = await runGtlsClient({ port, paths: [`/${FILE}`], download: dir, args });
    expect(r.code, `${r.stderr.slice(-1000)}\n--- our server:\n${server?.stderr().slice(-1000)}`).toBe(0);
    expect(sha256File(join(dir, FILE))).toBe(files.sha256(FILE));
    rmSync(dir, { recursive: true, force: true });
  }

  test('gtlsclient downloads 5 MB byte-identical over h3', async () => {
    const port = await serve();
    await download(port);
    expect(server!.stderr()).toMatch(/handshake complete with 127\.0\.0\.1:\d+: TLS_AES_128_GCM_SHA256, ALPN h3/);
  });

  test('gtlsclient downloads 5 MB from our server running BBR (--cc bbr), which reaches ProbeBW', async () => {
    const qlogDir = tempDir('crosswire-qlog-');
    const port = await serve(['--cc', 'bbr', '--qlog', qlogDir]);
    await download(port);
    await server!.kill();
    const states = readQlogDir(qlogDir).filter((r) => r.name === 'recovery:congestion_state_updated').map((r) => (r.data as { new: string }).new);
    rmSync(qlogDir, { recursive: true, force: true });
    // Only BBR names these states; CUBIC would log none of them. (Drain may begin and end within one ACK: not logged then.)
    expect(states[0]).toBe('startup');
    expect(states).toContain('probe_bw');
  });

  test('gtlsclient downloads 5 MB through our stateless Retry', async () => {
    const port = await serve(['--retry']);
    await download(port);
    expect(server!.stderr()).toMatch(/sent Retry to 127\.0\.0\.1:\d+/);
    expect(server!.stderr()).toMatch(/handshake complete with 127\.0\.0\.1:\d+/);
  });

  test('our server follows key updates that gtlsclient initiates mid-transfer', async () => {
    // gtlsserver 0.12.1 has no flag to initiate key updates, so the ngtcp2 side initiating is its client.
    const port = await serve();
    await download(port, ['--key-update=100ms']);
    expect(server!.stderr()).toMatch(/key update to generation 1 \(initiated by the client\)/);
  });

  test('gtlsclient follows key updates our server initiates every 200 packets mid-transfer', async () => {
    // The server-initiated direction of RFC 9001 §6 against a real stack: gtlsserver cannot initiate, so we serve.
    const port = await serve(['--key-update', '200']);
    await download(port);
    const generations = [...server!.stderr().matchAll(/key update to generation (\d+) \(initiated by us\)/g)].map((m) => Number(m[1]));
    expect(generations.length).toBeGreaterThanOrEqual(3);
    expect(generations.slice(0, 3)).toEqual([1, 2, 3]);
  });

  test('gtlsclient resumes with 0-RTT on a second connection, ChaCha20-Poly1305 only', async () => {
    const qlogDir = tempDir('crosswire-qlog-');
    const port = await serve(['--qlog', qlogDir]);
    const state = tempDir('crosswire-gtls-state-');
    const chacha = '--ciphers=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305';
    const resume = [`--session-file=${join(state, 'session')}`, `--tp-file=${join(state, 'tp')}`, chacha];
    await download(port, resume);
    await download(port, resume);
    const log = server!.stderr();
    expect(log.match(/handshake complete with .*: TLS_CHACHA20_POLY1305_SHA256, ALPN h3, resumed: no/g)).toHaveLength(1);
    expect(log.match(/handshake complete with .*: TLS_CHACHA20_POLY1305_SHA256, ALPN h3, resumed: yes/g)).toHaveLength(1);
    expect(log).toMatch(/0-RTT accepted from 127\.0\.0\.1:\d+/);
    // And the request really arrived in 0-RTT: our qlog shows decrypted 0-RTT packets carrying STREAM frames.
    await server!.kill();
    const zeroRtt = readQlogDir(qlogDir).filter(
      (r) => r.name === 'transport:packet_received' && r.data.header?.packet_type === '0RTT' && r.data.frames?.some((f: { frame_type: string }) => f.frame_type === 'stream'),
    );
    expect(zeroRtt.length).toBeGreaterThan(0);
    rmSync(qlogDir, { recursive: true, force: true });
  });
});
