// The wire-fuzzing targets by protocol and role (each module names the RFC sections it exercises).

import type { Protocol, Role, Target } from './harness.js';
import { quicTarget } from './quic.js';
import type { QuicFault } from '../../engine/quic/config.js';
import { dtlsTarget } from './dtls.js';
import { tlsTarget } from './tls.js';

const cache = new Map<string, Target>();

/** `faults`: deliberate QUIC engine defects (QuicFault), only to prove the campaign catches, minimises and replays bugs. */
export function targetFor(protocol: Protocol, role: Role, faults: readonly string[] = []): Target {
  const key = `${protocol}/${role}/${faults.join(',')}`;
  let t = cache.get(key);
  if (!t) {
    if (faults.length && protocol !== 'quic') throw new Error('--inject-fault applies to quic only');
    t = protocol === 'quic' ? quicTarget(role, faults as QuicFault[]) : protocol === 'dtls' ? dtlsTarget(role) : tlsTarget(role);
    cache.set(key, t);
  }
  return t;
}
