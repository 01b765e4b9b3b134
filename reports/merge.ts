// Merge shard folders into one results folder: every run folder is hard-linked (copied across file systems) into
// the output, keeping its path under the shard root (QIR's layout, <server>_<client>/<scenario>/[rep-<n>/]), and its
// result.json is rewritten so paths that named the shard folder name the merged one. The same run in two shards is
// kept once when the results agree and is an error when they differ.

import { constants, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { buildModel, findResultFiles, loadModel, makeRun, normalizeResult, ReportInputError, cellKey, type Model, type Run } from './model.js';
import { readPreviousSummary } from './summary.js';

export interface MergeOptions {
  out: string;
  /** Copy files instead of hard-linking them. */
  copy?: boolean;
  /** Move run folders out of the input folders (one rename each) instead of linking their files: for inputs that are
   * not kept, e.g. shards downloaded in CI. Falls back to links or copies across file systems. */
  move?: boolean;
}

export interface MergeOutcome {
  model: Model;
  runs: number;
  /** Runs present in more than one shard with agreeing results (kept once). */
  duplicates: number;
  files: { linked: number; copied: number; moved: number };
  /** From the shards' summary.json files when present, else the result files' times. */
  startMs?: number;
  endMs?: number;
  clients?: string[];
  servers?: string[];
}

const REPORT_FILES = new Set(['report.html', 'junit.xml', 'summary.json']);

/** What must agree for two copies of one run to count as the same run. */
function identity(run: Run): string {
  const r = run.result;
  return JSON.stringify([r.scenario, r.client.name, r.server.name, r.seed, r.verdict, r.reason, r.traceHash, r.checks.map((c) => [c.name, c.ok]), r.measurement ?? null]);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Rewrites every string in a result.json that names the shard folder (absolute or as given) to name `out`. */
function rewritePaths(value: unknown, forms: [RegExp, string][]): unknown {
  if (typeof value === 'string') return forms.reduce((s, [re, to]) => s.replace(re, (_m, pre: string) => pre + to), value);
  if (Array.isArray(value)) return value.map((v) => rewritePaths(v, forms));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewritePaths(v, forms)]));
  return value;
}

/**
 * The results folder a run was written under, as its own paths name it: the part before `/<rel>/` in an artifact path
 * or in the replay command. A folder copied or moved after its run (a shard downloaded by CI, a copy of last night's
 * matrix) still names where it was written, and those paths must name the merged folder too.
 */
export function recordedRoot(raw: unknown, rel: string): string | undefined {
  if (!rel || !raw || typeof raw !== 'object') return undefined;
  const r = raw as { artifacts?: Record<string, unknown>; replay?: unknown };
  const paths = Object.values(r.artifacts ?? {})
    .flat()
    .filter((p): p is string => typeof p === 'string');
  if (typeof r.replay === 'string') paths.push(r.replay);
  for (const p of paths) {
    const norm = p.split('\\').join('/');
    const at = norm.indexOf(`/${rel}/`);
    if (at <= 0) continue;
    // In the replay command the path is the last word before the run folder.
    const root = norm.slice(0, at).split(/[\s"'=]/).pop()!;
    if (root) return root;
  }
  return undefined;
}

export function mergeResults(sources: string[], opts: MergeOptions): MergeOutcome {
  if (!sources.length) throw new ReportInputError('merge: name at least one results folder');
  const out = resolve(opts.out);
  for (const s of sources) {
    let st;
    try {
      st = statSync(s);
    } catch (e) {
      throw new ReportInputError(`merge: cannot read ${s}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!st.isDirectory()) throw new ReportInputError(`merge: ${s} is not a folder`);
    const abs = resolve(s);
    if (abs === out || out.startsWith(abs + sep)) throw new ReportInputError(`merge: --out ${opts.out} is inside the input folder ${s}`);
  }
  if (existsSync(out) && findResultFiles(out).length) throw new ReportInputError(`merge: --out ${opts.out} already holds results; name an empty or new folder`);

  type Kept = { run: Run; source: string; target: string };
  const kept = new Map<string, Kept>();
  const byTarget = new Map<string, string>();
  let duplicates = 0;
  const conflicts: string[] = [];
  const runDirs = new Set<string>();
  const summaries = sources.map((s) => readPreviousSummary(join(s, 'summary.json')));
  for (const source of sources) {
    const model = loadModel(source);
    if (!model.runs.length) throw new ReportInputError(`merge: no result.json files under ${source}`);
    for (const run of model.runs) {
      runDirs.add(run.dir);
      const key = `${cellKey(run.result.scenario, run.result.client.name, run.result.server.name)}#${run.repeat}`;
      const target = join(out, run.rel || basename(resolve(source)));
      const prev = kept.get(key);
      if (prev) {
        if (identity(prev.run) === identity(run)) duplicates++;
        else conflicts.push(`${key.replace(/#\d+$/, '')}${run.repeat ? ` (repetition ${run.repeat})` : ''} is in ${prev.source} (${prev.run.result.verdict}) and ${source} (${run.result.verdict}) with different results`);
        continue;
      }
      const other = byTarget.get(target);
      if (other !== undefined && other !== key) {
        conflicts.push(`${relative(out, target) || '.'} holds ${other.replace(/#\d+$/, '')} in one shard and ${key.replace(/#\d+$/, '')} in ${source}`);
        continue;
      }
      kept.set(key, { run, source, target });
      byTarget.set(target, key);
    }
  }
  if (conflicts.length) throw new ReportInputError(`merge: ${conflicts[0]}${conflicts.length > 1 ? ` (and ${conflicts.length - 1} more conflict(s))` : ''}`);

  const files = { linked: 0, copied: 0, moved: 0 };
  // Artifacts are never read here: a hard link costs one system call whatever the file's size (a 2 GB QUIC matrix has
  // 55,000 files). Across file systems the kernel copies (reflink where the file system can share blocks). A file
  // already at the destination (a non-empty --out) is left alone: EEXIST instead of a stat per file.
  const place = (src: string, dst: string) => {
    if (!opts.copy) {
      try {
        linkSync(src, dst);
        files.linked++;
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw e;
      }
    }
    try {
      copyFileSync(src, dst, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw e;
    }
    const st = statSync(src);
    utimesSync(dst, st.atime, st.mtime);
    files.copied++;
  };
  // Run folders inside run folders (rep-<n> under a cell that also has a result.json) are copied as runs of their own.
  const copyTree = (src: string, dst: string, top: boolean, sourceRoot: string) => {
    mkdirSync(dst, { recursive: true });
    for (const e of readdirSync(src, { withFileTypes: true })) {
      const s = join(src, e.name);
      const d = join(dst, e.name);
      if (e.isDirectory()) {
        if (!runDirs.has(s)) copyTree(s, d, false, sourceRoot);
      } else if (e.name === 'result.json' && top) {
        continue; // written below, with its paths rewritten
      } else if (e.isFile()) {
        if (top && src === sourceRoot && REPORT_FILES.has(e.name)) continue;
        place(s, d);
      }
    }
  };
  // With --move a run folder is renamed into place: one system call instead of one per file. Not the input folder
  // itself (a run at its root), nor a run folder holding other runs (they are placed on their own), nor onto an
  // existing folder.
  const holdsRuns = new Set<string>();
  for (const d of runDirs) for (let p = dirname(d); p !== dirname(p); p = dirname(p)) if (runDirs.has(p)) holdsRuns.add(p);
  const moveRun = (k: Kept): boolean => {
    if (!opts.move || !k.run.rel || holdsRuns.has(k.run.dir) || existsSync(k.target)) return false;
    mkdirSync(dirname(k.target), { recursive: true });
    try {
      renameSync(k.run.dir, k.target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EXDEV' || code === 'EPERM' || code === 'EACCES') return false;
      throw e;
    }
    files.moved++;
    return true;
  };
  const mergedRuns: Run[] = [];
  for (const k of kept.values()) {
    const sourceRoot = resolve(k.source);
    const moved = moveRun(k);
    if (!moved) copyTree(k.run.dir, k.target, true, sourceRoot);
    const resultPath = moved ? join(k.target, 'result.json') : k.run.path;
    const given = k.source.replace(/[\\/]+$/, '');
    const forms: [RegExp, string][] = [[new RegExp(`(^|[\\s"'=])${escapeRe(sourceRoot)}(?=[\\\\/])`, 'g'), out]];
    if (given !== sourceRoot) forms.push([new RegExp(`(^|[\\s"'=])${escapeRe(given)}(?=[\\\\/])`, 'g'), opts.out.replace(/[\\/]+$/, '')]);
    const parsed = JSON.parse(readFileSync(resultPath, 'utf8')) as unknown;
    const recorded = recordedRoot(parsed, k.run.rel);
    if (recorded && recorded !== sourceRoot && recorded !== given) forms.push([new RegExp(`(^|[\\s"'=])${escapeRe(recorded)}(?=[\\\\/])`, 'g'), out]);
    const raw = rewritePaths(parsed, forms);
    const dst = join(k.target, 'result.json');
    const st = statSync(resultPath);
    // A moved result.json may share its inode with another copy (an input made with cp -al): replace it, never write
    // through it.
    if (moved) rmSync(dst);
    writeFileSync(dst, JSON.stringify(raw, null, 2) + '\n');
    utimesSync(dst, st.atime, st.mtime);
    // The merged model comes from what was just written, not from walking the output's 10,000s of files again.
    mergedRuns.push(makeRun(out, dst, normalizeResult(raw, dst), st.mtimeMs));
  }

  const model = buildModel(out, mergedRuns);
  const outcome: MergeOutcome = { model, runs: model.runs.length, duplicates, files };
  const starts = summaries.map((s) => s?.start_time).filter((t): t is number => typeof t === 'number');
  const ends = summaries.map((s) => s?.end_time).filter((t): t is number => typeof t === 'number');
  if (starts.length === sources.length && ends.length === sources.length) {
    outcome.startMs = Math.min(...starts) * 1000;
    outcome.endMs = Math.max(...ends) * 1000;
  }
  const first = summaries.find((s) => Array.isArray(s?.clients) && Array.isArray(s?.servers));
  if (first) {
    outcome.clients = [...new Set(summaries.flatMap((s) => (Array.isArray(s?.clients) ? s.clients : [])))];
    outcome.servers = [...new Set(summaries.flatMap((s) => (Array.isArray(s?.servers) ? s.servers : [])))];
    outcome.model = buildModel(model.root, model.runs, { clients: outcome.clients, servers: outcome.servers });
  }
  return outcome;
}
