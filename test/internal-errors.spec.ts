// Engine bugs reach the run result: an exception the engine catches and turns into INTERNAL_ERROR (QUIC) or an
// internal_error alert (DTLS) makes the verdict 'error' with the stack in an `internal-error` check, and crosswire
// fuzz counts such seeds as their own class.
import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario } from '../interop/scenario/load.js';
import { runScenario } from '../interop/runner/run.js';
import { describeInternalError, internalErrorOutcome } from '../interop/runner/internal-errors.js';
import { crypto as dtlsCrypto, makeLink } from './dtls-harness.js';
import { runCli } from './helpers/proc.js';

const SCENARIO = `name: small-transfer
protocol: quic
description: one small download
requires: [transfer]
client: { alpn: hq-interop, requests: [{ size: 4KiB }] }
expect: { handshakes: 1, files: identical }
`;

test('an exception inside STREAM frame handling (injected) gives verdict error with the stack in an internal-error check', () => {
  const scenario = parseScenario(SCENARIO, 'small-transfer.yaml');
  const healthy = runScenario(scenario, { seed: 1 });
  const r = runScenario(scenario, { seed: 1, faults: ['internal-error-on-stream-data'] });
  const check = r.checks.find((c) => c.name === 'internal-error');
  expect({
    healthy: healthy.verdict,
    healthyCheck: healthy.checks.some((c) => c.name === 'internal-error'),
    verdict: r.verdict,
    reason: r.reason,
    ok: check?.ok,
    // The server receives the first STREAM frame (the request) and closes; the detail carries its stack.
    detailHead: check?.detail.split('\n', 1)[0],
    hasFrames: /\n\s+at .*(connection|frame)/.test(check?.detail ?? ''),
  }).toEqual({
    healthy: 'passed',
    healthyCheck: false,
    verdict: 'error',
    reason: 'internal error in server: injected fault internal-error-on-stream-data: STREAM frame handler failed',
    ok: false,
    detailHead: 'server: injected fault internal-error-on-stream-data: STREAM frame handler failed',
    hasFrames: true,
  });
});

test('internal errors of connections that closed and were let go mid-run are still reported, in connection order', () => {
  // Twenty sequential connections: each server connection fails on its request and closes, and the runner lets a
  // drained connection go (issue 15) long before the run ends; its internal error must survive that.
  const scenario = parseScenario(SCENARIO.replace('alpn: hq-interop,', 'alpn: hq-interop, connections: 20,').replace('handshakes: 1', 'handshakes: 20'), 'twenty.yaml');
  const r = runScenario(scenario, { seed: 2, faults: ['internal-error-on-stream-data'] });
  const detail = r.checks.find((c) => c.name === 'internal-error')?.detail ?? '';
  expect({ verdict: r.verdict, errors: detail.match(/server: injected fault internal-error-on-stream-data/g)?.length }).toEqual({ verdict: 'error', errors: 20 });
});

test('internal errors: message plus the first stack frames; the first role with one names the verdict', () => {
  const e = new Error('boom');
  const text = describeInternalError(e, 3);
  const lines = text.split('\n');
  const none = internalErrorOutcome({ connections: [] }, { connections: [] });
  const both = internalErrorOutcome({ connections: [], internalErrors: ['a\n    at f (x.ts:1:1)'] }, { connections: [], internalErrors: ['b'] });
  expect({ first: lines[0], frames: lines.length, allFrames: lines.slice(1).every((l) => /^\s+at /.test(l)), none, both }).toEqual({
    first: 'boom',
    frames: 4,
    allFrames: true,
    none: undefined,
    both: {
      verdict: { verdict: 'error', reason: 'internal error in client: a' },
      check: { name: 'internal-error', ok: false, detail: 'client: a\n    at f (x.ts:1:1)\nserver: b' },
    },
  });
});

test('DTLS: an engine exception during the handshake closes with internal_error and keeps the original error as the cause', () => {
  const bug = new TypeError('engine bug in record protection');
  // The client's AEAD throws something that is no protocol error once the handshake derives its keys.
  const link = makeLink({ client: { crypto: { ...dtlsCrypto, aead: () => { throw bug; } } } });
  link.run(() => link.client.closed);
  const closed = link.clientEvents.find((e) => e.type === 'closed');
  const error = closed?.type === 'closed' ? closed.error : undefined;
  expect({ alert: error?.alert, cause: error?.cause === bug, text: describeInternalError(error?.cause).split('\n', 1)[0] }).toEqual({ alert: 80, cause: true, text: 'engine bug in record protection' });
});

test('fuzz counts internal errors apart from failures and saves their result with the stack', async () => {
  test.setTimeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'crosswire-internal-'));
  const file = join(dir, 'small-transfer.yaml');
  writeFileSync(file, SCENARIO);
  const r = await runCli(['fuzz', file, '--seeds', '2', '--out', join(dir, 'out'), '--inject-fault', 'internal-error-on-stream-data'], { timeoutMs: 240_000 });
  const stdout = r.stdout.toString();
  const saved = JSON.parse(readFileSync(join(dir, 'out', 'small-transfer', 'seed-1', 'result.json'), 'utf8'));
  expect({
    code: r.code,
    summary: /: (\d+) passed, (\d+) failed, (\d+) internal errors?/.exec(stdout)?.slice(1),
    verdict: saved.verdict,
    reason: saved.reason,
    stack: /\n\s+at /.test(saved.checks.find((c: { name: string }) => c.name === 'internal-error')?.detail ?? ''),
  }).toEqual({
    code: 1,
    summary: ['0', '0', '2'],
    verdict: 'error',
    reason: 'internal error in server: injected fault internal-error-on-stream-data: STREAM frame handler failed',
    stack: true,
  });
});
