// QUIC Retry (RFC 9000 §8.1.2, §17.2.5): a client that acts on a Retry sends its next Initials to the Retry's Source
// Connection ID carrying exactly the Retry's token (the check judges the first such Initial per Retry).

import { hex } from '../../engine/wire/bytes.js';
import type { PacketInfo } from '../classify.js';
import type { Check, PacketKind } from '../types.js';
import type { WireEvent, WireObserver } from './observer.js';

export class RetryObserver implements WireObserver {
  readonly name = 'retry';
  private retries = 0;
  /**
   * Per Retry that reached the client: its Source Connection ID (the DCID the client must switch to) → its token. A
   * client acts on one Retry only (§17.2.5.2) and may still retransmit its first Initial, with the original DCID and no
   * token, until the Retry arrives; so only Initials sent to a Retry's SCID are judged, against that Retry's token.
   */
  private readonly issued = new Map<string, string>();
  private readonly judged = new Set<string>();
  private readonly failures: string[] = [];
  private echoed = 0;
  private sawQuic = false;

  onDeliver(ev: WireEvent): void {
    if (ev.direction !== 'to-client') return;
    const retry = first(ev, 'retry');
    if (retry?.scid) this.issued.set(hex(retry.scid), hex(retry.token ?? new Uint8Array(0)));
  }

  onSend(ev: WireEvent): void {
    if (ev.classification.protocol === 'quic') this.sawQuic = true;
    if (ev.direction === 'to-client') {
      if (first(ev, 'retry')) this.retries++;
      return;
    }
    const initial = first(ev, 'initial');
    if (!initial?.dcid) return;
    const dcid = hex(initial.dcid);
    const want = this.issued.get(dcid);
    if (want === undefined || this.judged.has(dcid)) return;
    this.judged.add(dcid);
    const token = hex(initial.token ?? new Uint8Array(0));
    if (token === want) this.echoed++;
    else this.failures.push(`client Initial at ${ev.time.toFixed(3)} ms to the Retry's connection ID carried token '${token.slice(0, 32)}' instead of the Retry's '${want.slice(0, 32)}'`);
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
