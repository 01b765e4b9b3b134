// `crosswire peers build [NAME...]` (issue 13): the peers' container images from interop/docker/<peer>/Dockerfile
// (crosswire/<peer>; the self peer is crosswire/crosswire), each built with the same install.sh as
// `crosswire peers install`. Output goes to a build log per image; the summary gives each image's build time and size.

import { readFileSync } from 'node:fs';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, usageError } from '../cli-util.js';
import { baseImages, buildablePeers, buildImage, dockerEngine, DockerError, imageOf, type BuildResult } from '../runner/docker-runtime.js';

const mb = (b: number | undefined) => (b === undefined ? '-' : `${(b / 1e6).toFixed(0)} MB`);

export async function buildPeerImages(names: string[] | undefined): Promise<number> {
  try {
    await dockerEngine();
  } catch (e) {
    if (e instanceof DockerError) throw new CliError(e.message, EXIT_USAGE);
    throw e;
  }
  const buildable = buildablePeers();
  const wanted = (names?.length ? names : buildable).map((n) => (n === 'crosswire' ? 'self' : n));
  for (const n of wanted) if (!buildable.includes(n)) throw usageError(`no Dockerfile for peer '${n}' (buildable: ${buildable.join(', ')}; any QIR image runs as qir:IMAGE)`);
  const { base, node } = await baseImages();
  process.stdout.write(`base images: BASE_IMAGE=${base} NODE_IMAGE=${node}\n`);
  const results: BuildResult[] = [];
  for (const peer of wanted) {
    process.stdout.write(`[${peer}] building ${imageOf({ name: peer })}\n`);
    const r = await buildImage(peer, { onLine: (l) => process.stdout.write(`[${peer}] ${l}\n`) });
    results.push(r);
    if (r.ok) process.stdout.write(`[${peer}] built ${r.image} in ${r.seconds.toFixed(1)} s: ${mb(r.sizeBytes)} (log: ${r.log})\n`);
    else {
      const tail = readFileSync(r.log, 'utf8').split('\n').filter((l) => l.trim()).slice(-12);
      for (const l of tail) process.stderr.write(`[${peer}] ${l}\n`);
      process.stderr.write(`crosswire: ${peer}: image build failed after ${r.seconds.toFixed(0)} s (build log: ${r.log})\n`);
    }
  }
  const rows = results.map((r) => [r.peer, r.image, r.ok ? 'ok' : 'FAILED', `${r.seconds.toFixed(1)} s`, mb(r.sizeBytes)]);
  const head = ['peer', 'image', 'build', 'time', 'size'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((t) => t[i]!.length)));
  const fmt = (t: string[]) => t.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  process.stdout.write([fmt(head), ...rows.map(fmt)].join('\n') + '\n');
  return results.every((r) => r.ok) ? EXIT_OK : EXIT_FAILURE;
}
