import { test, expect } from '@playwright/test';
import { parseScenario, ScenarioError } from '../interop/scenario/load.js';
import { parseDuration, parseSize, parseBitrate } from '../interop/scenario/units.js';
import { networkConfig } from '../interop/runner/network.js';

const errorOf = (yaml: string) => {
  try {
    parseScenario(yaml, 'x.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as ScenarioError).message;
  }
  throw new Error('expected a ScenarioError');
};

test('units convert to ms, bytes and bits per second', () => {
  expect(parseDuration('15ms')).toBe(15);
  expect(parseDuration('2s')).toBe(2000);
  expect(parseDuration('1.5min')).toBe(90_000);
  expect(parseDuration('500us')).toBe(0.5);
  expect(parseSize('5MiB')).toBe(5 * 1024 * 1024);
  expect(parseSize('1KB')).toBe(1000);
  expect(parseBitrate('10Mbps')).toBe(10_000_000);
});

test('a valid scenario normalises with defaults and converted units', () => {
  const s = parseScenario(
    `name: handshake-loss
protocol: quic
network:
  link: { delay: 40ms }
  to-server:
    - loss: { rate: 0.3, burst: 3 }
      only: [initial, handshake]
  to-client: [{ droplist: [1, 3] }]
client: { alpn: hq-interop, connections: 50, requests: [{ size: 1KiB }] }
expect: { handshakes: 50, files: identical, within: 300s }
`,
    'x.yaml',
  );
  expect(s.network.link).toEqual({ delayMs: 40, bandwidthBps: 10e6, queue: 25, mtu: 1500 });
  expect(s.network.toServer).toEqual([{ kind: 'loss', rate: 0.3, burst: 3, only: ['initial', 'handshake'] }]);
  expect(s.network.toClient).toEqual([{ kind: 'droplist', indices: [1, 3] }]);
  expect(s.client.requests).toEqual([{ size: 1024, path: undefined, count: 1 }]);
  expect(s.expect.withinMs).toBe(300_000);
  expect(s.expect.verdict).toBe('passed');
});

test('bad indentation is reported at its line and column', () => {
  const msg = errorOf(`name: a
protocol: quic
network:
  link:
    delay: 15ms
   bandwidth: 10Mbps
`);
  expect(msg).toMatch(/^x\.yaml:6:\d+: YAML: /);
});

test('an unknown key is rejected at the key, naming the allowed ones', () => {
  const msg = errorOf(`name: a
protocol: quic
network:
  link: { delay: 15ms, latency: 3ms }
`);
  expect(msg).toBe("x.yaml:4:24: unknown key 'latency' in network.link (allowed: delay, bandwidth, queue, mtu)");
});

test('a wrong unit is rejected at the value', () => {
  const msg = errorOf(`name: a
protocol: quic
network:
  link:
    delay: 15 seconds
`);
  expect(msg).toMatch(/^x\.yaml:5:12: network\.link\.delay: "15 seconds" is not a duration with a unit/);
});

test('a missing required field is reported', () => {
  expect(errorOf(`name: a\nclient: { connections: 2 }\n`)).toBe("x.yaml:1:1: missing required key 'protocol' in the document");
});

test('semantic errors point into the file: two impairments in one item, unbound stream', () => {
  const msg = errorOf(`name: a
protocol: quic
network:
  to-client:
    - { loss: { rate: 0.1 }, duplicate: { rate: 0.1 } }
steps:
  - write: { stream: s1, data: hi }
`);
  expect(msg).toContain('x.yaml:5:7: one impairment per list item, found loss and duplicate');
  expect(msg).toContain("x.yaml:7:22: stream 's1' is not open on the client side");
});

test('every catalog scenario validates against the schema', async () => {
  const { findScenarioFiles, loadScenario } = await import('../interop/scenario/load.js');
  const files = findScenarioFiles(['scenarios']);
  expect(files.length).toBeGreaterThanOrEqual(30);
  const names = new Set<string>();
  for (const f of files) {
    const s = loadScenario(f);
    expect(names.has(s.name), `duplicate scenario name ${s.name}`).toBe(false);
    names.add(s.name);
  }
  for (const qir of ['handshake', 'transfer', 'longrtt', 'chacha20', 'multiplexing', 'retry', 'resumption', 'zerortt', 'http3', 'blackhole', 'keyupdate', 'amplificationlimit', 'handshakeloss', 'transferloss', 'handshakecorruption', 'transfercorruption', 'v2', 'rebind-port', 'goodput'])
    expect(names.has(qir), qir).toBe(true);
});

test('DTLS packet-kind filters: the classifier names load and reach a filter; a wrong name or another protocol\'s kind is an error at its line and column', () => {
  const dtls = (only: string) => `name: d
protocol: dtls
network:
  to-client:
    - droplist: [1]
      only: [${only}]
`;
  const s = parseScenario(dtls('hello-verify-request, server-hello'), 'x.yaml');
  expect(s.network.toClient).toEqual([{ kind: 'droplist', indices: [1], only: ['hello-verify-request', 'server-hello'] }]);
  expect(networkConfig(s.network)['to-client']).toEqual([{ droplist: { indices: [1], kinds: ['hello-verify-request', 'server-hello'] } }]);
  // The names the schema used to list (and the simulator never knew).
  expect(errorOf(dtls('dtls-clienthello'))).toMatch(/^x\.yaml:6:\d+: .*packetKind|^x\.yaml:6:\d+: .*must be one of/);
  expect(errorOf(dtls('client-hello, initial'))).toMatch(/^x\.yaml:6:\d+: initial is a QUIC packet kind; this scenario's protocol is dtls$/);
});
