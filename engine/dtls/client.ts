// The DTLS 1.2 client endpoint (RFC 6347): one association with one server address, as a sans-I/O DatagramEndpoint.

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../endpoint.js';
import { sameAddress } from '../endpoint.js';
import type { DtlsConfig, DtlsEvent, HandshakeSummary } from './config.js';
import { DtlsConnection } from './connection.js';

export class DtlsClient implements DatagramEndpoint {
  readonly connection: DtlsConnection;

  /** Queues the first ClientHello at `now`; poll datagrams right after constructing. */
  constructor(config: DtlsConfig, readonly remote: Address, now: number) {
    this.connection = new DtlsConnection(config, 'client', now);
  }

  receiveDatagram(data: Uint8Array, from: Address, now: number): void {
    // Datagrams from anyone but our server cannot belong to this association.
    if (!sameAddress(from, this.remote)) return;
    this.connection.receiveDatagram(data, now);
  }

  pollDatagrams(_now: number): OutgoingDatagram[] {
    return this.connection.pollDatagrams().map((data) => ({ data, to: this.remote }));
  }

  nextTimeout(): number | undefined {
    return this.connection.nextTimeout();
  }

  handleTimeout(now: number): void {
    this.connection.handleTimeout(now);
  }

  pollEvent(): DtlsEvent | undefined {
    return this.connection.pollEvent();
  }

  send(data: Uint8Array): void {
    this.connection.send(data);
  }

  close(): void {
    this.connection.close();
  }

  get handshakeComplete(): boolean {
    return this.connection.handshakeComplete;
  }

  get handshake(): HandshakeSummary | undefined {
    return this.connection.handshake;
  }

  /** close() was called after the handshake; incoming data is still delivered until the peer's close_notify. */
  get closing(): boolean {
    return this.connection.closing;
  }

  get closed(): boolean {
    return this.connection.closed;
  }
}
