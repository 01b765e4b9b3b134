import { test, expect } from '@playwright/test';
import { baseConfig } from './quic-conn-harness.js';
import { connectQuic, listenQuic } from '../engine/io/udp.js';
import { utf8 } from '../engine/wire/bytes.js';

test('over real UDP on 127.0.0.1: blocking client and server, default stream echo, graceful shutdown', async () => {
  const { runner: serverRunner, acceptConnection } = await listenQuic({ host: '127.0.0.1', port: 0, config: baseConfig('server') });
  const port = serverRunner.local.port;
  const { api: client, runner: clientRunner } = await connectQuic({ host: '127.0.0.1', port, config: baseConfig('client'), localHost: '127.0.0.1' });
  try {
    const serving = (async () => {
      const conn = await acceptConnection();
      await conn.handshakeAsync();
      const parts: Uint8Array[] = [];
      for (;;) {
        const r = await conn.readAsync();
        if (!(r instanceof Uint8Array)) break;
        parts.push(r);
      }
      const body = utf8.decode(Buffer.concat(parts));
      await conn.writeAsync(utf8.encode(`echo: ${body}`), true);
      return conn;
    })();
    await client.handshakeAsync();
    await client.writeAsync(utf8.encode('hello over UDP'), true);
    const reply = await client.defaultStreamObject!.readAllAsync();
    expect(utf8.decode(reply)).toBe('echo: hello over UDP');
    const serverConn = await serving;
    await client.shutdownAsync({ appErrorCode: 0, reason: 'done' });
    expect(client.closeInfo).toMatchObject({ initiator: 'local', kind: 'application', reason: 'done' });
    while (!serverConn.connectionEnded) await serverRunner.progress();
    expect(serverConn.closeInfo).toMatchObject({ initiator: 'remote', reason: 'done' });
  } finally {
    await clientRunner.close();
    await serverRunner.close();
  }
});
