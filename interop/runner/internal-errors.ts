// Engine bugs surfaced in results: an exception the engine caught and turned into INTERNAL_ERROR (QUIC) or an
// internal_error alert (DTLS) reaches result.json with its stack, as verdict 'error' and an `internal-error` check.

import type { Check, RunResult } from '../result.js';
import type { RoleReport } from '../peers/types.js';

/** Stack frames kept per error: enough to point at the failing function and its callers. */
const STACK_FRAMES = 8;

/** `message` then the first stack frames, one per line (what RoleReport.internalErrors holds). */
export function describeInternalError(e: unknown, frames = STACK_FRAMES): string {
  if (!(e instanceof Error)) return String(e);
  const at = (e.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).slice(0, frames);
  return [e.message, ...at].join('\n');
}

/** RoleReport's optional field, present only when there is something to report. */
export function internalErrorsField(errors: readonly unknown[]): { internalErrors?: string[] } {
  return errors.length ? { internalErrors: errors.map((e) => describeInternalError(e)) } : {};
}

/**
 * Verdict 'error' naming the first role with an internal error, and the `internal-error` check carrying every stack;
 * undefined when neither role reported one.
 */
export function internalErrorOutcome(client: RoleReport, server: RoleReport): { verdict: Pick<RunResult, 'verdict' | 'reason'>; check: Check } | undefined {
  const all = [
    ...(client.internalErrors ?? []).map((e) => ({ role: 'client', e })),
    ...(server.internalErrors ?? []).map((e) => ({ role: 'server', e })),
  ];
  const first = all[0];
  if (!first) return undefined;
  const message = first.e.split('\n', 1)[0]!;
  return {
    verdict: { verdict: 'error', reason: `internal error in ${first.role}: ${message}` },
    check: { name: 'internal-error', ok: false, detail: all.map(({ role, e }) => `${role}: ${e}`).join('\n') },
  };
}
