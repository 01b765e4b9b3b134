// The `sim` service of docker-compose.yml: quic-interop-runner's simulator role played by crosswire's real-time relay
// (simulator/relay.ts). It prepares one run in /data (certificates, the files to serve, the client's REQUESTS and the
// test case), relays client → server applying the scenario's network, and when compose stops it (the client is done:
// `up --abort-on-container-exit`) writes the capture and trace and compares /data/downloads with /data/www.
// The client and server containers share this container's network namespace, so every datagram stays on loopback.
//
// Environment: SCENARIO (a scenario YAML; default quic/handshake.yaml of the catalog), SEED, LISTEN_PORT (8443),
// SERVER_PORT (443: where the server listens), DATA (/data).

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRelay } from '../../simulator/relay.js';
import { writePcapng } from '../../simulator/capture/pcapng.js';
import { loadScenario, SCHEMA_PATH } from '../scenario/load.js';
import { GeneratedFiles } from '../runner/content.js';
import { liveRequests, sha256Hex } from '../runner/live.js';
import { networkConfig } from '../runner/network.js';
import { writeRunCerts } from '../runner/live-pki.js';

const env = process.env;
const data = env['DATA'] ?? '/data';
const scenarioFile = env['SCENARIO'] ?? join(SCHEMA_PATH, '..', 'quic', 'handshake.yaml');
const listenPort = Number(env['LISTEN_PORT'] ?? 8443);
const serverPort = Number(env['SERVER_PORT'] ?? 443);
const seed = Number(env['SEED'] ?? 1);
const say = (line: string) => process.stdout.write(`sim: ${line}\n`);

const s = loadScenario(scenarioFile);
if (s.protocol !== 'quic') throw new Error(`sim: ${scenarioFile} is a ${s.protocol} scenario; QIR images speak QUIC`);
for (const d of ['www', 'downloads', 'certs']) rmSync(join(data, d), { recursive: true, force: true });
for (const d of ['www', 'downloads', 'logs/client', 'logs/server', 'logs/sim']) mkdirSync(join(data, d), { recursive: true });
rmSync(join(data, 'result.txt'), { force: true });
writeRunCerts(join(data, 'certs'));
const requests = liveRequests(s);
const files = new GeneratedFiles(requests.map((r) => [r.path, r.size] as [string, number]));
for (const r of requests) writeFileSync(join(data, 'www', r.path.slice(1)), files.read(r.path, 0, r.size));
writeFileSync(join(data, 'requests'), requests.map((r) => `https://localhost:${listenPort}${r.path}`).join(' '));
writeFileSync(join(data, 'testcase'), s.testcase);

const relay = await startRelay({
  listen: { host: '127.0.0.1', port: listenPort },
  target: { host: '127.0.0.1', port: serverPort },
  network: networkConfig(s.network),
  seed,
  protocol: 'quic',
  capture: true,
});
say(`${s.name} (test case ${s.testcase}, seed ${seed}): 127.0.0.1:${listenPort} → 127.0.0.1:${serverPort}, ${requests.length} file(s) in ${data}/www`);
writeFileSync('/tmp/ready', '');

const finish = async () => {
  await relay.stop();
  const keylog = ['client', 'server'].map((side) => join(data, 'logs', side, 'keys.log')).filter(existsSync).map((f) => readFileSync(f, 'utf8')).join('');
  writeFileSync(join(data, 'logs', 'sim', 'trace.txt'), relay.traceText());
  if (relay.capture) writeFileSync(join(data, 'logs', 'sim', 'capture.pcapng'), writePcapng(relay.capture.datagrams, { keylog }));
  const got = new Set(readdirSync(join(data, 'downloads')));
  const bad = requests.filter((r) => {
    const name = r.path.slice(1);
    return !got.has(name) || sha256Hex(readFileSync(join(data, 'downloads', name))) !== sha256Hex(files.read(r.path, 0, r.size));
  });
  const line = bad.length ? `FAILED: ${bad.length} of ${requests.length} file(s) missing or different (${bad.map((r) => r.path).join(', ')})` : `passed: ${requests.length} file(s) identical`;
  writeFileSync(join(data, 'result.txt'), line + '\n');
  say(`${line}; ${relay.trace().length} datagrams relayed (logs/sim/capture.pcapng, trace.txt)`);
  process.exit(0);
};
process.once('SIGTERM', () => void finish());
process.once('SIGINT', () => void finish());
