// Synthetic wire images for tests: QUIC long/short headers and DTLS records with just enough structure for the
// classifier and observers (payloads are filler, not protected packets).

import { Writer } from '../../engine/wire/writer.js';
import { QUIC_V1, QUIC_V2 } from '../classify.js';

export type LongType = 'initial' | '0rtt' | 'handshake' | 'retry';

const V1_CODES: Record<LongType, number> = { initial: 0, '0rtt': 1, handshake: 2, retry: 3 };
const V2_CODES: Record<LongType, number> = { initial: 1, '0rtt': 2, handshake: 3, retry: 0 };

export interface LongOptions {
  version?: number;
  dcid?: Uint8Array;
  scid?: Uint8Array;
  token?: Uint8Array;
  /** Bytes after the Length field (packet number + payload). */
  payload?: number;
}

export function quicLong(type: LongType, o: LongOptions = {}): Uint8Array {
  const version = o.version ?? QUIC_V1;
  const code = (version === QUIC_V2 ? V2_CODES : V1_CODES)[type];
  const w = new Writer(64).u8(0xc0 | (code << 4) | 0x01).u32(version);
  w.vec(1, o.dcid ?? new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])).vec(1, o.scid ?? new Uint8Array([9, 9, 9, 9]));
  if (type === 'retry') return w.bytes(o.token ?? new Uint8Array([0xaa, 0xbb])).zeros(16).finish();
  if (type === 'initial') w.varint((o.token ?? new Uint8Array(0)).length).bytes(o.token ?? new Uint8Array(0));
  const payload = o.payload ?? 40;
  return w.varintFixed(payload, 2).zeros(payload).finish();
}

export function quicShort(length = 60, keyPhase = 0): Uint8Array {
  const b = new Uint8Array(length);
  b[0] = 0x40 | (keyPhase << 2) | 0x01;
  return b;
}

export function versionNegotiation(versions: number[]): Uint8Array {
  const w = new Writer(32).u8(0x80).u32(0).vec(1, new Uint8Array([1, 2])).vec(1, new Uint8Array([3, 4]));
  for (const v of versions) w.u32(v);
  return w.finish();
}

/** A DTLS 1.2 record; for handshake records `body` follows a 12-byte handshake header of type `hsType`. */
export function dtlsRecord(contentType: number, opts: { epoch?: number; hsType?: number; body?: Uint8Array } = {}): Uint8Array {
  const w = new Writer(64).u8(contentType).u16(0xfefd).u16(opts.epoch ?? 0).u48(0).begin(2);
  if (contentType === 22 && (opts.epoch ?? 0) === 0) {
    const body = opts.body ?? new Uint8Array(8);
    w.u8(opts.hsType ?? 1).u24(body.length).u16(0).u24(0).u24(body.length).bytes(body);
  } else w.bytes(opts.body ?? new Uint8Array(24));
  return w.end().finish();
}

/** An unfragmented DTLS ClientHello body with the given cookie. */
export function clientHelloBody(cookie: Uint8Array, extra = 60): Uint8Array {
  return new Writer(128).u16(0xfefd).zeros(32).vec(1, new Uint8Array(0)).vec(1, cookie).u16(2).u16(0xc02b).u8(1).u8(0).zeros(extra).finish();
}
