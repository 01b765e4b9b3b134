// QUIC versions on the wire (RFC 8999 §5.1, RFC 9000 §6): long-header versions per direction and the versions a
// Version Negotiation packet offered. Informational; a scenario's expectations judge them.

import type { Check, Direction } from '../types.js';
import type { WireEvent, WireObserver } from './observer.js';

const fmt = (v: number) => '0x' + v.toString(16).padStart(8, '0');

export class VersionsObserver implements WireObserver {
  readonly name = 'versions';
  readonly seen: Record<Direction, Set<number>> = { 'to-server': new Set(), 'to-client': new Set() };
  readonly offered = new Set<number>();

  onSend(ev: WireEvent): void {
    for (const p of ev.classification.packets) {
      if (p.kind === 'version-negotiation') {
        for (const v of p.supportedVersions ?? []) this.offered.add(v);
        this.seen[ev.direction].add(0);
      } else if (p.version !== undefined) this.seen[ev.direction].add(p.version);
    }
  }

  checks(): Check[] {
    if (!this.seen['to-server'].size && !this.seen['to-client'].size) return [];
    const list = (s: Set<number>) => [...s].sort((a, b) => a - b).map(fmt).join(', ') || 'none';
    const vn = this.offered.size ? `; Version Negotiation offered ${list(this.offered)}` : '';
    return [{ name: 'quic-versions', ok: true, detail: `client sent ${list(this.seen['to-server'])}; server sent ${list(this.seen['to-client'])}${vn}` }];
  }

  metrics(): Record<string, unknown> {
    return { versions: [...new Set([...this.seen['to-server'], ...this.seen['to-client']])].filter((v) => v !== 0).sort((a, b) => a - b) };
  }
}
