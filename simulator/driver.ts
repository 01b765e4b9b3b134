// Drives one sans-I/O endpoint from the scheduler per the DatagramEndpoint contract (engine/endpoint.ts): after
// every input, drain pollDatagrams(now) and re-arm the single timer from nextTimeout().

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../engine/endpoint.js';
import type { Scheduler } from './scheduler.js';

/** An endpoint that keeps returning datagrams at one instant is broken; stop it rather than loop forever. */
const MAX_DATAGRAMS_PER_POLL = 100_000;

export class EndpointDriver {
  private armedAt: number | undefined;
  private generation = 0;
  /** The first exception an endpoint threw (the contract says never; a crash becomes the run's outcome). */
  crash: string | undefined;

  constructor(
    readonly name: string,
    private readonly endpoint: DatagramEndpoint,
    private readonly sched: Scheduler,
    private readonly emit: (d: OutgoingDatagram, now: number) => void,
  ) {}

  receive(data: Uint8Array, from: Address, local: Address, now: number): void {
    if (this.guard(() => this.endpoint.receiveDatagram(data, from, now, local))) this.flush(now);
  }

  /** Drains pending output and re-arms the timer; also how a run starts (the client's first flight). */
  flush(now: number): void {
    let n = 0;
    for (;;) {
      let out: OutgoingDatagram[] = [];
      if (!this.guard(() => (out = this.endpoint.pollDatagrams(now)))) return;
      if (out.length === 0) break;
      for (const d of out) this.emit(d, now);
      n += out.length;
      if (n > MAX_DATAGRAMS_PER_POLL) {
        this.sched.abort(`${this.name} emitted more than ${MAX_DATAGRAMS_PER_POLL} datagrams at ${now.toFixed(3)} ms without input`);
        return;
      }
    }
    let next: number | undefined;
    if (!this.guard(() => (next = this.endpoint.nextTimeout()))) return;
    if (next === Infinity) next = undefined;
    if (next !== undefined && Number.isNaN(next)) {
      this.crash = `${this.name} returned a NaN timeout at ${now.toFixed(3)} ms`;
      this.sched.abort(this.crash);
      return;
    }
    if (next === this.armedAt) return;
    this.armedAt = next;
    const gen = ++this.generation;
    if (next === undefined) return;
    this.sched.at(next, (t) => {
      if (gen !== this.generation) return; // re-armed since
      this.armedAt = undefined;
      if (this.guard(() => this.endpoint.handleTimeout(t))) this.flush(t);
    });
  }

  private guard(fn: () => void): boolean {
    if (this.crash) return false;
    try {
      fn();
      return true;
    } catch (e) {
      this.crash = `${this.name} threw at ${this.sched.now.toFixed(3)} ms: ${e instanceof Error ? e.message : String(e)}`;
      this.sched.abort(this.crash);
      return false;
    }
  }
}
