import { test, expect } from '@playwright/test';
import { BACKENDS, clientConfig, connect, env, loadIdentity, secrets, serverConfig } from './tls13-fixtures.js';

for (const backend of BACKENDS) {
  test.describe(`self handshake (${backend})`, () => {
    test('x25519, AES-128-GCM, ECDSA P-256 completes with matching secrets', () => {
      const e = env(backend, 'basic');
      const { client, server } = connect(clientConfig(e, { cipherSuites: ['TLS_AES_128_GCM_SHA256'] }), serverConfig(e, loadIdentity('ec')));
      expect(client.session.handshakeComplete).toBe(true);
      expect(server.session.handshakeComplete).toBe(true);
      expect(client.session.suite?.name).toBe('TLS_AES_128_GCM_SHA256');
      expect(client.session.group).toBe('x25519');
      for (const epoch of ['handshake', 'application'] as const) {
        expect(secrets(client, epoch, 'write')).toEqual(secrets(server, epoch, 'read'));
        expect(secrets(client, epoch, 'read')).toEqual(secrets(server, epoch, 'write'));
        expect(secrets(client, epoch, 'write')).toHaveLength(1);
      }
    });
  });
}
