import { test, expect } from '@playwright/test';
import { baseConfig } from './quic-conn-harness.js';
import { connectQuic, listenQuic } from '../engine/io/quic-udp.js';
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

test('over real UDP: a blocking write made while a read is already waiting on an idle connection goes out at once', async () => {
  const { runner: serverRunner, acceptConnection } = await listenQuic({ host: '127.0.0.1', port: 0, config: baseConfig('server') });
  const { api: client, runner: clientRunner } = await connectQuic({ host: '127.0.0.1', port: serverRunner.local.port, config: baseConfig('client'), localHost: '127.0.0.1' });
  try {
    const serving = (async () => {
      const conn = await acceptConnection();
      await conn.handshakeAsync();
      const r = await conn.readAsync();
      if (!(r instanceof Uint8Array)) throw new Error(`server read ${r}`);
      await conn.writeAsync(r, true);
    })();
    await client.handshakeAsync();
    // Let the handshake's last ACKs and timers settle so neither side has anything to send: the connection is idle.
    await new Promise((r) => setTimeout(r, 300));
    const reading = client.readAsync();
    await new Promise((r) => setImmediate(r));
    await client.writeAsync(utf8.encode('ping'), true);
    // Without the write flushing through the driver this waits for the idle timeout, then reads 'connection-closed'.
    const got = await reading;
    expect(got instanceof Uint8Array ? utf8.decode(got) : got).toBe('ping');
    await serving;
    expect(client.connectionEnded).toBe(false);
    await client.shutdownAsync({});
  } finally {
    await clientRunner.close();
    await serverRunner.close();
  }
});
