// Units in scenario files: durations (ms), sizes (bytes), bit rates (bits per second). The schema checks the syntax.

const DURATION = /^([0-9]+(?:\.[0-9]+)?)(us|ms|s|min)$/;
const SIZE = /^([0-9]+(?:\.[0-9]+)?)(B|KB|KiB|MB|MiB|GB|GiB)$/;
const BITRATE = /^([0-9]+(?:\.[0-9]+)?)(bps|kbps|Kbps|Mbps|Gbps)$/;

const DURATION_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000 };
const SIZE_BYTES: Record<string, number> = { B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };
const RATE_BPS: Record<string, number> = { bps: 1, kbps: 1e3, Kbps: 1e3, Mbps: 1e6, Gbps: 1e9 };

function parse(text: string, re: RegExp, table: Record<string, number>, what: string): number {
  const m = re.exec(text.trim());
  if (!m) throw new Error(`not a ${what}: ${JSON.stringify(text)}`);
  return Number(m[1]) * table[m[2]!]!;
}

export const parseDuration = (t: string): number => parse(t, DURATION, DURATION_MS, 'duration (e.g. 15ms, 2s)');
export const parseSize = (t: string): number => Math.round(parse(t, SIZE, SIZE_BYTES, 'size (e.g. 1KiB, 5MB)'));
export const parseBitrate = (t: string): number => parse(t, BITRATE, RATE_BPS, 'bit rate (e.g. 10Mbps)');

export function formatBytes(n: number): string {
  if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2}MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}KiB`;
  return `${n}B`;
}
