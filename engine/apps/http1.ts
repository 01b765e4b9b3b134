// HTTP/1.1 message framing (RFC 9112 §2–§7: start lines, header fields, Content-Length and chunked bodies), sans-I/O.
//
// Just enough HTTP/1.1 for an interop client (GET, one request per connection) and a static file server; parsers are
// incremental and raise HttpError on malformed input instead of guessing.

import { concat, utf8 } from '../wire/bytes.js';

export class HttpError extends Error {
  override name = 'HttpError';
}

export type Headers = [name: string, value: string][];

export interface HttpRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: Headers;
}

export interface HttpResponseHead {
  readonly status: number;
  readonly reason: string;
  readonly headers: Headers;
}

/** Limits that keep a hostile peer from making us buffer without bound. */
const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function header(headers: Headers, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of headers) if (k.toLowerCase() === n) return v;
  return undefined;
}

export function encodeRequest(req: { method?: string; host: string; target: string; headers?: Headers }): Uint8Array {
  const lines = [`${req.method ?? 'GET'} ${req.target} HTTP/1.1`, `Host: ${req.host}`];
  for (const [k, v] of req.headers ?? []) lines.push(`${k}: ${v}`);
  return utf8.encode(lines.join('\r\n') + '\r\n\r\n');
}

export function encodeResponseHead(status: number, reason: string, headers: Headers): Uint8Array {
  const lines = [`HTTP/1.1 ${status} ${reason}`];
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  return utf8.encode(lines.join('\r\n') + '\r\n\r\n');
}

/** Splits a header block (after the start line) into fields; obsolete line folding is rejected (RFC 9112 §5.2). */
function parseFields(lines: string[]): Headers {
  const out: Headers = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line)) throw new HttpError('obsolete header line folding');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpError(`invalid header name ${JSON.stringify(name)}`);
    out.push([name, line.slice(colon + 1).trim()]);
  }
  return out;
}

/** Finds the end of the head (CRLF CRLF); returns the head lines and the offset after it, or undefined when incomplete. */
function splitHead(buf: Uint8Array): { lines: string[]; bodyStart: number } | undefined {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
      const text = new TextDecoder('latin1').decode(buf.subarray(0, i));
      return { lines: text.split('\r\n'), bodyStart: i + 4 };
    }
  }
  if (buf.length > MAX_HEAD) throw new HttpError(`header section exceeds ${MAX_HEAD} bytes`);
  return undefined;
}

type BodyMode = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'none' };

/** Chunked transfer coding decoder (RFC 9112 §7.1); trailers are read and discarded. */
class ChunkedDecoder {
  private buf: Uint8Array = new Uint8Array(0);
  private left = 0; // bytes of chunk data still to come
  private state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'size';

  get done(): boolean {
    return this.state === 'done';
  }

  /** Returns decoded body bytes; bytes after the final chunk are returned in `rest`. */
  feed(data: Uint8Array): { body: Uint8Array[]; rest: Uint8Array } {
    this.buf = this.buf.length ? concat(this.buf, data) : data;
    const body: Uint8Array[] = [];
    for (;;) {
      if (this.state === 'data') {
        if (this.buf.length === 0) break;
        const take = Math.min(this.left, this.buf.length);
        body.push(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        this.left -= take;
        if (this.left === 0) this.state = 'data-crlf';
        continue;
      }
      if (this.state === 'done') break;
      const eol = indexOfCrlf(this.buf);
      if (eol < 0) {
        if (this.buf.length > MAX_CHUNK_LINE) throw new HttpError('chunk line too long');
        break;
      }
      const line = new TextDecoder('latin1').decode(this.buf.subarray(0, eol));
      this.buf = this.buf.subarray(eol + 2);
      if (this.state === 'data-crlf') {
        if (line !== '') throw new HttpError('missing CRLF after chunk data');
        this.state = 'size';
      } else if (this.state === 'size') {
        const m = /^([0-9A-Fa-f]{1,12})(?:[ \t]*;.*)?$/.exec(line);
        if (!m) throw new HttpError(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
        this.left = parseInt(m[1]!, 16);
        this.state = this.left === 0 ? 'trailer' : 'data';
      } else if (this.state === 'trailer') {
        if (line === '') this.state = 'done';
      }
    }
    const rest = this.state === 'done' ? this.buf : new Uint8Array(0);
    if (this.state === 'done') this.buf = new Uint8Array(0);
    return { body, rest };
  }
}

function indexOfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}

/**
 * Incremental response parser for one request. Body framing per RFC 9112 §6.3: chunked, else Content-Length, else
 * until the connection closes (call end()).
 */
export class ResponseParser {
  head: HttpResponseHead | undefined;
  private buf: Uint8Array = new Uint8Array(0);
  private mode: BodyMode | undefined;
  private chunked: ChunkedDecoder | undefined;
  private complete = false;

  constructor(private readonly requestMethod = 'GET') {}

  get done(): boolean {
    return this.complete;
  }

  /** The body is delimited only by the end of the connection, so a truncated connection means a truncated body. */
  get delimitedByClose(): boolean {
    return this.mode?.kind === 'close';
  }

  /** Feeds received bytes; returns body bytes decoded so far. */
  feed(data: Uint8Array): Uint8Array[] {
    if (this.complete) return [];
    if (!this.head) {
      this.buf = concat(this.buf, data);
      const split = splitHead(this.buf);
      if (!split) return [];
      const [statusLine, ...fieldLines] = split.lines;
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine ?? '');
      if (!m) throw new HttpError(`malformed status line ${JSON.stringify((statusLine ?? '').slice(0, 80))}`);
      const status = Number(m[1]);
      this.head = { status, reason: m[2] ?? '', headers: parseFields(fieldLines) };
      this.mode = this.bodyMode(this.head);
      data = this.buf.subarray(split.bodyStart);
      this.buf = new Uint8Array(0);
      if (this.mode.kind === 'none' || (this.mode.kind === 'length' && this.mode.left === 0)) this.complete = true;
    }
    return this.body(data);
  }

  /** The connection closed: completes a read-until-close body, or reports a truncated one. */
  end(): void {
    if (this.complete) return;
    if (!this.head) throw new HttpError('connection closed before a complete response head');
    if (this.mode?.kind === 'close') {
      this.complete = true;
      return;
    }
    if (this.mode?.kind === 'length') throw new HttpError(`connection closed with ${this.mode.left} body bytes missing`);
    throw new HttpError('connection closed inside a chunked body');
  }

  private bodyMode(head: HttpResponseHead): BodyMode {
    if (this.requestMethod === 'HEAD' || head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) {
      return { kind: 'none' };
    }
    const te = header(head.headers, 'transfer-encoding');
    if (te !== undefined) {
      const codings = te.toLowerCase().split(',').map((s) => s.trim());
      if (codings[codings.length - 1] !== 'chunked') return { kind: 'close' };
      if (codings.length > 1) throw new HttpError(`unsupported transfer coding ${te}`);
      this.chunked = new ChunkedDecoder();
      return { kind: 'chunked' };
    }
    const cl = header(head.headers, 'content-length');
    if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) throw new HttpError(`invalid Content-Length ${JSON.stringify(cl)}`);
      return { kind: 'length', left: Number(cl) };
    }
    return { kind: 'close' };
  }

  private body(data: Uint8Array): Uint8Array[] {
    if (data.length === 0 || this.complete) return [];
    const mode = this.mode!;
    if (mode.kind === 'close') return [data];
    if (mode.kind === 'length') {
      if (data.length > mode.left) throw new HttpError(`response carries ${data.length - mode.left} bytes beyond its Content-Length`);
      mode.left -= data.length;
      if (mode.left === 0) this.complete = true;
      return [data];
    }
    const { body } = this.chunked!.feed(data);
    if (this.chunked!.done) this.complete = true;
    return body;
  }
}

/** Incremental request parser (one request; a request body is read by Content-Length and discarded). */
export class RequestParser {
  private buf: Uint8Array = new Uint8Array(0);
  request: HttpRequest | undefined;

  /** Returns the request once its head is complete. */
  feed(data: Uint8Array): HttpRequest | undefined {
    if (this.request) return this.request;
    this.buf = concat(this.buf, data);
    const split = splitHead(this.buf);
    if (!split) return undefined;
    const [requestLine, ...fieldLines] = split.lines;
    const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.[01]$/.exec(requestLine ?? '');
    if (!m) throw new HttpError(`malformed request line ${JSON.stringify((requestLine ?? '').slice(0, 80))}`);
    this.request = { method: m[1]!, target: m[2]!, headers: parseFields(fieldLines) };
    return this.request;
  }
}

/**
 * Maps a request target to path segments under a document root, or undefined when it tries to leave the root
 * ("..", encoded slashes or NUL bytes). Query and fragment are ignored.
 */
export function targetToSegments(target: string): string[] | undefined {
  if (!target.startsWith('/')) return undefined;
  const path = target.split(/[?#]/, 1)[0]!;
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (seg.includes('/') || seg.includes('\\') || seg.includes('\0')) return undefined;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') return undefined;
    segments.push(seg);
  }
  return segments;
}
