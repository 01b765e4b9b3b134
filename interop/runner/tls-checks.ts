// Checks of a TLS 1.3 over TCP run (DESIGN.md §6, §7), in virtual and in real time alike: the client's outcome, the
// files it wrote, and every protocol fact from the wire (tls-wire-analysis.ts). Names match the QUIC checks where
// they mean the same (completed, handshakes, files-identical, resumed, key-updates, cipher-suite, within).

import type { Check } from '../result.js';
import type { Scenario } from '../scenario/model.js';
import type { TlsWireFacts, WireAlert } from './tls-wire-analysis.js';

export interface TlsClientOutcome {
  /** The client did its whole workload (exit 0, every response complete). */
  ok: boolean;
  /** What happened, in one line (the failure as the client put it, or where it finished). */
  detail: string;
}

export interface TlsFileOutcome {
  path: string;
  size: number;
  expectedDigest: string;
  /** What the client wrote, if anything. */
  got?: { bytes: number; digest: string };
}

export interface TlsCheckInput {
  scenario: Scenario;
  wire: TlsWireFacts;
  client: TlsClientOutcome;
  files: TlsFileOutcome[];
}

const secs = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const isFatal = (a: WireAlert) => a.level === 'fatal' || (a.description !== 0 && a.description !== 90);
const showAlert = (a: WireAlert) => `${a.name} from the ${a.from}${a.encrypted ? '' : ' (in the clear)'}`;

export function tlsChecks(input: TlsCheckInput): Check[] {
  const { scenario: s, wire } = input;
  const ex = s.expect;
  const conns = wire.connections;
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  if (ex.verdict === 'failed') add('client-failed', !input.client.ok, input.client.ok ? `the client succeeded (${input.client.detail}), the scenario expects it to fail` : input.client.detail);
  else add('completed', input.client.ok, input.client.detail);

  if (ex.handshakes !== undefined) add('handshakes', wire.handshakes === ex.handshakes, `${wire.handshakes} of ${ex.handshakes} expected handshake(s) completed on the wire (${wire.handshakeBasis})`);

  if (ex.files === 'identical') {
    const problems: string[] = [];
    let bytes = 0;
    for (const f of input.files) {
      if (!f.got) problems.push(`${f.path} never arrived`);
      else if (f.got.bytes !== f.size) problems.push(`${f.path} has ${f.got.bytes} bytes, expected ${f.size}`);
      else if (f.got.digest !== f.expectedDigest) problems.push(`${f.path} differs from the served file`);
      else bytes += f.size;
    }
    if (!input.files.length) problems.push('no file was requested');
    add('files-identical', problems.length === 0, problems.length ? `${problems.length} of ${input.files.length} file(s) wrong; first: ${problems[0]}` : `${input.files.length} file(s), ${bytes} bytes, SHA-256 identical to the served files`);
  }

  if (ex.resumed !== undefined) {
    const later = conns.slice(1);
    const ok = later.length > 0 && later.every((c) => c.resumed === ex.resumed && c.handshakeComplete);
    add('resumed', ok, later.length ? later.map((c, i) => `connection ${i + 2}: ${c.resumed === undefined ? 'no ServerHello' : c.resumed ? 'resumed (ServerHello pre_shared_key)' : c.pskOffered ? 'full handshake (PSK offered, not accepted)' : 'full handshake (no PSK offered)'}${c.handshakeComplete ? '' : ', handshake incomplete'}`).join(', ') : `only ${conns.length} connection(s) on the wire: nothing to resume`);
  }

  if (ex.hrr !== undefined) {
    const first = conns[0];
    const saw = conns.some((c) => c.hrr);
    const ok = saw === ex.hrr && (!ex.hrr || conns.some((c) => c.hrr && c.clientHellos === 2 && c.handshakeComplete));
    add('hrr', ok, first ? conns.map((c) => `connection ${c.id}: ${c.hrr ? `HelloRetryRequest for ${c.hrrGroup ?? '?'}, ${c.clientHellos} ClientHello(s), ServerHello with ${c.group ?? 'none'}` : `no HelloRetryRequest (ServerHello with ${c.group ?? 'none'})`}${c.handshakeComplete ? '' : ', handshake incomplete'}`).join('; ') : 'no connection on the wire');
  }

  if (ex.keyUpdates) {
    const wc = ex.keyUpdates.client ?? 0;
    const ws = ex.keyUpdates.server ?? 0;
    const blind = conns.some((c) => !c.decrypted && c.suite !== undefined);
    const cl = conns.reduce((a, c) => a + c.keyUpdates.client, 0);
    const sv = conns.reduce((a, c) => a + c.keyUpdates.server, 0);
    add('key-updates', !blind && cl >= wc && sv >= ws, blind ? `not observable: ${wire.keysMissing ?? 'no keys'}` : `KeyUpdate messages on the wire: client ${cl} (expected ≥ ${wc}), server ${sv} (expected ≥ ${ws})`);
  }

  if (ex.clientAuth !== undefined) {
    const blind = conns.some((c) => !c.decrypted && c.suite !== undefined);
    const authed = conns.filter((c) => c.certificateRequested && c.clientCertificate === 'sent' && c.clientCertificateVerify && c.handshakeComplete);
    const ok = !blind && (authed.length > 0) === ex.clientAuth;
    add('client-auth', ok, blind ? `not observable: ${wire.keysMissing ?? 'no keys'}` : conns.map((c) => `connection ${c.id}: ${c.certificateRequested ? 'CertificateRequest' : 'no CertificateRequest'}, client Certificate ${c.clientCertificate}${c.clientCertificateVerify ? ' + CertificateVerify' : ''}${c.handshakeComplete ? '' : ', handshake incomplete'}`).join('; ') || 'no connection on the wire');
  }

  if (ex.alert !== undefined) {
    const fatal = conns.flatMap((c) => c.alerts.filter(isFatal));
    const seen = fatal.length ? fatal.map(showAlert).join(', ') : 'no fatal alert';
    if (ex.alert === 'none') add('alert', fatal.length === 0, `${seen} on the wire (expected none)`);
    else {
      const want = ex.alert;
      const hit = fatal.find((a) => a.name === want.name && (!want.from || a.from === want.from));
      const blind = conns.some((c) => !c.decrypted && c.suite !== undefined);
      add('alert', !!hit, `${seen} on the wire (expected ${want.name}${want.from ? ` from the ${want.from}` : ''})${!hit && blind ? `; protected alerts unreadable: ${wire.keysMissing}` : ''}`);
    }
  }

  if (ex.cipherSuite !== undefined) {
    const suites = conns.map((c) => c.suite ?? 'none');
    add('cipher-suite', suites.length > 0 && suites.every((x) => x === ex.cipherSuite), `ServerHello chose ${suites.join(', ') || 'nothing'} (expected ${ex.cipherSuite})`);
  }

  if (ex.withinMs !== undefined) {
    const end = conns.length ? Math.max(...conns.map((c) => c.lastAppDataMs ?? -1)) : -1;
    add('within', end >= 0 && end <= ex.withinMs, end < 0 ? `no application data reached the client (limit ${secs(ex.withinMs)})` : `last response data at ${secs(end)} (limit ${secs(ex.withinMs)})`);
  }
  return checks;
}

/** The run's verdict from its checks: every check must hold (a `verdict: failed` scenario checks the failure itself). */
export function tlsVerdict(s: Scenario, checks: Check[]): { verdict: 'passed' | 'failed'; reason: string } {
  const failed = checks.filter((c) => !c.ok);
  if (failed.length) return { verdict: 'failed', reason: failed.map((c) => `${c.name}: ${c.detail}`).join('; ') };
  if (s.expect.verdict === 'failed') return { verdict: 'passed', reason: `failed as expected: ${checks.find((c) => c.name === 'client-failed')?.detail ?? ''}` };
  return { verdict: 'passed', reason: '' };
}

/** Metrics for result.json from the wire. */
export function tlsMetrics(wire: TlsWireFacts): Record<string, number | string> {
  const sum = (f: (c: TlsWireFacts['connections'][number]) => number) => wire.connections.reduce((a, c) => a + f(c), 0);
  return {
    handshakes: wire.handshakes,
    connections: wire.connections.length,
    helloRetryRequests: wire.connections.filter((c) => c.hrr).length,
    resumed: wire.connections.filter((c) => c.resumed).length,
    recordsToServer: sum((c) => c.records.client),
    recordsToClient: sum((c) => c.records.server),
    keyUpdatesClient: sum((c) => c.keyUpdates.client),
    keyUpdatesServer: sum((c) => c.keyUpdates.server),
    appBytesToClient: sum((c) => c.appDataBytes.server),
    undecryptableRecords: sum((c) => c.undecryptable.client + c.undecryptable.server),
    // Every alert on the wire, in order: what each side said when the stream was cut or the handshake refused.
    alerts: wire.connections.flatMap((c) => c.alerts.map((a) => `c${c.id} ${a.from} ${a.level} ${a.name}${a.encrypted ? '' : ' (clear)'}`)).join(', ') || 'none',
    endings: wire.connections.map((c) => `c${c.id} to-server ${c.transport.toServer ?? 'open'}${c.partialRecord.toServer ? ` (${c.partialRecord.toServer} bytes of a record)` : ''}, to-client ${c.transport.toClient ?? 'open'}${c.partialRecord.toClient ? ` (${c.partialRecord.toClient} bytes of a record)` : ''}`).join('; '),
  };
}
