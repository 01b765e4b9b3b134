import { test, expect } from '@playwright/test';
import { Alert, TlsError, type CipherSuiteName, type SessionTicket, type TlsEvent } from '../engine/tls/api.js';
import { createTlsSession } from '../engine/tls/session.js';
import { trafficKeys } from '../engine/tls/key-schedule.js';
import { decodeClientHello, encodeClientHello } from '../engine/tls/handshake-codec.js';
import { ExtensionType, encodeSupportedVersionsClient, encodeU16List } from '../engine/tls/extensions.js';
import { BACKENDS, caDer, clientConfig, flipLastByteOf, connect, env, loadIdentity, pump, secrets, serverConfig, side, type Side } from './tls13-fixtures.js';

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

    test('resumption through a HelloRetryRequest recomputes the binder; 0-RTT is dropped by the HRR', () => {
      const e = env(backend, 'resume-hrr');
      const first = connect(clientConfig(e), serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY, earlyData: true }));
      const ticket = tickets(first.client)[0]!;
      const r = connect(
        clientConfig(e, { session: ticket, earlyData: true }),
        serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY, earlyData: true, groups: ['secp256r1', 'x25519'] }),
      );
      expect(r.client.session.helloRetry).toBe(true);
      expect(r.client.session.resumed).toBe(true);
      expect(r.server.session.resumed).toBe(true);
      expect(r.client.session.earlyDataAccepted).toBe(false);
      expect(earlyAnswer(r.server)).toBe(false);
      expectMatchingSecrets(r.client, r.server);
    });

    test('an expired ticket or one for another server name is not offered', () => {
      const e = env(backend, 'expired-ticket');
      const first = connect(clientConfig(e), serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY, ticketLifetimeSec: 60 }));
      const ticket = tickets(first.client)[0]!;
      expect(ticket.lifetimeSec).toBe(60);
      const other = connect(clientConfig(e, { session: ticket, serverName: 'other.test.crosswire' }), serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY }));
      expect(other.client.session.resumed).toBe(false);
      e.now.ms += 61_000;
      const late = connect(clientConfig(e, { session: ticket }), serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY }));
      expect(late.client.session.resumed).toBe(false);
      expect(late.client.session.handshakeComplete).toBe(true);
    });

    test('0-RTT is refused when the ALPN differs from the ticket, and when the ticket age is implausible', () => {
      const e = env(backend, 'early-alpn');
      const sc = serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY, alpn: ['h2', 'http/1.1'], earlyData: true });
      const first = connect(clientConfig(e, { alpn: ['h2'] }), sc);
      const ticket = tickets(first.client)[0]!;
      // The client itself does not attempt 0-RTT for another ALPN.
      const other = connect(clientConfig(e, { alpn: ['http/1.1'], session: ticket, earlyData: true }), sc);
      expect(other.client.session.resumed).toBe(true);
      expect(earlyAnswer(other.client)).toBeUndefined();
      // A client clock far off the server's makes the server refuse 0-RTT but still resume.
      const skewed = connect(clientConfig(e, { alpn: ['h2'], session: { ...ticket, receivedAtMs: ticket.receivedAtMs - 30_000 }, earlyData: true }), sc);
      expect(skewed.client.session.resumed).toBe(true);
      expect(skewed.client.session.earlyDataAccepted).toBe(false);
    });

    test('server sendSessionTicket issues extra tickets with sealed appData returned on resumption', () => {
      const e = env(backend, 'appdata');
      const sc = serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY, ticketCount: 0 });
      const first = connect(clientConfig(e), sc);
      expect(tickets(first.client)).toHaveLength(0);
      first.server.session.sendSessionTicket({ appData: Uint8Array.of(1, 2, 3) });
      first.server.session.sendSessionTicket();
      pump(first.client, first.server);
      const ts = tickets(first.client);
      expect(ts).toHaveLength(2);
      expect(ts[0]!.resumptionSecret).not.toEqual(ts[1]!.resumptionSecret);
      const r = connect(clientConfig(e, { session: ts[0] }), sc);
      expect(r.server.session.resumed).toBe(true);
      expect(r.server.session.ticketAppData).toEqual(Uint8Array.of(1, 2, 3));
    });

    test('acceptEarlyData sees the sealed appData and can refuse 0-RTT (QUIC transport parameter check)', () => {
      const e = env(backend, 'early-filter');
      const tp = Uint8Array.of(1, 1, 0);
      const seen: (Uint8Array | undefined)[] = [];
      const sc = serverConfig(e, loadIdentity('ec'), {
        quic: true, quicTransportParameters: tp, ticketKey: TICKET_KEY, earlyData: true, ticketCount: 0,
        acceptEarlyData: (appData) => (seen.push(appData), false),
      });
      const cc = clientConfig(e, { quic: true, quicTransportParameters: tp });
      const first = connect(cc, sc);
      first.server.session.sendSessionTicket({ appData: Uint8Array.of(9, 9) });
      pump(first.client, first.server);
      const r = connect({ ...cc, session: tickets(first.client)[0], earlyData: true }, sc);
      expect(seen).toEqual([Uint8Array.of(9, 9)]);
      expect(r.server.session.resumed).toBe(true);
      expect(r.client.session.earlyDataAccepted).toBe(false);
    });

    test('both sides export the same keying material (RFC 8446 §7.5)', () => {
      const e = env(backend, 'exporter');
      const { client, server } = connect(clientConfig(e), serverConfig(e, loadIdentity('ec')));
      const ctx = Uint8Array.of(1, 2, 3);
      const a = client.session.exportKeyingMaterial!('EXPERIMENTAL crosswire', ctx, 32);
      expect(a).toEqual(server.session.exportKeyingMaterial!('EXPERIMENTAL crosswire', ctx, 32));
      expect(a).not.toEqual(client.session.exportKeyingMaterial!('EXPERIMENTAL crosswire', new Uint8Array(0), 32));
    });

    test('handshake-only state is released once both Finished are through; tickets and exporters still work', () => {
      // Issue 15 (memory per idle connection): the key schedule, transcript hash, handshake secrets and ECDHE keys go.
      const e = env(backend, 'release');
      const sc = serverConfig(e, loadIdentity('ec'), { ticketKey: TICKET_KEY, ticketCount: 0 });
      const first = connect(clientConfig(e), sc);
      for (const s of [first.client.session, first.server.session]) {
        const internals = s as unknown as { ks?: unknown; transcript: { hash(): Uint8Array }; clientHandshakeSecret?: unknown };
        expect(internals.ks).toBeUndefined();
        expect(internals.clientHandshakeSecret).toBeUndefined();
        expect(() => internals.transcript.hash()).toThrow(/released/);
      }
      expect((first.client.session as unknown as { shares: Map<string, unknown> }).shares.size).toBe(0);
      const ctx = Uint8Array.of(7);
      expect(first.client.session.exportKeyingMaterial!('EXPERIMENTAL crosswire', ctx, 16)).toEqual(first.server.session.exportKeyingMaterial!('EXPERIMENTAL crosswire', ctx, 16));
      first.server.session.sendSessionTicket();
      pump(first.client, first.server);
      const r = connect(clientConfig(e, { session: tickets(first.client)[0] }), sc);
      expect(r.server.session.resumed).toBe(true);
    });

    test('an untrusted client certificate is unknown_ca at the server', () => {
      const e = env(backend, 'untrusted-client');
      const id = loadIdentity('untrusted');
      const err = failing(() =>
        connect(clientConfig(e, { certificateChain: id.chain, privateKey: id.key }), serverConfig(e, loadIdentity('ec'), { requireClientCertificate: true, verify: { ca: caDer() } })),
      );
      expect(err.alert).toBe(Alert.unknown_ca);
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
        serverConfig(e, loadIdentity('rsa'), { requireClientCertificate: true, verify: { ca: caDer() } }),
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

for (const backend of BACKENDS) {
  test.describe(`certificates and failures (${backend})`, () => {
    const certFailure = (leaf: 'untrusted' | 'expired' | 'ec', serverName = 'localhost') => {
      const e = env(backend, `cert/${leaf}`);
      return failing(() => connect(clientConfig(e, { serverName }), serverConfig(e, loadIdentity(leaf))));
    };

    test('untrusted chain is unknown_ca', () => expect(certFailure('untrusted').alert).toBe(Alert.unknown_ca));
    test('expired leaf is certificate_expired', () => expect(certFailure('expired').alert).toBe(Alert.certificate_expired));
    test('wrong hostname is bad_certificate', () => expect(certFailure('ec', 'example.com').alert).toBe(Alert.bad_certificate));

    test('a chain through an intermediate verifies', () => {
      const e = env(backend, 'chain');
      const { client } = connect(clientConfig(e), serverConfig(e, loadIdentity('chain')));
      expect(client.session.handshakeComplete).toBe(true);
      expect(client.session.peerCertificates).toHaveLength(2);
    });

    test('insecure skips the chain but still checks CertificateVerify', () => {
      const e = env(backend, 'insecure');
      const ok = connect(clientConfig(e, { verify: { ca: [], insecure: true } }), serverConfig(e, loadIdentity('untrusted')));
      expect(ok.client.session.handshakeComplete).toBe(true);
      const err = failing(() =>
        connect(clientConfig(e, { verify: { ca: [], insecure: true } }), serverConfig(e, loadIdentity('untrusted')), 0, (from, epoch, d) =>
          from === 'server' && epoch === 'handshake' ? flipLastByteOf(d, 15) : d,
        ),
      );
      expect(err.alert).toBe(Alert.decrypt_error);
    });

    for (const key of KEYS) {
      test(`bad server CertificateVerify (${key}) is decrypt_error`, () => {
        const e = env(backend, `badcv/${key}`);
        const err = failing(() =>
          connect(clientConfig(e), serverConfig(e, loadIdentity(key)), 0, (from, epoch, d) => (from === 'server' && epoch === 'handshake' ? flipLastByteOf(d, 15) : d)),
        );
        expect(err.alert).toBe(Alert.decrypt_error);
      });
    }

    test('bad server Finished and bad client Finished are decrypt_error', () => {
      const e = env(backend, 'badfin');
      const s = failing(() => connect(clientConfig(e), serverConfig(e, loadIdentity('ec')), 0, (from, epoch, d) => (from === 'server' && epoch === 'handshake' ? flipLastByteOf(d, 20) : d)));
      expect(s.alert).toBe(Alert.decrypt_error);
      const c = failing(() => connect(clientConfig(e), serverConfig(e, loadIdentity('ec')), 0, (from, epoch, d) => (from === 'client' && epoch === 'handshake' ? flipLastByteOf(d, 20) : d)));
      expect(c.alert).toBe(Alert.decrypt_error);
    });

    test('bad client CertificateVerify is decrypt_error at the server', () => {
      const e = env(backend, 'badclientcv');
      const id = loadIdentity('client');
      const err = failing(() =>
        connect(
          clientConfig(e, { certificateChain: id.chain, privateKey: id.key }),
          serverConfig(e, loadIdentity('ec'), { requireClientCertificate: true, verify: { ca: caDer() } }),
          0,
          (from, epoch, d) => (from === 'client' && epoch === 'handshake' ? flipLastByteOf(d, 15) : d),
        ),
      );
      expect(err.alert).toBe(Alert.decrypt_error);
    });

    test('no common cipher suite, group or signature scheme is handshake_failure', () => {
      const e = env(backend, 'nocommon');
      const suites = failing(() => connect(clientConfig(e, { cipherSuites: ['TLS_AES_128_GCM_SHA256'] }), serverConfig(e, loadIdentity('ec'), { cipherSuites: ['TLS_AES_256_GCM_SHA384'] })));
      expect(suites.alert).toBe(Alert.handshake_failure);
      const groups = failing(() => connect(clientConfig(e, { groups: ['x25519'] }), serverConfig(e, loadIdentity('ec'), { groups: ['secp256r1'] })));
      expect(groups.alert).toBe(Alert.handshake_failure);
      const sigs = failing(() => connect(clientConfig(e, { signatureSchemes: ['ed25519'] }), serverConfig(e, loadIdentity('ec'))));
      expect(sigs.alert).toBe(Alert.handshake_failure);
    });

    test('a ClientHello without TLS 1.3 in supported_versions is protocol_version', () => {
      const e = env(backend, 'version');
      const hello = encodeClientHello(e.random(32), new Uint8Array(0), [0x1301], [
        { type: ExtensionType.supported_groups, data: encodeU16List([0x1d]) },
        { type: ExtensionType.supported_versions, data: encodeSupportedVersionsClient([0x0303]) },
      ]);
      const server = createTlsSession(serverConfig(e, loadIdentity('ec')));
      const err = failing(() => server.receive('initial', hello));
      expect(err.alert).toBe(Alert.protocol_version);
      // The session stays failed and reports the same error again.
      expect(() => server.receive('initial', hello)).toThrow(TlsError);
    });

    test('malformed and out-of-order messages: decode_error, unexpected_message', () => {
      const e = env(backend, 'malformed');
      const truncated = Uint8Array.of(1, 0, 0, 3, 3, 3, 0);
      expect(failing(() => createTlsSession(serverConfig(e, loadIdentity('ec'))).receive('initial', truncated)).alert).toBe(Alert.decode_error);
      const finished = Uint8Array.of(20, 0, 0, 32, ...new Uint8Array(32));
      expect(failing(() => createTlsSession(serverConfig(e, loadIdentity('ec'))).receive('initial', finished)).alert).toBe(Alert.unexpected_message);
      const atWrongEpoch = createTlsSession(serverConfig(e, loadIdentity('ec')));
      expect(failing(() => atWrongEpoch.receive('handshake', finished)).alert).toBe(Alert.unexpected_message);
      // A client that sent its ClientHello must not get a second ClientHello-shaped message.
      const client = createTlsSession(clientConfig(e));
      client.start();
      expect(failing(() => client.receive('initial', client.pollOutput()!.data)).alert).toBe(Alert.unexpected_message);
    });

    test('ClientHello without signature_algorithms, key_share or with pre_shared_key not last is rejected', () => {
      const e = env(backend, 'ch-ext');
      const client = createTlsSession(clientConfig(e));
      client.start();
      const ch = decodeClientHello(client.pollOutput()!.data.subarray(4));
      const rebuilt = (items: { type: number; data: Uint8Array }[]) => encodeClientHello(ch.random, ch.sessionId, ch.cipherSuites, items);
      const without = (type: number) => rebuilt(ch.extensions.items.filter((x) => x.type !== type));
      const serverAlert = (hello: Uint8Array) => failing(() => createTlsSession(serverConfig(e, loadIdentity('ec'))).receive('initial', hello)).alert;
      expect(serverAlert(without(ExtensionType.signature_algorithms))).toBe(Alert.missing_extension);
      expect(serverAlert(without(ExtensionType.key_share))).toBe(Alert.missing_extension);
      expect(serverAlert(without(ExtensionType.supported_versions))).toBe(Alert.protocol_version);
      const fakePsk = { type: ExtensionType.pre_shared_key, data: Uint8Array.of(0, 7, 0, 1, 1, 0, 0, 0, 0, 0, 33, 32, ...new Uint8Array(32)) };
      expect(serverAlert(rebuilt([fakePsk, ...ch.extensions.items]))).toBe(Alert.illegal_parameter);
      const dup = ch.extensions.items.find((x) => x.type === ExtensionType.supported_groups)!;
      expect(serverAlert(rebuilt([...ch.extensions.items, dup]))).toBe(Alert.illegal_parameter);
    });

    test('ServerHello selecting a suite the client did not offer is illegal_parameter', () => {
      const e = env(backend, 'badsuite');
      const err = failing(() =>
        connect(clientConfig(e, { cipherSuites: ['TLS_AES_128_GCM_SHA256'] }), serverConfig(e, loadIdentity('ec')), 0, (from, epoch, d) => {
          if (from !== 'server' || epoch !== 'initial') return d;
          const copy = d.slice();
          const at = 4 + 2 + 32 + 1 + copy[4 + 2 + 32]!; // cipher_suite follows the session id echo
          copy[at + 1] = 0x02;
          return copy;
        }),
      );
      expect(err.alert).toBe(Alert.illegal_parameter);
    });
  });

  test.describe(`QUIC mode (${backend})`, () => {
    const tpClient = Uint8Array.of(0x04, 0x02, 0x40, 0x80);
    const tpServer = Uint8Array.of(0x0f, 0x00);

    test('transport parameters are exchanged, no session id, tickets allow 0-RTT with 0xffffffff', () => {
      const e = env(backend, 'quic');
      const sc = serverConfig(e, loadIdentity('ec'), { quic: true, quicTransportParameters: tpServer, alpn: ['h3'], ticketKey: TICKET_KEY, earlyData: true });
      const first = connect(clientConfig(e, { quic: true, quicTransportParameters: tpClient, alpn: ['h3'] }), sc);
      expect(first.client.session.peerTransportParameters).toEqual(tpServer);
      expect(first.server.session.peerTransportParameters).toEqual(tpClient);
      expect(first.client.sent[0]!.data[4 + 2 + 32]).toBe(0); // empty legacy_session_id (RFC 9001 §8.4)
      const ticket = tickets(first.client)[0]!;
      expect(ticket.maxEarlyData).toBe(0xffffffff);

      const zeroRtt = connect(clientConfig(e, { quic: true, quicTransportParameters: tpClient, alpn: ['h3'], session: ticket, earlyData: true }), sc);
      expect(zeroRtt.server.session.earlyDataAccepted).toBe(true);
      expect(zeroRtt.client.session.earlyDataAccepted).toBe(true);
      // No EndOfEarlyData in QUIC (RFC 9001 §8.3): the client's second flight is at the handshake epoch only.
      expect(zeroRtt.client.sent.map((s) => s.epoch)).toEqual(['initial', 'handshake']);
      expectMatchingSecrets(zeroRtt.client, zeroRtt.server);
    });

    test('HelloRetryRequest and client authentication in QUIC mode', () => {
      const e = env(backend, 'quic-hrr-auth');
      const id = loadIdentity('client');
      const { client, server } = connect(
        clientConfig(e, { quic: true, quicTransportParameters: tpClient, certificateChain: id.chain, privateKey: id.key }),
        serverConfig(e, loadIdentity('ed25519'), { quic: true, quicTransportParameters: tpServer, groups: ['secp256r1'], requireClientCertificate: true, verify: { ca: caDer() } }),
      );
      expect(client.session.helloRetry).toBe(true);
      expect(server.session.peerCertificates[0]).toEqual(id.chain[0]);
      expect(client.sent.map((s) => s.epoch)).toEqual(['initial', 'initial', 'handshake']);
      expectMatchingSecrets(client, server);
    });

    test('missing quic_transport_parameters is missing_extension; KeyUpdate is refused', () => {
      const e = env(backend, 'quic-missing');
      const err = failing(() => connect(clientConfig(e), serverConfig(e, loadIdentity('ec'), { quic: true, quicTransportParameters: tpServer })));
      expect(err.alert).toBe(Alert.missing_extension);
      const ok = connect(clientConfig(e, { quic: true, quicTransportParameters: tpClient }), serverConfig(e, loadIdentity('ec'), { quic: true, quicTransportParameters: tpServer }));
      expect(() => ok.client.session.keyUpdate(false)).toThrow();
      expect(failing(() => ok.server.session.receive('application', Uint8Array.of(24, 0, 0, 1, 0))).alert).toBe(Alert.unexpected_message);
    });
  });
}

for (const backend of BACKENDS) {
  test(`corrupted handshake bytes only ever raise TlsError (${backend})`, () => {
    const e = env(backend, 'corrupt');
    const id = loadIdentity('ec');
    const pick = (n: number) => new DataView(e.random(4).buffer).getUint32(0) % n;
    const alerts = new Set<number>();
    for (let i = 0; i < 80; i++) {
      // Corrupt the n-th transfer of the handshake (either direction) at one random byte.
      const target = pick(4);
      let transfer = 0;
      try {
        connect(clientConfig(e, { alpn: ['h2'] }), serverConfig(e, id, { alpn: ['h2'], requestClientCertificate: true, verify: { ca: caDer() } }), 0, (_from, _epoch, d) => {
          if (transfer++ !== target) return d;
          const copy = d.slice();
          const at = pick(copy.length);
          copy[at] = copy[at]! ^ (1 + pick(255));
          return copy;
        });
      } catch (err) {
        expect(err).toBeInstanceOf(TlsError);
        alerts.add((err as TlsError).alert);
      }
    }
    // A spread of alerts shows the corruption reached different parsers and checks.
    expect(alerts.size).toBeGreaterThan(3);
  });
}
