/**
 * The sending half of a connection: messages and control frames become
 * frames, in order, on the connection's output.
 *
 * Owns: framing (masking keys, fragmentSize, RSV1 on a compressed message's
 * first frame), outgoing fragmented messages (fin: false), the ordered queue
 * behind asynchronous compression (send-queue.ts, created the first time a
 * message is compressed), the one pong held back while the output is
 * congested, and prepared messages: a publication encoded once (here, or as a
 * whole frame by a ws-style `Sender.frame()`) and written as the same bytes to
 * many connections. Must not touch: whether sending is
 * still allowed (the Connection asks the lifecycle first) or the transport.
 */
import type { MessageTransform } from './extension.js';
import { encodeFrame, encodeFrameParts, encodeStringFrame } from './frame-encoder.js';
import { FrameParser, type FrameHeader } from './frame-parser.js';
import { maskInto } from './mask.js';
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
   * A prepared message from one whole frame encoded elsewhere (ws's
   * `Sender.frame()`, with which socket.io pre-encodes a broadcast). An
   * unmasked frame is written as the very bytes given; a masked one is
   * unmasked once here and re-encoded for servers. Only a final,
   * uncompressed text or binary frame with nothing before or after it
   * qualifies (TypeError otherwise): a fragment, a control frame or RSV
   * bits written among a connection's own frames would break its framing.
   */
  static fromFrame(frame: Buffer): PreparedMessage {
    const header = readHeader(frame);
    if (!header.fin || header.rsv1 || header.rsv2 || header.rsv3 || (header.opcode !== Opcode.Text && header.opcode !== Opcode.Binary)) {
      throw new TypeError('A pre-encoded frame must be one final text or binary frame without RSV bits');
    }
    if (frame.length !== header.size + header.payloadLength) {
      throw new TypeError(`A pre-encoded frame must hold exactly one frame: ${frame.length} bytes for a frame of ${header.size + header.payloadLength}`);
    }
    let payload = frame.subarray(header.size);
    if (header.masked) {
      const unmasked = Buffer.allocUnsafe(payload.length);
      maskInto(payload, 0, unmasked, 0, payload.length, frame.subarray(header.size - 4, header.size), 0);
      payload = unmasked;
    }
    const message = new PreparedMessage(payload, header.opcode === Opcode.Binary);
    if (!header.masked) message.plain = frame;
    return message;
  }

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

/**
 * The header of the frame at the start of `frame`, checked by the parser the
 * receiving side uses (minimal length encoding included), and its size.
 */
function readHeader(frame: Buffer): FrameHeader & { size: number } {
  const seen: { header: FrameHeader | null; error: Error | null } = { header: null, error: null };
  const parser = new FrameParser({
    onFrameHeader: (header) => {
      seen.header = header;
      return false; // the header is all we read
    },
    onFramePayload: () => false,
    onFrameEnd: () => false,
    onFrameError: (error) => {
      seen.error = error;
    },
  });
  const size = parser.push(frame);
  if (seen.error !== null) throw new TypeError(`Invalid pre-encoded frame: ${seen.error.message}`);
  if (seen.header === null) throw new TypeError('Invalid pre-encoded frame: the header is incomplete');
  const h = seen.header;
  return { fin: h.fin, rsv1: h.rsv1, rsv2: h.rsv2, rsv3: h.rsv3, opcode: h.opcode, masked: h.masked, payloadLength: h.payloadLength, size };
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


  /** Send a message, or with fin: false one fragment of it. */
  message(data: Buffer | string, isBinary: boolean, options: SendOptions | undefined, cb?: WriteCallback): void {
    const fin = options?.fin ?? true;
    const mask = options?.mask;
    const opcode = this.begin(isBinary, fin, options?.compress, data);
    if (this.flags & Flag.Compressing) {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      this.queued(opcode, bytes, bytes.length, fin, mask, cb);
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
    this.queued(this.begin(isBinary, fin, options?.compress, byteLength), read, byteLength, fin, options?.mask, cb);
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

  /**
   * Start a message's frame (or continue it): its opcode. On a message's
   * first frame, decide whether it goes through the extension; `sized` gives
   * its byte length, measured only when the extension asks.
   */
  private begin(isBinary: boolean, fin: boolean, compress: boolean | undefined, sized: Buffer | string | number): number {
    const first = !(this.flags & Flag.Fragmented);
    if (first) {
      const extension = this.extension;
      const encode =
        extension !== null &&
        compress !== false &&
        extension.shouldEncode(typeof sized === 'number' ? sized : typeof sized === 'string' ? Buffer.byteLength(sized) : sized.length);
      this.flags = encode ? this.flags | Flag.Compressing : this.flags & ~Flag.Compressing;
    }
    this.flags = fin ? this.flags & ~Flag.Fragmented : this.flags | Flag.Fragmented;
    return first ? (isBinary ? Opcode.Binary : Opcode.Text) : Opcode.Continuation;
  }

  /**
   * A frame that waits its turn in the queue: its bytes (now, or once `source`
   * resolves) go through the extension when this message is compressed, and
   * frames are built when they are ready, in order.
   */
  private queued(
    opcode: number,
    source: Buffer | (() => Promise<Buffer>),
    byteLength: number,
    fin: boolean,
    mask: boolean | undefined,
    cb?: WriteCallback,
  ): void {
    const extension = this.flags & Flag.Compressing ? this.extension : null;
    const rsv1 = extension !== null && opcode !== Opcode.Continuation;
    (this.queue ??= new SendQueue(this.output)).pushTransform((finish) => {
      const build = (bytes: Buffer): void => {
        if (extension === null) return finish(null, this.frames(opcode, bytes, false, fin, mask));
        extension.encode(bytes, fin, (error, encoded) => {
          if (error !== null) return finish(error);
          const counters = this.settings.counters;
          if (counters !== null) {
            counters.deflateInput += bytes.length;
            counters.deflateOutput += encoded!.length;
          }
          finish(null, this.frames(opcode, encoded!, rsv1, fin, mask));
        });
      };
      if (Buffer.isBuffer(source)) build(source);
      else source().then(build, (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))));
    }, cb, byteLength);
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
