// What every result.json carries besides the run itself, for reports and replay: the scenario text (the report shows
// its network block as written) and its hash,
// description, repetition, and the measurement of measurement scenarios (QIR's goodput in kbps).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RunResult } from '../result.js';
import type { Scenario } from '../scenario/model.js';

/** Scenarios whose result is a number averaged over repetitions (QIR's measurements). */
export function isMeasurement(s: Scenario): boolean {
  return s.tags.includes('measurement');
}

export function annotate<T extends RunResult>(r: T, s: Scenario, repeat?: number): T {
  try {
    const text = readFileSync(s.file, 'utf8');
    r.scenarioText = text;
    r.scenarioSha256 = createHash('sha256').update(text).digest('hex');
  } catch {
    // the file went away while running: the result stands without its text
  }
  if (s.description) r.description = s.description;
  if (repeat !== undefined) r.repeat = repeat;
  const g = r.metrics['goodputBps'];
  if (isMeasurement(s) && r.verdict === 'passed' && typeof g === 'number') r.measurement = Math.round(g / 1000);
  return r;
}
