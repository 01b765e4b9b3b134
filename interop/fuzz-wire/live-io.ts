// The I/O pieces every live fuzz-wire driver (our engine beside a real peer) needs: a loopback UDP socket, and one
// wall-clock timer for the sans-I/O engine's next deadline.

import { createSocket, type Socket } from 'node:dgram';

/**
 * A UDP socket on an ephemeral 127.0.0.1 port (test traffic stays on loopback). Errors after the bind are dropped: an
 * input's outcome is read from our engine and the peer's process, and an ICMP error from a peer that went away must not
 * end the campaign.
 */
export function bindLoopbackUdp(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
  });
}

/** What the timer drives: QUIC connections and hosts, TLS/DTLS servers alike. */
export interface TimedEngine {
  nextTimeout(): number | undefined;
  handleTimeout(now: number): void;
}

/**
 * Re-armed after every step of a driver: fires at the engine's next deadline, runs handleTimeout, then `after` (drain
 * events, send output) and arms again. Exceptions from the engine go to `onError`: under fuzzing they are findings
 * about our engine, not failures of the driver.
 */
export class EngineTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: TimedEngine,
    private readonly now: () => number,
    private readonly onError: (where: string, e: unknown) => void,
    private readonly after: () => void,
    /** False once the input is over: arm() then only clears. */
    private readonly active: () => boolean,
  ) {}

  arm(): void {
    this.clear();
    if (!this.active()) return;
    let nt: number | undefined;
    try {
      nt = this.engine.nextTimeout();
    } catch (e) {
      this.onError('nextTimeout', e);
    }
    if (nt === undefined) return;
    this.timer = setTimeout(
      () => {
        try {
          this.engine.handleTimeout(this.now());
        } catch (e) {
          this.onError('handleTimeout', e);
        }
        this.after();
        this.arm();
      },
      Math.max(0, Math.ceil(nt - this.now())),
    );
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
