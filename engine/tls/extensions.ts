// TLS 1.3 extensions (RFC 8446 §4.2; server_name RFC 6066 §3; ALPN RFC 7301 §3.1; quic_transport_parameters RFC 9001 §8.2): codecs per extension type.

import type { EcdhGroup } from '../crypto/provider.js';
import { DecodeError, Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { Alert, TlsError, type SignatureScheme } from './api.js';

export const ExtensionType = {
  server_name: 0,
  supported_groups: 10,
  signature_algorithms: 13,
  alpn: 16,
  pre_shared_key: 41,
  early_data: 42,
  supported_versions: 43,
  cookie: 44,
  psk_key_exchange_modes: 45,
  certificate_authorities: 47,
  post_handshake_auth: 49,
  signature_algorithms_cert: 50,
  key_share: 51,
  quic_transport_parameters: 0x39,
} as const;

export const TLS13 = 0x0304;
export const PSK_DHE_KE = 1;

export interface Extension {
  readonly type: number;
  readonly data: Uint8Array;
}

/** Extensions of one message in wire order, with lookup by type; duplicates are rejected at parse time (§4.2). */
export class ExtensionList {
  constructor(readonly items: readonly Extension[]) {}
  get(type: number): Uint8Array | undefined {
    for (const e of this.items) if (e.type === type) return e.data;
    return undefined;
  }
  has(type: number): boolean {
    return this.get(type) !== undefined;
  }
}

export function readExtensions(r: Reader): ExtensionList {
  const sub = r.sub(2);
  const items: Extension[] = [];
  const seen = new Set<number>();
  while (!sub.atEnd()) {
    const type = sub.u16();
    const data = sub.vec(2);
    if (seen.has(type)) throw new TlsError(Alert.illegal_parameter, `duplicate extension ${type}`);
    seen.add(type);
    items.push({ type, data });
  }
  return new ExtensionList(items);
}

export function writeExtensions(w: Writer, items: readonly Extension[]): void {
  w.begin(2);
  for (const e of items) w.u16(e.type).vec(2, e.data);
  w.end();
}

/** Runs a body decoder that must consume its whole input; truncation or trailing bytes become decode_error. */
export function decodeBody<T>(data: Uint8Array, what: string, fn: (r: Reader) => T): T {
  const r = new Reader(data);
  try {
    const v = fn(r);
    if (!r.atEnd()) throw new DecodeError(`trailing bytes`);
    return v;
  } catch (e) {
    if (e instanceof DecodeError) throw new TlsError(Alert.decode_error, `${what}: ${e.message}`);
    throw e;
  }
}

function build(fn: (w: Writer) => void): Uint8Array {
  const w = new Writer(64);
  fn(w);
  return w.finish();
}

// ---- named groups and signature schemes ----

export const GROUP_IDS: Record<EcdhGroup, number> = { x25519: 0x001d, secp256r1: 0x0017 };
export function groupName(id: number): EcdhGroup | undefined {
  return id === 0x001d ? 'x25519' : id === 0x0017 ? 'secp256r1' : undefined;
}

export const SIGNATURE_SCHEME_IDS: Record<SignatureScheme, number> = {
  ecdsa_secp256r1_sha256: 0x0403,
  ecdsa_secp384r1_sha384: 0x0503,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
  ed25519: 0x0807,
};
export function signatureSchemeName(id: number): SignatureScheme | undefined {
  for (const [k, v] of Object.entries(SIGNATURE_SCHEME_IDS)) if (v === id) return k as SignatureScheme;
  return undefined;
}

// ---- server_name ----

export function encodeServerName(host: string): Uint8Array {
  return build((w) => w.begin(2).u8(0).vec(2, new TextEncoder().encode(host)).end());
}

/** The host_name entry, if any (other name types are skipped as RFC 6066 allows). */
export function decodeServerName(data: Uint8Array): string | undefined {
  return decodeBody(data, 'server_name', (r) => {
    const list = r.sub(2);
    let host: string | undefined;
    if (list.atEnd()) throw new DecodeError('empty server_name list');
    while (!list.atEnd()) {
      const type = list.u8();
      const name = list.vec(2);
      if (type === 0) {
        if (host !== undefined) throw new TlsError(Alert.illegal_parameter, 'two host_name entries');
        if (name.length === 0) throw new DecodeError('empty host_name');
        host = new TextDecoder().decode(name);
      }
    }
    return host;
  });
}

// ---- lists of u16 (supported_groups, signature_algorithms) ----

export function encodeU16List(values: readonly number[]): Uint8Array {
  return build((w) => {
    w.begin(2);
    for (const v of values) w.u16(v);
    w.end();
  });
}

export function decodeU16List(data: Uint8Array, what: string): number[] {
  return decodeBody(data, what, (r) => {
    const list = r.sub(2);
    if (list.remaining % 2 || list.remaining === 0) throw new DecodeError('bad list length');
    const out: number[] = [];
    while (!list.atEnd()) out.push(list.u16());
    return out;
  });
}

// ---- supported_versions ----

export function encodeSupportedVersionsClient(versions: readonly number[]): Uint8Array {
  return build((w) => {
    w.begin(1);
    for (const v of versions) w.u16(v);
    w.end();
  });
}
export function decodeSupportedVersionsClient(data: Uint8Array): number[] {
  return decodeBody(data, 'supported_versions', (r) => {
    const list = r.sub(1);
    if (list.remaining % 2 || list.remaining === 0) throw new DecodeError('bad list length');
    const out: number[] = [];
    while (!list.atEnd()) out.push(list.u16());
    return out;
  });
}
export function encodeU16(v: number): Uint8Array {
  return build((w) => w.u16(v));
}
export function decodeU16(data: Uint8Array, what: string): number {
  return decodeBody(data, what, (r) => r.u16());
}

// ---- ALPN ----

export function encodeAlpn(protocols: readonly string[]): Uint8Array {
  return build((w) => {
    w.begin(2);
    for (const p of protocols) w.vec(1, new TextEncoder().encode(p));
    w.end();
  });
}
export function decodeAlpn(data: Uint8Array): string[] {
  return decodeBody(data, 'alpn', (r) => {
    const list = r.sub(2);
    const out: string[] = [];
    if (list.atEnd()) throw new DecodeError('empty protocol list');
    while (!list.atEnd()) {
      const p = list.vec(1);
      if (p.length === 0) throw new DecodeError('empty protocol name');
      out.push(new TextDecoder().decode(p));
    }
    return out;
  });
}

// ---- key_share ----

export interface KeyShareEntry {
  readonly group: number;
  readonly key: Uint8Array;
}
export function encodeKeyShareClient(entries: readonly KeyShareEntry[]): Uint8Array {
  return build((w) => {
    w.begin(2);
    for (const e of entries) w.u16(e.group).vec(2, e.key);
    w.end();
  });
}
export function decodeKeyShareClient(data: Uint8Array): KeyShareEntry[] {
  return decodeBody(data, 'key_share', (r) => {
    const list = r.sub(2);
    const out: KeyShareEntry[] = [];
    const seen = new Set<number>();
    while (!list.atEnd()) {
      const group = list.u16();
      const key = list.vec(2);
      if (key.length === 0) throw new DecodeError('empty key_exchange');
      if (seen.has(group)) throw new TlsError(Alert.illegal_parameter, 'two key shares for one group');
      seen.add(group);
      out.push({ group, key });
    }
    return out;
  });
}
export function encodeKeyShareServer(e: KeyShareEntry): Uint8Array {
  return build((w) => w.u16(e.group).vec(2, e.key));
}
export function decodeKeyShareServer(data: Uint8Array): KeyShareEntry {
  return decodeBody(data, 'key_share', (r) => {
    const group = r.u16();
    const key = r.vec(2);
    if (key.length === 0) throw new DecodeError('empty key_exchange');
    return { group, key };
  });
}

// ---- cookie ----

export function encodeCookie(cookie: Uint8Array): Uint8Array {
  return build((w) => w.vec(2, cookie));
}
export function decodeCookie(data: Uint8Array): Uint8Array {
  return decodeBody(data, 'cookie', (r) => {
    const c = r.vec(2);
    if (c.length === 0) throw new DecodeError('empty cookie');
    return c;
  });
}

// ---- psk_key_exchange_modes ----

export function encodePskModes(modes: readonly number[]): Uint8Array {
  return build((w) => w.vec(1, Uint8Array.from(modes)));
}
export function decodePskModes(data: Uint8Array): number[] {
  return decodeBody(data, 'psk_key_exchange_modes', (r) => {
    const m = r.vec(1);
    if (m.length === 0) throw new DecodeError('empty mode list');
    return Array.from(m);
  });
}

// ---- pre_shared_key ----

export interface PskIdentity {
  readonly identity: Uint8Array;
  readonly obfuscatedTicketAge: number;
}
export interface OfferedPsks {
  readonly identities: PskIdentity[];
  readonly binders: Uint8Array[];
  /** Length of the binders vector including its 2-byte length: the tail excluded from the binder transcript. */
  readonly bindersLength: number;
}

export function encodeOfferedPsks(identities: readonly PskIdentity[], binders: readonly Uint8Array[]): Uint8Array {
  return build((w) => {
    w.begin(2);
    for (const id of identities) w.vec(2, id.identity).u32(id.obfuscatedTicketAge);
    w.end();
    w.begin(2);
    for (const b of binders) w.vec(1, b);
    w.end();
  });
}
export function decodeOfferedPsks(data: Uint8Array): OfferedPsks {
  return decodeBody(data, 'pre_shared_key', (r) => {
    const ids = r.sub(2);
    const identities: PskIdentity[] = [];
    while (!ids.atEnd()) {
      const identity = ids.vec(2);
      if (identity.length === 0) throw new DecodeError('empty identity');
      identities.push({ identity, obfuscatedTicketAge: ids.u32() });
    }
    const start = r.pos;
    const bs = r.sub(2);
    const binders: Uint8Array[] = [];
    while (!bs.atEnd()) {
      const b = bs.vec(1);
      if (b.length < 32) throw new DecodeError('binder shorter than 32 bytes');
      binders.push(b);
    }
    if (identities.length === 0) throw new DecodeError('no PSK identities');
    if (binders.length !== identities.length) throw new TlsError(Alert.illegal_parameter, 'binder count differs from identity count');
    return { identities, binders, bindersLength: r.pos - start };
  });
}

// ---- early_data (NewSessionTicket form carries max_early_data_size) ----

export function encodeU32(v: number): Uint8Array {
  return build((w) => w.u32(v));
}
export function decodeU32(data: Uint8Array, what: string): number {
  return decodeBody(data, what, (r) => r.u32());
}

export function expectEmpty(data: Uint8Array, what: string): void {
  if (data.length !== 0) throw new TlsError(Alert.decode_error, `${what} must be empty`);
}
