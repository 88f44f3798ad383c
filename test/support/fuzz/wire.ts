/**
 * The fuzzer's own view of the wire (RFC 6455 5.2), independent of the code
 * under test: a frame builder that can also break the rules (any opcode, RSV
 * bits, non-minimal lengths, wrong masking) and a strict reader for what a
 * Connection wrote.
 */
import { POOL_SIZE, Rng } from './rng.js';

export interface FrameFields {
  fin: boolean;
  /** RSV1..RSV3 as a 3-bit number (RSV1 = 4). */
  rsv: number;
  opcode: number;
  /** A 4-byte key, or null for an unmasked frame. */
  mask: Buffer | null;
  /** Length encoding; undefined: the minimal one. */
  lengthForm?: 7 | 16 | 64 | undefined;
}

/** One frame's bytes (the payload is masked into a copy). */
export function frame(fields: FrameFields, payload: Buffer): Buffer {
  const len = payload.length;
  const form = fields.lengthForm ?? (len < 126 ? 7 : len < 0x10000 ? 16 : 64);
  const headLength = 2 + (form === 16 ? 2 : form === 64 ? 8 : 0) + (fields.mask ? 4 : 0);
  const out = Buffer.allocUnsafe(headLength + len);
  out[0] = (fields.fin ? 0x80 : 0) | ((fields.rsv & 7) << 4) | (fields.opcode & 0x0f);
  const maskBit = fields.mask ? 0x80 : 0;
  let at = 2;
  if (form === 7) {
    out[1] = maskBit | (len & 0x7f);
  } else if (form === 16) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(len & 0xffff, 2);
    at = 4;
  } else {
    out[1] = maskBit | 127;
    out.writeUInt32BE(Math.floor(len / 0x1_0000_0000), 2);
    out.writeUInt32BE(len >>> 0, 6);
    at = 10;
  }
  if (fields.mask) {
    fields.mask.copy(out, at);
    at += 4;
    const m = fields.mask;
    const key = m.readInt32LE(0);
    let i = 0;
    for (; i + 4 <= len; i += 4) out.writeInt32LE(payload.readInt32LE(i) ^ key, at + i);
    for (; i < len; i++) out[at + i] = payload[i]! ^ m[i & 3]!;
  } else {
    payload.copy(out, at);
  }
  return out;
}

export interface ReadFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Split a byte stream into frames; throws on a truncated frame or a non-minimal length. */
export function readFrames(stream: Buffer): ReadFrame[] {
  const frames: ReadFrame[] = [];
  let p = 0;
  while (p < stream.length) {
    if (p + 2 > stream.length) throw new Error(`truncated header at ${p}`);
    const b0 = stream[p]!;
    const b1 = stream[p + 1]!;
    let len = b1 & 0x7f;
    p += 2;
    if (len === 126) {
      len = stream.readUInt16BE(p);
      if (len < 126) throw new Error(`non-minimal 16-bit length ${len}`);
      p += 2;
    } else if (len === 127) {
      len = Number(stream.readBigUInt64BE(p));
      if (len < 0x10000) throw new Error(`non-minimal 64-bit length ${len}`);
      p += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? stream.subarray(p, p + 4) : null;
    if (masked) p += 4;
    if (p + len > stream.length) throw new Error(`truncated frame: ${len} bytes at ${p} of ${stream.length}`);
    const payload = Buffer.from(stream.subarray(p, p + len));
    if (key) for (let i = 0; i < len; i++) payload[i]! ^= key[i & 3]!;
    p += len;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
  }
  return frames;
}

/** Code points drawn from every UTF-8 length class (1 to 4 bytes), surrogates excluded. */
const TEXT_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x20, 0x7e],
  [0x00, 0x7f],
  [0x80, 0x7ff],
  [0x800, 0xd7ff],
  [0xe000, 0xffff],
  [0x10000, 0x10ffff],
];

/** Valid UTF-8 of about `bytes` bytes (never more). */
export function randomText(rng: Rng, bytes: number): Buffer {
  if (rng.chance(0.3)) return Buffer.alloc(bytes, rng.range(0x20, 0x7e)); // long runs compress well
  if (bytes > 256 && bytes <= POOL_SIZE) return textSlice(rng, bytes);
  return textBytes(rng, bytes);
}

function textBytes(rng: Rng, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  while (at < bytes) {
    const [lo, hi] = rng.chance(0.7) ? TEXT_RANGES[0]! : rng.pick(TEXT_RANGES);
    const cp = rng.range(lo, hi);
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (at + size > bytes) break;
    at += out.write(String.fromCodePoint(cp), at);
  }
  return out.subarray(0, at);
}

let textPool: Buffer | null = null;

/** A copy of a random stretch of a fixed pool of text, cut at character boundaries. */
function textSlice(rng: Rng, bytes: number): Buffer {
  textPool ??= textBytes(new Rng(0x85ebca6b, 0xffffffff), POOL_SIZE);
  let start = rng.int(textPool.length - bytes + 1);
  let end = start + bytes;
  while (start < end && (textPool[start]! & 0xc0) === 0x80) start++;
  while (end < textPool.length && end > start && (textPool[end]! & 0xc0) === 0x80) end--;
  return Buffer.from(textPool.subarray(start, end));
}

/** Payload of a Close frame. */
export function closePayload(code: number, reason: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + reason.length);
  out.writeUInt16BE(code, 0);
  reason.copy(out, 2);
  return out;
}
