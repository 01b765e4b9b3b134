// Maps a scenario's normalised network (interop/scenario/model.ts) to the simulator's NetworkConfig, and fate
// overrides to and from their result.json form.

import type { NetworkConfig } from '../../simulator/network.js';
import type { ImpairmentSpec } from '../../simulator/impairments/index.js';
import type { FateOverrides } from '../../simulator/types.js';
import type { Impairment, NetworkSpec } from '../scenario/model.js';
import type { RunResult } from '../result.js';

export function impairmentSpec(i: Impairment): ImpairmentSpec {
  const filter = i.only ? { kinds: i.only } : {};
  switch (i.kind) {
    case 'loss':
      return { loss: { rate: i.rate, ...(i.burst > 1 ? { burst: i.burst } : {}), ...(i.maxBurst !== undefined ? { maxBurst: i.maxBurst } : {}), ...filter } };
    case 'droplist':
      return { droplist: { indices: i.indices, ...filter } };
    case 'corrupt':
      return { corrupt: { rate: i.rate, count: i.bytes, ...(i.within !== undefined ? { within: i.within } : {}), ...filter } };
    case 'truncate':
      return { truncate: { rate: i.rate, ...(i.to !== undefined ? { to: i.to } : {}), ...(i.fraction !== undefined ? { fraction: i.fraction } : {}), ...filter } };
    case 'duplicate':
      return { duplicate: { rate: i.rate, delay: i.delayMs, ...filter } };
    case 'reorder':
      return { reorder: { rate: i.rate, ...(i.depth !== undefined ? { depth: i.depth } : {}), ...(i.delayMs !== undefined ? { delay: i.delayMs } : {}), ...filter } };
    case 'jitter':
      return { jitter: { max: i.maxMs, distribution: i.distribution, reorder: i.allowReorder, ...filter } };
    case 'blackhole':
      return { blackhole: { windows: i.windows.map((w) => ({ from: w.fromMs, to: w.toMs })), ...filter } };
    case 'rebind':
      return { rebind: { at: i.atMs, change: i.change, ...filter } };
    case 'rate-limit':
      return { 'rate-limit': { rate: i.bps, burst: i.burstBytes, ...filter } };
  }
}

export function networkConfig(n: NetworkSpec): NetworkConfig {
  return {
    link: { delay: n.link.delayMs, bandwidth: n.link.bandwidthBps, queue: n.link.queue, mtu: n.link.mtu },
    'to-server': n.toServer.map(impairmentSpec),
    'to-client': n.toClient.map(impairmentSpec),
  };
}

export type FateList = NonNullable<RunResult['fates']>;

export function overridesFromList(list: FateList | undefined): FateOverrides | undefined {
  if (!list?.length) return undefined;
  const out: FateOverrides = new Map([
    ['to-server', new Map()],
    ['to-client', new Map()],
  ]);
  for (const f of list) out.get(f.direction)!.set(f.index, f.fate);
  return out;
}
