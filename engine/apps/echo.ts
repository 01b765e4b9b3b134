// An echo application over QUIC streams: every byte received on a bidirectional stream goes back on it, FIN for FIN.
// Used by `crosswire serve quic:// --echo` and the OpenSSL-API scenarios.

import { PendingWrites, isUni, type StreamTransport } from './transport.js';

export class EchoServer {
  private readonly writes = new PendingWrites();
  echoed = 0;

  constructor(private readonly t: StreamTransport) {}

  onReadable(id: number): void {
    for (;;) {
      const { data, fin } = this.t.read(id, 1 << 16);
      // Unidirectional streams cannot answer; their data is consumed and counted.
      if (!isUni(id) && (data.length || fin)) this.writes.enqueue(id, data, fin);
      this.echoed += data.length;
      if (!data.length || fin) break;
    }
    if (!isUni(id)) this.writes.flush(this.t, id);
  }

  onWritable(id: number): void {
    this.writes.flush(this.t, id);
  }

  pumpAll(): void {
    this.writes.flushAll(this.t);
  }
}
