// The wire-fuzzing targets by protocol and role (each module names the RFC sections it exercises).

import type { Protocol, Role, Target } from './harness.js';
import { quicTarget } from './quic.js';
import { dtlsTarget } from './dtls.js';
import { tlsTarget } from './tls.js';

const cache = new Map<string, Target>();

export function targetFor(protocol: Protocol, role: Role): Target {
  const key = `${protocol}/${role}`;
  let t = cache.get(key);
  if (!t) {
    t = protocol === 'quic' ? quicTarget(role) : protocol === 'dtls' ? dtlsTarget(role) : tlsTarget(role);
    cache.set(key, t);
  }
  return t;
}
