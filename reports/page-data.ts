// The data report.html inlines (as JSON) for its script: compact field names, since a full matrix has many runs.

import type { CellVerdict, Verdict } from './model.js';
import type { Change, ChangeKind } from './history.js';

export interface PageCheck {
  n: string;
  ok: boolean;
  /** detail */
  d: string;
  /** expected, observed (Autobahn style), when the runner recorded them */
  x?: string;
  o?: string;
}

export interface PageLink {
  /** kind: trace, pcap, keylog, qlog, clientLog, … */
  k: string;
  /** label */
  l: string;
  /** href relative to the report */
  h: string;
  /** the file was found when the report was written */
  ok: boolean;
}

export interface PageRun {
  cell: number;
  rep: number;
  verdict: Verdict;
  reason: string;
  seed: number;
  checks: PageCheck[];
  replay: string;
  hash: string;
  simMs: number;
  wallMs: number;
  metrics: Record<string, number | string | boolean>;
  /** network settings the run recorded, as YAML */
  network?: string;
  alpn?: string;
  /** client and server labels, when the ALPN's application layer is not the peer's own (result.json side label) */
  cl?: string;
  sl?: string;
  /** client and server versions */
  cv: string;
  sv: string;
  links: PageLink[];
  /** measurement (kbps) */
  m?: number;
  /** indexes in the blobs array of the plot data and of the datagrams (sequence diagram) */
  p?: number;
  q?: number;
  /** why inlined data is partial or absent */
  pn?: string;
  file: string;
  /** run folder relative to the report */
  rel: string;
}

export interface PageCell {
  k: string;
  /** scenario, client, server indexes */
  s: number;
  c: number;
  v: number;
  r: CellVerdict;
  runs: number[];
  pass: number;
  reason: string;
  /** change since the baseline, and the baseline's verdict */
  ch?: ChangeKind;
  from?: CellVerdict;
  /** expected verdict, when it differs */
  x?: CellVerdict;
  /** measurement details, "mean (± stdev) kbps" */
  m?: string;
}

export interface PageData {
  title: string;
  generated: string;
  root: string;
  partial: boolean;
  version: string;
  clients: string[];
  servers: string[];
  /** name, protocol, description, file, YAML (index into texts), network block of the YAML */
  scenarios: { n: string; p: string; d: string; file: string; y?: number; net?: string }[];
  /** scenario YAML texts */
  texts: string[];
  cells: PageCell[];
  runs: PageRun[];
  baseline?: { source: string; changes: Change[] };
  expected?: { source: string; regressions: number; improvements: number; other: number; missing: number };
  /** datagrams per page of the sequence diagram */
  pageSize: number;
}
