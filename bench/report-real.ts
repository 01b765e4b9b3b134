// Measures `crosswire report` and `crosswire merge` on a results folder, for bench/report.ts --dir: the report is
// built without writing into the folder, and merge (linking, then --move) runs on two shard-like halves of it (its
// pair folders, <server>_<client>, dealt alternately), made of hard links in a scratch folder so the measured folder
// is not touched.

import { copyFileSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildJunit, buildSummary, loadModel, mergeResults, renderHtml, writeReportsFor } from '../reports/index.js';

export interface FolderTimes {
  runs: number;
  /** Bytes of all files under the folder. */
  bytes: number;
  reportMs: number;
  reportCpuMs: number;
  /** The first report of the folder in this process, when the page cache may not hold the files yet. */
  firstReportMs: number;
  mergeMs: number;
  mergeCpuMs: number;
  /** merge --move of the same halves (which it empties: they are scratch copies). */
  moveMs: number;
  moveCpuMs: number;
  /** Files merge linked or copied. */
  files: number;
  htmlBytes: number;
}

/** Wall and CPU time of f. */
function timed<T>(f: () => T): { value: T; ms: number; cpuMs: number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const value = f();
  const c = process.cpuUsage(c0);
  return { value, ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

function bytesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += bytesUnder(p);
    else if (e.isFile()) n += lstatSync(p).size;
  }
  return n;
}

/** A tree of hard links to `src` at `dst` (copies when the scratch folder is on another file system). */
function linkTree(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const e of readdirSync(src, { withFileTypes: true })) {
    const s = join(src, e.name);
    const d = join(dst, e.name);
    if (e.isDirectory()) linkTree(s, d);
    else if (e.isFile()) {
      try {
        linkSync(s, d);
      } catch {
        copyFileSync(s, d);
      }
    }
  }
}

/** Two shard-like folders from the pair folders of `dir` (the report files at its top are left out). */
export function splitInHalves(dir: string, scratch: string): [string, string] {
  const halves: [string, string] = [join(scratch, 'shard-1'), join(scratch, 'shard-2')];
  const pairs = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  pairs.forEach((p, i) => linkTree(join(dir, p), join(halves[i % 2]!, p)));
  return halves;
}

export function measureFolder(dir: string): FolderTimes {
  const bytes = bytesUnder(dir);
  // What `crosswire report` does, minus writing the three files into the measured folder.
  const report = () => {
    const model = loadModel(dir);
    buildSummary(model, { startTime: 0, endTime: 0, logDir: dir, outDir: dir });
    buildJunit(model, { outDir: dir });
    return { runs: model.runs.length, html: renderHtml(model, { outDir: dir }).html };
  };
  const first = timed(report);
  const again = timed(report);

  const scratch = mkdtempSync(join(tmpdir(), 'crosswire-bench-merge-'));
  try {
    const halves = splitInHalves(dir, scratch);
    const out = join(scratch, 'merged');
    const merged = timed(() => {
      const m = mergeResults(halves, { out });
      writeReportsFor(m.model, out);
      return m.files.linked + m.files.copied;
    });
    const outMoved = join(scratch, 'merged-moved');
    const moved = timed(() => writeReportsFor(mergeResults(halves, { out: outMoved, move: true }).model, outMoved));
    return {
      runs: again.value.runs,
      bytes,
      reportMs: again.ms,
      reportCpuMs: again.cpuMs,
      firstReportMs: first.ms,
      mergeMs: merged.ms,
      mergeCpuMs: merged.cpuMs,
      files: merged.value,
      moveMs: moved.ms,
      moveCpuMs: moved.cpuMs,
      htmlBytes: Buffer.byteLength(again.value.html),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
