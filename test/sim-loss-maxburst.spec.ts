import { test, expect } from '@playwright/test';
import { Loss } from '../simulator/impairments/loss.js';
import { parseScenario } from '../interop/scenario/load.js';
import { impairmentSpec } from '../interop/runner/network.js';

// quic-interop-runner's drop-rate scenario: random drops at a rate, never more than `burst` in a row.
test('loss with max-burst never drops more than that many datagrams in a row and keeps close to its rate', () => {
  let seed = 12345;
  const rng = () => () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const loss = new Loss({ rate: 0.5, maxBurst: 2 });
  let run = 0;
  let longest = 0;
  let drops = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const r = loss.process({} as never, { rng } as never);
    if (r === 'drop') {
      drops++;
      longest = Math.max(longest, ++run);
    } else run = 0;
  }
  expect(longest).toBe(2);
  // the cap lowers the effective rate below 0.5 (a third draw in a row would have dropped half the time)
  expect(drops / n).toBeGreaterThan(0.35);
  expect(drops / n).toBeLessThan(0.5);
});

test('max-burst flows from the scenario file to the simulator spec', () => {
  const s = parseScenario('name: a\nprotocol: quic\nnetwork:\n  to-server: [{ loss: { rate: 0.3, max-burst: 3 } }]\n', 'x.yaml');
  expect(impairmentSpec(s.network.toServer[0]!)).toEqual({ loss: { rate: 0.3, maxBurst: 3 } });
});
