// The sans-I/O datagram endpoint shape (DESIGN.md §2) shared by QUIC, DTLS, the simulator and the UDP adapter.

/** A transport address. The simulator invents them; engine/io maps them to sockets. */
export interface Address {
  readonly host: string; // IPv4 or IPv6 literal
  readonly port: number;
}

export function addressKey(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.host === b.host && a.port === b.port;
}

export interface OutgoingDatagram {
  readonly data: Uint8Array;
  readonly to: Address;
  /** Local address to send from, when an endpoint has several (server preferred address, client after rebinding). */
  readonly from?: Address;
}

/**
 * Anything that exchanges datagrams: a QUIC client connection, a QUIC server endpoint (many connections),
 * a DTLS client or server. Time is milliseconds on the caller's clock (virtual in the simulator).
 * Contract: after any input call, the driver polls pollDatagrams() until empty and re-reads nextTimeout().
 */
export interface DatagramEndpoint {
  /** A datagram arrived at local address `local` (the endpoint's bound address) from `from`. Never throws. */
  receiveDatagram(data: Uint8Array, from: Address, now: number, local?: Address): void;
  /** Datagrams ready to send now (respecting pacing and congestion control). */
  pollDatagrams(now: number): OutgoingDatagram[];
  /** Earliest time handleTimeout must be called, or undefined when no timer is armed. */
  nextTimeout(): number | undefined;
  handleTimeout(now: number): void;
}
