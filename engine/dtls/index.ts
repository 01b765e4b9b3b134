// DTLS 1.2 (RFC 6347) public surface: client and server endpoints, configuration, events, suites.

export { DtlsClient } from './client.js';
export { DtlsServer, type DtlsServerConfig, type DtlsServerEvent } from './server.js';
export { DtlsConnection } from './connection.js';
export type { DtlsConfig, DtlsEvent, HandshakeSummary } from './config.js';
export { DTLS_SUITES, DEFAULT_DTLS_SUITES, type DtlsSuite, type DtlsSuiteName } from './suites.js';
export { ContentType, DTLS_1_0, DTLS_1_2 } from './record.js';
