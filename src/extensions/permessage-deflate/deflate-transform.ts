/**
 * The permessage-deflate message transform (RFC 7692 section 7.2) for one
 * connection: inflate received messages (bounded by maxPayload), deflate
 * outgoing ones above the threshold. zlib work is asynchronous and goes
 * through the process-wide limiter, except for small messages without
 * context takeover (see SYNC_ZLIB_LIMIT); the core keeps messages in order.
 *
 * Without context takeover (our server default) streams are borrowed from a
 * pool per message and handed back, so nothing stays allocated between
 * messages. With context takeover a stream is created on first use, kept for
 * the connection's life and closed by dispose().
 */
import { constants, deflateRawSync, inflateRawSync, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { CloseCode } from '../../protocol/close-code.js';
import { ProtocolError } from '../../protocol/errors.js';
import type { DecodeCallback, EncodeCallback, MessageTransform, SharedEncoding } from '../../protocol/extension.js';
import type { Role } from '../../protocol/options.js';
import type { DeflateAgreement } from './negotiation.js';
import { EXTENSION_NAME } from './negotiation.js';
import { DEFLATE_DEFAULTS, type PerMessageDeflateOptions } from './options.js';
import { sharedLimiter, type ZlibLimiter } from './zlib-limiter.js';
import {
  borrowDeflater,
  borrowInflater,
  createDeflater,
  createInflater,
  deflateWindowBits,
  returnDeflater,
  returnInflater,
  type DeflateParamsKey,
} from './zlib-pool.js';

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const EMPTY_BLOCK = Buffer.from([0x00]);
/** Pooled inflaters use the largest window, so any peer's stream fits. */
const POOLED_INFLATE_BITS = 15;
/**
 * Synchronous fast path. Without context takeover a message is compressed
 * on its own, and for small messages a one-shot zlib call on the main thread
 * (deflateRawSync / inflateRawSync: a fresh context, ~10 us for 16 KiB) costs
 * far less than a thread-pool round trip through a stream (~40 us, plus the
 * limiter, listeners and event-loop hops). Only messages of at most this many
 * bytes take it: the payload to deflate, and both the compressed input and
 * the inflated output (bounded with maxOutputLength) of a received message.
 * Anything larger, and everything with context takeover, stays asynchronous
 * in the thread pool, so a large message never blocks the event loop.
 */
export const SYNC_ZLIB_LIMIT = 64 * 1024;
const SYNC_INFLATE_OPTIONS = { windowBits: POOLED_INFLATE_BITS, finishFlush: constants.Z_SYNC_FLUSH };

export class DeflateTransform implements MessageTransform {
  readonly name = EXTENSION_NAME;
  private readonly limiter: ZlibLimiter;
  private readonly threshold: number;
  private readonly deflateTakeover: boolean;
  private readonly inflateTakeover: boolean;
  private readonly deflateParams: DeflateParamsKey;
  private readonly inflateBits: number;
  private readonly inflateChunkSize: number | undefined;
  /** Kept across messages with context takeover, or across the fragments of one message. */
  private deflater: DeflateRaw | null = null;
  private inflater: InflateRaw | null = null;
  private deflaterBusy = false;
  private inflaterBusy = false;
  private disposed = false;
  readonly sharedEncoding: SharedEncoding | undefined;

  constructor(role: Role, agreement: DeflateAgreement, options: PerMessageDeflateOptions) {
    const server = role === 'server';
    this.deflateTakeover = !(server ? agreement.serverNoContextTakeover : agreement.clientNoContextTakeover);
    this.inflateTakeover = !(server ? agreement.clientNoContextTakeover : agreement.serverNoContextTakeover);
    this.deflateParams = {
      windowBits: server ? agreement.serverMaxWindowBits : agreement.clientMaxWindowBits,
      level: options.zlibDeflateOptions?.level ?? DEFLATE_DEFAULTS.level,
      memLevel: options.zlibDeflateOptions?.memLevel ?? DEFLATE_DEFAULTS.memLevel,
      strategy: options.zlibDeflateOptions?.strategy ?? constants.Z_DEFAULT_STRATEGY,
      chunkSize: options.zlibDeflateOptions?.chunkSize,
    };
    this.inflateBits = server ? agreement.clientMaxWindowBits : agreement.serverMaxWindowBits;
    this.inflateChunkSize = options.zlibInflateOptions?.chunkSize;
    this.threshold = options.threshold ?? DEFLATE_DEFAULTS.threshold;
    this.limiter = sharedLimiter(options.concurrencyLimit ?? DEFLATE_DEFAULTS.concurrencyLimit);
    this.sharedEncoding = this.deflateTakeover ? undefined : sharedDeflate(this.deflateParams);
  }

  shouldEncode(byteLength: number): boolean {
    return byteLength >= this.threshold;
  }

  decode(payload: Buffer[], maxPayload: number, done: DecodeCallback): void {
    let size = TRAILER.length;
    for (const chunk of payload) size += chunk.length;
    // A small message goes to zlib as one buffer, trailer included, whichever path inflates it.
    const whole = size <= SYNC_ZLIB_LIMIT ? concatWithTrailer(payload, size) : null;
    if (whole !== null && !this.inflateTakeover && !this.disposed && this.decodeSync(whole, maxPayload, done)) return;
    this.limiter.run((release) => {
      if (this.disposed) return release();
      let stream: InflateRaw;
      if (this.inflateTakeover) {
        stream = this.inflater ??= createInflater(this.inflateBits, this.inflateChunkSize);
        this.inflaterBusy = true;
      } else {
        stream = borrowInflater(POOLED_INFLATE_BITS, this.inflateChunkSize);
      }
      const out: Buffer[] = [];
      let total = 0;
      let finished = false;
      const finish = (error: ProtocolError | null) => {
        if (finished) return;
        finished = true;
        stream.removeListener('data', onData);
        stream.removeListener('error', onError);
        if (this.inflateTakeover) {
          this.inflaterBusy = false;
          // A block with BFINAL set ends zlib's stream: it would ignore all later
          // input, so the next message starts with a fresh inflater (as ws does).
          if (error !== null || this.disposed || stream.readableEnded) {
            stream.close();
            this.inflater = null;
          }
        } else if (error !== null) {
          stream.close(); // a stream that failed mid-message is not reusable
        } else {
          returnInflater(POOLED_INFLATE_BITS, this.inflateChunkSize, stream);
        }
        release();
        if (this.disposed) return;
        if (error !== null) done(error);
        else done(null, out.length === 1 ? out[0]! : Buffer.concat(out, total));
      };
      const onData = (chunk: Buffer) => {
        total += chunk.length;
        if (maxPayload > 0 && total > maxPayload) {
          finish(new ProtocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', CloseCode.MessageTooBig, `Decompressed message exceeds maxPayload (${maxPayload} bytes)`));
          return;
        }
        out.push(chunk);
      };
      const onError = (error: Error) => {
        finish(new ProtocolError('WS_ERR_INVALID_COMPRESSED_DATA', CloseCode.InvalidFramePayloadData, `Invalid compressed data: ${error.message}`, { cause: error }));
      };
      stream.on('data', onData);
      stream.on('error', onError);
      // Each write is a sync flush (see zlib-pool.ts); a write's callback runs
      // once its output was pushed. Small messages go in one write. Larger ones
      // go in pieces of INFLATE_PIECE bytes counted from the message's start,
      // one at a time, whatever pieces the message arrived in: zlib keeps no
      // output of an inflate call that fails, so how much of a corrupt message
      // inflates before its error (and so 1009 or 1007, with maxPayload in
      // between) depends on where writes begin and end. It must not depend on
      // how the peer's bytes were split by the network. Nothing more is
      // written once the message failed.
      if (whole !== null) {
        stream.write(whole, () => finish(drain(stream)));
        return;
      }
      const pieces = new EvenPieces(payload, INFLATE_PIECE);
      const next = (): void => {
        if (finished) return;
        drain(stream);
        const piece = pieces.next();
        if (piece === null) stream.write(TRAILER, () => finish(drain(stream)));
        else stream.write(piece, next);
      };
      next();
    });
  }

  /**
   * The synchronous fast path for a small message (see SYNC_ZLIB_LIMIT),
   * given as one buffer with its trailer. Returns false, having called
   * nothing, when the message must go the asynchronous way: an output above
   * the limit that maxPayload still allows.
   */
  private decodeSync(input: Buffer, maxPayload: number, done: DecodeCallback): boolean {
    const limit = maxPayload > 0 && maxPayload < SYNC_ZLIB_LIMIT ? maxPayload : SYNC_ZLIB_LIMIT;
    let data: Buffer;
    try {
      data = inflateRawSync(input, { ...SYNC_INFLATE_OPTIONS, maxOutputLength: limit });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        if (limit !== maxPayload) return false; // larger than the fast path takes, but allowed: inflate asynchronously
        done(new ProtocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', CloseCode.MessageTooBig, `Decompressed message exceeds maxPayload (${maxPayload} bytes)`));
        return true;
      }
      done(new ProtocolError('WS_ERR_INVALID_COMPRESSED_DATA', CloseCode.InvalidFramePayloadData, `Invalid compressed data: ${(error as Error).message}`, { cause: error }));
      return true;
    }
    done(null, data);
    return true;
  }

  encode(payload: Buffer, fin: boolean, done: EncodeCallback): void {
    if (payload.length === 0 && this.deflater === null) {
      // An empty message is one empty stored block (RFC 7692 7.2.3.6); zlib
      // would emit nothing at all for an empty sync flush right after another.
      done(null, fin ? EMPTY_BLOCK : Buffer.alloc(0));
      return;
    }
    // Synchronous fast path: a whole small message without context takeover
    // (the shared encoder is deflateRawSync with these parameters).
    if (fin && this.deflater === null && payload.length <= SYNC_ZLIB_LIMIT && this.sharedEncoding !== undefined) {
      if (!this.disposed) done(null, this.sharedEncoding.encode(payload));
      return;
    }
    this.limiter.run((release) => {
      if (this.disposed) return release();
      const stream = (this.deflater ??= this.deflateTakeover ? createDeflater(this.deflateParams) : borrowDeflater(this.deflateParams));
      this.deflaterBusy = true;
      const out: Buffer[] = [];
      let total = 0;
      const onData = (chunk: Buffer) => {
        out.push(chunk);
        total += chunk.length;
      };
      stream.on('data', onData);
      stream.write(payload, () => {
        drain(stream);
        stream.removeListener('data', onData);
        this.deflaterBusy = false;
        let data = out.length === 1 ? out[0]! : Buffer.concat(out, total);
        if (fin) {
          // RFC 7692 7.2.1: drop the 00 00 ff ff that ends a sync flush.
          data = stripTrailer(data, !this.deflateTakeover);
          // Nothing new since the last flush: end the message with an empty stored block.
          if (data.length === 0) data = EMPTY_BLOCK;
          if (!this.deflateTakeover) {
            this.deflater = null;
            returnDeflater(this.deflateParams, stream);
          }
        }
        if (this.disposed && this.deflater !== null) {
          this.deflater.close();
          this.deflater = null;
        }
        release();
        if (!this.disposed) done(null, data);
      });
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Streams busy in the thread pool are closed when their operation ends.
    if (this.inflater !== null && !this.inflaterBusy) {
      this.inflater.close();
      this.inflater = null;
    }
    if (this.deflater !== null && !this.deflaterBusy) {
      this.deflater.close();
      this.deflater = null;
    }
  }
}

/** Bytes of a large received message handed to zlib per write (see decode). */
const INFLATE_PIECE = 64 * 1024;

/**
 * A message's bytes, given as the chunks it arrived in, handed out in pieces
 * of `size` bytes (the last one shorter): a view when a piece lies within one
 * chunk, a copy when it spans several.
 */
class EvenPieces {
  private chunk = 0;
  private offset = 0;

  constructor(
    private readonly chunks: Buffer[],
    private readonly size: number,
  ) {}

  next(): Buffer | null {
    const chunks = this.chunks;
    while (this.chunk < chunks.length && this.offset === chunks[this.chunk]!.length) {
      this.chunk++;
      this.offset = 0;
    }
    if (this.chunk === chunks.length) return null;
    const first = chunks[this.chunk]!;
    if (first.length - this.offset >= this.size) {
      this.offset += this.size;
      return first.subarray(this.offset - this.size, this.offset);
    }
    let left = 0;
    for (let i = this.chunk; i < chunks.length && left < this.size; i++) left += chunks[i]!.length - (i === this.chunk ? this.offset : 0);
    const piece = Buffer.allocUnsafe(Math.min(this.size, left));
    let at = 0;
    while (at < piece.length) {
      const chunk = chunks[this.chunk]!;
      const n = chunk.copy(piece, at, this.offset, Math.min(chunk.length, this.offset + piece.length - at));
      at += n;
      this.offset += n;
      if (this.offset === chunk.length) {
        this.chunk++;
        this.offset = 0;
      }
    }
    return piece;
  }
}

/** An empty stored block as a sync flush ends it: a byte-aligned header, LEN 0, NLEN 0xffff. */
const EMPTY_STORED = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/**
 * RFC 7692 7.2.1: a message's compressed data ends without the 00 00 ff ff
 * of its last sync flush.
 *
 * `dropRepeat`, for messages that stand alone (no context takeover): zlib
 * repeats the flush marker when a flush ends exactly where its output buffer
 * does (zlib.h: "make sure that avail_out is greater than six to avoid
 * repeated flush markers"), and Node's output buffer keeps its offset from
 * the stream's earlier output, so whether a message got the repeat depended
 * on what a pooled stream had compressed before. The repeat is an empty
 * stored block, which inflates to nothing: dropped, a message compresses to
 * the same bytes every time. A stream kept across messages (context
 * takeover) is the connection's own and its next message continues it: its
 * bytes are left as zlib made them.
 */
function stripTrailer(data: Buffer, dropRepeat: boolean): Buffer {
  let end = data.length;
  if (end < 4 || !data.subarray(end - 4).equals(TRAILER)) return data;
  while (dropRepeat && end >= 9 && data.subarray(end - 5, end).equals(EMPTY_STORED) && data.subarray(end - 9, end - 5).equals(TRAILER)) end -= 5;
  return data.subarray(0, end - 4);
}

/** The message's chunks and the 00 00 ff ff trailer (RFC 7692 7.2.2) in one buffer. */
function concatWithTrailer(payload: Buffer[], size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const chunk of payload) offset += chunk.copy(out, offset);
  TRAILER.copy(out, offset);
  return out;
}

/**
 * A write's callback can run before its output was emitted: a stream's
 * first output is buffered and only flows on the next tick. Reading what is
 * buffered emits it now, to the 'data' listener of the message it belongs to.
 */
function drain(stream: DeflateRaw | InflateRaw): null {
  while (stream.readableLength > 0 && stream.read() !== null);
  return null;
}

const sharedEncodings = new Map<string, SharedEncoding>();

/** Without context takeover, equal parameters give equal output: one encoder per parameter set. */
function sharedDeflate(p: DeflateParamsKey): SharedEncoding {
  const key = `permessage-deflate/${p.windowBits}/${p.level}/${p.memLevel}/${p.strategy}`;
  let shared = sharedEncodings.get(key);
  if (shared === undefined) {
    const zlibOptions = {
      windowBits: deflateWindowBits(p.windowBits),
      level: p.level,
      memLevel: p.memLevel,
      strategy: p.strategy,
      finishFlush: constants.Z_SYNC_FLUSH,
    };
    shared = {
      key,
      encode(payload: Buffer): Buffer {
        const out = deflateRawSync(payload, zlibOptions);
        return stripTrailer(out, true);
      },
    };
    sharedEncodings.set(key, shared);
  }
  return shared;
}
