// draft-ietf-ccwg-bbr §5.5.4/§5.5.5 filters: BBR's windowed max bandwidth (over packet-timed rounds) and its min RTT (over time).
/**
 * Exports: `WindowedMaxFilter`: the maximum of the samples taken within the last `window` units of a monotonic clock
 * (BBR uses round trips), kept as Kathleen Nichols' three best samples (best, second, third best in later sub-windows)
 * so an old maximum expires to the next best without storing every sample. `MinRttFilter`: the minimum RTT seen in
 * the last `windowMs`, with the time it was seen (BBR's min_rtt and min_rtt_stamp).
 */

interface Entry {
  value: number;
  time: number;
}

export class WindowedMaxFilter {
  private readonly est: [Entry, Entry, Entry] = [
    { value: 0, time: 0 },
    { value: 0, time: 0 },
    { value: 0, time: 0 },
  ];

  constructor(readonly window: number) {}

  /** The current windowed maximum (0 before any sample). */
  get best(): number {
    return this.est[0].value;
  }

  reset(value: number, time: number): void {
    for (const e of this.est) {
      e.value = value;
      e.time = time;
    }
  }

  /** Adds a sample taken at `time` (which never decreases) and returns the new maximum. */
  update(value: number, time: number): number {
    const [b, s, t] = this.est;
    // A new maximum, or everything expired, or nothing yet: the sample is best for the whole window.
    if (value >= b.value || time - t.time > this.window) {
      this.reset(value, time);
      return value;
    }
    if (value >= s.value) {
      s.value = t.value = value;
      s.time = t.time = time;
    } else if (value >= t.value) {
      t.value = value;
      t.time = time;
    }
    // Expire the best when it left the window; the later sub-window bests move up.
    if (time - b.time > this.window) {
      this.est[0] = s;
      this.est[1] = t;
      this.est[2] = { value, time };
      const [b2, s2] = this.est;
      if (time - b2.time > this.window) {
        this.est[0] = s2;
        this.est[1] = this.est[2];
        this.est[2] = { value, time };
      }
      return this.est[0].value;
    }
    // The best is old: let the second best come from the window's second quarter onward, the third from its second half.
    if (s.time === b.time && time - b.time > this.window / 4) {
      s.value = t.value = value;
      s.time = t.time = time;
    } else if (t.time === s.time && time - b.time > this.window / 2) {
      t.value = value;
      t.time = time;
    }
    return b.value;
  }
}

export class MinRttFilter {
  /** Minimum RTT in the window (Infinity before any sample). */
  value = Infinity;
  /** When `value` was seen. */
  stamp = 0;

  constructor(readonly windowMs: number) {}

  /** Whether the minimum is older than the window at `now` (BBR then probes for a fresh one); never before a sample. */
  expired(now: number): boolean {
    return Number.isFinite(this.value) && now - this.stamp > this.windowMs;
  }

  /** A new RTT sample; returns whether the stored minimum had expired before it. */
  update(rtt: number, now: number): boolean {
    const expired = this.expired(now);
    if (rtt >= 0 && (rtt <= this.value || expired)) {
      this.value = rtt;
      this.stamp = now;
    }
    return expired;
  }
}
