import { test, expect } from '@playwright/test';
import seedrandom from 'seedrandom';
import { RandomStream, streamName } from '../simulator/rng.js';

// Recorded seeds must keep their traces: the simulator's own Alea keying has to give, draw for draw, what
// seedrandom.alea gives for the same key string (`${name}#${index}.${copy}`), for every kind of stream name in use.
test('RandomStream draws equal seedrandom.alea of the same key', () => {
  const names = [
    streamName(1, 'to-server', 0, 'loss'),
    streamName(9007199254740991, 'to-client', 2, 'reorder'),
    `${streamName('seed-x', 'to-client', 0, 'jitter')}/aux`,
    '7/to-server/c3/0:split',
    'ünïcødé/名前',
    '',
  ];
  for (const name of names) {
    const stream = new RandomStream(name);
    for (const [index, copy] of [[0, 0], [1, 0], [17, 2], [123456, 0], [2 ** 40, 7]] as const) {
      const ours = stream.at(index, copy);
      const theirs = seedrandom.alea(`${name}#${index}.${copy}`);
      for (let k = 0; k < 8; k++) expect(ours(), `${name}#${index}.${copy} draw ${k}`).toBe(theirs());
    }
    // copy defaults to 0, as before
    const a = stream.at(5);
    const b = seedrandom.alea(`${name}#5.0`);
    expect([a(), a()]).toEqual([b(), b()]);
  }
});

test('draws stay in [0, 1) and differ between datagrams', () => {
  const stream = new RandomStream(streamName(42, 'to-server', 0, 'loss'));
  const firsts = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const u = stream.at(i)();
    expect(u >= 0 && u < 1).toBe(true);
    firsts.add(u);
  }
  expect(firsts.size).toBe(2000);
});
