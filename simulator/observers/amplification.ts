// QUIC anti-amplification (RFC 9000 §8.1): before validating a client address a server sends at most three times
// the bytes it received from it. Validation here = a client Handshake packet arrived from that address (§8.1 ¶3), or
// a client Initial echoing a Retry token the server sent (§8.1.2). Reports the peak ratio per run.

import { addressKey, type Address } from '../../engine/endpoint.js';
import type { Check } from '../types.js';
import type { WireEvent, WireObserver } from './observer.js';

interface PerAddress {
  received: number;
  sent: number;
  validated: boolean;
  peak: number;
}

export class AmplificationObserver implements WireObserver {
  readonly name = 'amplification';
  private readonly addrs = new Map<string, PerAddress>();
  private readonly retryTokens = new Set<string>();
  private violation: string | undefined;
  private sawQuic = false;

  constructor(readonly factor = 3) {}

  /** The last address looked up: a run talks to one client address at a time, so this spares a key per datagram. */
  private last: { host: string; port: number; state: PerAddress } | undefined;

  private state(a: Address): PerAddress {
    const last = this.last;
    if (last && last.host === a.host && last.port === a.port) return last.state;
    const key = addressKey(a);
    let s = this.addrs.get(key);
    if (!s) this.addrs.set(key, (s = { received: 0, sent: 0, validated: false, peak: 0 }));
    this.last = { host: a.host, port: a.port, state: s };
    return s;
  }

  onDeliver(ev: WireEvent): void {
    if (ev.direction !== 'to-server' || ev.classification.protocol !== 'quic') return;
    this.sawQuic = true;
    const s = this.state(ev.from);
    s.received += ev.data.length;
    // Once validated the address stays validated and its counts no longer matter (onSend stops at `validated`).
    if (s.validated) return;
    for (const p of ev.classification.packets) {
      if (p.kind === 'handshake') s.validated = true;
      if (p.kind === 'initial' && p.token?.length && this.retryTokens.has(Buffer.from(p.token).toString('hex'))) s.validated = true;
    }
  }

  onSend(ev: WireEvent): void {
    if (ev.direction !== 'to-client' || ev.classification.protocol !== 'quic') return;
    this.sawQuic = true;
    for (const p of ev.classification.packets) if (p.kind === 'retry' && p.token) this.retryTokens.add(Buffer.from(p.token).toString('hex'));
    const s = this.state(ev.to);
    if (s.validated) return;
    s.sent += ev.data.length;
    const ratio = s.received === 0 ? Infinity : s.sent / s.received;
    s.peak = Math.max(s.peak, ratio);
    if (ratio > this.factor && !this.violation)
      this.violation = `server sent ${s.sent} B to ${addressKey(ev.to)} after receiving ${s.received} B (×${ratio.toFixed(2)}) at ${ev.time.toFixed(3)} ms, before validating it`;
  }

  peak(): number {
    let p = 0;
    for (const s of this.addrs.values()) p = Math.max(p, s.peak);
    return p;
  }

  checks(): Check[] {
    if (!this.sawQuic) return [];
    const peak = this.peak();
    const detail = this.violation ?? `peak ratio ${Number.isFinite(peak) ? peak.toFixed(2) : '∞'} (limit ${this.factor}) over ${this.addrs.size} client address(es)`;
    return [{ name: 'quic-amplification-limit', ok: !this.violation, detail }];
  }

  metrics(): Record<string, unknown> {
    return { amplificationPeak: this.peak() };
  }
}
