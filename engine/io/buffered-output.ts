// Download bodies to a file or stdout in large writes: a transfer arrives in packet-sized chunks, and a write call per
// chunk (a system call each for a file) costs more than the copy into one bounded buffer. Nothing else is accumulated.

import { writeSync } from 'node:fs';

const DEFAULT_BUFFER_BYTES = 1 << 20;

export class BufferedOutput {
  private readonly buf: Buffer;
  private used = 0;

  /** `fd`: a file opened for writing; without one, the buffer goes to process.stdout. */
  constructor(
    private readonly fd?: number,
    size = DEFAULT_BUFFER_BYTES,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  write(chunk: Uint8Array): void {
    if (this.used + chunk.length > this.buf.length) this.flush();
    if (chunk.length >= this.buf.length) return this.emit(chunk);
    this.buf.set(chunk, this.used);
    this.used += chunk.length;
  }

  flush(): void {
    if (!this.used) return;
    // stdout may hold on to what it is given, so it gets a copy; a file write is done when writeSync returns.
    this.emit(this.fd === undefined ? Buffer.from(this.buf.subarray(0, this.used)) : this.buf.subarray(0, this.used));
    this.used = 0;
  }

  private emit(bytes: Uint8Array): void {
    if (this.fd === undefined) {
      process.stdout.write(bytes);
      return;
    }
    for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off, bytes.length - off);
  }
}
