// Discrete-event scheduler on a virtual clock: events run in (time, sequence) order, so equal-time events keep the
// order they were scheduled in and a run is a pure function of its inputs. Runaway runs end as 'hung', never throw.

export type RunOutcome = 'idle' | 'stopped' | 'hung';

export interface SchedulerLimits {
  /** Events before the run is declared hung (default 10 million). */
  maxEvents?: number;
  /** Simulated ms before the run is declared hung (default 10 minutes). */
  maxTime?: number;
}

/**
 * One pending call. The handler takes its argument explicitly, so a caller with one long-lived handler per kind of
 * event (the network's "arrive", a driver's timer) schedules per datagram without allocating a closure.
 */
interface Event {
  time: number;
  seq: number;
  fn: (now: number, arg: unknown) => void;
  arg: unknown;
  /** Position in the heap, -1 when not queued: lets a timer move or leave without a search. */
  pos: number;
}

/** A re-armable event (see Scheduler.timer): at most one pending occurrence, moved in place when re-armed. */
export interface Timer {
  /** When it is due, or undefined when disarmed. */
  readonly due: number | undefined;
}

class TimerEvent implements Event, Timer {
  time = 0;
  seq = 0;
  arg: unknown = undefined;
  pos = -1;
  constructor(readonly fn: (now: number) => void) {}
  get due(): number | undefined {
    return this.pos >= 0 ? this.time : undefined;
  }
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

  /** Schedules `fn(now, arg)` at `time`; times in the past run at the current time (after already-due events). */
  at<T>(time: number, fn: (now: number, arg: T) => void, arg?: T): void {
    if (Number.isNaN(time)) throw new RangeError('Scheduler.at: time is NaN');
    this.push({ time: time > this.now ? time : this.now, seq: this.seq++, fn: fn as (now: number, arg: unknown) => void, arg, pos: -1 });
  }

  /** A timer that calls `fn(now)` when due; arm it with `arm()`. */
  timer(fn: (now: number) => void): Timer {
    return new TimerEvent(fn);
  }

  /**
   * (Re-)arms `timer` for `time`, or disarms it (undefined). Re-arming takes a fresh sequence number, exactly as
   * scheduling a new event would, but the superseded occurrence leaves the queue instead of firing as a no-op.
   */
  arm(timer: Timer, time: number | undefined): void {
    const ev = timer as TimerEvent;
    if (ev.pos >= 0) this.remove(ev.pos);
    if (time === undefined) return;
    if (Number.isNaN(time)) throw new RangeError('Scheduler.arm: time is NaN');
    ev.time = time > this.now ? time : this.now;
    ev.seq = this.seq++;
    this.push(ev);
  }

  /** Runs events until none remain ('idle'), `stop()` turns true ('stopped') or a limit is hit ('hung'). */
  run(stop?: () => boolean): RunOutcome {
    const h = this.heap;
    while (h.length) {
      if (stop !== undefined && stop()) return 'stopped';
      const top = h[0]!;
      if (top.time > this.maxTime) {
        this.hungReason = `simulated time passed ${this.maxTime} ms with ${h.length} event(s) still pending`;
        return 'hung';
      }
      if (++this.events > this.maxEvents) {
        this.hungReason = `more than ${this.maxEvents} events by ${this.now.toFixed(3)} ms (a busy loop?)`;
        return 'hung';
      }
      const ev = this.pop();
      this.now = ev.time;
      ev.fn(ev.time, ev.arg);
    }
    return stop?.() ? 'stopped' : 'idle';
  }

  /** Real-time use (the relay): runs every event due by `now` in order, then advances the clock to `now`. */
  runDue(now: number): void {
    while (this.heap.length && this.heap[0]!.time <= now) {
      const ev = this.pop();
      this.events++;
      this.now = ev.time;
      ev.fn(ev.time, ev.arg);
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
    for (const ev of this.heap) ev.pos = -1;
    this.heap.length = 0;
  }

  // Sifts move a hole instead of swapping pairs: one write per level and no temporary arrays (this is per event).
  private push(e: Event): void {
    this.heap.push(e);
    this.siftUp(e, this.heap.length - 1);
  }

  private pop(): Event {
    const top = this.heap[0]!;
    this.remove(0);
    return top;
  }

  /** Takes out the event at `i`: the last one fills the hole and moves whichever way restores the order. */
  private remove(i: number): void {
    const h = this.heap;
    h[i]!.pos = -1;
    const last = h.pop()!;
    if (i === h.length) return;
    if (i > 0 && before(last, h[(i - 1) >> 1]!)) this.siftUp(last, i);
    else this.siftDown(last, i);
  }

  private siftUp(e: Event, i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!before(e, parent)) break;
      h[i] = parent;
      parent.pos = i;
      i = p;
    }
    h[i] = e;
    e.pos = i;
  }

  private siftDown(e: Event, i: number): void {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && before(h[r]!, h[l]!) ? r : l;
      const child = h[m]!;
      if (!before(child, e)) break;
      h[i] = child;
      child.pos = i;
      i = m;
    }
    h[i] = e;
    e.pos = i;
  }
}

function before(a: Event, b: Event): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
