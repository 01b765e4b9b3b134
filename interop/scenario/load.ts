// Loads scenario YAML: syntax, JSON Schema (scenarios/schema.json) and semantic checks, each error as file:line:col.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Locator, ScenarioError, YamlSchema } from './yaml-schema.js';
import { parseBitrate, parseDuration, parseSize } from './units.js';
import { FILTER_KINDS } from '../../simulator/classify.js';
import {
  DEFAULT_LINK,
  type ClientSettings,
  type Expectations,
  type Impairment,
  type LocatedStep,
  type Scenario,
  type StreamImpairment,
  type ServerSettings,
  type Side,
} from './model.js';

export { ScenarioError };

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
const schema = new YamlSchema(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>);

const IMPAIRMENT_KINDS = ['loss', 'droplist', 'corrupt', 'truncate', 'duplicate', 'reorder', 'jitter', 'blackhole', 'rebind', 'rate-limit'] as const;
/** Byte-stream impairments: TLS over TCP only. */
const STREAM_KINDS = ['split', 'close', 'reset'] as const;

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
  const { data, loc } = schema.parse(text, file, 'a scenario must be a YAML mapping with at least name and protocol');
  return normalize(data as Raw, file, loc);
}

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function normalize(raw: Raw, file: string, loc: Locator): Scenario {
  const problems: { file: string; line: number; col: number; message: string }[] = [];
  const fail = (path: (string | number)[], message: string) => problems.push({ file, ...loc.value(path), message });

  const isTls = raw['protocol'] === 'tls';
  const streamItems = (dir: 'to-server' | 'to-client'): [Raw, number][] =>
    ((raw['network']?.[dir] as Raw[] | undefined) ?? []).map((item, i): [Raw, number] => [item, i]).filter(([item]) => STREAM_KINDS.some((k) => k in item));
  const streamImpairments = (dir: 'to-server' | 'to-client'): StreamImpairment[] =>
    streamItems(dir).map(([item, i]) => {
      const kinds = [...STREAM_KINDS, ...IMPAIRMENT_KINDS].filter((k) => k in item);
      if (kinds.length !== 1) fail(['network', dir, i], `one impairment per list item, found ${kinds.join(' and ')}`);
      if (!isTls) fail(['network', dir, i], `${kinds[0]} impairs a byte stream: protocol tls only (${raw['protocol']} carries datagrams)`);
      if (item['only']) fail(['network', dir, i, 'only'], '`only` filters datagrams by packet kind; stream impairments take `connection`');
      const v = item[kinds[0]!] as Raw;
      const connection = v['connection'] !== undefined ? { connection: v['connection'] as number } : {};
      if ('split' in item) {
        if (v['at'] === undefined && v['every'] === undefined && v['max'] === undefined) fail(['network', dir, i, 'split'], 'split needs `at`, `every` or `max`');
        return { kind: 'split', ...(v['at'] ? { at: v['at'] } : {}), ...(v['every'] !== undefined ? { every: v['every'] } : {}), ...(v['max'] !== undefined ? { max: v['max'] } : {}), ...connection };
      }
      return { kind: 'close' in item ? 'close' : 'reset', after: v['after'], ...connection } as StreamImpairment;
    });

  const impairments = (dir: 'to-server' | 'to-client'): Impairment[] =>
    ((raw['network']?.[dir] as Raw[] | undefined) ?? []).flatMap((item, i): Impairment | Impairment[] => {
      if (STREAM_KINDS.some((k) => k in item)) return [];
      const kinds = IMPAIRMENT_KINDS.filter((k) => k in item);
      if (isTls && kinds.length) fail(['network', dir, i], `${kinds[0]} impairs datagrams; TLS runs over TCP: use split, close or reset`);
      if (kinds.length !== 1) {
        fail(['network', dir, i], kinds.length ? `one impairment per list item, found ${kinds.join(' and ')}` : `an impairment needs one of: ${IMPAIRMENT_KINDS.join(', ')}`);
        return { kind: 'droplist', indices: [] } as Impairment;
      }
      const kind = kinds[0]!;
      const v = item[kind] as Raw;
      const only = item['only'] as string[] | undefined;
      // The schema knows every name; only here is the scenario's protocol known: a DTLS kind never matches a QUIC datagram.
      only?.forEach((k, j) => {
        const belongs = (FILTER_KINDS as Record<string, string>)[k];
        if (belongs && belongs !== 'any' && belongs !== raw['protocol']) fail(['network', dir, i, 'only', j], `${k} is a ${belongs.toUpperCase()} packet kind; this scenario's protocol is ${raw['protocol']}`);
      });
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
    alpn: Array.isArray(e['alpn']) ? e['alpn'][0] : e['alpn'],
    alpns: e['alpn'] === undefined ? undefined : Array.isArray(e['alpn']) ? e['alpn'] : [e['alpn']],
    quicVersion: e['quic-version'],
    versions: e['versions'],
    cipherSuites: e['cipher-suites'],
    groups: e['groups'],
    cc: e['cc'],
    crypto: e['crypto'],
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
    ...(c['client-certificate'] ? { clientCertificate: c['client-certificate'] } : {}),
  };
  const server: ServerSettings = {
    ...endpoint(s),
    retry: s['retry'] ?? false,
    cookie: s['cookie'] ?? true,
    certificate: s['certificate'] ?? 'ec',
    zerortt: s['zerortt'] ?? true,
    tickets: s['tickets'] ?? true,
    ...(s['client-auth'] ? { clientAuth: s['client-auth'] } : {}),
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
    hrr: e['hrr'],
    alert: e['alert'] === undefined ? undefined : typeof e['alert'] === 'string' ? (e['alert'] === 'none' ? 'none' : { name: e['alert'] }) : { name: e['alert']['name'], ...(e['alert']['from'] ? { from: e['alert']['from'] } : {}) },
    clientAuth: e['client-auth'],
    verdict: e['verdict'] ?? 'passed',
  };

  const toServer = impairments('to-server');
  const toClient = impairments('to-client');
  const stream = { toServer: streamImpairments('to-server'), toClient: streamImpairments('to-client') };
  if (problems.length) throw new ScenarioError(problems.sort((a, b) => a.line - b.line || a.col - b.col));
  return {
    name: raw['name'],
    file,
    protocol: raw['protocol'],
    description: raw['description'] ?? '',
    testcase: raw['testcase'] ?? defaultTestcase(raw),
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
      stream,
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

/** quic-interop-runner's test case names: the TESTCASE a real endpoint understands. */
const QIR_TESTCASES = new Set(['handshake', 'transfer', 'retry', 'resumption', 'zerortt', 'http3', 'multiconnect', 'chacha20', 'keyupdate', 'v2', 'rebind-port', 'rebind-addr', 'connectionmigration', 'ecn', 'multiplexing', 'amplificationlimit', 'ipv6']);

/** A scenario without `testcase:`: its name when that is a QIR test case, else what its client workload amounts to. */
function defaultTestcase(raw: Raw): string {
  if (QIR_TESTCASES.has(raw['name'])) return raw['name'];
  const c: Raw = raw['client'] ?? {};
  if (c['zerortt']) return 'zerortt';
  if (c['resumption']) return 'resumption';
  if (c['key-update']) return 'keyupdate';
  if ((c['connections'] ?? 1) > 1) return 'multiconnect';
  return 'transfer';
}
