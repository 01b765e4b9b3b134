// DTLS 1.2 inputs against a real client (RFC 6347 §4.1 records, §4.2.1 the cookie exchange, §4.2.4 retransmission):
// every input is one run of the peer's client process (its `TESTCASE=fuzz-wire` form, the client itself) against our
// server engine on its own loopback UDP port, cookies on. One datagram our server sends — the HelloVerifyRequest, a
// datagram of the ServerHello…ServerHelloDone flight, ChangeCipherSpec + Finished, the echo, close_notify — passes the
// mutation stage (record and fragment headers, hello extensions, blind edits). Our retransmissions go out genuine, so
// a client that dropped the mutated datagram can still finish. At the end our server sends close_notify and, when the
// handshake had not finished, an epoch-0 fatal alert a client still reading epoch 0 can take; UDP has no transport
// close, so a client that can read neither (its keys broken by the mutation) only ends when its own handshake
// retransmissions give up: it is watched until `clientTimeoutMs` and then counted as hung.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { nodeCrypto } from '../../engine/crypto/node.js';
import { seededRandom } from '../../engine/crypto/random.js';
import { DtlsServer } from '../../engine/dtls/index.js';
import type { Address } from '../../engine/endpoint.js';
import { Alert } from '../../engine/tls/api.js';
import { mutatedUnits } from './mutate.js';
import { mutateDatagram } from './dtls.js';
import type { Draw } from './rng.js';
import type { LiveInput, LivePlan } from './live-types.js';
import { awaitExit, judgeClientRun, serverCredentials, startClient, type ClientInputContext, type ClientOutcome } from './live-client.js';
import { EngineTimer, bindLoopbackUdp } from './live-io.js';

const crypto = nodeCrypto;
const sha = (d: Uint8Array) => crypto.hash('sha256', d);
/** The line the peer's fuzz-wire client form sends; our server echoes it, and a clean run prints it. */
export const DTLS_LINE = 'crosswire fuzz-wire dtls\n';

export function dtlsClientPlan(r: Draw): LivePlan {
  // Datagram 0: HelloVerifyRequest; 1 (and 2 when the certificate does not fit one datagram): ServerHello …
  // ServerHelloDone; then ChangeCipherSpec + Finished, the echo, close_notify.
  const k = r.pick([0, 0, 1, 1, 1, 2, 2, 3, 3, 4]);
  return { k, mode: r.chance(0.8) ? 'replace' : 'inject', count: r.pick([1, 1, 1, 2, 3]) };
}

/** A DTLS 1.2 plaintext record at epoch 0: fatal user_canceled (RFC 5246 §7.2), sequence past our own epoch-0 records. */
function epochZeroCancel(seq: number): Uint8Array {
  const d = new Uint8Array(15);
  d.set([21, 0xfe, 0xfd, 0, 0]);
  new DataView(d.buffer).setUint32(7, seq);
  d.set([0, 2, 2, Alert.user_canceled], 11);
  return d;
}

/** One client run; no `r`/`plan` is the liveness check (a clean cookie exchange, handshake and echo that must succeed). */
export async function runDtlsClientInput(
  ctx: ClientInputContext,
  r: Draw | undefined,
  plan: LivePlan | undefined,
  record: LiveInput | undefined,
): Promise<{ outlived: boolean; final: Promise<ClientOutcome> }> {
  const pki = serverCredentials(ctx.certs);
  const sock = await bindLoopbackUdp();
  const port = sock.address().port;
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const engineError = (what: string, e: unknown) => {
    if (record && !record.engineErrors.some((x) => x.startsWith(what))) record.engineErrors.push(`${what}: ${(e as Error)?.stack ?? String(e)}`);
  };
  const server = new DtlsServer({
    crypto,
    random: seededRandom(`${ctx.name}/server`, sha),
    clock: () => Date.now(),
    alpn: [ctx.alpn],
    certificateChain: pki.chain,
    privateKey: pki.key,
    cookies: true,
  });

  const sent: Uint8Array[] = [];
  let client: Address | undefined;
  let applied = false;
  let established = false;
  let echoed = false;
  let alert: string | undefined;
  let closed = false;
  let lastActivity = now();
  let stopped = false;
  const send = (d: Uint8Array, to: Address) => sock.send(d, to.port, to.host);
  const out = (d: Uint8Array, to: Address) => {
    const idx = sent.length;
    sent.push(d);
    lastActivity = now();
    if (r && plan && record && idx === plan.k && !applied) {
      applied = true;
      for (const u of mutatedUnits(r, plan, record, idx, d, sent, (x) => mutateDatagram(r, x))) send(u, to);
      return;
    }
    send(d, to);
  };
  const pump = () => {
    try {
      for (let e = server.pollEvent(); e; e = server.pollEvent()) {
        const ev = e.event;
        if (ev.type === 'handshake-complete') established = true;
        else if (ev.type === 'data') {
          // The echo, then close_notify: later datagrams to mutate, and the client's cue to exit.
          const c = server.connection(e.peer);
          if (!echoed && c?.handshakeComplete && !c.closing) {
            echoed = true;
            server.send(e.peer, ev.data);
            server.close(e.peer);
          }
        } else if (ev.type === 'alert' && ev.level === 'fatal') alert ??= `${ev.sent ? 'our' : 'peer'}-alert:${ev.description}`;
        else if (ev.type === 'closed') {
          closed = true;
          // internal_error raised by our own engine is an engine bug, whatever the client sent.
          if (ev.error && ev.error.alert === Alert.internal_error && !ev.error.remote) engineError('internal error', ev.error.cause ?? ev.error);
        }
      }
      for (const d of server.pollDatagrams(now())) if (!stopped) out(d.data, d.to);
    } catch (e) {
      engineError('dtls', e);
    }
  };
  const timer = new EngineTimer(server, now, engineError, pump, () => !stopped);
  const arm = () => timer.arm();
  sock.on('message', (m, rinfo) => {
    lastActivity = now();
    if (record) record.peerDatagrams++;
    if (stopped) return;
    client = { host: rinfo.address, port: rinfo.port };
    try {
      server.receiveDatagram(new Uint8Array(m), client, now());
    } catch (e) {
      engineError('receiveDatagram', e);
    }
    pump();
    arm();
  });

  const proc = startClient(ctx, 'dtls', 'fuzz-wire', port, `https://localhost:${port}/`);
  const start = now();
  await new Promise<void>((done) => {
    const poll = setInterval(() => {
      const t = now();
      const quiet = t - lastActivity >= ctx.quietMs;
      if (proc.status || closed || (applied && quiet) || (echoed && quiet) || t - start >= ctx.maxMs) {
        clearInterval(poll);
        done();
      }
    }, 10);
  });
  const reaction = !r ? 'liveness' : !applied ? 'not-reached' : alert ? alert : closed ? 'closed' : echoed ? 'completed' : established ? 'established' : 'stalled';
  // Our side ends the conversation: close_notify under the current keys, and, before the handshake finished, a
  // plaintext epoch-0 alert (a client that has not read our ChangeCipherSpec yet can only read that one).
  try {
    server.close();
    pump();
    if (client && !established) send(epochZeroCancel(1000 + sent.length), client);
  } catch (e) {
    engineError('close', e);
  }
  stopped = true;
  timer.clear();
  // s_client, once shut down, drains its socket for 500 ms until a read returns ≤ 0: an empty datagram ends that wait
  // (a DTLS stack mid-handshake discards it as a record too short). Then our port goes away: a client still sending
  // gets port unreachable.
  await new Promise((res) => setTimeout(res, 30));
  if (client) sock.send(new Uint8Array(0), client.port, client.host);
  await new Promise((res) => setTimeout(res, 10));
  sock.close();
  await awaitExit(proc, ctx.liveTimeoutMs);
  const outlived = !proc.status;
  const final = judgeClientRun(ctx, proc, start, now, {
    record,
    ours: reaction,
    outlived,
    okWord: 'echo-ok',
    succeeded: () => readFileSync(proc.stdoutPath, 'utf8').includes(DTLS_LINE),
    dir: ctx.dir,
  });
  return { outlived, final };
}
