// TLS 1.3 over TCP inputs against a real client (RFC 8446 §5 records, §4 handshake, §6 alerts): every input is one
// run of the peer's client process (its `TESTCASE=fuzz-wire` form: the client itself, no wrapper, so a signal that
// kills it is the exit status we read) against our server engine on its own loopback port. One chunk our server writes
// — its first flight (ServerHello and the encrypted rest), a session ticket, the HTTP response, close_notify — passes
// the mutation stage (record headers, clear handshake messages, blind edits, reordering). Then we close the TCP
// connection: a client must exit on that whatever state a mutation left it in, so one still running after
// `liveTimeoutMs` is watched until `clientTimeoutMs` (then a hang) and an exit by signal is a crash.

import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { nodeCrypto } from '../../engine/crypto/node.js';
import { seededRandom } from '../../engine/crypto/random.js';
import { Alert, CIPHER_SUITES, type Epoch } from '../../engine/tls/api.js';
import { RecordProtector, type ContentTypeCode } from '../../engine/tls/record.js';
import { TlsRecordConnection } from '../../engine/tls/record-connection.js';
import { createTlsSession } from '../../engine/tls/session.js';
import { concat, fromHex } from '../../engine/wire/bytes.js';
import { blindMutation, mutatedUnits, mutateHandshakeMessage, splitTlsMessages } from './mutate.js';
import { mutateChunk } from './tls.js';
import type { Draw } from './rng.js';
import type { LiveInput, LivePlan } from './live-types.js';
import { awaitExit, judgeClientRun, serverCredentials, startClient, type ClientInputContext, type ClientOutcome } from './live-client.js';

const crypto = nodeCrypto;
const sha = (d: Uint8Array) => crypto.hash('sha256', d);
/** What our server answers the client's GET with; the clean run (liveness) must see it on the client's stdout. */
export const TLS_BODY = 'crosswire fuzz-wire tls client role\n';

export function tlsClientPlan(r: Draw): LivePlan {
  // Chunk 0: our first flight (ServerHello, ChangeCipherSpec, one handshake-key record with EncryptedExtensions …
  // Finished); 1: NewSessionTicket; 2: the HTTP response; 3: close_notify.
  const k = r.pick([0, 0, 0, 0, 1, 1, 2, 2, 2, 3]);
  return { k, mode: r.chance(0.8) ? 'replace' : 'inject', count: r.pick([1, 1, 1, 2, 3]) };
}

const SUITE = CIPHER_SUITES.TLS_AES_128_GCM_SHA256;
/** Our server's write secrets by key-log label, and the epoch the record layer files them under. */
const WRITE_SECRETS: [string, Epoch][] = [['SERVER_HANDSHAKE_TRAFFIC_SECRET', 'handshake'], ['SERVER_TRAFFIC_SECRET_0', 'application']];

/** The protected records (outer type 23) of a chunk: offset and whole length, header included. */
function sealedRecords(d: Uint8Array): { at: number; end: number }[] {
  const out: { at: number; end: number }[] = [];
  for (let p = 0; p + 5 <= d.length; ) {
    const end = p + 5 + ((d[p + 3]! << 8) | d[p + 4]!);
    if (end > d.length) break;
    if (d[p] === 23) out.push({ at: p, end });
    p = end;
  }
  return out;
}

/**
 * Which key and record number sealed each protected record our server wrote (found by opening it with the secrets our
 * own engine logged), so a mutation can open one, edit what is inside — the Certificate, CertificateVerify, Finished,
 * NewSessionTicket, the response, an alert — and seal it again under the same key and number: the client's parsers
 * see hostile content that authenticates (RFC 8446 §5.2, §5.3).
 */
class SealedRecords {
  readonly secrets = new Map<string, Uint8Array>();
  private readonly next = new Map<string, number>();
  /** Per chunk index: the (label, sequence number) of each protected record, in order. */
  private readonly chunks: { label: string; seq: number }[][] = [];

  private protector(label: string, seq: number): RecordProtector | undefined {
    const secret = this.secrets.get(label);
    if (!secret) return undefined;
    const p = new RecordProtector(crypto, SUITE, secret, WRITE_SECRETS.find(([l]) => l === label)![1]);
    p.seq = seq;
    return p;
  }

  private open(rec: Uint8Array, label: string, seq: number): { type: number; content: Uint8Array } | undefined {
    const inner = this.protector(label, seq)?.tryOpen(rec.subarray(0, 5), rec.subarray(5));
    if (!inner) return undefined;
    let end = inner.length - 1;
    while (end >= 0 && inner[end] === 0) end--;
    return end < 0 ? undefined : { type: inner[end]!, content: inner.slice(0, end) };
  }

  /** A genuine chunk as our engine wrote it (before any mutation). */
  note(chunk: Uint8Array): void {
    const keys: { label: string; seq: number }[] = [];
    for (const { at, end } of sealedRecords(chunk)) {
      for (const [label] of WRITE_SECRETS) {
        const seq = this.next.get(label) ?? 0;
        if (!this.open(chunk.subarray(at, end), label, seq)) continue;
        this.next.set(label, seq + 1);
        keys.push({ label, seq });
        break;
      }
    }
    this.chunks.push(keys);
  }

  /** One edit inside a protected record of chunk `idx` (whatever earlier stacked edits did to `data`), sealed again. */
  mutate(r: Draw, data: Uint8Array, idx: number): { name: string; out: Uint8Array } | undefined {
    const keys = this.chunks[idx] ?? [];
    const recs = sealedRecords(data);
    if (!keys.length || !recs.length) return undefined;
    const { at, end } = recs[r.int(recs.length)]!;
    for (const k of keys) {
      const opened = this.open(data.subarray(at, end), k.label, k.seq);
      if (!opened) continue;
      let { type, content } = opened;
      let name: string;
      // (A handshake record an earlier stacked edit emptied has no message left to edit.)
      const c = r.weighted([type === 22 && content.length >= 4 ? 60 : 0, 25, 10, 5]);
      if (c === 0) {
        // One handshake message of the record (EncryptedExtensions, Certificate, CertificateVerify, Finished, NewSessionTicket).
        const msgs = splitTlsMessages(content);
        const j = r.int(msgs.length);
        const m = mutateHandshakeMessage(r, msgs[j]!, false);
        content = concat(...msgs.slice(0, j), m.out, ...msgs.slice(j + 1));
        name = `sealed-${m.name}`;
      } else if (c === 1) {
        const m = blindMutation(r, content, content);
        content = m.out;
        name = `sealed-${m.name}`;
      } else if (c === 2) {
        // The inner content type (TLSInnerPlaintext.type, §5.4) changed under a valid seal.
        type = r.pick([0, 20, 21, 22, 23, 24, 255]);
        name = 'sealed-content-type';
      } else {
        content = new Uint8Array(0);
        name = 'sealed-empty';
      }
      const sealed = this.protector(k.label, k.seq)!.seal(type as ContentTypeCode, content.length > 16384 ? content.subarray(0, 16384) : content);
      return { name, out: concat(data.subarray(0, at), sealed, data.subarray(end)) };
    }
    return undefined;
  }
}

function listen(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      srv.off('error', reject);
      resolve(srv);
    });
  });
}

/** One client run; no `r`/`plan` is the liveness check (a clean handshake and GET that must succeed). */
export async function runTlsClientInput(
  ctx: ClientInputContext,
  r: Draw | undefined,
  plan: LivePlan | undefined,
  record: LiveInput | undefined,
): Promise<{ outlived: boolean; final: Promise<ClientOutcome> }> {
  const pki = serverCredentials(ctx.certs);
  const srv = await listen();
  const port = (srv.address() as { port: number }).port;
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const engineError = (what: string, e: unknown) => {
    if (record && !record.engineErrors.some((x) => x.startsWith(what))) record.engineErrors.push(`${what}: ${(e as Error)?.stack ?? String(e)}`);
  };
  const sealed = new SealedRecords();
  const conn = new TlsRecordConnection(
    createTlsSession({
      role: 'server',
      crypto,
      random: seededRandom(`${ctx.name}/server`, sha),
      clock: () => Date.now(),
      alpn: [ctx.alpn],
      certificateChain: pki.chain,
      privateKey: pki.key,
      cipherSuites: ['TLS_AES_128_GCM_SHA256'],
      // A NewSessionTicket after the handshake: one more message of the client's to parse (and a chunk to mutate).
      ticketKey: sha(new TextEncoder().encode(`${ctx.name}/ticket-key`)).subarray(0, 32),
      keyLog: (line: string) => {
        const [label, , secret] = line.split(' ');
        if (label && secret) sealed.secrets.set(label, fromHex(secret));
      },
    }),
    crypto,
  );
  conn.start();

  const sent: Uint8Array[] = [];
  let sock: Socket | undefined;
  let applied = false;
  let established = false;
  let alert: string | undefined;
  let peerClosed = false;
  let tcpClosed = false;
  let answered = false;
  let request = '';
  let lastActivity = now();
  let stopped = false;
  const out = (d: Uint8Array) => {
    const s = sock!;
    const idx = sent.length;
    sent.push(d);
    sealed.note(d);
    lastActivity = now();
    if (r && plan && record && idx === plan.k && !applied) {
      applied = true;
      for (const u of mutatedUnits(r, plan, record, idx, d, sent, (x) => (r.chance(0.6) ? sealed.mutate(r, x, idx) : undefined) ?? mutateChunk(r, x))) s.write(u);
      return;
    }
    s.write(d);
  };
  const flushOut = () => {
    for (let d = conn.pollOutput(); d; d = conn.pollOutput()) if (sock && !stopped && !sock.writableEnded) out(d);
  };
  const pump = () => {
    try {
      // Output before each event: what the engine wrote before the request (NewSessionTicket) is a chunk of its own.
      let e;
      for (flushOut(), e = conn.pollEvent(); e; flushOut(), e = conn.pollEvent()) {
        if (e.type === 'handshake-complete') established = true;
        else if (e.type === 'data' && !answered) {
          request += new TextDecoder().decode(e.data);
          // One HTTP/1.0 GET: the response, then close_notify (later chunks to mutate, and the client's cue to exit).
          // (Not once our side can no longer write: an alert went out, or the data came with the client's close.)
          if (request.includes('\r\n\r\n') && !conn.writeClosed && !conn.failed) {
            answered = true;
            conn.write(new TextEncoder().encode(`HTTP/1.0 200 OK\r\nContent-Length: ${TLS_BODY.length}\r\n\r\n${TLS_BODY}`));
            // The response and close_notify as chunks of their own (each a mutation target).
            flushOut();
            conn.close();
          }
        } else if (e.type === 'error') {
          alert = `${e.error.remote ? 'peer' : 'our'}-alert:${e.error.alert}`;
          // internal_error raised by our own engine is an engine bug, whatever the client sent.
          if (e.error.alert === Alert.internal_error && !e.error.remote) engineError('internal error', e.error.cause ?? e.error);
        } else if (e.type === 'peer-closed') peerClosed = true;
      }
      flushOut();
    } catch (e) {
      engineError('tls', e);
    }
  };
  // One connection per run: the client's. A second one (a client that reconnects) is refused.
  srv.on('connection', (s) => {
    if (sock || stopped) return void s.destroy();
    sock = s;
    s.setNoDelay(true);
    s.on('error', () => {});
    s.on('data', (b) => {
      lastActivity = now();
      if (record) record.peerDatagrams++;
      if (stopped) return;
      try {
        conn.receive(new Uint8Array(b));
      } catch (e) {
        engineError('receive', e);
      }
      pump();
    });
    s.on('end', () => (tcpClosed = true));
    s.on('close', () => (tcpClosed = true));
    pump();
  });

  const proc = startClient(ctx, 'tls', 'fuzz-wire', port, `https://localhost:${port}/index.html`);
  const start = now();
  await new Promise<void>((done) => {
    const poll = setInterval(() => {
      const t = now();
      const quiet = t - lastActivity >= ctx.quietMs;
      if (proc.status || tcpClosed || alert || (applied && quiet) || (answered && quiet) || t - start >= ctx.maxMs) {
        clearInterval(poll);
        done();
      }
    }, 10);
  });
  // Our side ends the conversation: close_notify if not yet sent (never mutated), then the TCP close.
  const reaction = !r ? 'liveness' : !applied ? 'not-reached' : alert ? alert : peerClosed ? 'peer-closed' : tcpClosed ? 'tcp-close' : established ? 'completed' : 'stalled';
  try {
    if (!conn.writeClosed) conn.close();
    pump();
  } catch (e) {
    engineError('close', e);
  }
  stopped = true;
  sock?.end();
  srv.close();
  await awaitExit(proc, ctx.liveTimeoutMs);
  sock?.destroy();
  const outlived = !proc.status;
  const final = judgeClientRun(ctx, proc, start, now, {
    record,
    ours: reaction,
    outlived,
    okWord: 'response-ok',
    succeeded: () => readFileSync(proc.stdoutPath, 'utf8').includes(TLS_BODY),
    dir: ctx.dir,
  });
  return { outlived, final };
}
