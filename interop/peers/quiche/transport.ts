// crosswire's StreamTransport (engine/apps/transport.ts) over a quiche 0.18 connection: stream IDs per RFC 9000 §2.1,
// write/read/reset/stop-sending mapped to quiche's streamSend/streamRecv/streamShutdown. It exists so the quiche peer
// can speak ALPN h3 with crosswire's HTTP/3 layer (engine/apps/h3.ts, QPACK static table only): quiche's transport,
// recovery and TLS still do all the QUIC work, but the HTTP/3 framing is ours, not quiche's (the binding has no
// quiche::h3). Reports name that mode "h3 (crosswire's HTTP/3 over quiche)".

import type { Quiche, QuicheConnection } from './binding.js';
import type { StreamTransport } from '../../../engine/apps/transport.js';

const READ_BUF = 65_536;

export class QuicheStreamTransport implements StreamTransport {
  /** Next locally initiated stream ID per type: client bidi 0, uni 2; server bidi 1, uni 3 (RFC 9000 §2.1). */
  private nextBidi: number;
  private nextUni: number;
  /**
   * A bidirectional ID handed out that quiche has not created yet (quiche creates a stream on its first streamSend).
   * openStream waits for it, so the IDs handed out never run ahead of the peer's MAX_STREAMS as quiche counts them.
   */
  private uncreated: number | undefined;
  private readonly buf = Buffer.allocUnsafe(READ_BUF);
  /** Resets the peer sent (RESET_STREAM), seen by read(): the caller hands them to the application. */
  readonly resets: [number, number][] = [];
  /** Locally initiated bidirectional streams opened while quiche was in early data (0-RTT). */
  earlyStreams = 0;

  constructor(
    private readonly q: Quiche,
    private readonly conn: QuicheConnection,
    readonly role: 'client' | 'server',
  ) {
    const s = role === 'server' ? 1 : 0;
    this.nextBidi = s;
    this.nextUni = 2 + s;
  }

  openStream(dir: 'bidi' | 'uni'): number | undefined {
    if (dir === 'bidi') {
      if (this.uncreated !== undefined || this.conn.peerStreamsLeftBidi() <= 0) return undefined;
      const id = this.nextBidi;
      this.nextBidi += 4;
      this.uncreated = id;
      if (this.conn.isInEarlyData()) this.earlyStreams++;
      return id;
    }
    if (this.conn.peerStreamsLeftUni() <= 0) return undefined;
    const id = this.nextUni;
    this.nextUni += 4;
    return id;
  }

  write(id: number, data: Uint8Array, fin = false): number {
    const before = id === this.uncreated ? this.conn.peerStreamsLeftBidi() : 0;
    let n: number | null;
    try {
      n = this.conn.streamSend(id, data, fin);
    } catch (e) {
      const m = (e as Error).message;
      if (m === 'StreamLimit' || m === 'Done') return 0;
      // The peer sent STOP_SENDING or the stream is gone: nothing more will be delivered, so the bytes are dropped.
      if (/^StreamStopped|^InvalidStreamState/.test(m)) return data.length;
      throw e;
    }
    if (id === this.uncreated && ((n ?? 0) > 0 || this.conn.peerStreamsLeftBidi() < before)) this.uncreated = undefined;
    return n ?? 0;
  }

  read(id: number, max: number): { data: Uint8Array; fin: boolean } {
    let r: [number, boolean] | null;
    try {
      r = this.conn.streamRecv(id, max < READ_BUF ? this.buf.subarray(0, max) : this.buf);
    } catch (e) {
      const m = /^StreamReset\((\d+)\)$/.exec((e as Error).message);
      if (m) this.resets.push([id, Number(m[1])]);
      return { data: new Uint8Array(0), fin: false };
    }
    if (r === null) return { data: new Uint8Array(0), fin: false };
    return { data: Uint8Array.prototype.slice.call(this.buf, 0, r[0]), fin: r[1] };
  }

  reset(id: number, code: number): void {
    try {
      this.conn.streamShutdown(id, this.q.Shutdown.Write, code);
    } catch {
      // already finished or reset
    }
  }

  stopSending(id: number, code: number): void {
    try {
      this.conn.streamShutdown(id, this.q.Shutdown.Read, code);
    } catch {
      // already finished or reset
    }
  }

  closeConnection(code: number, reason: string): void {
    try {
      this.conn.close(true, code, Buffer.from(reason));
    } catch {
      // already closing
    }
  }
}
