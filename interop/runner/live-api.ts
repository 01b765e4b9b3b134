// Step-scripted API scenarios (scenarios/api/, the OpenSSL-style stream API of DESIGN.md §3 over RFC 9000 §2-3 streams
// and §10 closes) against a real peer's stream-io form (interop/peers/README.md): our side runs the script interpreter
// (script.ts) in real time on a UDP socket behind the real-time relay; the peer's side is a process that writes what
// the peer's steps write on the default stream (stdin frames), concludes it, closes at stdin EOF, and shows what it read
// (stdout). The peer's steps are performed through stdin and checked on its stdout, its exit status and the wire; what
// the form cannot observe is listed as not observable, never passed silently. Steps it cannot perform make the cell
// unsupported, naming the step.

import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startRelay, type Relay } from '../../simulator/relay.js';
import { writePcapng } from '../../simulator/capture/pcapng.js';
import { UdpEndpointDriver } from '../../engine/io/udp.js';
import { loadCertificateChain, loadPrivateKey, pemDecode } from '../../engine/tls/x509/pem.js';
import { QlogBuffer, serializeQlog } from '../../engine/quic/qlog.js';
import type { Check } from '../result.js';
import type { LocatedStep, Scenario, Side } from '../scenario/model.js';
import { expandStatic, roleFeatures, type PeerDeclaration, type StreamIoForm } from '../peers/declaration.js';
import { selfPeer, SELF_FEATURES } from '../peers/self.js';
import type { PeerContext } from '../peers/types.js';
import { GeneratedFiles } from './content.js';
import { networkConfig, overridesFromList } from './network.js';
import { writeRunCerts } from './live-pki.js';
import { describeExit, EndpointProcess, type ExitStatus } from './processes.js';
import { pattern, ScriptedSide, StepScript, type ExternalSide, type StepResult } from './script.js';
import { analyzeQuicWire, datagramsFromCapture, type WireClose } from './wire-analysis.js';
import { internalErrorOutcome } from './internal-errors.js';
import type { LiveOptions } from './live.js';
import type { RunRecord } from './run.js';

type CommandForm = Exclude<StreamIoForm, { unavailable: string }>;

const te = new TextEncoder();
const td = new TextDecoder();
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const at = (s: Scenario, st: LocatedStep) => `${s.file}:${st.line}:${st.col}`;

/** A step as a scenario author wrote it, for reasons: `shutdown {rapid: false, code: 5, reason: "done"}`. */
function showStep(st: LocatedStep): string {
  // The side is in the reason already ("openssl (client, …)").
  const { op, line: _l, col: _c, side: _s, ...rest } = st as LocatedStep & Record<string, unknown>;
  const args = Object.entries(rest).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  return args.length ? `${op} {${args.join(', ')}}` : op;
}

/** Which side a real peer plays in an API cell with self on the other side, or why the pair cannot run it. */
function peerSideOf(client: PeerDeclaration, server: PeerDeclaration): { side: Side; peer: PeerDeclaration } | string {
  const selfClient = client.name === 'self';
  const selfServer = server.name === 'self';
  if (selfClient === selfServer) return "step-scripted API scenarios drive our engine's OpenSSL-style API on one side and a peer's stream-io form on the other: one side must be self";
  return selfServer ? { side: 'client', peer: client } : { side: 'server', peer: server };
}

/** Why a step the peer's side must perform or observe is beyond its stream-io form, or undefined when every step fits. */
function unperformable(s: Scenario, side: Side, form: CommandForm): { step: LocatedStep; why: string } | undefined {
  let stream: string | undefined;
  let closed = false;
  for (const st of s.steps) {
    if (!('side' in st)) continue;
    const mine = st.side === side;
    const why = ((): string | undefined => {
      switch (st.op) {
        case 'open-stream':
          if (!mine) return `a stream the ${st.side} opens: the form carries only the default stream, which the client opens`;
          if (side !== 'client') return 'a server-initiated stream: the default stream is the client\'s';
          if (stream !== undefined) return 'a second stream: the default-stream mode carries one stream';
          if (st.type !== 'bidi') return 'a unidirectional stream: the default stream is bidirectional';
          stream = st.name;
          return undefined;
        case 'accept-stream':
          return mine ? 'accepting a stream: the form has only the default stream it opened' : undefined;
        case 'write':
        case 'conclude':
          if (!mine) return undefined;
          if (closed) return `${st.op} after its shutdown`;
          return st.stream === stream ? undefined : `stream ${st.stream} is not the default stream`;
        case 'reset':
        case 'stop-sending':
        case 'key-update':
          return mine ? `${st.op} is not in the form: its stdin writes and concludes the default stream, nothing else` : undefined;
        case 'expect-reset':
        case 'expect-stop-sending':
          return mine ? `the form shows no ${st.op === 'expect-reset' ? 'RESET_STREAM' : 'STOP_SENDING'} it receives` : undefined;
        case 'shutdown': {
          if (!mine) return undefined;
          const d = form.shutdown;
          if (!d) return 'the form declares no shutdown';
          closed = true;
          if (d.rapid === st.rapid && d.code === st.code && d.reason === st.reason) return undefined;
          return `it closes only as its stdin ends: a ${d.rapid ? 'rapid' : 'full'} shutdown with application code ${d.code} and ${d.reason ? `reason ${JSON.stringify(d.reason)}` : 'no reason'}`;
        }
        default:
          return undefined;
      }
    })();
    if (why) return { step: st, why };
  }
  return undefined;
}

/**
 * Why this pair cannot run a step-scripted scenario (verdict unsupported), or undefined. Our side is the in-process engine
 * (its features are SELF_FEATURES); the peer's side needs a stream-io form that can perform and observe its steps.
 */
export function apiUnsupported(s: Scenario, client: PeerDeclaration, server: PeerDeclaration): string | undefined {
  const ps = peerSideOf(client, server);
  if (typeof ps === 'string') return ps;
  const { side, peer } = ps;
  const role = peer.roles[side];
  if (!role) return `${peer.name} cannot act as ${side}`;
  if (!role.protocols.includes(s.protocol)) return `${peer.name} (${side}) does not speak ${s.protocol}`;
  const form = role.streamIo;
  if (!form) return `${peer.name} (${side}) declares no stream-io form, so it cannot run the OpenSSL-style API steps`;
  if ('unavailable' in form) return `${peer.name} (${side}) has no stream-io form: ${form.unavailable}`;
  if (side === 'server') return `${peer.name} (server) declares a stream-io form, but crosswire runs stream-io forms as clients only (our engine as a real-time scripted client is not built yet)`;
  const selfMissing = s.requires.filter((f) => !(SELF_FEATURES as readonly string[]).includes(f));
  if (selfMissing.length) return `self lacks feature${selfMissing.length > 1 ? 's' : ''} ${selfMissing.join(', ')}`;
  const missing = s.requires.filter((f) => !roleFeatures(role).includes(f));
  if (missing.length) return `${peer.name} (${side}, ${form.label}) lacks feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
  const alpn = s.client.alpn ?? 'hq-interop';
  if (!role.alpns.includes(alpn)) return `no common ALPN (${peer.name} ${side}: ${role.alpns.join(', ') || 'none'}; scenario: ${alpn})`;
  const bad = unperformable(s, side, form);
  if (bad) return `${peer.name} (${side}, ${form.label}) cannot perform step ${showStep(bad.step)} at ${at(s, bad.step)}: ${bad.why}`;
  return undefined;
}

/** A check of one of the peer's steps, made as the step runs or after the run (from stdout and the wire). */
interface PeerCheck {
  check: Check;
  /** Completed after the run, when stdout and the wire are final. */
  finalize?: (stdout: Uint8Array, closes: WireClose[] | undefined) => void;
}

/** The peer's side of the script: its steps go to the form's stdin, its expectations read the form's stdout. */
class StreamIoSide implements ExternalSide {
  readonly checks: PeerCheck[] = [];
  stdinBytes = 0;
  readonly stdinLog: string[] = [];
  private readonly written: Uint8Array[] = [];
  private streamWritten = 0;
  /** stdout bytes the peer's expect-read steps have consumed (its read offset on the default stream). */
  private readOffset = 0;
  private proc: EndpointProcess | undefined;
  private stdinEnded = false;

  constructor(
    readonly side: Side,
    private readonly peerName: string,
    private readonly form: CommandForm,
    private readonly scenario: Scenario,
    private readonly stdoutPath: string,
    private readonly script: () => StepScript,
  ) {}

  attach(p: EndpointProcess): void {
    this.proc = p;
  }

  private get who(): string {
    return `${this.peerName} ${this.side} (${this.form.label})`;
  }

  private frame(type: 'D' | 'F', payload: Uint8Array): void {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(payload.length, 1);
    this.proc?.child.stdin?.write(Buffer.concat([head, payload]));
  }

  /** stdin EOF: the form closes the connection (as its `shutdown` declares) and exits. */
  endStdin(): void {
    if (this.stdinEnded) return;
    this.stdinEnded = true;
    this.proc?.child.stdin?.end();
  }

  get ended(): boolean {
    return this.stdinEnded;
  }

  /** Everything written on the default stream, in order (the stdin.bin artifact). */
  streamBytes(): Uint8Array {
    return Buffer.concat(this.written);
  }

  private stdout(): Uint8Array {
    try {
      return readFileSync(this.stdoutPath);
    } catch {
      return new Uint8Array(0);
    }
  }

  private stdoutSize(): number {
    try {
      return statSync(this.stdoutPath).size;
    } catch {
      return 0;
    }
  }

  private gone(): string | undefined {
    const st = this.proc?.status;
    return st ? `${this.who} ${describeExit(st)}` : undefined;
  }

  exec(st: LocatedStep, _now: number): StepResult | { blocked: string } {
    const where = `line ${st.line}`;
    switch (st.op) {
      case 'open-stream':
        // The form's first write opens the default stream.
        return 'done';
      case 'write': {
        const bytes = st.data !== undefined ? te.encode(st.data) : pattern(this.streamWritten, st.size ?? 0);
        this.streamWritten += bytes.length;
        this.written.push(bytes);
        this.stdinBytes += bytes.length;
        this.stdinLog.push(`D ${bytes.length} bytes (${where})`);
        this.frame('D', bytes);
        return 'done';
      }
      case 'conclude':
        this.stdinLog.push(`F: conclude, FIN (${where})`);
        this.frame('F', new Uint8Array(0));
        return 'done';
      case 'shutdown':
        this.stdinLog.push(`EOF: shutdown (${where})`);
        this.endStdin();
        return 'done';
      case 'expect-read': {
        const want = st.data !== undefined ? te.encode(st.data) : pattern(this.readOffset, st.size ?? 0);
        const label = st.data !== undefined ? JSON.stringify(st.data) : `${want.length} bytes`;
        if (this.stdoutSize() < this.readOffset + want.length) {
          const dead = this.gone();
          if (dead) {
            const have = Math.max(0, this.stdoutSize() - this.readOffset);
            this.checks.push({ check: { name: 'peer-read', ok: false, detail: `${dead} with ${have} of ${want.length} expected bytes on stdout (${where})`, expected: label, observed: `${have} bytes` } });
            return { fail: `${dead} with ${have} of ${want.length} bytes on its stdout` };
          }
          return { blocked: `${want.length} bytes on the stdout of ${this.who} (have ${Math.max(0, this.stdoutSize() - this.readOffset)})` };
        }
        const got = this.stdout().subarray(this.readOffset, this.readOffset + want.length);
        const offset = this.readOffset;
        this.readOffset += want.length;
        const bad = got.findIndex((b, i) => b !== want[i]);
        const observed = st.data !== undefined ? JSON.stringify(td.decode(got)) : bad < 0 ? `${got.length} bytes, identical` : `${got.length} bytes, byte ${offset + bad} differs`;
        this.checks.push({ check: { name: 'peer-read', ok: bad < 0, detail: `${this.who} stdout at offset ${offset}: ${bad < 0 ? 'as expected' : 'differs'} (${where})`, expected: label, observed } });
        return bad < 0 ? 'done' : { fail: `${this.who} read ${observed}, expected ${label}` };
      }
      case 'expect-fin': {
        // s_client and the like print nothing at the end of a stream: the FIN's delivery is what the wire shows (our
        // send side finishes once every byte and the FIN are acknowledged), and stdout must hold nothing after it.
        const ours = this.side === 'client' ? 'server' : 'client';
        if (!this.script().sendFinished(ours, st.stream)) {
          const dead = this.gone();
          if (dead) {
            this.checks.push({ check: { name: 'peer-fin', ok: false, detail: `${dead} before it acknowledged the FIN on ${st.stream} (${where})` } });
            return { fail: `${dead} before it acknowledged the FIN` };
          }
          return { blocked: `${this.who} to acknowledge the FIN on ${st.stream}` };
        }
        const upTo = this.readOffset;
        const c: Check = { name: 'peer-fin', ok: false, detail: '', expected: `FIN acknowledged after ${upTo} bytes, nothing more on stdout`, observed: '' };
        this.checks.push({
          check: c,
          finalize: (stdout) => {
            c.ok = stdout.length === upTo;
            c.observed = `FIN acknowledged; ${stdout.length} bytes on stdout`;
            c.detail = c.ok
              ? `${this.who} acknowledged every byte and the FIN (our send side finished) and wrote exactly the ${upTo} bytes before it to stdout; it prints nothing at the end of a stream, so its own reading of the FIN is seen only through that acknowledgement (${where})`
              : `${this.who} wrote ${stdout.length - upTo} byte(s) to stdout after the ${upTo} expected before the FIN (${where})`;
          },
        });
        return 'done';
      }
      case 'expect-state': {
        const what = [st.write !== undefined ? `write ${st.write}` : '', st.read !== undefined ? `read ${st.read}` : ''].filter(Boolean).join(', ');
        this.checks.push({ check: { name: 'peer-state', ok: true, observable: false, detail: `not observable with ${this.form.label}: it reports no stream states (the step expects ${what} on ${st.stream}; ${where})` } });
        return 'done';
      }
      case 'expect-close-info': {
        // Read from the wire after the run: the CONNECTION_CLOSE frames, decoded with the key logs.
        const initiator = st.remote === undefined ? undefined : st.remote ? (this.side === 'client' ? 'server' : 'client') : this.side;
        const want = [initiator ? `from the ${initiator}` : '', st.transport === undefined ? '' : st.transport ? 'transport' : 'application', st.code !== undefined ? `code ${st.code}` : '', st.reason !== undefined ? `reason ${JSON.stringify(st.reason)}` : ''].filter(Boolean).join(', ');
        const c: Check = { name: 'peer-close-info', ok: false, detail: '', expected: want, observed: '' };
        this.checks.push({
          check: c,
          finalize: (_stdout, closes) => {
            if (!closes) {
              c.ok = true;
              c.observable = false;
              c.detail = `not observable: no CONNECTION_CLOSE could be read from the capture (no 1-RTT keys in the key logs; ${where})`;
              return;
            }
            const f = closes.find((x) => !initiator || x.by === initiator) ?? closes[0];
            c.observed = f ? `from the ${f.by}, ${f.application ? 'application' : 'transport'}, code ${f.errorCode}, reason ${JSON.stringify(f.reason)}` : 'no CONNECTION_CLOSE on the wire';
            c.ok = !!f && (!initiator || f.by === initiator) && (st.code === undefined || BigInt(f.errorCode) === BigInt(st.code)) && (st.reason === undefined || f.reason === st.reason) && (st.transport === undefined || f.application !== st.transport);
            c.detail = `the ${this.side}'s close info, as the CONNECTION_CLOSE on the wire shows it (decoded with the key logs; ${this.form.label} prints no close info; ${where})`;
          },
        });
        return 'done';
      }
      default:
        // apiUnsupported() let no other step of this side through.
        return { fail: `${st.op} cannot run on ${this.who}` };
    }
  }
}

/** One API cell: our engine's scripted server in-process behind the relay, the peer's stream-io form as the client. */
export async function runLiveApi(s: Scenario, client: PeerDeclaration, server: PeerDeclaration, opts: LiveOptions, base: RunRecord): Promise<RunRecord> {
  const started = performance.now();
  const ps = peerSideOf(client, server);
  if (typeof ps === 'string' || ps.side !== 'client') return { ...base, verdict: 'unsupported', reason: typeof ps === 'string' ? ps : 'stream-io forms run as clients only' };
  if (opts.runtime === 'docker') return { ...base, verdict: 'unsupported', reason: 'API scenarios run stream-io forms natively only (not with --runtime docker)' };
  const peer = ps.peer;
  const form = peer.roles.client!.streamIo as CommandForm;
  const alpn = s.client.alpn ?? 'hq-interop';
  base.client.alpn = alpn;
  base.server.alpn = alpn;

  // The run folder, fresh each time: results of two runs never mix.
  for (const d of ['logs', 'certs', 'qlog']) rmSync(join(opts.outDir, d), { recursive: true, force: true });
  const mk = (...p: string[]) => {
    const d = resolve(join(opts.outDir, ...p));
    mkdirSync(d, { recursive: true });
    return d;
  };
  const logs = { client: mk('logs', 'client'), server: mk('logs', 'server') };
  let certs;
  try {
    certs = writeRunCerts(mk('certs'));
  } catch (e) {
    return { ...base, verdict: 'error', reason: (e as Error).message };
  }
  const clientKeylog = join(logs.client, 'keys.log');
  const stdoutPath = join(logs.client, 'stdout.log');
  const stderrPath = join(logs.client, 'stderr.log');

  // Our side: the self peer's scripted server, with the run's certificate (valid now: the peer checks it on the real clock).
  const chain = loadCertificateChain(readFileSync(certs.cert, 'utf8'));
  const key = loadPrivateKey(readFileSync(certs.key, 'utf8'));
  const serverKeyLines: string[] = [];
  const qlogs = new Map<string, QlogBuffer>();
  const ctx: PeerContext = {
    scenario: s,
    seed: opts.seed,
    role: 'server',
    clientAddress: { host: '127.0.0.1', port: 0 },
    serverAddress: { host: '127.0.0.1', port: 0 },
    pki: { ca: pemDecode(readFileSync(certs.ca, 'utf8'))[0]!, leaf: () => ({ chain, key }) },
    files: new GeneratedFiles([]),
    paths: [],
    keyLog: (l) => serverKeyLines.push(l),
    qlogFor: (label) => {
      const b = new QlogBuffer();
      qlogs.set(label, b);
      return b.sink;
    },
    faults: [],
    scripted: true,
  };
  let script!: StepScript;
  const ext = new StreamIoSide('client', peer.name, form, s, stdoutPath, () => script);
  script = new StepScript(s, ext);
  const serverRole = selfPeer.start(ctx);
  const scripted = new ScriptedSide(serverRole.endpoint, 'server', () => serverRole.scriptConnection?.(), script);
  let driver: UdpEndpointDriver;
  try {
    driver = await UdpEndpointDriver.open(scripted, '127.0.0.1', 0);
  } catch (e) {
    return { ...base, verdict: 'error', reason: `could not bind our server: ${(e as Error).message}` };
  }
  let relay: Relay;
  try {
    relay = await startRelay({ target: driver.local, network: networkConfig(s.network), seed: opts.seed, protocol: 'quic', fateOverrides: overridesFromList(opts.fates), capture: true });
  } catch (e) {
    await driver.close();
    return { ...base, verdict: 'error', reason: `could not start the relay: ${(e as Error).message}` };
  }

  // The peer's side: its stream-io command, pointed at the relay.
  const target = `127.0.0.1:${relay.port}`;
  const values: Record<string, string> = { host: '127.0.0.1', port: String(relay.port), server: target, alpn, ca: certs.ca, keylog: clientKeylog, logs: logs.client, protocol: s.protocol };
  const fill = (a: string) => expandStatic(a, peer).replace(/\{([a-z]+)\}/g, (m, k: string) => values[k] ?? m);
  const argv = form.command.map(fill);
  const env: Record<string, string> = { ROLE: 'client', PROTOCOL: s.protocol, ALPN: alpn, HOST: '127.0.0.1', PORT: String(relay.port), SERVER: target, CA: certs.ca, SSLKEYLOGFILE: clientKeylog, LOGS: logs.client };
  for (const [k, v] of Object.entries(form.env)) env[k] = fill(v);
  const proc = new EndpointProcess(`${peer.name} client`, argv, { env, cwd: logs.client, stdout: stdoutPath, stderr: stderrPath, stdin: 'pipe' });
  ext.attach(proc);
  driver.kick();

  // Until the script is done (or fails), the form has been gone a while, the time is up, or Ctrl-C.
  const limitMs = Math.min(s.timeoutMs, 180_000);
  const t0 = performance.now();
  let outcome = 'finished' as 'finished' | 'timeout' | 'gone' | 'abort';
  let goneAt: number | undefined;
  await new Promise<void>((res) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (proc.status && goneAt === undefined) goneAt = now;
      if (script.finished) outcome = 'finished';
      else if (opts.signal?.aborted) outcome = 'abort';
      else if (now - t0 > limitMs) outcome = 'timeout';
      // A form that exited cannot move the script on; a moment for our side to see its close, then stop.
      else if (goneAt !== undefined && now - goneAt > 3000) outcome = 'gone';
      else return;
      clearInterval(timer);
      res();
    }, 20);
  });
  const scriptMs = Math.round(performance.now() - t0);
  // The script's end is the form's: stdin EOF makes it close the connection and exit.
  const stdinEndedByScript = ext.ended;
  ext.endStdin();
  // Interrupted: no waiting for a graceful close (proc.stop() below ends the group).
  let grace: NodeJS.Timeout | undefined;
  const graceOver = new Promise<undefined>((r) => {
    grace = setTimeout(() => r(undefined), 10_000);
  });
  const status: ExitStatus | undefined = outcome === 'abort' ? undefined : await Promise.race([proc.exited, graceOver]);
  clearTimeout(grace);
  const exitedAlone = !!status;
  // Let the last datagrams (CONNECTION_CLOSE, final ACKs) cross the relay before it closes.
  await new Promise((r) => setTimeout(r, 300));
  await proc.stop();
  await driver.close();
  await relay.stop();

  // Artifacts: the command lines, what went in (stdin.bin) and came out (stdout.log), capture with both key logs, trace.
  const write = (name: string, data: string | Uint8Array) => {
    const p = join(opts.outDir, name);
    writeFileSync(p, data);
    return resolve(p);
  };
  const keylog = (existsSync(clientKeylog) ? readFileSync(clientKeylog, 'utf8') : '') + serverKeyLines.map((l) => l + '\n').join('');
  writeFileSync(join(logs.server, 'keys.log'), serverKeyLines.map((l) => l + '\n').join(''));
  const stdout = existsSync(stdoutPath) ? readFileSync(stdoutPath) : new Uint8Array(0);
  const commands = [
    `client: ${argv.join(' ')}`,
    `server: self in-process: the scenario's server steps on our engine (OpenSSL-style API), UDP 127.0.0.1:${driver.local.port}`,
    `relay: 127.0.0.1:${relay.port} → 127.0.0.1:${driver.local.port}`,
    `stdin: ${ext.stdinBytes} bytes on the default stream (stdin.bin); frames: ${[...ext.stdinLog, ...(stdinEndedByScript ? [] : ['EOF: when the script ended'])].join('; ')}`,
    `stdout: ${stdout.length} bytes (logs/client/stdout.log)`,
  ];
  const r: RunRecord = { ...base, artifacts: { qlog: [] } };
  r.artifacts.commands = write('commands.txt', commands.join('\n') + '\n');
  r.artifacts.stdin = write('stdin.bin', ext.streamBytes());
  r.artifacts.clientStdout = stdoutPath;
  r.artifacts.clientLog = stderrPath;
  if (keylog) r.artifacts.keylog = write('keylog.txt', keylog);
  r.artifacts.trace = write('trace.txt', relay.traceText());
  if (relay.capture) r.artifacts.pcap = write('capture.pcapng', writePcapng(relay.capture.datagrams, { keylog }));
  if (qlogs.size) {
    const dir = mk('qlog', 'server');
    for (const [label, b] of qlogs) {
      const p = join(dir, `${label}.sqlog`);
      writeFileSync(p, serializeQlog({ vantagePoint: 'server', title: `${s.name} ${label}`, referenceTime: 0 }, b.events));
      r.artifacts.qlog.push(p);
    }
  }
  r.traceHash = relay.traceHash();
  r.simulatedMs = Math.round(performance.now() - started);
  if (outcome === 'abort') return { ...r, verdict: 'error', reason: 'interrupted' };

  // Checks: the script (both sides' steps in order), the form's exit, each of its steps' checks.
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const who = `${peer.name} client (${form.label})`;
  if (script.passed) add('steps', true, `${script.total} step(s) done (${peer.name}'s through its stdin and stdout)`);
  else if (outcome === 'timeout') add('steps', false, `timeout after ${secs(limitMs)}: stopped at step ${script.position + 1} of ${script.total}: ${script.waitingFor()}`);
  else if (outcome === 'gone') add('steps', false, `${who} ${describeExit(proc.status!)}${proc.lastErrorLine() ? ` (${proc.lastErrorLine()})` : ''} while the script waited at step ${script.position + 1} of ${script.total}: ${script.waitingFor()}`);
  else add('steps', false, script.failure ?? `stopped at step ${script.position + 1} of ${script.total}: ${script.waitingFor()}`);
  if (!exitedAlone) add('completed', false, `${who} did not exit within 10 s of its stdin ending`);
  else if (status!.code === 0) add('completed', true, `${who} exited with code 0 ${secs(status!.afterMs)} after it started (stdin ended ${stdinEndedByScript ? 'at its shutdown step' : 'when the script ended'})`);
  else add('completed', false, `${who} ${describeExit(status!)}${proc.lastErrorLine() ? `: ${proc.lastErrorLine()}` : ''}`);
  let closes: WireClose[] | undefined;
  if (relay.capture) {
    const conns = analyzeQuicWire(datagramsFromCapture(relay.capture.datagrams), keylog).connections.filter((c) => c.keysFound.oneRtt);
    if (conns.length) closes = conns.flatMap((c) => c.closed);
  }
  for (const pc of ext.checks) {
    pc.finalize?.(stdout, closes);
    checks.push(pc.check);
  }
  const notObservable = checks.filter((c) => c.observable === false).map((c) => c.name);
  const internal = internalErrorOutcome({ connections: [] }, serverRole.report());
  if (internal) checks.push(internal.check);
  r.checks = checks;
  r.metrics = { stdinBytes: ext.stdinBytes, stdoutBytes: stdout.length, scriptMs, handshakes: Number(relay.metrics()['handshakes'] ?? 0) };
  const failed = checks.filter((c) => !c.ok);
  if (internal) Object.assign(r, internal.verdict);
  else if (failed.length) Object.assign(r, { verdict: 'failed', reason: failed.map((c) => `${c.name}: ${c.detail}`).join('; ') });
  else Object.assign(r, { verdict: 'passed', reason: notObservable.length ? `passed; not observable with ${form.label}: ${notObservable.join(', ')}` : '' });
  return r;
}
