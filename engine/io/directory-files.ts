// Serves a directory as a FileSource for the QUIC file server (`crosswire serve quic:// --root DIR`).

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { targetToSegments } from '../apps/http1.js';
import type { FileSource } from '../apps/transport.js';

export class DirectoryFiles implements FileSource {
  /** Open files by request target: a body is read in many pieces, and resolving (stat) each time cost more than the read. */
  private readonly fds = new Map<string, number>();

  constructor(private readonly root: string) {}

  /** The file for a request target, or undefined when it escapes the root, is missing or is not a regular file. */
  private resolve(target: string): string | undefined {
    const segments = targetToSegments(target);
    if (!segments || segments.length === 0) return undefined;
    const path = join(this.root, ...segments);
    try {
      return statSync(path).isFile() ? path : undefined;
    } catch {
      return undefined;
    }
  }

  size(target: string): number | undefined {
    // A new request: drop the cached descriptor so a file replaced since the last request is served fresh.
    const cached = this.fds.get(target);
    if (cached !== undefined) {
      closeSync(cached);
      this.fds.delete(target);
    }
    const p = this.resolve(target);
    return p ? statSync(p).size : undefined;
  }

  read(target: string, offset: number, length: number): Uint8Array {
    let fd = this.fds.get(target);
    if (fd === undefined) {
      const p = this.resolve(target);
      if (!p) return new Uint8Array(0);
      fd = openSync(p, 'r');
      this.fds.set(target, fd);
      // a server keeps few files open: close the oldest beyond a small cache
      if (this.fds.size > 64) {
        const [oldTarget, oldFd] = this.fds.entries().next().value as [string, number];
        closeSync(oldFd);
        this.fds.delete(oldTarget);
      }
    }
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, out, got, length - got, offset + got);
      if (n === 0) break; // the file shrank under us: send what exists
      got += n;
    }
    return got === length ? out : out.subarray(0, got);
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
