// Streams a response body from a FileSource into a QUIC stream as flow control allows, without holding the whole body.

import type { FileSource, StreamTransport } from './transport.js';

const CHUNK = 64 * 1024;

export class BodyPump {
  private offset = 0;
  private head: Uint8Array;
  /** Read from the file but not yet accepted by the stream: kept so a nearly full stream does not re-read 64 KiB per packet. */
  private carry: Uint8Array = new Uint8Array(0);
  private emptyFinSent = false;

  /** `prefix` goes first (e.g. HTTP/3 HEADERS and the DATA frame header); then `size` bytes of `path`; then FIN. */
  constructor(
    readonly streamId: number,
    private readonly files: FileSource,
    private readonly path: string,
    private readonly size: number,
    prefix: Uint8Array = new Uint8Array(0),
  ) {
    this.head = prefix;
  }

  get done(): boolean {
    return this.head.length === 0 && this.offset >= this.size;
  }

  private sendEmptyFin(t: StreamTransport): void {
    t.write(this.streamId, new Uint8Array(0), true);
    this.emptyFinSent = true;
  }

  /** Writes as much as the transport accepts; returns true when everything, FIN included, is handed over. */
  pump(t: StreamTransport): boolean {
    while (this.head.length) {
      const fin = this.size === 0;
      const n = t.write(this.streamId, this.head, fin);
      this.head = this.head.subarray(n);
      if (this.head.length) return false;
      if (fin) this.emptyFinSent = true;
    }
    if (this.size === 0) {
      // nothing but FIN to send (and the prefix, if any, already carried it)
      if (!this.emptyFinSent) this.sendEmptyFin(t);
      return true;
    }
    while (this.offset < this.size) {
      if (this.carry.length === 0) {
        const len = Math.min(CHUNK, this.size - this.offset);
        const chunk = this.files.read(this.path, this.offset, len);
        if (chunk.length < len) {
          // the file shrank while we served it: what the client gets would be wrong, so abort the stream
          t.reset(this.streamId, 0x102);
          this.offset = this.size;
          return true;
        }
        this.carry = chunk;
      }
      const n = t.write(this.streamId, this.carry, this.offset + this.carry.length === this.size);
      // Called on every poll, and mostly the stream is still full (n = 0): no new view then.
      if (n === 0) return false;
      this.offset += n;
      this.carry = this.carry.subarray(n);
      if (this.carry.length) return false;
    }
    return true;
  }
}
