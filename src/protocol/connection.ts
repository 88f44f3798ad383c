/**
 * One WebSocket connection without I/O (RFC 6455 sections 5 and 7): bytes in
 * through receiveData/receiveEof, events out through the ConnectionHandler;
 * calls in (send, ping, close...), bytes out through the ConnectionOutput.
 * No sockets, timers or clocks: the driver that owns the byte stream
 * (src/node/driver.ts) runs those.
 *
 * It is the glue between three parts, each in its own module: the Receiver
 * (frame rules, reassembly), the Sender (framing, ordered queue, prepared
 * messages) and the Lifecycle (the one value that says where the connection
 * stands). It owns the decisions that need all three: answering pings,
 * the closing handshake, and failing the connection with the right close code
 * (RFC 6455 7.1.7). Does not own: the opening handshake (src/handshake) or
 * what happens to the transport afterwards.
 */
import { CloseCode, MAX_CLOSE_REASON_BYTES, isValidWireCloseCode } from './close-code.js';
import { ProtocolError, protocolError } from './errors.js';
import type { MessageTransform } from './extension.js';
import { Lifecycle, type CloseFrame } from './lifecycle.js';
import { Opcode } from './opcode.js';
import type { ConnectionSettings } from './options.js';
import { Receiver, type ReceiverOwner } from './receiver.js';
import { Sender, type PreparedMessage, type SendOptions } from './sender.js';
import type { FrameWriter, WriteCallback } from './send-queue.js';
import { isValidUtf8 } from './utf8-validator.js';

/** What the connection tells its owner. Called synchronously from receiveData. */
export interface ConnectionHandler {
  /** A complete message: one Buffer, or its pieces when `deliverFragments` is set. */
  onMessage(data: Buffer | Buffer[], isBinary: boolean): void;
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /** The peer's Close frame (code 1005 when it carried none); ours was sent in answer. */
  onCloseFrame(code: number, reason: Buffer): void;
  /** Peer input broke the protocol: a Close frame with error.closeCode was sent. */
  onFail(error: ProtocolError): void;
}

/** Where the connection's bytes go. */
export interface ConnectionOutput extends FrameWriter {
  /**
   * Frames stopped both ways and the last one (our Close frame) was handed to
   * write(): close the byte stream now if `closesTransportFirst`, else wait
   * for the peer to close it (bounded by a timer of the driver's).
   */
  closeTransport(): void;
  /** Is the outgoing buffer above its high-water mark? (the pong to a ping is held then) */
  isCongested?(): boolean;
  /** Input is held while an extension decodes a message: stop reading for now. */
  pauseInput?(): void;
  /** Held input has been processed: reading may go on. */
  resumeInput?(): void;
}

const EMPTY: Buffer = Buffer.alloc(0);

export class Connection implements ReceiverOwner {
  /** Where the connection stands: read it, never write it (the methods below drive it). */
  readonly lifecycle: Lifecycle = new Lifecycle();
  /** Deliver messages as Buffer[] (ws binaryType 'fragments') instead of one Buffer. */
  deliverFragments = false;
  /** Created with the first bytes received: a connection that never reads carries none. */
  private receiver: Receiver | null = null;
  /** Created with the first frame sent. */
  private sender: Sender | null = null;

  constructor(
    readonly settings: ConnectionSettings,
    private readonly handler: ConnectionHandler,
    private readonly output: ConnectionOutput,
    /** The negotiated extension's transform (e.g. permessage-deflate), owner of RSV1. */
    readonly extension: MessageTransform | null = null,
  ) {}

  private get out(): Sender {
    return (this.sender ??= new Sender(this.output, this.settings, this.extension));
  }

  // ---------------------------------------------------------------- input

  /** Feed bytes from the peer. Events are dispatched before this returns. */
  receiveData(chunk: Buffer): void {
    if (!this.lifecycle.canRead) return;
    (this.receiver ??= new Receiver(this, this.settings, this.extension)).receive(chunk);
  }

  /**
   * The peer closed its side of the byte stream. A message still being
   * decoded is delivered first; the EOF takes effect after it.
   */
  receiveEof(): void {
    if (this.receiver === null || this.receiver.receiveEof()) this.lifecycle.eof();
  }

  /**
   * Run `fn` once no received input is held for a decode in progress (at once
   * if none is). The driver waits for this before reporting a closed
   * transport, so no message the peer sent is lost to a late decode.
   */
  whenInputSettled(fn: () => void): void {
    if (this.receiver === null) fn();
    else this.receiver.whenSettled(fn);
  }

  /** ReceiverOwner */
  get canRead(): boolean {
    return this.lifecycle.canRead;
  }

  /** ReceiverOwner */
  message(data: Buffer | Buffer[], isBinary: boolean): void {
    const counters = this.settings.counters;
    if (counters !== null) counters.messagesIn++;
    this.handler.onMessage(data, isBinary);
  }

  /** ReceiverOwner */
  control(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.Ping) {
      if (this.settings.autoPong && this.lifecycle.canSend) this.out.pong(payload, this.output.isCongested?.() ?? false);
      this.handler.onPing(payload);
    } else if (opcode === Opcode.Pong) {
      this.handler.onPong(payload);
    } else {
      this.receiveClose(payload);
    }
  }

  /** ReceiverOwner: _Fail the WebSocket Connection_ (RFC 6455 7.1.7). */
  violation(error: ProtocolError): void {
    this.fail(error);
  }

  /** ReceiverOwner */
  pauseInput(): void {
    this.output.pauseInput?.();
  }

  /** ReceiverOwner */
  resumeInput(): void {
    this.output.resumeInput?.();
  }

  /** ReceiverOwner */
  heldEof(): void {
    this.lifecycle.eof();
  }

  private receiveClose(payload: Buffer): void {
    if (payload.length === 1) return this.fail(protocolError('WS_ERR_INVALID_CLOSE_PAYLOAD', 'Close frame payload of 1 byte'));
    let code: number = CloseCode.NoStatusReceived;
    let reason = EMPTY;
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!isValidWireCloseCode(code)) return this.fail(protocolError('WS_ERR_INVALID_CLOSE_CODE', `Invalid close code ${code}`));
      reason = payload.subarray(2);
      if (!this.settings.skipUTF8Validation && !isValidUtf8(reason)) {
        return this.fail(new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidFramePayloadData, 'Close reason is not valid UTF-8'));
      }
    }
    this.receiver!.drop();
    if (this.lifecycle.closeSent === null) {
      // Echo the code and reason, as ws and Chromium do: a browser's CloseEvent
      // reports the reason from our echo, so dropping it loses the page's own reason.
      this.writeClose(code === CloseCode.NoStatusReceived ? undefined : code, reason);
    }
    this.lifecycle.receivedClose({ code, reason });
    this.handler.onCloseFrame(code, reason);
    this.requestCloseTransport();
    this.receiver!.flushSettled();
  }

  /**
   * Fail the connection: send a Close frame with the error's code (unless one
   * was sent), stop reading, and have the transport closed.
   */
  private fail(error: ProtocolError): void {
    if (!this.lifecycle.canRead) return;
    this.receiver?.drop();
    if (this.lifecycle.closeSent === null) this.writeClose(error.closeCode, truncateReason(error.message));
    this.lifecycle.failed(error);
    this.handler.onFail(error);
    this.requestCloseTransport();
    // Input held for a decode is dropped: whoever waits for it to settle hears now, the failure recorded.
    this.receiver?.flushSettled();
  }

  /** Close the transport once every queued frame (the Close frame last) is written. */
  private requestCloseTransport(): void {
    if (this.sender === null) this.output.closeTransport();
    else this.sender.whenIdle(() => this.output.closeTransport());
  }

  /** Bytes of messages waiting behind a message being compressed (not yet handed to the output). */
  get queuedBytes(): number {
    return this.sender === null ? 0 : this.sender.queuedBytes;
  }

  /** See Lifecycle.closesTransportFirst. */
  get closesTransportFirst(): boolean {
    return this.lifecycle.closesTransportFirst(this.settings.role);
  }

  // --------------------------------------------------------------- output

  /**
   * Send a message (or, with fin: false, one fragment of it). Returns false,
   * writing nothing, once a Close frame was sent or the connection stopped.
   */
  send(data: Buffer | string, isBinary: boolean, options?: SendOptions, cb?: WriteCallback): boolean {
    if (!this.lifecycle.canSend) return false;
    this.out.message(data, isBinary, options, cb);
    this.countSent(options);
    return true;
  }

  /** Send a message whose bytes arrive later (see Sender.deferred); false once sending stopped. */
  sendDeferred(read: () => Promise<Buffer>, byteLength: number, isBinary: boolean, options?: SendOptions, cb?: WriteCallback): boolean {
    if (!this.lifecycle.canSend) return false;
    this.out.deferred(read, byteLength, isBinary, options, cb);
    this.countSent(options);
    return true;
  }

  /**
   * Write a message encoded beforehand for many connections (server side).
   * Refused (false) after Close, or while our own fragmented message is open.
   */
  sendPrepared(message: PreparedMessage, cb?: WriteCallback): boolean {
    if (!this.lifecycle.canSend || !this.out.prepared(message, cb)) return false;
    this.countSent(undefined);
    return true;
  }

  /** A message (its last fragment) was queued: count it. */
  private countSent(options: SendOptions | undefined): void {
    const counters = this.settings.counters;
    if (counters !== null && options?.fin !== false) counters.messagesOut++;
  }

  ping(payload: Buffer = EMPTY, cb?: WriteCallback): boolean {
    checkControlPayload(payload);
    if (!this.lifecycle.canSend) return false;
    this.out.control(Opcode.Ping, payload, cb);
    return true;
  }

  pong(payload: Buffer = EMPTY, cb?: WriteCallback): boolean {
    checkControlPayload(payload);
    if (!this.lifecycle.canSend) return false;
    this.out.control(Opcode.Pong, payload, cb);
    return true;
  }

  /** The output drained: send the latest pong held back while it was congested. */
  flushPendingPong(): void {
    if (this.sender !== null && this.lifecycle.canSend) this.sender.flushPendingPong();
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
    if (!this.lifecycle.canSend) return;
    this.writeClose(code, reasonBytes, cb);
  }

  /** Stop everything at once (terminate): no more input is read, nothing more is sent. */
  abort(): void {
    this.lifecycle.aborted();
    this.release();
  }

  /** The transport is closed: the connection's life is over. */
  transportClosed(): void {
    this.lifecycle.transportClosed();
    this.release();
  }

  private release(): void {
    this.receiver?.drop();
    this.sender?.clear();
    this.extension?.dispose();
    this.receiver?.flushSettled();
  }

  private writeClose(code: number | undefined, reason: Buffer, cb?: WriteCallback): void {
    let payload: Buffer = EMPTY;
    if (code !== undefined) {
      payload = Buffer.allocUnsafe(2 + reason.length);
      payload.writeUInt16BE(code, 0);
      reason.copy(payload, 2);
    }
    const frame: CloseFrame = { code: code ?? CloseCode.NoStatusReceived, reason };
    this.lifecycle.sentClose(frame);
    this.out.close(payload, cb);
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
