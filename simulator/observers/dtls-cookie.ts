// DTLS 1.2 stateless cookie exchange (RFC 6347 §4.2.1): toward a new client address a HelloVerifyRequest must come
// before any ServerHello, must be no larger than the ClientHello that caused it (so it cannot amplify), and the
// server should send little before the client proves its address by echoing the cookie.

import { addressKey } from '../../engine/endpoint.js';
import type { Check } from '../types.js';
import type { WireEvent, WireObserver } from './observer.js';

interface PerClient {
  lastClientHello: number;
  hvr: boolean;
  cookieRound: boolean;
  bytesBeforeCookie: number;
}

export class DtlsCookieObserver implements WireObserver {
  readonly name = 'dtls-cookie';
  private readonly clients = new Map<string, PerClient>();
  private readonly orderViolations: string[] = [];
  private readonly sizeViolations: string[] = [];
  private hvrCount = 0;
  private sawDtls = false;

  private state(key: string): PerClient {
    let s = this.clients.get(key);
    if (!s) this.clients.set(key, (s = { lastClientHello: 0, hvr: false, cookieRound: false, bytesBeforeCookie: 0 }));
    return s;
  }

  onDeliver(ev: WireEvent): void {
    if (ev.direction !== 'to-server' || ev.classification.protocol !== 'dtls') return;
    this.sawDtls = true;
    const ch = ev.classification.packets.find((p) => p.kind === 'client-hello');
    if (!ch) return;
    const s = this.state(addressKey(ev.from));
    s.lastClientHello = ev.data.length;
    if (ch.cookie?.length) s.cookieRound = true;
  }

  onSend(ev: WireEvent): void {
    if (ev.direction !== 'to-client' || ev.classification.protocol !== 'dtls') return;
    this.sawDtls = true;
    const key = addressKey(ev.to);
    const s = this.state(key);
    const kinds = ev.classification.packets.map((p) => p.kind);
    if (!s.cookieRound) s.bytesBeforeCookie += ev.data.length;
    if (kinds.includes('hello-verify-request')) {
      this.hvrCount++;
      s.hvr = true;
      if (ev.data.length > s.lastClientHello)
        this.sizeViolations.push(`HelloVerifyRequest of ${ev.data.length} B to ${key} answered a ${s.lastClientHello} B ClientHello`);
    }
    if (kinds.includes('server-hello') && !s.hvr) this.orderViolations.push(`ServerHello to ${key} at ${ev.time.toFixed(3)} ms without a HelloVerifyRequest first`);
  }

  checks(): Check[] {
    if (!this.sawDtls) return [];
    const before = [...this.clients.entries()].map(([k, s]) => `${k}: ${s.bytesBeforeCookie} B`).join(', ') || 'none';
    return [
      { name: 'dtls-hvr-before-server-hello', ok: this.orderViolations.length === 0, detail: this.orderViolations[0] ?? `${this.hvrCount} HelloVerifyRequest(s); every ServerHello followed one` },
      { name: 'dtls-hvr-not-larger-than-client-hello', ok: this.sizeViolations.length === 0, detail: this.sizeViolations[0] ?? (this.hvrCount ? 'every HelloVerifyRequest ≤ its ClientHello' : 'no HelloVerifyRequest') },
      { name: 'dtls-bytes-before-cookie', ok: true, detail: `server bytes before the cookie round: ${before}` },
    ];
  }

  metrics(): Record<string, unknown> {
    let total = 0;
    for (const s of this.clients.values()) total += s.bytesBeforeCookie;
    return { dtlsBytesBeforeCookie: total, helloVerifyRequests: this.hvrCount };
  }
}
