// Drives one sans-I/O endpoint from the scheduler per the DatagramEndpoint contract (engine/endpoint.ts): after
// every input, drain pollDatagrams(now) and re-arm the single timer from nextTimeout().

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../engine/endpoint.js';
import type { Scheduler, Timer } from './scheduler.js';

/** An endpoint that keeps returning datagrams at one instant is broken; stop it rather than loop forever. */
const MAX_DATAGRAMS_PER_POLL = 100_000;

export class EndpointDriver {
  /** The endpoint's one timer, moved in place on every re-arm (an endpoint re-arms after nearly every datagram). */
  private readonly timer: Timer;
  /** The deadline the endpoint asked for (before the scheduler clamps a past one to now). */
  private armedAt: number | undefined;
  /** The first exception an endpoint threw (the contract says never; a crash becomes the run's outcome). */
  crash: string | undefined;

  constructor(
    readonly name: string,
    private readonly endpoint: DatagramEndpoint,
    private readonly sched: Scheduler,
    private readonly emit: (d: OutgoingDatagram, now: number) => void,
  ) {
    this.timer = sched.timer((t) => this.onTimer(t));
  }

  receive(data: Uint8Array, from: Address, local: Address, now: number): void {
    if (this.crash) return;
    try {
      this.endpoint.receiveDatagram(data, from, now, local);
    } catch (e) {
      return this.crashed(e);
    }
    this.flush(now);
  }

  /** Drains pending output and re-arms the timer; also how a run starts (the client's first flight). */
  flush(now: number): void {
    if (this.crash) return;
    let n = 0;
    let next: number | undefined;
    try {
      for (;;) {
        const out = this.endpoint.pollDatagrams(now);
        if (out.length === 0) break;
        for (let i = 0; i < out.length; i++) this.emit(out[i]!, now);
        n += out.length;
        if (n > MAX_DATAGRAMS_PER_POLL) {
          this.sched.abort(`${this.name} emitted more than ${MAX_DATAGRAMS_PER_POLL} datagrams at ${now.toFixed(3)} ms without input`);
          return;
        }
      }
      next = this.endpoint.nextTimeout();
    } catch (e) {
      return this.crashed(e);
    }
    if (next === Infinity) next = undefined;
    if (next !== undefined && Number.isNaN(next)) {
      this.crash = `${this.name} returned a NaN timeout at ${now.toFixed(3)} ms`;
      this.sched.abort(this.crash);
      return;
    }
    if (next === this.armedAt) return;
    this.armedAt = next;
    this.sched.arm(this.timer, next);
  }

  private onTimer(t: number): void {
    this.armedAt = undefined;
    if (this.crash) return;
    try {
      this.endpoint.handleTimeout(t);
    } catch (e) {
      return this.crashed(e);
    }
    this.flush(t);
  }

  private crashed(e: unknown): void {
    this.crash = `${this.name} threw at ${this.sched.now.toFixed(3)} ms: ${e instanceof Error ? e.message : String(e)}`;
    this.sched.abort(this.crash);
  }
}
