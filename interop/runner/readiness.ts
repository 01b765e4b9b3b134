// When is a server endpoint ready? As its declaration says: a UDP probe that no longer draws ICMP port unreachable, a
// TCP connect that succeeds, a line in its output, or a fixed delay. A process that exits first is not ready.

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { ReadySpec } from '../peers/declaration.js';
import type { EndpointProcess } from './processes.js';
import { describeExit } from './processes.js';

export type Readiness = { ok: true } | { ok: false; reason: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A datagram every QUIC or DTLS server drops without answering or creating state: for QUIC one zero byte (the fixed
 * bit is clear, RFC 9000 §17), for DTLS a record of an unknown content type. What matters is only the absence of ICMP
 * port unreachable, which node reports as ECONNREFUSED on a connected socket. (A garbage Initial made ngtcp2 1.11's
 * example server exit.)
 */
function probeDatagram(protocol: string): Buffer {
  if (protocol === 'dtls') return Buffer.from([0xff, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  return Buffer.from([0]);
}

function udpRefused(host: string, port: number, protocol: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    let done = false;
    const end = (refused: boolean) => {
      if (done) return;
      done = true;
      s.close();
      resolve(refused);
    };
    s.on('error', (e: NodeJS.ErrnoException) => end(e.code === 'ECONNREFUSED'));
    s.connect(port, host, () => {
      s.send(probeDatagram(protocol), (err) => err && end((err as NodeJS.ErrnoException).code === 'ECONNREFUSED'));
      setTimeout(() => end(false), 150);
    });
  });
}

function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function waitReady(
  proc: EndpointProcess,
  spec: ReadySpec,
  o: { host: string; port: number; protocol: string; timeoutMs: number; signal?: AbortSignal },
): Promise<Readiness> {
  const deadline = Date.now() + o.timeoutMs;
  const exitedFirst = (): Readiness | undefined => (proc.status ? { ok: false, reason: `${describeExit(proc.status)} before it was ready` } : undefined);
  if (spec.kind === 'none') return { ok: true };
  if (spec.kind === 'delay') {
    await Promise.race([sleep(spec.ms), proc.exited]);
    return exitedFirst() ?? { ok: true };
  }
  while (Date.now() < deadline) {
    if (o.signal?.aborted) return { ok: false, reason: 'was interrupted before it was ready' };
    const gone = exitedFirst();
    if (gone) return gone;
    if (spec.kind === 'log' && spec.pattern.test(proc.output())) return { ok: true };
    if (spec.kind === 'udp' && !(await udpRefused(o.host, o.port, o.protocol))) {
      // Quiet only because the process is still starting? A second probe after a moment must agree.
      await sleep(50);
      if (proc.status) return exitedFirst()!;
      if (!(await udpRefused(o.host, o.port, o.protocol))) return { ok: true };
    }
    if (spec.kind === 'tcp' && (await tcpAccepts(o.host, o.port))) return { ok: true };
    await sleep(50);
  }
  return { ok: false, reason: `was not ready within ${(o.timeoutMs / 1000).toFixed(0)} s (${spec.kind === 'log' ? `no line matching /${spec.pattern.source}/` : spec.kind === 'udp' ? `udp port ${o.port} stayed closed` : `tcp port ${o.port} refused`})` };
}
