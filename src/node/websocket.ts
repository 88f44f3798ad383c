/**
 * The `WebSocket` class of the Node API, drop-in compatible with the ws
 * package's commonly used surface: the same constructor, methods, events,
 * properties and callbacks. Used on both sides: a client creates it with a
 * URL; a server creates it with `null` and opens it with an upgraded stream.
 *
 * A facade: before the connection opens, a client's state is its opening
 * handshake's (./client-connect.ts); once open, everything is the driver's
 * (./driver.ts), whose readyState and events project the core's lifecycle.
 * It holds no state of the connection itself.
 */
import { EventEmitter } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { checkControlPayload, type ConnectionSettings, type MessageTransform } from '../protocol/index.js';
import { BINARY_TYPES, byteLengthOf, toBuffer, type BinaryType, type RawData } from './binary-data.js';
import { ClientHandshake, type ClientOptions } from './client-connect.js';
import { Http2ClientHandshake } from './http2-client.js';
import { Driver } from './driver.js';
import { addWsEventTargetMethods, type WsEventTargetMethods } from './event-target.js';
import { READY_STATE_NAMES, ReadyState, defineReadyStateConstants } from './ready-state.js';
import { isServer, openOnStream, senderOf, setIsServer, type Sender as WsSender, type SetSocketOptions } from './ws-compat.js';

export type { ClientOptions } from './client-connect.js';

const EMPTY_REASON: Buffer = Buffer.alloc(0);

export interface SendOptions {
  binary?: boolean;
  /** false sends a fragment; the message continues with the next send(). Default true. */
  fin?: boolean;
  /** Mask the frame (defaults to true for clients). false on a client breaks RFC 6455: tests only. */
  mask?: boolean;
  /** Compress with permessage-deflate when negotiated (default true). */
  compress?: boolean;
}

/** The callback of send() (and of ping()/pong(), which ws types `(err: Error) => void`). */
export type Callback = (err?: Error) => void;
/** What the implementations take: any of the callback shapes above, handed on as the core's write callback. */
type AnyCallback = (error?: any) => void;

/** What an opening handshake hands over: the upgraded stream and what was negotiated. */
export interface Upgraded {
  stream: Duplex;
  /** Bytes read past the handshake (the first frames, if the peer was quick). */
  head: Buffer;
  settings: ConnectionSettings;
  /** The negotiated subprotocol ('' if none). */
  protocol: string;
  /** The negotiated extension's transform (permessage-deflate), if any. */
  extension: MessageTransform | null;
}

/**
 * What a WebSocket knows besides its driver: its names, and a client's state
 * before it opened. Most server connections share SERVER_SIDE (nothing to
 * say); the first write gives a connection its own (see own()).
 */
interface Info {
  url: string;
  protocol: string;
  extensions: string;
  /** binaryType chosen before the driver exists. */
  binaryType: BinaryType;
  /** As ws: bytes passed to send() after closing count in bufferedAmount (and are never sent). */
  afterClose: number;
  /** A client's opening handshake, while it runs (and after it failed). */
  opening: ClientHandshake | Http2ClientHandshake | null;
}
const SERVER_SIDE: Readonly<Info> = Object.freeze({ url: '', protocol: '', extensions: '', binaryType: 'nodebuffer', afterClose: 0, opening: null });

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

// Set in the class's static block: how this module's neighbours reach a
// WebSocket's driver and open it, without a public field.
let driverOfImpl: (ws: WebSocket) => Driver | null;
let openImpl: (ws: WebSocket, upgraded: Upgraded) => void;

/** The driver of an open WebSocket (null before it opened). For src/node, src/pubsub and src/web. */
export function driverOf(ws: WebSocket): Driver | null {
  return driverOfImpl(ws);
}

/** Open a server-side WebSocket (created with `null`) over an upgraded stream. */
export function openWebSocket(ws: WebSocket, upgraded: Upgraded): void {
  openImpl(ws, upgraded);
}

/**
 * The events, typed as ws's types have them (the last overload of each
 * keeps any other event name open, as EventEmitter does).
 */
export interface WebSocket extends WsEventTargetMethods {
  on(event: 'close', listener: (this: this, code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (this: this, error: Error) => void): this;
  on(event: 'upgrade', listener: (this: this, response: IncomingMessage) => void): this;
  on(event: 'message', listener: (this: this, data: RawData, isBinary: boolean) => void): this;
  on(event: 'open', listener: (this: this) => void): this;
  on(event: 'ping' | 'pong', listener: (this: this, data: Buffer) => void): this;
  on(event: 'redirect', listener: (this: this, url: string, request: ClientRequest) => void): this;
  on(event: 'unexpected-response', listener: (this: this, request: ClientRequest, response: IncomingMessage) => void): this;
  on(event: string | symbol, listener: (this: this, ...args: any[]) => void): this;
  once(event: 'close', listener: (this: this, code: number, reason: Buffer) => void): this;
  once(event: 'error', listener: (this: this, error: Error) => void): this;
  once(event: 'upgrade', listener: (this: this, response: IncomingMessage) => void): this;
  once(event: 'message', listener: (this: this, data: RawData, isBinary: boolean) => void): this;
  once(event: 'open', listener: (this: this) => void): this;
  once(event: 'ping' | 'pong', listener: (this: this, data: Buffer) => void): this;
  once(event: 'redirect', listener: (this: this, url: string, request: ClientRequest) => void): this;
  once(event: 'unexpected-response', listener: (this: this, request: ClientRequest, response: IncomingMessage) => void): this;
  once(event: string | symbol, listener: (this: this, ...args: any[]) => void): this;
  off(event: 'close', listener: (this: this, code: number, reason: Buffer) => void): this;
  off(event: 'error', listener: (this: this, error: Error) => void): this;
  off(event: 'upgrade', listener: (this: this, response: IncomingMessage) => void): this;
  off(event: 'message', listener: (this: this, data: RawData, isBinary: boolean) => void): this;
  off(event: 'open', listener: (this: this) => void): this;
  off(event: 'ping' | 'pong', listener: (this: this, data: Buffer) => void): this;
  off(event: 'redirect', listener: (this: this, url: string, request: ClientRequest) => void): this;
  off(event: 'unexpected-response', listener: (this: this, request: ClientRequest, response: IncomingMessage) => void): this;
  off(event: string | symbol, listener: (this: this, ...args: any[]) => void): this;
  addListener(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  addListener(event: 'error', listener: (error: Error) => void): this;
  addListener(event: 'upgrade', listener: (response: IncomingMessage) => void): this;
  addListener(event: 'message', listener: (data: RawData, isBinary: boolean) => void): this;
  addListener(event: 'open', listener: () => void): this;
  addListener(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  addListener(event: 'redirect', listener: (url: string, request: ClientRequest) => void): this;
  addListener(event: 'unexpected-response', listener: (request: ClientRequest, response: IncomingMessage) => void): this;
  addListener(event: string | symbol, listener: (...args: any[]) => void): this;
  removeListener(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  removeListener(event: 'error', listener: (error: Error) => void): this;
  removeListener(event: 'upgrade', listener: (response: IncomingMessage) => void): this;
  removeListener(event: 'message', listener: (data: RawData, isBinary: boolean) => void): this;
  removeListener(event: 'open', listener: () => void): this;
  removeListener(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  removeListener(event: 'redirect', listener: (url: string, request: ClientRequest) => void): this;
  removeListener(event: 'unexpected-response', listener: (request: ClientRequest, response: IncomingMessage) => void): this;
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class WebSocket extends EventEmitter {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;
  // Instance constants live on the prototype (below): no per-connection cost.
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  /** Set once the connection is open. */
  #driver: Driver | null = null;
  #info: Readonly<Info> = SERVER_SIDE;

  static {
    driverOfImpl = (ws) => ws.#driver;
    openImpl = (ws, upgraded) => ws.#open(upgraded);
  }

  constructor(address: string | URL | null, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    super();
    (this as unknown as { _events: object })._events = new ListenerTable_();
    if (address === null) return; // server side: the server opens it
    if (protocols !== undefined && protocols !== null && !Array.isArray(protocols) && typeof protocols === 'object') {
      options = protocols;
      protocols = undefined;
    }
    // As ws: subprotocols may also come as options.protocols when the second argument gives none.
    protocols ??= options?.protocols;
    const list = protocols === undefined ? [] : Array.isArray(protocols) ? protocols : [protocols];
    const outcome = {
      opened: (upgraded: Upgraded) => {
        this.#open(upgraded);
        this.emit('open');
      },
      failed: (error: Error) => this.#failHandshake(error),
    };
    this.#own().opening = options?.http2
      ? new Http2ClientHandshake(this, address, list, options, outcome)
      : new ClientHandshake(this, address, list, options ?? {}, outcome);
  }

  get readyState(): ReadyState {
    if (this.#driver !== null) return this.#driver.readyState;
    return this.#info.opening?.readyState ?? ReadyState.CONNECTING;
  }

  /** The URL (client side); '' on the server side. */
  get url(): string {
    return this.#info.opening?.url ?? this.#info.url;
  }

  /** Negotiated subprotocol ('' if none). */
  get protocol(): string {
    return this.#info.protocol;
  }

  /** Names of the negotiated extensions ('' if none). */
  get extensions(): string {
    return this.#info.extensions;
  }

  get binaryType(): BinaryType {
    return this.#driver?.binaryType ?? this.#info.binaryType;
  }
  set binaryType(type: BinaryType) {
    if (!BINARY_TYPES.includes(type)) return;
    const driver = this.#driver;
    if (driver === null) {
      this.#own().binaryType = type;
    } else {
      driver.binaryType = type;
    }
  }

  /** Bytes queued to send and not yet handed to the OS. */
  get bufferedAmount(): number {
    return this.#info.afterClose + (this.#driver?.bufferedAmount ?? 0);
  }

  get isPaused(): boolean {
    return this.#driver?.isPaused ?? false;
  }

  /** The byte stream, once open (as ws's `_socket`). */
  get _socket(): Duplex | null {
    return this.#driver?.stream ?? null;
  }

  // ws internals that ws-based packages call; all of it lives in ./ws-compat.ts.

  /** `_sender.sendFrame(list, cb)` writes a frame from `WebSocket.Sender.frame()` (engine.io); null until open. */
  get _sender(): WsSender | null {
    return senderOf(this);
  }

  /** Open a WebSocket created with `null` over a stream whose handshake is done, as ws's `setSocket()`; emits 'open'. */
  setSocket(socket: Duplex, head: Buffer, options?: SetSocketOptions): void {
    openOnStream(this, socket, head, options);
  }

  /** The role setSocket() opens with (default: true for a WebSocket created with `null`); the role once open. */
  get _isServer(): boolean {
    return isServer(this);
  }
  set _isServer(value: boolean) {
    setIsServer(this, value);
  }

  // Public signatures as ws's types: callbacks get `err?: Error` (ping/pong: `err: Error`).
  send(data: unknown, cb?: Callback): void;
  send(data: unknown, options: SendOptions, cb?: Callback): void;
  send(data: unknown, options?: SendOptions | AnyCallback, cb?: AnyCallback): void {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    const driver = this.#driver;
    if (driver === null && this.readyState === ReadyState.CONNECTING) throw this.#notOpen();
    if (driver !== null && !driver.admits(cb)) return;
    if (typeof data === 'number') data = data.toString();
    const isBinary = options?.binary ?? typeof data !== 'string';
    let sent: boolean;
    if (data instanceof Blob) {
      // As ws: read asynchronously, and everything sent after it waits behind it.
      const blob = data;
      sent = driver !== null && driver.connection.sendDeferred(async () => Buffer.from(await blob.arrayBuffer()), blob.size, isBinary, options, cb);
    } else {
      sent = driver !== null && driver.connection.send(typeof data === 'string' ? data : toBuffer(data), isBinary, options, cb);
    }
    if (!sent) this.#sendAfterClose(data, cb);
  }

  ping(data?: unknown, mask?: boolean, cb?: (err: Error) => void): void;
  ping(data?: unknown, mask?: boolean | AnyCallback, cb?: AnyCallback): void {
    this.#control('ping', data, mask, cb);
  }

  pong(data?: unknown, mask?: boolean, cb?: (err: Error) => void): void;
  pong(data?: unknown, mask?: boolean | AnyCallback, cb?: AnyCallback): void {
    this.#control('pong', data, mask, cb);
  }

  /**
   * Start the closing handshake. The 'close' event follows once the peer
   * answered and the TCP connection closed, or after closeTimeout.
   */
  close(code?: number, reason?: string | Buffer): void {
    const driver = this.#driver;
    if (driver !== null) {
      if (driver.readyState !== ReadyState.CLOSED) driver.close(code, reason ?? '');
    } else if (this.readyState === ReadyState.CONNECTING) {
      this.#failHandshake(new Error('WebSocket was closed before the connection was established'));
    }
  }

  /** Destroy the connection at once, without a closing handshake ('close' reports 1006). */
  terminate(): void {
    const driver = this.#driver;
    if (driver !== null) {
      if (driver.readyState !== ReadyState.CLOSED) driver.terminate();
    } else if (this.readyState === ReadyState.CONNECTING) {
      this.#failHandshake(new Error('WebSocket was closed before the connection was established'));
    }
  }

  pause(): void {
    if (this.#driver !== null && this.#driver.readyState !== ReadyState.CLOSED) this.#driver.pause();
  }

  resume(): void {
    if (this.#driver !== null && this.#driver.readyState !== ReadyState.CLOSED) this.#driver.resume();
  }

  // ------------------------------------------------------------ internals

  #open(upgraded: Upgraded): void {
    const info = this.#info;
    const extensions = upgraded.extension?.name ?? '';
    const url = info.opening?.url ?? '';
    const driver = new Driver(upgraded.stream, upgraded.head, this, upgraded.settings, upgraded.extension);
    if (info.binaryType !== 'nodebuffer') driver.binaryType = info.binaryType;
    if (info !== SERVER_SIDE || upgraded.protocol !== '' || extensions !== '') {
      this.#info = { ...info, url, protocol: upgraded.protocol, extensions, opening: null };
    }
    this.#driver = driver;
  }

  /** This connection's own Info, made from the shared one on first write. */
  #own(): Info {
    if (this.#info === SERVER_SIDE) this.#info = { ...SERVER_SIDE };
    return this.#info as Info;
  }

  /** The opening handshake failed or was abandoned: 'error', then 'close' (1006). */
  #failHandshake(error: Error): void {
    const opening = this.#info.opening;
    if (opening === null || opening.readyState !== ReadyState.CONNECTING) return;
    opening.abort();
    this.emit('error', error);
    opening.readyState = ReadyState.CLOSED;
    this.emit('close', 1006, EMPTY_REASON);
  }

  #control(kind: 'ping' | 'pong', data: unknown, mask: boolean | AnyCallback | undefined, cb: AnyCallback | undefined): void {
    // As ws: ping(cb) and ping(data, cb) both work.
    if (typeof data === 'function') {
      cb = data as AnyCallback;
      data = undefined;
      mask = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
      mask = undefined;
    }
    const driver = this.#driver;
    if (driver === null && this.readyState === ReadyState.CONNECTING) throw this.#notOpen();
    const payload = data === undefined ? EMPTY_REASON : toBuffer(data);
    checkControlPayload(payload); // before the not-open path, as in ws
    if (driver !== null && !driver.admits(cb)) return;
    const connection = driver?.connection;
    const sent = connection !== undefined && (kind === 'ping' ? connection.ping(payload, cb) : connection.pong(payload, cb));
    if (!sent) this.#sendAfterClose(payload, cb);
  }

  /** As ws: data sent after close counts in bufferedAmount and fails its callback. */
  #sendAfterClose(data: unknown, cb?: AnyCallback): void {
    if (data !== undefined && data !== null) this.#own().afterClose += byteLengthOf(data);
    if (cb) process.nextTick(cb, this.#notOpen());
  }

  #notOpen(): Error {
    const state = this.readyState;
    return new Error(`WebSocket is not open: readyState ${state} (${READY_STATE_NAMES[state]})`);
  }
}

addWsEventTargetMethods(WebSocket.prototype, (ws) => driverOf(ws as WebSocket)?.connection.lifecycle.wasClean ?? false);
defineReadyStateConstants(WebSocket);
defineReadyStateConstants(WebSocket.prototype);
// As ws: the attributes are enumerable (and configurable) accessors on the prototype.
for (const name of ['readyState', 'url', 'protocol', 'extensions', 'bufferedAmount', 'binaryType', 'isPaused']) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}

export type { IncomingMessage };
