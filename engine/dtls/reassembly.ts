// Handshake message reassembly (RFC 6347 §4.2.2, §4.2.3): fragments in any order, duplicated or overlapping,
// delivered as whole messages strictly in message_seq order.

import type { HandshakeFragment } from './messages.js';

/** A message far beyond the expected one is more likely an attack than reordering; RFC 6347 §4.2.2 allows dropping it. */
const MAX_MESSAGES_AHEAD = 16;
/** Certificate chains are the largest messages; 256 KiB is far above any real chain and bounds per-peer memory. */
export const MAX_HANDSHAKE_MESSAGE = 256 * 1024;

export interface HandshakeMessage {
  readonly msgType: number;
  readonly messageSeq: number;
  readonly body: Uint8Array;
  /** The record epoch the message arrived in (the first fragment's); Finished must come in the new epoch. */
  readonly epoch: number;
}

interface Partial {
  msgType: number;
  epoch: number;
  body: Uint8Array;
  /** Received byte ranges, sorted and merged: [start, end) pairs. */
  ranges: [number, number][];
}

/**
 * 'old': the fragment belongs to an already-delivered message (the peer is retransmitting). 'ignored': too far ahead or
 * too large. 'conflict': it disagrees with what was buffered for its message (type, length or overlapping bytes); the
 * fragment and the buffered pieces are both dropped, since either may be the forgery, and the peer's next
 * retransmission rebuilds the message.
 */
export type FragmentOutcome = 'accepted' | 'old' | 'ignored' | 'conflict';

export class HandshakeReassembler {
  /** The message_seq of the next message to deliver. */
  nextSeq = 0;
  private readonly partial = new Map<number, Partial>();

  add(f: HandshakeFragment, epoch: number): FragmentOutcome {
    if (f.messageSeq < this.nextSeq) return 'old';
    if (f.messageSeq > this.nextSeq + MAX_MESSAGES_AHEAD || f.length > MAX_HANDSHAKE_MESSAGE) return 'ignored';
    let p = this.partial.get(f.messageSeq);
    if (p && (p.msgType !== f.msgType || p.body.length !== f.length || p.epoch !== epoch || !agrees(p, f))) {
      // Keeping the first view would wedge the message forever when the first view was the bad one (RFC 6347 §4.2.3
      // leaves the choice to us): start over instead.
      this.partial.delete(f.messageSeq);
      return 'conflict';
    }
    if (!p) {
      p = { msgType: f.msgType, epoch, body: new Uint8Array(f.length), ranges: [] };
      this.partial.set(f.messageSeq, p);
    }
    if (f.body.length === 0 && f.length !== 0) return 'accepted';
    p.body.set(f.body, f.fragmentOffset);
    insertRange(p.ranges, f.fragmentOffset, f.fragmentOffset + f.body.length);
    return 'accepted';
  }

  /** The next complete in-order message, if any, consumed (message_seq moves on). */
  next(): HandshakeMessage | undefined {
    const m = this.peek();
    if (m) this.accept();
    return m;
  }

  /** The next complete in-order message, if any, left in place: accept() consumes it, discard() forgets it. */
  peek(): HandshakeMessage | undefined {
    const p = this.partial.get(this.nextSeq);
    if (!p) return undefined;
    const complete = p.body.length === 0 || (p.ranges.length === 1 && p.ranges[0]![0] === 0 && p.ranges[0]![1] === p.body.length);
    if (!complete) return undefined;
    return { msgType: p.msgType, messageSeq: this.nextSeq, body: p.body, epoch: p.epoch };
  }

  accept(): void {
    this.partial.delete(this.nextSeq++);
  }

  /** Drops the message peek() showed without using up its message_seq: the genuine message may still come. */
  discard(): void {
    this.partial.delete(this.nextSeq);
  }
}

/** Whether the fragment's bytes equal what is already buffered wherever the two overlap. */
function agrees(p: Partial, f: HandshakeFragment): boolean {
  const start = f.fragmentOffset;
  const end = start + f.body.length;
  for (const [a, b] of p.ranges) {
    const lo = Math.max(a, start);
    const hi = Math.min(b, end);
    for (let i = lo; i < hi; i++) if (p.body[i] !== f.body[i - start]) return false;
  }
  return true;
}

function insertRange(ranges: [number, number][], start: number, end: number): void {
  ranges.push([start, end]);
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  ranges.length = 0;
  ranges.push(...merged);
}
