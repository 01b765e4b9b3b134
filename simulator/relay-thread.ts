// The real-time relay (relay.ts) on its own worker thread, an I/O adapter like relay.ts itself. The runner's main
// thread also writes captures, decrypts them for the wire checks and runs other cells; on one event loop each of those
// stalled a running relay for up to a second (goodput cells saw timers 0.8–0.95 s late), so the relay that times the
// datagrams gets an event loop of its own. Its results come back in one message when it stops.

import { Worker } from 'node:worker_threads';
import type { Address } from '../engine/endpoint.js';
import type { CapturedDatagram } from './capture/recorder.js';
import type { Relay, RelayOptions } from './relay.js';
import type { TraceEntry } from './trace.js';
import type { Check, FateDecision } from './types.js';

/** What can cross to the thread: everything but observer objects and key callbacks. */
export type ThreadRelayOptions = Omit<RelayOptions, 'observers' | 'keyPhaseKeys'>;

/** The relay's final state, sent back once by relay-worker.ts after the sockets closed. */
export interface RelaySnapshot {
  trace: TraceEntry[];
  traceText: string;
  traceHash: string;
  checks: Check[];
  metrics: Record<string, unknown>;
  decisions: FateDecision[];
  clients: number;
  capture?: CapturedDatagram[];
}

export type RelayWorkerMessage = { type: 'ready'; address: Address } | { type: 'stopped'; snapshot: RelaySnapshot } | { type: 'failed'; message: string };

/**
 * Starts a relay on a worker thread. It has the Relay interface, but its trace, checks, metrics and capture exist only
 * after stop() (the runner reads them once the cell has ended); reading them earlier throws.
 */
export function startRelayThread(opts: ThreadRelayOptions): Promise<Relay> {
  const worker = new Worker(new URL('./relay-worker.js', import.meta.url), { workerData: opts });
  return new Promise((resolveStart, rejectStart) => {
    let snapshot: RelaySnapshot | undefined;
    let stopping: Promise<void> | undefined;
    let settleStop: { resolve: () => void; reject: (e: Error) => void } | undefined;
    let started = false;
    const fail = (e: Error) => {
      if (!started) rejectStart(e);
      else settleStop?.reject(e);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!snapshot) fail(new Error(`relay thread ended (exit ${code}) before it reported its results`));
    });
    worker.on('message', (m: RelayWorkerMessage) => {
      if (m.type === 'failed') {
        fail(new Error(m.message));
        void worker.terminate();
      } else if (m.type === 'stopped') {
        snapshot = m.snapshot;
        settleStop?.resolve();
        void worker.terminate();
      } else {
        started = true;
        resolveStart(relay(m.address));
      }
    });
    const final = (what: string): RelaySnapshot => {
      if (!snapshot) throw new Error(`the relay's ${what} is available once it has stopped (it runs on its own thread)`);
      return snapshot;
    };
    const relay = (address: Address): Relay => ({
      address,
      port: address.port,
      trace: () => final('trace').trace,
      traceText: () => final('trace').traceText,
      traceHash: () => final('trace').traceHash,
      checks: () => final('checks').checks,
      metrics: () => final('metrics').metrics,
      decisions: () => final('decisions').decisions,
      clients: () => final('client count').clients,
      get capture() {
        return opts.capture ? { datagrams: final('capture').capture ?? [] } : undefined;
      },
      stop() {
        stopping ??= new Promise<void>((resolve, reject) => {
          settleStop = { resolve, reject };
          worker.postMessage('stop');
        });
        return stopping;
      },
    });
  });
}
