// Host name resolution for sockets (RFC 6724 order as the system's resolver gives it; RFC 6761 §6.3 for "localhost"):
// every address a name has, canonical and without duplicates, so a client can try each and compare replies by address.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { canonicalHost } from '../endpoint.js';

const LOOPBACKS = ['127.0.0.1', '::1'] as const;

/** "localhost" and names under .localhost always mean the loopback interface (RFC 6761 §6.3). */
export function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/**
 * Every address of `host`, in the resolver's order (an IP literal: itself), canonical (canonicalHost) and deduplicated.
 * A localhost name also gets whichever loopback address (127.0.0.1, ::1) the resolver left out: hosts files often list
 * only one of them, while a server may listen on the other. Rejects with the resolver's error when nothing is found.
 */
export async function resolveHost(host: string): Promise<string[]> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare.split('%')[0]!)) return [canonicalHost(bare)];
  const out: string[] = [];
  const add = (a: string) => {
    const c = canonicalHost(a);
    if (!out.includes(c)) out.push(c);
  };
  try {
    for (const r of await lookup(bare, { all: true, order: 'verbatim' })) add(r.address);
  } catch (e) {
    if (!isLocalhostName(bare)) throw e;
  }
  if (isLocalhostName(bare)) for (const a of LOOPBACKS) add(a);
  return out;
}
