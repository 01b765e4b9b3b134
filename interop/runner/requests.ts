// The files a scenario's client requests: names carry the size so listings and failure messages read well.

import type { Scenario } from '../scenario/model.js';
import { formatBytes } from '../scenario/units.js';

/** [path, size] in request order (a request with count N becomes N numbered paths). */
export function requestPaths(s: Scenario): [string, number][] {
  const out: [string, number][] = [];
  s.client.requests.forEach((r, j) => {
    for (let k = 0; k < r.count; k++) {
      const base = r.path ?? `/file-${j + 1}-${formatBytes(r.size)}`;
      out.push([r.count > 1 ? `${base}-${k + 1}` : base, r.size]);
    }
  });
  return out;
}
