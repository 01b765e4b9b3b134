// The file-serving glue behind `crosswire serve quic:// --root DIR`: DirectoryFiles (the directory as a FileSource)
// and BodyPump (a body into a stream as the send buffer allows), checked for correct bytes and for not re-reading
// the file when the stream takes a little at a time.

import { test, expect } from '@playwright/test';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BodyPump } from '../engine/apps/body-pump.js';
import type { FileSource, StreamTransport } from '../engine/apps/transport.js';
import { DirectoryFiles } from '../engine/io/directory-files.js';
import { makeTestFiles, tempDir } from './helpers/ngtcp2.js';

/** A stream that accepts at most `perCall` bytes per write, like a send buffer freed one packet per ACK. */
function trickleTransport(perCall: number) {
  const parts: Uint8Array[] = [];
  let fin = false;
  const t: StreamTransport = {
    role: 'server',
    openStream: () => undefined,
    write: (_id, data, f) => {
      const n = Math.min(perCall, data.length);
      parts.push(data.slice(0, n));
      if (f && n === data.length) fin = true;
      return n;
    },
    read: () => ({ data: new Uint8Array(0), fin: false }),
    reset: () => {},
    stopSending: () => {},
    closeConnection: () => {},
  };
  return { t, body: () => Buffer.concat(parts), fin: () => fin };
}

test('BodyPump hands over a body byte-exact, reading each 64 KiB of the file once however little the stream takes', () => {
  const files = makeTestFiles({ 'body.bin': 300_000 });
  const source = new DirectoryFiles(files.dir);
  let reads = 0;
  const counting: FileSource = {
    size: (p) => source.size(p),
    read: (p, o, l) => {
      reads++;
      return source.read(p, o, l);
    },
  };
  try {
    const size = counting.size('/body.bin')!;
    expect(size).toBe(300_000);
    const prefix = new Uint8Array([1, 2, 3]);
    const pump = new BodyPump(0, counting, '/body.bin', size, prefix);
    const stream = trickleTransport(1200);
    let calls = 0;
    while (!pump.pump(stream.t)) calls++;
    expect(pump.done).toBe(true);
    expect(stream.fin()).toBe(true);
    expect(calls).toBeGreaterThan(200);
    expect(reads).toBe(Math.ceil(300_000 / 65536));
    const body = stream.body();
    expect([...body.subarray(0, 3)]).toEqual([1, 2, 3]);
    expect(createHash('sha256').update(body.subarray(3)).digest('hex')).toBe(files.sha256('body.bin'));
  } finally {
    source.close();
    rmSync(files.dir, { recursive: true, force: true });
  }
});

test('DirectoryFiles: no escape from the root, 404 for directories and missing files, a replaced file is served fresh', () => {
  const dir = tempDir('crosswire-root-');
  try {
    writeFileSync(join(dir, 'a.txt'), 'first');
    const files = new DirectoryFiles(dir);
    expect(files.size('/../etc/passwd')).toBeUndefined();
    expect(files.size('/%2e%2e/etc/passwd')).toBeUndefined();
    expect(files.size('/')).toBeUndefined();
    expect(files.size('/missing')).toBeUndefined();
    expect(files.size('/a.txt')).toBe(5);
    expect(Buffer.from(files.read('/a.txt', 0, 5)).toString()).toBe('first');
    writeFileSync(join(dir, 'a.txt'), 'second!');
    // The next request starts with size(): it must see the new file, not the descriptor cached for the old one.
    expect(files.size('/a.txt')).toBe(7);
    expect(Buffer.from(files.read('/a.txt', 0, 7)).toString()).toBe('second!');
    files.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
