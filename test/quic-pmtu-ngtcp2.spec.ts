// DPLPMTUD against real ngtcp2 0.12.1 on loopback (whose MTU carries any size): our probes up to 1472 bytes are
// acknowledged by gtlsserver and by gtlsclient, the datagram size rises, and the downloads stay byte-identical.
// Needs the built CLI (npm run build). A missing ngtcp2 binary fails these tests (requireNgtcp2), never skips them.

import { test, expect } from '@playwright/test';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makePki } from './helpers/pki.js';
import { runCli } from './helpers/proc.js';
import { makeTestFiles, requireNgtcp2, runGtlsClient, serveQuic, sha256File, startGtlsServer, tempDir, type RunningServer, type TestFiles } from './helpers/ngtcp2.js';

const FILE = '2MB.bin';
let files: TestFiles;

test.describe.configure({ timeout: 300_000 });

test.beforeAll(() => {
  requireNgtcp2();
  files = makeTestFiles({ [FILE]: '2MB' });
});

test.afterAll(() => rmSync(files.dir, { recursive: true, force: true }));

/** qlog records (JSON-SEQ) of every file in `dir`, parsed. */
function qlogRecords(dir: string): { name?: string; data?: any }[] {
  return readdirSync(dir)
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\x1e'))
    .filter((r) => r.trim())
    .map((r) => JSON.parse(r));
}

const mtuUpdates = (records: { name?: string; data?: any }[]) => records.filter((r) => r.name === 'connectivity:mtu_updated').map((r) => r.data);
const sentStreamSizes = (records: { name?: string; data?: any }[]) =>
  records.filter((r) => r.name === 'transport:packet_sent' && r.data.frames?.some((f: { frame_type: string }) => f.frame_type === 'stream')).map((r) => r.data.raw.length as number);

test('crosswire get from gtlsserver: our client\'s probes are acknowledged and its datagram size rises to 1472', async () => {
  const pki = makePki();
  let server: RunningServer | undefined;
  const qlogDir = tempDir('crosswire-qlog-');
  const out = join(tempDir('crosswire-get-'), FILE);
  try {
    server = await startGtlsServer({ key: pki.leaf.ec.key, cert: pki.leaf.ec.cert, root: files.dir });
    const r = await runCli(['get', server.url(FILE), '--ca', pki.ca, '--out', out, '--qlog', qlogDir, '--timeout', '240'], { timeoutMs: 280_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(sha256File(out)).toBe(files.sha256(FILE));
    // ngtcp2 advertises a max_udp_payload_size of at least 1472, so the search tries 1472 first and it gets through.
    const params = qlogRecords(qlogDir).find((x) => x.name === 'transport:parameters_set' && x.data.owner === 'remote');
    expect(params?.data.max_udp_payload_size).toBeGreaterThanOrEqual(1472);
    expect(mtuUpdates(qlogRecords(qlogDir))).toEqual([{ old: 1200, new: 1472, done: true }]);
  } finally {
    await server?.stop();
    rmSync(qlogDir, { recursive: true, force: true });
    rmSync(out, { force: true });
  }
});

test('gtlsclient downloads from our server, which probes up to the client\'s limit and sends data in the larger datagrams', async () => {
  const qlogDir = tempDir('crosswire-qlog-');
  const srv = await serveQuic(files.dir, ['--qlog', qlogDir]);
  const dir = tempDir('crosswire-dl-');
  try {
    const r = await runGtlsClient({ port: srv.port, paths: [`/${FILE}`], download: dir });
    expect(r.code, r.stderr.slice(-1000)).toBe(0);
    expect(sha256File(join(dir, FILE))).toBe(files.sha256(FILE));
  } finally {
    await srv.peer.kill();
  }
  const records = qlogRecords(qlogDir);
  const limit = Math.min(1472, records.find((x) => x.name === 'transport:parameters_set' && x.data.owner === 'remote')!.data.max_udp_payload_size);
  const updates = mtuUpdates(records);
  expect(updates.at(-1)).toMatchObject({ new: limit, done: true });
  const sizes = sentStreamSizes(records);
  expect(Math.max(...sizes)).toBe(limit);
  expect(sizes.filter((n) => n === limit).length).toBeGreaterThan(sizes.length / 2);
  rmSync(qlogDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

test('crosswire get --max-datagram-size caps the search; a size below 1200 is a usage error', async () => {
  const pki = makePki();
  let server: RunningServer | undefined;
  const qlogDir = tempDir('crosswire-qlog-');
  const out = join(tempDir('crosswire-get-'), FILE);
  try {
    server = await startGtlsServer({ key: pki.leaf.ec.key, cert: pki.leaf.ec.cert, root: files.dir });
    const r = await runCli(['get', server.url(FILE), '--ca', pki.ca, '--out', out, '--qlog', qlogDir, '--max-datagram-size', '1350', '--timeout', '240'], { timeoutMs: 280_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(sha256File(out)).toBe(files.sha256(FILE));
    expect(mtuUpdates(qlogRecords(qlogDir))).toEqual([{ old: 1200, new: 1350, done: true }]);
    const bad = await runCli(['get', server.url(FILE), '--ca', pki.ca, '--max-datagram-size', '1000']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-datagram-size must be a byte count from 1200 to 65527');
  } finally {
    await server?.stop();
    rmSync(qlogDir, { recursive: true, force: true });
    rmSync(out, { force: true });
  }
});
