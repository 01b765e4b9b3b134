// crosswire command line (DESIGN.md §5): yargs front end; each command lives in interop/commands/.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

export const VERSION = '0.1.0';

await yargs(hideBin(process.argv))
  .scriptName('crosswire')
  .version(VERSION)
  .strict()
  .demandCommand(1, 'name a command: get, connect, serve, run, replay, fuzz')
  .help()
  .parseAsync();
