// The OpenSSL-style API scenarios (scenarios/api/) against OpenSSL where a real form exists (issue 11): s_client -quic
// in its default-stream mode as the client, our engine's scripted server in-process behind the real-time relay. The
// peer's steps go through its stdin and are checked on its stdout and the wire; a wrong expectation must fail; what
// OpenSSL has no form for stays unsupported with a reason that says why. A missing peer fails, never skips.
import { test, expect } from '@playwright/test';
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCli } from './helpers/proc.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'crosswire-api-'));
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const result = (out: string, server: string, client: string, scenario: string) => json(join(out, `${server}_${client}`, scenario, 'result.json'));
type Check = { name: string; ok: boolean; detail: string; expected?: string; observed?: string; observable?: boolean };
const check = (r: { checks: Check[] }, name: string) => r.checks.find((c) => c.name === name);

/** openssl must be installed: a missing one fails, naming the install command (.ci/run installs it). */
async function requireOpenssl(): Promise<void> {
  const r = await runCli(['peers', 'list', '--json']);
  expect(r.code).toBe(0);
  const p = (JSON.parse(r.stdout.toString()) as { name: string; installed: boolean }[]).find((x) => x.name === 'openssl');
  if (!p?.installed) throw new Error('peer openssl is not installed: run `npx crosswire peers install openssl` (.ci/run does)');
}

test('the API catalog with openssl: s_client -quic × self passes where it has a form, the rest is unsupported naming why', async () => {
  test.setTimeout(240_000);
  await requireOpenssl();
  const out = join(tmp(), 'r');
  const r = await runCli(['run', 'scenarios/api/', '--client', 'self,openssl', '--server', 'self,openssl', '--out', out], { timeoutMs: 230_000 });
  expect(r.stderr).not.toContain('internal error');

  // The real cells: data both ways on the default stream, FIN both ways, and shutdown from either side.
  for (const scenario of ['conclude-fin', 'default-stream', 'shutdown-plain', 'shutdown-by-server']) {
    const res = result(out, 'self', 'openssl', scenario);
    expect(res.verdict, `${scenario}: ${res.reason}`).toBe('passed');
    expect(res.realTime).toBe(true);
    expect(res.client).toMatchObject({ name: 'openssl', alpn: 'echo' });
    expect(res.client.version).toMatch(/^3\.5\./);
    expect(check(res, 'steps')?.ok).toBe(true);
    expect(check(res, 'completed')?.detail).toMatch(/^openssl client \(s_client -quic\) exited with code 0/);
    // What ran: the s_client command line, the bytes its stdin carried, its stdout, the capture with both key logs.
    expect(readFileSync(res.artifacts.commands, 'utf8')).toMatch(/^client: perl \S+sslio\.pl quic-stream -- \S+openssl s_client -quic .*-adv -alpn echo -connect 127\.0\.0\.1:\d+ /m);
    expect(statSync(res.artifacts.stdin).size).toBe(res.metrics.stdinBytes);
    expect(statSync(res.artifacts.clientStdout).size).toBe(res.metrics.stdoutBytes);
    expect(readFileSync(res.artifacts.pcap).readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(readFileSync(res.artifacts.keylog, 'utf8')).toMatch(/CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} /);
  }

  // conclude-fin: 256 KiB through s_client's stdin, the server read it all and the FIN; the client's write state is
  // listed as not observable (s_client reports no stream states), never passed silently.
  const fin = result(out, 'self', 'openssl', 'conclude-fin');
  expect(fin.metrics.stdinBytes).toBe(256 * 1024);
  const state = check(fin, 'peer-state')!;
  expect(state).toMatchObject({ ok: true, observable: false });
  expect(state.detail).toMatch(/^not observable with s_client -quic/);
  expect(fin.reason).toBe('passed; not observable with s_client -quic: peer-state');

  // default-stream: what the server answered is exactly s_client's stdout, and s_client acknowledged the FIN.
  const ds = result(out, 'self', 'openssl', 'default-stream');
  expect(readFileSync(ds.artifacts.clientStdout, 'utf8')).toBe('and back');
  expect(check(ds, 'peer-read')).toMatchObject({ ok: true, expected: '"and back"', observed: '"and back"' });
  expect(check(ds, 'peer-fin')).toMatchObject({ ok: true, observed: 'FIN acknowledged; 8 bytes on stdout' });

  // Close info from the wire, both directions.
  expect(check(result(out, 'self', 'openssl', 'shutdown-plain'), 'peer-close-info')?.observed).toBe('from the client, application, code 0, reason ""');
  expect(check(result(out, 'self', 'openssl', 'shutdown-by-server'), 'peer-close-info')?.observed).toBe('from the server, application, code 5, reason "done"');

  // Unsupported, each naming exactly why.
  const reason = (server: string, client: string, scenario: string) => {
    const res = result(out, server, client, scenario);
    expect(res.verdict, `${scenario} ${client} → ${server}`).toBe('unsupported');
    return res.reason as string;
  };
  expect(reason('self', 'openssl', 'shutdown-full')).toBe('openssl (client, s_client -quic) cannot perform step shutdown {rapid: false, code: 5, reason: "done"} at scenarios/api/shutdown-full.yaml:12:5: it closes only as its stdin ends: a full shutdown with application code 0 and no reason');
  expect(reason('self', 'openssl', 'shutdown-rapid')).toMatch(/^openssl \(client, s_client -quic\) cannot perform step shutdown \{rapid: true, code: 9/);
  expect(reason('self', 'openssl', 'reset-stop-sending')).toMatch(/^openssl \(client, s_client -quic\) cannot perform step reset \{stream: "s", code: 42\} at scenarios\/api\/reset-stop-sending\.yaml:\d+:\d+: reset is not in the form/);
  expect(reason('self', 'openssl', 'multi-stream-accept')).toBe('openssl (client, s_client -quic) lacks feature multi-stream');
  expect(reason('openssl', 'self', 'conclude-fin')).toMatch(/^openssl \(server\) has no stream-io form: OpenSSL 3\.5's s_server has no QUIC/);
  expect(reason('openssl', 'openssl', 'default-stream')).toMatch(/one side must be self$/);
  // self ↔ self still runs every API scenario in virtual time.
  for (const scenario of ['conclude-fin', 'default-stream', 'shutdown-full', 'shutdown-rapid', 'reset-stop-sending', 'multi-stream-accept', 'multi-stream-reject', 'shutdown-plain', 'shutdown-by-server']) {
    expect(result(out, 'self', 'self', scenario).verdict, scenario).toBe('passed');
  }

  // The normal matrix and report flow.
  expect(r.code).toBe(0);
  for (const f of ['report.html', 'junit.xml', 'summary.json']) expect(existsSync(join(out, f))).toBe(true);
  expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('s_client -quic');
});

test('bytes s_client would read as its own commands reach the server unchanged', async () => {
  test.setTimeout(120_000);
  await requireOpenssl();
  const dir = tmp();
  // s_client's advanced command mode treats "{...}" as commands ("{fin}" concludes, "{quit}" closes): sslio.pl must
  // escape them so they travel as data, and only the scenario's conclude step sends the FIN.
  const data = '{fin}{quit}{{ } {keyup:req}{';
  const text = readFileSync(resolve('scenarios/api/default-stream.yaml'), 'utf8').replace('name: default-stream', 'name: default-stream-braces').replaceAll('"hello over the default stream"', JSON.stringify(data));
  expect(text.split(JSON.stringify(data)).length).toBe(3);
  const file = join(dir, 'default-stream-braces.yaml');
  writeFileSync(file, text);
  const out = join(dir, 'r');
  const r = await runCli(['run', file, '--client', 'openssl', '--server', 'self', '--out', out], { timeoutMs: 110_000 });
  const res = result(out, 'self', 'openssl', 'default-stream-braces');
  expect(res.verdict, res.reason).toBe('passed');
  expect(readFileSync(res.artifacts.stdin, 'utf8')).toBe(data);
  expect(r.code).toBe(0);
});

test('a wrong expectation on the s_client side fails: its stdout is really checked', async () => {
  test.setTimeout(120_000);
  await requireOpenssl();
  const dir = tmp();
  // default-stream, except that the client expects "and fort" where the server sends "and back" (same length).
  const text = readFileSync(resolve('scenarios/api/default-stream.yaml'), 'utf8').replace('name: default-stream', 'name: default-stream-wrong').replace('expect-read: { stream: s, data: "and back" }', 'expect-read: { stream: s, data: "and fort" }');
  expect(text).toContain('"and fort"');
  const file = join(dir, 'default-stream-wrong.yaml');
  writeFileSync(file, text);
  const out = join(dir, 'r');
  const r = await runCli(['run', file, '--client', 'openssl', '--server', 'self', '--out', out], { timeoutMs: 110_000 });
  const res = result(out, 'self', 'openssl', 'default-stream-wrong');
  expect(res.verdict).toBe('failed');
  expect(check(res, 'peer-read')).toMatchObject({ ok: false, expected: '"and fort"', observed: '"and back"' });
  expect(check(res, 'steps')?.detail).toMatch(/default-stream-wrong\.yaml:\d+:\d+ expect-read: openssl client \(s_client -quic\) read "and back", expected "and fort"/);
  expect(r.code).toBe(1);
  expect(r.stdout.toString() + r.stderr).toMatch(/default-stream-wrong\s+failed/);
});
