/**
 * Shared helpers for the protocol tests: a naive, independent frame builder
 * (so the tests do not trust the encoder under test) and a tiny frame reader
 * for asserting what a Connection wrote.
 */
import { Buffer } from 'node:buffer';
import type { ProtocolError } from '../../src/protocol/errors.js';
import type { MessageTransform } from '../../src/protocol/extension.js';

export const MASK = Buffer.from([1, 2, 3, 4]);

export interface BuildOptions {
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** 4-byte key, or null for an unmasked frame (default null). */
  mask?: Uint8Array | null;
  /** Force a length encoding (to build non-minimal headers). */
  lengthForm?: 7 | 16 | 64;
  /** Announce this length instead of payload.length (for headers without their payload). */
  announcedLength?: number;
}

/** Byte-by-byte reference implementation of RFC 6455 5.2 framing. */
export function buildFrame(opcode: number, payload: Uint8Array | string = Buffer.alloc(0), o: BuildOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const len = o.announcedLength ?? data.length;
  const form = o.lengthForm ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
  const bytes: number[] = [];
  bytes.push(((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | (o.rsv2 ? 0x20 : 0) | (o.rsv3 ? 0x10 : 0) | opcode);
  const maskBit = o.mask ? 0x80 : 0;
  if (form === 7) {
    bytes.push(maskBit | len);
  } else if (form === 16) {
    bytes.push(maskBit | 126, Math.floor(len / 256) % 256, len % 256);
  } else {
    bytes.push(maskBit | 127);
    let v = BigInt(len);
    const ext: number[] = [];
    for (let i = 0; i < 8; i++) {
      ext.unshift(Number(v & 0xffn));
      v >>= 8n;
    }
    bytes.push(...ext);
  }
  if (o.mask) bytes.push(...o.mask);
  const head = Buffer.from(bytes);
  const body = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) body[i] = data[i]! ^ (o.mask ? o.mask[i % 4]! : 0);
  return Buffer.concat([head, body]);
}

/** A masked frame, as a client sends it. */
export const clientFrame = (opcode: number, payload: Uint8Array | string = '', o: BuildOptions = {}): Buffer =>
  buildFrame(opcode, payload, { mask: MASK, ...o });

/** An unmasked frame, as a server sends it. */
export const serverFrame = (opcode: number, payload: Uint8Array | string = '', o: BuildOptions = {}): Buffer =>
  buildFrame(opcode, payload, { mask: null, ...o });

export interface DecodedFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  maskKey: Buffer | null;
  /** Unmasked payload. */
  payload: Buffer;
}

/** Split a byte stream into frames (reference decoder); throws on trailing garbage. */
export function decodeFrames(stream: Buffer): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  let p = 0;
  while (p < stream.length) {
    const b0 = stream[p]!;
    const b1 = stream[p + 1]!;
    let len = b1 & 0x7f;
    p += 2;
    if (len === 126) {
      len = stream.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(stream.readBigUInt64BE(p));
      p += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const maskKey = masked ? Buffer.from(stream.subarray(p, p + 4)) : null;
    if (masked) p += 4;
    if (p + len > stream.length) throw new Error(`truncated frame: need ${len} bytes at ${p}, have ${stream.length - p}`);
    const payload = Buffer.from(stream.subarray(p, p + len));
    if (maskKey) for (let i = 0; i < len; i++) payload[i]! ^= maskKey[i % 4]!;
    p += len;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, masked, maskKey, payload });
  }
  return frames;
}

/** Close frame payload: 2-byte code + reason. */
export function closePayload(code: number, reason: string | Buffer = ''): Buffer {
  const r = typeof reason === 'string' ? Buffer.from(reason) : reason;
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

/** Tiny deterministic PRNG (mulberry32) for non-property randomized loops. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A transform whose decodes finish when the test says (as zlib in the thread
 * pool does, later): the payload's bytes, upper-cased, or the error given.
 */
export class ManualTransform implements MessageTransform {
  readonly name = 'manual';
  readonly pending: Array<{ payload: Buffer; done: (error: ProtocolError | null, data?: Buffer) => void }> = [];
  decode(payload: Buffer[], _max: number, done: (error: ProtocolError | null, data?: Buffer) => void): void {
    this.pending.push({ payload: Buffer.concat(payload), done });
  }
  shouldEncode(): boolean {
    return false;
  }
  encode(payload: Buffer, _fin: boolean, done: (error: Error | null, data?: Buffer) => void): void {
    done(null, payload);
  }
  dispose(): void {}
  /** Finish the oldest decode. */
  finish(error: ProtocolError | null = null): void {
    const { payload, done } = this.pending.shift()!;
    if (error !== null) done(error);
    else done(null, Buffer.from(payload.toString().toUpperCase()));
  }
}
