// node:net adapter for TLS 1.3 over TCP (RFC 8446 §5, §6.1): drives the sans-I/O TlsRecordConnection with a real socket.
//
// A TlsSocket is a Node Duplex of application bytes: pipe stdin into it, pipe it to stdout. Ending the writable side
// sends close_notify and half-closes TCP; the readable side ends at the peer's close_notify.

import { connect as netConnect, createServer, isIPv6, type LookupFunction, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { CryptoProvider } from '../crypto/provider.js';
import type { SessionTicket, TlsSession } from '../tls/api.js';
import { TlsRecordConnection, type TlsRecordConnectionOptions } from '../tls/record-connection.js';
import { resolveHost } from './resolve.js';

export interface TlsSocketOptions {
  readonly crypto: CryptoProvider;
  readonly record?: TlsRecordConnectionOptions;
  /** Give up on a handshake that has not completed after this long; default 30 s, 0 disables. */
  readonly handshakeTimeoutMs?: number;
}

/** The transport failed underneath TLS (refused, reset, timed out); not a TLS alert. */
export class TransportError extends Error {
  override name = 'TransportError';
}

export interface TlsSocketEvents {
  secure: [];
  ticket: [SessionTicket];
  'peer-closed': [];
}

export class TlsSocket extends Duplex {
  readonly connection: TlsRecordConnection;
  /** Resolves when the handshake completes; rejects with the TlsError (or TransportError) that prevented it. */
  readonly handshake: Promise<void>;
  /** The TCP stream ended without close_notify after the handshake (a truncation attack or a sloppy peer). */
  truncated = false;
  private settleHandshake!: { resolve: () => void; reject: (e: Error) => void };
  private handshakeTimer: NodeJS.Timeout | undefined;
  private pendingWriteCallback: (() => void) | undefined;

  constructor(
    readonly socket: Socket,
    session: TlsSession,
    opts: TlsSocketOptions,
  ) {
    super({ allowHalfOpen: true });
    this.connection = new TlsRecordConnection(session, opts.crypto, opts.record);
    this.handshake = new Promise<void>((resolve, reject) => (this.settleHandshake = { resolve, reject }));
    // A caller that only listens for 'error' must not also see an unhandled rejection.
    this.handshake.catch(() => {});
    const timeout = opts.handshakeTimeoutMs ?? 30_000;
    if (timeout > 0) {
      this.handshakeTimer = setTimeout(() => this.destroy(new TransportError(`TLS handshake did not complete within ${timeout} ms`)), timeout);
    }
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.connection.receive(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      this.drive();
    });
    // Once destroyed, the socket only lingers (see _destroy): its end is no longer ours to act on.
    socket.on('end', () => {
      if (!this.destroyed) this.onTransportEnd();
    });
    socket.on('error', (e) => this.destroy(new TransportError(e.message)));
    socket.on('close', () => {
      if (!this.destroyed && !this.connection.readClosed) this.onTransportEnd();
    });
    socket.on('drain', () => {
      const cb = this.pendingWriteCallback;
      this.pendingWriteCallback = undefined;
      cb?.();
    });
  }

  get session(): TlsSession {
    return this.connection.session;
  }

  /** Client: send the ClientHello. Server sockets start on the first bytes they receive. */
  start(): void {
    this.connection.start();
    this.drive();
  }

  /** Sends a KeyUpdate (RFC 8446 §4.6.3). */
  keyUpdate(requestPeer = false): void {
    this.connection.keyUpdate(requestPeer);
    this.drive();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.connection.writeClosed) return callback(this.connection.error ?? new Error('TLS connection closed for writing'));
    this.connection.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (this.drive()) callback();
    else this.pendingWriteCallback = () => callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // close_notify, then a TCP half-close: the peer sees both, and we keep reading until its close_notify.
    const finish = () => {
      this.connection.close();
      this.drive();
      if (!this.socket.destroyed) this.socket.end();
      callback();
    };
    // Data written before the handshake completed is still queued: end only after it has gone out.
    if (this.connection.handshakeDone || this.connection.failed) finish();
    else this.handshake.then(finish, (e: Error) => callback(e));
  }

  override _read(): void {
    if (this.socket.isPaused()) this.socket.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearHandshakeTimer();
    if (!this.connection.handshakeDone) this.settleHandshake.reject(error ?? new TransportError('connection closed before the TLS handshake completed'));
    // Let queued bytes (a fatal alert, a close_notify) reach the peer before the socket goes away, and linger: keep
    // reading and discarding until the peer closes too. Closing at once would make our kernel answer whatever the peer
    // sent before it saw the alert (TLS 1.3 clients send data right after their Finished) with a reset, and a reset
    // makes the peer fail with EPIPE/ECONNRESET instead of reading the alert that says why.
    const socket = this.socket;
    if (!socket.destroyed) {
      // Flowing with no 'data' listener: what arrives is dropped.
      socket.removeAllListeners('data');
      socket.once('end', () => socket.destroy());
      socket.end();
      socket.resume();
      setTimeout(() => socket.destroy(), 2000).unref();
    }
    callback(error);
  }

  /** Writes pending TLS output to the socket and dispatches connection events; false when the socket is saturated. */
  private drive(): boolean {
    let flowing = true;
    for (let out = this.connection.pollOutput(); out; out = this.connection.pollOutput()) {
      if (this.socket.destroyed || !this.socket.writable) break;
      flowing = this.socket.write(out) && flowing;
    }
    for (let ev = this.connection.pollEvent(); ev; ev = this.connection.pollEvent()) {
      switch (ev.type) {
        case 'handshake-complete':
          this.clearHandshakeTimer();
          this.settleHandshake.resolve();
          this.emit('secure');
          break;
        case 'data':
          if (!this.push(Buffer.from(ev.data.buffer, ev.data.byteOffset, ev.data.byteLength))) this.socket.pause();
          break;
        case 'ticket':
          this.emit('ticket', ev.ticket);
          break;
        case 'peer-closed':
          this.emit('peer-closed');
          this.push(null);
          break;
        case 'key-update':
          break;
        case 'error':
          this.destroy(ev.error);
          return false;
      }
    }
    return flowing;
  }

  private onTransportEnd(): void {
    if (this.connection.readClosed) {
      if (this.writableFinished || this.connection.writeClosed) this.socket.destroy();
      return;
    }
    if (!this.connection.handshakeDone) {
      this.destroy(new TransportError('peer closed the TCP connection during the TLS handshake'));
      return;
    }
    this.truncated = true;
    this.push(null);
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }
}

export interface ConnectTlsOptions extends TlsSocketOptions {
  readonly host: string;
  readonly port: number;
  readonly session: TlsSession;
}

/**
 * Every address of a name (resolveHost: "localhost" is both loopbacks even when the hosts file lists one) for node:net,
 * which with autoSelectFamily tries them in turn (RFC 8305 style) until one accepts.
 */
const lookupAll: LookupFunction = (hostname, options, callback) => {
  resolveHost(hostname).then(
    (hosts) => {
      const all = hosts.map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }));
      if (options.all) callback(null, all);
      else callback(null, all[0]!.address, all[0]!.family);
    },
    (e: NodeJS.ErrnoException) => callback(e, ''),
  );
};

/** An error's text; node's attempts at several addresses fail with an AggregateError whose own message is empty. */
function errorText(e: Error): string {
  if (e instanceof AggregateError && e.errors.length) return e.errors.map((x: Error) => x.message).join('; ');
  return e.message;
}

/** Opens TCP, runs the client handshake, resolves once it completes (rejects with TlsError or TransportError). */
export function connectTls(opts: ConnectTlsOptions): Promise<TlsSocket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: opts.host, port: opts.port, lookup: lookupAll, autoSelectFamily: true });
    const failEarly = (e: Error) => reject(new TransportError(`cannot connect to ${opts.host}:${opts.port}: ${errorText(e)}`));
    socket.once('error', failEarly);
    socket.once('connect', () => {
      socket.off('error', failEarly);
      const tls = new TlsSocket(socket, opts.session, opts);
      // Until the caller has the socket, errors travel through the handshake promise only.
      const swallow = () => {};
      tls.on('error', swallow);
      tls.start();
      tls.handshake.then(
        () => {
          tls.off('error', swallow);
          // The read that completed the handshake may also have failed the connection (a bad record right after the
          // server's Finished): that error was emitted, and swallowed, before the caller could listen. Hand it over.
          if (tls.errored) reject(tls.errored);
          else if (tls.destroyed) reject(new TransportError('connection closed right after the TLS handshake'));
          else resolve(tls);
        },
        (e: Error) => reject(e),
      );
    });
  });
}

export interface ListenTlsOptions extends TlsSocketOptions {
  readonly host: string;
  readonly port: number;
  /** A fresh server session per connection. */
  readonly createSession: () => TlsSession;
  /** Called once per accepted connection, before the handshake; await `tls.handshake` to know it succeeded. */
  readonly onConnection: (tls: TlsSocket) => void;
}

/** Listens for TCP connections and wraps each in a server-side TlsSocket. Resolves once bound. */
export function listenTls(opts: ListenTlsOptions): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      let tls: TlsSocket;
      try {
        tls = new TlsSocket(socket, opts.createSession(), opts);
      } catch (e) {
        socket.destroy();
        return;
      }
      opts.onConnection(tls);
    });
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
