// HTTP/3 client and server (RFC 9114 §4, §6, §7) over a StreamTransport, QPACK without a dynamic table (RFC 9204).

import { BodyPump } from './body-pump.js';
import {
  FrameParser,
  H2_ONLY_FRAMES,
  H3Error,
  H3FrameType,
  H3ProtocolError,
  H3Setting,
  H3StreamType,
  decodeSettings,
  encodeFrame,
  encodeFrameHeader,
  encodeSettings,
  isReservedType,
  saturatingVarint,
} from './h3-frames.js';
import { decodeFieldSection, encodeFieldSection, QpackError, type Field } from './qpack.js';
import { PendingWrites, isClientInitiated, isUni, type FileSource, type ResponseSink, type StreamTransport } from './transport.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';

const OUR_SETTINGS = new Map<number, number>([
  [H3Setting.QPACK_MAX_TABLE_CAPACITY, 0],
  [H3Setting.QPACK_BLOCKED_STREAMS, 0],
  [H3Setting.MAX_FIELD_SECTION_SIZE, 64 * 1024],
]);

/** Unidirectional streams from the peer: the type varint first, then per-type handling (RFC 9114 §6.2). */
class PeerUniStreams {
  private readonly pending = new Map<number, Uint8Array>();
  private readonly kinds = new Map<number, number>();
  private readonly control = new FrameParser();
  private controlId: number | undefined;
  peerSettings: Map<number, number> | undefined;
  goawayId: number | undefined;

  constructor(private readonly t: StreamTransport) {}

  onReadable(id: number): void {
    for (;;) {
      const { data, fin } = this.t.read(id, 1 << 16);
      let kind = this.kinds.get(id);
      let body = data;
      if (kind === undefined) {
        const prev = this.pending.get(id) ?? new Uint8Array(0);
        const buf = new Uint8Array(prev.length + data.length);
        buf.set(prev);
        buf.set(data, prev.length);
        const r = new Reader(buf);
        try {
          kind = saturatingVarint(r);
        } catch {
          this.pending.set(id, buf);
          if (fin) this.pending.delete(id);
          return;
        }
        this.pending.delete(id);
        this.kinds.set(id, kind);
        body = buf.subarray(r.pos);
        this.opened(id, kind);
      }
      if (kind === H3StreamType.CONTROL) {
        this.control.push(body);
        this.controlFrames();
        if (fin) throw new H3ProtocolError(H3Error.CLOSED_CRITICAL_STREAM, 'the peer closed its control stream');
      } else if ((kind === H3StreamType.QPACK_ENCODER || kind === H3StreamType.QPACK_DECODER) && fin) {
        throw new H3ProtocolError(H3Error.CLOSED_CRITICAL_STREAM, 'the peer closed a QPACK stream');
      }
      if (!data.length || fin) return;
    }
  }

  private opened(id: number, kind: number): void {
    if (kind === H3StreamType.CONTROL) {
      if (this.controlId !== undefined) throw new H3ProtocolError(H3Error.STREAM_CREATION_ERROR, 'a second control stream');
      this.controlId = id;
    } else if (kind === H3StreamType.PUSH) {
      // We never send MAX_PUSH_ID, so a push stream is a protocol error (RFC 9114 §4.6).
      throw new H3ProtocolError(H3Error.ID_ERROR, 'push stream without MAX_PUSH_ID');
    } else if (kind !== H3StreamType.QPACK_ENCODER && kind !== H3StreamType.QPACK_DECODER) {
      // Unknown or reserved stream types are refused, not fatal (RFC 9114 §6.2).
      this.t.stopSending(id, H3Error.STREAM_CREATION_ERROR);
    }
  }

  private controlFrames(): void {
    for (let f = this.control.next(); f; f = this.control.next()) {
      if (!this.peerSettings) {
        if (f.type !== H3FrameType.SETTINGS) throw new H3ProtocolError(H3Error.MISSING_SETTINGS, 'the control stream must start with SETTINGS');
        this.peerSettings = decodeSettings(f.payload);
        continue;
      }
      switch (f.type) {
        case H3FrameType.SETTINGS:
          throw new H3ProtocolError(H3Error.FRAME_UNEXPECTED, 'a second SETTINGS frame');
        case H3FrameType.GOAWAY:
          this.goawayId = new Reader(f.payload).varint();
          break;
        case H3FrameType.DATA:
        case H3FrameType.HEADERS:
        case H3FrameType.PUSH_PROMISE:
          throw new H3ProtocolError(H3Error.FRAME_UNEXPECTED, `frame 0x${f.type.toString(16)} on the control stream`);
        default:
          if (H2_ONLY_FRAMES.has(f.type)) throw new H3ProtocolError(H3Error.FRAME_UNEXPECTED, `HTTP/2 frame type 0x${f.type.toString(16)}`);
        // CANCEL_PUSH, MAX_PUSH_ID and reserved/unknown frames: nothing to do
      }
    }
  }
}

function openControlStream(t: StreamTransport, writes: PendingWrites): void {
  const id = t.openStream('uni');
  if (id === undefined) return;
  const w = new Writer(32).varint(H3StreamType.CONTROL).bytes(encodeSettings(OUR_SETTINGS));
  writes.enqueue(id, w.finish());
  writes.flush(t, id);
}

/** Runs an HTTP/3 handler and turns its protocol errors into a connection close with the H3 error code. */
function guarded(t: StreamTransport, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof H3ProtocolError) t.closeConnection(e.code, e.message);
    else if (e instanceof QpackError) t.closeConnection(e.code, e.message);
    else throw e;
  }
}

interface ClientRequest {
  path: string;
  parser: FrameParser;
  status?: number;
}

export class H3Client {
  private readonly queue: string[] = [];
  private readonly inFlight = new Map<number, ClientRequest>();
  private readonly writes = new PendingWrites();
  private readonly uni: PeerUniStreams;
  private started = false;
  completed = 0;
  failed = 0;

  constructor(
    private readonly t: StreamTransport,
    private readonly authority: string,
    private readonly sink: ResponseSink,
  ) {
    this.uni = new PeerUniStreams(t);
  }

  request(path: string): void {
    this.queue.push(path);
  }

  get idle(): boolean {
    return this.queue.length === 0 && this.inFlight.size === 0;
  }

  pump(): void {
    guarded(this.t, () => {
      if (!this.started) {
        this.started = true;
        openControlStream(this.t, this.writes);
      }
      this.writes.flushAll(this.t);
      while (this.queue.length) {
        const id = this.t.openStream('bidi');
        if (id === undefined) return;
        const path = this.queue.shift()!;
        this.inFlight.set(id, { path, parser: new FrameParser() });
        const fields: Field[] = [
          [':method', 'GET'],
          [':scheme', 'https'],
          [':authority', this.authority],
          [':path', path],
          ['user-agent', 'crosswire'],
        ];
        this.writes.enqueue(id, encodeFrame(H3FrameType.HEADERS, encodeFieldSection(fields)), true);
        this.writes.flush(this.t, id);
      }
    });
  }

  onReadable(id: number): void {
    guarded(this.t, () => {
      if (isUni(id)) return this.uni.onReadable(id);
      const req = this.inFlight.get(id);
      if (!req) return;
      for (;;) {
        const { data, fin } = this.t.read(id, 1 << 20);
        req.parser.push(data);
        for (let f = req.parser.next(); f; f = req.parser.next()) this.frame(req, f.type, f.payload);
        if (fin) {
          this.inFlight.delete(id);
          const ok = req.status !== undefined && req.status >= 200 && req.status < 300 && req.parser.idle;
          if (ok) this.completed++;
          else this.failed++;
          this.sink.onComplete(req.path, ok, ok ? undefined : req.status === undefined ? 'response ended without HEADERS' : `HTTP status ${req.status}`);
          return;
        }
        if (!data.length) return;
      }
    });
  }

  private frame(req: ClientRequest, type: number, payload: Uint8Array): void {
    if (type === H3FrameType.HEADERS) {
      const fields = decodeFieldSection(payload);
      if (req.status === undefined) {
        const s = fields.find(([n]) => n === ':status');
        if (!s) throw new H3ProtocolError(H3Error.MESSAGE_ERROR, 'response without :status');
        req.status = Number(s[1]);
        if (req.status >= 100 && req.status < 200) req.status = undefined; // interim response; the final one follows
        else this.sink.onHeaders?.(req.path, req.status, fields);
      }
      // a second HEADERS is trailers: accepted and ignored
    } else if (type === H3FrameType.DATA) {
      if (req.status === undefined) throw new H3ProtocolError(H3Error.FRAME_UNEXPECTED, 'DATA before HEADERS');
      if (payload.length) this.sink.onData(req.path, payload);
    } else if (type === H3FrameType.SETTINGS || type === H3FrameType.GOAWAY || type === H3FrameType.MAX_PUSH_ID || type === H3FrameType.CANCEL_PUSH || H2_ONLY_FRAMES.has(type)) {
      throw new H3ProtocolError(H3Error.FRAME_UNEXPECTED, `frame 0x${type.toString(16)} on a request stream`);
    } else if (type === H3FrameType.PUSH_PROMISE) {
      throw new H3ProtocolError(H3Error.ID_ERROR, 'PUSH_PROMISE without MAX_PUSH_ID');
    }
    // reserved and unknown frame types are ignored (RFC 9114 §9)
  }

  onReset(id: number, code: number | bigint): void {
    const req = this.inFlight.get(id);
    if (!req) return;
    this.inFlight.delete(id);
    this.failed++;
    this.sink.onComplete(req.path, false, `stream reset with code 0x${code.toString(16)}`);
  }

  onWritable(id: number): void {
    this.writes.flush(this.t, id);
  }
}

export class H3Server {
  private readonly writes = new PendingWrites();
  private readonly parsers = new Map<number, FrameParser>();
  private readonly pumps = new Map<number, BodyPump>();
  /** Request streams whose HEADERS were handled: later bytes (a body, trailers) are drained, not parsed. */
  private readonly answered = new Set<number>();
  private readonly uni: PeerUniStreams;
  private started = false;
  served = 0;

  constructor(
    private readonly t: StreamTransport,
    private readonly files: FileSource,
  ) {
    this.uni = new PeerUniStreams(t);
  }

  /** Call once the connection can send 1-RTT data (or 0.5-RTT, after the server's Finished). */
  start(): void {
    if (this.started) return;
    this.started = true;
    guarded(this.t, () => openControlStream(this.t, this.writes));
  }

  onReadable(id: number): void {
    guarded(this.t, () => {
      this.start();
      if (isUni(id)) return this.uni.onReadable(id);
      if (!isClientInitiated(id)) return;
      if (this.answered.has(id)) {
        while (this.t.read(id, 1 << 20).data.length);
        return;
      }
      const parser = this.parsers.get(id) ?? new FrameParser();
      this.parsers.set(id, parser);
      for (;;) {
        const { data, fin } = this.t.read(id, 1 << 16);
        parser.push(data);
        for (let f = parser.next(); f; f = parser.next()) {
          if (f.type === H3FrameType.HEADERS) {
            this.parsers.delete(id);
            this.answered.add(id);
            this.respond(id, decodeFieldSection(f.payload));
            return;
          }
          if (f.type === H3FrameType.DATA) throw new H3ProtocolError(H3Error.FRAME_UNEXPECTED, 'DATA before HEADERS');
          if (f.type === H3FrameType.SETTINGS || f.type === H3FrameType.GOAWAY || H2_ONLY_FRAMES.has(f.type))
            throw new H3ProtocolError(H3Error.FRAME_UNEXPECTED, `frame 0x${f.type.toString(16)} on a request stream`);
          if (!isReservedType(f.type)) continue;
        }
        if (fin) {
          this.parsers.delete(id);
          this.t.reset(id, H3Error.REQUEST_INCOMPLETE);
          return;
        }
        if (!data.length) return;
      }
    });
  }

  private respond(id: number, fields: Field[]): void {
    const get = (n: string) => fields.find(([k]) => k === n)?.[1];
    const method = get(':method');
    const path = get(':path');
    if (!method || !path || !get(':scheme')) {
      this.t.reset(id, H3Error.MESSAGE_ERROR);
      return;
    }
    let status = 200;
    const target = path.split(/[?#]/, 1)[0]!; // raw target: the FileSource decides how to map it
    let size = method === 'GET' || method === 'HEAD' ? this.files.size(target) : undefined;
    if (method !== 'GET' && method !== 'HEAD') status = 405;
    else if (size === undefined) status = 404;
    const head: Field[] = [[':status', String(status)], ['server', 'crosswire']];
    if (status === 200) head.push(['content-length', String(size)]);
    const headers = encodeFrame(H3FrameType.HEADERS, encodeFieldSection(head));
    if (status !== 200 || method === 'HEAD' || size === 0) {
      this.writes.enqueue(id, headers, true);
      this.writes.flush(this.t, id);
      this.served++;
      return;
    }
    size ??= 0;
    const dataHeader = encodeFrameHeader(H3FrameType.DATA, size);
    const prefix = new Uint8Array(headers.length + dataHeader.length);
    prefix.set(headers);
    prefix.set(dataHeader, headers.length);
    const pump = new BodyPump(id, this.files, target, size, prefix);
    this.pumps.set(id, pump);
    this.onWritable(id);
  }

  onWritable(id: number): void {
    this.writes.flush(this.t, id);
    const p = this.pumps.get(id);
    if (p && p.pump(this.t)) {
      this.pumps.delete(id);
      this.served++;
    }
  }

  pumpAll(): void {
    this.writes.flushAll(this.t);
    // Runs on every poll: the live keys, no copy (deleting the entry being visited is safe in a Map iteration).
    for (const id of this.pumps.keys()) this.onWritable(id);
  }
}
