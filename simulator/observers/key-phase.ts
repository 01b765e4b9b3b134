// Key updates seen on the wire (RFC 9001 §6): the Key Phase bit of short headers flips on each update. The bit is
// under header protection (§5.4), so this observer needs the 1-RTT header-protection key of each direction; it
// takes them through a hook the runner fills from the endpoints' secrets (the HP key never changes on a key update,
// §6, so one key per direction suffices). Without keys it reports "not observed" rather than guessing.

import type { HeaderProtection } from '../../engine/crypto/provider.js';
import type { Check, Direction } from '../types.js';
import type { WireEvent, WireObserver } from './observer.js';

export interface ShortHeaderKeys {
  readonly headerProtection: HeaderProtection;
  /** Length of the DCID in short headers sent in this direction (the receiver's chosen CID length). */
  readonly dcidLength: number;
}

/** Returns the keys for a direction once known (called per 1-RTT packet, so it may start returning them mid-run). */
export type KeyPhaseKeys = (direction: Direction) => ShortHeaderKeys | undefined;

export class KeyPhaseObserver implements WireObserver {
  readonly name = 'key-phase';
  readonly flips: Record<Direction, number> = { 'to-server': 0, 'to-client': 0 };
  private readonly phase: Partial<Record<Direction, number>> = {};
  private shortSeen = 0;
  private unreadable = 0;

  constructor(private readonly keys?: KeyPhaseKeys) {}

  onSend(ev: WireEvent): void {
    for (const p of ev.classification.packets) {
      if (p.kind !== '1rtt') continue;
      this.shortSeen++;
      const k = this.keys?.(ev.direction);
      const bit = k ? keyPhaseBit(ev.data.subarray(p.offset, p.offset + p.length), k) : undefined;
      if (bit === undefined) {
        this.unreadable++;
        continue;
      }
      const prev = this.phase[ev.direction];
      if (prev !== undefined && prev !== bit) this.flips[ev.direction]++;
      this.phase[ev.direction] = bit;
    }
  }

  checks(): Check[] {
    if (this.shortSeen === 0) return [];
    if (!this.keys) return [{ name: 'quic-key-phase', ok: true, detail: 'not observed: no 1-RTT header-protection keys supplied (keyPhaseKeys)' }];
    const skipped = this.unreadable ? `; ${this.unreadable} short-header packet(s) unreadable` : '';
    return [{ name: 'quic-key-phase', ok: true, detail: `key phase flips: client ${this.flips['to-server']}, server ${this.flips['to-client']}${skipped}` }];
  }

  metrics(): Record<string, unknown> {
    return this.keys ? { keyUpdates: { client: this.flips['to-server'], server: this.flips['to-client'] } } : {};
  }
}

/** Removes header protection from the first byte only (RFC 9001 §5.4.1-5.4.2): the sample starts 4 bytes past the PN offset. */
export function keyPhaseBit(packet: Uint8Array, k: ShortHeaderKeys): number | undefined {
  const sampleAt = 1 + k.dcidLength + 4;
  if (packet.length < sampleAt + 16) return undefined;
  const mask = k.headerProtection.mask(packet.subarray(sampleAt, sampleAt + 16));
  const first = packet[0]! ^ (mask[0]! & 0x1f);
  return (first >> 2) & 1;
}
