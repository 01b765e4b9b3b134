// Handshake count from the wire: distinct Source Connection IDs in server Initial and Handshake packets
// (RFC 9000 §7.2: a server picks a fresh SCID per connection, a Retry's SCID is not a handshake).

import { hex } from '../../engine/wire/bytes.js';
import type { Check } from '../types.js';
import type { WireEvent, WireObserver } from './observer.js';

export class HandshakesObserver implements WireObserver {
  readonly name = 'handshakes';
  readonly serverScids = new Set<string>();
  private sawQuic = false;

  onSend(ev: WireEvent): void {
    if (ev.classification.protocol === 'quic') this.sawQuic = true;
    if (ev.direction !== 'to-client') return;
    for (const p of ev.classification.packets) if ((p.kind === 'initial' || p.kind === 'handshake') && p.scid) this.serverScids.add(hex(p.scid));
  }

  get count(): number {
    return this.serverScids.size;
  }

  checks(): Check[] {
    return this.sawQuic ? [{ name: 'quic-handshakes', ok: true, detail: `${this.count} handshake(s) (distinct server SCIDs in Initial/Handshake)` }] : [];
  }

  metrics(): Record<string, unknown> {
    return { handshakes: this.count };
  }
}
