// The result model (DESIGN.md §11): every result.json under a folder, grouped into cells (scenario × client × server)
// with their repetitions. reports/ only reads what interop/ wrote: it imports types from interop/, nothing else.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Check, RunResult, Verdict } from '../interop/result.js';

export type { Verdict };
/** A cell's verdict: the verdict every repetition agrees on, or `flaky` when they differ. */
export type CellVerdict = Verdict | 'flaky';

export const VERDICTS: readonly Verdict[] = ['passed', 'failed', 'unsupported', 'error'];

/** A check as result.json records it; `expected`/`observed` appear when the runner states them (Autobahn style). */
export interface ReportCheck extends Check {
  expected?: string;
  observed?: string;
}

/** result.json as the report reads it: RunResult plus the optional fields newer runners write. */
export interface ReportResult extends Omit<RunResult, 'checks' | 'artifacts'> {
  checks: ReportCheck[];
  artifacts: RunResult['artifacts'] & { [name: string]: string | string[] | undefined };
  /** Repetition index (with --repeat). */
  repeat?: number;
  /** kbps, for measurement scenarios (goodput, crosstraffic). */
  measurement?: number;
  /** The scenario YAML as run. */
  scenarioText?: string;
  /** Network settings as run. */
  network?: unknown;
  description?: string;
}

/** Thrown for unreadable or malformed input; the commands turn it into a usage error (exit 2). */
export class ReportInputError extends Error {
  override name = 'ReportInputError';
}

export interface Run {
  result: ReportResult;
  /** Absolute path of result.json. */
  path: string;
  /** Absolute path of the run folder (result.json's folder). */
  dir: string;
  /** The run folder relative to the model's root, with forward slashes ('' for the root itself). */
  rel: string;
  /** Repetition index: result.repeat, else rep-<n> in the path, else the order within the cell. */
  repeat: number;
  /** result.json's modification time (ms). */
  mtimeMs: number;
}

export interface Measurement {
  values: number[];
  mean: number;
  stdev: number;
}

export interface Cell {
  /** `<server>_<client>/<scenario>`, as quic-interop-runner lays out its log folders. */
  key: string;
  scenario: string;
  protocol: string;
  client: string;
  server: string;
  /** Repetitions, by repeat index. */
  runs: Run[];
  verdict: CellVerdict;
  flaky: boolean;
  /** Repetitions that passed. */
  passed: number;
  measurement?: Measurement;
}

export interface ScenarioInfo {
  name: string;
  protocol: string;
  file: string;
  description: string;
  /** YAML text (from scenarioText, else the scenario file when readable at generation time). */
  yaml?: string;
  /** Measured scenario (goodput, crosstraffic): runs carry a kbps measurement. */
  measurement: boolean;
  /** The scenario's `network` block, for runs whose result.json does not record its network settings. */
  network?: unknown;
}

export interface Model {
  root: string;
  clients: string[];
  servers: string[];
  scenarios: ScenarioInfo[];
  cells: Cell[];
  runs: Run[];
  byKey: Map<string, Cell>;
}

export const cellKey = (scenario: string, client: string, server: string): string => `${server}_${client}/${scenario}`;

const SKIP_DIRS = new Set(['node_modules', '.git']);
const REP_DIR = /^rep-\d+$/;

/** Every result.json under `root`, sorted. Below a run folder only rep-<n> folders are searched: the rest of a run
 * folder is its artifacts (www/, downloads/, qlog/, logs/, replay/: 55,000 files in a 4 × 4 QUIC matrix), and walking
 * them cost more than reading every result.json. */
export function findResultFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      throw new ReportInputError(`cannot read ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    // A run folder's replay/ holds what `crosswire replay` re-ran: not another run of the matrix.
    const isRun = entries.some((e) => e.name === 'result.json' && !e.isDirectory());
    for (const e of entries) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && (!isRun || REP_DIR.test(e.name))) walk(join(dir, e.name));
      } else if (e.name === 'result.json' && (e.isFile() || e.isSymbolicLink())) out.push(join(dir, e.name));
    }
  };
  walk(root);
  return out.sort();
}

/** Parses one result.json; anything that is not a run result is a ReportInputError naming the file. */
export function readResult(path: string): ReportResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReportInputError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ReportInputError(`${path}: not JSON (${(e as Error).message})`);
  }
  return normalizeResult(raw, path);
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Checks the fields the report relies on and fills in what older result files lack. */
export function normalizeResult(raw: unknown, path: string): ReportResult {
  if (!isObj(raw)) throw new ReportInputError(`${path}: not a result.json (expected an object)`);
  const r = raw as Record<string, unknown>;
  if (typeof r.scenario !== 'string' || !r.scenario) throw new ReportInputError(`${path}: not a result.json (no scenario)`);
  if (typeof r.verdict !== 'string' || !VERDICTS.includes(r.verdict as Verdict)) {
    throw new ReportInputError(`${path}: not a result.json (verdict ${JSON.stringify(r.verdict)})`);
  }
  const peer = (p: unknown, role: string) => {
    if (typeof p === 'string') return { name: p, version: '' };
    if (isObj(p) && typeof p.name === 'string') return p as unknown as RunResult['client'];
    throw new ReportInputError(`${path}: not a result.json (no ${role} name)`);
  };
  const artifacts = isObj(r.artifacts) ? (r.artifacts as ReportResult['artifacts']) : { qlog: [] };
  if (!Array.isArray(artifacts.qlog)) artifacts.qlog = [];
  return {
    ...(r as unknown as ReportResult),
    file: typeof r.file === 'string' ? r.file : '',
    protocol: typeof r.protocol === 'string' ? r.protocol : 'quic',
    client: peer(r.client, 'client'),
    server: peer(r.server, 'server'),
    seed: typeof r.seed === 'number' ? r.seed : 0,
    reason: typeof r.reason === 'string' ? r.reason : '',
    checks: Array.isArray(r.checks) ? (r.checks as ReportCheck[]).filter(isObj) : [],
    traceHash: typeof r.traceHash === 'string' ? r.traceHash : '',
    simulatedMs: typeof r.simulatedMs === 'number' ? r.simulatedMs : 0,
    wallMs: typeof r.wallMs === 'number' ? r.wallMs : 0,
    metrics: isObj(r.metrics) ? (r.metrics as ReportResult['metrics']) : {},
    artifacts,
    replay: typeof r.replay === 'string' ? r.replay : '',
    version: typeof r.version === 'string' ? r.version : '',
  };
}

const toPosix = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));

/** Names in the preferred order first, then the rest sorted with our own engine ("self") first. */
export function orderNames(names: Iterable<string>, preferred: readonly string[] = []): string[] {
  const set = new Set(names);
  const first = preferred.filter((n) => set.has(n));
  const rest = [...set].filter((n) => !first.includes(n)).sort((a, b) => (a === 'self' ? -1 : b === 'self' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  return [...new Set([...first, ...rest])];
}

const PROTOCOL_ORDER = ['quic', 'tls', 'dtls'];
const protoRank = (p: string) => {
  const i = PROTOCOL_ORDER.indexOf(p);
  return i < 0 ? PROTOCOL_ORDER.length : i;
};

export interface LoadOptions {
  /** Preferred order of client and server names (e.g. as given on the command line). */
  clients?: readonly string[];
  servers?: readonly string[];
  /** Resolve relative scenario `file` paths against this folder (default: the current directory). */
  cwd?: string;
}

/** Loads every result.json under `root` into cells. An empty folder gives an empty model. */
export function loadModel(root: string, opts: LoadOptions = {}): Model {
  const absRoot = resolve(root);
  try {
    if (!statSync(absRoot).isDirectory()) throw new ReportInputError(`${root} is not a folder`);
  } catch (e) {
    if (e instanceof ReportInputError) throw e;
    throw new ReportInputError(`cannot read ${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const runs: Run[] = findResultFiles(absRoot).map((path) => makeRun(absRoot, path, readResult(path), statSync(path).mtimeMs));
  return buildModel(absRoot, runs, opts);
}

/** A run of the model rooted at `absRoot`, from its result.json path and parsed content. */
export function makeRun(absRoot: string, path: string, result: ReportResult, mtimeMs: number): Run {
  const dir = dirname(path);
  const rep = /(?:^|\/)rep-(\d+)$/.exec(toPosix(dir));
  return {
    result,
    path,
    dir,
    rel: toPosix(relative(absRoot, dir)),
    repeat: typeof result.repeat === 'number' ? result.repeat : rep ? Number(rep[1]) : -1,
    mtimeMs,
  };
}

/** Groups runs into cells and orders clients, servers and scenarios. */
export function buildModel(root: string, runs: Run[], opts: LoadOptions = {}): Model {
  const groups = new Map<string, Run[]>();
  for (const run of runs) {
    const r = run.result;
    const key = cellKey(r.scenario, r.client.name, r.server.name);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(run);
  }
  const clients = orderNames(runs.map((r) => r.result.client.name), opts.clients);
  const servers = orderNames(runs.map((r) => r.result.server.name), opts.servers);

  const scenarioMap = new Map<string, ScenarioInfo>();
  const yamlCache = new Map<string, string | undefined>();
  for (const run of runs) {
    const r = run.result;
    let s = scenarioMap.get(r.scenario);
    if (!s) scenarioMap.set(r.scenario, (s = { name: r.scenario, protocol: r.protocol, file: r.file, description: r.description ?? '', measurement: false }));
    if (typeof r.measurement === 'number') s.measurement = true;
    if (!s.yaml && typeof r.scenarioText === 'string' && r.scenarioText) s.yaml = r.scenarioText;
  }
  for (const s of scenarioMap.values()) {
    if (!s.yaml && s.file) s.yaml = readScenarioFile(s.file, opts.cwd, yamlCache);
    if (s.yaml) {
      const doc = parseScenarioYaml(s.yaml);
      if (!s.description && typeof doc?.description === 'string') s.description = oneLine(doc.description);
      if (doc?.network !== undefined) s.network = doc.network;
    }
  }
  const scenarios = [...scenarioMap.values()].sort((a, b) => protoRank(a.protocol) - protoRank(b.protocol) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const sIdx = new Map(scenarios.map((s, i) => [s.name, i]));
  const cIdx = new Map(clients.map((c, i) => [c, i]));
  const vIdx = new Map(servers.map((c, i) => [c, i]));

  const cells: Cell[] = [];
  for (const [key, group] of groups) {
    group.sort((a, b) => a.repeat - b.repeat || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    // Runs without a recorded index are numbered by their order.
    if (group.some((r) => r.repeat < 0)) group.forEach((r, i) => (r.repeat = r.repeat < 0 ? i : r.repeat));
    const first = group[0]!.result;
    const verdicts = new Set(group.map((r) => r.result.verdict));
    const flaky = verdicts.size > 1;
    const cell: Cell = {
      key,
      scenario: first.scenario,
      protocol: first.protocol,
      client: first.client.name,
      server: first.server.name,
      runs: group,
      verdict: flaky ? 'flaky' : first.verdict,
      flaky,
      passed: group.filter((r) => r.result.verdict === 'passed').length,
    };
    // The measurement of the runs that passed (a failed run's number measures a failure).
    const values = group
      .filter((r) => r.result.verdict === 'passed')
      .map((r) => r.result.measurement)
      .filter((m): m is number => typeof m === 'number' && Number.isFinite(m));
    if (values.length) cell.measurement = { values, ...meanStdev(values) };
    cells.push(cell);
  }
  cells.sort(
    (a, b) =>
      sIdx.get(a.scenario)! - sIdx.get(b.scenario)! || cIdx.get(a.client)! - cIdx.get(b.client)! || vIdx.get(a.server)! - vIdx.get(b.server)!,
  );
  return { root, clients, servers, scenarios, cells, runs: cells.flatMap((c) => c.runs), byKey: new Map(cells.map((c) => [c.key, c])) };
}

/** Mean and sample standard deviation (0 for one value), as quic-interop-runner reports measurements. */
export function meanStdev(values: number[]): { mean: number; stdev: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const stdev = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, stdev };
}

function readScenarioFile(file: string, cwd: string | undefined, cache: Map<string, string | undefined>): string | undefined {
  const path = resolve(cwd ?? process.cwd(), file);
  if (cache.has(path)) return cache.get(path);
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = undefined;
  }
  cache.set(path, text);
  return text;
}

/** A scenario YAML's top level (undefined when the text does not parse). */
export function parseScenarioYaml(yaml: string): Record<string, unknown> | undefined {
  try {
    const doc: unknown = parseYaml(yaml);
    return isObj(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** The verdict summary quic-interop-runner understands (it has no `error`). */
export const QIR_RESULT: Record<CellVerdict, 'succeeded' | 'failed' | 'unsupported'> = {
  passed: 'succeeded',
  failed: 'failed',
  unsupported: 'unsupported',
  error: 'failed',
  flaky: 'failed',
};

/** One line: newlines and runs of spaces collapsed. */
export const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

/** The first failing repetition's reason, for a cell's one-line summary. */
export function cellReason(cell: Cell): string {
  const bad = cell.runs.find((r) => r.result.verdict !== 'passed');
  return bad ? bad.result.reason : '';
}
