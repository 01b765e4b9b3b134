// QUIC inputs against a real server in real time (RFC 9000 §8.1 anti-amplification, §10.2 CONNECTION_CLOSE, §17 packets;
// RFC 9001 §5 protection): our client engine talks to the peer over a loopback UDP socket, and one of its datagrams
// passes the mutation stage on the way — blind edits or, with our own keys from the key log, frames and TLS messages
// edited inside a payload that still authenticates. One socket (one client address) per input, so bytes the server
// sends before the address is validated are counted per address; the socket lingers after the input so the server's
// retransmissions count too.

import type { Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { nodeCrypto } from '../../engine/crypto/node.js';
import { seededRandom } from '../../engine/crypto/random.js';
import type { Address } from '../../engine/endpoint.js';
import { QuicConnection } from '../../engine/quic/connection.js';
import type { CloseInfo } from '../../engine/quic/connection-events.js';
import { splitDatagram, type ProtectedHeader } from '../../engine/quic/packet.js';
import { derivePacketKeys, initialKeys, type PacketKeys } from '../../engine/quic/protection.js';
import { CIPHER_SUITES } from '../../engine/tls/api.js';
import { createTlsSession } from '../../engine/tls/session.js';
import { fromHex, hex } from '../../engine/wire/bytes.js';
import { applyMutations } from './mutate.js';
import { mutateDatagram } from './quic.js';
import { Draw } from './rng.js';
import type { InputContext, LiveDriver, LiveInput, LivePlan } from './live-types.js';
import { EngineTimer, bindLoopbackUdp } from './live-io.js';

const crypto = nodeCrypto;
const SUITE = CIPHER_SUITES.TLS_AES_128_GCM_SHA256;
const VERSION = 1;
const sha = (d: Uint8Array) => crypto.hash('sha256', d);

function reactionOf(c: CloseInfo): string {
  if (c.cause === 'stateless-reset') return 'stateless-reset';
  if (c.cause === 'version-negotiation') return 'version-negotiation';
  if (c.cause === 'idle-timeout') return 'idle-timeout';
  const code = `0x${c.errorCode.toString(16)}`;
  return `${c.initiator === 'remote' ? 'peer' : 'our'}-close:${c.kind === 'application' ? 'app' : 'transport'}:${code}`;
}

/** Long-header packet type bits of QUIC v1 (RFC 9000 §17.2): 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry. */
function longType(b: Uint8Array): number | undefined {
  if (!b.length || !(b[0]! & 0x80) || b.length < 5) return undefined;
  return (b[0]! >> 4) & 3;
}

/** Does this datagram (as we sent it) carry a packet of `kind`? */
function carries(d: Uint8Array, kind: ProtectedHeader['kind']): boolean {
  try {
    return splitDatagram(d, 0).packets.some((p) => p.kind === kind);
  } catch {
    return false;
  }
}

/** Does `mutated` still hold one of `original`'s Handshake packets unchanged? */
function keepsHandshakePacket(original: Uint8Array, mutated: Uint8Array): boolean {
  let packets: ProtectedHeader[] = [];
  try {
    packets = splitDatagram(original, 0).packets.filter((p) => p.kind === 'handshake');
  } catch {
    return false;
  }
  return packets.some((p) => Buffer.from(mutated.buffer, mutated.byteOffset, mutated.length).indexOf(Buffer.from(p.packet.buffer, p.packet.byteOffset, p.packet.length)) >= 0);
}

/** Is this datagram's first packet for the connection whose first CID is `cid` (long: explicit DCID; short: prefix)? */
function addressedTo(d: Uint8Array, cid: Uint8Array): boolean {
  if (!d.length) return false;
  if (d[0]! & 0x80) {
    if (d.length < 6 || d[5] !== cid.length || d.length < 6 + cid.length) return false;
    for (let i = 0; i < cid.length; i++) if (d[6 + i] !== cid[i]) return false;
    return true;
  }
  // Short header: the server may use any CID we issued by then, so it is not judged (strays come from connections
  // whose handshake never finished, which send long headers).
  return true;
}

interface Session {
  sock: Socket;
  conn: QuicConnection;
  now: () => number;
  secrets: Map<string, Uint8Array>;
}

async function open(ctx: InputContext, rngName: string): Promise<Session> {
  const sock = await bindLoopbackUdp();
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const secrets = new Map<string, Uint8Array>();
  const conn = new QuicConnection({
    role: 'client',
    config: {
      crypto,
      // Seeded per input: our first Initial (ClientHello random, key share, CIDs) is the same bytes on every replay.
      random: seededRandom(rngName, sha),
      clock: () => Date.now(),
      createTls: createTlsSession,
      tls: {
        serverName: 'localhost',
        alpn: [ctx.alpn],
        verify: { ca: [ctx.ca] },
        // One suite: recorded secrets map to packet keys without asking what was negotiated.
        cipherSuites: ['TLS_AES_128_GCM_SHA256'],
        keyLog: (line: string) => {
          const [label, , secret] = line.split(' ');
          if (label && secret) secrets.set(label, fromHex(secret));
        },
      },
      version: VERSION,
      pmtud: false,
      // Our own 8-byte CID (clients default to none): what the server sends us carries it, so datagrams for an earlier
      // input whose port the OS handed out again are told apart and not counted against this input.
      cidLength: 8,
    },
    remote: { host: '127.0.0.1', port: ctx.port },
    local: { host: '127.0.0.1', port: sock.address().port },
    now: 0,
  });
  return { sock, conn, now, secrets };
}

/** The plan of input `index`: which of our datagrams is mutated and how it is sent; a pure function of (seed, index). */
export function quicPlan(r: Draw): LivePlan {
  const abandon = r.chance(0.15);
  const k = abandon ? 0 : r.pick([0, 0, 0, 0, 0, 1, 1, 2, 2, 3]);
  const mode = abandon ? 'abandon' : r.chance(0.7) ? 'replace' : 'inject';
  return { k, mode, count: r.pick([1, 1, 1, 2, 3]) };
}

export const quicDriver: LiveDriver = {
  protocol: 'quic',
  plan: quicPlan,

  async input(ctx: InputContext, r: Draw, plan: LivePlan, record: LiveInput): Promise<{ linger: Promise<void> }> {
    const s = await open(ctx, `${ctx.name}/client`);
    const { sock, conn, now } = s;
    const remote: Address = { host: '127.0.0.1', port: ctx.port };
    const sent: Uint8Array[] = [];
    let applied = false;
    let abandoned = false;
    let finished = false;
    let closing = false;
    let validated = false;
    let retried = false;
    let initialDcid: Uint8Array | undefined;
    let serverCidLength = 0;
    let hsDone = false;
    let pings = 0;
    let lastActivity = now();
    let afterMutation = 0;
    const amp = record.amplification;

    const engineError = (what: string, e: unknown) => {
      if (!record.engineErrors.some((x) => x.startsWith(what))) record.engineErrors.push(`${what}: ${(e as Error)?.stack ?? String(e)}`);
    };
    const keys = (): Partial<Record<ProtectedHeader['kind'], PacketKeys>> => {
      const hs = s.secrets.get('CLIENT_HANDSHAKE_TRAFFIC_SECRET');
      const app = s.secrets.get('CLIENT_TRAFFIC_SECRET_0');
      return {
        initial: initialDcid ? initialKeys(crypto, VERSION, initialDcid).client : undefined,
        handshake: hs ? derivePacketKeys(crypto, SUITE, hs, VERSION) : undefined,
        '1rtt': app ? derivePacketKeys(crypto, SUITE, app, VERSION) : undefined,
      };
    };
    const mutate = (d: Uint8Array): Uint8Array => applyMutations(r, d, plan.count, sent, (x) => mutateDatagram(r, x, serverCidLength, keys()), record.mutations);
    const send = (data: Uint8Array) => {
      if (!validated) amp.rx += data.length;
      sock.send(data, ctx.port, '127.0.0.1');
    };
    const out = (d: Uint8Array) => {
      const idx = sent.length;
      if (idx === 0) initialDcid = splitDatagram(d, 0).packets[0]?.dcid.slice();
      sent.push(d);
      lastActivity = now();
      if (idx === plan.k && !applied && !closing) {
        applied = true;
        const m = mutate(d);
        record.datagram = idx;
        record.original = hex(d);
        record.mutated = hex(m);
        if (plan.mode === 'inject') send(d);
        send(m);
        // A Handshake packet that survived the mutation byte for byte still opens at the server and validates us
        // (counting the server's later bytes as unvalidated would invent amplification).
        if (!validated && (plan.mode === 'inject' ? carries(d, 'handshake') : keepsHandshakePacket(d, m))) {
          validated = true;
          amp.validatedAfterMs = Math.round(now());
        }
        if (plan.mode === 'abandon') abandoned = true;
        return;
      }
      // The server validates our address once it opens a Handshake packet from us (or a Retry token in an Initial).
      // What it sent before that was limited by what it had received before it: the validating datagram does not count.
      if (!validated && (carries(d, 'handshake') || (retried && carries(d, 'initial')))) {
        validated = true;
        amp.validatedAfterMs = Math.round(now());
      }
      send(d);
    };
    const flush = () => {
      if (abandoned || finished) return;
      let ds: { data: Uint8Array }[] = [];
      try {
        ds = conn.pollDatagrams(now());
      } catch (e) {
        engineError('pollDatagrams', e);
      }
      for (const d of ds) {
        out(d.data);
        if (abandoned) break;
      }
    };
    const events = () => {
      try {
        for (let e = conn.pollEvent(); e; e = conn.pollEvent()) if (e.type === 'handshake-complete') hsDone = true;
      } catch (e) {
        engineError('pollEvent', e);
      }
      // The mutation is due on a datagram we have not sent yet: a PING makes one.
      if (hsDone && !applied && !closing && pings < 8 && !conn.isClosed) {
        pings++;
        conn.ping();
      }
    };
    const timer = new EngineTimer(
      conn,
      now,
      engineError,
      () => {
        events();
        flush();
      },
      () => !(abandoned || finished),
    );
    const arm = () => timer.arm();

    const ourCid = conn.localCid.slice();
    sock.on('message', (m) => {
      const data = new Uint8Array(m);
      if (!addressedTo(data, ourCid)) {
        record.strays = (record.strays ?? 0) + 1;
        return;
      }
      if (!validated) {
        amp.tx += data.length;
        // What went out before validation, datagram by datagram (ms since the input began, bytes): enough to read an
        // amplification finding without a capture.
        if ((amp.txLog ??= []).length < 16) amp.txLog.push([Math.round(now()), data.length]);
      }
      record.peerDatagrams++;
      if (applied) afterMutation++;
      lastActivity = now();
      if (longType(data) === 3 && !retried) {
        retried = true;
        // RFC 9001 §5.2: after a Retry, Initial keys come from the Retry's Source Connection ID.
        const p = splitDatagram(data, 0).packets[0];
        if (p) initialDcid = p.scid.slice();
      }
      if (longType(data) !== undefined && !serverCidLength) {
        const p = splitDatagram(data, 0).packets[0];
        if (p && p.kind !== 'retry') serverCidLength = p.scid.length;
      }
      if (abandoned || finished) return;
      try {
        conn.receiveDatagram(data, remote, now());
      } catch (e) {
        engineError('receiveDatagram', e);
      }
      events();
      flush();
      arm();
    });

    flush();
    arm();

    // Until the connection ends, or nothing moved for quietMs after the mutation, or maxMs. An abandoned input still
    // waits quietMs: a peer that dies of it has time to do so before the next input (it is blamed on this one).
    const start = now();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const t = now();
        const closeInfo = conn.closeInfo;
        const quiet = t - lastActivity >= ctx.quietMs;
        if ((abandoned && quiet) || closeInfo !== undefined || (applied && quiet) || (!applied && quiet && t - start > ctx.quietMs * 4) || t - start >= ctx.maxMs) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });

    // Exceptions our engine caught itself (closed with INTERNAL_ERROR) are engine bugs as much as thrown ones.
    for (const e of conn.internalErrors) engineError('internal error', e);
    if (!abandoned) {
      const c = conn.closeInfo;
      record.reaction = !applied ? 'not-reached' : c ? reactionOf(c) : hsDone ? (afterMutation ? 'completed' : 'completed-silent') : afterMutation ? 'stalled' : 'silence';
      // Free the server's state: a CONNECTION_CLOSE (never mutated) if the connection still lives.
      if (!c) {
        closing = true;
        try {
          conn.close(0, 'fuzz input done', true, now());
        } catch (e) {
          engineError('close', e);
        }
        flush();
      }
    }
    finished = true;
    timer.clear();
    // The socket lingers: the server's retransmissions toward an unvalidated address still count.
    const linger = new Promise<void>((resolve) =>
      setTimeout(() => {
        if (abandoned) record.reaction = afterMutation ? 'answered' : 'silence';
        sock.close();
        resolve();
      // Abandoned inputs: the peer's handshake retransmissions (PTOs back off 1, 2, 4 s) reach its 3× cap only after
      // several seconds; a closed connection gets only what was in flight.
      }, abandoned ? ctx.lingerMs : Math.min(ctx.lingerMs, 1000)),
    );
    return { linger };
  },

  async handshake(ctx: InputContext, timeoutMs: number): Promise<{ ok: boolean; detail: string; ms: number }> {
    const s = await open(ctx, `${ctx.name}/liveness`);
    const { sock, conn, now } = s;
    const remote: Address = { host: '127.0.0.1', port: ctx.port };
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    let detail = 'no handshake';
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        clearTimeout(limit);
        const ms = Math.round(now());
        try {
          if (!conn.isClosed) conn.close(0, 'liveness check done', true, now());
          for (const d of conn.pollDatagrams(now())) sock.send(d.data, ctx.port, '127.0.0.1');
        } catch {
          // closing is best effort
        }
        setTimeout(() => sock.close(), 50);
        resolve({ ok, detail: ok ? 'handshake complete' : detail, ms });
      };
      const step = () => {
        try {
          for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
            if (e.type === 'handshake-complete') return finish(true);
            if (e.type === 'closing' || e.type === 'closed') {
              detail = reactionOf(e.info);
              return finish(false);
            }
          }
          for (const d of conn.pollDatagrams(now())) sock.send(d.data, ctx.port, '127.0.0.1');
          if (timer) clearTimeout(timer);
          const nt = conn.nextTimeout();
          if (nt !== undefined)
            timer = setTimeout(() => {
              conn.handleTimeout(now());
              step();
            }, Math.max(0, Math.ceil(nt - now())));
        } catch (e) {
          detail = `our engine threw: ${(e as Error).message}`;
          finish(false);
        }
      };
      const limit = setTimeout(() => {
        detail = `no handshake within ${timeoutMs} ms`;
        finish(false);
      }, timeoutMs);
      sock.on('message', (m) => {
        if (done) return;
        conn.receiveDatagram(new Uint8Array(m), remote, now());
        step();
      });
      step();
    });
  },
};
