// The sans-I/O datagram endpoint shape (DESIGN.md §2) shared by QUIC, DTLS, the simulator and the UDP adapter.

/** A transport address. The simulator invents them; engine/io maps them to sockets. */
export interface Address {
  readonly host: string; // IPv4 or IPv6 literal
  readonly port: number;
}

export function addressKey(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * Whether two addresses are the same endpoint. Hosts are compared as addresses, not strings: IPv6 spellings
 * (0:0:0:0:0:0:0:1 and ::1, upper and lower case) and IPv4-mapped IPv6 (::ffff:127.0.0.1) match their canonical form.
 */
export function sameAddress(a: Address, b: Address): boolean {
  if (a.port !== b.port) return false;
  if (a.host === b.host) return true;
  // Differently spelled IPv4 literals do not occur (sockets and the simulator write dotted quads); only IPv6 differs.
  if (!a.host.includes(':') && !b.host.includes(':')) return false;
  return canonicalHost(a.host) === canonicalHost(b.host);
}

/**
 * The canonical spelling of an IP literal (RFC 5952 for IPv6, brackets removed, zone kept; an IPv4-mapped IPv6
 * address becomes its IPv4 address); anything else (IPv4, names) comes back lowercased.
 */
export function canonicalHost(host: string): string {
  let h = host.length > 1 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (!h.includes(':')) return h.toLowerCase();
  let zone = '';
  const pct = h.indexOf('%');
  if (pct >= 0) {
    zone = h.slice(pct);
    h = h.slice(0, pct);
  }
  let c: string;
  try {
    // The WHATWG URL parser validates IPv6 and serialises it in the RFC 5952 form.
    c = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  } catch {
    return host.toLowerCase();
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(c);
  if (mapped && !zone) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return c + zone;
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
