// Bounded reads of run artifacts (issue 12, speed): the report needs a capped number of events from a trace or a
// qlog, so it reads a file's head or evenly spaced windows of it, never more than a fixed number of bytes, and cuts
// at line ends so every line it hands on is whole. A 100 MB qlog then costs what a 4 MB one does.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface HeadRead {
  /** Whole lines from the start of the file (all of it when `complete`). */
  text: string;
  /** Bytes of the file the text covers, and the file's size. */
  bytes: number;
  size: number;
  /** The whole file was read. */
  complete: boolean;
}

export interface WindowsRead {
  /** Whole lines from each window, in file order (a line that straddles a window's edges is left out). */
  texts: string[];
  /** Bytes read, and the file's size. */
  bytes: number;
  size: number;
}

const NL = 0x0a;

/** Fills `buf` from `pos` (short only at the end of the file). */
function readAt(fd: number, buf: Buffer, pos: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * The first `maxBytes` of a file, cut after its last newline when the file is longer (a newline byte never occurs
 * inside a UTF-8 sequence, so the cut is always between characters).
 */
export function readHead(path: string, maxBytes: number): HeadRead {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const want = Math.min(size, Math.max(0, maxBytes));
    const buf = Buffer.allocUnsafe(want);
    const got = readAt(fd, buf, 0);
    if (got >= size) return { text: buf.toString('utf8', 0, got), bytes: got, size, complete: true };
    const end = buf.lastIndexOf(NL, got - 1) + 1;
    return { text: buf.toString('utf8', 0, end), bytes: end, size, complete: false };
  } finally {
    closeSync(fd);
  }
}

/**
 * `count` windows of `windowBytes` spread evenly over the file (the first at its start, the last at its end). Each
 * window's text starts after the first newline in it (unless it starts the file) and ends at its last newline.
 */
export function readWindows(path: string, count: number, windowBytes: number): WindowsRead {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const texts: string[] = [];
    let bytes = 0;
    const buf = Buffer.allocUnsafe(Math.min(windowBytes, size));
    const n = Math.max(1, count);
    const stride = n > 1 ? (size - buf.length) / (n - 1) : 0;
    let lastEnd = 0;
    for (let w = 0; w < n; w++) {
      // Never re-read bytes an earlier window covered (small files: the windows overlap).
      const pos = Math.max(Math.round(w * stride), lastEnd);
      if (pos >= size) break;
      const view = buf.subarray(0, Math.min(buf.length, size - pos));
      const got = readAt(fd, view, pos);
      bytes += got;
      const data = view.subarray(0, got);
      // lastEnd is always a line start: a window that begins there has no partial first line.
      let start = 0;
      if (pos !== lastEnd) {
        const nl = data.indexOf(NL);
        if (nl < 0) continue; // one line longer than the window: nothing whole in it
        start = nl + 1;
      }
      const end = pos + got >= size ? got : data.lastIndexOf(NL) + 1;
      if (end <= start) continue;
      texts.push(data.toString('utf8', start, end));
      lastEnd = pos + end;
    }
    return { texts, bytes, size };
  } finally {
    closeSync(fd);
  }
}
