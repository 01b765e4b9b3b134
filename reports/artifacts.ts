// Artifact paths as links relative to the report's folder. result.json may record absolute paths (possibly of another
// machine or of a shard folder before a merge): a file inside the run's own folder is preferred, found by the longest
// matching path suffix, so a moved or merged results folder still links to its own copies.

import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Run } from './model.js';

export interface ArtifactLink {
  /** What it is: trace, pcapng, keylog, qlog, clientLog, … */
  kind: string;
  label: string;
  /** Relative to the report folder, forward slashes. */
  rel: string;
  /** `rel` as a URL path (segments percent-encoded: a folder named "run #2" must not start a fragment). */
  href: string;
  /** Absolute path found on disk (or the best guess when missing). */
  path: string;
  exists: boolean;
}

const inside = (dir: string, p: string) => {
  const r = relative(dir, p);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r);
};

/** The file an artifact path refers to for this run, preferring the run's own folder. */
export function resolveArtifact(run: Run, p: string, cwd = process.cwd()): { path: string; exists: boolean } {
  const asGiven = isAbsolute(p) ? p : resolve(cwd, p);
  if (inside(run.dir, asGiven) && existsSync(asGiven)) return { path: asGiven, exists: true };
  const segs = p.split(/[\\/]+/).filter(Boolean);
  for (let k = Math.min(segs.length, 4); k >= 1; k--) {
    const c = join(run.dir, ...segs.slice(segs.length - k));
    if (existsSync(c)) return { path: c, exists: true };
  }
  if (!isAbsolute(p)) {
    const inRun = resolve(run.dir, p);
    if (existsSync(inRun)) return { path: inRun, exists: true };
  }
  return { path: asGiven, exists: existsSync(asGiven) };
}

const LABELS: Record<string, string> = { trace: 'trace', pcap: 'pcapng', keylog: 'keylog' };

/** Every artifact of a run, with links relative to `outDir`. */
export function artifactList(run: Run, outDir: string): ArtifactLink[] {
  const out: ArtifactLink[] = [];
  const absOut = resolve(outDir);
  const add = (kind: string, p: string) => {
    if (typeof p !== 'string' || !p) return;
    const f = resolveArtifact(run, p);
    const rel = relative(absOut, f.path).split(sep).join('/');
    const href = rel.split('/').map(encodeURIComponent).join('/');
    const base = p.split(/[\\/]/).pop() ?? p;
    out.push({ kind, label: kind === 'qlog' ? `qlog ${base}` : `${LABELS[kind] ?? kind} (${base})`, rel, href, path: f.path, exists: f.exists });
  };
  const a = run.result.artifacts;
  for (const k of ['trace', 'pcap', 'keylog'] as const) if (a[k]) add(k, a[k]!);
  for (const q of a.qlog ?? []) add('qlog', q);
  for (const [k, v] of Object.entries(a)) {
    if (k === 'trace' || k === 'pcap' || k === 'keylog' || k === 'qlog') continue;
    if (typeof v === 'string') add(k, v);
    else if (Array.isArray(v)) for (const x of v) add(k, x);
  }
  return out;
}
