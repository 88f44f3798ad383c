/**
 * Incremental frame decoder (RFC 6455 section 5.2). Bytes may arrive split
 * at any position, including inside the extended length or the masking key.
 *
 * It owns only the wire format: header fields, length decoding (with the
 * minimal-encoding rule) and unmasking. What a frame *means* (opcode rules,
 * fragmentation, limits, RSV ownership) is the connection's business: the
 * parser hands each header to its sink before reading the payload, so every
 * limit is checked before a byte of payload is kept.
 *
 * Memory: the parser never keeps input chunks. Header bytes split across
 * chunks are copied into a 14-byte scratch buffer; payload bytes are unmasked
 * in place and passed on as views of the chunk they arrived in, unless the
 * sink gave the frame a destination (redirectPayload): then they are unmasked
 * while being copied there, and passed on as views of the destination.
 */
import { CloseCode } from './close-code.js';
import { ProtocolError, protocolError } from './errors.js';
import { packMaskKey, xorInPlace, xorInto } from './mask.js';

/** Header of the frame being parsed. The parser itself implements it. */
export interface FrameHeader {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  readonly opcode: number;
  readonly masked: boolean;
  /** Payload length in bytes (at most 2^53 - 1; larger ones are refused). */
  readonly payloadLength: number;
}

/** Receives a frame in three steps. Returning false stops parsing at once. */
export interface FrameSink {
  onFrameHeader(header: FrameHeader): boolean;
  /** An unmasked piece of payload: a view of the input, valid until the sink copies it. */
  onFramePayload(piece: Buffer): boolean;
  onFrameEnd(): boolean;
  onFrameError(error: ProtocolError): void;
}

const enum State {
  Header,
  Payload,
}

export class FrameParser implements FrameHeader {
  fin = false;
  rsv1 = false;
  rsv2 = false;
  rsv3 = false;
  opcode = 0;
  masked = false;
  payloadLength = 0;

  private state = State.Header;
  /** Header bytes split across chunks gather here (allocated the first time it happens). */
  private scratch: Buffer | null = null;
  private scratchLength = 0;
  /** The frame's masking key, packed (see packMaskKey): no per-connection buffer. */
  private maskKey = 0;
  private payloadRead = 0;
  /** Where the rest of this frame's payload goes (see redirectPayload), and from which offset. */
  private target: Buffer | null = null;
  private targetOffset = 0;

  constructor(private readonly sink: FrameSink) {}

  /**
   * Copy the rest of the current frame's payload into `target` from `offset`
   * on, unmasking while copying, instead of unmasking it inside the input
   * chunk; the sink then gets views of `target`. Saves a reassembly copy of
   * large messages. Lasts until the frame ends. Call it from onFramePayload
   * (or with null, to let go of the target when the message is dropped).
   */
  redirectPayload(target: Buffer | null, offset: number): void {
    this.target = target;
    this.targetOffset = offset;
  }

  /**
   * Consume `chunk` from `offset`. Returns the offset where parsing stopped:
   * chunk.length when all was consumed, less when the sink asked to stop
   * (the caller may resume from there) or an error was reported.
   */
  push(chunk: Buffer, offset = 0): number {
    const end = chunk.length;
    let pos = offset;
    for (;;) {
      if (this.state === State.Header) {
        if (pos >= end) return pos;
        let buf: Buffer;
        let at: number;
        let need: number;
        if (this.scratchLength === 0 && end - pos >= 2 && end - pos >= (need = headerSize(chunk[pos + 1]!))) {
          buf = chunk;
          at = pos;
          pos += need;
        } else {
          // Slow path: the header straddles chunks. Gather it in scratch.
          const scratch = (this.scratch ??= Buffer.allocUnsafe(14));
          while (this.scratchLength < 2 && pos < end) scratch[this.scratchLength++] = chunk[pos++]!;
          if (this.scratchLength < 2) return pos;
          need = headerSize(scratch[1]!);
          const take = Math.min(need - this.scratchLength, end - pos);
          chunk.copy(scratch, this.scratchLength, pos, pos + take);
          this.scratchLength += take;
          pos += take;
          if (this.scratchLength < need) return pos;
          this.scratchLength = 0;
          buf = scratch;
          at = 0;
        }
        const error = this.decodeHeader(buf, at);
        if (error) {
          this.sink.onFrameError(error);
          return pos;
        }
        this.payloadRead = 0;
        this.state = State.Payload;
        if (!this.sink.onFrameHeader(this)) return pos;
      }
      // State.Payload
      const left = this.payloadLength - this.payloadRead;
      if (left > 0) {
        if (pos >= end) return pos;
        const take = left < end - pos ? left : end - pos;
        let piece: Buffer;
        const target = this.target;
        if (target !== null) {
          const at = this.targetOffset;
          if (this.masked) xorInto(chunk, pos, target, at, take, this.maskKey, this.payloadRead);
          else chunk.copy(target, at, pos, pos + take);
          piece = target.subarray(at, at + take);
          this.targetOffset = at + take;
        } else {
          piece = chunk.subarray(pos, pos + take);
          if (this.masked) xorInPlace(piece, 0, take, this.maskKey, this.payloadRead);
        }
        this.payloadRead += take;
        pos += take;
        if (!this.sink.onFramePayload(piece)) return pos;
        if (this.payloadRead < this.payloadLength) return pos;
      }
      this.state = State.Header;
      this.target = null;
      if (!this.sink.onFrameEnd()) return pos;
    }
  }

  /** Bytes of the current frame's payload not yet received. */
  get payloadRemaining(): number {
    return this.state === State.Payload ? this.payloadLength - this.payloadRead : 0;
  }

  /** True between frames: no partial header or payload is pending. */
  get atFrameBoundary(): boolean {
    return this.state === State.Header && this.scratchLength === 0;
  }

  private decodeHeader(buf: Buffer, at: number): ProtocolError | undefined {
    const b0 = buf[at]!;
    const b1 = buf[at + 1]!;
    this.fin = (b0 & 0x80) !== 0;
    this.rsv1 = (b0 & 0x40) !== 0;
    this.rsv2 = (b0 & 0x20) !== 0;
    this.rsv3 = (b0 & 0x10) !== 0;
    this.opcode = b0 & 0x0f;
    this.masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let p = at + 2;
    if (length === 126) {
      length = buf.readUInt16BE(p);
      p += 2;
      if (length < 126) return protocolError('WS_ERR_NON_MINIMAL_LENGTH', 'Payload length not minimally encoded (16-bit form for < 126)');
    } else if (length === 127) {
      const high = buf.readUInt32BE(p);
      const low = buf.readUInt32BE(p + 4);
      p += 8;
      if (high & 0x80000000) return protocolError('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 'Payload length has its most significant bit set');
      // Lengths above 2^53 - 1 cannot be represented exactly; no limit allows them anyway.
      if (high > 0x1fffff) {
        return new ProtocolError('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', CloseCode.MessageTooBig, 'Payload length above 2^53 - 1 is not supported');
      }
      length = high * 0x100000000 + low;
      if (length < 0x10000) return protocolError('WS_ERR_NON_MINIMAL_LENGTH', 'Payload length not minimally encoded (64-bit form for < 65536)');
    }
    this.payloadLength = length;
    if (this.masked) {
      this.maskKey = packMaskKey(buf[p]!, buf[p + 1]!, buf[p + 2]!, buf[p + 3]!);
    }
    return undefined;
  }
}

/** Full header size implied by the second header byte. */
function headerSize(b1: number): number {
  const len7 = b1 & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}
