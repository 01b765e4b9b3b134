// One wall-clock timer for a sans-I/O engine's next deadline, for the live fuzz-wire drivers (our engine beside a real peer).

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
