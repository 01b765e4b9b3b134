// Byte-range bookkeeping for QUIC stream offsets (RFC 9000 §2.2, §3.1): which bytes are pending, sent, acknowledged or received.

/** A sorted set of disjoint half-open ranges [start, end). Adjacent ranges merge. */
export class RangeSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  get size(): number {
    return this.starts.length;
  }

  isEmpty(): boolean {
    return this.starts.length === 0;
  }

  /** Ranges in ascending order. */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    for (let i = 0; i < this.starts.length; i++) yield [this.starts[i]!, this.ends[i]!];
  }

  first(): [number, number] | undefined {
    return this.starts.length ? [this.starts[0]!, this.ends[0]!] : undefined;
  }

  last(): [number, number] | undefined {
    const n = this.starts.length;
    return n ? [this.starts[n - 1]!, this.ends[n - 1]!] : undefined;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    // Find all ranges that touch [start, end) and fold them into one.
    let i = 0;
    while (i < this.starts.length && this.ends[i]! < start) i++;
    let j = i;
    let s = start;
    let e = end;
    while (j < this.starts.length && this.starts[j]! <= end) {
      s = Math.min(s, this.starts[j]!);
      e = Math.max(e, this.ends[j]!);
      j++;
    }
    this.starts.splice(i, j - i, s);
    this.ends.splice(i, j - i, e);
  }

  remove(start: number, end: number): void {
    if (end <= start) return;
    const ns: number[] = [];
    const ne: number[] = [];
    for (let i = 0; i < this.starts.length; i++) {
      const s = this.starts[i]!;
      const e = this.ends[i]!;
      if (e <= start || s >= end) {
        ns.push(s);
        ne.push(e);
        continue;
      }
      if (s < start) {
        ns.push(s);
        ne.push(start);
      }
      if (e > end) {
        ns.push(end);
        ne.push(e);
      }
    }
    this.starts.splice(0, this.starts.length, ...ns);
    this.ends.splice(0, this.ends.length, ...ne);
  }

  /** True when every byte of [start, end) is in the set. */
  containsRange(start: number, end: number): boolean {
    for (let i = 0; i < this.starts.length; i++) {
      if (this.starts[i]! <= start && this.ends[i]! >= end) return true;
      if (this.starts[i]! > start) return false;
    }
    return end <= start;
  }

  /** End of the range that starts at or before `from` and covers it, or `from` itself when uncovered. */
  contiguousEnd(from: number): number {
    for (let i = 0; i < this.starts.length; i++) {
      if (this.starts[i]! <= from && this.ends[i]! >= from) return this.ends[i]!;
    }
    return from;
  }

  clear(): void {
    this.starts.length = 0;
    this.ends.length = 0;
  }
}
