// Example: DTLS 1.2 (RFC 6347) over your own datagram transport, sharing it with non-DTLS packets demultiplexed by
// their first byte as RFC 7983 §7 describes (the way WebRTC multiplexes STUN, DTLS and SRTP on one 5-tuple).
//
// Run:  node dist/interop/examples/dtls-custom-transport.js CERT.pem KEY.pem CA.pem
//
// The engine never touches sockets or timers. You own both; the contract is four calls plus events:
//   a datagram arrives   → endpoint.receiveDatagram(bytes, from, now), then flush
//   the timer fires      → endpoint.handleTimeout(now), then flush
//   flush                = send every endpoint.pollDatagrams(now), re-arm one timer at endpoint.nextTimeout(),
//                          drain endpoint.pollEvent()
//   your app wants to send → endpoint.send(bytes) (client) / server.send(peer, bytes), then flush

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { cryptoProvider } from '../../engine/crypto/index.js';
import { DtlsClient, DtlsServer } from '../../engine/dtls/index.js';
import type { Address, DatagramEndpoint } from '../../engine/endpoint.js';
import { systemClock, systemRandom } from '../../engine/io/system.js';
import { loadCertificateChain, loadPrivateKey } from '../../engine/tls/x509/pem.js';

/** RFC 7983 §7: the first byte says which protocol a packet belongs to. */
export function classify(first: number): 'stun' | 'zrtp' | 'dtls' | 'turn-channel' | 'rtp' | 'unknown' {
  if (first <= 3) return 'stun';
  if (first >= 16 && first <= 19) return 'zrtp';
  if (first >= 20 && first <= 63) return 'dtls';
  if (first >= 64 && first <= 79) return 'turn-channel';
  if (first >= 128 && first <= 191) return 'rtp';
  return 'unknown';
}

/** A toy in-memory datagram network: delivery is asynchronous, like a real socket. */
class MemoryNetwork {
  private readonly handlers = new Map<string, (data: Uint8Array, from: Address) => void>();

  attach(at: Address, onPacket: (data: Uint8Array, from: Address) => void): void {
    this.handlers.set(`${at.host}:${at.port}`, onPacket);
  }

  send(from: Address, to: Address, data: Uint8Array): void {
    const copy = data.slice();
    setTimeout(() => this.handlers.get(`${to.host}:${to.port}`)?.(copy, from), 1);
  }
}

/** Glue between one DTLS endpoint and the transport: the only code an integrator writes. */
class DtlsPort {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly endpoint: DatagramEndpoint,
    private readonly net: MemoryNetwork,
    private readonly local: Address,
    private readonly onEvents: () => void,
  ) {}

  /** Call for every datagram your demultiplexer classified as DTLS. */
  datagram(data: Uint8Array, from: Address): void {
    this.endpoint.receiveDatagram(data, from, performance.now());
    this.flush();
  }

  /** Call after any API call (send, close) too: it pushes out what the endpoint queued and re-arms the timer. */
  flush(): void {
    for (const d of this.endpoint.pollDatagrams(performance.now())) this.net.send(this.local, d.to, d.data);
    this.onEvents();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.endpoint.nextTimeout();
    if (at !== undefined) {
      // Handshake retransmission (1 s, 2 s, 4 s … RFC 6347 §4.2.4) happens only because we call this.
      this.timer = setTimeout(() => {
        this.endpoint.handleTimeout(performance.now());
        this.flush();
      }, Math.max(0, at - performance.now()));
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

export interface ExampleResult {
  /** What each side's demultiplexer routed where. */
  routed: { client: Record<string, number>; server: Record<string, number> };
  suite?: string;
  clientReceived: string[];
  serverReceived: string[];
}

export async function runExample(paths: { cert: string; key: string; ca: string }): Promise<ExampleResult> {
  const crypto = cryptoProvider();
  const net = new MemoryNetwork();
  const clientAddr: Address = { host: '192.0.2.1', port: 5000 };
  const serverAddr: Address = { host: '192.0.2.2', port: 5000 };
  const result: ExampleResult = { routed: { client: {}, server: {} }, clientReceived: [], serverReceived: [] };

  const server = new DtlsServer({
    crypto,
    random: systemRandom,
    clock: systemClock,
    certificateChain: loadCertificateChain(readFileSync(paths.cert, 'utf8')),
    privateKey: loadPrivateKey(readFileSync(paths.key, 'utf8')),
  });
  const client = new DtlsClient(
    { crypto, random: systemRandom, clock: systemClock, serverName: 'localhost', ca: loadCertificateChain(readFileSync(paths.ca, 'utf8')) },
    serverAddr,
    performance.now(),
  );

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const serverPort: DtlsPort = new DtlsPort(server, net, serverAddr, () => {
    for (let e = server.pollEvent(); e; e = server.pollEvent()) {
      if (e.event.type === 'data') {
        result.serverReceived.push(new TextDecoder().decode(e.event.data));
        server.send(e.peer, new TextEncoder().encode(`echo: ${new TextDecoder().decode(e.event.data)}`));
        queueMicrotask(() => serverPort.flush());
      }
    }
  });
  const clientPort: DtlsPort = new DtlsPort(client, net, clientAddr, () => {
    for (let e = client.pollEvent(); e; e = client.pollEvent()) {
      if (e.type === 'handshake-complete') {
        result.suite = e.summary.suite;
        client.send(new TextEncoder().encode('hello over a custom transport'));
        queueMicrotask(() => clientPort.flush());
      } else if (e.type === 'data') {
        result.clientReceived.push(new TextDecoder().decode(e.data));
        client.close();
        queueMicrotask(() => {
          clientPort.flush();
          resolveDone();
        });
      }
    }
  });

  // One receive path per host: look at the first byte, hand DTLS to the port, everything else to its own handler.
  const demux = (side: 'client' | 'server', port: DtlsPort) => (data: Uint8Array, from: Address) => {
    const kind = data.length ? classify(data[0]!) : 'unknown';
    result.routed[side][kind] = (result.routed[side][kind] ?? 0) + 1;
    if (kind === 'dtls') port.datagram(data, from);
    // 'stun' would go to the ICE agent, 'rtp' to the SRTP stack; this example just counts them.
  };
  net.attach(clientAddr, demux('client', clientPort));
  net.attach(serverAddr, demux('server', serverPort));

  // Non-DTLS traffic on the same "socket": a STUN binding request (first byte 0x00) and RTP (0x80) both ways.
  const stun = new Uint8Array([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, ...new Uint8Array(12)]);
  const rtp = new Uint8Array([0x80, 0x60, 0x00, 0x01, ...new Uint8Array(16)]);
  net.send(clientAddr, serverAddr, stun);
  net.send(serverAddr, clientAddr, rtp);

  clientPort.flush(); // sends the first ClientHello
  net.send(clientAddr, serverAddr, rtp);
  await done;
  await new Promise((r) => setTimeout(r, 10)); // let the close_notify reach the server
  clientPort.stop();
  serverPort.stop();
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [cert, key, ca] = process.argv.slice(2);
  if (!cert || !key || !ca) {
    process.stderr.write('usage: dtls-custom-transport CERT.pem KEY.pem CA.pem\n');
    process.exit(2);
  }
  runExample({ cert, key, ca }).then((r) => {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  });
}
