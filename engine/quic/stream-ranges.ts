// Byte-range bookkeeping for QUIC stream offsets (RFC 9000 §2.2, §3.1): which bytes are pending, sent, acknowledged or received.

/**
 * A sorted set of disjoint half-open ranges [start, end). Adjacent ranges merge.
 * It sits on every packet's path (received packet numbers, pending and acknowledged stream bytes), where additions
 * nearly always extend the highest range and removals trim the lowest: those cases take constant time and allocate
 * nothing; the rest locate their place by binary search and edit the arrays in place.
 */
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

  /** Start of the i-th range in ascending order (0 ≤ i < size), without allocating a pair. */
  startAt(i: number): number {
    return this.starts[i]!;
  }

  /** End (exclusive) of the i-th range in ascending order. */
  endAt(i: number): number {
    return this.ends[i]!;
  }

  /** Index of the last range starting at or before `x`, or -1. */
  private lastStartingAtOrBefore(x: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    if (hi < 0 || this.starts[0]! > x) return -1;
    if (this.starts[hi]! <= x) return hi;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= x) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    const starts = this.starts;
    const ends = this.ends;
    const n = starts.length;
    if (n === 0 || start > ends[n - 1]!) {
      starts.push(start);
      ends.push(end);
      return;
    }
    if (start >= starts[n - 1]!) {
      // Touches only the highest range: every lower one ends before that range starts.
      if (end > ends[n - 1]!) ends[n - 1] = end;
      return;
    }
    // Fold every range that touches [start, end] into one: i is the first, j - 1 the last.
    let i = this.lastStartingAtOrBefore(start);
    if (i < 0 || ends[i]! < start) i++;
    let j = i;
    let s = start;
    let e = end;
    while (j < n && starts[j]! <= end) {
      if (starts[j]! < s) s = starts[j]!;
      if (ends[j]! > e) e = ends[j]!;
      j++;
    }
    if (j === i) {
      starts.splice(i, 0, s);
      ends.splice(i, 0, e);
      return;
    }
    starts[i] = s;
    ends[i] = e;
    if (j - i > 1) {
      starts.splice(i + 1, j - i - 1);
      ends.splice(i + 1, j - i - 1);
    }
  }

  remove(start: number, end: number): void {
    if (end <= start) return;
    const starts = this.starts;
    const ends = this.ends;
    const n = starts.length;
    if (n === 0) return;
    if (start <= starts[0]! && end < ends[0]!) {
      // Trims the front of the lowest range (a sender taking the next chunk of pending bytes).
      if (end > starts[0]!) starts[0] = end;
      return;
    }
    // Ranges i .. j-1 overlap [start, end); each keeps what lies outside it.
    let i = this.lastStartingAtOrBefore(start);
    if (i < 0 || ends[i]! <= start) i++;
    let j = i;
    while (j < n && starts[j]! < end) j++;
    if (j === i) return;
    const keepLeft = starts[i]! < start;
    const keepRight = ends[j - 1]! > end;
    const leftStart = starts[i]!;
    const rightEnd = ends[j - 1]!;
    const pieces = (keepLeft ? 1 : 0) + (keepRight ? 1 : 0);
    if (pieces === 2 && j - i === 1) {
      starts.splice(i + 1, 0, end);
      ends.splice(i, 0, start);
      return;
    }
    let at = i;
    if (keepLeft) {
      starts[at] = leftStart;
      ends[at] = start;
      at++;
    }
    if (keepRight) {
      starts[at] = end;
      ends[at] = rightEnd;
      at++;
    }
    if (j > at) {
      starts.splice(at, j - at);
      ends.splice(at, j - at);
    }
  }

  /** True when every byte of [start, end) is in the set. */
  containsRange(start: number, end: number): boolean {
    const i = this.lastStartingAtOrBefore(start);
    if (i >= 0 && this.ends[i]! >= end) return true;
    if (i + 1 < this.starts.length) return false;
    return end <= start;
  }

  /** End of the range that starts at or before `from` and covers it, or `from` itself when uncovered. */
  contiguousEnd(from: number): number {
    const i = this.lastStartingAtOrBefore(from);
    return i >= 0 && this.ends[i]! >= from ? this.ends[i]! : from;
  }

  clear(): void {
    this.starts.length = 0;
    this.ends.length = 0;
  }
}
