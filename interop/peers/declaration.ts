// Peer declarations (interop/peers/README.md): a peer.yaml says what an implementation supports per role and how each
// role starts; built-in peers and users' own files share the format and the schema (interop/peers/peer.schema.json).

import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { ScenarioError, YamlSchema } from '../scenario/yaml-schema.js';
import { parseDuration } from '../scenario/units.js';
import type { Protocol, Side } from '../scenario/model.js';

export type ReadySpec = { kind: 'udp' } | { kind: 'tcp' } | { kind: 'log'; pattern: RegExp } | { kind: 'delay'; ms: number } | { kind: 'none' };

/**
 * How a role runs step-scripted API scenarios (interop/peers/README.md, stream-io): a process driving the default stream
 * (stdin frames D = write, F = conclude; stdin EOF = close; stdout = what it read), or why the role has none.
 */
export type StreamIoForm =
  | {
      command: string[];
      env: Record<string, string>;
      label: string;
      features: string[];
      /** The close stdin EOF makes; undefined: not declared, so no shutdown step can run. */
      shutdown?: { rapid: boolean; code: number; reason: string };
      /**
       * `basic`: frames D and F on the default stream only. `api`: also the stream-addressed frames (O A Q W C R S X) and
       * an events file ({events}) reporting FIN, resets, STOP_SENDING and the close (interop/peers/README.md).
       */
      frames: 'basic' | 'api';
      /** api forms: the only STOP_SENDING codes the form can send (undefined: any). */
      stopSendingCodes?: number[];
    }
  | { unavailable: string };

export interface RoleDeclaration {
  protocols: Protocol[];
  alpns: string[];
  /** ALPN → who speaks it, when not the implementation itself (peer.yaml `alpn-labels`). */
  alpnLabels: Record<string, string>;
  versions: (1 | 2)[];
  features: string[];
  command: string[];
  env: Record<string, string>;
  cwd?: string;
  ready: ReadySpec;
  streamIo?: StreamIoForm;
}

export interface PeerDeclaration {
  name: string;
  description: string;
  /** Fixed version, or how to ask the installed peer. */
  version: string | { command: string[]; match?: string };
  install?: string;
  installed: string[];
  unsupportedExit: number[];
  roles: Partial<Record<Side, RoleDeclaration>>;
  /** The folder the declaration came from ({peerdir}). */
  dir: string;
  file: string;
  builtin: boolean;
}

/** Where peers install what is not a Debian package (versioned folders; rebuilt only when missing). */
export function cacheDir(): string {
  return process.env['CROSSWIRE_CACHE'] || join(homedir(), '.cache', 'crosswire');
}

/** The package root, from interop/peers or dist/interop/peers alike. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'interop', 'peers'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('crosswire package root not found');
}

export const PACKAGE_ROOT = packageRoot();
/** Built-in peer folders live in the source tree (their scripts are not compiled). */
export const BUILTIN_PEERS_DIR = join(PACKAGE_ROOT, 'interop', 'peers');

const schema = new YamlSchema(JSON.parse(readFileSync(join(BUILTIN_PEERS_DIR, 'peer.schema.json'), 'utf8')) as Record<string, unknown>);

/** Expands {cache} and {peerdir} (the placeholders known before a run). */
export function expandStatic(text: string, decl: Pick<PeerDeclaration, 'dir'>): string {
  return text.replaceAll('{cache}', cacheDir()).replaceAll('{peerdir}', decl.dir);
}

export function parsePeerFile(text: string, file: string, builtin = false): PeerDeclaration {
  const { data, loc } = schema.parse(text, file, 'a peer file must be a YAML mapping with at least name and roles');
  const problems: ScenarioError['problems'] = [];
  const roles: PeerDeclaration['roles'] = {};
  for (const side of ['client', 'server'] as const) {
    const r = data['roles']?.[side];
    if (!r) continue;
    let ready: ReadySpec = side === 'server' ? { kind: 'delay', ms: 500 } : { kind: 'none' };
    if (r.ready?.udp) ready = { kind: 'udp' };
    else if (r.ready?.tcp) ready = { kind: 'tcp' };
    else if (r.ready?.delay) ready = { kind: 'delay', ms: parseDuration(r.ready.delay) };
    else if (r.ready?.log !== undefined) {
      try {
        ready = { kind: 'log', pattern: new RegExp(r.ready.log) };
      } catch (e) {
        problems.push({ file, ...loc.value(['roles', side, 'ready', 'log']), message: `roles.${side}.ready.log is not a regular expression: ${(e as Error).message}` });
      }
    }
    roles[side] = {
      protocols: r.protocols,
      alpns: r.alpns ?? [],
      alpnLabels: r['alpn-labels'] ?? {},
      versions: r.versions ?? [1],
      features: r.features ?? [],
      command: r.command,
      env: r.env ?? {},
      ...(r.cwd ? { cwd: r.cwd } : {}),
      ready,
      ...(r['stream-io'] ? { streamIo: streamIoOf(r['stream-io'], r.command) } : {}),
    };
  }
  if (data['version'] && typeof data['version'] === 'object' && data['version'].match) {
    try {
      new RegExp(data['version'].match);
    } catch (e) {
      problems.push({ file, ...loc.value(['version', 'match']), message: `version.match is not a regular expression: ${(e as Error).message}` });
    }
  }
  if (problems.length) throw new ScenarioError(problems);
  const dir = dirname(resolve(file));
  return {
    name: data['name'],
    description: data['description'] ?? '',
    version: data['version'] ?? 'unknown',
    ...(data['install'] ? { install: isAbsolute(data['install']) ? data['install'] : join(dir, data['install']) } : {}),
    installed: data['installed'] ?? [],
    unsupportedExit: data['unsupported-exit'] ?? [127],
    roles,
    dir,
    file,
    builtin,
  };
}

/** A role's features, with those its stream-io form adds (what `peers list` shows). */
export function roleFeatures(role: RoleDeclaration): string[] {
  const extra = role.streamIo && 'features' in role.streamIo ? role.streamIo.features : [];
  return [...role.features, ...extra.filter((f) => !role.features.includes(f))];
}

function streamIoOf(f: Record<string, any>, roleCommand: string[]): StreamIoForm {
  if (typeof f['unavailable'] === 'string') return { unavailable: f['unavailable'] };
  return {
    command: f['command'],
    env: f['env'] ?? {},
    // Without a label, the program's file name stands for the form in reasons.
    label: f['label'] ?? String(f['command'][0] ?? roleCommand[0]).split('/').pop()!,
    features: f['features'] ?? [],
    ...(f['shutdown'] ? { shutdown: { rapid: f['shutdown'].rapid, code: f['shutdown'].code, reason: f['shutdown'].reason } } : {}),
    frames: f['frames'] === 'api' ? 'api' : 'basic',
    ...(f['stop-sending-codes'] ? { stopSendingCodes: f['stop-sending-codes'] } : {}),
  };
}

export function loadPeerFile(file: string, builtin = false): PeerDeclaration {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioError([{ file, line: 0, col: 0, message: `cannot read: ${(e as Error).message}` }]);
  }
  return parsePeerFile(text, file, builtin);
}

/** Peer files in a folder: *.yaml directly in it, and <sub>/peer.yaml one level down. */
export function peerFilesIn(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      if (existsSync(join(p, 'peer.yaml'))) out.push(join(p, 'peer.yaml'));
    } else if (/\.ya?ml$/.test(e)) out.push(p);
  }
  return out;
}

/** Is every file the declaration lists present? */
export function isInstalled(decl: PeerDeclaration): { ok: boolean; missing: string[] } {
  const missing = decl.installed.map((f) => expandStatic(f, decl)).filter((f) => !existsSync(f));
  return { ok: missing.length === 0, missing };
}

const versionCache = new Map<string, string>();
/** The installed version: the fixed string, or what the version command prints (cached per process). */
export function peerVersion(decl: PeerDeclaration): string {
  if (typeof decl.version === 'string') return decl.version;
  const key = decl.file;
  const hit = versionCache.get(key);
  if (hit) return hit;
  let v = 'unknown';
  try {
    const [cmd, ...args] = decl.version.command.map((a) => expandStatic(a, decl));
    const out = execFileSync(cmd!, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    const m = decl.version.match ? new RegExp(decl.version.match).exec(out) : null;
    v = (m ? (m[1] ?? m[0]) : out.split('\n')[0]!).trim() || 'unknown';
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    // Some programs print their version with a non-zero exit (usage output): still read it.
    const text = `${err.stdout ?? ''}${err.stderr ?? ''}`;
    const m = decl.version.match ? new RegExp(decl.version.match).exec(text) : null;
    v = m ? (m[1] ?? m[0]).trim() : 'not installed';
  }
  versionCache.set(key, v);
  return v;
}
