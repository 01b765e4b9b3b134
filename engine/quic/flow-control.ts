// Flow control (RFC 9000 §4): credit the peer gives us (MAX_DATA, MAX_STREAM_DATA, MAX_STREAMS) and credit we give the peer, with window auto-tuning.

/** Credit granted by the peer: how far we may send. */
export class SendCredit {
  private usedBytes = 0;
  /** The limit at which we last reported being blocked, so each limit is reported once (RFC 9000 §4.1). */
  private blockedReportedAt = -1;

  constructor(private maxValue: number) {}

  get limit(): number {
    return this.maxValue;
  }

  get used(): number {
    return this.usedBytes;
  }

  available(): number {
    return Math.max(0, this.maxValue - this.usedBytes);
  }

  consume(n: number): void {
    this.usedBytes += n;
  }

  /** MAX_DATA / MAX_STREAM_DATA / MAX_STREAMS never shrink the limit; smaller values are ignored (RFC 9000 §4.1). */
  raise(limit: number): boolean {
    if (limit <= this.maxValue) return false;
    this.maxValue = limit;
    return true;
  }

  /** True once per limit value when sending is held back by it: time for a *_BLOCKED frame. */
  takeBlocked(): boolean {
    if (this.available() > 0 || this.blockedReportedAt === this.maxValue) return false;
    this.blockedReportedAt = this.maxValue;
    return true;
  }

  /** A lost *_BLOCKED frame should be resent only while we are still blocked at the same limit. */
  stillBlockedAt(limit: number): boolean {
    return this.maxValue === limit && this.available() === 0;
  }
}

export interface ReceiveWindowOptions {
  initial: number;
  /** Auto-tuning ceiling; the window doubles up to this when the peer uses it up faster than 2 RTTs. */
  max?: number;
}

/**
 * Credit we grant the peer for bytes (a stream or the whole connection). The advertised limit moves forward as the
 * application consumes data; when updates come in faster than two round trips, the window doubles (as quinn and
 * Chromium do), so a fast sender on a long path is not throttled by a small initial window.
 */
export class ReceiveWindow {
  private advertised: number;
  private window: number;
  private readonly maxWindow: number;
  private highest = 0;
  private consumed = 0;
  private lastUpdateAt: number | undefined;
  private pendingUpdate = false;

  constructor(opts: ReceiveWindowOptions) {
    this.advertised = opts.initial;
    this.window = opts.initial;
    this.maxWindow = Math.max(opts.initial, opts.max ?? opts.initial);
  }

  get limit(): number {
    return this.advertised;
  }

  get windowSize(): number {
    return this.window;
  }

  get highestReceived(): number {
    return this.highest;
  }

  /** Records that bytes up to `end` arrived. Returns false when that exceeds the credit (FLOW_CONTROL_ERROR). */
  onReceived(end: number): boolean {
    if (end > this.advertised) return false;
    if (end > this.highest) this.highest = end;
    return true;
  }

  /** The application consumed bytes (connection level: the sum over streams; stream level: the read offset). */
  onConsumed(total: number, now: number, rtt: number): void {
    if (total <= this.consumed) return;
    this.consumed = total;
    // Update once half the window has been consumed, so the peer rarely stalls waiting for credit.
    if (this.advertised - this.consumed >= this.window / 2) return;
    if (this.lastUpdateAt !== undefined && now - this.lastUpdateAt < 2 * rtt && this.window < this.maxWindow) {
      this.window = Math.min(this.maxWindow, this.window * 2);
    }
    this.lastUpdateAt = now;
    this.advertised = this.consumed + this.window;
    this.pendingUpdate = true;
  }

  /** The new limit to advertise in MAX_DATA/MAX_STREAM_DATA, once. */
  takeUpdate(): number | undefined {
    if (!this.pendingUpdate) return undefined;
    this.pendingUpdate = false;
    return this.advertised;
  }

  /** A lost MAX_* frame is resent with the current limit (which may have moved on since). */
  requeueUpdate(): void {
    this.pendingUpdate = true;
  }

  /** Credit is also returned when a stream ends without being read (reset or stop): count it as consumed. */
  hasPendingUpdate(): boolean {
    return this.pendingUpdate;
  }
}

/**
 * Stream-count credit we grant the peer for one direction (RFC 9000 §4.6). As peer-initiated streams finish, the
 * limit rises so that `concurrent` streams may stay open at once.
 */
export class StreamCountWindow {
  private advertised: number;
  private closed = 0;
  private pendingUpdate = false;

  constructor(private readonly concurrent: number) {
    this.advertised = concurrent;
  }

  get limit(): number {
    return this.advertised;
  }

  /** Whether a peer stream with this zero-based index is within the limit. */
  allows(index: number): boolean {
    return index < this.advertised;
  }

  onStreamClosed(): void {
    this.closed++;
    const target = this.closed + this.concurrent;
    // Batch updates: send MAX_STREAMS when a quarter of the credit has been returned.
    if (target - this.advertised >= Math.max(1, Math.floor(this.concurrent / 4))) {
      this.advertised = target;
      this.pendingUpdate = true;
    }
  }

  takeUpdate(): number | undefined {
    if (!this.pendingUpdate) return undefined;
    this.pendingUpdate = false;
    return this.advertised;
  }

  requeueUpdate(): void {
    this.pendingUpdate = true;
  }
}
