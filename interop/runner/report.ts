// Terminal output for run and fuzz: a progress line (a bar on a TTY, plain lines otherwise) and the summary table.

import type { RunRecord } from './run.js';

export class Progress {
  private readonly tty: boolean;
  private done = 0;
  private readonly counts = new Map<string, number>();
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !!out.isTTY;
  }

  /** "3 passed, 1 failed" so far. */
  tally(): string {
    return [...this.counts].map(([v, n]) => `${n} ${v}`).join(', ');
  }

  private eta(): string {
    if (this.done === 0 || this.done >= this.total) return '';
    const left = ((Date.now() - this.started) / this.done) * (this.total - this.done) / 1000;
    return left >= 60 ? ` · ETA ${Math.floor(left / 60)}m${String(Math.round(left % 60)).padStart(2, '0')}s` : ` · ETA ${Math.round(left)}s`;
  }

  step(label: string, verdict: string, wallMs?: number): void {
    this.done++;
    this.counts.set(verdict, (this.counts.get(verdict) ?? 0) + 1);
    if (this.tty) {
      const width = 20;
      const filled = Math.round((this.done / this.total) * width);
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${this.tally()}${this.eta()} · ${label}: ${verdict}`;
      const cols = this.out.columns ?? 100;
      this.out.write(`\r\x1b[K${line.slice(0, cols - 1)}`);
      if (this.done === this.total) this.out.write('\n');
    } else {
      this.out.write(`[${this.done}/${this.total}] ${label}: ${verdict}${wallMs !== undefined ? ` (${(wallMs / 1000).toFixed(1)} s)` : ''}\n`);
    }
  }
}

/** A fixed-width table of runs: scenario, verdict, simulated and wall time, and the reason when not passed. */
export function summaryTable(runs: RunRecord[]): string {
  const pairs = new Set(runs.map((r) => `${r.client.name}→${r.server.name}`)).size > 1;
  const rows = runs.map((r) => [pairs ? `${r.scenario} ${r.client.name}→${r.server.name}` : r.scenario, r.verdict, `${(r.simulatedMs / 1000).toFixed(2)} s`, `${(r.wallMs / 1000).toFixed(1)} s`, r.verdict === 'passed' ? '' : r.reason]);
  const head = ['scenario', 'verdict', 'simulated', 'wall', 'reason'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < 4 ? r[i]!.length : 0))));
  const fmt = (r: string[]) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c.length > 100 ? `${c.slice(0, 97)}...` : c)).join('  ').trimEnd();
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  const total = [...counts].map(([v, n]) => `${n} ${v}`).join(', ');
  return [fmt(head), ...rows.map(fmt), '', `${runs.length} run(s): ${total}`].join('\n') + '\n';
}
