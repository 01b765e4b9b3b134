// Small scripted endpoints for tests and the benchmark, standing in for the QUIC and DTLS engines: they speak the
// DatagramEndpoint contract exactly (pull-based output, one timer) but carry no protocol.

import type { Address, DatagramEndpoint, OutgoingDatagram } from '../../engine/endpoint.js';

export interface ScriptedDatagram {
  at: number;
  data: Uint8Array;
  to?: Address;
  from?: Address;
}

export interface Received {
  time: number;
  data: Uint8Array;
  from: Address;
  local?: Address;
}

/** Sends a fixed script of datagrams at given times; records what it receives; optional reply hook. */
export class ScriptedEndpoint implements DatagramEndpoint {
  readonly received: Received[] = [];
  private readonly script: ScriptedDatagram[];
  private readonly outbox: OutgoingDatagram[] = [];

  constructor(
    script: ScriptedDatagram[],
    private readonly peer: Address,
    private readonly reply?: (data: Uint8Array, from: Address, now: number) => Uint8Array[] | undefined,
  ) {
    this.script = [...script].sort((a, b) => a.at - b.at);
  }

  receiveDatagram(data: Uint8Array, from: Address, now: number, local?: Address): void {
    this.received.push({ time: now, data, from, ...(local ? { local } : {}) });
    for (const r of this.reply?.(data, from, now) ?? []) this.outbox.push({ data: r, to: from });
  }

  pollDatagrams(now: number): OutgoingDatagram[] {
    const out = this.outbox.splice(0);
    while (this.script.length && this.script[0]!.at <= now) {
      const s = this.script.shift()!;
      out.push({ data: s.data, to: s.to ?? this.peer, ...(s.from ? { from: s.from } : {}) });
    }
    return out;
  }

  nextTimeout(): number | undefined {
    return this.script[0]?.at;
  }

  handleTimeout(): void {}
}

/**
 * Streams `totalBytes` in datagrams of `size` bytes, paced at `rateBps` (the benchmark's stand-in for a QUIC bulk
 * transfer; the receiver is a ScriptedEndpoint with an empty script). `makeDatagram` builds each datagram's bytes.
 */
export class PacedSender implements DatagramEndpoint {
  sentBytes = 0;
  private nextAt = 0;
  private readonly gapMs: number;

  constructor(
    private readonly peer: Address,
    readonly totalBytes: number,
    readonly size: number,
    rateBps: number,
    private readonly makeDatagram: (seq: number, size: number) => Uint8Array = (_s, n) => new Uint8Array(n),
  ) {
    this.gapMs = (size * 8 * 1000) / rateBps;
  }

  receiveDatagram(): void {}

  pollDatagrams(now: number): OutgoingDatagram[] {
    const out: OutgoingDatagram[] = [];
    while (this.sentBytes < this.totalBytes && this.nextAt <= now) {
      const n = Math.min(this.size, this.totalBytes - this.sentBytes);
      out.push({ data: this.makeDatagram(this.sentBytes / this.size, n), to: this.peer });
      this.sentBytes += n;
      this.nextAt += this.gapMs;
    }
    return out;
  }

  nextTimeout(): number | undefined {
    return this.sentBytes < this.totalBytes ? this.nextAt : undefined;
  }

  handleTimeout(): void {}
}
