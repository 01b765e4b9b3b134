// The standard set of on-wire observers for a run, chosen by protocol.

import { AmplificationObserver } from './amplification.js';
import { DtlsCookieObserver } from './dtls-cookie.js';
import { HandshakesObserver } from './handshakes.js';
import { KeyPhaseObserver, type KeyPhaseKeys } from './key-phase.js';
import type { WireObserver } from './observer.js';
import { RetryObserver } from './retry.js';
import { VersionsObserver } from './versions.js';

export type { WireEvent, WireObserver } from './observer.js';
export { AmplificationObserver, DtlsCookieObserver, HandshakesObserver, KeyPhaseObserver, RetryObserver, VersionsObserver };
export type { KeyPhaseKeys, ShortHeaderKeys } from './key-phase.js';

/** Observers that report nothing until they see their protocol, so an unknown protocol gets all of them. */
export function standardObservers(protocol?: 'quic' | 'dtls', keyPhaseKeys?: KeyPhaseKeys): WireObserver[] {
  const quic = [new AmplificationObserver(), new RetryObserver(), new VersionsObserver(), new HandshakesObserver(), new KeyPhaseObserver(keyPhaseKeys)];
  const dtls = [new DtlsCookieObserver()];
  return protocol === 'quic' ? quic : protocol === 'dtls' ? dtls : [...quic, ...dtls];
}
