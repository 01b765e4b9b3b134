// hq-interop: HTTP/0.9 over QUIC as quic-interop-runner uses it ("GET /path\r\n" on a bidi stream, body then FIN).

import { BodyPump } from './body-pump.js';
import { PendingWrites, isUni, type FileSource, type ResponseSink, type StreamTransport } from './transport.js';

const MAX_REQUEST_LINE = 8 * 1024;
const te = new TextEncoder();
const td = new TextDecoder();

export class HqClient {
  private readonly queue: string[] = [];
  private readonly inFlight = new Map<number, string>();
  private readonly writes = new PendingWrites();
  completed = 0;
  failed = 0;

  constructor(
    private readonly t: StreamTransport,
    private readonly sink: ResponseSink,
  ) {}

  request(path: string): void {
    this.queue.push(path);
  }

  get idle(): boolean {
    return this.queue.length === 0 && this.inFlight.size === 0;
  }

  /** Opens streams for queued requests while the peer's stream limit allows; call on handshake and on credit. */
  pump(): void {
    this.writes.flushAll(this.t);
    while (this.queue.length) {
      const id = this.t.openStream('bidi');
      if (id === undefined) return;
      const path = this.queue.shift()!;
      this.inFlight.set(id, path);
      this.writes.enqueue(id, te.encode(`GET ${path}\r\n`), true);
      this.writes.flush(this.t, id);
    }
  }

  onReadable(id: number): void {
    const path = this.inFlight.get(id);
    if (path === undefined) return;
    for (;;) {
      const { data, fin } = this.t.read(id, 1 << 20);
      if (data.length) this.sink.onData(path, data);
      if (fin) {
        this.inFlight.delete(id);
        this.completed++;
        this.sink.onComplete(path, true);
        return;
      }
      if (!data.length) return;
    }
  }

  onReset(id: number, code: number | bigint): void {
    const path = this.inFlight.get(id);
    if (path === undefined) return;
    this.inFlight.delete(id);
    this.failed++;
    this.sink.onComplete(path, false, `stream reset by the server with code ${code}`);
  }
}

export class HqServer {
  private readonly requests = new Map<number, Uint8Array>();
  private readonly pumps = new Map<number, BodyPump>();
  /** Streams whose request was parsed: later readable events only drain them. */
  private readonly answered = new Set<number>();
  served = 0;

  constructor(
    private readonly t: StreamTransport,
    private readonly files: FileSource,
  ) {}

  onReadable(id: number): void {
    if (isUni(id) || this.answered.has(id)) {
      this.t.read(id, 1 << 20); // nothing is expected here; drain
      return;
    }
    let buf = this.requests.get(id) ?? new Uint8Array(0);
    let fin = false;
    for (;;) {
      const r = this.t.read(id, 1 << 16);
      if (r.data.length) {
        const n = new Uint8Array(buf.length + r.data.length);
        n.set(buf);
        n.set(r.data, buf.length);
        buf = n;
      }
      fin ||= r.fin;
      if (!r.data.length || r.fin) break;
    }
    if (buf.length > MAX_REQUEST_LINE) {
      this.t.reset(id, 0x1);
      this.requests.delete(id);
      return;
    }
    const text = td.decode(buf);
    const eol = text.indexOf('\n');
    if (eol < 0 && !fin) {
      this.requests.set(id, buf);
      return;
    }
    this.requests.delete(id);
    this.answered.add(id);
    const line = (eol < 0 ? text : text.slice(0, eol)).replace(/\r$/, '');
    const m = /^GET (\/\S*)$/.exec(line);
    const path = m ? m[1]! : undefined; // raw target: the FileSource decides how to map it
    const size = path !== undefined ? this.files.size(path) : undefined;
    if (path === undefined || size === undefined) {
      // HTTP/0.9 has no status: an unknown file is an empty response with a reset, as hq-interop servers do
      this.t.reset(id, 0x1);
      return;
    }
    const pump = new BodyPump(id, this.files, path, size);
    this.pumps.set(id, pump);
    this.onWritable(id);
  }

  onWritable(id: number): void {
    const p = this.pumps.get(id);
    if (p && p.pump(this.t)) {
      this.pumps.delete(id);
      this.served++;
    }
  }

  /** Retry every stream waiting for flow-control credit (after MAX_DATA there is no per-stream event). */
  pumpAll(): void {
    // Runs on every poll: the live keys, no copy (deleting the entry being visited is safe in a Map iteration).
    for (const id of this.pumps.keys()) this.onWritable(id);
  }
}
