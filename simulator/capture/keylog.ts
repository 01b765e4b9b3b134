// NSS key log format (the SSLKEYLOGFILE text Wireshark, curl and OpenSSL share): "<LABEL> <client_random hex>
// <secret hex>" per line. TLS 1.3 labels per RFC 8446 §7.1 secrets; DTLS 1.2 uses CLIENT_RANDOM with the master secret.

import { hex } from '../../engine/wire/bytes.js';

export type KeyLogLabel =
  | 'CLIENT_EARLY_TRAFFIC_SECRET'
  | 'CLIENT_HANDSHAKE_TRAFFIC_SECRET'
  | 'SERVER_HANDSHAKE_TRAFFIC_SECRET'
  | 'CLIENT_TRAFFIC_SECRET_0'
  | 'SERVER_TRAFFIC_SECRET_0'
  | 'EXPORTER_SECRET'
  | 'CLIENT_RANDOM';

export interface KeyLogLine {
  readonly label: KeyLogLabel | string;
  readonly clientRandom: Uint8Array;
  readonly secret: Uint8Array;
}

export class KeyLog {
  readonly lines: KeyLogLine[] = [];

  add(label: KeyLogLabel | string, clientRandom: Uint8Array, secret: Uint8Array): void {
    if (!/^[A-Z0-9_]+$/.test(label)) throw new RangeError(`key log label '${label}' is not an NSS label`);
    this.lines.push({ label, clientRandom, secret });
  }

  /** The file contents (empty string when nothing was logged). */
  toString(): string {
    return this.lines.map((l) => `${l.label} ${hex(l.clientRandom)} ${hex(l.secret)}\n`).join('');
  }
}

/** Reads key log text, skipping comments and malformed lines (as Wireshark does). */
export function parseKeyLog(text: string): KeyLogLine[] {
  const out: KeyLogLine[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z0-9_]+) ([0-9a-fA-F]+) ([0-9a-fA-F]+)\s*$/.exec(line);
    if (!m || m[2]!.length % 2 || m[3]!.length % 2) continue;
    out.push({ label: m[1]!, clientRandom: new Uint8Array(Buffer.from(m[2]!, 'hex')), secret: new Uint8Array(Buffer.from(m[3]!, 'hex')) });
  }
  return out;
}
