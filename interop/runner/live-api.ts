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
import type { Relay } from '../../simulator/relay.js';
import { startRelayThread } from '../../simulator/relay-thread.js';
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
import { allocatePort } from './ports.js';
import { waitReady } from './readiness.js';
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

/** The stream mode of the peer's side in an API scenario: the scenario's, or multi-stream (our engine's own model). */
const streamModeOf = (s: Scenario, side: Side): 'default' | 'multi' => (side === 'client' ? s.client : s.server).streamMode ?? 'multi';

/** Why a step the peer's side must perform or observe is beyond its stream-io form, or undefined when every step fits. */
function unperformable(s: Scenario, side: Side, form: CommandForm): { step: LocatedStep; why: string } | undefined {
  if (form.frames === 'api') return unperformableApi(s, side, form);
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
          if (!mine) return undefined;
          if (side === 'client') return 'accepting a stream: the form has only the default stream it opened';
          if (stream !== undefined) return 'a second stream: the default-stream mode carries one stream';
          if (st.expect !== 'accepted') return `accept-stream expecting ${st.expect}: the form has only the default stream`;
          stream = st.name;
          return undefined;
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

/** The same for api forms (frames O A Q W C R S X): in multi-stream mode every stream operation, within the form's limits. */
function unperformableApi(s: Scenario, side: Side, form: CommandForm): { step: LocatedStep; why: string } | undefined {
  const multi = streamModeOf(s, side) === 'multi';
  // The form cannot bound its accept queue (OpenSSL 3.5 has no setting for it): a scenario where the bound would refuse
  // one of the other side's streams is beyond it; a bound never reached changes nothing.
  const queue = (side === 'client' ? s.client : s.server).acceptQueue;
  const opened = s.steps.filter((st) => st.op === 'open-stream' && st.side !== side);
  if (queue !== undefined && opened.length > queue) return { step: opened[queue]!, why: `accept-queue ${queue} on the ${side}: the form cannot bound its accept queue, so this stream would not be refused` };
  let stream: string | undefined;
  for (const st of s.steps) {
    if (!('side' in st) || st.side !== side) continue;
    const why = ((): string | undefined => {
      switch (st.op) {
        case 'open-stream':
          if (multi) return undefined;
          if (side !== 'client') return "a server-initiated stream in default-stream mode: the default stream is the client's";
          if (stream !== undefined) return 'a second stream: the default-stream mode carries one stream';
          if (st.type !== 'bidi') return 'a unidirectional stream in default-stream mode: the form binds a bidirectional one';
          stream = st.name;
          return undefined;
        case 'accept-stream':
          if (st.expect === 'rejected') return 'accept-stream expecting a refused stream: OpenSSL refuses incoming streams inside the library and reports none of them';
          if (multi) return undefined;
          if (side === 'client') return 'accepting a stream in default-stream mode: the client has only the default stream it opened';
          if (st.expect === 'none') return 'accept-stream expecting none in default-stream mode: the form has no accept queue there';
          if (stream !== undefined) return 'a second stream: the default-stream mode carries one stream';
          stream = st.name;
          return undefined;
        case 'stop-sending':
          if (!multi) return 'stop-sending in default-stream mode: the default stream cannot be freed apart from its connection';
          if (form.stopSendingCodes && !form.stopSendingCodes.includes(st.code))
            return `STOP_SENDING with code ${st.code}: the form can send only code ${form.stopSendingCodes.join(' or ')} (OpenSSL 3.5 has no call to stop sending with a code; freeing the stream's SSL object sends STOP_SENDING with code 0)`;
          return undefined;
        case 'key-update':
          return 'key-update is not in the form';
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

/** One stream-io frame: type byte, 4-byte big-endian length, payload (interop/peers/README.md). */
function stdinFrame(type: string, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/**
 * What both kinds of form side share: the form's process, its stdin and what was written on it. The script may reach
 * the form's first steps before its process is attached (while the relay starts on its thread), so frames and the EOF
 * wait until then instead of being dropped.
 */
abstract class FormProcess {
  readonly checks: PeerCheck[] = [];
  stdinBytes = 0;
  readonly stdinLog: string[] = [];
  protected readonly written: Uint8Array[] = [];
  protected proc: EndpointProcess | undefined;
  private readonly queued: Buffer[] = [];
  private stdinEnded = false;

  constructor(
    readonly side: Side,
    protected readonly peerName: string,
    protected readonly form: CommandForm,
  ) {}

  attach(p: EndpointProcess): void {
    this.proc = p;
    for (const b of this.queued.splice(0)) p.child.stdin?.write(b);
    if (this.stdinEnded) p.child.stdin?.end();
  }

  protected get who(): string {
    return `${this.peerName} ${this.side} (${this.form.label})`;
  }

  protected writeFrame(type: string, payload: Uint8Array): void {
    const b = stdinFrame(type, payload);
    if (this.proc) this.proc.child.stdin?.write(b);
    else this.queued.push(b);
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

  /** Everything written on the form's streams, in order (the stdin.bin artifact). */
  streamBytes(): Uint8Array {
    return Buffer.concat(this.written);
  }
}

class StreamIoSide extends FormProcess implements ExternalSide {
  private streamWritten = 0;
  /** stdout bytes the peer's expect-read steps have consumed (its read offset on the default stream). */
  private readOffset = 0;

  constructor(
    side: Side,
    peerName: string,
    form: CommandForm,
    private readonly scenario: Scenario,
    private readonly stdoutPath: string,
    private readonly script: () => StepScript,
  ) {
    super(side, peerName, form);
  }

  private frame(type: 'D' | 'F', payload: Uint8Array): void {
    this.writeFrame(type, payload);
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

/** One line of an api form's events file: its name and key=value fields (reason="..." last, may hold spaces). */
interface FormEvent {
  name: string;
  f: Record<string, string>;
}

function parseEvents(text: string): FormEvent[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', ...rest] = line.split(' ');
      const f: Record<string, string> = {};
      const body = rest.join(' ');
      const reason = /(?:^| )reason="(.*)"$/.exec(body);
      const plain = reason ? body.slice(0, reason.index) : body;
      for (const kv of plain.split(' ').filter(Boolean)) {
        const i = kv.indexOf('=');
        if (i > 0) f[kv.slice(0, i)] = kv.slice(i + 1).replace(/^"(.*)"$/, '$1');
      }
      if (reason) f['reason'] = reason[1]!;
      return { name, f };
    });
}

const u64 = (v: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
};

/**
 * The peer's side through an api form (frames O A Q W C R S X, interop/peers/README.md): each step becomes a frame on
 * its stdin; what the peer observed (a stream's end, a reset and its code, STOP_SENDING, the close info) comes back as
 * lines in its events file; bytes it read, on stdout (handle 0, the default stream) or OUTDIR/stream-<handle>.bin.
 */
class ApiFormSide extends FormProcess implements ExternalSide {
  private readonly handles = new Map<string, number>();
  private readonly streamWritten = new Map<number, number>();
  private readonly readOffset = new Map<number, number>();
  private nextHandle = 1;
  /** The step whose frame went out and which now waits for its event, with how many such events existed before. */
  private waiting: { st: LocatedStep; before: number } | undefined;
  private readonly multi: boolean;

  constructor(
    side: Side,
    peerName: string,
    form: CommandForm,
    scenario: Scenario,
    private readonly stdoutPath: string,
    private readonly eventsPath: string,
    private readonly outDir: string,
  ) {
    super(side, peerName, form);
    this.multi = streamModeOf(scenario, side) === 'multi';
  }

  private frame(type: string, payload: Uint8Array, log: string): void {
    this.stdinLog.push(`${type} ${log}`);
    this.writeFrame(type, payload);
  }

  events(): FormEvent[] {
    try {
      return parseEvents(readFileSync(this.eventsPath, 'utf8'));
    } catch {
      return [];
    }
  }

  handshakeDone(): boolean {
    return this.events().some((e) => e.name === 'handshake' || e.name === 'handshake-interrupted');
  }

  closed(): boolean {
    // A form that is gone has no connection left either.
    return !!this.proc?.status || this.events().some((e) => e.name === 'close');
  }

  private dataPath(h: number): string {
    return h === 0 ? this.stdoutPath : join(this.outDir, `stream-${h}.bin`);
  }

  private data(h: number): Uint8Array {
    try {
      return readFileSync(this.dataPath(h));
    } catch {
      return new Uint8Array(0);
    }
  }

  private gone(): string | undefined {
    const st = this.proc?.status;
    if (!st) return undefined;
    const err = this.events().find((e) => e.name === 'error');
    return `${this.who} ${describeExit(st)}${err ? ` (${err.f['what']})` : ''}`;
  }

  private handleOf(name: string): number {
    return this.handles.get(name) ?? -1;
  }

  /** Sends a step's frame once, then waits for the n-th event matching `match` (n = those before the frame + 1). */
  private awaitEvent(st: LocatedStep, send: () => void, match: (e: FormEvent) => boolean, what: string): FormEvent | { blocked: string } | { fail: string } {
    if (this.waiting?.st !== st) {
      this.waiting = { st, before: this.events().filter(match).length };
      send();
    }
    const hit = this.events().filter(match)[this.waiting.before];
    if (hit) {
      this.waiting = undefined;
      return hit;
    }
    const dead = this.gone();
    return dead ? { fail: `${dead} before ${what}` } : { blocked: `${what} from ${this.who}` };
  }

  /** Waits for the first event about handle h among `names`; any other of them settles the step too. */
  private streamEvent(h: number, names: string[]): FormEvent | undefined {
    return this.events().find((e) => names.includes(e.name) && e.f['h'] === String(h));
  }

  exec(st: LocatedStep, _now: number): StepResult | { blocked: string } {
    const where = `line ${st.line}`;
    const fail = (name: string, detail: string, expected?: string, observed?: string): { fail: string } => {
      this.checks.push({ check: { name, ok: false, detail: `${detail} (${where})`, ...(expected !== undefined ? { expected } : {}), ...(observed !== undefined ? { observed } : {}) } });
      return { fail: detail };
    };
    const pass = (name: string, detail: string, expected?: string, observed?: string): 'done' => {
      this.checks.push({ check: { name, ok: true, detail: `${detail} (${where})`, ...(expected !== undefined ? { expected } : {}), ...(observed !== undefined ? { observed } : {}) } });
      return 'done';
    };
    switch (st.op) {
      case 'open-stream': {
        if (!this.multi) {
          // Default-stream mode: the client's first write opens the default stream (handle 0).
          this.handles.set(st.name, 0);
          return 'done';
        }
        const h = this.waiting?.st === st ? this.handleOf(st.name) : this.nextHandle++;
        this.handles.set(st.name, h);
        const r = this.awaitEvent(st, () => this.frame('O', Buffer.from([h, st.type === 'uni' ? 0x75 : 0x62]), `open ${st.type} ${st.name} as handle ${h} (${where})`), (e) => e.name === 'opened' && e.f['h'] === String(h), `stream ${st.name} opened`);
        if ('name' in r) return pass('peer-open', `${this.who} opened ${st.name} (SSL_new_stream): stream ID ${r.f['id']}`);
        return r;
      }
      case 'accept-stream': {
        if (!this.multi) {
          this.handles.set(st.name, 0);
          return 'done';
        }
        if (st.expect === 'none') {
          const r = this.awaitEvent(st, () => this.frame('Q', new Uint8Array(0), `accept queue length (${where})`), (e) => e.name === 'accept-queue', 'its accept queue length');
          if (!('name' in r)) return r;
          const n = Number(r.f['len']);
          return n === 0 ? pass('peer-accept', `${this.who}: nothing waiting to be accepted (SSL_get_accept_stream_queue_len)`, '0 streams queued', '0 streams queued') : fail('peer-accept', `${this.who} has ${n} stream(s) waiting to be accepted`, '0 streams queued', `${n} streams queued`);
        }
        const h = this.waiting?.st === st ? this.handleOf(st.name) : this.nextHandle++;
        this.handles.set(st.name, h);
        const r = this.awaitEvent(st, () => this.frame('A', Buffer.from([h]), `accept ${st.name} as handle ${h} (${where})`), (e) => e.name === 'accepted' && e.f['h'] === String(h), `stream ${st.name} accepted`);
        if ('name' in r) return pass('peer-accept', `${this.who} accepted ${st.name} (SSL_accept_stream): stream ID ${r.f['id']}`);
        return r;
      }
      case 'write': {
        const h = this.handleOf(st.stream);
        const off = this.streamWritten.get(h) ?? 0;
        const bytes = st.data !== undefined ? te.encode(st.data) : pattern(off, st.size ?? 0);
        this.streamWritten.set(h, off + bytes.length);
        this.written.push(bytes);
        this.stdinBytes += bytes.length;
        this.frame('W', Buffer.concat([Buffer.from([h]), bytes]), `${bytes.length} bytes on ${st.stream} (${where})`);
        return 'done';
      }
      case 'conclude':
        this.frame('C', Buffer.from([this.handleOf(st.stream)]), `conclude ${st.stream}, FIN (${where})`);
        return 'done';
      case 'reset':
        this.frame('R', Buffer.concat([Buffer.from([this.handleOf(st.stream)]), u64(st.code)]), `reset ${st.stream} with code ${st.code} (${where})`);
        return 'done';
      case 'stop-sending':
        this.frame('S', Buffer.from([this.handleOf(st.stream)]), `stop sending on ${st.stream}: free the stream, STOP_SENDING code 0 (${where})`);
        return 'done';
      case 'shutdown':
        this.frame('X', Buffer.concat([Buffer.from([st.rapid ? 1 : 0]), u64(st.code), te.encode(st.reason)]), `shutdown ${st.rapid ? 'rapid' : 'full'}, code ${st.code}, reason ${JSON.stringify(st.reason)} (${where})`);
        return 'done';
      case 'expect-read': {
        const h = this.handleOf(st.stream);
        const offset = this.readOffset.get(h) ?? 0;
        const want = st.data !== undefined ? te.encode(st.data) : pattern(offset, st.size ?? 0);
        const label = st.data !== undefined ? JSON.stringify(st.data) : `${want.length} bytes`;
        let all = this.data(h);
        const src = h === 0 ? 'stdout' : `stream-${h}.bin`;
        if (all.length < offset + want.length) {
          const end = this.streamEvent(h, ['fin', 'reset']);
          const dead = this.gone();
          // The form writes a stream's bytes before its end event: read them again now that the end is known, or
          // bytes written between the two reads look missing.
          if (end || dead) all = this.data(h);
          if ((end || dead) && all.length < offset + want.length) {
            const have = Math.max(0, all.length - offset);
            const why = end ? `the stream ${end.name === 'fin' ? 'ended (FIN)' : `was reset with code ${end.f['code']}`}` : dead!;
            return fail('peer-read', `${this.who}: ${why} with ${have} of ${want.length} expected bytes read on ${st.stream}`, label, `${have} bytes`);
          }
          if (all.length < offset + want.length) return { blocked: `${want.length} bytes read by ${this.who} on ${st.stream} (have ${Math.max(0, all.length - offset)})` };
        }
        const got = all.subarray(offset, offset + want.length);
        this.readOffset.set(h, offset + want.length);
        const bad = got.findIndex((b, i) => b !== want[i]);
        const observed = st.data !== undefined ? JSON.stringify(td.decode(got)) : bad < 0 ? `${got.length} bytes, identical` : `${got.length} bytes, byte ${offset + bad} differs`;
        if (bad >= 0) return fail('peer-read', `${this.who} read ${observed} on ${st.stream} (${src} at offset ${offset}), expected ${label}`, label, observed);
        return pass('peer-read', `${this.who} read ${st.stream} as expected (${src} at offset ${offset})`, label, observed);
      }
      case 'expect-fin': {
        const h = this.handleOf(st.stream);
        const e = this.streamEvent(h, ['fin', 'reset', 'read-error']);
        const upTo = this.readOffset.get(h) ?? 0;
        const expected = `FIN after ${upTo} bytes`;
        if (!e) {
          const dead = this.gone();
          return dead ? fail('peer-fin', `${dead} before it saw the FIN on ${st.stream}`, expected, 'no FIN') : { blocked: `the FIN on ${st.stream} at ${this.who}` };
        }
        if (e.name !== 'fin') return fail('peer-fin', `${this.who}: ${st.stream} ended with ${e.name} (code ${e.f['code'] ?? e.f['state']}) instead of a FIN`, expected, `${e.name} code ${e.f['code'] ?? '?'}`);
        const observed = `FIN after ${e.f['bytes']} bytes`;
        if (Number(e.f['bytes']) !== upTo) return fail('peer-fin', `${this.who} read ${e.f['bytes']} bytes on ${st.stream} before the FIN, ${upTo} expected`, expected, observed);
        return pass('peer-fin', `${this.who} read the end of ${st.stream} (SSL_read_ex: SSL_ERROR_ZERO_RETURN) right after the expected bytes`, expected, observed);
      }
      case 'expect-reset': {
        const h = this.handleOf(st.stream);
        const e = this.streamEvent(h, ['reset', 'fin']);
        if (!e) {
          const dead = this.gone();
          return dead ? fail('peer-reset', `${dead} before it saw RESET_STREAM on ${st.stream}`, `code ${st.code}`, 'none') : { blocked: `RESET_STREAM on ${st.stream} at ${this.who}` };
        }
        if (e.name === 'fin') return fail('peer-reset', `${this.who}: ${st.stream} ended normally (FIN) instead of being reset`, `code ${st.code}`, 'FIN');
        const ok = BigInt(e.f['code'] ?? '-1') === BigInt(st.code);
        return (ok ? pass : fail)('peer-reset', `${this.who} saw ${st.stream} reset by the peer with code ${e.f['code']} (SSL_get_stream_read_error_code)${ok ? '' : `, expected ${st.code}`}`, `code ${st.code}`, `code ${e.f['code']}`);
      }
      case 'expect-stop-sending': {
        const h = this.handleOf(st.stream);
        const e = this.streamEvent(h, ['stop-sending']);
        if (!e) {
          const dead = this.gone();
          return dead ? fail('peer-stop-sending', `${dead} before it saw STOP_SENDING on ${st.stream}`, `code ${st.code}`, 'none') : { blocked: `STOP_SENDING on ${st.stream} at ${this.who}` };
        }
        const ok = BigInt(e.f['code'] ?? '-1') === BigInt(st.code);
        return (ok ? pass : fail)('peer-stop-sending', `${this.who} saw STOP_SENDING with code ${e.f['code']} on ${st.stream}${ok ? '' : `, expected ${st.code}`} (SSL_get_stream_write_state ${e.f['state'] ?? '?'}, SSL_get_stream_write_error_code: OpenSSL resets its send part on STOP_SENDING itself)`, `code ${st.code}`, `code ${e.f['code']}`);
      }
      case 'expect-close-info': {
        const e = this.events().find((x) => x.name === 'close');
        const want = [st.remote === undefined ? '' : st.remote ? 'remote' : 'local', st.transport === undefined ? '' : st.transport ? 'transport' : 'application', st.code !== undefined ? `code ${st.code}` : '', st.reason !== undefined ? `reason ${JSON.stringify(st.reason)}` : ''].filter(Boolean).join(', ');
        if (!e) {
          const dead = this.gone();
          return dead ? fail('peer-close-info', `${dead} before its connection closed`, want, 'no close') : { blocked: `${this.who}'s connection to close` };
        }
        const remote = e.f['local'] === '0';
        const transport = e.f['transport'] === '1';
        const observed = `${remote ? 'remote' : 'local'}, ${transport ? 'transport' : 'application'}, code ${e.f['code']}, reason ${JSON.stringify(e.f['reason'] ?? '')}`;
        const ok = (st.remote === undefined || st.remote === remote) && (st.transport === undefined || st.transport === transport) && (st.code === undefined || BigInt(e.f['code'] ?? '-1') === BigInt(st.code)) && (st.reason === undefined || st.reason === (e.f['reason'] ?? ''));
        return (ok ? pass : fail)('peer-close-info', `${this.who}'s close info (SSL_get_conn_close_info): ${observed}${ok ? '' : `; expected ${want}`}`, want, observed);
      }
      case 'expect-state': {
        const what = [st.write !== undefined ? `write ${st.write}` : '', st.read !== undefined ? `read ${st.read}` : ''].filter(Boolean).join(', ');
        this.checks.push({ check: { name: 'peer-state', ok: true, observable: false, detail: `not observable with ${this.form.label}: OpenSSL's stream states (SSL_get_stream_write_state FINISHED = concluded) do not say whether the peer acknowledged every byte, which "finished" means here (the step expects ${what} on ${st.stream}; ${where})` } });
        return 'done';
      }
      default:
        return { fail: `${st.op} cannot run on ${this.who}` };
    }
  }
}

/** The peer's side as the run sees it, whichever frames its form speaks. */
type FormSide = (StreamIoSide | ApiFormSide) & ExternalSide;

/**
 * One API cell: our engine runs its side's steps in-process on a UDP socket, the peer's stream-io form the other side's
 * through stdin, the real-time relay between them. Peer as client: our scripted server first, the relay in front of it,
 * then the form pointed at the relay. Peer as server: the form first (until ready), the relay in front of it, then our
 * scripted client pointed at the relay.
 */
export async function runLiveApi(s: Scenario, client: PeerDeclaration, server: PeerDeclaration, opts: LiveOptions, base: RunRecord): Promise<RunRecord> {
  const started = performance.now();
  const ps = peerSideOf(client, server);
  if (typeof ps === 'string') return { ...base, verdict: 'unsupported', reason: ps };
  if (opts.runtime === 'docker') return { ...base, verdict: 'unsupported', reason: 'API scenarios run stream-io forms natively only (not with --runtime docker)' };
  const { peer, side } = ps;
  const ours: Side = side === 'client' ? 'server' : 'client';
  const role = peer.roles[side]!;
  const form = role.streamIo as CommandForm;
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
  const peerLogs = logs[side];
  const peerKeylog = join(peerLogs, 'keys.log');
  const stdoutPath = join(peerLogs, 'stdout.log');
  const stderrPath = join(peerLogs, 'stderr.log');
  const eventsPath = join(peerLogs, 'events.txt');

  // Our side: the self peer's scripted role, with the run's certificate and the real clock (the peer checks dates on it).
  const chain = loadCertificateChain(readFileSync(certs.cert, 'utf8'));
  const key = loadPrivateKey(readFileSync(certs.key, 'utf8'));
  const ourKeyLines: string[] = [];
  const qlogs = new Map<string, QlogBuffer>();
  const ctxFor = (serverAddress: { host: string; port: number }): PeerContext => ({
    scenario: s,
    seed: opts.seed,
    role: ours,
    clientAddress: { host: '127.0.0.1', port: 0 },
    serverAddress,
    pki: { ca: pemDecode(readFileSync(certs.ca, 'utf8'))[0]!, leaf: () => ({ chain, key }) },
    files: new GeneratedFiles([]),
    paths: [],
    keyLog: (l) => ourKeyLines.push(l),
    qlogFor: (label) => {
      const b = new QlogBuffer();
      qlogs.set(label, b);
      return b.sink;
    },
    faults: [],
    scripted: true,
    clock: () => Date.now(),
  });
  let script!: StepScript;
  const ext: FormSide = form.frames === 'api'
    ? new ApiFormSide(side, peer.name, form, s, stdoutPath, eventsPath, peerLogs)
    : new StreamIoSide(side, peer.name, form, s, stdoutPath, () => script);
  script = new StepScript(s, ext);

  // The peer's command: placeholders for either role.
  const values: Record<string, string> = {
    host: '127.0.0.1', alpn, ca: certs.ca, cert: certs.cert, key: certs.key, keylog: peerKeylog, logs: peerLogs, protocol: s.protocol,
    events: eventsPath, outdir: peerLogs, streams: streamModeOf(s, side), incoming: (side === 'client' ? s.client : s.server).incomingStreams ?? 'accept',
  };
  const fill = (a: string) => expandStatic(a, peer).replace(/\{([a-z]+)\}/g, (m, k: string) => values[k] ?? m);
  let argv: string[] = [];
  const startForm = (): EndpointProcess => {
    argv = form.command.map(fill);
    const env: Record<string, string> = { ROLE: side, PROTOCOL: s.protocol, ALPN: alpn, HOST: '127.0.0.1', PORT: values['port']!, CA: certs.ca, SSLKEYLOGFILE: peerKeylog, LOGS: peerLogs };
    if (side === 'client') env['SERVER'] = values['server']!;
    else Object.assign(env, { CERT: certs.cert, KEY: certs.key });
    for (const [k, v] of Object.entries(form.env)) env[k] = fill(v);
    const p = new EndpointProcess(`${peer.name} ${side}`, argv, { env, cwd: peerLogs, stdout: stdoutPath, stderr: stderrPath, stdin: 'pipe' });
    ext.attach(p);
    return p;
  };

  let ourRole!: ReturnType<typeof selfPeer.start>;
  let driver: UdpEndpointDriver | undefined;
  let relay: Relay | undefined;
  let proc: EndpointProcess | undefined;
  const teardown = async () => {
    await proc?.stop();
    await driver?.close();
    await relay?.stop();
  };
  const startOurs = async (serverAddress: { host: string; port: number }): Promise<string | undefined> => {
    ourRole = selfPeer.start(ctxFor(serverAddress));
    const scripted = new ScriptedSide(ourRole.endpoint, ours, () => ourRole.scriptConnection?.(), script);
    try {
      driver = await UdpEndpointDriver.open(scripted, '127.0.0.1', 0);
    } catch (e) {
      return `could not bind our ${ours}: ${(e as Error).message}`;
    }
    return undefined;
  };
  if (side === 'client') {
    const bad = await startOurs({ host: '127.0.0.1', port: 0 });
    if (bad) return { ...base, verdict: 'error', reason: bad };
    try {
      relay = await startRelayThread({ target: driver!.local, network: networkConfig(s.network), seed: opts.seed, protocol: 'quic', fateOverrides: overridesFromList(opts.fates), capture: true });
    } catch (e) {
      await teardown();
      return { ...base, verdict: 'error', reason: `could not start the relay: ${(e as Error).message}` };
    }
    Object.assign(values, { port: String(relay.port), server: `127.0.0.1:${relay.port}` });
    proc = startForm();
    driver!.kick();
  } else {
    // The form listens first; our client starts once it is ready, through the relay.
    Object.assign(values, { port: String(await allocatePort()) });
    proc = startForm();
    const ready = await waitReady(proc, role.ready, { host: '127.0.0.1', port: Number(values['port']), protocol: s.protocol, timeoutMs: opts.readyTimeoutMs ?? 20_000, signal: opts.signal });
    if (!ready.ok) {
      await teardown();
      return { ...base, verdict: 'error', reason: `${peer.name} server (${form.label}) ${ready.reason}${proc.lastErrorLine() ? `: ${proc.lastErrorLine()}` : ''}` };
    }
    try {
      relay = await startRelayThread({ target: { host: '127.0.0.1', port: Number(values['port']) }, network: networkConfig(s.network), seed: opts.seed, protocol: 'quic', fateOverrides: overridesFromList(opts.fates), capture: true });
    } catch (e) {
      await teardown();
      return { ...base, verdict: 'error', reason: `could not start the relay: ${(e as Error).message}` };
    }
    const bad = await startOurs({ host: '127.0.0.1', port: relay.port });
    if (bad) {
      await teardown();
      return { ...base, verdict: 'error', reason: bad };
    }
    driver!.kick();
  }
  const p = proc;

  // Until the script is done (or fails), the form has been gone a while, the time is up, or Ctrl-C.
  const limitMs = Math.min(s.timeoutMs, 180_000);
  const t0 = performance.now();
  let outcome = 'finished' as 'finished' | 'timeout' | 'gone' | 'abort';
  let goneAt: number | undefined;
  await new Promise<void>((res) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (p.status && goneAt === undefined) goneAt = now;
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
  // The script's end is the form's: stdin EOF makes it close the connection (unless it already did) and exit.
  const stdinEndedByScript = ext.ended;
  ext.endStdin();
  // Interrupted: no waiting for a graceful close (proc.stop() below ends the group).
  let grace: NodeJS.Timeout | undefined;
  const graceOver = new Promise<undefined>((r) => {
    grace = setTimeout(() => r(undefined), 10_000);
  });
  const status: ExitStatus | undefined = outcome === 'abort' ? undefined : await Promise.race([p.exited, graceOver]);
  clearTimeout(grace);
  const exitedAlone = !!status;
  // Let the last datagrams (CONNECTION_CLOSE, final ACKs) cross the relay before it closes.
  await new Promise((r) => setTimeout(r, 300));
  await teardown();
  const rl = relay!;
  const drv = driver!;

  // Artifacts: the command lines, what went in (stdin.bin) and came out (stdout.log), capture with both key logs, trace.
  const write = (name: string, data: string | Uint8Array) => {
    const f = join(opts.outDir, name);
    writeFileSync(f, data);
    return resolve(f);
  };
  const keylog = (existsSync(peerKeylog) ? readFileSync(peerKeylog, 'utf8') : '') + ourKeyLines.map((l) => l + '\n').join('');
  writeFileSync(join(logs[ours], 'keys.log'), ourKeyLines.map((l) => l + '\n').join(''));
  const stdout = existsSync(stdoutPath) ? readFileSync(stdoutPath) : new Uint8Array(0);
  const ourAddr = `UDP 127.0.0.1:${drv.local.port}`;
  const commands = [
    `${side}: ${argv.join(' ')}`,
    `${ours}: self in-process: the scenario's ${ours} steps on our engine (OpenSSL-style API), ${ourAddr}`,
    side === 'client' ? `relay: 127.0.0.1:${rl.port} → 127.0.0.1:${drv.local.port}` : `relay: 127.0.0.1:${rl.port} → 127.0.0.1:${values['port']}`,
    `stdin: ${ext.stdinBytes} bytes of stream data (stdin.bin); frames: ${[...ext.stdinLog, ...(stdinEndedByScript ? [] : ['EOF: when the script ended'])].join('; ')}`,
    `stdout: ${stdout.length} bytes (logs/${side}/stdout.log)`,
  ];
  const r: RunRecord = { ...base, artifacts: { qlog: [] } };
  r.artifacts.commands = write('commands.txt', commands.join('\n') + '\n');
  r.artifacts.stdin = write('stdin.bin', ext.streamBytes());
  if (side === 'client') {
    r.artifacts.clientStdout = stdoutPath;
    r.artifacts.clientLog = stderrPath;
  } else {
    r.artifacts.serverStdout = stdoutPath;
    r.artifacts.serverLog = stderrPath;
  }
  if (existsSync(eventsPath)) r.artifacts.events = eventsPath;
  if (keylog) r.artifacts.keylog = write('keylog.txt', keylog);
  r.artifacts.trace = write('trace.txt', rl.traceText());
  if (rl.capture) r.artifacts.pcap = write('capture.pcapng', writePcapng(rl.capture.datagrams, { keylog }));
  if (qlogs.size) {
    const dir = mk('qlog', ours);
    for (const [label, b] of qlogs) {
      const f = join(dir, `${label}.sqlog`);
      writeFileSync(f, serializeQlog({ vantagePoint: ours, title: `${s.name} ${label}`, referenceTime: 0 }, b.events));
      r.artifacts.qlog.push(f);
    }
  }
  r.traceHash = rl.traceHash();
  r.simulatedMs = Math.round(performance.now() - started);
  if (outcome === 'abort') return { ...r, verdict: 'error', reason: 'interrupted' };

  // Checks: the script (both sides' steps in order), the form's exit, each of its steps' checks.
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const who = `${peer.name} ${side} (${form.label})`;
  if (script.passed) add('steps', true, `${script.total} step(s) done (${peer.name}'s through its stdin and ${form.frames === 'api' ? 'its events and read bytes' : 'stdout'})`);
  else if (outcome === 'timeout') add('steps', false, `timeout after ${secs(limitMs)}: stopped at step ${script.position + 1} of ${script.total}: ${script.waitingFor()}`);
  else if (outcome === 'gone') add('steps', false, `${who} ${describeExit(p.status!)}${p.lastErrorLine() ? ` (${p.lastErrorLine()})` : ''} while the script waited at step ${script.position + 1} of ${script.total}: ${script.waitingFor()}`);
  else add('steps', false, script.failure ?? `stopped at step ${script.position + 1} of ${script.total}: ${script.waitingFor()}`);
  if (!exitedAlone) add('completed', false, `${who} did not exit within 10 s of its stdin ending`);
  else if (status!.code === 0) add('completed', true, `${who} exited with code 0 ${secs(status!.afterMs)} after it started (stdin ended ${stdinEndedByScript ? 'at its shutdown step' : 'when the script ended'})`);
  else add('completed', false, `${who} ${describeExit(status!)}${p.lastErrorLine() ? `: ${p.lastErrorLine()}` : ''}`);
  let closes: WireClose[] | undefined;
  if (rl.capture) {
    const conns = analyzeQuicWire(datagramsFromCapture(rl.capture.datagrams), keylog).connections.filter((c) => c.keysFound.oneRtt);
    if (conns.length) closes = conns.flatMap((c) => c.closed);
  }
  for (const pc of ext.checks) {
    pc.finalize?.(stdout, closes);
    checks.push(pc.check);
  }
  // What the wire carried, beside what each side reported: a close sent only where the other side cannot read it (a
  // Handshake packet after its Handshake keys are gone) explains a close info that never arrived.
  if (closes) {
    const list = closes.map((c) => `${c.by} ${c.space} ${c.application ? '0x1d' : '0x1c'} code ${c.errorCode}${c.reason ? ` reason ${JSON.stringify(c.reason)}` : ''}`);
    checks.push({ name: 'wire-close', ok: true, detail: `CONNECTION_CLOSE frames in the capture (decoded with both key logs): ${list.join('; ') || 'none'}` });
  }
  const notObservable = checks.filter((c) => c.observable === false).map((c) => c.name);
  const internal = internalErrorOutcome({ connections: [] }, ourRole.report());
  if (internal) checks.push(internal.check);
  r.checks = checks;
  r.metrics = { stdinBytes: ext.stdinBytes, stdoutBytes: stdout.length, scriptMs, handshakes: Number(rl.metrics()['handshakes'] ?? 0) };
  const failed = checks.filter((c) => !c.ok);
  if (internal) Object.assign(r, internal.verdict);
  else if (failed.length) Object.assign(r, { verdict: 'failed', reason: failed.map((c) => `${c.name}: ${c.detail}`).join('; ') });
  else Object.assign(r, { verdict: 'passed', reason: notObservable.length ? `passed; not observable with ${form.label}: ${notObservable.join(', ')}` : '' });
  return r;
}
