// One direction of a point-to-point link: drop-tail queue (in packets), serialisation at a fixed bandwidth, then a
// fixed one-way propagation delay, as quic-interop-runner's ns-3 "simple-p2p" network (15 ms, 10 Mbps, queue 25).

export interface LinkConfig {
  /** One-way propagation delay in ms. */
  delay: number;
  /** Bits per second; Infinity for no serialisation time. */
  bandwidth: number;
  /** Datagrams that may wait behind the one being transmitted; more are dropped (fate 'queue-overflow'). */
  queue: number;
  /** Largest IP packet in bytes (UDP payload + overhead); larger datagrams are dropped (fate 'mtu'). */
  mtu: number;
  /** IPv4 + UDP header bytes added to each payload for serialisation and the MTU (28). */
  overhead: number;
}

export const SIMPLE_P2P: LinkConfig = { delay: 15, bandwidth: 10_000_000, queue: 25, mtu: 1500, overhead: 28 };

export type LinkResult = { arrival: number; txStart: number } | { dropped: 'queue-overflow' | 'mtu' };

export class Link {
  readonly cfg: LinkConfig;
  private busyUntil = -Infinity;
  private lastTxStart = 0;
  /** Transmission start times of accepted datagrams that have not started yet: the queue. */
  private readonly waiting: number[] = [];

  constructor(cfg: Partial<LinkConfig> = {}) {
    this.cfg = { ...SIMPLE_P2P, ...cfg };
    const c = this.cfg;
    if (!(c.delay >= 0)) throw new RangeError(`link: delay must be ≥ 0 ms, got ${c.delay}`);
    if (!(c.bandwidth > 0)) throw new RangeError(`link: bandwidth must be > 0 bit/s, got ${c.bandwidth}`);
    if (!(Number.isInteger(c.queue) && c.queue >= 0)) throw new RangeError(`link: queue must be an integer ≥ 0, got ${c.queue}`);
    if (!(c.mtu > c.overhead)) throw new RangeError(`link: mtu must exceed the ${c.overhead}-byte header overhead, got ${c.mtu}`);
  }

  /** Serialisation time of a payload of `bytes`, in ms. */
  txTime(bytes: number): number {
    return ((bytes + this.cfg.overhead) * 8 * 1000) / this.cfg.bandwidth;
  }

  /** A datagram reaches the link at time `t`; calls must come in non-decreasing `t`. */
  enter(bytes: number, t: number): LinkResult {
    const arrival = this.admit(bytes, t);
    if (arrival === DROPPED_MTU) return { dropped: 'mtu' };
    if (arrival === DROPPED_QUEUE) return { dropped: 'queue-overflow' };
    return { arrival, txStart: this.lastTxStart };
  }

  /**
   * `enter` without the result object, for the per-datagram path: the arrival time, or DROPPED_MTU /
   * DROPPED_QUEUE (negative, so never a time).
   */
  admit(bytes: number, t: number): number {
    const c = this.cfg;
    if (bytes + c.overhead > c.mtu) return DROPPED_MTU;
    const w = this.waiting;
    // Start times are increasing, so the ones already started sit at the front.
    let started = 0;
    while (started < w.length && w[started]! <= t) started++;
    if (started) w.splice(0, started);
    const txStart = t > this.busyUntil ? t : this.busyUntil;
    if (txStart > t) {
      if (w.length >= c.queue) return DROPPED_QUEUE;
      w.push(txStart);
    }
    this.lastTxStart = txStart;
    this.busyUntil = txStart + ((bytes + c.overhead) * 8 * 1000) / c.bandwidth;
    return this.busyUntil + c.delay;
  }
}

export const DROPPED_MTU = -1;
export const DROPPED_QUEUE = -2;
