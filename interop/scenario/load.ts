// Loads scenario YAML: syntax, JSON Schema (scenarios/schema.json) and semantic checks, each error as file:line:col.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument, isMap, isScalar, type Document, type Node } from 'yaml';
import Ajv, { type ErrorObject } from 'ajv';
import { parseBitrate, parseDuration, parseSize } from './units.js';
import {
  DEFAULT_LINK,
  type ClientSettings,
  type Expectations,
  type Impairment,
  type LocatedStep,
  type Scenario,
  type ServerSettings,
  type Side,
} from './model.js';

/** A user error in a scenario file: printed as `file:line:col: message`, exit code 2. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
  constructor(readonly problems: { file: string; line: number; col: number; message: string }[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n'));
  }
}

const here = dirname(fileURLToPath(import.meta.url));
/** The schema lives in scenarios/; from dist/interop/scenario or interop/scenario alike, walk up to the package root. */
function findSchemaPath(): string {
  let dir = here;
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'scenarios', 'schema.json');
    try {
      statSync(p);
      return p;
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error('scenarios/schema.json not found next to the crosswire package');
}

export const SCHEMA_PATH = findSchemaPath();
// Compiled on first use: every CLI command imports this module, and compiling the schema costs a second of CPU at
// the start of commands (get, serve, connect) that never load a scenario.
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
let compiled: ReturnType<Ajv.default['compile']> | undefined;
function validator(): ReturnType<Ajv.default['compile']> {
  compiled ??= new Ajv.default({ allErrors: true, strict: false }).compile(schema);
  return compiled;
}

const IMPAIRMENT_KINDS = ['loss', 'droplist', 'corrupt', 'truncate', 'duplicate', 'reorder', 'jitter', 'blackhole', 'rebind', 'rate-limit'] as const;

type Located = { line: number; col: number };

class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lc: LineCounter,
  ) {}

  at(offset: number): Located {
    const p = this.lc.linePos(offset);
    return { line: p.line, col: p.col };
  }

  node(path: (string | number)[]): Node | undefined {
    if (path.length === 0) return this.doc.contents ?? undefined;
    return this.doc.getIn(path, true) as Node | undefined;
  }

  /** Position of the value at path, or of the nearest ancestor that exists. */
  value(path: (string | number)[]): Located {
    for (let n = path.length; n >= 0; n--) {
      const node = this.node(path.slice(0, n));
      if (node?.range) return this.at(node.range[0]);
    }
    return { line: 1, col: 1 };
  }

  /** Position of the key `key` inside the map at path (falls back to the map). */
  key(path: (string | number)[], key: string): Located {
    const map = this.node(path);
    if (isMap(map)) {
      for (const pair of map.items) {
        const k = pair.key as Node | null;
        if (isScalar(k) && String(k.value) === key && k.range) return this.at(k.range[0]);
      }
    }
    return this.value(path);
  }
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describePath(path: (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || 'the document';
}

function schemaAt(schemaPath: string): Record<string, unknown> | undefined {
  // "#/properties/network/.../pattern" → the subschema owning the failed keyword
  const parts = schemaPath.replace(/^#\//, '').split('/').slice(0, -1);
  let cur: unknown = schema;
  for (const p of parts) {
    if (cur && typeof cur === 'object') cur = (cur as Record<string, unknown>)[p.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  if (cur && typeof cur === 'object' && '$ref' in (cur as object)) {
    const ref = String((cur as Record<string, unknown>)['$ref']).replace('#/definitions/', '');
    return (schema['definitions'] as Record<string, Record<string, unknown>>)[ref];
  }
  return cur as Record<string, unknown> | undefined;
}

function explain(err: ErrorObject, loc: Locator): { at: Located; message: string; depth: number } {
  const path = pointerToPath(err.instancePath);
  const where = describePath(path);
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String(p['additionalProperty']);
      const allowed = Object.keys((schemaAt(err.schemaPath)?.['properties'] as object) ?? {});
      return { at: loc.key(path, key), depth: path.length + 1, message: `unknown key '${key}' in ${where}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}` };
    }
    case 'required':
      return { at: loc.value(path), depth: path.length, message: `missing required key '${String(p['missingProperty'])}' in ${where}` };
    case 'enum':
      return { at: loc.value(path), depth: path.length, message: `${where} must be one of: ${(p['allowedValues'] as unknown[]).map(String).join(', ')}` };
    case 'pattern': {
      const sub = schemaAt(err.schemaPath);
      const desc = typeof sub?.['description'] === 'string' ? String(sub['description']) : `a value matching ${String(p['pattern'])}`;
      const value = loc.node(path);
      const shown = isScalar(value) ? JSON.stringify(value.value) : 'value';
      return { at: loc.value(path), depth: path.length, message: `${where}: ${shown} is not ${desc.replace(/^an? /, (m) => m)}` };
    }
    case 'type':
      return { at: loc.value(path), depth: path.length, message: `${where} must be ${String(p['type'])}` };
    case 'minProperties':
      return { at: loc.value(path), depth: path.length, message: `${where} must not be empty` };
    case 'maxProperties':
      return { at: loc.value(path), depth: path.length, message: `${where} must have exactly one action` };
    case 'oneOf':
      return { at: loc.value(path), depth: path.length - 0.5, message: `${where} is not a valid ${path.includes('steps') ? 'step' : 'value'}` };
    default:
      return { at: loc.value(path), depth: path.length, message: `${where} ${err.message ?? 'is invalid'}` };
  }
}

/** Parses and validates one scenario file; throws ScenarioError with every problem found. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioError([{ file, line: 0, col: 0, message: `cannot read: ${(e as Error).message}` }]);
  }
  return parseScenario(text, file);
}

export function parseScenario(text: string, file: string): Scenario {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const loc = new Locator(doc, lc);
  if (doc.errors.length) {
    throw new ScenarioError(
      doc.errors.map((e) => {
        const at = loc.at(e.pos[0]);
        return { file, ...at, message: `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '')}` };
      }),
    );
  }
  const data = doc.toJS() as unknown;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new ScenarioError([{ file, line: 1, col: 1, message: 'a scenario must be a YAML mapping with at least name and protocol' }]);
  }
  const validate = validator();
  if (!validate(data)) {
    const seen = new Set<string>();
    const problems = (validate.errors ?? [])
      .map((e) => explain(e, loc))
      // the most specific errors first; drop the oneOf summaries when a deeper error explains them
      .sort((a, b) => b.depth - a.depth)
      .filter((p) => {
        const k = `${p.at.line}:${p.at.col}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      })
      .sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col)
      .map((p) => ({ file, ...p.at, message: p.message }));
    throw new ScenarioError(problems);
  }
  return normalize(data as Raw, file, loc);
}

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function normalize(raw: Raw, file: string, loc: Locator): Scenario {
  const problems: { file: string; line: number; col: number; message: string }[] = [];
  const fail = (path: (string | number)[], message: string) => problems.push({ file, ...loc.value(path), message });

  const impairments = (dir: 'to-server' | 'to-client'): Impairment[] =>
    ((raw['network']?.[dir] as Raw[] | undefined) ?? []).map((item, i) => {
      const kinds = IMPAIRMENT_KINDS.filter((k) => k in item);
      if (kinds.length !== 1) {
        fail(['network', dir, i], kinds.length ? `one impairment per list item, found ${kinds.join(' and ')}` : `an impairment needs one of: ${IMPAIRMENT_KINDS.join(', ')}`);
        return { kind: 'droplist', indices: [] } as Impairment;
      }
      const kind = kinds[0]!;
      const v = item[kind] as Raw;
      const only = item['only'] as string[] | undefined;
      const withOnly = <T extends object>(x: T) => (only ? { ...x, only } : x) as Impairment;
      switch (kind) {
        case 'loss':
          return withOnly({ kind, rate: v['rate'], burst: v['burst'] ?? 1, ...(v['max-burst'] !== undefined ? { maxBurst: v['max-burst'] } : {}) });
        case 'droplist':
          return withOnly({ kind, indices: item[kind] as number[] });
        case 'corrupt':
          return withOnly({ kind, rate: v['rate'], bytes: v['bytes'] ?? 1, within: v['within'] });
        case 'truncate':
          if ((v['to'] === undefined) === (v['fraction'] === undefined)) fail(['network', dir, i, kind], 'truncate needs exactly one of `to` (bytes) or `fraction`');
          return withOnly({ kind, rate: v['rate'], to: v['to'], fraction: v['fraction'] });
        case 'duplicate':
          return withOnly({ kind, rate: v['rate'], delayMs: v['delay'] ? parseDuration(v['delay']) : 0 });
        case 'reorder':
          if (v['depth'] === undefined && v['delay'] === undefined) fail(['network', dir, i, kind], 'reorder needs `depth` (datagrams) or `delay`');
          return withOnly({ kind, rate: v['rate'], depth: v['depth'], delayMs: v['delay'] ? parseDuration(v['delay']) : undefined });
        case 'jitter':
          return withOnly({ kind, maxMs: parseDuration(v['max']), distribution: v['distribution'] ?? 'uniform', allowReorder: v['allow-reorder'] ?? false });
        case 'blackhole':
          return withOnly({
            kind,
            windows: (v['windows'] as Raw[]).map((w, j) => {
              const fromMs = parseDuration(w['from']);
              const toMs = parseDuration(w['to']);
              if (toMs <= fromMs) fail(['network', dir, i, kind, 'windows', j, 'to'], 'a blackhole window must end after it starts');
              return { fromMs, toMs };
            }),
          });
        case 'rebind':
          if (dir !== 'to-server') fail(['network', dir, i], 'rebind changes the client address: put it under to-server');
          return withOnly({ kind, atMs: (v['at'] as string[]).map(parseDuration), change: v['change'] ?? 'port' });
        case 'rate-limit':
          return withOnly({ kind, bps: parseBitrate(v['rate']), burstBytes: v['burst'] ? parseSize(v['burst']) : 15_000 });
      }
    });

  const link = raw['network']?.['link'] ?? {};
  const endpoint = (e: Raw) => ({
    alpn: e['alpn'],
    quicVersion: e['quic-version'],
    versions: e['versions'],
    cipherSuites: e['cipher-suites'],
    groups: e['groups'],
    cc: e['cc'],
    keyUpdate: e['key-update'],
    streamMode: e['stream-mode'],
    incomingStreams: e['incoming-streams'],
    acceptQueue: e['accept-queue'],
    idleTimeoutMs: e['idle-timeout'] ? parseDuration(e['idle-timeout']) : undefined,
    mtu: e['mtu'],
  });
  const c: Raw = raw['client'] ?? {};
  const s: Raw = raw['server'] ?? {};
  const client: ClientSettings = {
    ...endpoint(c),
    connections: c['connections'] ?? (c['resumption'] || c['zerortt'] ? 2 : 1),
    parallel: c['parallel'] ?? false,
    requests: ((c['requests'] as Raw[] | undefined) ?? []).map((r) => ({ size: parseSize(r['size']), path: r['path'], count: r['count'] ?? 1 })),
    messages: ((c['messages'] as Raw[] | undefined) ?? []).map((m) => ({ text: m['text'], size: m['size'] ? parseSize(m['size']) : undefined })),
    resumption: c['resumption'] ?? false,
    zerortt: c['zerortt'] ?? false,
    spoofedClientHellos: c['spoofed-clienthellos'] ?? 0,
  };
  const server: ServerSettings = {
    ...endpoint(s),
    retry: s['retry'] ?? false,
    cookie: s['cookie'] ?? true,
    certificate: s['certificate'] ?? 'ec',
    zerortt: s['zerortt'] ?? true,
    tickets: s['tickets'] ?? true,
  };
  if (client.zerortt && client.connections < 2) fail(['client', 'connections'], '0-RTT needs at least 2 connections (the first one gets the ticket)');

  const steps: LocatedStep[] = [];
  const bound: Record<Side, Set<string>> = { client: new Set(), server: new Set() };
  ((raw['steps'] as Raw[] | undefined) ?? []).forEach((item, i) => {
    const op = Object.keys(item)[0]!;
    const v = item[op];
    const at = loc.value(['steps', i]);
    const side: Side = (v && typeof v === 'object' && v['side']) || 'client';
    const needStream = () => {
      if (!bound[side].has(v['stream'])) fail(['steps', i, op, 'stream'], `stream '${v['stream']}' is not open on the ${side} side here (bind it first with open-stream or accept-stream)`);
    };
    const oneOfDataSize = () => {
      if ((v['data'] === undefined) === (v['size'] === undefined)) fail(['steps', i, op], `${op} needs exactly one of data or size`);
    };
    const push = (s: object) => steps.push({ ...(s as LocatedStep), ...at });
    switch (op) {
      case 'open-stream':
      case 'accept-stream':
        bound[side].add(v['name']);
        push(op === 'open-stream' ? { op, side, name: v['name'], type: v['type'] ?? 'bidi' } : { op, side, name: v['name'], expect: v['expect'] ?? 'accepted' });
        break;
      case 'write':
      case 'expect-read':
        needStream();
        oneOfDataSize();
        push({ op, side, stream: v['stream'], data: v['data'], size: v['size'] ? parseSize(v['size']) : undefined });
        break;
      case 'conclude':
      case 'expect-fin':
        needStream();
        push({ op, side, stream: v['stream'] });
        break;
      case 'reset':
      case 'stop-sending':
      case 'expect-reset':
      case 'expect-stop-sending':
        needStream();
        push({ op, side, stream: v['stream'], code: v['code'] });
        break;
      case 'expect-state':
        needStream();
        push({ op, side, stream: v['stream'], read: v['read'], write: v['write'] });
        break;
      case 'shutdown':
        push({ op, side, rapid: v['rapid'] ?? false, code: v['code'] ?? 0, reason: v['reason'] ?? '' });
        break;
      case 'expect-close-info':
        push({ op, side, code: v['code'], reason: v['reason'], remote: v['remote'], transport: v['transport'] });
        break;
      case 'wait':
        push(typeof v === 'string' ? { op, ms: parseDuration(v) } : { op, until: v['until'], ms: v['max'] ? parseDuration(v['max']) : 30_000 });
        break;
      case 'advance':
        push({ op, ms: parseDuration(v) });
        break;
      case 'key-update':
        push({ op, side });
        break;
    }
  });

  const e: Raw = raw['expect'] ?? {};
  const expect: Expectations = {
    handshakes: e['handshakes'],
    withinMs: e['within'] ? parseDuration(e['within']) : undefined,
    files: e['files'],
    messages: e['messages'],
    retry: e['retry'],
    amplification: e['amplification'],
    keyUpdates: e['key-updates'],
    dtlsCookie: e['dtls-cookie'],
    resumed: e['resumed'],
    zerortt: e['zerortt'],
    versions: e['versions'],
    version: e['version'],
    goodputBps: e['goodput'] ? parseBitrate(e['goodput']) : undefined,
    closeInfo: e['close-info'],
    maxServerStates: e['max-server-states'],
    cipherSuite: e['cipher-suite'],
    verdict: e['verdict'] ?? 'passed',
  };

  const toServer = impairments('to-server');
  const toClient = impairments('to-client');
  if (problems.length) throw new ScenarioError(problems.sort((a, b) => a.line - b.line || a.col - b.col));
  return {
    name: raw['name'],
    file,
    protocol: raw['protocol'],
    description: raw['description'] ?? '',
    tags: raw['tags'] ?? [],
    requires: raw['requires'] ?? [],
    seed: raw['seed'],
    timeoutMs: raw['timeout'] ? parseDuration(raw['timeout']) : 300_000,
    network: {
      link: {
        delayMs: link['delay'] ? parseDuration(link['delay']) : DEFAULT_LINK.delayMs,
        bandwidthBps: link['bandwidth'] ? parseBitrate(link['bandwidth']) : DEFAULT_LINK.bandwidthBps,
        queue: link['queue'] ?? DEFAULT_LINK.queue,
        mtu: link['mtu'] ?? DEFAULT_LINK.mtu,
      },
      toServer,
      toClient,
    },
    client,
    server,
    steps,
    expect,
  };
}

/** Expands files and directories (recursively, *.yaml / *.yml, sorted) into scenario file paths. */
export function findScenarioFiles(inputs: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) walk(join(p, name));
    } else if (/\.ya?ml$/.test(p)) out.push(p);
  };
  for (const input of inputs) {
    try {
      walk(input);
    } catch (e) {
      throw new ScenarioError([{ file: input, line: 0, col: 0, message: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
    }
  }
  return out;
}

