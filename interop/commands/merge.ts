// `crosswire merge <dir…> --out DIR` (DESIGN.md §5, §11): combines the folders of a sharded run into one results
// folder (run folders hard-linked or copied) with one summary.json, junit.xml and report.html. The same cell in two
// shards is kept once when identical, else it is an input error (exit 2).

import type { Argv, CommandModule } from 'yargs';
import { runCommand, usageError } from '../cli-util.js';
import { mergeResults, writeReportsFor } from '../../reports/index.js';
import { asUsage, printReport } from './report.js';

interface MergeFlags {
  dirs: string[];
  out: string;
  baseline?: string;
  expect?: string;
  title?: string;
  copy?: boolean;
  move?: boolean;
}

export const mergeCommand: CommandModule<object, MergeFlags> = {
  command: 'merge <dirs..>',
  describe: 'merge shard result folders into one folder with one summary, JUnit file and report',
  builder: (y: Argv) =>
    y
      .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'result folders of the shards' })
      .option('out', { type: 'string', demandOption: true, describe: 'merged results folder (new or empty)' })
      .option('baseline', { type: 'string', describe: 'previous results folder or its summary.json: mark cells that changed' })
      .option('expect', { type: 'string', describe: 'expected verdicts (JSON, cell → verdict): exit 1 on a regression' })
      .option('title', { type: 'string', describe: 'title of report.html' })
      .option('copy', { type: 'boolean', default: false, describe: 'copy files instead of hard-linking them' })
      .option('move', {
        type: 'boolean',
        default: false,
        describe: 'move the run folders out of the input folders (one rename per run) instead of linking every file: for inputs that are not kept, e.g. downloaded CI shards',
      }) as unknown as Argv<MergeFlags>,
  handler: (argv) =>
    runCommand(async () => {
      // (yargs' `conflicts` counts a default of false as given, so the check is here)
      if (argv.move && argv.copy) throw usageError('--move and --copy exclude each other');
      const m = asUsage(() => mergeResults(argv.dirs, { out: argv.out, copy: !!argv.copy, move: !!argv.move }));
      const moved = m.files.moved ? `${m.files.moved} run folder(s) moved, ` : '';
      process.stdout.write(
        `merged ${argv.dirs.length} folder(s): ${m.runs} run(s)${m.duplicates ? `, ${m.duplicates} duplicate(s) kept once` : ''} (${moved}${m.files.linked} file(s) linked, ${m.files.copied} copied)\n`,
      );
      const files = asUsage(() =>
        writeReportsFor(m.model, argv.out, {
          ...(argv.baseline ? { baseline: argv.baseline } : {}),
          ...(argv.expect ? { expect: argv.expect } : {}),
          ...(argv.title ? { title: argv.title } : {}),
          ...(m.startMs !== undefined ? { startMs: m.startMs } : {}),
          ...(m.endMs !== undefined ? { endMs: m.endMs } : {}),
        }),
      );
      return printReport(files, argv.out, argv.expect);
    }),
};
