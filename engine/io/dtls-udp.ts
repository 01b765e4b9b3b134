// Runs any sans-I/O DatagramEndpoint (engine/endpoint.ts) over a node:dgram socket: the only place DTLS meets
// real sockets and timers. Time is a monotonic millisecond clock (performance.now()).

import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Address, DatagramEndpoint } from '../endpoint.js';

export interface UdpDriver {
  readonly socket: Socket;
  /** The bound local address. */
  readonly local: Address;
  /** Call after any API call on the endpoint (send, close): flushes datagrams and re-arms the timer. */
  kick(): void;
  /** Stops the timer and closes the socket. */
  close(): Promise<void>;
}

export const monotonicNow = (): number => performance.now();

/** Binds a UDP socket; resolves once bound (port 0 picks a free port). */
export function bindUdp(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/**
 * Pumps the endpoint: received datagrams go in, pending datagrams go out, one timer tracks nextTimeout().
 * `afterInput` runs after every input (datagram or timer) so the caller can drain events.
 */
export function driveEndpoint(endpoint: DatagramEndpoint, socket: Socket, afterInput: () => void): UdpDriver {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const addr = socket.address();
  const local: Address = { host: addr.address, port: addr.port };

  const flush = () => {
    if (closed) return;
    for (const d of endpoint.pollDatagrams(monotonicNow())) {
      inFlight++;
      // Send errors (unreachable port, no route) are a lost datagram to the protocol, which retransmits.
      socket.send(d.data, d.to.port, d.to.host, () => {
        if (--inFlight === 0) drained?.();
      });
    }
    if (timer) clearTimeout(timer);
    timer = undefined;
    const at = endpoint.nextTimeout();
    if (at !== undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        endpoint.handleTimeout(monotonicNow());
        afterInput();
        flush();
      }, Math.max(0, Math.ceil(at - monotonicNow())));
    }
  };

  socket.on('message', (msg, rinfo) => {
    endpoint.receiveDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { host: rinfo.address, port: rinfo.port }, monotonicNow(), local);
    afterInput();
    flush();
  });

  return {
    socket,
    local,
    kick: flush,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        flush();
        closed = true;
        if (timer) clearTimeout(timer);
        // Let queued datagrams (a final close_notify) leave before the socket goes.
        const shut = () => socket.close(() => resolve());
        if (inFlight === 0) shut();
        else drained = shut;
      }),
  };
}
