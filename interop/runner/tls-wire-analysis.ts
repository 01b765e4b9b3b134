// Reads TLS 1.3 over TCP back from the wire (RFC 8446 §4 handshake, §4.6.3 KeyUpdate, §5.2 record protection, §6
// alerts, §7.2 traffic secret updates): the relay's or pipe's per-connection observers give the records as delivered;
// with the endpoints' NSS key logs (SSLKEYLOGFILE) the protected records are opened, so handshakes (both Finished),
// client certificates, key updates, alerts and close_notify are facts from the wire, never an endpoint's claim.

import { nodeCrypto } from '../../engine/crypto/node.js';
import { hkdfExpandLabel } from '../../engine/crypto/hkdf-label.js';
import { CIPHER_SUITES, alertName, type CipherSuite } from '../../engine/tls/api.js';
import { RecordProtector } from '../../engine/tls/record.js';
import { groupName, SUITE_NAMES, type TlsConnectionObserver } from '../../simulator/tls-observer.js';
import type { Direction } from '../../simulator/types.js';

export interface WireAlert {
  readonly from: 'client' | 'server';
  readonly level: 'warning' | 'fatal';
  readonly name: string;
  readonly description: number;
  /** Read from a protected record (with the key log), or in the clear. */
  readonly encrypted: boolean;
  readonly time: number;
}

export interface TlsConnectionFacts {
  readonly id: number;
  clientHellos: number;
  hrr: boolean;
  hrrGroup?: string;
  suite?: string;
  group?: string;
  /** ServerHello carried pre_shared_key (RFC 8446 §4.2.11): a resumed (PSK) handshake. */
  resumed?: boolean;
  pskOffered: boolean;
  /** The key log had this connection's secrets. */
  decrypted: boolean;
  alpn?: string;
  serverFinished: boolean;
  clientFinished: boolean;
  /** Both Finished messages, and no fatal alert before the server's first application data. */
  handshakeComplete: boolean;
  certificateRequested: boolean;
  /** Client Certificate message: none sent, sent empty, or with a chain (and a CertificateVerify). */
  clientCertificate: 'none' | 'empty' | 'sent';
  clientCertificateVerify: boolean;
  keyUpdates: { client: number; server: number };
  tickets: number;
  alerts: WireAlert[];
  closeNotify: { client: boolean; server: boolean };
  appDataBytes: { client: number; server: number };
  records: { client: number; server: number };
  undecryptable: { client: number; server: number };
  /** How each direction ended at its receiver. */
  transport: { toServer?: 'fin' | 'rst'; toClient?: 'fin' | 'rst' };
  /** Bytes of an incomplete record when a direction ended (a truncated record). */
  partialRecord: { toServer: number; toClient: number };
  problems: string[];
  firstAppDataMs?: number;
  lastAppDataMs?: number;
  openedAt?: number;
}

export interface TlsWireFacts {
  connections: TlsConnectionFacts[];
  handshakes: number;
  /** How handshakes were counted: from decrypted Finished messages or, without keys, from the clear text. */
  handshakeBasis: string;
  keysMissing?: string;
}

type Secrets = Map<string, Uint8Array>;

/** NSS key log → client_random (hex) → label → secret. */
export function parseKeyLog(text: string): Map<string, Secrets> {
  const out = new Map<string, Secrets>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_0-9]+) ([0-9a-fA-F]{64}) ([0-9a-fA-F]+)\s*$/.exec(line.trim());
    if (!m) continue;
    const cr = m[2]!.toLowerCase();
    let s = out.get(cr);
    if (!s) out.set(cr, (s = new Map()));
    s.set(m[1]!, Uint8Array.from(m[3]!.match(/../g)!.map((h) => parseInt(h, 16))));
  }
  return out;
}

const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function suiteById(id: number | undefined): CipherSuite | undefined {
  return Object.values(CIPHER_SUITES).find((s) => s.id === id);
}

/** Last non-zero byte of TLSInnerPlaintext is the real content type (§5.4). */
function unpad(inner: Uint8Array): { type: number; content: Uint8Array } | undefined {
  let end = inner.length - 1;
  while (end >= 0 && inner[end] === 0) end--;
  if (end < 0) return undefined;
  return { type: inner[end]!, content: inner.subarray(0, end) };
}

/**
 * One direction's keys in the order they come into use: [early], handshake, application 0, 1, … (next generations
 * derived as needed, §7.2). Records are opened with the current key; one that does not open is tried with the next
 * keys (a peer that switched where we did not expect), else counted as undecryptable.
 */
class KeyTrack {
  private readonly keys: (RecordProtector | undefined)[] = [];
  private current = 0;
  private appBase = -1;
  private lastApp: Uint8Array | undefined;

  constructor(private readonly suite: CipherSuite, early: Uint8Array | undefined, hs: Uint8Array | undefined, app: Uint8Array | undefined) {
    if (early) this.keys.push(new RecordProtector(nodeCrypto, suite, early, 'early'));
    if (hs) this.keys.push(new RecordProtector(nodeCrypto, suite, hs, 'handshake'));
    if (app) {
      this.appBase = this.keys.length;
      this.keys.push(new RecordProtector(nodeCrypto, suite, app, 'application'));
      this.lastApp = app;
    }
    // Without early data the handshake key comes first; with it, a record may still start at the handshake key.
  }

  private grow(): boolean {
    if (!this.lastApp) return false;
    const next = hkdfExpandLabel(nodeCrypto, this.suite.hash, this.lastApp, 'traffic upd', new Uint8Array(0), nodeCrypto.hashLength(this.suite.hash));
    this.keys.push(new RecordProtector(nodeCrypto, this.suite, next, 'application'));
    this.lastApp = next;
    return true;
  }

  /** Moves to the application key (after this side's Finished). */
  toApplication(): void {
    if (this.appBase >= 0 && this.current < this.appBase) this.current = this.appBase;
  }

  /** Moves to the next application generation (after this side's KeyUpdate). */
  nextGeneration(): void {
    if (this.appBase < 0) return;
    if (this.current + 1 >= this.keys.length) this.grow();
    if (this.current + 1 < this.keys.length) this.current++;
  }

  open(rec: Uint8Array): { type: number; content: Uint8Array } | undefined {
    const header = rec.subarray(0, 5);
    const body = rec.subarray(5);
    for (let k = this.current; k < this.current + 3; k++) {
      if (k >= this.keys.length && !this.grow()) break;
      const p = this.keys[k];
      if (!p) continue;
      const inner = p.tryOpen(header, body);
      if (inner) {
        this.current = k;
        return unpad(inner);
      }
    }
    return undefined;
  }
}

class Msgs {
  private buf = new Uint8Array(0);
  push(data: Uint8Array): { type: number; body: Uint8Array }[] {
    const b = new Uint8Array(this.buf.length + data.length);
    b.set(this.buf);
    b.set(data, this.buf.length);
    const out: { type: number; body: Uint8Array }[] = [];
    let i = 0;
    while (b.length - i >= 4) {
      const len = (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
      if (b.length - i < 4 + len) break;
      out.push({ type: b[i]!, body: b.subarray(i + 4, i + 4 + len) });
      i += 4 + len;
    }
    this.buf = b.slice(i);
    return out;
  }
}

function certificateEntries(body: Uint8Array): number {
  if (body.length < 4) return 0;
  const ctx = body[0]!;
  let i = 1 + ctx;
  const total = (body[i]! << 16) | (body[i + 1]! << 8) | body[i + 2]!;
  i += 3;
  const end = Math.min(body.length, i + total);
  let n = 0;
  while (i + 3 <= end) {
    const l = (body[i]! << 16) | (body[i + 1]! << 8) | body[i + 2]!;
    i += 3 + l;
    if (i + 2 > end) break;
    const e = (body[i]! << 8) | body[i + 1]!;
    i += 2 + e;
    n++;
  }
  return n;
}

function alpnFromEncryptedExtensions(body: Uint8Array): string | undefined {
  let i = 2;
  const end = Math.min(body.length, 2 + ((body[0]! << 8) | body[1]!));
  while (i + 4 <= end) {
    const type = (body[i]! << 8) | body[i + 1]!;
    const len = (body[i + 2]! << 8) | body[i + 3]!;
    if (type === 16 && len >= 4) {
      const n = body[i + 6]!;
      return new TextDecoder().decode(body.subarray(i + 7, i + 7 + n));
    }
    i += 4 + len;
  }
  return undefined;
}

export function analyzeTls(observers: readonly TlsConnectionObserver[], keylog: string): TlsWireFacts {
  const keys = parseKeyLog(keylog);
  const connections = observers.map((o) => analyzeConnection(o, keys));
  const decrypted = connections.filter((c) => c.decrypted).length;
  // Without a ServerHello there is nothing to decrypt and no handshake either way.
  const undecided = connections.filter((c) => !c.decrypted && c.suite !== undefined);
  const handshakes = connections.filter((c) => c.handshakeComplete).length;
  const basis = !connections.length
    ? 'no TCP connection reached the server'
    : undecided.length === 0
      ? `Finished messages decrypted with the key log on ${decrypted} of ${connections.length} connection(s)${decrypted < connections.length ? `; ${connections.length - decrypted} ended before a ServerHello` : ''}`
      : `${undecided.length} of ${connections.length} connection(s) without keys in the key log: counted from the clear text (ServerHello, then protected records both ways)`;
  return {
    connections,
    handshakes,
    handshakeBasis: basis,
    ...(undecided.length ? { keysMissing: `no secrets for connection(s) ${undecided.map((c) => c.id).join(', ')} in the key log` } : {}),
  };
}

function analyzeConnection(o: TlsConnectionObserver, keys: Map<string, Secrets>): TlsConnectionFacts {
  const sh = o.serverHello;
  const suite = suiteById(sh?.suite);
  const ch = o.clientHellos[0];
  const secrets = ch ? keys.get(hexOf(ch.random)) : undefined;
  const f: TlsConnectionFacts = {
    id: o.id,
    clientHellos: o.clientHellos.length,
    hrr: o.helloRetryRequests > 0,
    ...(o.hrrGroup !== undefined ? { hrrGroup: groupName(o.hrrGroup) } : {}),
    ...(sh ? { suite: SUITE_NAMES[sh.suite] ?? `0x${sh.suite.toString(16)}`, group: groupName(sh.group), resumed: sh.psk } : {}),
    pskOffered: !!ch?.pskOffered,
    decrypted: false,
    serverFinished: false,
    clientFinished: false,
    handshakeComplete: false,
    certificateRequested: false,
    clientCertificate: 'none',
    clientCertificateVerify: false,
    keyUpdates: { client: 0, server: 0 },
    tickets: 0,
    alerts: o.alerts.map((a) => ({ from: a.from, level: a.level === 1 ? 'warning' : 'fatal', name: alertName(a.description), description: a.description, encrypted: false, time: a.time })),
    closeNotify: { client: false, server: false },
    appDataBytes: { client: 0, server: 0 },
    records: { client: o.records['to-server'].length, server: o.records['to-client'].length },
    undecryptable: { client: 0, server: 0 },
    transport: {
      ...(o.transport['to-server'][0] ? { toServer: o.transport['to-server'][0].kind } : {}),
      ...(o.transport['to-client'][0] ? { toClient: o.transport['to-client'][0].kind } : {}),
    },
    partialRecord: { toServer: o.partial('to-server'), toClient: o.partial('to-client') },
    problems: [...o.problems],
    ...(o.openedAt !== undefined ? { openedAt: o.openedAt } : {}),
  };
  for (const a of f.alerts) if (a.description === 0) f.closeNotify[a.from] = true;

  const usable = suite && secrets && secrets.has('CLIENT_HANDSHAKE_TRAFFIC_SECRET') && secrets.has('SERVER_HANDSHAKE_TRAFFIC_SECRET');
  if (usable) {
    f.decrypted = true;
    // Alerts read from protected records join the clear ones in time order.
    const decoded: WireAlert[] = [];
    for (const dir of ['to-server', 'to-client'] as Direction[]) {
      const side = dir === 'to-server' ? 'client' : 'server';
      const prefix = side === 'client' ? 'CLIENT' : 'SERVER';
      const track = new KeyTrack(
        suite,
        side === 'client' ? secrets.get('CLIENT_EARLY_TRAFFIC_SECRET') : undefined,
        secrets.get(`${prefix}_HANDSHAKE_TRAFFIC_SECRET`),
        secrets.get(`${prefix}_TRAFFIC_SECRET_0`),
      );
      const msgs = new Msgs();
      for (const rec of o.records[dir]) {
        if (rec.type !== 23) continue;
        const inner = track.open(rec.bytes);
        if (!inner) {
          f.undecryptable[side]++;
          continue;
        }
        if (inner.type === 23) {
          f.appDataBytes[side] += inner.content.length;
          if (side === 'server' && inner.content.length) {
            f.firstAppDataMs ??= rec.time;
            f.lastAppDataMs = rec.time;
          }
        } else if (inner.type === 21 && inner.content.length === 2) {
          const a: WireAlert = { from: side, level: inner.content[0] === 1 ? 'warning' : 'fatal', name: alertName(inner.content[1]!), description: inner.content[1]!, encrypted: true, time: rec.time };
          decoded.push(a);
          if (a.description === 0) f.closeNotify[side] = true;
        } else if (inner.type === 22) {
          for (const m of msgs.push(inner.content)) {
            switch (m.type) {
              case 8:
                if (side === 'server') f.alpn = alpnFromEncryptedExtensions(m.body);
                break;
              case 13:
                if (side === 'server') f.certificateRequested = true;
                break;
              case 11:
                if (side === 'client') f.clientCertificate = certificateEntries(m.body) > 0 ? 'sent' : 'empty';
                break;
              case 15:
                if (side === 'client') f.clientCertificateVerify = true;
                break;
              case 20:
                if (side === 'client') f.clientFinished = true;
                else f.serverFinished = true;
                track.toApplication();
                break;
              case 4:
                if (side === 'server') f.tickets++;
                break;
              case 24:
                f.keyUpdates[side]++;
                track.nextGeneration();
                break;
            }
          }
        }
      }
    }
    f.alerts = [...f.alerts, ...decoded].sort((a, b) => a.time - b.time);
    const firstFatal = f.alerts.find((a) => a.level === 'fatal' || (a.description !== 0 && a.description !== 90));
    f.handshakeComplete = f.clientFinished && f.serverFinished && (!firstFatal || (f.firstAppDataMs !== undefined && firstFatal.time >= f.firstAppDataMs));
  } else if (sh) {
    // No keys: a ServerHello, then protected records both ways (the client's Finished, the server's data), and no
    // fatal alert in the clear.
    const prot = (d: Direction) => o.records[d].filter((r) => r.type === 23).length;
    f.handshakeComplete = prot('to-server') >= 1 && prot('to-client') >= 1 && !f.alerts.some((a) => a.level === 'fatal');
  }
  return f;
}
