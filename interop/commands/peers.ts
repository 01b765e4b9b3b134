// `crosswire peers list|install|check` (DESIGN.md §5, §9): what each peer declares, provisioning on Debian 12 through
// each peer's own install.sh (the same step its Dockerfile runs), and a one-line self-test per peer: a handshake with
// crosswire's own engine on loopback, in each role the peer has (and its stream-io form: default-stream both ways).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { runCommand, usageError, EXIT_FAILURE, EXIT_OK } from '../cli-util.js';
import { cacheDir, isInstalled, peerVersion, roleFeatures, type PeerDeclaration } from '../peers/declaration.js';
import { loadRegistry, type PeerRegistry } from '../peers/registry.js';
import { loadScenario } from '../scenario/load.js';
import { SCHEMA_PATH } from '../scenario/load.js';
import { runLive } from '../runner/live.js';
import type { Protocol, Side } from '../scenario/model.js';
import { scenarioErrorExit } from './run.js';
import { dirname } from 'node:path';
import { buildPeerImages } from './peers-build.js';

interface PeersFlags {
  action: string;
  names?: string[];
  json?: boolean;
  'peers-file'?: string[];
  keep?: boolean;
}

function registryOrExit(files: string[] | undefined): PeerRegistry {
  return loadRegistry({ peersFiles: files });
}

function pick(reg: PeerRegistry, names: string[] | undefined): PeerDeclaration[] {
  if (!names?.length) return reg.all();
  try {
    return reg.resolve(names);
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

function describe(d: PeerDeclaration) {
  const inst = isInstalled(d);
  const roles = (['client', 'server'] as Side[]).filter((r) => d.roles[r]);
  const union = (f: (r: NonNullable<PeerDeclaration['roles'][Side]>) => readonly (string | number)[]) => [...new Set(roles.flatMap((r) => f(d.roles[r]!).map(String)))];
  return {
    name: d.name,
    version: inst.ok ? peerVersion(d) : 'not installed',
    installed: inst.ok,
    missing: inst.missing,
    roles,
    protocols: union((r) => r.protocols),
    alpns: union((r) => r.alpns.map((a) => (r.alpnLabels[a] ? `${a} (${r.alpnLabels[a]})` : a))),
    features: Object.fromEntries(roles.map((r) => [r, roleFeatures(d.roles[r]!)])),
    description: d.description,
    file: d.file,
    builtin: d.builtin,
  };
}

function list(reg: PeerRegistry, flags: PeersFlags): number {
  const rows = pick(reg, flags.names).map(describe);
  if (flags.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return EXIT_OK;
  }
  const table = rows.map((r) => [r.name, r.version, r.installed ? 'yes' : 'no', r.roles.join('+'), r.protocols.join(','), r.alpns.join(',')]);
  const head = ['peer', 'version', 'installed', 'roles', 'protocols', 'ALPNs'];
  const w = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const fmt = (t: string[]) => t.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  process.stdout.write([fmt(head), ...table.map(fmt)].join('\n') + '\n');
  for (const r of rows) {
    const feats = Object.entries(r.features).map(([role, f]) => `${role}: ${(f as string[]).join(' ') || '-'}`).join('; ');
    process.stdout.write(`  ${r.name} features — ${feats}${r.builtin ? '' : ` (from ${r.file})`}\n`);
  }
  return EXIT_OK;
}

function runScript(script: string, name: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CROSSWIRE_CACHE: cacheDir() } });
    const prefix = (chunk: Buffer, out: NodeJS.WriteStream) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) out.write(`[${name}] ${line}\n`);
    };
    child.stdout.on('data', (c: Buffer) => prefix(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => prefix(c, process.stderr));
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1)));
    child.on('error', () => resolve(127));
  });
}

async function install(reg: PeerRegistry, flags: PeersFlags): Promise<number> {
  let failed = 0;
  for (const d of pick(reg, flags.names)) {
    if (!d.install) {
      const inst = isInstalled(d);
      process.stdout.write(`[${d.name}] nothing to install (${inst.ok ? 'ready' : `missing ${inst.missing.join(', ')}`})\n`);
      if (!inst.ok) failed++;
      continue;
    }
    const t = Date.now();
    process.stdout.write(`[${d.name}] running ${d.install}\n`);
    const code = await runScript(d.install, d.name);
    const secs = ((Date.now() - t) / 1000).toFixed(1);
    const inst = isInstalled(d);
    if (code !== 0 || !inst.ok) {
      failed++;
      process.stderr.write(`crosswire: ${d.name}: install failed (exit ${code}${inst.ok ? '' : `; missing ${inst.missing.join(', ')}`}) after ${secs} s\n`);
    } else process.stdout.write(`[${d.name}] ready: version ${peerVersion(d)} (${secs} s)\n`);
  }
  return failed ? EXIT_FAILURE : EXIT_OK;
}

/** The smallest scenario per protocol that proves a handshake and a little data in both directions. */
const CHECK_SCENARIO: Record<Protocol, string | undefined> = { quic: 'quic/handshake.yaml', dtls: 'dtls/cookie-exchange.yaml', tls: undefined };
/** The same for a role's stream-io form (API scenarios). */
const CHECK_API_SCENARIO = 'api/default-stream.yaml';

async function check(reg: PeerRegistry, flags: PeersFlags): Promise<number> {
  const self = reg.get('self');
  if (!self) throw usageError('the self peer is missing from the registry');
  const catalog = dirname(SCHEMA_PATH);
  const work = mkdtempSync(join(tmpdir(), 'crosswire-check-'));
  let bad = 0;
  try {
    for (const d of pick(reg, flags.names)) {
      const inst = isInstalled(d);
      if (!inst.ok) {
        bad++;
        process.stdout.write(`${d.name.padEnd(12)} NOT INSTALLED (missing ${inst.missing[0]}; run: crosswire peers install ${d.name})\n`);
        continue;
      }
      const parts: string[] = [];
      for (const side of ['server', 'client'] as Side[]) {
        const role = d.roles[side];
        if (!role) continue;
        for (const proto of role.protocols) {
          const file = CHECK_SCENARIO[proto];
          if (!file) continue;
          const s = loadScenario(join(catalog, file));
          const [client, server] = side === 'server' ? [self, d] : [d, self];
          const r = await runLive(s, client, server, { seed: 1, outDir: join(work, `${d.name}-${side}-${proto}`) });
          const ok = r.verdict === 'passed';
          if (!ok && r.verdict !== 'unsupported') bad++;
          parts.push(`${side} ${proto}${r.client.alpn ? `/${r.client.alpn}` : ''} ${ok ? 'ok' : `${r.verdict.toUpperCase()}: ${r.reason.slice(0, 200)}`}`);
        }
        // A stream-io form (API scenarios): the default stream both ways, with FIN, through the form.
        if (role.streamIo && 'command' in role.streamIo) {
          const s = loadScenario(join(catalog, CHECK_API_SCENARIO));
          const [client, server] = side === 'server' ? [self, d] : [d, self];
          const r = await runLive(s, client, server, { seed: 1, outDir: join(work, `${d.name}-${side}-api`) });
          const ok = r.verdict === 'passed';
          if (!ok && r.verdict !== 'unsupported') bad++;
          parts.push(`${side} api (${role.streamIo.label}) ${ok ? 'ok' : `${r.verdict.toUpperCase()}: ${r.reason.slice(0, 200)}`}`);
        }
      }
      process.stdout.write(`${d.name.padEnd(12)} ${peerVersion(d).padEnd(10)} ${parts.join('; ') || 'no role speaks a protocol with a check scenario'}\n`);
    }
  } finally {
    if (!flags.keep) rmSync(work, { recursive: true, force: true });
    else process.stdout.write(`run folders kept in ${work}\n`);
  }
  return bad ? EXIT_FAILURE : EXIT_OK;
}

export const peersCommand: CommandModule<object, PeersFlags> = {
  command: 'peers <action> [names..]',
  describe: 'real peers: list what they declare, install them (Debian 12), check each with a handshake against crosswire',
  builder: (y: Argv) =>
    y
      .positional('action', { type: 'string', choices: ['list', 'install', 'check', 'build'], describe: 'list | install | check | build (container images, interop/docker/)' })
      .positional('names', { type: 'string', array: true, describe: 'peer names (default: all)' })
      .option('json', { type: 'boolean', default: false, describe: 'list: print JSON' })
      .option('keep', { type: 'boolean', default: false, describe: 'check: keep the run folders' })
      .option('peers-file', { type: 'string', array: true, describe: 'extra peer declarations (peer.yaml files or folders); ./peers/ is read too' })
      .example('crosswire peers list', 'name, version, installed?, roles, protocols, ALPNs and features of every peer')
      .example('crosswire peers install ngtcp2 quiche', 'provision two peers (idempotent; cached builds)')
      .example('crosswire peers check', 'one handshake with crosswire per peer and role') as unknown as Argv<PeersFlags>,
  handler: (argv) =>
    runCommand(async () => {
      let reg: PeerRegistry;
      try {
        reg = registryOrExit(argv['peers-file']);
      } catch (e) {
        const code = scenarioErrorExit(e);
        if (code !== undefined) return code;
        throw e;
      }
      if (argv.action === 'list') return list(reg, argv);
      if (argv.action === 'install') return install(reg, argv);
      if (argv.action === 'build') return buildPeerImages(argv.names);
      return check(reg, argv);
    }),
};
