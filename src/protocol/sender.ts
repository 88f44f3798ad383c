/**
 * The sending half of a connection: messages and control frames become
 * frames, in order, on the connection's output.
 *
 * Owns: framing (masking keys, fragmentSize, RSV1 on a compressed message's
 * first frame), outgoing fragmented messages (fin: false), the ordered queue
 * behind asynchronous compression (send-queue.ts, created the first time a
 * message is compressed), the one pong held back while the output is
 * congested, and prepared messages: a publication encoded once and written as
 * the same bytes to many connections. Must not touch: whether sending is
 * still allowed (the Connection asks the lifecycle first) or the transport.
 */
import type { MessageTransform } from './extension.js';
import { encodeFrame, encodeFrameParts, encodeStringFrame } from './frame-encoder.js';
import { randomMaskKey } from './mask-key.js';
import { Opcode } from './opcode.js';
import type { ConnectionSettings } from './options.js';
import { SendQueue, writeFrames, type FrameWriter, type WriteCallback } from './send-queue.js';

export interface SendOptions {
  /** Last frame of the message (default true). false starts or continues a fragmented message. */
  fin?: boolean | undefined;
  /** Override masking (default: clients mask, servers do not). Breaking the RFC is for tests only. */
  mask?: boolean | undefined;
  /** Let the extension compress this message (default true; it still applies its threshold). */
  compress?: boolean | undefined;
}

/**
 * A message encoded once for many connections (a publish or broadcast).
 * Server frames are not masked, so the same bytes serve every receiver; a
 * compressed form is made once per distinct compression setting.
 */
export class PreparedMessage {
  private plain: Buffer | null = null;
  private compressed: Map<string, Buffer> | null = null;

  constructor(
    readonly data: Buffer,
    readonly binary: boolean,
    /** Compress for receivers that negotiated an extension (default false). */
    readonly compress = false,
  ) {}

  /**
   * The frame for a connection with this extension, or null when it must go
   * through that connection's own compressor (context takeover keeps state
   * per connection, so no encoding can be shared).
   */
  frameFor(extension: MessageTransform | null): Buffer | null {
    const opcode = this.binary ? Opcode.Binary : Opcode.Text;
    if (this.compress && extension !== null && extension.shouldEncode(this.data.length)) {
      const shared = extension.sharedEncoding;
      if (shared === undefined) return null;
      const cache = (this.compressed ??= new Map());
      let frame = cache.get(shared.key);
      if (frame === undefined) {
        frame = encodeFrame(opcode, shared.encode(this.data), { fin: true, rsv1: true, maskKey: null });
        cache.set(shared.key, frame);
      }
      return frame;
    }
    return (this.plain ??= encodeFrame(opcode, this.data, { fin: true, rsv1: false, maskKey: null }));
  }
}

/** Boolean state packed in one small integer. */
const enum Flag {
  /** Our fragmented message is open (a send with fin: false came last). */
  Fragmented = 1,
  /** That message is being compressed. */
  Compressing = 2,
}

export class Sender {
  private flags = 0;
  /** Exists once a message went through the extension: later frames must wait their turn. */
  private queue: SendQueue | null = null;
  /** The latest ping's payload, answered once the output drains. */
  private pendingPong: Buffer | null = null;

  constructor(
    private readonly output: FrameWriter,
    private readonly settings: ConnectionSettings,
    private readonly extension: MessageTransform | null,
  ) {}

  /** Bytes of messages waiting behind a transform, not yet handed to the output. */
  get queuedBytes(): number {
    return this.queue === null ? 0 : this.queue.queuedBytes;
  }

  /** Is our own fragmented message open? */
  get fragmented(): boolean {
    return (this.flags & Flag.Fragmented) !== 0;
  }

  /** Send a message, or with fin: false one fragment of it. */
  message(data: Buffer | string, isBinary: boolean, options: SendOptions | undefined, cb?: WriteCallback): void {
    const fin = options?.fin ?? true;
    const mask = options?.mask;
    const first = !(this.flags & Flag.Fragmented);
    const opcode = first ? (isBinary ? Opcode.Binary : Opcode.Text) : Opcode.Continuation;
    if (first) {
      // The byte length is only needed to ask the extension (the encoder measures strings itself).
      const compress =
        this.extension !== null &&
        options?.compress !== false &&
        this.extension.shouldEncode(typeof data === 'string' ? Buffer.byteLength(data) : data.length);
      this.flags = compress ? this.flags | Flag.Compressing : this.flags & ~Flag.Compressing;
    }
    this.flags = fin ? this.flags & ~Flag.Fragmented : this.flags | Flag.Fragmented;
    if (this.flags & Flag.Compressing) {
      this.transformed(opcode, typeof data === 'string' ? Buffer.from(data) : data, first, fin, mask, cb);
      return;
    }
    const size = this.settings.fragmentSize;
    if (size > 0 && (typeof data === 'string' ? data.length * 3 > size : data.length > size)) {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      if (bytes.length > size) {
        this.push(this.frames(opcode, bytes, false, fin, mask), cb);
        return;
      }
      data = bytes;
    }
    const frame = { fin, rsv1: false, maskKey: this.maskKey(mask) };
    if (typeof data === 'string') this.push([encodeStringFrame(opcode, data, frame)], cb);
    else this.push(encodeFrameParts(opcode, data, frame), cb);
  }

  /**
   * Send a message whose bytes arrive later (a Blob being read): it takes its
   * place in the queue now, so everything sent after it waits behind it, and
   * goes out (through the extension when it applies) once `read` resolves. A
   * failed read fails only this message (its callback gets the error).
   */
  deferred(read: () => Promise<Buffer>, byteLength: number, isBinary: boolean, options: SendOptions | undefined, cb?: WriteCallback): void {
    const fin = options?.fin ?? true;
    const mask = options?.mask;
    const first = !(this.flags & Flag.Fragmented);
    const opcode = first ? (isBinary ? Opcode.Binary : Opcode.Text) : Opcode.Continuation;
    if (first) {
      const compress = this.extension !== null && options?.compress !== false && this.extension.shouldEncode(byteLength);
      this.flags = compress ? this.flags | Flag.Compressing : this.flags & ~Flag.Compressing;
    }
    this.flags = fin ? this.flags & ~Flag.Fragmented : this.flags | Flag.Fragmented;
    const extension = (this.flags & Flag.Compressing) !== 0 ? this.extension : null;
    (this.queue ??= new SendQueue(this.output)).pushTransform((finish) => {
      read().then(
        (bytes) => {
          if (extension === null) return finish(null, this.frames(opcode, bytes, false, fin, mask));
          extension.encode(bytes, fin, (error, encoded) => {
            if (error !== null) return finish(error);
            finish(null, this.frames(opcode, encoded!, first, fin, mask));
          });
        },
        (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))),
      );
    }, cb, byteLength);
  }

  /**
   * Write a prepared message. Refused (false) while our own fragmented
   * message is open. Server side only: client frames need a fresh mask each.
   */
  prepared(message: PreparedMessage, cb?: WriteCallback): boolean {
    if (this.settings.role !== 'server') throw new Error('Prepared messages can only be sent by a server');
    if (this.flags & Flag.Fragmented) return false;
    const frame = message.frameFor(this.extension);
    if (frame === null) this.message(message.data, message.binary, { compress: true }, cb);
    else this.push([frame], cb);
    return true;
  }

  control(opcode: number, payload: Buffer, cb?: WriteCallback): void {
    this.push([encodeFrame(opcode, payload, { fin: true, rsv1: false, maskKey: this.maskKey(undefined) })], cb);
  }

  /**
   * Answer a ping. While the output is congested only the latest ping is
   * answered, once it drains (RFC 6455 5.5.3 allows that): a flood of pings
   * from a peer that does not read holds one pong, not one per ping.
   */
  pong(payload: Buffer, congested: boolean): void {
    if (congested) {
      this.pendingPong = payload;
      return;
    }
    // This pong answers the latest ping: a held older one would only arrive stale after it.
    this.pendingPong = null;
    this.control(Opcode.Pong, payload);
  }

  /** The output drained: send the pong held back meanwhile. */
  flushPendingPong(): void {
    const payload = this.pendingPong;
    if (payload === null) return;
    this.pendingPong = null;
    this.control(Opcode.Pong, payload);
  }

  /** Our Close frame: whatever fragmented message or pong was pending is over. */
  close(payload: Buffer, cb?: WriteCallback): void {
    this.flags = 0;
    this.pendingPong = null;
    this.control(Opcode.Close, payload, cb);
  }

  /** Run `fn` once every queued frame was handed to the output (at once if none waits). */
  whenIdle(fn: () => void): void {
    if (this.queue === null) fn();
    else this.queue.whenIdle(fn);
  }

  /** The connection is gone: drop what waits behind a transform; its callbacks get an error. */
  clear(): void {
    this.pendingPong = null;
    // Only made when something waits: an Error's stack trace is not free, and most connections queue nothing.
    this.queue?.clear(new Error('The connection was closed'));
  }

  private push(frames: Buffer[], cb?: WriteCallback): void {
    if (this.queue !== null) this.queue.push(frames, cb);
    else writeFrames(this.output, frames, cb);
  }

  /** Send through the extension: frames are built when its output is ready, in order. */
  private transformed(opcode: number, payload: Buffer, first: boolean, fin: boolean, mask: boolean | undefined, cb?: WriteCallback): void {
    const extension = this.extension!;
    (this.queue ??= new SendQueue(this.output)).pushTransform((finish) => {
      extension.encode(payload, fin, (error, encoded) => {
        if (error !== null) return finish(error);
        finish(null, this.frames(opcode, encoded!, first, fin, mask));
      });
    }, cb, payload.length);
  }

  /** Frames for one encoded payload: RSV1 only on a message's first frame; fragmentSize applies. */
  private frames(opcode: number, bytes: Buffer, rsv1: boolean, fin: boolean, mask: boolean | undefined): Buffer[] {
    const size = this.settings.fragmentSize;
    if (size === 0 || bytes.length <= size) {
      return encodeFrameParts(opcode, bytes, { fin, rsv1, maskKey: this.maskKey(mask) });
    }
    const frames: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += size) {
      const last = offset + size >= bytes.length;
      frames.push(
        ...encodeFrameParts(offset === 0 ? opcode : Opcode.Continuation, bytes.subarray(offset, Math.min(offset + size, bytes.length)), {
          fin: last && fin,
          rsv1: offset === 0 && rsv1,
          maskKey: this.maskKey(mask),
        }),
      );
    }
    return frames;
  }

  private maskKey(mask: boolean | undefined): Uint8Array | null {
    const source = this.settings.maskKeySource;
    if (mask === undefined) return source === null ? null : source();
    return mask ? (source ?? randomMaskKey)() : null;
  }
}
