// QUIC inputs against a real client (RFC 9000 §10.2 closes, §17 packets; RFC 9001 §5 protection): every input is one
// run of the peer's client process (started from its declaration like a real-peer cell's client, own process group)
// against our server on its own loopback port, and one of the datagrams our server sends it passes the mutation stage
// (blind edits, or payloads re-sealed with our server's keys). Then: the process exiting by a signal is a crash; a
// client still running `clientTimeoutMs` after it started (past its own handshake and idle timeouts, though our server
// closed the connection) is a hang; anything else is a reaction (its close code and exit status).

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { nodeCrypto } from '../../engine/crypto/node.js';
import { seededRandom } from '../../engine/crypto/random.js';
import type { Address } from '../../engine/endpoint.js';
import type { CloseInfo } from '../../engine/quic/connection-events.js';
import { splitDatagram, type ProtectedHeader } from '../../engine/quic/packet.js';
import { derivePacketKeys, initialKeys, type PacketKeys } from '../../engine/quic/protection.js';
import { CIPHER_SUITES } from '../../engine/tls/api.js';
import { createTlsSession } from '../../engine/tls/session.js';
import { loadCertificateChain, loadPrivateKey } from '../../engine/tls/x509/pem.js';
import { fromHex } from '../../engine/wire/bytes.js';
import { expandStatic, type PeerDeclaration } from '../peers/declaration.js';
import { GeneratedFiles } from '../runner/content.js';
import type { RunCerts } from '../runner/live-pki.js';
import { EndpointProcess, type ExitStatus } from '../runner/processes.js';
import { ServerHost } from '../runner/quic-server.js';
import { mutatedUnits } from './mutate.js';
import { mutateDatagram } from './quic.js';
import type { Draw } from './rng.js';
import type { LiveInput, LivePlan } from './live-types.js';
import { EngineTimer, bindLoopbackUdp } from './live-io.js';

const crypto = nodeCrypto;
const VERSION = 1;
const sha = (d: Uint8Array) => crypto.hash('sha256', d);
export const CLIENT_FILE = '/fuzz.bin';
const FILE_SIZE = 2000;

export interface ClientInputContext {
  readonly name: string;
  readonly peer: PeerDeclaration;
  readonly alpn: string;
  readonly certs: RunCerts;
  /** Folder for this run's logs and downloads (removed afterwards unless kept). */
  readonly dir: string;
  readonly quietMs: number;
  readonly maxMs: number;
  /** After our server closed the connection, how long the campaign waits for the client to exit before moving on. */
  readonly liveTimeoutMs: number;
  /** From the start of its run, how long a client may live at all (its own handshake and idle timeouts) before it is hung. */
  readonly clientTimeoutMs: number;
}

export interface ClientOutcome {
  readonly exit?: ExitStatus;
  /** Still running clientTimeoutMs after it started (killed). */
  readonly hung: boolean;
  /** Still running liveTimeoutMs after our server closed the connection. */
  readonly outlived: boolean;
  readonly stderrTail: string;
  /** Clean run: the file arrived complete and the client exited 0. */
  readonly ok: boolean;
}

export function clientPlan(r: Draw): LivePlan {
  // Datagram 0 is our first flight (Initial + Handshake), then ACKs, HANDSHAKE_DONE, the response.
  const k = r.pick([0, 0, 0, 0, 1, 1, 2, 2, 3, 4]);
  return { k, mode: r.chance(0.75) ? 'replace' : 'inject', count: r.pick([1, 1, 1, 2, 3]) };
}

function reactionOf(c: CloseInfo | undefined): string {
  if (!c) return 'no-close';
  if (c.cause === 'idle-timeout') return 'idle-timeout';
  if (c.cause !== 'close') return c.cause;
  return `${c.initiator === 'remote' ? 'peer' : 'our'}-close:${c.kind === 'application' ? 'app' : 'transport'}:0x${c.errorCode.toString(16)}`;
}

let pki: { chain: Uint8Array[]; key: ReturnType<typeof loadPrivateKey> } | undefined;

/** Our server's certificate chain and key (the run's, issued for localhost), read once. */
export function serverCredentials(certs: RunCerts): { chain: Uint8Array[]; key: ReturnType<typeof loadPrivateKey> } {
  pki ??= { chain: loadCertificateChain(readFileSync(certs.cert, 'utf8')), key: loadPrivateKey(readFileSync(certs.key, 'utf8')) };
  return pki;
}

/** One client run; `mutate` false is the liveness check (a clean download that must succeed). */
export async function runClientInput(
  ctx: ClientInputContext,
  r: Draw | undefined,
  plan: LivePlan | undefined,
  record: LiveInput | undefined,
): Promise<{ outlived: boolean; final: Promise<ClientOutcome> }> {
  const creds = serverCredentials(ctx.certs);
  const sock = await bindLoopbackUdp();
  const local: Address = { host: '127.0.0.1', port: sock.address().port };
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const secrets = new Map<string, Uint8Array>();
  const host = new ServerHost({
    keepSessions: true, // the first connection's close is the reaction judged below, even once it has drained
    config: {
      crypto,
      random: seededRandom(`${ctx.name}/server`, sha),
      clock: () => Date.now(),
      createTls: createTlsSession,
      tls: {
        alpn: ['hq-interop', 'h3'],
        certificateChain: creds.chain,
        privateKey: creds.key,
        cipherSuites: ['TLS_AES_128_GCM_SHA256'],
        keyLog: (line: string) => {
          const [label, , secret] = line.split(' ');
          if (label && secret) secrets.set(label, fromHex(secret));
        },
      },
      version: VERSION,
      pmtud: false,
    },
    files: new GeneratedFiles([[CLIENT_FILE, FILE_SIZE]]),
  });

  const sent: Uint8Array[] = [];
  let applied = false;
  let clientDcid: Uint8Array | undefined;
  let clientCidLength = 0;
  let lastActivity = now();
  let afterMutation = 0;
  let stopped = false;
  const engineError = (what: string, e: unknown) => {
    if (record && !record.engineErrors.some((x) => x.startsWith(what))) record.engineErrors.push(`${what}: ${(e as Error)?.stack ?? String(e)}`);
  };
  const keys = (): Partial<Record<ProtectedHeader['kind'], PacketKeys>> => {
    const hs = secrets.get('SERVER_HANDSHAKE_TRAFFIC_SECRET');
    const app = secrets.get('SERVER_TRAFFIC_SECRET_0');
    const suite = CIPHER_SUITES.TLS_AES_128_GCM_SHA256;
    return {
      initial: clientDcid ? initialKeys(crypto, VERSION, clientDcid).server : undefined,
      handshake: hs ? derivePacketKeys(crypto, suite, hs, VERSION) : undefined,
      '1rtt': app ? derivePacketKeys(crypto, suite, app, VERSION) : undefined,
    };
  };
  const send = (d: Uint8Array, to: Address) => sock.send(d, to.port, to.host);
  const out = (d: Uint8Array, to: Address) => {
    const idx = sent.length;
    sent.push(d);
    lastActivity = now();
    if (r && plan && record && idx === plan.k && !applied && !stopped) {
      applied = true;
      for (const u of mutatedUnits(r, plan, record, idx, d, sent, (x) => mutateDatagram(r, x, clientCidLength, keys()))) send(u, to);
      return;
    }
    send(d, to);
  };
  const flush = () => {
    try {
      for (const d of host.pollDatagrams(now())) out(d.data, d.to);
    } catch (e) {
      engineError('pollDatagrams', e);
    }
  };
  const timer = new EngineTimer(host, now, engineError, flush, () => !stopped);
  const arm = () => timer.arm();
  sock.on('message', (m, rinfo) => {
    const data = new Uint8Array(m);
    lastActivity = now();
    if (record) record.peerDatagrams++;
    if (applied) afterMutation++;
    if (!clientDcid) {
      const p = splitDatagram(data, 0).packets[0];
      if (p && p.form === 'long') {
        clientDcid = p.dcid.slice();
        clientCidLength = p.scid.length;
      }
    }
    if (stopped) return;
    try {
      host.receiveDatagram(data, { host: rinfo.address, port: rinfo.port }, now(), local);
    } catch (e) {
      engineError('receiveDatagram', e);
    }
    flush();
    arm();
  });

  // The client process, as a real-peer cell starts it.
  const dir = resolve(ctx.dir);
  const proc = startClient(ctx, 'quic', 'handshake', local.port, `https://localhost:${local.port}${CLIENT_FILE}`);

  const start = now();
  await new Promise<void>((done) => {
    const poll = setInterval(() => {
      const t = now();
      const quiet = t - lastActivity >= ctx.quietMs;
      if (proc.status || (applied && quiet) || t - start >= ctx.maxMs) {
        clearInterval(poll);
        done();
      }
    }, 10);
  });
  for (const e of host.internalErrors) engineError('internal error', e);
  // Our server closes whatever is still open (never mutated), then the client has liveTimeoutMs to exit.
  const conns = host.connections();
  const closeBefore = conns[0]?.closeInfo;
  stopped = true;
  for (const c of conns) {
    try {
      if (!c.closeInfo) c.close(0, 'fuzz input done', true, now());
    } catch (e) {
      engineError('close', e);
    }
  }
  flush();
  await awaitExit(proc, ctx.liveTimeoutMs);
  timer.clear();
  sock.close();
  const outlived = !proc.status;
  const final = judgeClientRun(ctx, proc, start, now, {
    record,
    ours: !applied ? 'not-reached' : reactionOf(closeBefore),
    outlived,
    okWord: 'download-ok',
    succeeded: () => readFileSync(join(dir, 'downloads', CLIENT_FILE.slice(1))).length === FILE_SIZE,
    dir,
  });
  return { outlived, final };
}

/**
 * The verdict on one client run once our side has closed: how it ended (clientEnd), whether it did the clean thing
 * (`succeeded`, asked only of a run that exited 0 in time; a throw counts as no), the reaction line
 * `<what our side saw>|[outlived-close|]<okWord or how it ended>`, and the run's folder removed.
 */
export async function judgeClientRun(
  ctx: ClientInputContext,
  proc: EndpointProcess,
  start: number,
  now: () => number,
  o: { record: LiveInput | undefined; ours: string; outlived: boolean; okWord: string; succeeded: () => boolean; dir: string },
): Promise<ClientOutcome> {
  const { exit, hung, stderrTail } = await clientEnd(ctx, proc, start, now);
  let ok = false;
  if (!hung && exit?.code === 0) {
    try {
      ok = o.succeeded();
    } catch {
      ok = false;
    }
  }
  if (o.record) {
    const status = hung ? 'hung' : exit?.signal ? exit.signal : `exit:${exit?.code}`;
    o.record.reaction = `${o.ours}|${o.outlived ? 'outlived-close|' : ''}${ok ? o.okWord : status}`;
  }
  rmSync(o.dir, { recursive: true, force: true });
  return { ...(exit ? { exit } : {}), hung, outlived: o.outlived, stderrTail, ok };
}

/**
 * The peer's client process for one run, as a real-peer cell starts it: its declaration's client command with the
 * runner's environment (TESTCASE names the form: QUIC the interop `handshake` download, TLS/DTLS `fuzz-wire`), in its
 * own process group, logs in ctx.dir.
 */
export function startClient(ctx: ClientInputContext, protocol: 'quic' | 'tls' | 'dtls', testcase: string, port: number, requests: string): EndpointProcess {
  const role = ctx.peer.roles.client!;
  const dir = resolve(ctx.dir);
  mkdirSync(join(dir, 'downloads'), { recursive: true });
  const env: Record<string, string> = {
    ROLE: 'client',
    TESTCASE: testcase,
    REQUESTS: requests,
    PROTOCOL: protocol,
    ALPN: ctx.alpn,
    HOST: '127.0.0.1',
    PORT: String(port),
    SERVER: `127.0.0.1:${port}`,
    CERTS: ctx.certs.dir,
    CERT: ctx.certs.cert,
    KEY: ctx.certs.key,
    CA: ctx.certs.ca,
    WWW: dir,
    DOWNLOADS: join(dir, 'downloads'),
    LOGS: dir,
    QUIC_VERSION: '1',
  };
  const map: Record<string, string | undefined> = { host: '127.0.0.1', port: env['PORT'], server: env['SERVER'], cert: env['CERT'], key: env['KEY'], ca: env['CA'], www: dir, downloads: env['DOWNLOADS'], logs: dir, alpn: ctx.alpn, protocol, testcase };
  const expand = (a: string) => expandStatic(a, ctx.peer).replace(/\{([a-z]+)\}/g, (m, k: string) => map[k] ?? m);
  const argv = role.command.flatMap((a) => (a === '{urls}' ? (requests ? requests.split(' ') : []) : [expand(a)]));
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(role.env)) extra[k] = expand(v);
  return new EndpointProcess(`${ctx.peer.name} client`, argv, { env: { ...env, ...extra }, cwd: role.cwd ? expandStatic(role.cwd, ctx.peer) : dir, stdout: join(dir, 'stdout.log'), stderr: join(dir, 'stderr.log') });
}

/**
 * After our side closed: a client that outlived the close may simply not have been able to read it (a mutation broke
 * its keys, or UDP carries no close it can read): it is only hung if it still runs clientTimeoutMs after it started
 * (then it is killed). Its exit status and stderr tail.
 */
export async function clientEnd(ctx: ClientInputContext, proc: EndpointProcess, start: number, now: () => number): Promise<{ exit?: ExitStatus; hung: boolean; stderrTail: string }> {
  let hung = false;
  if (!proc.status) {
    let t: NodeJS.Timeout | undefined;
    const left = Math.max(0, ctx.clientTimeoutMs - (now() - start));
    const res = await Promise.race([proc.exited.then(() => 'exited' as const), new Promise<'timeout'>((res) => (t = setTimeout(() => res('timeout'), left)))]);
    clearTimeout(t);
    if (res === 'timeout') {
      hung = true;
      await proc.stop(500);
    }
  }
  let stderrTail = '';
  try {
    const b = readFileSync(proc.stderrPath);
    stderrTail = b.subarray(Math.max(0, b.length - 4096)).toString('utf8');
  } catch {
    // no log
  }
  return { ...(proc.status ? { exit: proc.status } : {}), hung, stderrTail };
}

/** Waits until the process exits or ms pass. */
export async function awaitExit(proc: EndpointProcess, ms: number): Promise<void> {
  if (proc.status) return;
  let t: NodeJS.Timeout | undefined;
  await Promise.race([proc.exited, new Promise<void>((res) => (t = setTimeout(res, ms)))]);
  clearTimeout(t);
}
