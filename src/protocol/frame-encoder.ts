/**
 * Frame encoding (RFC 6455 section 5.2): header, optional mask, payload.
 * Pure functions returning bytes. Unmasked frames with a large payload are
 * returned as [header, payload] so the payload is written without a copy;
 * masked frames are always one buffer, masked while copying (the user's data
 * is never modified in place).
 */
import { maskInto } from './mask.js';

/** Payloads up to this size are copied next to their header: one write beats two. */
export const COPY_THRESHOLD = 16 * 1024;

export interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  /** 4-byte masking key (client to server), or null for an unmasked frame. */
  maskKey: Uint8Array | null;
}

export function headerSize(payloadLength: number, masked: boolean): number {
  return (payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/** Write a frame header into `target` at `offset`; returns the header size. */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  opcode: number,
  payloadLength: number,
  fin: boolean,
  rsv1: boolean,
  maskKey: Uint8Array | null,
): number {
  target[offset] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = maskKey ? 0x80 : 0;
  let p = offset + 2;
  if (payloadLength < 126) {
    target[offset + 1] = maskBit | payloadLength;
  } else if (payloadLength < 0x10000) {
    target[offset + 1] = maskBit | 126;
    target[p++] = payloadLength >>> 8;
    target[p++] = payloadLength & 0xff;
  } else {
    target[offset + 1] = maskBit | 127;
    const high = Math.floor(payloadLength / 0x100000000);
    const low = payloadLength >>> 0;
    target[p++] = high >>> 24;
    target[p++] = (high >>> 16) & 0xff;
    target[p++] = (high >>> 8) & 0xff;
    target[p++] = high & 0xff;
    target[p++] = low >>> 24;
    target[p++] = (low >>> 16) & 0xff;
    target[p++] = (low >>> 8) & 0xff;
    target[p++] = low & 0xff;
  }
  if (maskKey) {
    target[p++] = maskKey[0]!;
    target[p++] = maskKey[1]!;
    target[p++] = maskKey[2]!;
    target[p++] = maskKey[3]!;
  }
  return p - offset;
}

/** Encode one frame into a single buffer (payload copied, and masked if asked). */
export function encodeFrame(opcode: number, payload: Uint8Array, options: FrameOptions): Buffer {
  const size = headerSize(payload.length, options.maskKey !== null);
  const out = Buffer.allocUnsafe(size + payload.length);
  writeHeader(out, 0, opcode, payload.length, options.fin, options.rsv1, options.maskKey);
  if (options.maskKey) maskInto(payload, 0, out, size, payload.length, options.maskKey, 0);
  else out.set(payload, size);
  return out;
}

/**
 * Encode one frame as the list of buffers to write: a single buffer for small
 * or masked payloads, [header, payload] (payload not copied) otherwise.
 */
export function encodeFrameParts(opcode: number, payload: Uint8Array, options: FrameOptions): Buffer[] {
  if (options.maskKey || payload.length <= COPY_THRESHOLD) return [encodeFrame(opcode, payload, options)];
  const header = Buffer.allocUnsafe(headerSize(payload.length, false));
  writeHeader(header, 0, opcode, payload.length, options.fin, options.rsv1, null);
  return [header, Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length)];
}

/** Encode a frame straight from a string (UTF-8), without an intermediate Buffer. */
export function encodeStringFrame(opcode: number, text: string, options: FrameOptions): Buffer {
  const length = Buffer.byteLength(text);
  const size = headerSize(length, options.maskKey !== null);
  const out = Buffer.allocUnsafe(size + length);
  writeHeader(out, 0, opcode, length, options.fin, options.rsv1, options.maskKey);
  out.write(text, size, 'utf8');
  if (options.maskKey) maskInto(out, size, out, size, length, options.maskKey, 0);
  return out;
}
