// Impairment factory: turns the scenario's `{ <name>: { …params, kinds?, match? } }` entries into pipeline stages.

import { parseKind, type KindFilter } from '../classify.js';
import type { Direction, PacketKind } from '../types.js';
import { Blackhole } from './blackhole.js';
import { Corrupt } from './corrupt.js';
import { Droplist } from './droplist.js';
import { Duplicate } from './duplicate.js';
import type { Impairment } from './impairment.js';
import { Jitter } from './jitter.js';
import { Loss } from './loss.js';
import { RateLimit } from './rate-limit.js';
import { Rebind } from './rebind.js';
import { Reorder } from './reorder.js';
import { Truncate } from './truncate.js';
import { bitsPerSecond, bytes, ms } from '../units.js';

export type { Impairment, InFlight, StageContext, StageResult, Effect } from './impairment.js';
export { Blackhole, Corrupt, Droplist, Duplicate, Jitter, Loss, RateLimit, Rebind, Reorder, Truncate };

/** Options every impairment accepts next to its own: restrict it to some packet kinds. */
export interface FilterOptions {
  kinds?: string[];
  match?: 'first' | 'any';
}

/** One entry of a direction's impairment list: exactly one key naming the impairment. */
export type ImpairmentSpec = Record<string, Record<string, unknown> & FilterOptions>;

const FACTORIES: Record<string, (cfg: any, filter: KindFilter | undefined) => Impairment> = {
  loss: (c, f) => new Loss(c, f),
  droplist: (c, f) => new Droplist(Array.isArray(c) ? { indices: c } : c, f),
  corrupt: (c, f) => new Corrupt(c, f),
  truncate: (c, f) => new Truncate(c, f),
  duplicate: (c, f) => new Duplicate(c, f),
  reorder: (c, f) => new Reorder(c, f),
  jitter: (c, f) => new Jitter(c, f),
  blackhole: (c, f) => new Blackhole(c, f),
  rebind: (c, f) => new Rebind(c, f),
  'rate-limit': (c, f) => new RateLimit(c, f),
  ratelimit: (c, f) => new RateLimit(c, f),
};

export const IMPAIRMENT_NAMES = Object.keys(FACTORIES).filter((n) => n !== 'ratelimit');

/** Throws RangeError with a readable message on an invalid spec (the scenario loader reports it with its location). */
export function createImpairment(spec: ImpairmentSpec | Impairment, direction: Direction): Impairment {
  if (typeof (spec as Impairment).process === 'function') return spec as Impairment;
  const keys = Object.keys(spec);
  if (keys.length !== 1) throw new RangeError(`an impairment entry needs exactly one key (one of ${IMPAIRMENT_NAMES.join(', ')}), got ${keys.join(', ') || 'none'}`);
  const name = keys[0]!;
  const make = FACTORIES[name];
  if (!make) throw new RangeError(`unknown impairment '${name}' (known: ${IMPAIRMENT_NAMES.join(', ')})`);
  if (name === 'rebind' && direction !== 'to-server') throw new RangeError('rebind changes the client address and belongs on the to-server path');
  const cfg = withUnits(name, (spec as ImpairmentSpec)[name] ?? {});
  return make(cfg, parseFilter(name, cfg));
}

/** Reads "5ms", "1Mbps", "16KiB" in the fields that carry units; numbers pass through. */
function withUnits(name: string, cfg: any): any {
  if (Array.isArray(cfg) || typeof cfg !== 'object' || cfg === null) return cfg;
  const c = { ...cfg };
  const dur = (k: string) => c[k] !== undefined && (c[k] = ms(c[k], `${name}.${k}`));
  switch (name) {
    case 'reorder':
      dur('delay'), dur('maxHold');
      break;
    case 'duplicate':
      dur('delay');
      break;
    case 'jitter':
      dur('max');
      break;
    case 'blackhole':
      if (Array.isArray(c.windows)) c.windows = c.windows.map((w: any) => ({ from: ms(w?.from, 'blackhole window from'), to: ms(w?.to, 'blackhole window to') }));
      if (c.cycle) c.cycle = Object.fromEntries(Object.entries(c.cycle).map(([k, v]) => [k, ms(v, `blackhole cycle ${k}`)]));
      break;
    case 'rebind':
      if (Array.isArray(c.at)) c.at = c.at.map((t: unknown) => ms(t, 'rebind at'));
      break;
    case 'rate-limit':
    case 'ratelimit':
      if (c.rate !== undefined) c.rate = bitsPerSecond(c.rate, 'rate-limit rate');
      if (c.burst !== undefined) c.burst = bytes(c.burst, 'rate-limit burst');
      break;
  }
  return c;
}

function parseFilter(name: string, cfg: FilterOptions): KindFilter | undefined {
  if (Array.isArray(cfg) || cfg.kinds === undefined) return undefined;
  const kinds: PacketKind[] = cfg.kinds.map((k) => {
    const kind = parseKind(String(k));
    if (!kind) throw new RangeError(`${name}: unknown packet kind '${k}'`);
    return kind;
  });
  return { kinds, match: cfg.match ?? 'any' };
}
