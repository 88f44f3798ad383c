/**
 * The one driver between a Node duplex byte stream (a TCP or TLS socket, or
 * any Duplex such as an HTTP/2 stream) and a sans-I/O Connection. The
 * WebSocket class is a facade over it: its readyState and events are
 * projections of the connection's lifecycle, emitted from here.
 *
 * Owns: reading (pause/resume by the user and while a message is decoded),
 * writing (small frames merged: replies to a chunk leave when it is
 * processed, other writes at the end of the tick, corked), backpressure (drain, the
 * held pong), the transport's end (FIN when the lifecycle says we close
 * first, the close timer otherwise, an abort on terminate) and the events
 * 'message', 'ping', 'pong', 'error', 'drain' and 'close'. Must not touch: the
 * protocol's rules (src/protocol) or the opening handshake (the client and
 * server hand it an upgraded stream).
 *
 * Stream listeners are shared functions that find their driver through a
 * symbol on the stream: no closures are created per connection.
 */
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  CloseCode,
  Connection,
  Phase,
  type ConnectionHandler,
  type ConnectionOutput,
  type ConnectionSettings,
  type MessageTransform,
  type ProtocolError,
  type WriteCallback,
} from '../protocol/index.js';
import { formatMessage, type BinaryType } from './binary-data.js';
import { backpressureError } from './connection-limits.js';
import { IdleSweep } from './idle-sweep.js';

const kDriver = Symbol('hyperws.driver');


/** Frames up to this size (without a write callback) are merged with their neighbours of the tick. */
const MERGE_MAX = 4096;
/** A merged batch is written once it reaches this size, even before the end of the tick. */
const BATCH_MAX = 64 * 1024;

type DriverStream = Duplex & { [kDriver]?: Driver; setNoDelay?(noDelay?: boolean): unknown; setTimeout?(ms: number): unknown };

/** The CANCEL error code of HTTP/2 (RFC 9113 7). */
const HTTP2_CANCEL = 0x8;

/**
 * Abort the transport: destroy a socket (a TCP reset when data is pending).
 * Over HTTP/2 the stream stands for the TCP connection, its END_STREAM for the
 * FIN (Driver.end) and "RST exceptions are represented with the RST_STREAM
 * frame with the CANCEL error code" (RFC 8441 5); destroy() alone would send
 * RST_STREAM with NO_ERROR. An http2 stream is known by its rstCode property.
 */
function abortStream(stream: DriverStream): void {
  if ('rstCode' in stream && !stream.closed) (stream as unknown as { close(code: number): void }).close(HTTP2_CANCEL);
  else stream.destroy();
}

/** Boolean state packed in one small integer, named by these bits. */
const enum Flag {
  /** The stream is corked until the end of this tick. */
  Corked = 1,
  /** The user called pause(). */
  Paused = 2,
  /** The core holds input while a message is decoded (the stream is paused meanwhile). */
  InputHeld = 4,
  /** Data arrived since the heartbeat last asked (see takeActivity). */
  Active = 8,
  /** 'error' was emitted once already. */
  ErrorEmitted = 16,
  /** Input is being processed: what is written meanwhile leaves when it is done, in one write. */
  Receiving = 32,
  /** Bytes went either way since the idle sweep last asked (see takeTraffic). */
  Traffic = 64,
  /** The peer's FIN arrived ('end'). */
  PeerEnded = 128,
  /** Ours went out: the stream finished writing after end(). */
  Finished = 256,
}

export class Driver implements ConnectionHandler, ConnectionOutput {
  readonly connection: Connection;
  private binaryKind: BinaryType = 'nodebuffer';
  private flags = 0;
  /** Small frames of this tick waiting to be merged. */
  private batch: Buffer[] | null = null;
  private batchBytes = 0;
  private closeTimer: NodeJS.Timeout | null = null;

  /**
   * `head` holds bytes read past the handshake. They go back into the
   * stream's buffer before the 'data' listener is added: a paused stream then
   * delivers them on the next tick, after the caller attached its listeners.
   */
  constructor(
    readonly stream: DriverStream,
    head: Buffer,
    private readonly events: EventEmitter,
    settings: ConnectionSettings,
    extension: MessageTransform | null,
  ) {
    this.connection = new Connection(settings, this, this, extension);
    if (head.length > 0) stream.unshift(head);
    stream[kDriver] = this;
    stream.setTimeout?.(0);
    stream.setNoDelay?.(true);
    stream.on('data', streamOnData);
    stream.on('end', streamOnEnd);
    stream.on('close', streamOnClose);
    stream.on('error', streamOnError);
    stream.on('drain', streamOnDrain);
    compactEvents(stream);
    if (settings.idleTimeout > 0) IdleSweep.track(this, settings.idleTimeout);
  }

  /** How binary messages are delivered; 'fragments' also tells the core not to join pieces. */
  get binaryType(): BinaryType {
    return this.binaryKind;
  }
  set binaryType(type: BinaryType) {
    this.binaryKind = type;
    this.connection.deliverFragments = type === 'fragments';
  }

  /** The WebSocket API's readyState: a projection of the lifecycle. */
  get readyState(): 1 | 2 | 3 {
    return this.connection.lifecycle.readyState;
  }

  /**
   * Bytes sent and not yet handed to the OS: the stream's buffer, this tick's
   * merged frames, and messages waiting behind one being compressed (as ws counts them).
   */
  get bufferedAmount(): number {
    return this.stream.writableLength + this.batchBytes + this.connection.queuedBytes;
  }

  get isPaused(): boolean {
    return (this.flags & Flag.Paused) !== 0;
  }

  /**
   * May one more send (a message, ping, pong or publication) be queued? Not
   * when the connection already holds more than maxBackpressure unsent bytes:
   * then backpressurePolicy decides. 'close' starts a 1008 closing handshake
   * and 'drop' discards the send (its callback, if any, gets the error); the
   * caller's `cb` is called with the error in both cases. 'error' throws it,
   * unless `fanOut`: a publication to many is never interrupted by one
   * subscriber, it skips it.
   */
  admits(cb?: WriteCallback, fanOut = false): boolean {
    const settings = this.connection.settings;
    const limit = settings.maxBackpressure;
    if (limit === 0) return true;
    const unsent = this.bufferedAmount;
    if (unsent <= limit || !this.connection.lifecycle.canSend) return true;
    const policy = settings.backpressurePolicy;
    const error = backpressureError(unsent, limit, policy);
    const counters = settings.counters;
    if (counters !== null) {
      if (policy === 'close') counters.backpressureCloses++;
      else counters.backpressureDrops++;
    }
    if (policy === 'error' && !fanOut) throw error;
    if (policy === 'close') this.close(CloseCode.PolicyViolation, 'Backpressure limit exceeded');
    if (cb) process.nextTick(cb, error);
    return false;
  }

  /** Did bytes go either way since the last call? (the idle sweep's sign of life) */
  takeTraffic(): boolean {
    const traffic = (this.flags & Flag.Traffic) !== 0;
    this.flags &= ~Flag.Traffic;
    return traffic;
  }

  /** The idle sweep found no traffic for idleTimeout: close with 1001, as a server going away would. */
  idle(): void {
    if (this.connection.lifecycle.canSend) this.close(CloseCode.GoingAway, 'Idle timeout');
  }

  /** Did data arrive since the last call? (the heartbeat's sign of life) */
  takeActivity(): boolean {
    const active = (this.flags & Flag.Active) !== 0;
    this.flags &= ~Flag.Active;
    return active;
  }

  pause(): void {
    this.flags |= Flag.Paused;
    this.stream.pause();
  }

  resume(): void {
    this.flags &= ~Flag.Paused;
    // Input held while a message is decompressed resumes when that is done.
    if (!(this.flags & Flag.InputHeld)) this.stream.resume();
  }

  /**
   * Start the closing handshake; once the peer answered (or closeTimeout
   * passed) the transport closes and 'close' follows. Called again after
   * both Close frames went, it closes the transport at once.
   */
  close(code: number | undefined, reason: string | Buffer): void {
    const lifecycle = this.connection.lifecycle;
    if (lifecycle.phase === Phase.Closing) {
      if (lifecycle.wasClean) this.end();
      return;
    }
    this.connection.close(code, reason);
    this.startCloseTimer();
  }

  /** Destroy the transport at once, without a closing handshake ('close' reports 1006). */
  terminate(): void {
    this.connection.abort();
    abortStream(this.stream);
  }

  // ------------------------------------------------------ ConnectionOutput

  write(data: Buffer, cb?: WriteCallback): void {
    this.flags |= Flag.Traffic;
    const stream = this.stream;
    if (stream.destroyed || stream.writableEnded) {
      if (cb) process.nextTick(cb, new Error('The socket is closed'));
      return;
    }
    const counters = this.connection.settings.counters;
    if (counters !== null) counters.bytesOut += data.length;
    // Replies to what is being received (an echo, a pong) are flushed when the
    // chunk is done; anything else waits for the end of the tick, corked.
    if (!(this.flags & (Flag.Corked | Flag.Receiving))) {
      this.flags |= Flag.Corked;
      stream.cork();
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
    stream.write(data, cb);
  }

  closeTransport(): void {
    if (this.connection.closesTransportFirst) this.end();
    this.startCloseTimer();
  }

  isCongested(): boolean {
    return this.stream.writableNeedDrain;
  }

  pauseInput(): void {
    this.flags |= Flag.InputHeld;
    this.stream.pause();
  }

  resumeInput(): void {
    this.flags &= ~Flag.InputHeld;
    if (!(this.flags & Flag.Paused)) this.stream.resume();
  }

  // ----------------------------------------------------- ConnectionHandler

  onMessage(data: Buffer | Buffer[], isBinary: boolean): void {
    // As ws: binaryType shapes binary messages; a text message is always one Buffer.
    this.events.emit('message', isBinary ? formatMessage(data, this.binaryKind) : formatMessage(data, 'nodebuffer'), isBinary);
  }

  onPing(payload: Buffer): void {
    this.events.emit('ping', payload);
  }

  onPong(payload: Buffer): void {
    this.events.emit('pong', payload);
  }

  onCloseFrame(): void {
    this.detachInput();
  }

  onFail(error: ProtocolError): void {
    this.detachInput();
    // Peer errors are reported on 'error' only when someone listens: a
    // misbehaving peer must not crash a server whose app forgot the listener.
    if (this.events.listenerCount('error') > 0) this.emitError(error);
  }

  // ---------------------------------------------------- stream events

  /** @internal the shared 'data' listener */
  received(chunk: Buffer): void {
    this.flags |= Flag.Active | Flag.Receiving | Flag.Traffic;
    const counters = this.connection.settings.counters;
    if (counters !== null) counters.bytesIn += chunk.length;
    try {
      this.connection.receiveData(chunk);
    } finally {
      this.flags &= ~Flag.Receiving;
      if (!(this.flags & Flag.Corked)) this.flush();
    }
  }

  /** @internal the shared 'end' listener: the peer's FIN */
  ended(): void {
    this.flags |= Flag.PeerEnded;
    this.connection.receiveEof();
    // allowHalfOpen streams stay writable after the peer's FIN: end ours too.
    this.end();
    this.closeIfDone();
  }

  /** @internal the shared 'close' listener */
  closed(): void {
    // A message still being decompressed was accepted from the peer: deliver it first.
    this.connection.whenInputSettled(() => {
      this.connection.transportClosed();
      if (this.connection.settings.idleTimeout > 0) IdleSweep.untrack(this, this.connection.settings.idleTimeout);
      if (this.closeTimer !== null) {
        clearTimeout(this.closeTimer);
        this.closeTimer = null;
      }
      const lifecycle = this.connection.lifecycle;
      this.connection.settings.counters?.closed(lifecycle.closeCode);
      this.events.emit('close', lifecycle.closeCode, lifecycle.closeReason);
    });
  }

  /** @internal the shared 'drain' listener */
  drained(): void {
    this.connection.flushPendingPong();
    this.events.emit('drain');
  }

  /** @internal end of the tick: write what was merged and uncork. */
  uncork(): void {
    this.flags &= ~Flag.Corked;
    this.flush();
    if (!this.stream.destroyed) this.stream.uncork();
  }

  emitError(error: Error): void {
    if (this.flags & Flag.ErrorEmitted) return;
    this.flags |= Flag.ErrorEmitted;
    this.events.emit('error', error);
  }

  // ------------------------------------------------------------ internals

  /** Hand merged small frames to the stream now (before ending it, say). */
  private flush(): void {
    const batch = this.batch;
    if (batch === null) return;
    const bytes = this.batchBytes;
    this.batch = null;
    this.batchBytes = 0;
    const stream = this.stream;
    if (stream.destroyed || stream.writableEnded) return;
    stream.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes));
  }

  /** End the byte stream after what was written (a FIN on TCP). */
  private end(): void {
    this.flush();
    if (this.stream.writableEnded || this.flags & Flag.Finished) return;
    this.stream.end(() => {
      this.flags |= Flag.Finished;
      this.closeIfDone();
    });
  }

  /**
   * Both directions are over: the peer's FIN arrived and ours went out. Node's
   * own streams close themselves then (autoDestroy; destroying an HTTP/2
   * stream here would reset it). A stream from an older stream library, which
   * does not even track `readableEnded` and never closes on its own
   * (readable-stream 3's, such as the Duplexify pair @fastify/websocket's
   * injectWS() makes), is destroyed, so that 'close' follows now rather than
   * after closeTimeout. (ws reports 'close' on the peer's FIN alone.)
   */
  private closeIfDone(): void {
    const stream = this.stream;
    const done = (this.flags & (Flag.PeerEnded | Flag.Finished)) === (Flag.PeerEnded | Flag.Finished);
    if (done && stream.readableEnded === undefined && !stream.destroyed) stream.destroy();
  }

  /** Stop reading after the peer's Close or a failure; keep consuming so its FIN is seen and 'close' fires. */
  private detachInput(): void {
    this.stream.removeListener('data', streamOnData);
    this.stream.resume();
  }

  private startCloseTimer(): void {
    if (this.closeTimer !== null) return;
    this.closeTimer = setTimeout(destroyStream, this.connection.settings.closeTimeout, this.stream);
  }
}

function uncork(driver: Driver): void {
  driver.uncork();
}

function destroyStream(stream: DriverStream): void {
  abortStream(stream);
}

function streamOnData(this: DriverStream, chunk: Buffer): void {
  this[kDriver]!.received(chunk);
}

function streamOnEnd(this: DriverStream): void {
  this[kDriver]!.ended();
}

function streamOnClose(this: DriverStream): void {
  this[kDriver]!.closed();
}

function streamOnError(this: DriverStream): void {
  // Transport errors (ECONNRESET, EPIPE...) end the connection; the 'close'
  // event reports it as 1006. As in ws, they are not surfaced as 'error'.
  abortStream(this);
}

function streamOnDrain(this: DriverStream): void {
  this[kDriver]!.drained();
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
function compactEvents(stream: DriverStream): void {
  const holder = stream as unknown as { _events?: Record<string | symbol, unknown> };
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
