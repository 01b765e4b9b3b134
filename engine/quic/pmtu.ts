// RFC 9000 §14.2–14.4 and RFC 8899 §4–§5 (datagram packetization layer PMTU discovery for QUIC): probe search, black-hole detection.
/**
 * Exports: `PmtuDiscovery`, the sans-I/O search for the largest datagram a path carries. The connection asks
 * `probeDue(now)` for the size of the next PING+PADDING probe, reports it with `onProbeSent`, and feeds back the fate of
 * probes (`onProbeAcked`, `onProbeLost`) and of ordinary packets (`onAcked`, `onLost`, for black-hole detection).
 * `current` is the confirmed size every full packet uses. Constants: `BASE_PLPMTU` (1200), `MAX_PROBES` (3),
 * `BLACK_HOLE_THRESHOLD`, `RAISE_INTERVAL_MS`, `DEFAULT_MAX_DATAGRAM_SIZE` (1472).
 */

/** QUIC's smallest permitted maximum datagram size: BASE_PLPMTU and MIN_PLPMTU at once (RFC 9000 §14.4). */
export const BASE_PLPMTU = 1200;
/** A 1500-byte Ethernet MTU less 20 bytes of IPv4 and 8 of UDP header: the largest size searched by default. */
export const DEFAULT_MAX_DATAGRAM_SIZE = 1472;
/** Attempts at one size before it is taken as unsupported (RFC 8899 §5.1.2 MAX_PROBES). */
export const MAX_PROBES = 3;
/** The search stops once the unsupported size is this close to the confirmed one: a few bytes are not worth more probes. */
export const SEARCH_GRANULARITY = 16;
/** Full-size packets lost while only smaller ones get through, before the size is declared a black hole. */
export const BLACK_HOLE_THRESHOLD = 3;
/** After a finished search, look again for a larger size this much later (RFC 8899 §5.1.1 PMTU_RAISE_TIMER, 600 s). */
export const RAISE_INTERVAL_MS = 600_000;

export type PmtuState = 'disabled' | 'idle' | 'searching' | 'complete';

/** A change of the size in use, shaped as qlog's connectivity:mtu_updated (quic-events-04 §5.1.9). */
export interface MtuUpdate {
  readonly old: number;
  readonly new: number;
  /** The search has finished (until the raise timer starts another one). */
  readonly done: boolean;
  readonly reason: 'probe-acknowledged' | 'search-ended' | 'black-hole' | 'path-changed';
}

interface Fate {
  readonly size: number;
  readonly timeSent: number;
  readonly pmtuProbe?: boolean;
}

export class PmtuDiscovery {
  /** Confirmed maximum datagram size: what full packets use (BASE_PLPMTU until a probe of more is acknowledged). */
  current = BASE_PLPMTU;
  state: PmtuState;
  /** Largest size the search may try: the smaller of our limit and the peer's max_udp_payload_size. */
  private ceiling = BASE_PLPMTU;
  /** Just below the smallest size known not to get through (the ceiling while none is known). */
  private high = BASE_PLPMTU;
  private probeSize = BASE_PLPMTU;
  private attempts = 0;
  private probeInFlight: number | undefined;
  private raiseAt: number | undefined;
  // Black-hole detection: send times of the newest acknowledged full-size and base-size packets, and the full-size
  // packets lost since the last full-size one got through.
  private largeAckedSentAt = -Infinity;
  private smallAckedSentAt = -Infinity;
  private suspectLosses = 0;
  private firstSuspectSentAt = Infinity;

  /** `maxSize` is our own limit (config maxDatagramSize); `enabled` false keeps every packet at BASE_PLPMTU. */
  constructor(readonly maxSize: number = DEFAULT_MAX_DATAGRAM_SIZE, enabled = true) {
    this.state = enabled && maxSize > BASE_PLPMTU ? 'idle' : 'disabled';
  }

  /** The handshake is confirmed and the path validated: search up to min(maxSize, the peer's max_udp_payload_size). */
  start(peerMaxUdpPayloadSize: number): void {
    if (this.state !== 'idle') return;
    this.ceiling = Math.min(this.maxSize, peerMaxUdpPayloadSize);
    if (this.ceiling <= this.current) {
      this.state = 'complete';
      return;
    }
    this.beginSearch();
  }

  private beginSearch(): void {
    this.state = 'searching';
    this.high = this.ceiling;
    // Most paths carry a full Ethernet frame: try the largest size first, and bisect only when it fails.
    this.probeSize = this.ceiling;
    this.attempts = 0;
    this.probeInFlight = undefined;
  }

  /** Size of the probe to send now, or undefined (not searching, or a probe is still outstanding). */
  probeDue(now: number): number | undefined {
    if (this.state === 'complete' && this.raiseAt !== undefined && now >= this.raiseAt && this.current < this.ceiling) {
      this.raiseAt = undefined;
      this.beginSearch();
    }
    if (this.state !== 'searching' || this.probeInFlight !== undefined) return undefined;
    return this.probeSize;
  }

  onProbeSent(pn: number): void {
    this.probeInFlight = pn;
  }

  /** A probe of `size` bytes was acknowledged: the path carries it. Returns the update of `current`. */
  onProbeAcked(pn: number, size: number, now: number): MtuUpdate | undefined {
    if (pn !== this.probeInFlight) return undefined; // from a search a black hole or a path change abandoned
    this.probeInFlight = undefined;
    this.attempts = 0;
    const old = this.current;
    if (size > this.current) this.current = size;
    this.resetBlackHole();
    this.nextProbe(now);
    return this.current !== old ? { old, new: this.current, done: this.state === 'complete', reason: 'probe-acknowledged' } : undefined;
  }

  /** A probe was declared lost: the size may be too big (or the probe unlucky: it gets MAX_PROBES tries). */
  onProbeLost(pn: number, size: number, now: number): MtuUpdate | undefined {
    if (pn !== this.probeInFlight) return undefined;
    this.probeInFlight = undefined;
    if (++this.attempts < MAX_PROBES) return undefined;
    this.attempts = 0;
    this.high = Math.min(this.high, size - 1);
    const wasSearching = this.state === 'searching';
    this.nextProbe(now);
    // The size in use does not change, but the search may have just ended.
    return wasSearching && this.state === 'complete' ? { old: this.current, new: this.current, done: true, reason: 'search-ended' } : undefined;
  }

  /** Bisects between the confirmed size and the smallest failing one, until they are within SEARCH_GRANULARITY. */
  private nextProbe(now: number): void {
    if (this.high - this.current < SEARCH_GRANULARITY) {
      this.state = 'complete';
      this.raiseAt = now + RAISE_INTERVAL_MS;
      return;
    }
    this.probeSize = Math.floor((this.current + this.high + 1) / 2);
  }

  /** Ordinary packets acknowledged: a full-size one shows the size in use still gets through. */
  onAcked(packets: readonly Fate[]): void {
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      if (p.pmtuProbe) continue;
      if (p.size > BASE_PLPMTU) {
        if (p.timeSent > this.largeAckedSentAt) this.largeAckedSentAt = p.timeSent;
        this.resetBlackHole();
      } else if (p.timeSent > this.smallAckedSentAt) {
        this.smallAckedSentAt = p.timeSent;
      }
    }
  }

  /**
   * Ordinary packets declared lost (after onAcked for the same ACK). Full-size packets lost with no later full-size one
   * acknowledged, while a smaller packet sent after them was, mean the path stopped carrying the size (RFC 8899 §4.3):
   * fall back to BASE_PLPMTU and search again. Congestion alone does not look like this: later full-size packets arrive.
   */
  onLost(packets: readonly Fate[]): MtuUpdate | undefined {
    if (this.current <= BASE_PLPMTU) return undefined;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      if (p.pmtuProbe || p.size <= BASE_PLPMTU || p.timeSent <= this.largeAckedSentAt) continue;
      this.suspectLosses++;
      if (p.timeSent < this.firstSuspectSentAt) this.firstSuspectSentAt = p.timeSent;
    }
    if (this.suspectLosses < BLACK_HOLE_THRESHOLD || this.smallAckedSentAt <= this.firstSuspectSentAt) return undefined;
    return this.fallBack('black-hole');
  }

  /** The peer moved to a new path (RFC 9000 §9.4): its PMTU is unknown, start from the base again. */
  onPathChanged(): MtuUpdate | undefined {
    if (this.state === 'disabled') return undefined;
    const update = this.current > BASE_PLPMTU ? this.fallBack('path-changed') : undefined;
    if (this.state !== 'idle' && this.ceiling > BASE_PLPMTU) this.beginSearch();
    return update;
  }

  private fallBack(reason: MtuUpdate['reason']): MtuUpdate {
    const old = this.current;
    this.current = BASE_PLPMTU;
    this.resetBlackHole();
    this.largeAckedSentAt = -Infinity;
    this.beginSearch();
    return { old, new: this.current, done: false, reason };
  }

  private resetBlackHole(): void {
    this.suspectLosses = 0;
    this.firstSuspectSentAt = Infinity;
  }
}
