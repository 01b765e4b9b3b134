// NAT rebinding (RFC 9000 §9.3 from the server's side): at the given times the client's public source port and/or
// address changes, so the server sees datagrams of the same connection arrive from a new address. Only meaningful
// on the to-server path; answers to any earlier mapping still reach the client (the old NAT binding has not expired).

import type { Address } from '../../engine/endpoint.js';
import type { KindFilter } from '../classify.js';
import type { Impairment, InFlight, StageContext, StageResult } from './impairment.js';

export interface RebindConfig {
  /** Simulated (or, in the relay, elapsed) milliseconds at which the mapping changes. */
  at: number[];
  change?: 'port' | 'address' | 'both';
}

export class Rebind implements Impairment {
  readonly name = 'rebind';
  readonly addressOnly = true;
  private done = 0;
  private mapped: Address | undefined;
  private readonly times: number[];

  constructor(private readonly cfg: RebindConfig, readonly filter?: KindFilter) {
    if (!Array.isArray(cfg.at) || cfg.at.some((t) => !(t >= 0))) throw new RangeError('rebind: `at` must list non-negative times');
    this.times = [...cfg.at].sort((a, b) => a - b);
  }

  /** The client's current public address, given its real one. */
  current(real: Address): Address {
    return this.mapped ?? real;
  }

  process(d: InFlight, ctx: StageContext): StageResult {
    while (this.done < this.times.length && this.times[this.done]! <= ctx.now) {
      this.mapped = this.next(this.current(d.from), this.done, ctx);
      this.done++;
    }
    if (this.mapped) {
      d.from = this.mapped;
      d.entry.effects.push('rebound');
    }
    return [d];
  }

  private next(prev: Address, k: number, ctx: StageContext): Address {
    const change = this.cfg.change ?? 'port';
    let port = prev.port;
    if (change !== 'address') {
      const u = ctx.rngAt(k);
      do port = 1024 + Math.floor(u() * (65536 - 1024));
      while (port === prev.port);
    }
    let host = prev.host;
    if (change !== 'port') {
      const octets = host.split('.').map(Number);
      // Stay inside the same /16 so a loopback relay (127.0.0.0/8) can still bind the new address.
      if (octets.length === 4 && octets.every((o) => o >= 0 && o <= 255)) {
        octets[2] = (octets[2]! + 1 + k) % 256;
        host = octets.join('.');
      } else host = `${host}%rebind${k + 1}`;
    }
    return { host, port };
  }
}
