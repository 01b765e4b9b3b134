// Test helpers for real peers: spawn with guaranteed cleanup, wait for output, find free loopback ports.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { allocatePort } from '../../interop/runner/ports.js';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface Peer {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when `pattern` appears on stdout or stderr; rejects on exit or after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  kill(): Promise<void>;
}

export function spawnPeer(cmd: string, args: string[], opts: SpawnOptions = {}): Peer {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  live.add(proc);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString('latin1');
    for (const l of listeners) l();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString('latin1');
    for (const l of listeners) l();
  });
  const exited = new Promise<number | string>((resolve) => {
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      resolve(code ?? signal ?? -1);
      for (const l of listeners) l();
    });
    proc.on('error', (e) => {
      live.delete(proc);
      err += String(e);
      resolve(-1);
      for (const l of listeners) l();
    });
  });
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out) || pattern.test(err)) {
            cleanup();
            resolve();
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            cleanup();
            reject(new Error(`${cmd} exited before ${pattern}: ${err.slice(-500)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} from ${cmd}; stderr: ${err.slice(-500)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/**
 * A port free on 127.0.0.1 for TCP and UDP, outside the kernel's ephemeral range: a port 0 bind hands out an
 * ephemeral port, which an outgoing connection can take before the peer we pass it to binds it.
 */
export const freeTcpPort = allocatePort;
export const freeUdpPort = allocatePort;

/**
 * Requires an external program. In CI (CI=true) a missing peer is a failure, never a skip (brief: honest results);
 * locally it is a failure too, with the install hint, so nobody mistakes a skip for a pass.
 */
export function requireBinary(path: string, installHint: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: ${installHint} (.ci/run installs it)`);
  return path;
}

/** Runs the built CLI (dist/) and collects its output. */
export function runCli(args: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ code: number | string; stdout: Buffer; stderr: string }>((resolve) => {
    const proc = spawn(process.execPath, ['bin/crosswire.js', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    live.add(proc);
    const out: Buffer[] = [];
    let err = '';
    proc.stdout.on('data', (d: Buffer) => out.push(d));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(proc);
      resolve({ code: code ?? signal ?? -1, stdout: Buffer.concat(out), stderr: err });
    });
    if (opts.input !== undefined) proc.stdin.end(opts.input);
    else proc.stdin.end();
  });
}
