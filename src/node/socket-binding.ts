/**
 * Binds a sans-I/O Connection to a Node duplex byte stream (a TCP or TLS
 * socket today; any Duplex, e.g. an HTTP/2 stream, later). It is the
 * Connection's output (writes, with corking so a burst of sends in one tick
 * becomes one writev) and its handler (events forwarded to the WebSocket).
 *
 * Socket listeners are shared functions that find their binding through a
 * symbol on the socket: no closures are created per connection.
 */
import type { Duplex } from 'node:stream';
import {
  Connection,
  type ConnectionHandler,
  type ConnectionOptions,
  type ConnectionOutput,
  type ProtocolError,
} from '../protocol/index.js';

export const kBinding = Symbol('hyperws.binding');

/** What the binding reports to its owner (the WebSocket). */
export interface BindingOwner {
  _onMessage(data: Buffer | Buffer[], isBinary: boolean): void;
  _onPing(payload: Buffer): void;
  _onPong(payload: Buffer): void;
  _onCloseFrame(code: number, reason: Buffer): void;
  _onFail(error: ProtocolError): void;
  /** The transport is done: close it now (server) or after waiting (client). */
  _onCloseTransport(): void;
  _onSocketData(): void;
  _onSocketEnd(): void;
  _onSocketClose(): void;
  _onDrain(): void;
  _isPausedByUser(): boolean;
}

type BoundSocket = Duplex & { [kBinding]?: SocketBinding; setNoDelay?(noDelay?: boolean): unknown; setTimeout?(ms: number): unknown };

export class SocketBinding implements ConnectionHandler, ConnectionOutput {
  readonly connection: Connection;
  /** The core holds input while a message is decoded (socket paused meanwhile). */
  inputHeld = false;
  private corked = false;

  constructor(
    readonly socket: BoundSocket,
    private readonly owner: BindingOwner,
    options: ConnectionOptions,
  ) {
    this.connection = new Connection(options, this, this);
    socket[kBinding] = this;
    socket.setTimeout?.(0);
    socket.setNoDelay?.(true);
    socket.on('data', socketOnData);
    socket.on('end', socketOnEnd);
    socket.on('close', socketOnClose);
    socket.on('error', socketOnError);
    socket.on('drain', socketOnDrain);
    compactEvents(socket);
  }

  /** Stop reading and forget the socket's data (after failure or terminate). */
  detachInput(): void {
    this.socket.removeListener('data', socketOnData);
    // Keep consuming so the peer's FIN is seen and 'close' fires.
    this.socket.resume();
  }

  // ConnectionOutput
  write(data: Buffer, cb?: (error?: Error | null) => void): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) {
      if (cb) process.nextTick(cb, new Error('The socket is closed'));
      return;
    }
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    socket.write(data, cb);
  }

  closeTransport(): void {
    this.owner._onCloseTransport();
  }

  isCongested(): boolean {
    return this.socket.writableNeedDrain;
  }

  pauseInput(): void {
    this.inputHeld = true;
    this.socket.pause();
  }

  resumeInput(): void {
    this.inputHeld = false;
    if (!this.owner._isPausedByUser()) this.socket.resume();
  }

  // ConnectionHandler
  onMessage(data: Buffer | Buffer[], isBinary: boolean): void {
    this.owner._onMessage(data, isBinary);
  }
  onPing(payload: Buffer): void {
    this.owner._onPing(payload);
  }
  onPong(payload: Buffer): void {
    this.owner._onPong(payload);
  }
  onCloseFrame(code: number, reason: Buffer): void {
    this.owner._onCloseFrame(code, reason);
  }
  onFail(error: ProtocolError): void {
    this.detachInput();
    this.owner._onFail(error);
  }

  /** @internal */
  _uncork(): void {
    this.corked = false;
    const socket = this.socket;
    if (!socket.destroyed) socket.uncork();
  }

  /** @internal */
  _owner(): BindingOwner {
    return this.owner;
  }
}

function uncork(binding: SocketBinding): void {
  binding._uncork();
}

function socketOnData(this: BoundSocket, chunk: Buffer): void {
  const binding = this[kBinding]!;
  binding._owner()._onSocketData();
  binding.connection.receiveData(chunk);
}

function socketOnEnd(this: BoundSocket): void {
  this[kBinding]!._owner()._onSocketEnd();
}

function socketOnClose(this: BoundSocket): void {
  const binding = this[kBinding]!;
  binding._owner()._onSocketClose();
}

function socketOnError(this: BoundSocket): void {
  // Transport errors (ECONNRESET, EPIPE...) end the connection; the 'close'
  // event reports it as 1006. As in ws, they are not surfaced as 'error'.
  this.destroy();
}

function socketOnDrain(this: BoundSocket): void {
  const binding = this[kBinding]!;
  binding.connection.flushPendingPong();
  binding._owner()._onDrain();
}

/**
 * The HTTP server added and removed listeners on the socket during the
 * handshake ('timeout', 'resume', 'pause'...); removed events stay behind as
 * keys holding undefined, which spill out of the stream's preallocated
 * listener table into an extra property store kept for the socket's life.
 * Rebuild the table in the stream's own layout (the literal below mirrors
 * Node's), keeping every live entry: same listeners, same order, same count.
 */
const STREAM_EVENT_KEYS = ['close', 'error', 'prefinish', 'finish', 'drain', 'data', 'end', 'readable'];
function compactEvents(socket: BoundSocket): void {
  const holder = socket as unknown as { _events?: Record<string | symbol, unknown> };
  const old = holder._events;
  if (old === undefined || old === null || Object.getPrototypeOf(old) !== Object.prototype) return;
  const keys = Reflect.ownKeys(old);
  let stale = false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (i < STREAM_EVENT_KEYS.length ? key !== STREAM_EVENT_KEYS[i] : old[key] === undefined) {
      if (i < STREAM_EVENT_KEYS.length) return; // not the layout we know: leave it alone
      stale = true;
    }
  }
  if (!stale) return;
  const fresh: Record<string | symbol, unknown> = {
    close: old['close'],
    error: old['error'],
    prefinish: old['prefinish'],
    finish: old['finish'],
    drain: old['drain'],
    data: old['data'],
    end: old['end'],
    readable: old['readable'],
  };
  for (let i = STREAM_EVENT_KEYS.length; i < keys.length; i++) {
    const value = old[keys[i]!];
    if (value !== undefined) fresh[keys[i]!] = value;
  }
  holder._events = fresh;
}
