// Summarises a `node --cpu-prof` profile: the functions with the most self time (and their share), optionally the
// files. Used for issue 15's "top five profile entries"; `--by file` groups by script.
//
// Run: node dist/bench/cpu-top.js PROFILE.cpuprofile [--top 15] [--by function|file] [--under FUNCTION] [--inclusive]

import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args.find((a, i) => !a.startsWith('--') && !(args[i - 1] ?? '').startsWith('--'));
if (!file) {
  process.stderr.write('usage: cpu-top PROFILE.cpuprofile [--top N] [--by function|file]\n');
  process.exit(2);
}
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const top = Number(opt('--top') ?? 15);
const by = opt('--by') ?? 'function';
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
// --under NAME: only samples with NAME on their stack (e.g. simulate, to leave set-up out).
const under = opt('--under');
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inside = new Map<number, boolean>();
const isUnder = (id: number): boolean => {
  let v = inside.get(id);
  if (v === undefined) {
    const n = byId.get(id)!;
    const up = parent.get(id);
    v = n.callFrame.functionName === under || (up !== undefined && isUnder(up));
    inside.set(id, v);
  }
  return v;
};
const self = new Map<string, number>();
let total = 0;
// --inclusive: time with the function anywhere on the stack (each function counted once per sample).
const inclusive = args.includes('--inclusive');
const keyOf = (n: ProfileNode): string => {
  const short = n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^file:\/\//, '');
  return by === 'file' ? short || `(${n.callFrame.functionName || 'native'})` : `${n.callFrame.functionName || '(anonymous)'} ${short}${short ? `:${n.callFrame.lineNumber + 1}` : ''}`;
};
for (let i = 0; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]!)!;
  const dt = p.timeDeltas[i] ?? 0;
  if (under && !isUnder(n.id)) continue;
  total += dt;
  if (inclusive) {
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) seen.add(keyOf(byId.get(id)!));
    for (const key of seen) self.set(key, (self.get(key) ?? 0) + dt);
  } else {
    const key = keyOf(n);
    self.set(key, (self.get(key) ?? 0) + dt);
  }
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
process.stdout.write(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n`);
for (const [k, t] of rows) process.stdout.write(`${((t / total) * 100).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}\n`);
