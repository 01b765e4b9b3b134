// HTTP/1.1 framing used by `get --tcp` and `serve --root` (RFC 9112): bodies by Content-Length, chunked, or until close.

import { test, expect } from '@playwright/test';
import { ResponseParser, RequestParser, HttpError, encodeRequest, header, targetToSegments } from '../engine/apps/http1.js';
import { utf8, concat } from '../engine/wire/bytes.js';

function parseAll(wire: string, splitEvery = 1): { status: number; body: string; done: boolean; parser: ResponseParser } {
  const bytes = utf8.encode(wire);
  const p = new ResponseParser();
  const body: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += splitEvery) body.push(...p.feed(bytes.subarray(i, i + splitEvery)));
  return { status: p.head?.status ?? 0, body: utf8.decode(concat(...body)), done: p.done, parser: p };
}

test('request encoding carries Host and the extra headers', () => {
  const req = utf8.decode(encodeRequest({ host: 'localhost:4433', target: '/a?b=1', headers: [['Connection', 'close']] }));
  expect(req).toBe('GET /a?b=1 HTTP/1.1\r\nHost: localhost:4433\r\nConnection: close\r\n\r\n');
});

test('Content-Length bodies complete exactly, even fed one byte at a time', () => {
  const r = parseAll('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello');
  expect(r).toMatchObject({ status: 200, body: 'hello', done: true });
  expect(header(r.parser.head!.headers, 'x-a')).toBe('b');
  expect(() => parseAll('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc', 100)).toThrow(HttpError);
  const short = parseAll('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc');
  expect(short.done).toBe(false);
  expect(() => short.parser.end()).toThrow(/6 body bytes missing/);
});

test('chunked bodies (RFC 9112 §7.1) decode across arbitrary splits, with extensions and trailers', () => {
  const wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n';
  for (const split of [1, 2, 3, 7, 1000]) {
    expect(parseAll(wire, split)).toMatchObject({ status: 200, body: 'Wikipedia in\r\n\r\nchunks.', done: true });
  }
  expect(() => parseAll('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 100)).toThrow(/bad chunk size/);
  const cut = parseAll('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi', 100);
  expect(() => cut.parser.end()).toThrow(/chunked/);
});

test('without framing headers the body runs until the connection closes (HTTP/1.0 style, as s_server -www)', () => {
  const r = parseAll('HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n<html>', 4);
  expect(r.done).toBe(false);
  r.parser.end();
  expect(r.parser.done).toBe(true);
  expect(r.body).toBe('<html>');
});

test('204 and 304 have no body; malformed status lines and headers are HttpError', () => {
  expect(parseAll('HTTP/1.1 204 No Content\r\n\r\n')).toMatchObject({ status: 204, done: true });
  expect(() => parseAll('HTTP/2 200\r\n\r\n', 100)).toThrow(HttpError);
  expect(() => parseAll('HTTP/1.1 200 OK\r\nbad header\r\n\r\n', 100)).toThrow(/malformed header/);
  expect(() => parseAll('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 100)).toThrow(/Content-Length/);
});

test('request parser and traversal-safe target mapping', () => {
  const p = new RequestParser();
  expect(p.feed(utf8.encode('GET /x HTTP/1.1\r\nHo'))).toBeUndefined();
  expect(p.feed(utf8.encode('st: a\r\n\r\n'))).toMatchObject({ method: 'GET', target: '/x' });
  expect(targetToSegments('/a/b.txt?q=1')).toEqual(['a', 'b.txt']);
  expect(targetToSegments('/a/./b')).toEqual(['a', 'b']);
  expect(targetToSegments('/')).toEqual([]);
  for (const bad of ['/../etc/passwd', '/a/../../x', '/%2e%2e/x', '/a%2fb', '/a%00b', '/a%5c..%5cb', 'relative', '/%zz']) {
    expect(targetToSegments(bad)).toBeUndefined();
  }
});
