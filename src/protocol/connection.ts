/**
 * The WebSocket connection state machine (RFC 6455 sections 5 and 7), with no
 * I/O: bytes in through receiveData/receiveEof, events out through the
 * ConnectionHandler; calls in (send, ping, close...), bytes out through the
 * ConnectionOutput. No sockets, timers or clocks: the binding that owns the
 * byte stream (src/node) runs those.
 *
 * Owns: validation of every frame against the connection's context
 * (opcodes, RSV bits, masking direction, fragmentation, control frames,
 * limits), message reassembly, UTF-8 checks, the close handshake and failing
 * the connection with the right close code. Does not own: the opening
 * handshake (src/handshake) or what happens to the transport afterwards.
 */
import { CloseCode, MAX_CLOSE_REASON_BYTES, isValidWireCloseCode } from './close-code.js';
import { ProtocolError, protocolError } from './errors.js';
import type { MessageTransform } from './extension.js';
import { encodeFrameParts, encodeStringFrame, encodeFrame } from './frame-encoder.js';
import { FrameParser, type FrameHeader, type FrameSink } from './frame-parser.js';
import { randomMaskKey, type MaskKeySource } from './mask-key.js';
import { MessageBuffer } from './message-buffer.js';
import { Opcode, isControlOpcode, isKnownOpcode } from './opcode.js';
import { SendQueue, writeFrames } from './send-queue.js';
import { Utf8Validator, isValidUtf8 } from './utf8-validator.js';

export type Role = 'server' | 'client';

/** Where the connection's life stands (tungstenite-style, no scattered booleans). */
export const ConnectionState = {
  /** Data flows both ways. */
  Open: 'open',
  /** We sent a Close frame and wait for the peer's. Incoming data is still delivered. */
  ClosingByUs: 'closing',
  /** Close frames went both ways, or the connection failed: the transport should close. */
  Closed: 'closed',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;

export interface ConnectionOptions {
  role: Role;
  /** Largest message accepted, after reassembly; 0 means no limit. Default 100 MiB. */
  maxPayload?: number;
  /** Split outgoing messages into frames of at most this many bytes; 0 (default) never splits. */
  fragmentSize?: number;
  /** Answer pings with pongs automatically (default true). */
  autoPong?: boolean;
  /** Skip UTF-8 validation of incoming text (default false: validate). */
  skipUtf8Validation?: boolean;
  /** Source of client masking keys (default: crypto-random). Tests inject fixed keys. */
  maskKeySource?: MaskKeySource;
  /** The negotiated extension (e.g. permessage-deflate), owner of RSV1. */
  extension?: MessageTransform | null;
}

/** What the connection tells its owner. Called synchronously from receiveData. */
export interface ConnectionHandler {
  /** A complete message: one Buffer, or its pieces when `deliverFragments` is set. */
  onMessage(data: Buffer | Buffer[], isBinary: boolean): void;
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /** The peer's Close frame (code 1005 when it carried none). */
  onCloseFrame(code: number, reason: Buffer): void;
  /** Peer input broke the protocol: a Close frame with error.closeCode was sent. */
  onFail(error: ProtocolError): void;
}

/** Where the connection's bytes go. */
export interface ConnectionOutput {
  write(data: Buffer, cb?: (error?: Error | null) => void): void;
  /**
   * The close handshake finished (or the connection failed): close the byte
   * stream. A server does it at once; a client may wait for the server's FIN.
   */
  closeTransport(): void;
  /** Is the outgoing buffer above its high-water mark? (auto-pongs are coalesced then) */
  isCongested?(): boolean;
  /** Input is held while an extension decodes a message: stop reading for now. */
  pauseInput?(): void;
  /** Held input has been processed: reading may go on. */
  resumeInput?(): void;
}

export interface SendOptions {
  /** Last frame of the message (default true). false starts or continues a fragmented message. */
  fin?: boolean;
  /** Override masking (default: clients mask, servers do not). Breaking the RFC is for tests only. */
  mask?: boolean | undefined;
  /** Let the extension compress this message (default true; it still applies its threshold). */
  compress?: boolean | undefined;
}

export type WriteCallback = (error?: Error | null) => void;

const EMPTY: Buffer = Buffer.alloc(0);
/** Messages from this size on may be received into their final buffer (useDirectBuffer); up to 2 GiB. */
const DIRECT_MIN = 8 * 1024;
const DIRECT_MAX = 0x7fffffff;

export class Connection implements FrameSink {
  declare readonly role: Role;
  state: ConnectionState = ConnectionState.Open;
  /** Deliver messages as Buffer[] (ws binaryType 'fragments') instead of one Buffer. */
  deliverFragments = false;
  maxPayload: number;
  declare readonly fragmentSize: number;
  declare readonly autoPong: boolean;
  declare readonly skipUtf8Validation: boolean;
  /** Close code and reason we sent, if any. */
  declare closeSent: { code: number; reason: Buffer } | null;
  /** Close code and reason the peer sent, if any (1005 when none). */
  declare closeReceived: { code: number; reason: Buffer } | null;
  /** The error that failed the connection, if it failed. */
  declare failure: ProtocolError | null;

  /** Created with the first bytes received: a connection that never reads carries none. */
  private parser: FrameParser | null = null;
  private declare readonly maskKeySource: MaskKeySource | null;
  // Created on first use: an idle connection should cost as little as possible.
  private declare utf8Validator: Utf8Validator | null;
  private declare messageBuffer: MessageBuffer | null;
  /** The negotiated extension's transform, if any. */
  declare readonly extension: MessageTransform | null;
  /** Only exists once an extension transformed a message (frames must then wait their turn). */
  private declare sendQueue: SendQueue | null;

  // Incoming message in progress (data frames).
  private inMessage = false;
  private messageOpcode = 0;
  /** Payload of a message that arrived as one whole piece: delivered without copy. */
  private single: Buffer | null = null;
  /** The large message's own buffer, which the parser fills directly (see useDirectBuffer). */
  private declare direct: Buffer | null;
  private validateText = false;
  /** The message in progress had RSV1: the extension decodes it when complete. */
  private declare compressed: boolean;
  /** Input held while the extension decodes (RFC order must be kept). */
  private declare inputPaused: boolean;
  private declare heldInput: Buffer[] | null;
  private declare settledCallback: (() => void) | null;
  private declare eofReceived: boolean;
  // Control frame in progress (between its header and its end, and only then, non-null).
  private control: Buffer | null = null;
  private controlUsed = 0;

  // Outgoing fragmented message in progress.
  private sendingFragmented = false;
  /** The outgoing fragmented message is being compressed. */
  private declare sendingCompressed: boolean;
  private declare transportCloseRequested: boolean;
  private declare pendingPong: Buffer | null;

  constructor(
    options: ConnectionOptions,
    private readonly handler: ConnectionHandler,
    private readonly output: ConnectionOutput,
  ) {
    // Settings equal to the defaults (on the prototype, below) are not stored per connection.
    if (options.role !== 'server') this.role = options.role;
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    if (options.fragmentSize !== undefined && options.fragmentSize !== 0) this.fragmentSize = options.fragmentSize;
    if (options.autoPong === false) this.autoPong = false;
    if (options.skipUtf8Validation === true) this.skipUtf8Validation = true;
    // Rarely used state lives on the prototype (below) until set: an idle
    // server connection should carry as few own fields as possible.
    if (options.role === 'client') this.maskKeySource = options.maskKeySource ?? randomMaskKey;
    if (options.extension != null) this.extension = options.extension;
  }

  private get utf8(): Utf8Validator {
    return (this.utf8Validator ??= new Utf8Validator());
  }

  private get message(): MessageBuffer {
    return (this.messageBuffer ??= new MessageBuffer());
  }

  private get messageLength(): number {
    return this.messageBuffer === null ? 0 : this.messageBuffer.length;
  }

  /** Write frames now, or queue them behind a message still being transformed. */
  private pushFrames(frames: Buffer[], cb?: WriteCallback): void {
    if (this.sendQueue !== null) this.sendQueue.push(frames, cb);
    else writeFrames(this.output, frames, cb);
  }

  // ---------------------------------------------------------------- input

  /** Feed bytes from the peer. Events are dispatched before this returns. */
  receiveData(chunk: Buffer): void {
    // Closed covers the peer's Close, a failure, abort() and EOF: nothing more is read.
    if (this.state === ConnectionState.Closed) return;
    if (this.inputPaused) {
      (this.heldInput ??= []).push(chunk);
      return;
    }
    this.consume(chunk);
  }

  private consume(chunk: Buffer): void {
    const stopped = (this.parser ??= new FrameParser(this)).push(chunk, 0);
    // Paused for a decode: keep the rest of the chunk, in order, for later.
    if (this.inputPaused && stopped < chunk.length && this.state !== ConnectionState.Closed) {
      (this.heldInput ??= []).push(chunk.subarray(stopped));
    }
  }

  /**
   * The peer closed its side of the byte stream. Returns true when that ends
   * a completed close handshake, false when the connection dropped (1006).
   */
  receiveEof(): boolean {
    const clean = this.closeHandshakeDone;
    // Input held for a decode is still processed; the state closes after it.
    if (this.inputPaused) this.eofReceived = true;
    else this.state = ConnectionState.Closed;
    return clean;
  }

  onFrameHeader(h: FrameHeader): boolean {
    const op = h.opcode;
    if (!isKnownOpcode(op)) return this.fail(protocolError('WS_ERR_INVALID_OPCODE', `Invalid opcode ${op}`));
    if (h.rsv2 || h.rsv3) return this.fail(protocolError('WS_ERR_UNEXPECTED_RSV_2_3', 'RSV2 and RSV3 must be clear'));
    if (h.masked !== (this.role === 'server')) {
      return this.role === 'server'
        ? this.fail(protocolError('WS_ERR_EXPECTED_MASK', 'Client frames must be masked'))
        : this.fail(protocolError('WS_ERR_UNEXPECTED_MASK', 'Server frames must not be masked'));
    }
    if (isControlOpcode(op)) {
      if (!h.fin) return this.fail(protocolError('WS_ERR_EXPECTED_FIN', 'Control frames must not be fragmented'));
      if (h.payloadLength > 125) {
        return this.fail(protocolError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', `Control frame payload of ${h.payloadLength} bytes exceeds 125`));
      }
      if (h.rsv1) return this.fail(protocolError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear on control frames'));
      this.control = h.payloadLength === 0 ? EMPTY : Buffer.allocUnsafe(h.payloadLength);
      this.controlUsed = 0;
      return true;
    }
    if (op === Opcode.Continuation) {
      if (!this.inMessage) return this.fail(protocolError('WS_ERR_UNEXPECTED_CONTINUATION', 'Continuation frame without a message to continue'));
      if (h.rsv1) return this.fail(protocolError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear on continuation frames'));
    } else {
      if (this.inMessage) return this.fail(protocolError('WS_ERR_EXPECTED_CONTINUATION', 'New data frame while a fragmented message is open'));
      if (h.rsv1 && this.extension === null) return this.fail(protocolError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear: no extension negotiated it'));
      this.inMessage = true;
      this.messageOpcode = op;
      if (this.compressed !== h.rsv1) this.compressed = h.rsv1;
      // Compressed text is validated once decoded.
      this.validateText = op === Opcode.Text && !this.skipUtf8Validation && !h.rsv1;
      if (this.validateText) this.utf8.reset();
    }
    // Compressed bytes are bounded too (DEFLATE may expand a little: allow 1/64 + 1 KiB).
    const limit = this.compressed ? this.maxPayload + (this.maxPayload >>> 6) + 1024 : this.maxPayload;
    if (this.maxPayload > 0 && this.messageLength + h.payloadLength > limit) {
      return this.fail(
        new ProtocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', CloseCode.MessageTooBig, `Message exceeds maxPayload (${this.maxPayload} bytes)`),
      );
    }
    return true;
  }

  onFramePayload(piece: Buffer): boolean {
    if (this.control !== null) {
      piece.copy(this.control, this.controlUsed);
      this.controlUsed += piece.length;
      return true;
    }
    if (this.validateText && !this.utf8.feed(piece)) {
      return this.fail(new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidFramePayloadData, 'Invalid UTF-8 in text message'));
    }
    if (this.direct !== null) return true; // the parser put it in place already
    const parser = this.parser!;
    if (parser.fin && this.messageLength === 0 && this.single === null && piece.length === parser.payloadLength) {
      this.single = piece; // the whole message in one piece: no copy
    } else {
      if (this.single !== null) {
        this.message.append(this.single);
        this.single = null;
      }
      this.message.append(piece);
      if (parser.fin && !this.compressed && !this.deliverFragments) this.useDirectBuffer(parser);
    }
    return true;
  }

  /**
   * In the last frame of a large message the total size is known: once a
   * quarter of it has arrived (so memory stays within 4x of what the peer
   * really sent), allocate the message's final buffer, copy what arrived, and
   * have the parser unmask the rest straight into it. The reassembly then
   * copies only that first part instead of the whole message.
   */
  private useDirectBuffer(parser: FrameParser): void {
    const remaining = parser.payloadRemaining;
    const received = this.messageBuffer!.length;
    const total = received + remaining;
    if (remaining === 0 || total < DIRECT_MIN || total > DIRECT_MAX || received * 4 < total) return;
    const target = Buffer.allocUnsafe(total);
    let at = 0;
    for (const chunk of this.messageBuffer!.takeChunks()) {
      target.set(chunk, at);
      at += chunk.length;
    }
    this.direct = target;
    parser.redirectPayload(target, at);
  }

  onFrameEnd(): boolean {
    if (this.control !== null) {
      const payload = this.control;
      this.control = null;
      return this.handleControl(this.parser!.opcode, payload);
    }
    if (!this.parser!.fin) return true;
    if (this.validateText && !this.utf8.isComplete()) {
      return this.fail(new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidFramePayloadData, 'Text message ends inside a UTF-8 sequence'));
    }
    const isBinary = this.messageOpcode === Opcode.Binary;
    if (this.compressed) return this.decodeMessage(isBinary);
    let data: Buffer | Buffer[];
    if (this.direct !== null) {
      data = this.deliverFragments ? [this.direct] : this.direct; // binaryType may have changed meanwhile
      this.direct = null;
    } else if (this.single !== null) {
      data = this.deliverFragments ? [this.single] : this.single;
      this.single = null;
    } else if (this.deliverFragments) {
      data = this.message.takeChunks();
    } else {
      data = this.messageLength === 0 ? EMPTY : this.message.take();
    }
    this.inMessage = false;
    this.handler.onMessage(data, isBinary);
    // The handler may have aborted the connection: then stop parsing this chunk.
    return this.state !== ConnectionState.Closed;
  }

  onFrameError(error: ProtocolError): void {
    this.fail(error);
  }

  /**
   * Hand a complete compressed message to the extension. Input is held until
   * it is decoded so that messages and control frames keep their order.
   * Returns whether parsing may go on at once (the decode finished synchronously).
   */
  private decodeMessage(isBinary: boolean): boolean {
    const chunks = this.single !== null ? [this.single] : this.message.takeChunks();
    this.single = null;
    this.inMessage = false;
    this.compressed = false;
    this.inputPaused = true;
    let synchronous = true;
    this.extension!.decode(chunks, this.maxPayload, (error, data) => {
      if (this.state === ConnectionState.Closed && this.failure === null && this.closeReceived === null) return; // aborted
      this.inputPaused = false;
      if (error !== null) {
        this.fail(error);
      } else if (!isBinary && !this.skipUtf8Validation && !isValidUtf8(data!)) {
        this.fail(new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidFramePayloadData, 'Invalid UTF-8 in text message'));
      } else {
        this.handler.onMessage(this.deliverFragments ? [data!] : data!, isBinary);
      }
      if (!synchronous) this.releaseHeldInput();
    });
    synchronous = false;
    if (this.inputPaused) this.output.pauseInput?.();
    return !this.inputPaused && this.state !== ConnectionState.Closed;
  }

  private releaseHeldInput(): void {
    const held = this.heldInput;
    while (held !== null && !this.inputPaused && held.length > 0 && this.state !== ConnectionState.Closed) {
      this.consume(held.shift()!);
    }
    if (this.state === ConnectionState.Closed) this.heldInput = null;
    if (this.inputPaused) return;
    if (this.eofReceived) this.state = ConnectionState.Closed;
    else this.output.resumeInput?.();
    const settled = this.settledCallback;
    this.settledCallback = null;
    settled?.();
  }

  /**
   * Run `fn` once no received input is held for a decode in progress (at once
   * if none is). The binding waits for this before reporting a closed
   * transport, so no message the peer sent is lost to a late decode.
   */
  whenInputSettled(fn: () => void): void {
    if (!this.inputPaused || this.state === ConnectionState.Closed) fn();
    else this.settledCallback = fn;
  }

  private handleControl(opcode: number, payload: Buffer): boolean {
    if (opcode === Opcode.Ping) {
      if (this.autoPong && this.closeSent === null) {
        if (this.output.isCongested?.()) this.pendingPong = payload;
        else {
          // This pong answers the latest ping: a held older one would only arrive stale after it.
          if (this.pendingPong !== null) this.pendingPong = null;
          this.writeControl(Opcode.Pong, payload);
        }
      }
      this.handler.onPing(payload);
      return this.state !== ConnectionState.Closed;
    }
    if (opcode === Opcode.Pong) {
      this.handler.onPong(payload);
      return this.state !== ConnectionState.Closed;
    }
    // Close
    let code: number = CloseCode.NoStatusReceived;
    let reason = EMPTY;
    if (payload.length === 1) return this.fail(protocolError('WS_ERR_INVALID_CLOSE_PAYLOAD', 'Close frame payload of 1 byte'));
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!isValidWireCloseCode(code)) return this.fail(protocolError('WS_ERR_INVALID_CLOSE_CODE', `Invalid close code ${code}`));
      reason = payload.subarray(2);
      if (!this.skipUtf8Validation && !isValidUtf8(reason)) {
        return this.fail(new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidFramePayloadData, 'Close reason is not valid UTF-8'));
      }
    }
    this.closeReceived = { code, reason };
    this.dropMessage();
    this.inMessage = false;
    if (this.closeSent === null) {
      // Echo the code and reason, as ws and Chromium do: a browser's CloseEvent
      // reports the reason from our echo, so dropping it loses the page's own reason.
      this.writeClose(code === CloseCode.NoStatusReceived ? undefined : code, reason);
    }
    this.state = ConnectionState.Closed;
    this.handler.onCloseFrame(code, reason);
    this.requestCloseTransport();
    return false;
  }

  /**
   * _Fail the WebSocket Connection_ (RFC 6455 section 7.1.7): send a Close
   * frame with the error's code (unless one was sent), stop reading, and have
   * the transport closed. Returns false so parsing stops.
   */
  private fail(error: ProtocolError): false {
    if (this.failure !== null || this.closeReceived !== null) return false;
    this.failure = error;
    this.dropMessage();
    this.control = null;
    if (this.closeSent === null) this.writeClose(error.closeCode, truncateReason(error.message));
    this.state = ConnectionState.Closed;
    this.heldInput = null;
    this.handler.onFail(error);
    this.requestCloseTransport();
    return false;
  }

  /** Close the transport once every queued frame (the Close frame last) is written. */
  private requestCloseTransport(): void {
    if (this.transportCloseRequested) return;
    this.transportCloseRequested = true;
    if (this.sendQueue === null) this.output.closeTransport();
    else this.sendQueue.whenIdle(() => this.output.closeTransport());
  }

  // --------------------------------------------------------------- output

  /** Did Close frames go both ways? (the closing handshake is complete: a clean close) */
  get closeHandshakeDone(): boolean {
    return this.closeSent !== null && this.closeReceived !== null;
  }

  /** Can application data still be sent? (not after our Close frame) */
  get canSend(): boolean {
    return this.closeSent === null && this.state !== ConnectionState.Closed;
  }

  /**
   * Send a message (or, with fin: false, one fragment of it). Returns false,
   * writing nothing, once a Close frame was sent or the connection closed.
   */
  send(data: Buffer | string, isBinary: boolean, options?: SendOptions, cb?: WriteCallback): boolean {
    if (!this.canSend) return false;
    const fin = options?.fin ?? true;
    const mask = options?.mask;
    const first = !this.sendingFragmented;
    const opcode = first ? (isBinary ? Opcode.Binary : Opcode.Text) : Opcode.Continuation;
    this.sendingFragmented = !fin;
    if (first) {
      // The byte length is only needed to ask the extension (the encoder measures strings itself).
      const compress =
        this.extension !== null &&
        options?.compress !== false &&
        this.extension.shouldEncode(typeof data === 'string' ? Buffer.byteLength(data) : data.length);
      if (this.sendingCompressed !== compress) this.sendingCompressed = compress;
    }
    if (this.sendingCompressed) {
      this.sendTransformed(opcode, typeof data === 'string' ? Buffer.from(data) : data, first, fin, mask, cb);
      return true;
    }
    const size = this.fragmentSize;
    if (size > 0 && (typeof data === 'string' ? data.length * 3 > size : data.length > size)) {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      if (bytes.length > size) {
        this.pushFrames(this.buildFrames(opcode, bytes, false, fin, mask), cb);
        return true;
      }
      data = bytes;
    }
    if (typeof data === 'string') {
      this.pushFrames([encodeStringFrame(opcode, data, { fin, rsv1: false, maskKey: this.nextMaskKey(mask) })], cb);
    } else {
      this.pushFrames(encodeFrameParts(opcode, data, { fin, rsv1: false, maskKey: this.nextMaskKey(mask) }), cb);
    }
    return true;
  }

  /** Send through the extension: frames are built when its output is ready, in order. */
  private sendTransformed(opcode: number, payload: Buffer, first: boolean, fin: boolean, mask: boolean | undefined, cb?: WriteCallback): void {
    const extension = this.extension!;
    this.ensureSendQueue().pushTransform((finish) => {
      extension.encode(payload, fin, (error, encoded) => {
        if (error !== null) return finish(error);
        finish(null, this.buildFrames(opcode, encoded!, first, fin, mask));
      });
    }, cb);
  }

  private ensureSendQueue(): SendQueue {
    return (this.sendQueue ??= new SendQueue(this.output));
  }

  /** Frames for one encoded payload: RSV1 only on a message's first frame; fragmentSize applies. */
  private buildFrames(opcode: number, bytes: Buffer, rsv1: boolean, fin: boolean, mask: boolean | undefined): Buffer[] {
    const size = this.fragmentSize;
    if (size === 0 || bytes.length <= size) {
      return encodeFrameParts(opcode, bytes, { fin, rsv1, maskKey: this.nextMaskKey(mask) });
    }
    const frames: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += size) {
      const last = offset + size >= bytes.length;
      frames.push(
        ...encodeFrameParts(offset === 0 ? opcode : Opcode.Continuation, bytes.subarray(offset, Math.min(offset + size, bytes.length)), {
          fin: last && fin,
          rsv1: offset === 0 && rsv1,
          maskKey: this.nextMaskKey(mask),
        }),
      );
    }
    return frames;
  }

  /**
   * Write frames encoded beforehand (e.g. one publish written to many
   * subscribers). Server side only: client frames need a fresh mask each.
   * Refused (false) after Close, or while our own fragmented message is open.
   */
  sendEncoded(frames: Buffer, cb?: WriteCallback): boolean {
    if (!this.canSend || this.sendingFragmented) return false;
    if (this.role !== 'server') throw new Error('Pre-encoded frames can only be sent by a server');
    this.pushFrames([frames], cb);
    return true;
  }

  ping(payload: Buffer = EMPTY, cb?: WriteCallback): boolean {
    checkControlPayload(payload);
    if (!this.canSend) return false;
    this.writeControl(Opcode.Ping, payload, cb);
    return true;
  }

  pong(payload: Buffer = EMPTY, cb?: WriteCallback): boolean {
    checkControlPayload(payload);
    if (!this.canSend) return false;
    this.writeControl(Opcode.Pong, payload, cb);
    return true;
  }

  /** Send the latest pong that was held back while the output was congested. */
  flushPendingPong(): void {
    const payload = this.pendingPong;
    if (payload === null) return;
    this.pendingPong = null;
    if (this.canSend) this.writeControl(Opcode.Pong, payload);
  }

  /**
   * Start the closing handshake (or finish it if the peer started). Invalid
   * codes and over-long reasons throw, as in ws; a second call does nothing.
   */
  close(code?: number, reason: string | Buffer = EMPTY, cb?: WriteCallback): void {
    if (code !== undefined && (typeof code !== 'number' || !isValidWireCloseCode(code))) {
      throw new TypeError('First argument must be a valid error code number');
    }
    const reasonBytes = typeof reason === 'string' ? Buffer.from(reason) : reason;
    if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) throw new RangeError('The message must not be greater than 123 bytes');
    if (code === undefined && reasonBytes.length > 0) throw new TypeError('A close reason needs a close code');
    if (this.closeSent !== null || this.state === ConnectionState.Closed) return;
    this.writeClose(code, reasonBytes, cb);
    this.state = ConnectionState.ClosingByUs;
  }

  /** Forget the incoming message in progress, and release its memory. */
  private dropMessage(): void {
    this.single = null;
    this.messageBuffer?.reset();
    if (this.direct !== null) {
      this.direct = null;
      this.parser!.redirectPayload(null, 0);
    }
  }

  /** Stop everything at once (terminate): no more input is read, nothing is sent. */
  abort(): void {
    this.state = ConnectionState.Closed;
    this.heldInput = null;
    this.inputPaused = false;
    this.settledCallback = null;
    this.sendQueue?.clear(new Error('The connection was closed'));
    this.extension?.dispose();
    this.dropMessage();
    if (this.closeSent === null) this.closeSent = { code: CloseCode.AbnormalClosure, reason: EMPTY };
  }

  private writeClose(code: number | undefined, reason: Buffer, cb?: WriteCallback): void {
    let payload: Buffer = EMPTY;
    if (code !== undefined) {
      payload = Buffer.allocUnsafe(2 + reason.length);
      payload.writeUInt16BE(code, 0);
      reason.copy(payload, 2);
    }
    this.closeSent = { code: code ?? CloseCode.NoStatusReceived, reason };
    this.sendingFragmented = false;
    this.sendingCompressed = false;
    this.pendingPong = null;
    this.writeControl(Opcode.Close, payload, cb);
  }

  private writeControl(opcode: number, payload: Buffer, cb?: WriteCallback): void {
    this.pushFrames([encodeFrame(opcode, payload, { fin: true, rsv1: false, maskKey: this.nextMaskKey() })], cb);
  }

  private nextMaskKey(mask?: boolean): Uint8Array | null {
    if (mask === undefined) return this.maskKeySource === null ? null : this.maskKeySource();
    return mask ? (this.maskKeySource ?? randomMaskKey)() : null;
  }
}

/** RFC 6455 5.5: control frames carry at most 125 bytes (the same RangeError as ws). */
export function checkControlPayload(payload: Buffer): void {
  if (payload.length > 125) throw new RangeError('The data size must not be greater than 125 bytes');
}

/** Error messages become close reasons: keep them within 123 bytes. */
function truncateReason(message: string): Buffer {
  const bytes = Buffer.from(message);
  return bytes.length <= MAX_CLOSE_REASON_BYTES ? bytes : bytes.subarray(0, MAX_CLOSE_REASON_BYTES);
}

// Defaults of the rarely used fields (see the constructor): shared, not per connection.
for (const [name, value] of Object.entries({
  closeSent: null,
  closeReceived: null,
  failure: null,
  maskKeySource: null,
  utf8Validator: null,
  messageBuffer: null,
  direct: null,
  extension: null,
  sendQueue: null,
  heldInput: null,
  settledCallback: null,
  eofReceived: false,
  transportCloseRequested: false,
  role: 'server',
  fragmentSize: 0,
  autoPong: true,
  skipUtf8Validation: false,
  compressed: false,
  inputPaused: false,
  sendingCompressed: false,
  pendingPong: null,
})) {
  Object.defineProperty(Connection.prototype, name, { value, writable: true, enumerable: false, configurable: true });
}
