// Adapts a QUIC connection (RFC 9000 §2-3 streams) to the StreamTransport the application protocols are written against.

import type { QuicConnection } from '../../engine/quic/connection.js';
import type { StreamTransport } from '../../engine/apps/transport.js';

export class ConnectionTransport implements StreamTransport {
  /** The simulated time of the input being processed; reads and closes need it for flow-control and close timers. */
  now = 0;

  constructor(readonly conn: QuicConnection) {}

  get role(): 'client' | 'server' {
    return this.conn.role;
  }

  openStream(dir: 'bidi' | 'uni'): number | undefined {
    return this.conn.openStream(dir);
  }

  write(id: number, data: Uint8Array, fin = false): number {
    return this.conn.writeStream(id, data, fin);
  }

  read(id: number, max: number): { data: Uint8Array; fin: boolean } {
    return this.conn.readStream(id, max, this.now);
  }

  reset(id: number, code: number): void {
    this.conn.resetStream(id, code);
  }

  stopSending(id: number, code: number): void {
    this.conn.stopSending(id, code, this.now);
  }

  closeConnection(code: number, reason: string): void {
    this.conn.close(code, reason, true, this.now);
  }
}
