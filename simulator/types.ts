// Shared vocabulary of the network simulator (DESIGN.md §4): directions, packet kinds, fates, checks.

import type { Address } from '../engine/endpoint.js';

/** Each direction of the path has its own link, impairment pipeline and random streams. */
export type Direction = 'to-server' | 'to-client';
export const DIRECTIONS: readonly Direction[] = ['to-server', 'to-client'];

/** Packet kinds read from unprotected header bits only (see classify.ts). */
export type QuicKind = 'initial' | '0rtt' | 'handshake' | 'retry' | 'version-negotiation' | '1rtt';
export type DtlsKind =
  | 'client-hello'
  | 'hello-verify-request'
  | 'server-hello'
  | 'certificate'
  | 'server-key-exchange'
  | 'certificate-request'
  | 'server-hello-done'
  | 'certificate-verify'
  | 'client-key-exchange'
  | 'finished'
  | 'dtls-handshake' // a plaintext handshake message of a type not listed above
  | 'encrypted-handshake'
  | 'change-cipher-spec'
  | 'alert'
  | 'application-data'
  | 'dtls13-ciphertext'; // DTLS 1.3 unified header (RFC 9147 §4): everything is encrypted
export type PacketKind = QuicKind | DtlsKind | 'unknown';

/** What happened to one datagram. A datagram that was altered but still arrived carries the alteration as its fate. */
export type Fate =
  | 'delivered'
  | `dropped-by-${string}` // dropped-by-loss, dropped-by-droplist, dropped-by-blackhole, dropped-by-override, …
  | 'corrupted'
  | 'truncated'
  | 'duplicated'
  | 'reordered'
  | 'queue-overflow'
  | 'mtu'
  | 'in-flight'; // still travelling when the run ended

export function isDropped(f: Fate): boolean {
  return f.startsWith('dropped-by-') || f === 'queue-overflow' || f === 'mtu';
}

/** An on-wire check, as result.json records it (DESIGN.md §6). */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Forced fates by 1-based datagram index per direction, applied before any impairment: 'drop' removes the datagram,
 * 'deliver' lets it bypass every impairment (the link itself still applies MTU and queue limits).
 * The scenario runner shrinks failing runs by replaying with subsets of the recorded drops.
 */
export type FateOverrides = Map<Direction, Map<number, 'drop' | 'deliver'>>;

/** One recorded forced-fate decision (a run's `decisions` list; feed it back through fateOverrides). */
export interface FateDecision {
  readonly direction: Direction;
  readonly index: number;
  readonly decision: 'drop' | 'deliver';
  /** Which impairment (or 'link') made the decision. */
  readonly by: string;
}

export type { Address };
