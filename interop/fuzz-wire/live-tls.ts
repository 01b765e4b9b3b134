// TLS 1.3 over TCP inputs against a real server in real time (RFC 8446 §5 records, §4 handshake messages, §6 alerts):
// our client engine writes its flights over a loopback TCP connection, and one of the chunks it writes passes the
// mutation stage (record headers, clear-text ClientHello and its extensions, blind edits). The peer's reaction is the
// alert it sends (read by our engine), a close, or silence. TCP validated the address before any TLS byte: no
// amplification to measure.

import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { nodeCrypto } from '../../engine/crypto/node.js';
import { seededRandom } from '../../engine/crypto/random.js';
import { Alert } from '../../engine/tls/api.js';
import { TlsRecordConnection } from '../../engine/tls/record-connection.js';
import { createTlsSession } from '../../engine/tls/session.js';
import { mutatedUnits } from './mutate.js';
import { mutateChunk } from './tls.js';
import type { Draw } from './rng.js';
import type { InputContext, LiveDriver, LiveInput, LivePlan } from './live-types.js';

const crypto = nodeCrypto;
const sha = (d: Uint8Array) => crypto.hash('sha256', d);

function newConn(ctx: InputContext, rngName: string): TlsRecordConnection {
  const c = new TlsRecordConnection(
    createTlsSession({
      role: 'client',
      crypto,
      random: seededRandom(rngName, sha),
      clock: () => Date.now(),
      serverName: 'localhost',
      alpn: [ctx.alpn],
      verify: { ca: [ctx.ca] },
    }),
    crypto,
  );
  c.start();
  return c;
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

export function tlsPlan(r: Draw): LivePlan {
  // Chunk 0 is the ClientHello, chunk 1 our second flight (CCS, Finished); 2 and later application data.
  const k = r.pick([0, 0, 0, 0, 0, 0, 1, 1, 1, 2]);
  return { k, mode: r.chance(0.8) ? 'replace' : 'inject', count: r.pick([1, 1, 1, 2, 3]) };
}

export const tlsDriver: LiveDriver = {
  protocol: 'tls',
  plan: tlsPlan,

  async input(ctx: InputContext, r: Draw, plan: LivePlan, record: LiveInput): Promise<{ linger: Promise<void> }> {
    const conn = newConn(ctx, `${ctx.name}/client`);
    let sock: Socket;
    try {
      sock = await dial(ctx.port);
    } catch (e) {
      record.reaction = `connect-failed:${(e as NodeJS.ErrnoException).code ?? 'error'}`;
      return { linger: Promise.resolve() };
    }
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const sent: Uint8Array[] = [];
    let applied = false;
    let established = false;
    let peerClosed = false;
    let alert: string | undefined;
    let lastActivity = now();
    let afterMutation = 0;
    let wrote = false;
    let ended = false;
    const engineError = (what: string, e: unknown) => record.engineErrors.push(`${what}: ${(e as Error)?.stack ?? String(e)}`);
    const out = (d: Uint8Array) => {
      const idx = sent.length;
      sent.push(d);
      lastActivity = now();
      if (idx === plan.k && !applied) {
        applied = true;
        for (const u of mutatedUnits(r, plan, record, idx, d, sent, (x) => mutateChunk(r, x))) sock.write(u);
        return;
      }
      sock.write(d);
    };
    const pump = () => {
      try {
        for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
          if (e.type === 'handshake-complete') established = true;
          else if (e.type === 'error') {
            alert = `${e.error.remote ? 'peer' : 'our'}-alert:${e.error.alert}`;
            // internal_error raised by our own engine is an engine bug, whatever the peer sent.
            if (e.error.alert === Alert.internal_error && !e.error.remote) engineError('internal error', e.error.cause ?? e.error);
          }
          else if (e.type === 'peer-closed') peerClosed = true;
        }
        // Application data after the handshake gives later chunks to mutate: an HTTP/1.0 request.
        if (established && !wrote && !conn.writeClosed) {
          wrote = true;
          conn.write(new TextEncoder().encode('GET /index.html HTTP/1.0\r\n\r\n'));
        }
        for (let d = conn.pollOutput(); d; d = conn.pollOutput()) out(d);
      } catch (e) {
        engineError('tls', e);
      }
    };
    sock.on('data', (b) => {
      lastActivity = now();
      record.peerDatagrams++;
      if (applied) afterMutation++;
      if (ended) return;
      try {
        conn.receive(new Uint8Array(b));
      } catch (e) {
        engineError('receive', e);
      }
      pump();
    });
    let closedByPeer = false;
    sock.on('end', () => (closedByPeer = true));
    sock.on('close', () => (closedByPeer = true));
    pump();
    const start = now();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const t = now();
        const quiet = t - lastActivity >= ctx.quietMs;
        if (alert || closedByPeer || conn.failed || (applied && quiet) || (!applied && quiet && t - start > ctx.quietMs * 4) || t - start >= ctx.maxMs) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });
    ended = true;
    record.reaction = !applied
      ? 'not-reached'
      : alert
        ? alert
        : closedByPeer
          ? peerClosed || established
            ? 'completed-closed'
            : 'tcp-close'
          : established
            ? 'completed'
            : afterMutation
              ? 'stalled'
              : 'silence';
    sock.destroy();
    return { linger: Promise.resolve() };
  },

  async handshake(ctx: InputContext, timeoutMs: number): Promise<{ ok: boolean; detail: string; ms: number }> {
    const t0 = performance.now();
    const ms = () => Math.round(performance.now() - t0);
    const conn = newConn(ctx, `${ctx.name}/liveness`);
    let sock: Socket;
    try {
      sock = await dial(ctx.port);
    } catch (e) {
      return { ok: false, detail: `connect failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, ms: ms() };
    }
    return new Promise((resolve) => {
      let done = false;
      const finish = (ok: boolean, detail: string) => {
        if (done) return;
        done = true;
        clearTimeout(limit);
        sock.destroy();
        resolve({ ok, detail, ms: ms() });
      };
      const limit = setTimeout(() => finish(false, `no handshake within ${timeoutMs} ms`), timeoutMs);
      const pump = () => {
        try {
          for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
            if (e.type === 'handshake-complete') {
              conn.close();
              for (let d = conn.pollOutput(); d; d = conn.pollOutput()) sock.write(d);
              return finish(true, 'handshake complete');
            }
            if (e.type === 'error') return finish(false, `alert ${e.error.alert} (${e.error.remote ? 'from the peer' : 'ours'})`);
          }
          for (let d = conn.pollOutput(); d; d = conn.pollOutput()) sock.write(d);
        } catch (e) {
          finish(false, `our engine threw: ${(e as Error).message}`);
        }
      };
      sock.on('data', (b) => {
        conn.receive(new Uint8Array(b));
        pump();
      });
      sock.on('close', () => finish(false, 'the peer closed the connection'));
      pump();
    });
  },
};
