// NSS key log file writer (the SSLKEYLOGFILE format Wireshark reads): one line per secret, appended as it is derived.

import { appendFileSync } from 'node:fs';

/**
 * A keyLog callback for TlsConfig that appends each line to `path`. Appends synchronously so that a crash or an
 * early exit never loses the secrets of a connection that was already on the wire.
 */
export function keyLogFile(path: string): (line: string) => void {
  return (line: string) => appendFileSync(path, line + '\n', { mode: 0o600 });
}

/** The key log file a run should write: an explicit path wins over SSLKEYLOGFILE. */
export function keyLogPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return explicit || env.SSLKEYLOGFILE || undefined;
}
