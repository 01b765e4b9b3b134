import { test, expect } from '@playwright/test';
import { PassThrough } from 'node:stream';
import { connectDtls, serveDtls } from '../interop/commands/dtls.js';
import { freeUdpPort, requireBinary, spawnPeer } from './helpers/proc.js';
import { makePki } from './helpers/pki.js';
import type { Address } from '../engine/endpoint.js';

const OPENSSL = '/usr/bin/openssl';

function collect(stream: PassThrough): () => string {
  let s = '';
  stream.on('data', (d: Buffer) => (s += d.toString()));
  return () => s;
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const families = [
  { family: 'AES128-GCM', ec: 'ECDHE-ECDSA-AES128-GCM-SHA256', rsa: 'ECDHE-RSA-AES128-GCM-SHA256' },
  { family: 'AES256-GCM', ec: 'ECDHE-ECDSA-AES256-GCM-SHA384', rsa: 'ECDHE-RSA-AES256-GCM-SHA384' },
  { family: 'CHACHA20-POLY1305', ec: 'ECDHE-ECDSA-CHACHA20-POLY1305', rsa: 'ECDHE-RSA-CHACHA20-POLY1305' },
] as const;

for (const f of families) {
  for (const kind of ['ec', 'rsa'] as const) {
    const cipher = f[kind];
    test(`our client ↔ openssl s_server -dtls1_2 -listen: ${cipher} with ${kind.toUpperCase()} certificate, verification on`, async () => {
      requireBinary(OPENSSL, 'apt-get install -y openssl');
      const pki = makePki();
      const port = await freeUdpPort();
      const server = spawnPeer(OPENSSL, ['s_server', '-dtls1_2', '-listen', '-accept', String(port), '-cert', pki.leaf[kind].cert, '-key', pki.leaf[kind].key, '-cipher', cipher]);
      try {
        await server.waitFor(/ACCEPT/);
        const stdin = new PassThrough();
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        const out = collect(stdout);
        const err = collect(stderr);
        const done = connectDtls({ scheme: 'dtls', host: '127.0.0.1', port, path: '/', authority: `127.0.0.1:${port}` }, { ca: pki.ca, servername: 'localhost', v: true }, { stdin, stdout, stderr });
        stdin.write('hello from crosswire\n');
        await server.waitFor(/hello from crosswire/);
        server.proc.stdin!.write('hello from openssl\n');
        await until(() => out().includes('hello from openssl'), 'data from s_server');
        stdin.end();
        expect(await done).toBe(0);
        expect(err()).toContain('HelloVerifyRequest');
        expect(err()).toContain(`handshake complete: DTLS 1.2 ${cipher}`);
      } finally {
        await server.kill();
      }
    });
  }
}

for (const f of families) {
  for (const kind of ['ec', 'rsa'] as const) {
    const cipher = f[kind];
    test(`openssl s_client -dtls1_2 -cipher ${cipher} ↔ our server (${kind.toUpperCase()} certificate) with the cookie round: its data is echoed`, async () => {
      requireBinary(OPENSSL, 'apt-get install -y openssl');
      const pki = makePki();
      const abort = new AbortController();
      const stderr = new PassThrough();
      const err = collect(stderr);
      let local: Address | undefined;
      const serving = serveDtls(
        { scheme: 'dtls', host: '127.0.0.1', port: 0, path: '/', authority: '127.0.0.1:0' },
        { cert: pki.leaf[kind].cert, key: pki.leaf[kind].key, echo: true, v: true },
        { stdin: new PassThrough(), stdout: new PassThrough(), stderr, signal: abort.signal, onListening: (a) => (local = a) },
      );
      await until(() => local !== undefined, 'listening');
      expect(err()).toMatch(/listening on 127\.0\.0\.1:\d+/);
      const client = spawnPeer(OPENSSL, ['s_client', '-dtls1_2', '-CAfile', pki.ca, '-verify_return_error', '-servername', 'localhost', '-cipher', cipher, '-connect', `127.0.0.1:${local!.port}`, '-msg']);
      try {
        await client.waitFor(/Verify return code: 0 \(ok\)/);
        client.proc.stdin!.write('echo me please\n');
        // s_client prints only what it receives, so the line on its stdout is our echo.
        await client.waitFor(/echo me please/);
        // -msg dumps every record: the first server record is a HelloVerifyRequest (content type 22, DTLS 1.0 record
        // version as RFC 6347 §4.2.1 recommends, handshake type 3), and only after it the ServerHello (type 2).
        const trace = client.stdout();
        const hvr = trace.search(/<<< [^\n]*\n\s+16 fe ff [^\n]*\n<<< [^\n]*\n\s+03 00 00/);
        const serverHello = trace.search(/<<< [^\n]*\n\s+16 fe fd [^\n]*\n<<< [^\n]*\n\s+02 00 00/);
        expect(hvr).toBeGreaterThan(0);
        expect(serverHello).toBeGreaterThan(hvr);
        expect(trace).toContain('Extended master secret: yes');
        expect(trace).toContain(`Cipher is ${cipher}`);
      } finally {
        await client.kill();
        abort.abort();
        expect(await serving).toBe(0);
      }
    });
  }
}

test('our client reassembles OpenSSL’s fragmented flight (s_server -mtu 300, RSA certificate) and fragments its own at 300 bytes', async () => {
  requireBinary(OPENSSL, 'apt-get install -y openssl');
  const pki = makePki();
  const port = await freeUdpPort();
  const server = spawnPeer(OPENSSL, ['s_server', '-dtls1_2', '-listen', '-accept', String(port), '-cert', pki.leaf.rsa.cert, '-key', pki.leaf.rsa.key, '-mtu', '300', '-msg']);
  try {
    await server.waitFor(/ACCEPT/);
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const err = collect(stderr);
    const done = connectDtls({ scheme: 'dtls', host: '127.0.0.1', port, path: '/', authority: '' }, { ca: pki.ca, servername: 'localhost', v: true, pmtu: 300 }, { stdin, stdout, stderr });
    stdin.write('fragmented hello\n');
    await server.waitFor(/fragmented hello/);
    stdin.end();
    expect(await done).toBe(0);
    expect(err()).toContain('handshake complete: DTLS 1.2 ECDHE-RSA-AES128-GCM-SHA256');
    // -msg prints whole messages: the server's Certificate (type 11 = 0x0b) is far longer than the 300-byte MTU,
    // so OpenSSL had to send it in fragments that we reassembled.
    const cert = /content_type=22[^\n]*\n\s+0b ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2})/.exec(server.stdout());
    expect(cert).not.toBeNull();
    expect(parseInt(cert![1]! + cert![2]! + cert![3]!, 16)).toBeGreaterThan(300);
  } finally {
    await server.kill();
  }
});
