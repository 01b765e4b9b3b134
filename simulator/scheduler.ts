// Discrete-event scheduler on a virtual clock: events run in (time, sequence) order, so equal-time events keep the
// order they were scheduled in and a run is a pure function of its inputs. Runaway runs end as 'hung', never throw.

export type RunOutcome = 'idle' | 'stopped' | 'hung';

export interface SchedulerLimits {
  /** Events before the run is declared hung (default 10 million). */
  maxEvents?: number;
  /** Simulated ms before the run is declared hung (default 10 minutes). */
  maxTime?: number;
}

interface Event {
  time: number;
  seq: number;
  fn: (now: number) => void;
}

export class Scheduler {
  now = 0;
  events = 0;
  hungReason: string | undefined;
  private seq = 0;
  private readonly heap: Event[] = [];
  private readonly maxEvents: number;
  private readonly maxTime: number;

  constructor(limits: SchedulerLimits = {}) {
    this.maxEvents = limits.maxEvents ?? 10_000_000;
    this.maxTime = limits.maxTime ?? 600_000;
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Schedules `fn` at `time`; times in the past run at the current time (after already-due events). */
  at(time: number, fn: (now: number) => void): void {
    if (Number.isNaN(time)) throw new RangeError('Scheduler.at: time is NaN');
    this.push({ time: Math.max(time, this.now), seq: this.seq++, fn });
  }

  /** Runs events until none remain ('idle'), `stop()` turns true ('stopped') or a limit is hit ('hung'). */
  run(stop?: () => boolean): RunOutcome {
    while (this.heap.length) {
      if (stop?.()) return 'stopped';
      const ev = this.pop();
      if (ev.time > this.maxTime) {
        this.hungReason = `simulated time passed ${this.maxTime} ms with ${this.heap.length + 1} event(s) still pending`;
        return 'hung';
      }
      if (++this.events > this.maxEvents) {
        this.hungReason = `more than ${this.maxEvents} events by ${this.now.toFixed(3)} ms (a busy loop?)`;
        return 'hung';
      }
      this.now = ev.time;
      ev.fn(ev.time);
    }
    return stop?.() ? 'stopped' : 'idle';
  }

  /** Real-time use (the relay): runs every event due by `now` in order, then advances the clock to `now`. */
  runDue(now: number): void {
    while (this.heap.length && this.heap[0]!.time <= now) {
      const ev = this.pop();
      this.events++;
      this.now = ev.time;
      ev.fn(ev.time);
    }
    this.now = Math.max(this.now, now);
  }

  /** When the earliest pending event is due, if any. */
  nextTime(): number | undefined {
    return this.heap[0]?.time;
  }

  /** Moves the clock forward (real time passed) without running anything. */
  advance(now: number): void {
    this.now = Math.max(this.now, now);
  }

  /** Marks the run hung from inside an event (e.g. an endpoint that never stops emitting). */
  abort(reason: string): void {
    this.hungReason = reason;
    this.heap.length = 0;
  }

  private less(a: Event, b: Event): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Event {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
