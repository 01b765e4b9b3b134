// The on-wire observer interface: observers see every datagram as sent and as delivered, and turn what they saw
// into checks ({ name, ok, detail }) and metrics for result.json.

import type { Address } from '../../engine/endpoint.js';
import type { Classification } from '../classify.js';
import type { TraceEntry } from '../trace.js';
import type { Check, Direction } from '../types.js';

export interface WireEvent {
  readonly time: number;
  readonly direction: Direction;
  /** At send: the sender's own address; at delivery: the address the receiver sees (after NAT rebinding). */
  readonly from: Address;
  readonly to: Address;
  readonly data: Uint8Array;
  readonly classification: Classification;
  readonly entry: TraceEntry;
}

export interface WireObserver {
  readonly name: string;
  onSend?(ev: WireEvent): void;
  onDeliver?(ev: WireEvent): void;
  checks(): Check[];
  metrics?(): Record<string, unknown>;
}
