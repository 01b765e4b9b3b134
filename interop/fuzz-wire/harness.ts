// Wire-fuzzing harness: replays a recorded genuine conversation into a fresh engine (the role under test) in virtual
// time, with one mutated datagram or stream chunk at a chosen handshake stage, and judges what the engine did:
// exceptions (thrown, or caught inside and turned into internal errors), hangs (timers that stop advancing, output
// storms, timers still armed long after input stopped), amplification toward unvalidated addresses (RFC 9000 §8, the
// 3× limit; RFC 6347 §4.2.1 for the cookie exchange) and per-peer state created for addresses never validated.

import type { Address } from '../../engine/endpoint.js';
import { addressKey } from '../../engine/endpoint.js';
import { Draw, inputName } from './rng.js';
import { blindMutation } from './mutate.js';

export type Protocol = 'quic' | 'dtls' | 'tls';
export type Role = 'client' | 'server';

/** The engine under test behind one shape, whatever its protocol. */
export interface Endpoint {
  receive(data: Uint8Array, from: Address, now: number): void;
  poll(now: number): { data: Uint8Array; to: Address }[];
  nextTimeout(): number | undefined;
  handleTimeout(now: number): void;
  /** Exceptions the engine caught itself and turned into INTERNAL_ERROR / internal_error: engine bugs all the same. */
  internalErrors(): unknown[];
  /** Per-peer state held for `a` (servers); 0 for clients. */
  statesFor(a: Address): number;
  /**
   * Whether the engine holds `a` as validated (QUIC: a connection whose path to `a` is validated; DTLS: an association,
   * which exists only after the cookie). Bytes to a validated address are not limited; the state check catches an
   * engine that validates what it should not. Absent: only the recorded validating datagram validates (validatedAt).
   */
  validated?(a: Address): boolean;
  /** False once the engine can do nothing more (closed, failed): later inputs of a batch get a fresh one. */
  alive(): boolean;
}

/** A genuine datagram (or stream chunk) from the peer, and when it reached the engine in the recorded run. */
export interface Delivery {
  readonly at: number;
  readonly data: Uint8Array;
  /** What it carries, for findings and the stage histogram ("Initial", "ClientHello+cookie", ...). */
  readonly label: string;
}

export interface Target {
  readonly protocol: Protocol;
  readonly role: Role;
  /** The genuine peer's address, and where the engine under test lives. */
  readonly peer: Address;
  readonly local: Address;
  readonly deliveries: readonly Delivery[];
  /**
   * Server role over datagrams: the delivery whose arrival validates the peer's address (QUIC: the first Handshake
   * packet, RFC 9000 §8.1; DTLS: the ClientHello with the cookie). Bytes toward the peer count against the 3× limit
   * until then. Undefined: nothing to validate (clients, TCP).
   */
  readonly validatedAt?: number;
  /** Datagram protocol (spoofed sources make sense; TCP delivers in order from one peer). */
  readonly datagram: boolean;
  create(): Endpoint;
  /** One structure-aware edit of `data` (a copy of delivery `stage`, maybe already edited); undefined when none applies. */
  fieldMutation(r: Draw, stage: number, data: Uint8Array): { name: string; out: Uint8Array } | undefined;
  /** Whether per-peer state for a spoofed source is legitimate given what it sent (QUIC: a genuine Initial, copied). */
  stateAllowed(injected: Uint8Array): boolean;
}

/** One mutated datagram (or stream chunk): replayable from these fields alone (findings store them). */
export interface InputSpec {
  /** Campaign index of the input (for the replay command). */
  readonly index: number;
  /** Sent from an address other than the peer's (server role over datagrams); each input gets its own. */
  readonly spoofed: boolean;
  readonly data: Uint8Array;
  readonly mutations: readonly string[];
}

/**
 * Inputs that share one engine instance: all arrive at one handshake stage, just before the genuine datagram of that
 * stage (inject) or instead of it (replace); then the genuine conversation carries on. Sharing an instance spreads the
 * cost of replaying the handshake prefix over the batch; an instance that dies (closed, failed) is replaced by a fresh
 * one replayed to the same stage, so later inputs still meet a live engine. A batch of one isolates an input fully.
 */
export interface BatchSpec {
  readonly stage: number;
  readonly mode: 'replace' | 'inject';
  readonly inputs: readonly InputSpec[];
}

export type FindingKind = 'exception' | 'hang' | 'amplification' | 'state' | 'memory';

export interface Finding {
  readonly kind: FindingKind;
  /** Same key = same failure: exception signature, hang kind, amplification, state. */
  readonly key: string;
  readonly detail: string;
  /** Index within the batch of the input it is attributed to (the batch's last one for hangs found at the end). */
  readonly input: number;
  readonly amplification?: number;
}

export interface Outcome {
  readonly findings: Finding[];
  /** Largest bytes-sent / bytes-received toward an unvalidated address (0 when nothing was sent to one). */
  readonly amplification: number;
  readonly datagramsOut: number;
  readonly bytesOut: number;
  readonly virtualMs: number;
  /** Engine instances made (1 + restarts after an input killed one). */
  readonly instances: number;
}

/** The genuine peer's address, and the spoofed source of input `i` of a batch (one per input, so ratios are per input). */
export function spoofedAddress(i: number): Address {
  return { host: `203.0.113.${1 + (i % 250)}`, port: 1024 + i };
}
/** Virtual time the engine gets after the last input to finish on its own (idle timeouts, handshake timeouts). */
export const HORIZON_MS = 30 * 60_000;
/** Timer firings at one instant before the engine counts as spinning (a timer that never advances). */
const MAX_SAME_INSTANT = 1000;
/** Timer firings in total, and datagrams out, before a batch counts as a storm (no end in sight). */
const MAX_TIMER_FIRINGS = 100_000;
const MAX_OUTPUTS = 20_000;
/** RFC 9000 §8.1: at most three times the bytes received from an unvalidated address. */
export const AMPLIFICATION_LIMIT = 3;

/** Stage and mode of batch `b`. */
export function makeBatch(target: Target, seed: number, b: number, size: number, total: number): BatchSpec {
  const r = new Draw(`${inputName(seed, target.protocol, target.role, b)}/batch`);
  const stage = r.int(target.deliveries.length);
  const mode = r.chance(0.5) ? 'replace' : 'inject';
  const inputs: InputSpec[] = [];
  for (let i = b * size; i < Math.min(total, (b + 1) * size); i++) inputs.push(makeInput(target, seed, i, stage));
  return { stage, mode, inputs };
}

/** Draws input `index` of the campaign `seed` at `stage`: a source and one to three stacked mutations. */
export function makeInput(target: Target, seed: number, index: number, stage: number): InputSpec {
  const r = new Draw(inputName(seed, target.protocol, target.role, index));
  const d = target.deliveries;
  const spoofed = target.datagram && target.role === 'server' && r.chance(0.2);
  let data = d[stage]!.data;
  const mutations: string[] = [];
  const n = r.pick([1, 1, 1, 2, 3]);
  for (let i = 0; i < n; i++) {
    const field = r.chance(0.5) ? target.fieldMutation(r, stage, data) : undefined;
    const m = field ?? blindMutation(r, data, d[r.int(d.length)]!.data);
    mutations.push(m.name);
    data = m.out;
  }
  return { index, spoofed, data, mutations };
}

class Hang extends Error {}

/** One stack frame inside the project: where the signature of an exception points. */
function firstFrame(stack: string): string {
  for (const line of stack.split('\n')) {
    const m = /\((.*?):(\d+):\d+\)$/.exec(line.trim()) ?? /at (.*?):(\d+):\d+$/.exec(line.trim());
    if (m && !m[1]!.includes('node:') && !m[1]!.includes('fuzz-wire/')) return `${m[1]!.replace(/^.*?\/(engine|interop|simulator)\//, '$1/')}:${m[2]}`;
  }
  return '?';
}

/** Message with numbers blanked plus the throwing frame: two inputs with the same signature hit the same bug. */
export function errorSignature(e: unknown): { signature: string; message: string; stack: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  // Engines wrap the original error (DTLS keeps it as cause); the cause's stack points at the bug.
  const root = err.cause instanceof Error ? err.cause : err;
  const stack = root.stack ?? String(root);
  const message = root.message;
  return { signature: `${message.replace(/\d+/g, 'N').slice(0, 120)} @ ${firstFrame(stack)}`, message, stack };
}

/** Runs one batch against fresh engines and judges what they did. */
export function runBatch(target: Target, batch: BatchSpec): Outcome {
  const findings: Finding[] = [];
  const acct = new Map<string, { rx: number; tx: number; input: number }>();
  const peerKey = addressKey(target.peer);
  const spoofIndex = new Map<string, number>();
  batch.inputs.forEach((x, i) => x.spoofed && spoofIndex.set(addressKey(spoofedAddress(i)), i));
  let now = 0;
  let ep!: Endpoint;
  let instances = 0;
  let peerValidated = true;
  let datagramsOut = 0;
  let bytesOut = 0;
  let firings = 0;
  let current = 0; // the input exceptions are attributed to
  const seenErrors = new Set<unknown>();

  const isValidated = (a: Address, key: string): boolean => {
    if (key === peerKey && peerValidated) return true;
    let v = false;
    if (ep.validated) call('validated', () => (v = ep.validated!(a)));
    return v;
  };
  const account = (key: string) => {
    let a = acct.get(key);
    if (!a) acct.set(key, (a = { rx: 0, tx: 0, input: spoofIndex.get(key) ?? current }));
    return a;
  };
  const exception = (what: string, e: unknown) => {
    const sig = errorSignature(e);
    const key = `exception:${what ? `${what}: ` : ''}${sig.signature}`;
    if (!findings.some((f) => f.key === key)) findings.push({ kind: 'exception', key, detail: `${sig.message}\n${sig.stack}`, input: current });
  };
  const call = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof Hang) throw e;
      exception(what, e);
    }
  };
  /** Errors the engine caught itself, each reported once, against the input that was being handled. */
  const collectInternal = () => {
    let errs: unknown[] = [];
    call('internalErrors', () => (errs = ep.internalErrors()));
    for (const e of errs) {
      if (seenErrors.has(e)) continue;
      seenErrors.add(e);
      exception('', e);
    }
  };
  const flush = () => {
    let out: { data: Uint8Array; to: Address }[] = [];
    call('poll', () => (out = ep.poll(now)));
    for (const o of out) {
      datagramsOut++;
      bytesOut += o.data.length;
      const key = addressKey(o.to);
      // Only bytes toward an address not yet validated count (afterwards there is no limit).
      if (!isValidated(o.to, key)) account(key).tx += o.data.length;
    }
    if (datagramsOut > MAX_OUTPUTS) throw new Hang(`output storm: more than ${MAX_OUTPUTS} datagrams or chunks sent`);
  };
  const advanceTo = (t: number) => {
    let same = 0;
    let last = -1;
    for (;;) {
      let nt: number | undefined;
      call('nextTimeout', () => (nt = ep.nextTimeout()));
      if (nt === undefined || nt > t) return;
      now = Math.max(now, nt);
      same = now === last ? same + 1 : 0;
      last = now;
      if (same > MAX_SAME_INSTANT) throw new Hang(`timer does not advance: fired ${MAX_SAME_INSTANT} times at one instant`);
      if (++firings > MAX_TIMER_FIRINGS) throw new Hang(`more than ${MAX_TIMER_FIRINGS} timer firings`);
      call('handleTimeout', () => ep.handleTimeout(now));
      flush();
    }
  };
  const deliver = (data: Uint8Array, from: Address) => {
    const key = addressKey(from);
    if (!isValidated(from, key)) account(key).rx += data.length;
    call('receive', () => ep.receive(data, from, now));
    flush();
    collectInternal();
  };
  const ds = target.deliveries;
  /** A fresh engine replayed up to (not including) the batch's stage. */
  const fresh = () => {
    ep = target.create();
    instances++;
    now = 0;
    peerValidated = target.validatedAt === undefined;
    flush(); // a client's first flight
    for (let j = 0; j < batch.stage; j++) {
      advanceTo(ds[j]!.at);
      now = Math.max(now, ds[j]!.at);
      // The datagram that proves the address: what answers it is no longer limited (RFC 9000 §8.1, RFC 6347 §4.2.1).
      if (j === target.validatedAt) peerValidated = true;
      deliver(ds[j]!.data, target.peer);
    }
    advanceTo(ds[batch.stage]!.at);
    now = Math.max(now, ds[batch.stage]!.at);
  };

  try {
    fresh();
    batch.inputs.forEach((x, i) => {
      current = i;
      let dead = false;
      call('alive', () => (dead = !ep.alive()));
      // An earlier input killed this engine: later ones meet a fresh one at the same stage.
      if (dead && i > 0) fresh();
      deliver(x.data, x.spoofed ? spoofedAddress(i) : target.peer);
    });
    current = Math.max(0, batch.inputs.length - 1);
    for (let j = batch.stage; j < ds.length; j++) {
      const d = ds[j]!;
      if (j > batch.stage) {
        advanceTo(d.at);
        now = Math.max(now, d.at);
      }
      if (j === batch.stage && batch.mode === 'replace') continue;
      if (j === target.validatedAt) peerValidated = true;
      deliver(d.data, target.peer);
    }
    const end = now + HORIZON_MS;
    advanceTo(end);
    let left: number | undefined;
    call('nextTimeout', () => (left = ep.nextTimeout()));
    // Still armed long after the last input: the engine never gives up (no progress in virtual time).
    if (left !== undefined) findings.push({ kind: 'hang', key: 'hang:timer armed after the horizon', detail: `a timer is still armed ${HORIZON_MS / 60_000} min of virtual time after the last input`, input: current });
  } catch (e) {
    if (!(e instanceof Hang)) throw e;
    findings.push({ kind: 'hang', key: `hang:${e.message.replace(/\d+/g, 'N')}`, detail: e.message, input: current });
  }
  collectInternal();

  let amplification = 0;
  for (const [key, a] of acct) {
    if (key === peerKey && target.validatedAt === undefined) continue;
    if (!a.tx) continue;
    const ratio = a.rx ? a.tx / a.rx : Infinity;
    amplification = Math.max(amplification, ratio);
    if (ratio > AMPLIFICATION_LIMIT && !findings.some((f) => f.kind === 'amplification')) {
      const who = spoofIndex.has(key) ? 'a spoofed source' : 'the peer';
      findings.push({ kind: 'amplification', key: 'amplification', detail: `${ratio.toFixed(2)}×: ${a.tx} bytes sent to ${who} before validation, ${a.rx} received from it`, input: a.input, amplification: ratio });
    }
  }
  batch.inputs.forEach((x, i) => {
    if (!x.spoofed) return;
    let n = 0;
    call('statesFor', () => (n = ep.statesFor(spoofedAddress(i))));
    if (n > 0 && !target.stateAllowed(x.data) && !findings.some((f) => f.kind === 'state'))
      findings.push({ kind: 'state', key: 'state', detail: `${n} per-peer state(s) held for a spoofed source that never validated`, input: i });
  });
  return { findings, amplification, datagramsOut, bytesOut, virtualMs: now, instances };
}

