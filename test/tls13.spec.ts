import { test, expect } from '@playwright/test';
import { Alert, TlsError, type CipherSuiteName, type SessionTicket, type TlsEvent } from '../engine/tls/api.js';
import { createTlsSession } from '../engine/tls/session.js';
import { trafficKeys } from '../engine/tls/key-schedule.js';
import { BACKENDS, clientConfig, connect, env, loadIdentity, pump, secrets, serverConfig, side, type Side } from './tls13-fixtures.js';

const SUITES: CipherSuiteName[] = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const GROUPS = ['x25519', 'secp256r1'] as const;
const KEYS = ['ec', 'p384', 'rsa', 'ed25519'] as const;
const TICKET_KEY = new Uint8Array(32).fill(7);

function expectMatchingSecrets(client: Side, server: Side): void {
  for (const epoch of ['handshake', 'application'] as const) {
    expect(secrets(client, epoch, 'write')).toHaveLength(1);
    expect(secrets(client, epoch, 'write')).toEqual(secrets(server, epoch, 'read'));
    expect(secrets(client, epoch, 'read')).toEqual(secrets(server, epoch, 'write'));
  }
}

function tickets(s: Side): SessionTicket[] {
  return s.events.flatMap((e) => (e.type === 'ticket' ? [e.ticket] : []));
}

function earlyAnswer(s: Side): boolean | undefined {
  const ev = s.events.find((e): e is Extract<TlsEvent, { type: 'early-data' }> => e.type === 'early-data');
  return ev?.accepted;
}

/** Runs a handshake expected to fail and returns the alerts each side raised (or the thrown error). */
function failing(run: () => void): TlsError {
  try {
    run();
  } catch (e) {
    if (e instanceof TlsError) return e;
    throw e;
  }
  throw new Error('handshake unexpectedly succeeded');
}

for (const backend of BACKENDS) {
  test.describe(`self handshake (${backend})`, () => {
    for (const suite of SUITES) {
      for (const group of GROUPS) {
        for (const key of KEYS) {
          test(`${suite} ${group} ${key}`, () => {
            const e = env(backend, `${suite}/${group}/${key}`);
            const { client, server } = connect(
              clientConfig(e, { cipherSuites: [suite], groups: [group] }),
              serverConfig(e, loadIdentity(key), { groups: [group] }),
            );
            expect(client.session.handshakeComplete).toBe(true);
            expect(server.session.handshakeComplete).toBe(true);
            expect(client.session.suite?.name).toBe(suite);
            expect(server.session.group).toBe(group);
            expect(client.session.helloRetry).toBe(false);
            expect(client.session.peerCertificates[0]).toEqual(loadIdentity(key).chain[0]);
            expectMatchingSecrets(client, server);
          });
        }
      }
    }

    test('messages split into 7-byte pieces reassemble', () => {
      const e = env(backend, 'split');
      const { client, server } = connect(clientConfig(e), serverConfig(e, loadIdentity('rsa')), 7);
      expect(client.session.handshakeComplete && server.session.handshakeComplete).toBe(true);
      expectMatchingSecrets(client, server);
    });

    test('client handshake ends with handshake-complete after its secrets, and the flight uses the right epochs', () => {
      const e = env(backend, 'order');
      const { client, server } = connect(clientConfig(e), serverConfig(e, loadIdentity('ec')));
      const order = client.events.map((ev) => (ev.type === 'secret' ? `${ev.secret.epoch}/${ev.secret.direction}` : ev.type));
      expect(order).toEqual(['handshake/read', 'handshake/write', 'application/read', 'application/write', 'handshake-complete']);
      expect(client.sent.map((s) => s.epoch)).toEqual(['initial', 'handshake']);
      expect(server.sent.map((s) => s.epoch)).toEqual(['initial', 'handshake']);
      // Non-QUIC mode sends a 32-byte legacy_session_id for middlebox compatibility.
      expect(client.sent[0]!.data[4 + 2 + 32]).toBe(32);
    });

    test('HelloRetryRequest when the server prefers a group the client did not share', () => {
      const e = env(backend, 'hrr');
      const { client, server } = connect(
        clientConfig(e, { groups: ['x25519', 'secp256r1'], keyShareGroups: ['x25519'] }),
        serverConfig(e, loadIdentity('ec'), { groups: ['secp256r1', 'x25519'] }),
      );
      expect(client.session.helloRetry).toBe(true);
      expect(server.session.helloRetry).toBe(true);
      expect(client.session.group).toBe('secp256r1');
      expectMatchingSecrets(client, server);
      expect(client.sent.filter((s) => s.epoch === 'initial')).toHaveLength(2);
    });

    test('HelloRetryRequest when the server only supports a group without a client share', () => {
      const e = env(backend, 'hrr-only');
      const { client, server } = connect(clientConfig(e), serverConfig(e, loadIdentity('ed25519'), { groups: ['secp256r1'] }));
      expect(client.session.helloRetry).toBe(true);
      expect(server.session.group).toBe('secp256r1');
      expectMatchingSecrets(client, server);
    });

    test('ALPN: server picks its preferred protocol; mismatch is no_application_protocol', () => {
      const e = env(backend, 'alpn');
      const ok = connect(clientConfig(e, { alpn: ['http/1.1', 'h2'] }), serverConfig(e, loadIdentity('ec'), { alpn: ['h2', 'http/1.1'] }));
      expect(ok.client.session.alpn).toBe('h2');
      expect(ok.server.session.alpn).toBe('h2');
      const c = side(createTlsSession(clientConfig(e, { alpn: ['h3'] })));
      const s = side(createTlsSession(serverConfig(e, loadIdentity('ec'), { alpn: ['hq-interop'] })));
      c.session.start();
      const err = failing(() => pump(c, s));
      expect(err.alert).toBe(Alert.no_application_protocol);
      expect(s.session.pollEvent()).toEqual({ type: 'alert', level: 'fatal', description: Alert.no_application_protocol, sent: true });
    });

    test('SNI reaches the server', () => {
      const e = env(backend, 'sni');
      const { server } = connect(clientConfig(e, { serverName: 'localhost' }), serverConfig(e, loadIdentity('ec')));
      expect(server.session.serverName).toBe('localhost');
    });

    test('resumption with a sealed ticket, then 0-RTT accepted', () => {
      const e = env(backend, 'resume');
      const first = connect(clientConfig(e, { alpn: ['h2'] }), serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY, alpn: ['h2'], earlyData: true }));
      const [ticket] = tickets(first.client);
      expect(ticket).toBeDefined();
      expect(ticket!.maxEarlyData).toBe(16384);
      expect(ticket!.alpn).toBe('h2');
      e.now.ms += 5_000;

      const second = connect(
        clientConfig(e, { alpn: ['h2'], session: ticket }),
        serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY, alpn: ['h2'] }),
      );
      expect(second.client.session.resumed).toBe(true);
      expect(second.server.session.resumed).toBe(true);
      expect(second.client.session.peerCertificates).toHaveLength(0);
      expectMatchingSecrets(second.client, second.server);

      const third = connect(
        clientConfig(e, { alpn: ['h2'], session: ticket, earlyData: true }),
        serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY, alpn: ['h2'], earlyData: true }),
      );
      expect(third.client.session.earlyDataAccepted).toBe(true);
      expect(third.server.session.earlyDataAccepted).toBe(true);
      expect(earlyAnswer(third.client)).toBe(true);
      expect(earlyAnswer(third.server)).toBe(true);
      expect(secrets(third.client, 'early', 'write')).toHaveLength(1);
      expect(secrets(third.client, 'early', 'write')).toEqual(secrets(third.server, 'early', 'read'));
      // Over TCP the client ends early data with EndOfEarlyData at the early epoch.
      expect(third.client.sent.map((s) => s.epoch)).toEqual(['initial', 'early', 'handshake']);
      expect(third.client.sent[1]!.data).toEqual(Uint8Array.of(5, 0, 0, 0));
      expectMatchingSecrets(third.client, third.server);
    });

    test('0-RTT rejected by a server that does not take early data: full 1-RTT resumption still works', () => {
      const e = env(backend, 'reject');
      const first = connect(clientConfig(e), serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY, earlyData: true }));
      const [ticket] = tickets(first.client);
      const r = connect(clientConfig(e, { session: ticket, earlyData: true }), serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY }));
      expect(r.client.session.resumed).toBe(true);
      expect(r.client.session.earlyDataAccepted).toBe(false);
      expect(earlyAnswer(r.client)).toBe(false);
      expect(earlyAnswer(r.server)).toBe(false);
      expect(secrets(r.server, 'early', 'read')).toHaveLength(0);
      expect(r.client.sent.map((s) => s.epoch)).toEqual(['initial', 'handshake']);
      expectMatchingSecrets(r.client, r.server);
    });

    test('a ticket sealed under another key is ignored: full handshake', () => {
      const e = env(backend, 'otherkey');
      const first = connect(clientConfig(e), serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY }));
      const r = connect(clientConfig(e, { session: tickets(first.client)[0] }), serverConfig(e, loadIdentity('ec'), { ticketKey: new Uint8Array(32).fill(9) }));
      expect(r.client.session.resumed).toBe(false);
      expect(r.client.session.handshakeComplete).toBe(true);
    });

    test('a bad PSK binder is decrypt_error', () => {
      const e = env(backend, 'binder');
      const first = connect(clientConfig(e), serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY }));
      const t = tickets(first.client)[0]!;
      const forged = { ...t, resumptionSecret: t.resumptionSecret.map((b) => b ^ 1) };
      const err = failing(() => connect(clientConfig(e, { session: forged }), serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY })));
      expect(err.alert).toBe(Alert.decrypt_error);
    });

    test('client certificate authentication', () => {
      const e = env(backend, 'clientauth');
      const client = loadIdentity('client');
      const { client: c, server: s } = connect(
        clientConfig(e, { certificateChain: client.chain, privateKey: client.key }),
        serverConfig(e, loadIdentity('rsa'), { requireClientCertificate: true, verify: { ca: [] as Uint8Array[], insecure: false } }),
      );
      expect(s.session.peerCertificates[0]).toEqual(client.chain[0]);
      expectMatchingSecrets(c, s);
    });

    test('required client certificate missing is certificate_required; optional one missing is fine', () => {
      const e = env(backend, 'noclientcert');
      const optional = connect(clientConfig(e), serverConfig(e, loadIdentity('ec'), { requestClientCertificate: true }));
      expect(optional.server.session.handshakeComplete).toBe(true);
      expect(optional.server.session.peerCertificates).toHaveLength(0);
      const err = failing(() => connect(clientConfig(e), serverConfig(e, loadIdentity('ec'), { requireClientCertificate: true })));
      expect(err.alert).toBe(Alert.certificate_required);
    });

    test('KeyUpdate with update_requested updates both directions', () => {
      const e = env(backend, 'keyupdate');
      const { client, server } = connect(clientConfig(e), serverConfig(e, loadIdentity('ec')));
      client.events.length = 0;
      server.events.length = 0;
      client.session.keyUpdate(true);
      pump(client, server);
      const cw = client.events.find((ev) => ev.type === 'key-update' && ev.direction === 'write');
      const sr = server.events.find((ev) => ev.type === 'key-update' && ev.direction === 'read');
      const sw = server.events.find((ev) => ev.type === 'key-update' && ev.direction === 'write');
      const cr = client.events.find((ev) => ev.type === 'key-update' && ev.direction === 'read');
      expect(cw && sr && sw && cr).toBeTruthy();
      expect((cw as { secret: Uint8Array }).secret).toEqual((sr as { secret: Uint8Array }).secret);
      expect((sw as { secret: Uint8Array }).secret).toEqual((cr as { secret: Uint8Array }).secret);
      const app0 = secrets(client, 'application', 'write');
      expect(app0).toHaveLength(0);
    });

    test('nextTrafficSecret follows RFC 8446 §7.2 and traffic keys derive', () => {
      const e = env(backend, 'next');
      const { client } = connect(clientConfig(e), serverConfig(e, loadIdentity('ec')));
      const s0 = secrets(client, 'application', 'write')[0]!;
      const s1 = client.session.nextTrafficSecret(s0);
      expect(s1).toHaveLength(32);
      expect(s1).not.toEqual(s0);
      expect(trafficKeys(e.crypto, client.session.suite!, s1).iv).toHaveLength(12);
    });

    test('keylog lines in NSS format', () => {
      const e = env(backend, 'keylog');
      const lines: string[] = [];
      connect(clientConfig(e, { keyLog: (l) => lines.push(l) }), serverConfig(e, loadIdentity('ec')));
      const labels = lines.map((l) => l.split(' ')[0]);
      expect(labels).toEqual(['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0', 'EXPORTER_SECRET']);
      for (const l of lines) expect(l).toMatch(/^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{64}$/);
    });
  });
}
