// simulate(): one client and one server endpoint over the simulated network in virtual time — the entry point the
// scenario runner calls. Returns the trace and its hash, the on-wire checks and metrics, and how the run ended.

import type { Address, DatagramEndpoint } from '../engine/endpoint.js';
import { EndpointDriver } from './driver.js';
import { Network, type NetworkConfig } from './network.js';
import { standardObservers, type KeyPhaseKeys, type WireObserver } from './observers/index.js';
import { Scheduler, type RunOutcome } from './scheduler.js';
import type { TraceEntry } from './trace.js';
import type { Check, FateDecision, FateOverrides } from './types.js';
import { CaptureRecorder } from './capture/recorder.js';

export const DEFAULT_CLIENT_ADDRESS: Address = { host: '10.0.0.1', port: 50000 };
export const DEFAULT_SERVER_ADDRESS: Address = { host: '10.0.0.2', port: 443 };

export interface SimulateOptions {
  /** Lets the classifier skip guessing; observers for the other protocol are left out. */
  protocol?: 'quic' | 'dtls';
  clientAddress?: Address;
  serverAddress?: Address;
  fateOverrides?: FateOverrides;
  /** Stop as soon as this returns true (checked between events), e.g. "the client finished its downloads". */
  until?: (now: number) => boolean;
  maxEvents?: number;
  maxSimulatedMs?: number;
  /** Extra observers; the standard ones for the protocol always run. */
  observers?: WireObserver[];
  keyPhaseKeys?: KeyPhaseKeys;
  /** Keep every datagram for a pcapng capture (see result.capture). */
  capture?: boolean;
}

export type SimulationOutcome = RunOutcome | 'crashed';

export interface SimulationResult {
  /** 'idle': nothing left to do; 'stopped': `until` held; 'hung': a limit was hit; 'crashed': an endpoint threw. */
  outcome: SimulationOutcome;
  reason?: string;
  trace: TraceEntry[];
  /** The trace as text (trace.txt, one line per datagram), built on first access; traceHash fingerprints the same fields. */
  readonly traceText: string;
  traceHash: string;
  checks: Check[];
  metrics: Record<string, unknown>;
  decisions: FateDecision[];
  simulatedMs: number;
  events: number;
  /** Present when options.capture: feed to writePcapng() with the run's key log. */
  capture?: CaptureRecorder;
}

export function simulate(
  client: DatagramEndpoint,
  server: DatagramEndpoint,
  network: NetworkConfig,
  seed: string | number,
  options: SimulateOptions = {},
): SimulationResult {
  const clientAddr = options.clientAddress ?? DEFAULT_CLIENT_ADDRESS;
  const serverAddr = options.serverAddress ?? DEFAULT_SERVER_ADDRESS;
  const sched = new Scheduler({ maxEvents: options.maxEvents, maxTime: options.maxSimulatedMs });
  const capture = options.capture ? new CaptureRecorder() : undefined;
  const observers: WireObserver[] = [...standardObservers(options.protocol, options.keyPhaseKeys), ...(options.observers ?? []), ...(capture ? [capture] : [])];

  let clientDriver: EndpointDriver | undefined;
  let serverDriver: EndpointDriver | undefined;
  const net = new Network(network, {
    seed,
    protocol: options.protocol,
    fateOverrides: options.fateOverrides,
    observers,
    schedule: (at, fn, arg) => sched.at(at, fn, arg),
    // One client, one server: whatever the server addresses reaches the client (the NAT maps every binding back).
    deliver: (direction, data, from, to, now) =>
      direction === 'to-server' ? serverDriver!.receive(data, from, serverAddr, now) : clientDriver!.receive(data, from, to, now),
  });
  clientDriver = new EndpointDriver('client', client, sched, (d, now) => net.send('to-server', d.data, d.from ?? clientAddr, d.to, now));
  serverDriver = new EndpointDriver('server', server, sched, (d, now) => net.send('to-client', d.data, d.from ?? serverAddr, d.to, now));

  sched.at(0, (now) => {
    clientDriver!.flush(now);
    serverDriver!.flush(now);
  });
  let outcome: SimulationOutcome = sched.run(options.until ? () => options.until!(sched.now) : undefined);
  const crash = clientDriver.crash ?? serverDriver.crash;
  if (crash) outcome = 'crashed';
  else if (sched.hungReason) outcome = 'hung';

  const checks = observers.flatMap((o) => o.checks());
  const metrics: Record<string, unknown> = { datagrams: { 'to-server': net.sentCount('to-server'), 'to-client': net.sentCount('to-client') }, fates: net.trace.fates() };
  for (const o of observers) Object.assign(metrics, o.metrics?.() ?? {});
  let traceText: string | undefined;
  const result: SimulationResult = {
    outcome,
    trace: net.trace.entries,
    // Formatting a line per datagram is the costly part of a long run's trace; only runs that write it pay for it.
    get traceText() {
      return (traceText ??= net.trace.text());
    },
    traceHash: net.trace.hash(),
    checks,
    metrics,
    decisions: net.decisions,
    simulatedMs: sched.now,
    events: sched.events,
  };
  if (crash ?? sched.hungReason) result.reason = crash ?? sched.hungReason;
  if (capture) result.capture = capture;
  return result;
}
