// QUIC Retry (RFC 9000 §8.1.2, §17.2.5): each Retry the server sends must be answered by a client Initial that
// carries exactly the Retry's token (the check looks at the client's next Initial after the Retry reached it).

import { hex } from '../../engine/wire/bytes.js';
import type { PacketInfo } from '../classify.js';
import type { Check, PacketKind } from '../types.js';
import type { WireEvent, WireObserver } from './observer.js';

export class RetryObserver implements WireObserver {
  readonly name = 'retry';
  private retries = 0;
  private awaiting: string | undefined;
  private readonly failures: string[] = [];
  private echoed = 0;
  private sawQuic = false;

  onDeliver(ev: WireEvent): void {
    if (ev.direction !== 'to-client') return;
    const retry = first(ev, 'retry');
    if (retry) this.awaiting = hex(retry.token ?? new Uint8Array(0));
  }

  onSend(ev: WireEvent): void {
    if (ev.classification.protocol === 'quic') this.sawQuic = true;
    if (ev.direction === 'to-client') {
      if (first(ev, 'retry')) this.retries++;
      return;
    }
    if (this.awaiting === undefined) return;
    const initial = first(ev, 'initial');
    if (!initial) return;
    const token = hex(initial.token ?? new Uint8Array(0));
    if (token === this.awaiting) this.echoed++;
    else this.failures.push(`client Initial at ${ev.time.toFixed(3)} ms carried token '${token.slice(0, 32)}' instead of the Retry's '${this.awaiting.slice(0, 32)}'`);
    this.awaiting = undefined;
  }

  checks(): Check[] {
    if (!this.sawQuic) return [];
    if (this.retries === 0) return [{ name: 'quic-retry-token-echoed', ok: true, detail: 'no Retry on the wire' }];
    const ok = this.failures.length === 0 && this.echoed > 0;
    const detail = this.failures[0] ?? (this.echoed ? `${this.retries} Retry sent, token echoed ${this.echoed} time(s)` : `${this.retries} Retry sent, no client Initial followed one`);
    return [{ name: 'quic-retry-token-echoed', ok, detail }];
  }

  metrics(): Record<string, unknown> {
    return { retries: this.retries };
  }
}

/** The datagram's first packet of `kind` (a plain loop: this runs for every datagram). */
function first(ev: WireEvent, kind: PacketKind): PacketInfo | undefined {
  const packets = ev.classification.packets;
  for (let i = 0; i < packets.length; i++) if (packets[i]!.kind === kind) return packets[i];
  return undefined;
}
