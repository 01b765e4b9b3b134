// Entry point of the TLS 1.3 engine (RFC 8446): one sans-I/O session per connection, client or server, for QUIC (RFC 9001) and TLS-over-TCP.
//
// Notes for the layers above:
// - Drain pollOutput() before pollEvent(): a KeyUpdate message goes out under the old key, and its 'key-update' write event follows it.
// - Over TCP (config.quic unset) the record layer sends and ignores change_cipher_spec for middlebox compatibility
//   (RFC 8446 App. D.4); the session never sees CCS. A server that rejected 0-RTT relies on the record layer to skip
//   undecryptable early records (§4.2.10).
// - Secrets come out in install order; each carries its epoch and direction, and output chunks carry the epoch to send at.

import type { TlsConfig, TlsSession } from './api.js';
import { TlsClient } from './client.js';
import { TlsServer } from './server.js';

export function createTlsSession(config: TlsConfig): TlsSession {
  return config.role === 'client' ? new TlsClient(config) : new TlsServer(config);
}

export { TlsClient } from './client.js';
export { TlsServer } from './server.js';
export { KeySchedule, trafficKeys, nextApplicationTrafficSecret, resumptionPsk, exportKeyingMaterial } from './key-schedule.js';
