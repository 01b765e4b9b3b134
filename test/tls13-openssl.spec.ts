// Smoke interop of the TLS 1.3 engine with OpenSSL's s_server / s_client over TCP on 127.0.0.1 (record layer: engine/tls/record-connection.ts).
import { test, expect } from '@playwright/test';
import type { AddressInfo } from 'node:net';
import { cryptoProvider } from '../engine/crypto/index.js';
import type { SessionTicket, TlsConfig } from '../engine/tls/api.js';
import { createTlsSession } from '../engine/tls/session.js';
import { connectTls, listenTls, type TlsSocket } from '../engine/io/tcp.js';
import { systemClock, systemRandom } from '../engine/io/system.js';
import { freeTcpPort, requireBinary, spawnPeer, type Peer } from './helpers/proc.js';
import { makePki } from './helpers/pki.js';
import { caDer, loadIdentity } from './tls13-fixtures.js';

const crypto = cryptoProvider('noble');
const OPENSSL = requireBinary('/usr/bin/openssl', 'apt-get install -y openssl');

async function sServer(leaf: keyof ReturnType<typeof makePki>['leaf'], extra: string[] = []): Promise<{ peer: Peer; port: number }> {
  const pki = makePki();
  const port = await freeTcpPort();
  const peer = spawnPeer(OPENSSL, ['s_server', '-accept', `127.0.0.1:${port}`, '-tls1_3', '-www', '-cert', pki.leaf[leaf].cert, '-key', pki.leaf[leaf].key, ...extra]);
  await peer.waitFor(/ACCEPT/);
  return { peer, port };
}

function client(extra: Partial<TlsConfig> = {}): TlsConfig {
  return { role: 'client', crypto, random: systemRandom, clock: systemClock, serverName: 'localhost', verify: { ca: caDer() }, ...extra };
}

/** Connects, sends a GET, reads the s_server -www status page, and collects any tickets. */
async function get(port: number, cfg: TlsConfig): Promise<{ tls: TlsSocket; page: string; tickets: SessionTicket[] }> {
  const tls = await connectTls({ host: '127.0.0.1', port, session: createTlsSession(cfg), crypto });
  const tickets: SessionTicket[] = [];
  tls.on('ticket', (t: SessionTicket) => tickets.push(t));
  const chunks: Buffer[] = [];
  tls.on('data', (d: Buffer) => chunks.push(d));
  const done = new Promise<void>((resolve, reject) => {
    tls.on('close', resolve);
    tls.on('error', reject);
  });
  // s_server -www serves one connection at a time: answer its close_notify so it moves on to the next.
  tls.on('end', () => tls.end());
  tls.write('GET / HTTP/1.0\r\n\r\n');
  await done;
  return { tls, page: Buffer.concat(chunks).toString('latin1'), tickets };
}

test.describe('OpenSSL s_server', () => {
  for (const [leaf, suite, group] of [
    ['ec', 'TLS_AES_128_GCM_SHA256', 'x25519'],
    ['rsa', 'TLS_AES_256_GCM_SHA384', 'secp256r1'],
    ['ed25519', 'TLS_CHACHA20_POLY1305_SHA256', 'x25519'],
    ['p384', 'TLS_AES_128_GCM_SHA256', 'secp256r1'],
  ] as const) {
    test(`our client: ${leaf} ${suite} ${group}`, async () => {
      const { peer, port } = await sServer(leaf);
      try {
        const r = await get(port, client({ cipherSuites: [suite], groups: [group] }));
        expect(r.page).toContain('HTTP/1.0 200 ok');
        expect(r.page).toContain(`Ciphers supported in s_server binary`);
        expect(r.tls.session.suite?.name).toBe(suite);
        expect(r.tls.session.group).toBe(group);
      } finally {
        peer.proc.kill();
      }
    });
  }

  test('our client: HelloRetryRequest, then resumption with OpenSSL tickets', async () => {
    const { peer, port } = await sServer('ec', ['-groups', 'P-256']);
    try {
      const first = await get(port, client({ keyShareGroups: ['x25519'] }));
      expect(first.tls.session.helloRetry).toBe(true);
      expect(first.tls.session.group).toBe('secp256r1');
      expect(first.tickets.length).toBeGreaterThan(0);
      const second = await get(port, client({ keyShareGroups: ['secp256r1'], session: first.tickets[0] }));
      expect(second.tls.session.resumed).toBe(true);
      expect(second.page).toContain('Reused, TLSv1.3');
    } finally {
      peer.proc.kill();
    }
  });

  test('our client: client certificate requested and verified by OpenSSL', async () => {
    const pki = makePki();
    const id = loadIdentity('client');
    const { peer, port } = await sServer('ec', ['-Verify', '1', '-CAfile', pki.ca]);
    try {
      const r = await get(port, client({ certificateChain: id.chain, privateKey: id.key }));
      expect(r.page).toContain('HTTP/1.0 200 ok');
      expect(r.page).toMatch(/Client certificate/);
    } finally {
      peer.proc.kill();
    }
  });
});

test.describe('OpenSSL s_client', () => {
  for (const leaf of ['ec', 'rsa', 'ed25519'] as const) {
    test(`our server (${leaf}) answers s_client`, async () => {
      const id = loadIdentity(leaf);
      const server = await listenTls({
        host: '127.0.0.1',
        port: 0,
        crypto,
        createSession: () =>
          createTlsSession({ role: 'server', crypto, random: systemRandom, clock: systemClock, certificateChain: id.chain, privateKey: id.key, alpn: ['crosswire'] }),
        onConnection: (tls) => {
          tls.on('data', (d: Buffer) => tls.end(`echo:${d.toString('latin1')}`));
          tls.on('error', () => {});
        },
      });
      const port = (server.address() as AddressInfo).port;
      try {
        const peer = spawnPeer(OPENSSL, ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-CAfile', makePki().ca, '-servername', 'localhost', '-alpn', 'crosswire', '-verify_return_error', '-ign_eof']);
        peer.proc.stdin!.write('ping\n');
        peer.proc.stdin!.end();
        await peer.waitFor(/echo:ping/);
        expect(peer.stdout()).toContain('Verify return code: 0 (ok)');
        expect(peer.stdout()).toContain('ALPN protocol: crosswire');
        peer.proc.kill();
      } finally {
        server.close();
      }
    });
  }
});

test('our server sends HelloRetryRequest to s_client and negotiates ChaCha20 with secp256r1', async () => {
  const id = loadIdentity('p384');
  let session: ReturnType<typeof createTlsSession> | undefined;
  const server = await listenTls({
    host: '127.0.0.1',
    port: 0,
    crypto,
    createSession: () =>
      (session = createTlsSession({ role: 'server', crypto, random: systemRandom, clock: systemClock, certificateChain: id.chain, privateKey: id.key, groups: ['secp256r1'] })),
    onConnection: (tls) => {
      tls.on('data', () => tls.end('hrr-ok\n'));
      tls.on('error', () => {});
    },
  });
  const port = (server.address() as AddressInfo).port;
  try {
    const peer = spawnPeer(OPENSSL, ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-CAfile', makePki().ca, '-servername', 'localhost',
      '-groups', 'X25519:P-256', '-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256', '-verify_return_error', '-ign_eof']);
    peer.proc.stdin!.write('x\n');
    peer.proc.stdin!.end();
    await peer.waitFor(/hrr-ok/);
    expect(peer.stdout()).toContain('TLS_CHACHA20_POLY1305_SHA256');
    expect(session!.helloRetry).toBe(true);
    expect(session!.group).toBe('secp256r1');
    peer.proc.kill();
  } finally {
    server.close();
  }
});

test.describe('OpenSSL s_client against our server: tickets and 0-RTT', () => {
  test('s_client resumes with our sealed ticket; our server declines its early data and the handshake goes on', async () => {
    const id = loadIdentity('ec');
    const ticketKey = crypto.hash('sha256', new TextEncoder().encode('interop ticket key'));
    const received: string[] = [];
    const sessions: { resumed: boolean; early?: boolean }[] = [];
    const server = await listenTls({
      host: '127.0.0.1',
      port: 0,
      crypto,
      // The first server issues tickets that allow 0-RTT; the second (same ticket key) declines early data.
      createSession: () =>
        createTlsSession({ role: 'server', crypto, random: systemRandom, clock: systemClock, certificateChain: id.chain, privateKey: id.key, ticketKey, earlyData: sessions.length === 0 }),
      onConnection: (tls) => {
        tls.on('data', (d: Buffer) => {
          received.push(d.toString('latin1'));
          tls.end('bye\n');
        });
        tls.on('secure', () => sessions.push({ resumed: tls.session.resumed, early: tls.session.earlyDataAccepted }));
        tls.on('error', () => {});
      },
    });
    const port = (server.address() as AddressInfo).port;
    const dir = makePki().dir;
    const sess = `${dir}/interop-${process.pid}-${Date.now()}.sess`;
    const early = `${dir}/interop-early-${process.pid}.txt`;
    (await import('node:fs')).writeFileSync(early, 'early-hello\n');
    try {
      const first = spawnPeer(OPENSSL, ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-CAfile', makePki().ca, '-servername', 'localhost', '-sess_out', sess, '-ign_eof']);
      first.proc.stdin!.write('one\n');
      first.proc.stdin!.end();
      await first.waitFor(/bye/);
      expect(await first.exited).toBe(0);
      const second = spawnPeer(OPENSSL, ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-CAfile', makePki().ca, '-servername', 'localhost', '-sess_in', sess, '-early_data', early, '-ign_eof']);
      second.proc.stdin!.write('two\n');
      second.proc.stdin!.end();
      await second.waitFor(/bye/);
      expect(second.stdout()).toContain('Reused, TLSv1.3');
      expect(second.stdout()).toContain('Early data was rejected');
      expect(sessions).toEqual([{ resumed: false, early: undefined }, { resumed: true, early: false }]);
    } finally {
      server.close();
    }
  });
});

test('s_client KeyUpdate with update_requested: our server updates both directions and keeps talking', async () => {
  const id = loadIdentity('ec');
  const updates: string[] = [];
  const server = await listenTls({
    host: '127.0.0.1',
    port: 0,
    crypto,
    createSession: () => {
      const s = createTlsSession({ role: 'server', crypto, random: systemRandom, clock: systemClock, certificateChain: id.chain, privateKey: id.key });
      // Watch the session's own key-update events as the record layer drains them.
      const poll = s.pollEvent.bind(s);
      s.pollEvent = () => {
        const ev = poll();
        if (ev?.type === 'key-update') updates.push(ev.direction);
        return ev;
      };
      return s;
    },
    onConnection: (tls) => {
      tls.on('data', (d: Buffer) => {
        if (d.toString('latin1').includes('after')) tls.end('echo-after-update\n');
      });
      tls.on('error', () => {});
    },
  });
  const port = (server.address() as AddressInfo).port;
  try {
    const peer = spawnPeer(OPENSSL, ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-CAfile', makePki().ca, '-servername', 'localhost']);
    await peer.waitFor(/Verify return code: 0/);
    peer.proc.stdin!.write('K\n');
    await peer.waitFor(/KEYUPDATE/);
    peer.proc.stdin!.write('after\n');
    await peer.waitFor(/echo-after-update/);
    expect(updates).toEqual(['read', 'write']);
    peer.proc.kill();
  } finally {
    server.close();
  }
});
