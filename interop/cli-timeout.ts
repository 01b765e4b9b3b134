// `--timeout` for the client commands (connect, get): one parser, one default, one wording that names the address tried.

import { CliError, EXIT_FAILURE, usageError } from './cli-util.js';

/** Seconds a client command waits by default: for the handshake (connect) or the whole response (get). */
export const DEFAULT_TIMEOUT_SECONDS = 30;

/** The --timeout value in milliseconds; 0 means no limit. Anything but a finite number ≥ 0 is a usage error. */
export function timeoutMs(flag: number | undefined): number {
  const sec = flag ?? DEFAULT_TIMEOUT_SECONDS;
  if (typeof sec !== 'number' || !Number.isFinite(sec) || sec < 0) throw usageError(`--timeout must be a number of seconds ≥ 0 (0: no limit), not ${String(flag)}`);
  return Math.round(sec * 1000);
}

/** "127.0.0.1:443", "[::1]:443": a transport address as the messages print it. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The one-line failure when the limit passes: `<what> from <proto> <address> within <n>s`. */
export function timeoutError(what: string, address: string, ms: number): CliError {
  return new CliError(`${what} ${address} within ${formatSeconds(ms)} (--timeout)`, EXIT_FAILURE);
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/**
 * Runs `work` with a deadline: past it, `onTimeout` (close sockets, say what was tried) and a rejection with its error.
 * A limit of 0 waits forever.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => CliError): Promise<T> {
  if (ms <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
