// DPLPMTUD against real ngtcp2 0.12.1 on loopback (whose MTU carries any size): our probes up to 1472 bytes are
// acknowledged by gtlsserver and by gtlsclient, the datagram size rises, and the downloads stay byte-identical.
// Needs the built CLI (npm run build). A missing ngtcp2 binary fails these tests (requireNgtcp2), never skips them.

import { test, expect } from '@playwright/test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { makePki } from './helpers/pki.js';
import { runCli } from './helpers/proc.js';
import { gtlsClientFromOurServer, makeTestFiles, readQlogDir, requireNgtcp2, sha256File, startGtlsServer, tempDir, type QlogRecord, type RunningServer, type TestFiles } from './helpers/ngtcp2.js';

const FILE = '2MB.bin';
let files: TestFiles;

test.describe.configure({ timeout: 300_000 });

test.beforeAll(() => {
  requireNgtcp2();
  files = makeTestFiles({ [FILE]: '2MB' });
});

test.afterAll(() => rmSync(files.dir, { recursive: true, force: true }));

const mtuUpdates = (records: QlogRecord[]) => records.filter((r) => r.name === 'connectivity:mtu_updated').map((r) => r.data);
const sentStreamSizes = (records: QlogRecord[]) =>
  records.filter((r) => r.name === 'transport:packet_sent' && r.data.frames?.some((f: { frame_type: string }) => f.frame_type === 'stream')).map((r) => r.data.raw.length as number);

/** `crosswire get` of FILE from a fresh gtlsserver with --qlog; checks the download and hands over the qlog and server. */
async function getFromGtlsServer(extra: string[], then: (records: QlogRecord[], server: RunningServer, ca: string) => Promise<void>): Promise<void> {
  const pki = makePki();
  let server: RunningServer | undefined;
  const qlogDir = tempDir('crosswire-qlog-');
  const out = join(tempDir('crosswire-get-'), FILE);
  try {
    server = await startGtlsServer({ key: pki.leaf.ec.key, cert: pki.leaf.ec.cert, root: files.dir });
    const r = await runCli(['get', server.url(FILE), '--ca', pki.ca, '--out', out, '--qlog', qlogDir, '--timeout', '240', ...extra], { timeoutMs: 280_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(sha256File(out)).toBe(files.sha256(FILE));
    await then(readQlogDir(qlogDir), server, pki.ca);
  } finally {
    await server?.stop();
    rmSync(qlogDir, { recursive: true, force: true });
    rmSync(out, { force: true });
  }
}

test('crosswire get from gtlsserver: our client\'s probes are acknowledged and its datagram size rises to 1472', async () => {
  await getFromGtlsServer([], async (records) => {
    // ngtcp2 advertises a max_udp_payload_size of at least 1472, so the search tries 1472 first and it gets through.
    const params = records.find((x) => x.name === 'transport:parameters_set' && x.data.owner === 'remote');
    expect(params?.data.max_udp_payload_size).toBeGreaterThanOrEqual(1472);
    expect(mtuUpdates(records)).toEqual([{ old: 1200, new: 1472, done: true }]);
  });
});

test('gtlsclient downloads from our server, which probes up to the client\'s limit and sends data in the larger datagrams', async () => {
  const records = await gtlsClientFromOurServer(files, FILE);
  const limit = Math.min(1472, records.find((x) => x.name === 'transport:parameters_set' && x.data.owner === 'remote')!.data.max_udp_payload_size);
  const updates = mtuUpdates(records);
  expect(updates.at(-1)).toMatchObject({ new: limit, done: true });
  const sizes = sentStreamSizes(records);
  expect(Math.max(...sizes)).toBe(limit);
  expect(sizes.filter((n) => n === limit).length).toBeGreaterThan(sizes.length / 2);
});

test('crosswire get --max-datagram-size caps the search; a size below 1200 is a usage error', async () => {
  await getFromGtlsServer(['--max-datagram-size', '1350'], async (records, server, ca) => {
    expect(mtuUpdates(records)).toEqual([{ old: 1200, new: 1350, done: true }]);
    const bad = await runCli(['get', server.url(FILE), '--ca', ca, '--max-datagram-size', '1000']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-datagram-size must be a byte count from 1200 to 65527');
  });
});
