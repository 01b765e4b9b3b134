// Every peer crosswire knows: the built-in folders below (one line each) plus users' peer files (--peers-file, or a
// peers/ folder in the working directory). The runner knows no peer by name; `self` additionally has an in-process
// form for virtual time (interop/peers/self.ts).

import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BUILTIN_PEERS_DIR, loadPeerFile, peerFilesIn, type PeerDeclaration } from './declaration.js';
import { ScenarioError } from '../scenario/yaml-schema.js';
import { selfPeer } from './self.js';
import type { Peer } from './types.js';
import { isQirName, qirDeclaration, QIR_PREFIX } from '../runner/docker-runtime.js';

/** Built-in peers, one folder each under interop/peers/. */
export const BUILTIN_PEERS = ['self', 'ngtcp2', 'quiche', 'openssl', 'openssl-3.0', 'openssl-sclient'] as const;

/** Peers that can also run in-process in virtual time (both sides must be virtual for that). */
const VIRTUAL: Record<string, Peer> = { self: selfPeer };

export class PeerRegistry {
  private readonly byName = new Map<string, PeerDeclaration>();

  constructor(decls: PeerDeclaration[]) {
    for (const d of decls) this.byName.set(d.name, d);
  }

  /** A declared peer, or for `qir:IMAGE` one synthesized for that quic-interop-runner image (runs in Docker). */
  get(name: string): PeerDeclaration | undefined {
    return this.byName.get(name) ?? (isQirName(name) ? qirDeclaration(name.slice(QIR_PREFIX.length)) : undefined);
  }

  virtual(name: string): Peer | undefined {
    return VIRTUAL[name];
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): PeerDeclaration[] {
    return [...this.byName.values()];
  }

  /** Looks names up; an unknown one is a usage error listing the known names. */
  resolve(names: string[]): PeerDeclaration[] {
    return names.map((n) => {
      const d = this.get(n);
      if (!d) throw new Error(`unknown peer '${n}' (known: ${this.names().join(', ')})`);
      return d;
    });
  }
}

/**
 * Built-ins first, then user files in order (a user file may replace a built-in of the same name). Invalid peer files
 * throw ScenarioError (file:line:col).
 */
export function loadRegistry(opts: { peersFiles?: string[]; cwd?: string } = {}): PeerRegistry {
  const decls: PeerDeclaration[] = [];
  const problems: ScenarioError['problems'] = [];
  const load = (file: string, builtin: boolean) => {
    try {
      decls.push(loadPeerFile(file, builtin));
    } catch (e) {
      if (e instanceof ScenarioError) problems.push(...e.problems);
      else throw e;
    }
  };
  for (const name of BUILTIN_PEERS) {
    const f = join(BUILTIN_PEERS_DIR, name, 'peer.yaml');
    if (existsSync(f)) load(f, true);
  }
  const local = join(opts.cwd ?? process.cwd(), 'peers');
  const user: string[] = [];
  if (existsSync(local) && statSync(local).isDirectory()) user.push(...peerFilesIn(local));
  for (const f of opts.peersFiles ?? []) {
    const p = resolve(f);
    if (existsSync(p) && statSync(p).isDirectory()) user.push(...peerFilesIn(p));
    else user.push(p);
  }
  for (const f of user) load(f, false);
  if (problems.length) throw new ScenarioError(problems);
  return new PeerRegistry(decls);
}
