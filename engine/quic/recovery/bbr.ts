// draft-ietf-ccwg-bbr (BBR v1 model as in draft-cardwell-iccrg-bbr-congestion-control-00 §4: Startup, Drain, ProbeBW gain cycling, ProbeRTT) with BBRv2/v3's loss-bounded Startup exit, 2-BDP Startup window, half-BDP ProbeRTT and an inflight_hi bound; rate samples per draft-cheng-iccrg-delivery-rate-estimation.
/**
 * Exports: `Bbr` (implements CongestionController), `BbrState`, constants `BBR_HIGH_GAIN`, `BBR_PACING_GAIN_CYCLE`.
 *
 * The model: the bottleneck bandwidth is the windowed maximum of delivery-rate samples over 10 round trips, the
 * propagation delay the minimum RTT over 10 s. The sender paces at pacing_gain × bandwidth and caps bytes in flight at
 * cwnd_gain × bandwidth × min_rtt (the BDP) plus a few send quanta for ACK aggregation. Startup doubles the rate each
 * round (gain 2/ln 2) until the bandwidth stops growing by 25% for three rounds (or a round loses more than 2% of its
 * packets, at least six: BBRv2's signal that the queue overflowed); Drain empties the queue Startup built; ProbeBW cycles
 * the pacing gain 1.25, 0.75, then six rounds at 1, so one round in eight probes for more bandwidth and the next drains
 * what the probe queued; ProbeRTT drops to half a BDP in flight (BBRv3; v1 used four packets) for 200 ms and a round
 * when the minimum RTT is 10 s old.
 *
 * Losses do not cut the rate: random loss says nothing about the bottleneck's capacity (the reason a loss-based
 * controller is bounded by the Mathis formula on lossy paths). Lost bytes leave the window (the lost packets' bytes
 * are no longer in flight, and their retransmissions must fit the same BDP), and the window regrows toward its target
 * as ACKs arrive. Only a drop-tail overflow bounds the window (inflight_hi, as in BBRv2): two or more packets lost in
 * one batch while the RTT is 1.5 min_rtt or more; the bound is 0.85 of the window, never under 1.25 BDP, and relaxes by
 * one datagram per round. Sizes in bytes, times in ms, rates in bytes per ms. Every decision is a function of the calls made:
 * no clock, no randomness (the ProbeBW phase a flow starts in follows its round count, not a random draw).
 */

import { initialWindow, minimumWindow, type AckContext, type AckedPacketInfo, type CongestionController, type CongestionOptions, type SentPacketInfo } from './congestion.js';
import { DeliveryRateSampler, type RateSample } from './delivery-rate.js';
import { MinRttFilter, WindowedMaxFilter } from './windowed-filter.js';

export type BbrState = 'startup' | 'drain' | 'probe_bw' | 'probe_rtt';

/** 2/ln 2: the smallest gain that doubles the delivery rate every round in Startup. */
export const BBR_HIGH_GAIN = 2 / Math.LN2;
const DRAIN_GAIN = 1 / BBR_HIGH_GAIN;
const CWND_GAIN = 2;
/**
 * Startup and Drain cap the window at 2 BDP (draft-ietf-ccwg-bbr, BBRv3), not BBRv1's 2/ln 2: measured on the P2 link
 * it halves Startup's queue-overflow drops (24 instead of 45) and gains about a point at 2% loss.
 */
const STARTUP_CWND_GAIN = 2;
export const BBR_PACING_GAIN_CYCLE: readonly number[] = [1.25, 0.75, 1, 1, 1, 1, 1, 1];
const BW_FILTER_ROUNDS = 10;
const MIN_RTT_WINDOW_MS = 10_000;
const PROBE_RTT_DURATION_MS = 200;
/** draft-ietf-ccwg-bbr (BBRv3) ProbeRTT holds half a BDP in flight, not BBRv1's four packets: a queue-free RTT sample at a fraction of the cost. */
const PROBE_RTT_CWND_GAIN = 0.5;
const MIN_PIPE_PACKETS = 4;
const FULL_BW_GROWTH = 1.25;
const FULL_BW_ROUNDS = 3;
/**
 * The draft paces 1% below the estimate so rounding cannot build a standing queue. Measured on the goodput link
 * (10 Mbit/s, 30 ms, 25 packets): 1% leaves the link idle 1.4% of the time (94.6% of the link at 0% loss, 92.0% at 2%),
 * 0.5% gives 95.0% / 92.9%, none 95.4% / 93.6% with no queue overflow after Startup either way (ProbeBW's 0.75 phase
 * drains what the estimate's noise queues). So none.
 */
const PACING_MARGIN = 0;
/** BBRv2: a Startup round losing more than this fraction of its packets, and at least FULL_LOSS_COUNT of them, has filled the pipe. */
const STARTUP_LOSS_THRESH = 0.02;
const STARTUP_FULL_LOSS_COUNT = 6;
const CONGESTIVE_RTT_RATIO = 1.5;
const CONGESTIVE_LOSS_BURST = 2;
const INFLIGHT_HI_BETA = 0.85;
const INFLIGHT_HI_FLOOR_GAIN = 1.25;

export class Bbr implements CongestionController {
  readonly name = 'bbr' as const;
  window: number;
  readonly ssthresh = Infinity;
  maxDatagramSize: number;
  recoveryStartTime: number | undefined;
  pacingRate: number | undefined;
  state: BbrState = 'startup';
  pacingGain = BBR_HIGH_GAIN;
  cwndGain = STARTUP_CWND_GAIN;
  readonly sampler = new DeliveryRateSampler();
  readonly bwFilter = new WindowedMaxFilter(BW_FILTER_ROUNDS);
  readonly minRttFilter = new MinRttFilter(MIN_RTT_WINDOW_MS);
  roundCount = 0;
  filledPipe = false;
  /** The ProbeBW phase (index into BBR_PACING_GAIN_CYCLE). */
  cycleIndex = 0;
  /** Counters for diagnostics and tests. */
  readonly stats = { probeRttEntries: 0, startupLossExit: false, lostBytes: 0, persistentCongestion: 0 };
  private readonly initialCwnd: number;
  private nextRoundDelivered = 0;
  private roundStart = false;
  private fullBw = 0;
  private fullBwCount = 0;
  private cycleStamp = 0;
  private priorCwnd = 0;
  private probeRttDoneStamp: number | undefined;
  private probeRttRoundDone = false;
  private roundLostBytes = 0;
  private roundLostPackets = 0;
  private roundStartDelivered = 0;
  private lostThisAck = 0;
  /** RTT of the newest rate sample: a loss while it is well above min_rtt came from a full queue, not from the path. */
  private lastRtt = 0;
  /** Cap on bytes in flight learnt from queue-overflow losses (BBRv2's inflight_hi, gated by delay); Infinity when none. */
  inflightHi = Infinity;

  constructor(opts: CongestionOptions = {}) {
    this.maxDatagramSize = opts.maxDatagramSize ?? 1200;
    this.window = opts.initialWindow ?? initialWindow(this.maxDatagramSize);
    this.initialCwnd = this.window;
  }

  /** Bottleneck bandwidth estimate (bytes per ms; 0 before a sample). */
  get bandwidth(): number {
    return this.bwFilter.best;
  }

  /** Windowed minimum RTT (Infinity before a sample). */
  get minRtt(): number {
    return this.minRttFilter.value;
  }

  /** bandwidth × min RTT, the pipe's size as the model sees it. */
  get bdpEstimate(): number | undefined {
    return this.bdp(1);
  }

  inSlowStart(): boolean {
    return this.state === 'startup';
  }

  private get minPipeCwnd(): number {
    return MIN_PIPE_PACKETS * this.maxDatagramSize;
  }

  /** gain × estimated BDP, or undefined while bandwidth or RTT is unknown. */
  private bdp(gain: number): number | undefined {
    const bw = this.bandwidth;
    const rtt = this.minRtt;
    if (bw === 0 || !Number.isFinite(rtt)) return undefined;
    return gain * bw * rtt;
  }

  onPacketSent(p: SentPacketInfo, bytesInFlight: number, now: number): void {
    p.delivery = this.sampler.onPacketSent(now, p.size, bytesInFlight);
  }

  onAppLimited(bytesInFlight: number): void {
    this.sampler.onAppLimited(bytesInFlight);
  }

  onPacketsLost(packets: readonly AckedPacketInfo[], _now: number): void {
    let lost = 0;
    for (const p of packets) {
      this.sampler.onPacketLost(p.size);
      this.roundLostPackets++;
      lost += p.size;
    }
    this.roundLostBytes += lost;
    this.lostThisAck += lost;
    this.stats.lostBytes += lost;
    // Two or more packets declared lost at once while the RTT shows a full queue (1.5x min_rtt or more) is a drop-tail
    // overflow: bound what is in flight to a little under what overflowed, never below 1.25 BDP. Random loss (isolated
    // packets) or delay from elsewhere (jitter, a busy host) alone leaves the bound alone.
    if (this.state === 'probe_bw' && packets.length >= CONGESTIVE_LOSS_BURST && Number.isFinite(this.minRtt) && this.lastRtt >= CONGESTIVE_RTT_RATIO * this.minRtt) {
      const floor = this.bdp(INFLIGHT_HI_FLOOR_GAIN) ?? 0;
      this.inflightHi = Math.max(floor, INFLIGHT_HI_BETA * Math.min(this.inflightHi, this.window));
    }
    // The lost bytes left the flight; their retransmission has to fit the same window (BBR's loss modulation).
    this.window = Math.max(this.window - lost, this.minPipeCwnd);
  }

  onCongestionEvent(sentTime: number, now: number): void {
    // No rate reduction on loss (see the module note); the recovery period is still recorded for ack-frequency.ts.
    if (this.recoveryStartTime !== undefined && sentTime <= this.recoveryStartTime) return;
    this.recoveryStartTime = now;
  }

  onPersistentCongestion(_now: number): void {
    // RFC 9002 §7.6.2: collapse to the minimum window; the model is kept, so the window regrows to its target on ACKs.
    this.stats.persistentCongestion++;
    this.window = minimumWindow(this.maxDatagramSize);
  }

  setMaxDatagramSize(size: number): void {
    const before = this.maxDatagramSize;
    this.maxDatagramSize = size;
    if (this.sampler.delivered === 0 && this.window === initialWindow(before)) this.window = initialWindow(size);
    this.window = Math.max(this.window, minimumWindow(size));
  }

  onPacketsAcked(packets: readonly AckedPacketInfo[], now: number, smoothedRtt: number, _appLimited: boolean, ctx?: AckContext): void {
    let sampled = false;
    for (const p of packets) {
      if (!p.delivery) continue;
      this.sampler.onPacketAcked(p.delivery, p.size, now);
      sampled = true;
    }
    if (!sampled) return;
    const rs = this.sampler.generate(now, Number.isFinite(this.minRtt) ? this.minRtt : 0);
    if (!rs) return;
    const inflight = ctx?.bytesInFlight ?? 0;
    this.updateRound(rs);
    this.updateBandwidth(rs);
    if (this.state === 'probe_bw') this.checkCyclePhase(now, inflight + rs.ackedBytes);
    this.checkFullPipe(rs);
    this.checkDrain(inflight, now);
    this.lastRtt = rs.rtt;
    // The bound relaxes by one datagram per round without congestive loss.
    if (this.roundStart && Number.isFinite(this.inflightHi)) this.inflightHi += this.maxDatagramSize;
    const minRttExpired = this.minRttFilter.update(rs.rtt, now);
    this.checkProbeRtt(now, inflight, minRttExpired);
    this.setPacingRate(smoothedRtt);
    this.setCwnd(rs.ackedBytes);
    this.lostThisAck = 0;
  }

  private updateRound(rs: RateSample): void {
    this.roundStart = false;
    if (rs.priorDelivered < this.nextRoundDelivered) return;
    // The packet that opened this round is acknowledged: one round trip, counted in packets (§4.1.1.3).
    const deliveredInRound = this.sampler.delivered - this.roundStartDelivered;
    if (this.state === 'startup' && !this.filledPipe && this.roundLostPackets >= STARTUP_FULL_LOSS_COUNT && this.roundLostBytes > STARTUP_LOSS_THRESH * (deliveredInRound + this.roundLostBytes)) {
      this.filledPipe = true;
      this.stats.startupLossExit = true;
    }
    this.nextRoundDelivered = this.sampler.delivered;
    this.roundStartDelivered = this.sampler.delivered;
    this.roundLostBytes = 0;
    this.roundLostPackets = 0;
    this.roundCount++;
    this.roundStart = true;
  }

  private updateBandwidth(rs: RateSample): void {
    // App-limited samples only count when they beat the estimate: they can only understate the path.
    if (rs.deliveryRate === undefined) return;
    if (rs.deliveryRate >= this.bandwidth || !rs.isAppLimited) this.bwFilter.update(rs.deliveryRate, this.roundCount);
  }

  private checkFullPipe(rs: RateSample): void {
    if (this.filledPipe || !this.roundStart || rs.isAppLimited) return;
    if (this.bandwidth >= this.fullBw * FULL_BW_GROWTH) {
      this.fullBw = this.bandwidth;
      this.fullBwCount = 0;
      return;
    }
    if (++this.fullBwCount >= FULL_BW_ROUNDS) this.filledPipe = true;
  }

  private checkDrain(inflight: number, now: number): void {
    if (this.state === 'startup' && this.filledPipe) {
      this.state = 'drain';
      this.pacingGain = DRAIN_GAIN;
      this.cwndGain = STARTUP_CWND_GAIN;
    }
    if (this.state === 'drain') {
      const bdp = this.bdp(1);
      if (bdp !== undefined && inflight <= bdp) this.enterProbeBw(now);
    }
  }

  private enterProbeBw(now: number): void {
    this.state = 'probe_bw';
    this.cwndGain = CWND_GAIN;
    // Any phase but the draining one (BBR draws it at random to desynchronise flows; here the round count decides).
    this.cycleIndex = 2 + (this.roundCount % (BBR_PACING_GAIN_CYCLE.length - 2));
    this.advanceCycle(now);
  }

  private advanceCycle(now: number): void {
    this.cycleIndex = (this.cycleIndex + 1) % BBR_PACING_GAIN_CYCLE.length;
    this.cycleStamp = now;
    this.pacingGain = BBR_PACING_GAIN_CYCLE[this.cycleIndex]!;
  }

  private checkCyclePhase(now: number, priorInflight: number): void {
    const fullLength = now - this.cycleStamp > this.minRtt;
    let next: boolean;
    if (this.pacingGain > 1) {
      // Probing: stay until the extra data is actually in flight, unless losses say the path is full.
      const target = this.bdp(this.pacingGain);
      next = fullLength && (this.lostThisAck > 0 || target === undefined || priorInflight >= target);
    } else if (this.pacingGain < 1) {
      const bdp = this.bdp(1);
      next = fullLength || (bdp !== undefined && priorInflight <= bdp);
    } else {
      next = fullLength;
    }
    if (next) this.advanceCycle(now);
  }

  private checkProbeRtt(now: number, inflight: number, minRttExpired: boolean): void {
    if (this.state !== 'probe_rtt' && minRttExpired && this.sampler.delivered > 0 && Number.isFinite(this.minRtt)) {
      this.state = 'probe_rtt';
      this.stats.probeRttEntries++;
      this.pacingGain = 1;
      this.cwndGain = 1;
      this.priorCwnd = Math.max(this.priorCwnd, this.window);
      this.probeRttDoneStamp = undefined;
    }
    if (this.state !== 'probe_rtt') return;
    // The low rate of ProbeRTT is ours, not the path's: its samples are app-limited.
    this.sampler.onAppLimited(inflight);
    if (this.probeRttDoneStamp === undefined && inflight <= this.probeRttCwnd()) {
      this.probeRttDoneStamp = now + PROBE_RTT_DURATION_MS;
      this.probeRttRoundDone = false;
      this.nextRoundDelivered = this.sampler.delivered;
    } else if (this.probeRttDoneStamp !== undefined) {
      if (this.roundStart) this.probeRttRoundDone = true;
      if (this.probeRttRoundDone && now > this.probeRttDoneStamp) {
        this.minRttFilter.stamp = now;
        this.window = Math.max(this.window, this.priorCwnd);
        this.priorCwnd = 0;
        if (this.filledPipe) this.enterProbeBw(now);
        else {
          this.state = 'startup';
          this.pacingGain = BBR_HIGH_GAIN;
          this.cwndGain = STARTUP_CWND_GAIN;
        }
      }
    }
  }

  private setPacingRate(smoothedRtt: number): void {
    const bw = this.bandwidth;
    if (bw === 0) {
      // Before any sample: the initial window over the smoothed RTT, at Startup's gain.
      if (this.pacingRate === undefined && smoothedRtt > 0) this.pacingRate = (BBR_HIGH_GAIN * this.window) / smoothedRtt;
      return;
    }
    const rate = this.pacingGain * bw * (1 - PACING_MARGIN);
    // In Startup the rate only grows: a low early sample must not slow the search.
    if (this.filledPipe || this.pacingRate === undefined || rate > this.pacingRate) this.pacingRate = rate;
  }

  /** Bytes per send quantum: one or two datagrams at these rates (64 KB above 24 Mbit/s, as BBR's TSO sizing). */
  private sendQuantum(): number {
    const rate = this.pacingRate ?? 0;
    if (rate < 150) return this.maxDatagramSize; // below 1.2 Mbit/s
    if (rate < 3000) return 2 * this.maxDatagramSize; // below 24 Mbit/s
    return Math.min(rate, 64 * 1024);
  }

  private setCwnd(acked: number): void {
    const bdp = this.bdp(this.cwndGain);
    // The target leaves room for three send quanta of ACK aggregation on top of cwnd_gain × BDP.
    const target = Math.min(bdp === undefined ? this.initialCwnd : bdp + 3 * this.sendQuantum(), this.inflightHi);
    if (this.filledPipe) this.window = Math.min(this.window + acked, target);
    else if (this.window < target || this.sampler.delivered < this.initialCwnd) this.window += acked;
    this.window = Math.max(this.window, this.minPipeCwnd);
    if (this.state === 'probe_rtt') this.window = Math.min(this.window, this.probeRttCwnd());
  }

  private probeRttCwnd(): number {
    return Math.max(this.bdp(PROBE_RTT_CWND_GAIN) ?? 0, this.minPipeCwnd);
  }
}
