// Loopback QUIC download throughput, measured in one run so the ratios compare like with like on this machine:
// `crosswire serve` → `crosswire get` with each crypto backend (node, noble), and ngtcp2's gtlsserver → gtlsclient as
// the baseline. Prints MB/s per pair and ours/ngtcp2 ratios; never asserts a time. `--baseline DIR` also runs the
// crosswire pairs from another built checkout (its bin/crosswire.js), interleaved run by run, for an A/B in one run.
//
//   node dist/bench/quic-throughput.js [--size 100MB] [--runs 1] [--only self|ngtcp2] [--crypto node|noble] [--baseline DIR] [--json]
//     [--max-datagram-size N]   (passed to serve and get: loopback carries up to 64 KiB, so PMTU discovery may climb to N)

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makePki } from '../test/helpers/pki.js';
import { freeUdpPort, spawnPeer, type Peer } from '../test/helpers/proc.js';
import { emitBench, type BenchMetric } from './emit.js';

const GTLS_SERVER = '/usr/sbin/gtlsserver';
const GTLS_CLIENT = '/usr/bin/gtlsclient';
const CLI = 'bin/crosswire.js';

interface Options {
  size: number;
  runs: number;
  only?: 'self' | 'ngtcp2';
  crypto: ('node' | 'noble')[];
  /** Another crosswire checkout (built) to compare against. */
  baseline?: string;
  /** Passed to serve and get: lets PMTU discovery probe past 1472 on loopback (its MTU is 65536). */
  maxDatagramSize?: number;
  /** Human lines to stderr, one result line for bench/index.ts on stdout. */
  json: boolean;
}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad --size ${s} (e.g. 100MB, 512KB)`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * mult);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { size: parseSize('100MB'), runs: 1, crypto: ['node', 'noble'], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--size') o.size = parseSize(value());
    else if (a === '--runs') o.runs = Math.max(1, Number(value()) | 0);
    else if (a === '--only') {
      const v = value();
      if (v !== 'self' && v !== 'ngtcp2') throw new Error('--only takes self or ngtcp2');
      o.only = v;
    } else if (a === '--crypto') {
      const v = value();
      if (v !== 'node' && v !== 'noble') throw new Error('--crypto takes node or noble');
      o.crypto = [v];
    } else if (a === '--baseline') {
      const dir = resolve(value());
      if (!existsSync(join(dir, CLI))) throw new Error(`--baseline ${dir} has no ${CLI} (build it first)`);
      o.baseline = dir;
    } else if (a === '--max-datagram-size') o.maxDatagramSize = Number(value());
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

function makeFile(dir: string, name: string, size: number): string {
  const hash = createHash('sha256');
  const fd = openSync(join(dir, name), 'w');
  for (let left = size; left > 0; ) {
    const chunk = randomBytes(Math.min(left, 1 << 20));
    writeSync(fd, chunk);
    hash.update(chunk);
    left -= chunk.length;
  }
  closeSync(fd);
  return hash.digest('hex');
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Runs a client to completion; resolves with its wall time in ms (process start to exit, startup included). */
async function timedClient(cmd: string, args: string[]): Promise<{ ms: number; code: number | string; stderr: string }> {
  const t0 = performance.now();
  const p = spawnPeer(cmd, args);
  const code = await p.exited;
  return { ms: performance.now() - t0, code, stderr: p.stderr() };
}

async function withServer<T>(start: (port: number) => Peer, ready: (p: Peer, port: number) => Promise<void>, body: (port: number) => Promise<T>): Promise<T> {
  const port = await freeUdpPort();
  const server = start(port);
  try {
    await ready(server, port);
    return await body(port);
  } finally {
    await server.kill();
  }
}

/** gtlsserver -q prints nothing: wait until a UDP probe to its port is no longer refused. */
async function waitUdp(port: number): Promise<void> {
  const { createSocket } = await import('node:dgram');
  for (let i = 0; i < 100; i++) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      const done = (r: boolean) => {
        clearTimeout(t);
        s.close();
        resolve(r);
      };
      const t = setTimeout(() => done(false), 200);
      s.once('error', () => done(true));
      s.connect(port, '127.0.0.1', () => s.send(Buffer.alloc(1200)));
    });
    if (!refused) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gtlsserver never listened on ${port}`);
}

interface Result {
  name: string;
  ms: number[];
}

let out = (s: string) => void process.stdout.write(s);

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.json) out = (s) => void process.stderr.write(s);
  if (!existsSync(CLI)) throw new Error(`run from the repository root after npm run build (${CLI} not found)`);
  const pki = makePki();
  const root = mkdtempSync(join(tmpdir(), 'crosswire-bench-'));
  const outDir = mkdtempSync(join(tmpdir(), 'crosswire-bench-out-'));
  const name = 'bench.bin';
  const mb = o.size / (1024 * 1024);
  // Shared machines: the load next to the numbers says how far to trust them.
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  out(`quic-throughput: ${mb.toFixed(1)} MiB over loopback UDP, ${o.runs} run(s) each; client wall time incl. process start; load ${load()}\n`);
  const want = makeFile(root, name, o.size);
  const results: Result[] = [];

  const check = (path: string, label: string, r: { code: number | string; stderr: string }) => {
    if (r.code !== 0) throw new Error(`${label}: client exited ${r.code}: ${r.stderr.slice(-400)}`);
    if (sha256(path) !== want) throw new Error(`${label}: downloaded file differs`);
    rmSync(path);
  };

  try {
    if (o.only !== 'ngtcp2') {
      const mdsArgs = o.maxDatagramSize ? ['--max-datagram-size', String(o.maxDatagramSize)] : [];
      const builds = [{ label: 'crosswire', cli: CLI }, ...(o.baseline ? [{ label: 'baseline', cli: join(o.baseline, CLI) }] : [])];
      for (const crypto of o.crypto) {
        const res = builds.map((b): Result => ({ name: `${b.label} ${crypto}`, ms: [] }));
        for (let run = 0; run < o.runs; run++) {
          // Interleaved, so a change in machine load hits both builds alike.
          for (const [i, b] of builds.entries()) {
            const r = res[i]!;
            await withServer(
              (port) => spawnPeer(process.execPath, [b.cli, 'serve', `quic://127.0.0.1:${port}`, '--cert', pki.leaf.ec.cert, '--key', pki.leaf.ec.key, '--root', root, '--crypto', crypto, ...mdsArgs]),
              (p) => p.waitFor(/listening on/, 60_000),
              async (port) => {
                const out = join(outDir, name);
                const c = await timedClient(process.execPath, [b.cli, 'get', `https://localhost:${port}/${name}`, '--ca', pki.ca, '--crypto', crypto, '--out', out, '--timeout', '3600', ...mdsArgs]);
                check(out, r.name, c);
                r.ms.push(c.ms);
              },
            );
            out(`  ${r.name}: ${(mb / (r.ms.at(-1)! / 1000)).toFixed(2)} MB/s\n`);
          }
        }
        results.push(...res);
      }
    }
    if (o.only !== 'self') {
      if (!existsSync(GTLS_SERVER) || !existsSync(GTLS_CLIENT)) throw new Error('ngtcp2 baseline missing: apt-get install -y ngtcp2-server ngtcp2-client');
      const res: Result = { name: 'ngtcp2 gtls', ms: [] };
      for (let run = 0; run < o.runs; run++) {
        await withServer(
          (port) => spawnPeer(GTLS_SERVER, ['127.0.0.1', String(port), pki.leaf.ec.key, pki.leaf.ec.cert, '-d', root, '-q']),
          (_p, port) => waitUdp(port),
          async (port) => {
            const r = await timedClient(GTLS_CLIENT, ['127.0.0.1', String(port), `https://localhost:${port}/${name}`, '--exit-on-all-streams-close', '-q', `--download=${outDir}`]);
            check(join(outDir, name), res.name, r);
            res.ms.push(r.ms);
          },
        );
        out(`  ${res.name}: ${(mb / (res.ms.at(-1)! / 1000)).toFixed(2)} MB/s\n`);
      }
      results.push(res);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }

  // The median run of each pair: one slow outlier on a shared machine should not decide the ratio.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rate = (r: Result) => mb / (median(r.ms) / 1000);
  out(`\nload at the end: ${load()}\npair                 MB/s     seconds\n`);
  for (const r of results) out(`${r.name.padEnd(20)} ${rate(r).toFixed(2).padStart(7)}  ${(median(r.ms) / 1000).toFixed(2).padStart(8)}\n`);
  const base = results.find((r) => r.name.startsWith('ngtcp2'));
  if (base) {
    for (const r of results) if (r !== base) out(`ratio ${r.name} / ngtcp2: ${(rate(r) / rate(base)).toFixed(3)}\n`);
  }
  for (const r of results) {
    if (!r.name.startsWith('crosswire ')) continue;
    const old = results.find((x) => x.name === r.name.replace('crosswire ', 'baseline '));
    if (old) out(`ratio ${r.name} / ${old.name}: ${(rate(r) / rate(old)).toFixed(3)}\n`);
  }
  if (o.json) {
    const metrics: BenchMetric[] = [];
    const before = (r: Result) => results.find((x) => x.name === r.name.replace('crosswire ', 'baseline '));
    for (const r of results) {
      if (r.name.startsWith('baseline ')) continue;
      // A run with --max-datagram-size is a second P3 row set, named apart (ngtcp2 keeps its own datagram size).
      const mds = o.maxDatagramSize ? (r === base ? ` (beside ${o.maxDatagramSize})` : `, ${o.maxDatagramSize}-byte datagrams`) : '';
      const key = r.name.replace(/\s+/g, '-') + (o.maxDatagramSize ? `-mds${o.maxDatagramSize}` : '');
      const old = before(r);
      metrics.push({ id: `p3.${key}.mbps`, name: `P3 loopback ${mb.toFixed(0)} MiB, ${r.name}${mds} (MB/s)`, value: rate(r), unit: 'MB/s', better: 'higher', ...(old && old !== r ? { before: rate(old) } : {}) });
      if (base && r !== base) {
        metrics.push({ id: `p3.${key}.vs-ngtcp2`, name: `P3 ${r.name}${mds} / ngtcp2`, value: rate(r) / rate(base), unit: '×', goal: '≥ 0.5', better: 'higher', ...(old && old !== r ? { before: rate(old) / rate(base) } : {}) });
      }
    }
    emitBench({ bench: 'quic-throughput', metrics, notes: [`quic-throughput: load at the end ${load()}`] });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`quic-throughput: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
