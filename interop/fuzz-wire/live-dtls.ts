// DTLS 1.2 inputs against a real server in real time (RFC 6347 §4.1 records, §4.2.1 the cookie exchange, §4.2.2
// handshake fragments): our client engine runs over a loopback UDP socket, and one of its datagrams passes the
// mutation stage (record and fragment headers, hello extensions — fuzz-wire/dtls.ts — or blind edits). Amplification:
// what the server sends to our address before it accepted a cookie (only HelloVerifyRequests, RFC 6347 §4.2.1: no
// bigger than the ClientHello, so ≤ 1×) against what we sent it. Every input ends with our close_notify; a handshake
// the server can no longer finish is left to its timers. The peer's TESTCASE=fuzz-wire server serves every client at
// once (OpenSSL: crosswire's ossl-dtls-server), so nothing an input leaves behind keeps the next one out: a clean
// handshake that fails twice is a hang, an exit a crash.

import { performance } from 'node:perf_hooks';
import { nodeCrypto } from '../../engine/crypto/node.js';
import { seededRandom } from '../../engine/crypto/random.js';
import { DtlsClient } from '../../engine/dtls/index.js';
import { Alert } from '../../engine/tls/api.js';
import { mutatedUnits } from './mutate.js';
import { label, mutateDatagram } from './dtls.js';
import type { Draw } from './rng.js';
import type { InputContext, LiveDriver, LiveInput, LivePlan } from './live-types.js';
import { bindLoopbackUdp } from './live-io.js';

const crypto = nodeCrypto;
const sha = (d: Uint8Array) => crypto.hash('sha256', d);
const MESSAGE = new TextEncoder().encode('crosswire fuzz-wire dtls\n');

function newClient(ctx: InputContext, rngName: string, now: number): DtlsClient {
  return new DtlsClient(
    { crypto, random: seededRandom(rngName, sha), clock: () => Date.now(), serverName: 'localhost', alpn: [ctx.alpn], ca: [ctx.ca] },
    { host: '127.0.0.1', port: ctx.port },
    now,
  );
}

/** Only HelloVerifyRequests (epoch-0 handshake records of type 3): the server has not accepted our address yet. */
const onlyHvr = (d: Uint8Array) => {
  const l = label(d);
  return l !== 'garbage' && l.split('+').every((x) => x === 'HelloVerifyRequest');
};

export function dtlsPlan(r: Draw): LivePlan {
  // Datagram 0: ClientHello without cookie; 1: ClientHello with the cookie; 2: our second flight (ClientKeyExchange,
  // ChangeCipherSpec, Finished); 3: application data.
  const k = r.pick([0, 0, 0, 1, 1, 1, 1, 2, 2, 3]);
  return { k, mode: r.chance(0.8) ? 'replace' : 'inject', count: r.pick([1, 1, 1, 2, 3]) };
}

export const dtlsDriver: LiveDriver = {
  protocol: 'dtls',
  // The peer's one long-lived server: an exit is a crash (the interop echo form restarts s_server per client).
  testcase: 'fuzz-wire',
  // RFC 6347 §4.2.1: the HelloVerifyRequest is no bigger than the ClientHello it answers.
  amplificationLimit: 1,
  plan: dtlsPlan,

  async input(ctx: InputContext, r: Draw, plan: LivePlan, record: LiveInput): Promise<{ linger: Promise<void> }> {
    const sock = await bindLoopbackUdp();
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const client = newClient(ctx, `${ctx.name}/client`, 0);
    const sent: Uint8Array[] = [];
    let applied = false;
    let established = false;
    let hvr = false;
    let alert: string | undefined;
    let closed = false;
    let validated = false;
    let lastActivity = 0;
    let afterMutation = 0;
    let wrote = false;
    let echoed = false;
    let ended = false;
    const engineError = (what: string, e: unknown) => record.engineErrors.push(`${what}: ${(e as Error)?.stack ?? String(e)}`);
    const send = (d: Uint8Array) => {
      if (!validated) record.amplification.rx += d.length;
      sock.send(d, ctx.port, '127.0.0.1');
    };
    const out = (d: Uint8Array) => {
      const idx = sent.length;
      sent.push(d);
      lastActivity = now();
      if (idx === plan.k && !applied) {
        applied = true;
        for (const u of mutatedUnits(r, plan, record, idx, d, sent, (x) => mutateDatagram(r, x))) send(u);
        return;
      }
      send(d);
    };
    const pump = () => {
      try {
        for (let e = client.pollEvent(); e; e = client.pollEvent()) {
          if (e.type === 'hello-verify-request') hvr = true;
          else if (e.type === 'handshake-complete') established = true;
          else if (e.type === 'data') echoed = true;
          else if (e.type === 'alert' && e.level === 'fatal') alert = `${e.sent ? 'our' : 'peer'}-alert:${e.description}`;
          else if (e.type === 'closed') {
            closed = true;
            // internal_error raised by our own engine is an engine bug, whatever the peer sent.
            if (e.error && e.error.alert === Alert.internal_error && !e.error.remote) engineError('internal error', e.error.cause ?? e.error);
          }
        }
        if (established && !wrote && !client.closed && !client.closing) {
          wrote = true;
          client.send(MESSAGE);
        }
        for (const d of client.pollDatagrams(now())) out(d.data);
      } catch (e) {
        engineError('dtls', e);
      }
    };
    sock.on('message', (b, rinfo) => {
      const d = new Uint8Array(b);
      lastActivity = now();
      record.peerDatagrams++;
      if (applied) afterMutation++;
      if (!validated) {
        if (onlyHvr(d)) record.amplification.tx += d.length;
        else {
          validated = true;
          record.amplification.validatedAfterMs = Math.round(now());
        }
      }
      if (ended) return;
      try {
        client.receiveDatagram(d, { host: rinfo.address, port: rinfo.port }, now());
      } catch (e) {
        engineError('receive', e);
      }
      pump();
    });
    pump();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const t = now();
        try {
          const due = client.nextTimeout();
          if (due !== undefined && due <= t) client.handleTimeout(t);
        } catch (e) {
          engineError('timeout', e);
        }
        pump();
        const quiet = t - lastActivity >= ctx.quietMs;
        if (alert || closed || echoed || (applied && quiet) || t >= ctx.maxMs) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    ended = true;
    record.reaction = !applied
      ? 'not-reached'
      : alert
        ? alert
        : closed
          ? 'closed'
          : echoed
            ? 'completed'
            : established
              ? 'established'
              : afterMutation
                ? hvr && !validated ? 'hello-verify-only' : 'stalled'
                : 'silence';
    try {
      client.close();
      for (const d of client.pollDatagrams(now())) sock.send(d.data, ctx.port, '127.0.0.1');
    } catch (e) {
      engineError('close', e);
    }
    // The socket keeps counting what the server sends our address before validation for a moment (a retransmitted
    // HelloVerifyRequest would be one).
    const linger = new Promise<void>((resolve) => setTimeout(() => {
      sock.close();
      resolve();
    }, validated ? 50 : Math.min(ctx.lingerMs, 300)));
    return { linger };
  },

  async handshake(ctx: InputContext, timeoutMs: number): Promise<{ ok: boolean; detail: string; ms: number }> {
    const t0 = performance.now();
    const ms = () => Math.round(performance.now() - t0);
    const sock = await bindLoopbackUdp();
    const client = newClient(ctx, `${ctx.name}/liveness`, 0);
    let hvr = false;
    return new Promise((resolve) => {
      let done = false;
      const finish = (ok: boolean, detail: string) => {
        if (done) return;
        done = true;
        clearInterval(timer);
        try {
          client.close();
          for (const d of client.pollDatagrams(ms())) sock.send(d.data, ctx.port, '127.0.0.1');
        } catch {
          // closing a failed client
        }
        setTimeout(() => sock.close(), 20);
        resolve({ ok, detail, ms: ms() });
      };
      const pump = () => {
        try {
          for (let e = client.pollEvent(); e; e = client.pollEvent()) {
            if (e.type === 'hello-verify-request') hvr = true;
            else if (e.type === 'handshake-complete') {
              if (!hvr) return finish(false, 'handshake completed without a HelloVerifyRequest (no cookie exchange)');
              return finish(true, 'cookie exchange and handshake complete');
            } else if (e.type === 'closed') return finish(false, e.error ? `closed with alert ${e.error.alert} (${e.error.remote ? 'from the peer' : 'ours'})` : 'closed');
          }
          for (const d of client.pollDatagrams(ms())) sock.send(d.data, ctx.port, '127.0.0.1');
        } catch (e) {
          finish(false, `our engine threw: ${(e as Error).message}`);
        }
      };
      const timer = setInterval(() => {
        if (ms() >= timeoutMs) return finish(false, `no handshake within ${timeoutMs} ms${hvr ? ' (HelloVerifyRequest received)' : ' (no HelloVerifyRequest)'}`);
        try {
          const due = client.nextTimeout();
          if (due !== undefined && due <= ms()) client.handleTimeout(ms());
        } catch (e) {
          return finish(false, `our engine threw: ${(e as Error).message}`);
        }
        pump();
      }, 5);
      sock.on('message', (b, rinfo) => {
        if (done) return;
        client.receiveDatagram(new Uint8Array(b), { host: rinfo.address, port: rinfo.port }, ms());
        pump();
      });
      pump();
    });
  },
};
