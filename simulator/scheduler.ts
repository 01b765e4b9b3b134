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

  // Sifts move a hole instead of swapping pairs: one write per level and no temporary arrays (this is per event).
  private push(e: Event): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.less(e, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  private pop(): Event {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    const n = h.length;
    if (n) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && this.less(h[r]!, h[l]!) ? r : l;
        if (!this.less(h[m]!, last)) break;
        h[i] = h[m]!;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}
