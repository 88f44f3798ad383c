/**
 * The `WebSocket` class of the Node API, drop-in compatible with the ws
 * package's commonly used surface: the same constructor, methods, events,
 * properties and callbacks. Used on both sides: a client creates it with a
 * URL; a server creates it with `null` and attaches the upgraded socket.
 *
 * Owns the readyState, timers (close handshake, client FIN wait) and event
 * emission. Framing and protocol rules live in src/protocol; the opening
 * handshake in ./client-connect.ts and ./websocket-server.ts.
 */
import { EventEmitter } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, DEFAULT_MAX_PAYLOAD, checkControlPayload, type ProtocolError, type Role } from '../protocol/index.js';
import type { MessageTransform } from '../protocol/extension.js';
import { BINARY_TYPES, byteLengthOf, formatMessage, toBuffer, type BinaryType } from './binary-data.js';
import { addWsEventTargetMethods, type WsEventTargetMethods } from './event-target.js';
import { READY_STATE_NAMES, ReadyState } from './ready-state.js';
import { SocketBinding, type BindingOwner } from './socket-binding.js';
import { connectClient, type ClientOptions } from './client-connect.js';

export type { ClientOptions } from './client-connect.js';

const EMPTY_REASON: Buffer = Buffer.alloc(0);

/** Default time allowed for the closing handshake before the socket is destroyed (as ws). */
export const DEFAULT_CLOSE_TIMEOUT = 30_000;

export interface SendOptions {
  binary?: boolean;
  /** false sends a fragment; the message continues with the next send(). Default true. */
  fin?: boolean;
  /** Mask the frame (defaults to true for clients). false on a client breaks RFC 6455: tests only. */
  mask?: boolean;
  /** Compress with permessage-deflate when negotiated (default true). */
  compress?: boolean;
}

export type Callback = (error?: Error | null) => void;

/** Options the server (or client connect code) uses to attach a socket. */
export interface AttachOptions {
  role: Role;
  maxPayload?: number;
  skipUTF8Validation?: boolean;
  autoPong?: boolean;
  closeTimeout?: number;
  fragmentSize?: number;
  /** The negotiated extension's transform (permessage-deflate). */
  extension?: MessageTransform | null;
}

/**
 * The listener table EventEmitter keeps in `_events`. Its own table is a
 * null-prototype literal, which V8 stores as a hash dictionary (~160 bytes
 * even for one listener); instances of this class are ordinary fast objects
 * (a few in-object slots) whose prototype chain is just as empty, so event
 * names such as 'toString' still find nothing.
 */
function ListenerTable(): void {}
ListenerTable.prototype = Object.create(null) as object;
const ListenerTable_ = ListenerTable as unknown as new () => object;

export interface WebSocket extends WsEventTargetMethods {}

export class WebSocket extends EventEmitter implements BindingOwner {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;
  // Instance constants live on the prototype (below): no per-connection cost.
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  /** Negotiated subprotocol ('' if none). */
  declare protocol: string;
  /** Names of the negotiated extensions, comma-separated as in ws ('' if none). */
  declare extensions: string;
  /** The URL (client side); '' on the server side. */
  declare url: string;

  /** @internal The server that accepted this connection (server side), for publish/subscribe. */
  _server: EventEmitter | null = null;
  /** @internal Topics this connection subscribed to (src/pubsub), created on first use. */
  declare _topics: Set<string> | null;
  /** @internal */ _binding: SocketBinding | null = null;
  /** @internal The byte stream, once attached (the binding's). */
  get _socket(): Duplex | null {
    return this._binding === null ? null : this._binding.socket;
  }
  /** @internal */ declare _req: ClientRequest | null;
  /** @internal */ _readyState: ReadyState = ReadyState.CONNECTING;
  /** @internal */ declare _isServer: boolean;
  /** @internal */ declare _closeCode: number;
  /** @internal */ declare _closeReason: Buffer;
  /** @internal */ declare _closeTimer: NodeJS.Timeout | null;
  /** @internal */ declare _closeTimeout: number;
  /** @internal */ declare _bufferedAfterClose: number;
  /** @internal */ declare _paused: boolean;
  /** @internal */ declare _errorEmitted: boolean;
  /** @internal */ declare _binaryType: BinaryType;
  /** @internal heartbeat bookkeeping (server) */ declare _heardFrom: boolean;
  /** @internal */ declare _lastSeen: number;
  /** @internal */ declare _pingSentAt: number;

  constructor(address: string | URL | null, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    super();
    (this as unknown as { _events: object })._events = new ListenerTable_();
    if (address === null) return; // server side: the server attaches a socket
    this._isServer = false;
    if (protocols !== undefined && !Array.isArray(protocols) && typeof protocols === 'object') {
      options = protocols;
      protocols = undefined;
    }
    const list = protocols === undefined ? [] : Array.isArray(protocols) ? protocols : [protocols];
    connectClient(this, address, list, options ?? {});
  }

  get readyState(): ReadyState {
    return this._readyState;
  }

  get binaryType(): BinaryType {
    return this._binaryType;
  }
  set binaryType(type: BinaryType) {
    if (!BINARY_TYPES.includes(type)) return;
    this._binaryType = type;
    if (this._binding) this._binding.connection.deliverFragments = type === 'fragments';
  }

  /** Bytes queued to send and not yet handed to the OS. */
  get bufferedAmount(): number {
    return this._bufferedAfterClose + (this._socket ? this._socket.writableLength + (this._binding?.pendingBytes ?? 0) : 0);
  }

  get isPaused(): boolean {
    return this._paused;
  }

  /** @internal Take over an upgraded socket. `head` holds bytes read past the handshake. */
  _attach(socket: Duplex, head: Buffer, options: AttachOptions): void {
    if (options.closeTimeout !== undefined && options.closeTimeout !== DEFAULT_CLOSE_TIMEOUT) this._closeTimeout = options.closeTimeout;
    // Bytes that arrived with the handshake go back in the socket's buffer
    // BEFORE the binding adds its 'data' listener: a paused socket then
    // delivers them on the next tick, after the caller attached listeners.
    // (Unshifted into an already flowing socket that was read before, they
    // would be emitted synchronously, before 'connection'/'open' listeners.)
    if (head.length > 0) socket.unshift(head);
    const binding = new SocketBinding(socket, this, {
      role: options.role,
      maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
      skipUtf8Validation: options.skipUTF8Validation ?? false,
      autoPong: options.autoPong ?? true,
      fragmentSize: options.fragmentSize ?? 0,
      extension: options.extension ?? null,
    });
    binding.connection.deliverFragments = this._binaryType === 'fragments';
    this._binding = binding;
    this._readyState = ReadyState.OPEN;
  }

  send(data: unknown, options?: SendOptions | Callback, cb?: Callback): void {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (this._readyState === ReadyState.CONNECTING) throw this._notOpen();
    if (typeof data === 'number') data = data.toString();
    const binding = this._binding;
    if (this._readyState !== ReadyState.OPEN || binding === null || !binding.connection.canSend) {
      this._sendAfterClose(data, cb);
      return;
    }
    const isBinary = options?.binary ?? typeof data !== 'string';
    const payload = typeof data === 'string' ? data : toBuffer(data);
    binding.connection.send(payload, isBinary, { fin: options?.fin ?? true, mask: options?.mask, compress: options?.compress }, cb);
  }

  ping(data?: unknown, mask?: boolean | Callback, cb?: Callback): void {
    this._control('ping', data, mask, cb);
  }

  pong(data?: unknown, mask?: boolean | Callback, cb?: Callback): void {
    this._control('pong', data, mask, cb);
  }

  /**
   * Start the closing handshake. The 'close' event follows once the peer
   * answered and the TCP connection closed, or after closeTimeout.
   */
  close(code?: number, reason?: string | Buffer): void {
    if (this._readyState === ReadyState.CLOSED) return;
    if (this._readyState === ReadyState.CONNECTING) {
      this._abortHandshake(new Error('WebSocket was closed before the connection was established'));
      return;
    }
    const binding = this._binding!;
    if (this._readyState === ReadyState.CLOSING) {
      // Both close frames went already: just make sure the transport closes.
      if (binding.connection.closeHandshakeDone) binding.end();
      return;
    }
    binding.connection.close(code, reason ?? '');
    this._readyState = ReadyState.CLOSING;
    this._startCloseTimer();
  }

  /** Destroy the connection at once, without a closing handshake ('close' reports 1006). */
  terminate(): void {
    if (this._readyState === ReadyState.CLOSED) return;
    if (this._readyState === ReadyState.CONNECTING) {
      this._abortHandshake(new Error('WebSocket was closed before the connection was established'));
      return;
    }
    this._readyState = ReadyState.CLOSING;
    this._binding?.connection.abort();
    this._socket?.destroy();
  }

  /**
   * @internal Write a frame encoded beforehand (the same bytes may go to many
   * connections). Returns false when it was not sent (closing, or in the
   * middle of our own fragmented message).
   */
  _sendEncoded(frame: Buffer, cb?: Callback): boolean {
    const binding = this._binding;
    if (this._readyState !== ReadyState.OPEN || binding === null) return false;
    return binding.connection.sendEncoded(frame, cb);
  }

  pause(): void {
    if (this._readyState === ReadyState.CONNECTING || this._readyState === ReadyState.CLOSED) return;
    this._paused = true;
    this._socket?.pause();
  }

  resume(): void {
    if (this._readyState === ReadyState.CONNECTING || this._readyState === ReadyState.CLOSED) return;
    this._paused = false;
    // Input held while a message is decompressed resumes when that is done.
    if (!this._binding?.inputHeld) this._socket?.resume();
  }

  // ------------------------------------------------------------ internals

  private _control(kind: 'ping' | 'pong', data: unknown, mask: boolean | Callback | undefined, cb: Callback | undefined): void {
    if (typeof mask === 'function') {
      cb = mask;
      mask = undefined;
    }
    if (this._readyState === ReadyState.CONNECTING) throw this._notOpen();
    const payload = data === undefined ? Buffer.alloc(0) : toBuffer(data);
    checkControlPayload(payload); // before the not-open path, as in ws
    const binding = this._binding;
    if (this._readyState !== ReadyState.OPEN || binding === null || !binding.connection.canSend) {
      this._sendAfterClose(payload, cb);
      return;
    }
    if (kind === 'ping') binding.connection.ping(payload, cb);
    else binding.connection.pong(payload, cb);
  }

  /** As ws: data sent after close counts in bufferedAmount and fails its callback. */
  private _sendAfterClose(data: unknown, cb?: Callback): void {
    if (data !== undefined && data !== null) this._bufferedAfterClose += byteLengthOf(data);
    if (cb) process.nextTick(cb, this._notOpen());
  }

  private _notOpen(): Error {
    return new Error(`WebSocket is not open: readyState ${this._readyState} (${READY_STATE_NAMES[this._readyState]})`);
  }

  /** @internal */
  _startCloseTimer(): void {
    if (this._closeTimer !== null || this._socket === null) return;
    const socket = this._socket;
    this._closeTimer = setTimeout(() => socket.destroy(), this._closeTimeout);
  }

  /** @internal Abort a client handshake in progress: 'error' then 'close' (1006). */
  _abortHandshake(error: Error): void {
    this._readyState = ReadyState.CLOSING;
    const req = this._req;
    if (req) {
      this._req = null;
      req.destroy();
      if (req.socket && !req.socket.destroyed) req.socket.destroy();
    }
    if (this._socket) this._socket.destroy();
    this._emitError(error);
    this._emitClose();
  }

  /** @internal */
  _emitError(error: Error): void {
    if (this._errorEmitted) return;
    this._errorEmitted = true;
    this.emit('error', error);
  }

  /** @internal */
  _emitClose(): void {
    if (this._readyState === ReadyState.CLOSED) return;
    this._readyState = ReadyState.CLOSED;
    if (this._closeTimer !== null) {
      clearTimeout(this._closeTimer);
      this._closeTimer = null;
    }
    this.emit('close', this._closeCode, this._closeReason);
  }

  // ------------------------------------------------- BindingOwner (internal)

  /** @internal */
  _onMessage(data: Buffer | Buffer[], isBinary: boolean): void {
    this.emit('message', formatMessage(data, this._binaryType), isBinary);
  }
  /** @internal */
  _onPing(payload: Buffer): void {
    this.emit('ping', payload);
  }
  /** @internal */
  _onPong(payload: Buffer): void {
    this.emit('pong', payload);
  }
  /** @internal */
  _onCloseFrame(code: number, reason: Buffer): void {
    this._closeCode = code;
    this._closeReason = reason;
    this._readyState = ReadyState.CLOSING;
    this._binding?.detachInput();
  }
  /** @internal */
  _onFail(error: ProtocolError): void {
    this._closeCode = error.closeCode;
    this._readyState = ReadyState.CLOSING;
    // Peer errors are reported on 'error' only when someone listens: a
    // misbehaving peer must not crash a server whose app forgot the listener.
    if (this.listenerCount('error') > 0) this._emitError(error);
  }
  /** @internal */
  _onCloseTransport(): void {
    const conn = this._binding!.connection;
    // RFC 6455 5.5.1: the server closes TCP first; the client waits for it
    // (bounded by closeTimeout), unless the connection failed.
    if (this._isServer || conn.failure !== null) this._binding!.end();
    this._startCloseTimer();
  }
  /** @internal */
  _onSocketData(): void {
    if (!this._heardFrom) this._heardFrom = true;
  }
  /** @internal */
  _onSocketEnd(): void {
    const binding = this._binding!;
    binding.connection.receiveEof();
    this._readyState = ReadyState.CLOSING;
    // allowHalfOpen sockets stay writable after the peer's FIN: end ours too.
    binding.end();
  }
  /** @internal */
  _onSocketClose(): void {
    const conn = this._binding!.connection; // socket listeners exist only once a binding does
    // A message still being decompressed was accepted from the peer: deliver it first.
    conn.whenInputSettled(() => {
      conn.abort();
      this._emitClose();
    });
  }
  /** @internal */
  _isPausedByUser(): boolean {
    return this._paused;
  }
  /** @internal */
  _onDrain(): void {
    this.emit('drain');
  }
}

addWsEventTargetMethods(WebSocket.prototype);
// Defaults of the fields most connections never change live on the prototype
// (an own property appears when one is set): an idle connection stays small.
for (const [name, value] of Object.entries({
  protocol: '',
  extensions: '',
  url: '',
  _topics: null,
  _req: null,
  _isServer: true,
  _closeCode: CloseCode.AbnormalClosure,
  _closeReason: EMPTY_REASON,
  _closeTimer: null,
  _closeTimeout: DEFAULT_CLOSE_TIMEOUT,
  _bufferedAfterClose: 0,
  _paused: false,
  _errorEmitted: false,
  _binaryType: 'nodebuffer',
  _heardFrom: true,
  _lastSeen: 0,
  _pingSentAt: 0,
})) {
  Object.defineProperty(WebSocket.prototype, name, { value, writable: true, enumerable: false, configurable: true });
}
for (const [name, value] of Object.entries(ReadyState)) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true, writable: false, configurable: false });
}

export type { IncomingMessage };
