// crosswire command line (DESIGN.md §5): a thin yargs front end; each command lives in interop/commands/.

import { createRequire } from 'node:module';
import type { Argv, CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { VERSION, EXIT_USAGE, CliError } from './cli-util.js';

export { VERSION };

// yargs through its CommonJS entry: the ESM build lays out help with a stand-in wrapper that cuts every line at the
// column width, mid-word ("ov / er TCP"); the CommonJS build wraps at word boundaries (wrap-ansi).
const yargs = createRequire(import.meta.url)('yargs') as (args: string[]) => Argv;

/** Examples under each command's --help (commands whose builder has none of its own). */
const EXAMPLES: Record<string, [string, string][]> = {
  get: [
    ['$0 get https://localhost:4433/index.html --ca ca.pem', 'HTTP/3 over QUIC, trusting ca.pem'],
    ['$0 get https://127.0.0.1:4433/f --alpn hq-interop --insecure --out f', 'hq-interop, no certificate checks, body to a file'],
    ['$0 get https://localhost:8443/ --tcp --ca ca.pem', 'HTTP/1.1 over TLS 1.3 over TCP'],
  ],
  connect: [
    ['$0 connect quic://localhost:4433 --ca ca.pem', 'stdin to the default stream, the stream to stdout'],
    ['echo hello | $0 connect dtls://127.0.0.1:4444 --insecure', 'one line over DTLS 1.2'],
  ],
  serve: [
    ['$0 serve quic://127.0.0.1:4433 --cert cert.pem --key key.pem --root www', 'files over h3 and hq-interop'],
    ['$0 serve tls://0.0.0.0:8443 --cert cert.pem --key key.pem --root www', 'files over HTTP/1.1 and TLS 1.3'],
    ['$0 serve dtls://127.0.0.1:4444 --cert cert.pem --key key.pem --echo', 'a DTLS 1.2 echo server'],
  ],
  run: [
    ['$0 run scenarios/quic/handshakeloss.yaml --seed 7', 'one scenario, self ↔ self in virtual time'],
    ['$0 run scenarios/ --client self,ngtcp2 --server self,quiche --jobs 2 --out results', 'a matrix with report.html'],
  ],
  replay: [['$0 replay results/self_self/handshakeloss/result.json', 're-run a recorded run and compare trace hashes']],
  fuzz: [
    ['$0 fuzz scenarios/quic/handshakeloss.yaml --seeds 200 --jobs 2', 'sweep 200 seeds'],
    ['$0 fuzz scenarios/quic/transfer.yaml --seeds 50 --shrink --shrink-time 300', 'and minimise the first failure'],
  ],
  report: [['$0 report results/', 'rebuild report.html, junit.xml and summary.json']],
  merge: [['$0 merge shard-1/ shard-2/ --out merged/', 'one summary and report from shard folders']],
};

/** The command with its examples added after its own builder. */
function withExamples<T extends CommandModule<object, any>>(c: T): T { // eslint-disable-line @typescript-eslint/no-explicit-any
  const name = String(c.command).split(' ')[0]!;
  const examples = EXAMPLES[name];
  if (!examples || typeof c.builder !== 'function') return c;
  const builder = c.builder;
  return { ...c, builder: (y: Argv) => examples.reduce((a, [cmd, what]) => a.example(cmd, what), builder(y) as Argv) };
}

type AnyCommand = CommandModule<object, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Each command's module, loaded on demand: together they pull in every engine, the simulator and the peer adapters,
 * which took ~0.3 s of module loading before a `get` or `serve` could start (all of it counted in a download's time).
 */
const COMMANDS: Record<string, () => Promise<AnyCommand>> = {
  get: async () => withExamples((await import('./commands/get.js')).getCommand),
  connect: async () => withExamples((await import('./commands/connect.js')).connectCommand),
  serve: async () => withExamples((await import('./commands/serve.js')).serveCommand),
  run: async () => withExamples((await import('./commands/run.js')).runCommandModule),
  replay: async () => withExamples((await import('./commands/replay.js')).replayCommand),
  fuzz: async () => withExamples((await import('./commands/fuzz.js')).fuzzCommand),
  'fuzz-wire': async () => (await import('./commands/fuzz-wire.js')).fuzzWireCommand,
  peers: async () => (await import('./commands/peers.js')).peersCommand,
  report: async () => withExamples((await import('./commands/report.js')).reportCommand),
  merge: async () => withExamples((await import('./commands/merge.js')).mergeCommand),
};

/**
 * The command named first on the command line alone (yargs parses only that one's flags anyway); anything else (no
 * command, --help, --version, a typo) gets all of them, in the order the top-level help lists them.
 */
async function loadCommands(first: string | undefined): Promise<AnyCommand[]> {
  const names = first !== undefined && Object.hasOwn(COMMANDS, first) ? [first] : Object.keys(COMMANDS);
  return Promise.all(names.map((n) => COMMANDS[n]!()));
}

await yargs(hideBin(process.argv))
  .scriptName('crosswire')
  .version(VERSION)
  .strict()
  .command(await loadCommands(process.argv[2]))
  .demandCommand(1, 'name a command: get, connect, serve, run, replay, fuzz, fuzz-wire, peers, report, merge')
  .fail((msg, err) => {
    // Usage errors: one line and exit 2 (DESIGN.md §5); errors thrown by handlers are reported by runCommand. yargs
    // wraps what a flag's coerce throws (e.g. --seed out of range) in a YError carrying its message: also a usage error.
    if (err && !(err instanceof CliError) && err.name !== 'YError') throw err;
    process.stderr.write(`crosswire: ${err?.message ?? msg}\n`);
    process.exit(err instanceof CliError ? err.exitCode : EXIT_USAGE);
  })
  .help()
  .alias('h', 'help')
  .wrap(Math.min(120, process.stdout.columns || 100))
  .parseAsync();
