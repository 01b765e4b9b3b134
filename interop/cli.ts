// crosswire command line (DESIGN.md §5): a thin yargs front end; each command lives in interop/commands/.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { VERSION, EXIT_USAGE } from './cli-util.js';
import { getCommand } from './commands/get.js';
import { connectCommand } from './commands/connect.js';
import { serveCommand } from './commands/serve.js';
import { runCommandModule } from './commands/run.js';
import { replayCommand } from './commands/replay.js';
import { fuzzCommand } from './commands/fuzz.js';
import { fuzzWireCommand } from './commands/fuzz-wire.js';
import { peersCommand } from './commands/peers.js';
import { reportCommand } from './commands/report.js';
import { mergeCommand } from './commands/merge.js';

export { VERSION };

await yargs(hideBin(process.argv))
  .scriptName('crosswire')
  .version(VERSION)
  .strict()
  .command(getCommand)
  .command(connectCommand)
  .command(serveCommand)
  .command(runCommandModule)
  .command(replayCommand)
  .command(fuzzCommand)
  .command(fuzzWireCommand)
  .command(peersCommand)
  .command(reportCommand)
  .command(mergeCommand)
  .demandCommand(1, 'name a command: get, connect, serve, run, replay, fuzz, fuzz-wire, peers, report, merge')
  .fail((msg, err) => {
    // Usage errors: one line and exit 2 (DESIGN.md §5); errors thrown by handlers are reported by runCommand.
    if (err) throw err;
    process.stderr.write(`crosswire: ${msg}\n`);
    process.exit(EXIT_USAGE);
  })
  .help()
  .parseAsync();
