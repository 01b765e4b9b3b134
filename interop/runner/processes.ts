// Child processes of real-peer runs: each endpoint in its own process group (behind guard.sh, which ends the group if
// crosswire dies), output to files, readiness waits, and TERM-then-KILL of the whole group at the end of a cell, on
// timeout, on Ctrl-C and at exit. No child outlives a run.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../peers/declaration.js';

const GUARD = join(PACKAGE_ROOT, 'interop', 'runner', 'guard.sh');

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** ms since the process started. */
  afterMs: number;
}

const live = new Set<EndpointProcess>();
let hooked = false;

/** Kills every live group at once (synchronous: usable from 'exit'). */
export function killAllNow(): void {
  for (const p of live) p.killGroup('SIGKILL');
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      // With other listeners (the run command's partial-report writer), let them finish; alone, exit like the default.
      killAllNow();
      if (process.listenerCount(sig) <= 1) process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

export class EndpointProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  status: ExitStatus | undefined;
  private readonly started = Date.now();
  private readonly outFd: number;
  private readonly errFd: number;

  constructor(
    readonly label: string,
    argv: string[],
    opts: { env: Record<string, string>; cwd?: string; stdout: string; stderr: string; stdin?: 'pipe' },
  ) {
    hookExit();
    this.outFd = openSync(opts.stdout, 'a');
    this.errFd = openSync(opts.stderr, 'a');
    this.child = spawn(GUARD, [String(process.pid), ...argv], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      detached: true, // its own process group: the whole tree ends with one kill(-pgid)
      // stdin 'pipe': the runner writes it (stream-io forms); stdout still goes to its file, which the runner watches.
      stdio: [opts.stdin ?? 'ignore', this.outFd, this.errFd],
    });
    // A form that exits before reading all of its stdin must not crash the runner with EPIPE.
    this.child.stdin?.on('error', () => {});
    live.add(this);
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.status) return;
        this.status = { code, signal, afterMs: Date.now() - this.started };
        live.delete(this);
        closeSync(this.outFd);
        closeSync(this.errFd);
        // The endpoint's own children may linger after the guard: end the group.
        this.killGroup('SIGKILL');
        resolve(this.status);
      };
      this.child.once('exit', done);
      this.child.once('error', () => done(127, null));
    });
    this.stdoutPath = opts.stdout;
    this.stderrPath = opts.stderr;
  }

  readonly stdoutPath: string;
  readonly stderrPath: string;

  get running(): boolean {
    return !this.status;
  }

  killGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }

  /** TERM the group, KILL it after graceMs; resolves when the process has exited. */
  async stop(graceMs = 2000): Promise<ExitStatus> {
    if (this.status) return this.status;
    this.killGroup('SIGTERM');
    const t = setTimeout(() => this.killGroup('SIGKILL'), graceMs);
    const s = await this.exited;
    clearTimeout(t);
    return s;
  }

  /** Both output files (the tail of each), for matching readiness lines and reasons. */
  output(maxBytes = 64 * 1024): string {
    const read = (p: string) => {
      try {
        const b = readFileSync(p);
        return b.subarray(Math.max(0, b.length - maxBytes)).toString('utf8');
      } catch {
        return '';
      }
    };
    return `${read(this.stdoutPath)}\n${read(this.stderrPath)}`;
  }

  /** The last non-empty stderr line (for one-line reasons). */
  lastErrorLine(): string | undefined {
    try {
      const lines = readFileSync(this.stderrPath, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
      return lines.at(-1)?.slice(0, 300);
    } catch {
      return undefined;
    }
  }
}

/** "exited with code 3" / "was killed by SIGSEGV", for reasons users read. */
export function describeExit(s: ExitStatus): string {
  return s.signal ? `exited with ${s.signal} after ${(s.afterMs / 1000).toFixed(1)} s` : `exited with code ${s.code} after ${(s.afterMs / 1000).toFixed(1)} s`;
}
