/**
 * The receiving half of a connection: what frames mean, once the parser has
 * read them (RFC 6455 5.2-5.6), and how messages are put back together.
 *
 * Owns: the frame rules (opcodes, RSV bits, masking direction, control frame
 * limits, fragmentation order), maxPayload checked from each header before a
 * payload byte is kept, reassembly (zero-copy for a message in one piece, a
 * final buffer filled in place for a large one), incremental UTF-8
 * validation, handing compressed messages to the extension and holding the
 * input meanwhile, so that messages and control frames keep their order.
 * Must not touch: the lifecycle, the close handshake or anything sent (it
 * reports to its owner, the Connection, which decides).
 */
import { CloseCode } from './close-code.js';
import { ProtocolError, protocolError } from './errors.js';
import type { MessageTransform } from './extension.js';
import { FrameParser, type FrameHeader, type FrameSink } from './frame-parser.js';
import { MessageBuffer } from './message-buffer.js';
import { Opcode, isControlOpcode, isKnownOpcode } from './opcode.js';
import type { ConnectionSettings } from './options.js';
import { Utf8Validator, isValidUtf8 } from './utf8-validator.js';

/** What the receiver reports; the Connection implements it. */
export interface ReceiverOwner {
  /** May frames still be read? Parsing stops as soon as this turns false. */
  readonly canRead: boolean;
  /** Deliver messages as Buffer[] (ws binaryType 'fragments') instead of one Buffer. */
  readonly deliverFragments: boolean;
  message(data: Buffer | Buffer[], isBinary: boolean): void;
  /** A complete control frame (ping, pong or close), already checked for size and fragmentation. */
  control(opcode: number, payload: Buffer): void;
  /** The peer broke the protocol: the connection must fail with error.closeCode. */
  violation(error: ProtocolError): void;
  /** Input is held while the extension decodes a message: stop reading the transport. */
  pauseInput(): void;
  /** Held input was processed: reading may go on. */
  resumeInput(): void;
  /** Input held for a decode was processed after the peer's EOF: the EOF takes effect now. */
  heldEof(): void;
}

const EMPTY: Buffer = Buffer.alloc(0);
/** Messages from this size on may be received into their final buffer (useDirectBuffer); up to 2 GiB. */
const DIRECT_MIN = 8 * 1024;
const DIRECT_MAX = 0x7fffffff;

/** Boolean state packed in one small integer, named by these bits. */
const enum Flag {
  /** A data message is open (its first frame arrived, its last not yet). */
  InMessage = 1,
  /** The open message had RSV1: the extension decodes it when complete. */
  Compressed = 2,
  /** The open message is text checked while it arrives. */
  ValidateText = 4,
  /** Input is held while the extension decodes. */
  InputHeld = 8,
  /** The peer's EOF came while input was held. */
  EofHeld = 16,
}

export class Receiver implements FrameSink {
  private readonly parser: FrameParser = new FrameParser(this);
  private flags = 0;
  private messageOpcode = 0;
  /** Payload of a message that arrived as one whole piece: delivered without copy. */
  private single: Buffer | null = null;
  /** Pieces of a message that arrived in several (created on first use). */
  private buffer: MessageBuffer | null = null;
  /** The large message's own buffer, which the parser fills directly (see useDirectBuffer). */
  private direct: Buffer | null = null;
  /** Control frame in progress (between its header and its end, and only then, non-null). */
  private controlPayload: Buffer | null = null;
  private controlUsed = 0;
  private utf8: Utf8Validator | null = null;
  /** Input that arrived while a decode held it, in order. */
  private held: Buffer[] | null = null;
  private settled: (() => void) | null = null;

  constructor(
    private readonly owner: ReceiverOwner,
    private readonly settings: ConnectionSettings,
    private readonly extension: MessageTransform | null,
  ) {}

  /** Bytes from the peer. */
  receive(chunk: Buffer): void {
    if (this.flags & Flag.InputHeld) (this.held ??= []).push(chunk);
    else this.consume(chunk);
  }

  /** The peer's EOF. Returns false when held input must be processed first (heldEof() follows). */
  receiveEof(): boolean {
    if (!(this.flags & Flag.InputHeld)) return true;
    this.flags |= Flag.EofHeld;
    return false;
  }

  /** Run `fn` once no input is held for a decode in progress (at once if none is). */
  whenSettled(fn: () => void): void {
    if (!(this.flags & Flag.InputHeld) || !this.owner.canRead) fn();
    else this.settled = fn;
  }

  /**
   * Forget everything in progress and release its memory (the connection
   * stopped reading). A whenSettled function still waiting is kept: the
   * owner runs it with flushSettled once its own state says why reading
   * stopped (a driver reports the close from it).
   */
  drop(): void {
    this.dropMessage();
    this.controlPayload = null;
    this.held = null;
    this.flags &= ~(Flag.InputHeld | Flag.InMessage | Flag.EofHeld);
  }

  /** Run the waiting whenSettled function, if any, unless input is still held. */
  flushSettled(): void {
    if (this.flags & Flag.InputHeld && this.owner.canRead) return;
    const settled = this.settled;
    this.settled = null;
    settled?.();
  }


  private consume(chunk: Buffer): void {
    const stopped = this.parser.push(chunk, 0);
    // Held for a decode: keep the rest of the chunk for later, ahead of any
    // held input (this chunk may itself come from the held list: what is
    // left there arrived after it).
    if (this.flags & Flag.InputHeld && stopped < chunk.length && this.owner.canRead) {
      (this.held ??= []).unshift(chunk.subarray(stopped));
    }
  }

  private get messageLength(): number {
    return this.buffer === null ? 0 : this.buffer.length;
  }

  private violation(error: ProtocolError): false {
    this.owner.violation(error);
    return false;
  }

  // ------------------------------------------------------------- FrameSink

  onFrameHeader(h: FrameHeader): boolean {
    const op = h.opcode;
    if (!isKnownOpcode(op)) return this.violation(protocolError('WS_ERR_INVALID_OPCODE', `Invalid opcode ${op}`));
    if (h.rsv2 || h.rsv3) return this.violation(protocolError('WS_ERR_UNEXPECTED_RSV_2_3', 'RSV2 and RSV3 must be clear'));
    const server = this.settings.role === 'server';
    if (h.masked !== server) {
      return server
        ? this.violation(protocolError('WS_ERR_EXPECTED_MASK', 'Client frames must be masked'))
        : this.violation(protocolError('WS_ERR_UNEXPECTED_MASK', 'Server frames must not be masked'));
    }
    if (isControlOpcode(op)) {
      if (!h.fin) return this.violation(protocolError('WS_ERR_EXPECTED_FIN', 'Control frames must not be fragmented'));
      if (h.payloadLength > 125) {
        return this.violation(protocolError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', `Control frame payload of ${h.payloadLength} bytes exceeds 125`));
      }
      if (h.rsv1) return this.violation(protocolError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear on control frames'));
      this.controlPayload = h.payloadLength === 0 ? EMPTY : Buffer.allocUnsafe(h.payloadLength);
      this.controlUsed = 0;
      return true;
    }
    if (op === Opcode.Continuation) {
      if (!(this.flags & Flag.InMessage)) {
        return this.violation(protocolError('WS_ERR_UNEXPECTED_CONTINUATION', 'Continuation frame without a message to continue'));
      }
      if (h.rsv1) return this.violation(protocolError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear on continuation frames'));
    } else {
      if (this.flags & Flag.InMessage) {
        return this.violation(protocolError('WS_ERR_EXPECTED_CONTINUATION', 'New data frame while a fragmented message is open'));
      }
      if (h.rsv1 && this.extension === null) {
        return this.violation(protocolError('WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear: no extension negotiated it'));
      }
      this.messageOpcode = op;
      // Compressed text is validated once decoded.
      const validate = op === Opcode.Text && !this.settings.skipUTF8Validation && !h.rsv1;
      this.flags = (this.flags & ~(Flag.Compressed | Flag.ValidateText)) | Flag.InMessage | (h.rsv1 ? Flag.Compressed : 0) | (validate ? Flag.ValidateText : 0);
      if (validate) (this.utf8 ??= new Utf8Validator()).reset();
    }
    const max = this.settings.maxPayload;
    // Compressed bytes are bounded too (DEFLATE may expand a little: allow 1/64 + 1 KiB).
    const limit = this.flags & Flag.Compressed ? max + (max >>> 6) + 1024 : max;
    if (max > 0 && this.messageLength + h.payloadLength > limit) {
      return this.violation(new ProtocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', CloseCode.MessageTooBig, `Message exceeds maxPayload (${max} bytes)`));
    }
    return true;
  }

  onFramePayload(piece: Buffer): boolean {
    if (this.controlPayload !== null) {
      piece.copy(this.controlPayload, this.controlUsed);
      this.controlUsed += piece.length;
      return true;
    }
    if (this.flags & Flag.ValidateText && !this.utf8!.feed(piece)) {
      return this.violation(new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidFramePayloadData, 'Invalid UTF-8 in text message'));
    }
    if (this.direct !== null) return true; // the parser put it in place already
    const frame: FrameHeader = this.parser;
    if (frame.fin && this.messageLength === 0 && this.single === null && piece.length === frame.payloadLength) {
      this.single = piece; // the whole message in one piece: no copy
      return true;
    }
    const buffer = (this.buffer ??= new MessageBuffer());
    if (this.single !== null) {
      buffer.append(this.single);
      this.single = null;
    }
    buffer.append(piece);
    if (frame.fin && !(this.flags & Flag.Compressed) && !this.owner.deliverFragments) this.useDirectBuffer(buffer);
    return true;
  }

  /**
   * In the last frame of a large message the total size is known: once a
   * quarter of it has arrived (so memory stays within 4x of what the peer
   * really sent), allocate the message's final buffer, copy what arrived, and
   * have the parser unmask the rest straight into it. The reassembly then
   * copies only that first part instead of the whole message.
   */
  private useDirectBuffer(buffer: MessageBuffer): void {
    const remaining = this.parser.payloadRemaining;
    const received = buffer.length;
    const total = received + remaining;
    if (remaining === 0 || total < DIRECT_MIN || total > DIRECT_MAX || received * 4 < total) return;
    const target = Buffer.allocUnsafe(total);
    let at = 0;
    for (const chunk of buffer.takeChunks()) {
      target.set(chunk, at);
      at += chunk.length;
    }
    this.direct = target;
    this.parser.redirectPayload(target, at);
  }

  onFrameEnd(): boolean {
    const control = this.controlPayload;
    if (control !== null) {
      this.controlPayload = null;
      this.owner.control(this.parser.opcode, control);
      return this.owner.canRead;
    }
    if (!this.parser.fin) return true;
    if (this.flags & Flag.ValidateText && !this.utf8!.isComplete()) {
      return this.violation(new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidFramePayloadData, 'Text message ends inside a UTF-8 sequence'));
    }
    const isBinary = this.messageOpcode === Opcode.Binary;
    if (this.flags & Flag.Compressed) return this.decode(isBinary);
    const fragments = this.owner.deliverFragments;
    let data: Buffer | Buffer[];
    if (this.direct !== null) {
      data = fragments ? [this.direct] : this.direct; // binaryType may have changed meanwhile
      this.direct = null;
    } else if (this.single !== null) {
      data = fragments ? [this.single] : this.single;
      this.single = null;
    } else if (fragments) {
      data = this.buffer === null ? [] : this.buffer.takeChunks();
    } else {
      data = this.messageLength === 0 ? EMPTY : this.buffer!.take();
    }
    this.flags &= ~Flag.InMessage;
    this.owner.message(data, isBinary);
    // The owner may have stopped reading (abort from a listener): then stop parsing this chunk.
    return this.owner.canRead;
  }

  onFrameError(error: ProtocolError): void {
    this.owner.violation(error);
  }

  /**
   * Hand a complete compressed message to the extension. Input is held until
   * it is decoded so that messages and control frames keep their order.
   * Returns whether parsing may go on at once (the decode finished synchronously).
   */
  private decode(isBinary: boolean): boolean {
    const chunks = this.single !== null ? [this.single] : (this.buffer?.takeChunks() ?? []);
    this.single = null;
    this.flags = (this.flags & ~(Flag.InMessage | Flag.Compressed)) | Flag.InputHeld;
    let synchronous = true;
    this.extension!.decode(chunks, this.settings.maxPayload, (error, data) => {
      if (!(this.flags & Flag.InputHeld)) return; // dropped meanwhile (aborted or failed)
      this.flags &= ~Flag.InputHeld;
      if (error !== null) {
        this.owner.violation(error);
      } else if (!isBinary && !this.settings.skipUTF8Validation && !isValidUtf8(data!)) {
        this.owner.violation(new ProtocolError('WS_ERR_INVALID_UTF8', CloseCode.InvalidFramePayloadData, 'Invalid UTF-8 in text message'));
      } else {
        this.owner.message(this.owner.deliverFragments ? [data!] : data!, isBinary);
      }
      if (!synchronous) this.releaseHeld();
    });
    synchronous = false;
    if (this.flags & Flag.InputHeld) this.owner.pauseInput();
    return !(this.flags & Flag.InputHeld) && this.owner.canRead;
  }

  private releaseHeld(): void {
    const held = this.held;
    while (held !== null && !(this.flags & Flag.InputHeld) && held.length > 0 && this.owner.canRead) {
      this.consume(held.shift()!);
    }
    if (!this.owner.canRead) this.held = null;
    if (this.flags & Flag.InputHeld) return;
    if (this.flags & Flag.EofHeld) {
      this.flags &= ~Flag.EofHeld;
      this.owner.heldEof();
    } else {
      this.owner.resumeInput();
    }
    this.flushSettled();
  }

  /** Forget the message in progress, and release its memory. */
  private dropMessage(): void {
    this.single = null;
    this.buffer?.reset();
    if (this.direct !== null) {
      this.direct = null;
      this.parser.redirectPayload(null, 0);
    }
  }
}
