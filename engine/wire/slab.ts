// Carves many short-lived byte buffers (outgoing datagrams) out of one large allocation.
//
// Each `new Uint8Array(n)` above V8's on-heap limit (64 bytes) is a separate zeroed backing store that the garbage
// collector tracks as external memory; for one datagram per packet that cost rivals the packet's own encoding. A slab
// hands out disjoint views instead: a view keeps its whole slab alive, which is bounded by the slab size.

export class Slab {
  private buf: Uint8Array;
  private used = 0;

  constructor(private readonly size = 64 * 1024) {
    this.buf = new Uint8Array(size);
  }

  /** `n` zeroed bytes that no other take() shares. */
  take(n: number): Uint8Array {
    if (n > this.size / 4) return new Uint8Array(n);
    if (this.used + n > this.buf.length) {
      this.buf = new Uint8Array(this.size);
      this.used = 0;
    }
    const out = this.buf.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}
