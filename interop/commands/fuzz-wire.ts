// `crosswire fuzz-wire <quic|dtls|tls> --role client|server --inputs N` (DESIGN.md §5, issue 14 item 14): seeded
// datagram/record mutations into our engines in virtual time; findings minimised and saved with replay commands; the
// last line is `N inputs, E exceptions, H hangs, max amplification X.Y×`, and fuzz-wire.json holds the figures.
// With --peer NAME the same mutations go to a real peer's process in real time (interop/fuzz-wire/live.ts); the last
// line adds `, C crashes` and `--seed S --input I` runs one input again.

import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { CliError, runCommand, usageError, EXIT_FAILURE, EXIT_OK } from '../cli-util.js';
import { batchFromSaved, runCampaign, summaryLine } from '../fuzz-wire/campaign.js';
import { runBatch, type Protocol, type Role } from '../fuzz-wire/harness.js';
import { targetFor } from '../fuzz-wire/targets.js';
import { seedArg } from './seed.js';
import type { QuicFault } from '../../engine/quic/config.js';
import { loadRegistry } from '../peers/registry.js';
import { scenarioErrorExit } from './run.js';
import { runLiveCampaign, liveSummaryLine } from '../fuzz-wire/live.js';

interface FuzzWireFlags {
  protocol: Protocol;
  role: Role;
  inputs: number;
  seed: number;
  jobs: number;
  batch: number;
  out: string;
  replay?: string;
  'shrink-runs': number;
  quiet: boolean;
  'stuck-time': number;
  'inject-fault'?: string[];
  peer?: string;
  'peers-file'?: string[];
  input?: number[];
  'check-every': number;
  'client-timeout': number;
  'in-flight'?: number;
  'live-timeout': number;
  'input-quiet': number;
  'input-max': number;
  linger: number;
}

export const fuzzWireCommand: CommandModule<object, FuzzWireFlags> = {
  command: 'fuzz-wire <protocol>',
  describe: 'feed seeded mutated datagrams/records to our QUIC, DTLS or TLS engine at every handshake stage, or with --peer to a real peer process (crashes, hangs, amplification)',
  builder: (y: Argv) =>
    y
      .positional('protocol', { choices: ['quic', 'dtls', 'tls'] as const, demandOption: true, describe: 'the engine to fuzz' })
      .option('role', { choices: ['client', 'server'] as const, demandOption: true, describe: 'the role under test: our engine\'s (the other side is a recorded genuine peer), or with --peer the real peer\'s (our engine plays the other role)' })
      .option('inputs', { type: 'number', default: 10_000, describe: 'mutated datagrams/records to feed' })
      .option('seed', { type: 'string', default: '1', coerce: seedArg('--seed'), describe: 'seed of the mutations (an integer, 0 to 2^53)' })
      .option('jobs', { alias: 'j', type: 'number', default: 1, describe: 'worker threads (with --peer: peer processes side by side, each on its own port)' })
      .option('batch', { type: 'number', default: 16, describe: 'inputs per engine instance (1 isolates every input; a killed instance is replaced)' })
      .option('out', { type: 'string', default: 'fuzz-wire-results', describe: 'directory for fuzz-wire.json and the findings' })
      .option('replay', { type: 'string', describe: 'run one saved finding (finding-*.json) again; exit 1 if it still fails the same way' })
      .option('shrink-runs', { type: 'number', default: 400, describe: 'runs allowed to minimise each distinct finding' })
      .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress lines on stderr' })
      .option('inject-fault', { type: 'string', array: true, hidden: true, describe: 'switch on a QUIC engine fault (harness self-tests)' })
      .option('peer', { type: 'string', describe: 'fuzz this real peer (ngtcp2, quiche, openssl, openssl-3.0 or one from --peers-file) through the mutation stage instead of our engine; --role is the role it plays' })
      .option('peers-file', { type: 'string', array: true, describe: 'extra peer declarations (peer.yaml files or folders), as for run' })
      .option('input', { type: 'number', array: true, describe: 'with --peer: run only input I (repeatable) of the campaign --seed, printing its mutated bytes and what the peer did' })
      .option('check-every', { type: 'number', default: 10, describe: 'with --peer: a clean liveness handshake after every K inputs (1 = after each)' })
      .option('in-flight', { type: 'number', describe: 'with --peer: inputs side by side on each peer process, own socket each (default 4 for QUIC; 1 for TLS: s_server-like servers take one connection at a time, and inputs queued behind another would look like silence; DTLS server: 1, more for a server that serves clients concurrently like the OpenSSL peers\' ossl-dtls-server; --role client: client runs side by side, jobs × in-flight)' })
      .option('client-timeout', { type: 'number', default: 70, describe: 'with --peer --role client: seconds a client run may live at all before it counts as hung (past its own handshake and idle timeouts)' })
      .option('live-timeout', { type: 'number', default: 5, describe: 'with --peer: seconds the liveness handshake may take before the peer counts as hung' })
      .option('input-quiet', { type: 'number', default: 150, describe: 'with --peer: ms without traffic after the mutation that end an input' })
      .option('input-max', { type: 'number', default: 3000, describe: 'with --peer: ms an input may last at most' })
      .option('linger', { type: 'number', default: 8000, describe: 'with --peer: ms the client socket of an input that abandoned its connection keeps counting what the peer sends (its handshake retransmissions before validation count toward amplification; others linger at most 1 s)' })
      .option('stuck-time', { type: 'number', default: 20, describe: 'seconds a worker may spend in one batch before it counts as an endless loop (a hang)' })
      .example('$0 fuzz-wire quic --role server --inputs 20000 --seed 7', 'fuzz our QUIC server with 20,000 mutated client datagrams')
      .example('$0 fuzz-wire dtls --role client --inputs 1000000 --jobs 2 --out /tmp/fw', 'a million inputs on two threads')
      .example('$0 fuzz-wire quic --peer ngtcp2 --role server --inputs 2000 --seed 7 --jobs 2', 'fuzz the ngtcp2 server process through the mutation stage')
      .example('$0 fuzz-wire quic --peer ngtcp2 --role server --seed 7 --input 1234', 'run input 1234 of that campaign again')
      .example('$0 fuzz-wire quic --role server --replay fuzz-wire-results/finding-1-exception.json', 'replay a saved, minimised finding') as unknown as Argv<FuzzWireFlags>,
  handler: (argv) =>
    runCommand(async () => {
      if (argv.peer) return live(argv);
      if (argv.input) throw usageError('--input needs --peer (virtual-time findings replay with --replay FILE)');
      if (argv.replay) return replay(argv);
      if (!(argv.inputs >= 1) || !Number.isInteger(argv.inputs)) throw usageError('--inputs must be a positive integer');
      if (!(argv.jobs >= 1) || !Number.isInteger(argv.jobs)) throw usageError('--jobs must be a positive integer');
      if (!(argv.batch >= 1) || !Number.isInteger(argv.batch)) throw usageError('--batch must be a positive integer');
      if (!(argv['stuck-time'] > 0)) throw usageError('--stuck-time must be a number of seconds > 0');
      if (!(argv['shrink-runs'] >= 0) || !Number.isInteger(argv['shrink-runs'])) throw usageError('--shrink-runs must be an integer ≥ 0');
      const faults = checkWireFaults(argv);
      const name = `${argv.protocol}/${argv.role}`;
      const r = await runCampaign({
        protocol: argv.protocol,
        role: argv.role,
        inputs: argv.inputs,
        seed: argv.seed,
        jobs: argv.jobs,
        batch: argv.batch,
        out: argv.out,
        shrinkRuns: argv['shrink-runs'],
        faults,
        stuckMs: argv['stuck-time'] * 1000,
        onProgress: argv.quiet
          ? undefined
          : (p) =>
              process.stderr.write(
                `fuzz-wire ${name}: ${p.done}/${p.total} inputs, ${p.inputsPerSecond.toFixed(0)}/s, ${p.exceptions} exceptions, ${p.hangs} hangs, max amplification ${p.maxAmplification.toFixed(1)}×\n`,
              ),
      });
      process.stdout.write(
        `fuzz-wire ${name}: seed ${r.seed}, ${r.inputs} inputs in ${r.seconds.toFixed(1)} s (${r.inputsPerSecond.toFixed(0)} inputs/s, ${r.jobs} job(s), batch ${r.batch}); ` +
          `${r.amplificationFindings} over 3× amplification, ${r.stateFindings} state before validation, heap ${r.heap.earlyMB.toFixed(0)} → ${r.heap.endMB.toFixed(0)} MB\n`,
      );
      for (const f of r.findings) {
        process.stdout.write(
          `  ${f.kind} (${f.occurrences}×) at stage ${f.stage} (${f.stageLabel}), ${f.mode}: ${f.detail.split('\n', 1)[0]}\n` +
            (f.minimized.runs
              ? `    minimised in ${f.minimized.runs} run(s), ${(f.minimized.ms / 1000).toFixed(1)} s: ${f.minimized.inputsBefore} → ${f.minimized.inputsAfter} input(s), ${f.minimized.bytesBefore} → ${f.minimized.bytesAfter} byte(s)\n`
              : `    saved as found (${f.inputs.length} input(s)): a batch that never returned is not re-run in this process\n`) +
            `    ${f.replay}\n`,
        );
      }
      process.stdout.write(`written: ${argv.out}/fuzz-wire.json\n`);
      process.stdout.write(summaryLine(r) + '\n');
      return r.findings.length ? EXIT_FAILURE : EXIT_OK;
    }),
};

/** --replay: the saved batch against a fresh engine; exit 1 when the same failure (same key) shows again. */
function replay(argv: FuzzWireFlags): number {
  let saved: { protocol: Protocol; role: Role; faults?: string[]; key: string; kind: string; stage: number; mode: 'replace' | 'inject'; inputs: { index: number; spoofed: boolean; mutations: string[]; data: string }[] };
  try {
    saved = JSON.parse(readFileSync(argv.replay!, 'utf8'));
  } catch (e) {
    throw usageError(`cannot read finding ${argv.replay}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!saved || typeof saved.key !== 'string' || !Array.isArray(saved.inputs)) throw usageError(`${argv.replay}: not a fuzz-wire finding`);
  if (saved.protocol !== argv.protocol || saved.role !== argv.role) throw usageError(`${argv.replay} is a ${saved.protocol} ${saved.role} finding (the command says ${argv.protocol} ${argv.role})`);
  const o = runBatch(targetFor(argv.protocol, argv.role, saved.faults ?? checkWireFaults(argv)), batchFromSaved(saved));
  for (const f of o.findings) process.stdout.write(`${f.kind}: ${f.detail.split('\n').slice(0, 4).join('\n  ')}\n`);
  const same = o.findings.some((f) => f.key === saved.key);
  process.stdout.write(same ? `reproduced: ${saved.kind} (${saved.key})\n` : `does not reproduce: ${saved.key}\n`);
  return same ? EXIT_FAILURE : EXIT_OK;
}

const FAULTS: readonly QuicFault[] = ['handshake-crypto-no-retransmit', 'internal-error-on-stream-data'];

function checkWireFaults(argv: FuzzWireFlags): QuicFault[] {
  const faults = argv['inject-fault'] ?? [];
  for (const f of faults) if (!FAULTS.includes(f as QuicFault)) throw usageError(`unknown fault '${f}' (known: ${FAULTS.join(', ')})`);
  if (faults.length && argv.protocol !== 'quic') throw usageError('--inject-fault applies to quic only');
  return faults as QuicFault[];
}

/** --peer: the campaign against a real peer process (interop/fuzz-wire/live.ts). */
async function live(argv: FuzzWireFlags): Promise<number> {
  if (argv.replay) throw usageError('--replay is for virtual-time findings; with --peer use --seed S --input I');
  if (!(argv.inputs >= 1) || !Number.isInteger(argv.inputs)) throw usageError('--inputs must be a positive integer');
  if (!(argv.jobs >= 1) || !Number.isInteger(argv.jobs)) throw usageError('--jobs must be a positive integer');
  if (!(argv['check-every'] >= 1) || !Number.isInteger(argv['check-every'])) throw usageError('--check-every must be a positive integer');
  const inFlight = argv['in-flight'] ?? (argv.protocol === 'quic' ? 4 : 1);
  if (!(inFlight >= 1) || !Number.isInteger(inFlight)) throw usageError('--in-flight must be a positive integer');
  for (const i of argv.input ?? []) if (!(Number.isInteger(i) && i >= 0)) throw usageError('--input must be an integer ≥ 0');
  let registry;
  try {
    registry = loadRegistry({ peersFiles: argv['peers-file'] });
  } catch (e) {
    const code = scenarioErrorExit(e);
    if (code !== undefined) return code;
    throw e;
  }
  const peer = registry.get(argv.peer!);
  if (!peer) throw usageError(`unknown peer '${argv.peer}' (known: ${registry.names().join(', ')})`);
  const decl = peer.roles[argv.role];
  if (!decl) throw usageError(`${peer.name} cannot act as ${argv.role}`);
  if (!decl.protocols.includes(argv.protocol)) throw usageError(`${peer.name} (${argv.role}) does not speak ${argv.protocol}`);
  const name = `${argv.protocol}/${peer.name} ${argv.role}`;
  const only = argv.input;
  // A peer that cannot start (not installed, never ready) is a failure to run, said in one line, not an internal error.
  const r = await runLiveCampaign({
    protocol: argv.protocol,
    role: argv.role,
    peer,
    inputs: argv.inputs,
    seed: argv.seed,
    jobs: argv.jobs,
    out: argv.out,
    checkEvery: only ? 1 : argv['check-every'],
    inFlight: only ? 1 : inFlight,
    liveTimeoutMs: argv['live-timeout'] * 1000,
    clientTimeoutMs: argv['client-timeout'] * 1000,
    quietMs: argv['input-quiet'],
    maxMs: argv['input-max'],
    lingerMs: argv.linger,
    ...(only ? { only } : {}),
    ...(argv['peers-file']?.length ? { replayFlags: argv['peers-file'].map((f) => `--peers-file ${f}`).join(' ') } : {}),
    onProgress: argv.quiet
      ? undefined
      : (p) =>
          process.stderr.write(
            `fuzz-wire ${name}: ${p.done}/${p.total} inputs, ${p.inputsPerSecond.toFixed(1)}/s, ${p.crashes} crashes, ${p.hangs} hangs, max amplification ${p.maxAmplification.toFixed(1)}×\n`,
          ),
  }).catch((e: unknown) => {
    if (e instanceof Error && /not installed|cannot act|does not speak|does not answer|failed a clean run|ready|exited with/.test(e.message)) throw new CliError(e.message, EXIT_FAILURE);
    throw e;
  });
  for (const rec of r.records ?? []) {
    process.stdout.write(
      `input ${rec.index}: ${rec.plan.mode} our datagram/chunk ${rec.plan.k} with ${rec.mutations.join(' + ') || 'nothing (not reached)'}; peer reaction ${rec.reaction}; ` +
        `before validation ${rec.amplification.rx} bytes in, ${rec.amplification.tx} out\n` +
        (rec.mutated ? `  mutated: ${rec.mutated}\n` : ''),
    );
  }
  process.stdout.write(
    `fuzz-wire ${name} ${r.peer.version}: seed ${r.seed}, ${r.inputs} inputs in ${r.seconds.toFixed(1)} s (${r.inputsPerSecond.toFixed(1)} inputs/s, ${r.role === 'client' ? 'one client process per input' : `${r.jobs} peer process(es)`}); ` +
      `${r.livenessChecks} liveness checks (${r.livenessFailures} failed), ${r.restarts} restarts${r.role === 'server' && r.protocol !== 'tls' ? `, amplification measured on ${r.amplificationMeasured} unvalidated addresses` : ''}\n` +
      `  reactions: ${Object.entries(r.reactions).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}\n`,
  );
  for (const f of r.findings) process.stdout.write(`  ${f.kind} at input ${f.input}: ${f.detail.split('\n', 1)[0]}\n    ${f.replay}\n    ${f.file}\n`);
  process.stdout.write(`written: ${argv.out}/fuzz-wire.json\n`);
  process.stdout.write(liveSummaryLine(r) + '\n');
  return r.findings.length ? EXIT_FAILURE : EXIT_OK;
}
