// The self↔self bulk matrix (RFC 9000, RFC 9369): `crosswire serve quic://` + `crosswire get` move 50 MB
// byte-identical over h3 and hq-interop in QUIC v1 and v2 over loopback UDP. Needs the built CLI (npm run build).

import { test } from '@playwright/test';
import { rmSync } from 'node:fs';
import { makeTestFiles, selfTransfer, type TestFiles } from './helpers/ngtcp2.js';

const FILE = '50MB.bin';
let files: TestFiles;

test.describe.configure({ timeout: 1_800_000 });
test.beforeAll(() => {
  files = makeTestFiles({ [FILE]: '50MB' });
});
test.afterAll(() => rmSync(files.dir, { recursive: true, force: true }));

for (const alpn of ['h3', 'hq-interop'] as const) {
  for (const version of [1, 2] as const) {
    test(`serve + get move 50 MB byte-identical over ${alpn} in QUIC v${version}`, async () => {
      await selfTransfer(files, FILE, alpn, version);
    });
  }
}
