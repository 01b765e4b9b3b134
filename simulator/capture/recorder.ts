// Keeps every datagram as sent (with a reference to its trace entry, whose fate is final when the capture is written)
// so a run can be written as pcapng afterwards, dropped datagrams included.

import type { Address } from '../../engine/endpoint.js';
import type { Check } from '../types.js';
import type { TraceEntry } from '../trace.js';
import type { WireEvent, WireObserver } from '../observers/observer.js';

export interface CapturedDatagram {
  /** ms since the run started. */
  readonly time: number;
  readonly from: Address;
  readonly to: Address;
  readonly data: Uint8Array;
  readonly entry?: TraceEntry;
  /** Overrides the comment derived from the entry's fate. */
  readonly comment?: string;
}

export class CaptureRecorder implements WireObserver {
  readonly name = 'capture';
  readonly datagrams: CapturedDatagram[] = [];

  onSend(ev: WireEvent): void {
    this.datagrams.push({ time: ev.time, from: ev.from, to: ev.to, data: ev.data, entry: ev.entry });
  }

  checks(): Check[] {
    return [];
  }
}

/** The comment a capture shows for a datagram: what the network did to it. */
export function fateComment(e: TraceEntry | undefined): string | undefined {
  if (!e) return undefined;
  const f = e.fate;
  const parts: string[] = [];
  if (f.startsWith('dropped-by-')) parts.push(`dropped by ${f.slice('dropped-by-'.length)}`);
  else if (f === 'queue-overflow') parts.push('dropped: link queue overflow');
  else if (f === 'mtu') parts.push('dropped: larger than the link MTU');
  else if (f === 'in-flight') parts.push('still in flight when the run ended');
  else if (f !== 'delivered') parts.push(f);
  const extra = e.effects.filter((x) => x !== f);
  if (extra.length) parts.push(extra.join(', '));
  if (e.arrivedAt !== undefined) parts.push(`arrived at ${e.arrivedAt.toFixed(3)} ms`);
  return parts.length ? parts.join('; ') : undefined;
}
