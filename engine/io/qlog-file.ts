// Writes qlog 0.3 JSON-SEQ files (engine/quic/qlog.ts records) to a directory, as --qlog DIR and QLOGDIR ask.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { qlogEventRecord, qlogHeaderRecord, type QlogEvent, type QlogSink } from '../quic/qlog.js';

export function qlogDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return explicit ?? (env['QLOGDIR'] || undefined);
}

export interface QlogFile {
  readonly sink: QlogSink;
  readonly path: string;
  close(): void;
}

/**
 * One file per connection, named `<name>.sqlog`. Events are buffered and flushed in batches so a busy connection does
 * not pay a write() per packet; the header record goes first.
 */
export function openQlogFile(dir: string, name: string, vantagePoint: 'client' | 'server', odcid?: string): QlogFile {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.sqlog`);
  const fd = openSync(path, 'w');
  let reference: number | undefined;
  let pending: string[] = [];
  let closed = false;
  const flush = () => {
    if (pending.length) writeSync(fd, pending.join(''));
    pending = [];
  };
  const sink: QlogSink = (e: QlogEvent) => {
    if (closed) return;
    if (reference === undefined) {
      reference = e.time;
      writeSync(fd, qlogHeaderRecord({ vantagePoint, odcid, referenceTime: reference, title: `crosswire ${vantagePoint} ${odcid ?? ''}`.trim() }));
    }
    pending.push(qlogEventRecord(e, reference));
    if (pending.length >= 256) flush();
  };
  return {
    sink,
    path,
    close() {
      if (closed) return;
      closed = true;
      flush();
      closeSync(fd);
    },
  };
}
