/**
 * Binds a sans-I/O Connection to a Node duplex byte stream (a TCP or TLS
 * socket today; any Duplex, e.g. an HTTP/2 stream, later). It is the
 * Connection's output and its handler (events forwarded to the WebSocket).
 *
 * Writes of one tick leave together: the socket is corked until the end of
 * the tick, and small frames without a callback are merged into one buffer
 * on the way (one memcpy beats a writev entry and a Writable.write call per
 * frame), so 32 echoes or publications in a tick are one write of one buffer.
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

const kBinding = Symbol('hyperws.binding');

/** Frames up to this size (without a write callback) are merged with their neighbours of the tick. */
const MERGE_MAX = 4096;
/** A merged batch is written once it reaches this size, even before the end of the tick. */
const BATCH_MAX = 64 * 1024;

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
  /** Small frames of this tick waiting to be merged (fields on the prototype until first used). */
  private declare batch: Buffer[] | null;
  private declare batchBytes: number;

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
    if (cb === undefined && data.length <= MERGE_MAX) {
      if (this.batch === null) this.batch = [data];
      else this.batch.push(data);
      this.batchBytes += data.length;
      if (this.batchBytes >= BATCH_MAX) this.flush();
      return;
    }
    if (this.batch !== null) this.flush();
    socket.write(data, cb);
  }

  /** Bytes written this tick but not handed to the socket yet (part of bufferedAmount). */
  get pendingBytes(): number {
    return this.batchBytes;
  }

  /** Hand merged small frames to the socket now (before ending it, say). */
  flush(): void {
    const batch = this.batch;
    if (batch === null) return;
    const bytes = this.batchBytes;
    this.batch = null;
    this.batchBytes = 0;
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes));
  }

  /** End the byte stream after what was written (a FIN on TCP). */
  end(): void {
    this.flush();
    if (!this.socket.writableEnded) this.socket.end();
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
    this.flush();
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

// Defaults of the batching fields: shared until a connection first merges frames.
Object.defineProperty(SocketBinding.prototype, 'batch', { value: null, writable: true, configurable: true });
Object.defineProperty(SocketBinding.prototype, 'batchBytes', { value: 0, writable: true, configurable: true });
