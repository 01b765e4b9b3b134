// Free loopback ports for real-peer servers, which bind a port we choose for them in another process.
//
// A port the OS hands out for port 0 lies in the kernel's ephemeral range, and so does the local port of every
// outgoing connection on the machine (our relays' upstream sockets, other tests' clients). Between our probe and the
// peer's bind such a connection can take the port, and the peer dies with EADDRINUSE. So ports come from below the
// ephemeral range, where the kernel never assigns one by itself; each is probed free for both TCP and UDP (a TLS
// server listens on TCP, a QUIC one on UDP) and not handed out again by this process for a while. Parallel test
// workers are separate processes: each draws from its own slice of the range.

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const recent: number[] = [];
const RECENT = 512;
const LOWEST = 10_000;

/** [low, high) of ports the kernel does not assign on its own. */
export function unassignedRange(ephemeralRange = readEphemeralRange()): [number, number] {
  const [lo, hi] = ephemeralRange;
  // Below the ephemeral range when there is room there, else above it.
  if (lo - LOWEST >= 4096) return [LOWEST, lo];
  if (65_536 - (hi + 1) >= 1024) return [hi + 1, 65_536];
  return [LOWEST, 65_536];
}

function readEphemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi) return [lo, hi];
  } catch {
    // not Linux: IANA's dynamic range
  }
  return [49_152, 65_535];
}

/** This process's slice: Playwright numbers its parallel workers, and a CLI run uses the whole range. */
export function sliceFor(range: [number, number], worker: number | undefined, workers = 16): [number, number] {
  if (worker === undefined || !Number.isInteger(worker) || worker < 0) return range;
  const size = Math.floor((range[1] - range[0]) / workers);
  const lo = range[0] + (worker % workers) * size;
  return [lo, lo + size];
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export async function allocatePort(): Promise<number> {
  const workerEnv = process.env['TEST_PARALLEL_INDEX'];
  const [lo, hi] = sliceFor(unassignedRange(), workerEnv === undefined ? undefined : Number(workerEnv));
  for (let i = 0; i < 200; i++) {
    const p = randomInt(lo, hi);
    if (recent.includes(p)) continue;
    if (!(await tcpFree(p)) || !(await udpFree(p))) continue;
    recent.push(p);
    if (recent.length > RECENT) recent.shift();
    return p;
  }
  throw new Error(`no free loopback port in ${lo}–${hi - 1}`);
}
