/**
 * XOR masking (RFC 6455 section 5.3). Payloads of 1 KiB and more go through
 * WebAssembly SIMD when the runtime has it (mask-simd.ts, ~28 GiB/s). The
 * rest, and everything without SIMD, works a 32-bit word at a time on the
 * aligned middle of the buffer, through an Int32Array (int32 XOR stays a
 * small integer in V8, where Uint32 values above 2^31 become doubles), with
 * the loop unrolled eight times: about 7-11 GiB/s in pure JavaScript.
 */
import { SIMD_MIN_LENGTH, simdMask } from './mask-simd.js';

/**
 * Unmask (or mask: XOR is its own inverse) `data` in place. `phase` is how
 * many payload bytes precede `data` in its frame (mask offset = phase & 3),
 * so a payload split across chunks unmasks correctly piece by piece.
 */
export function applyMask(data: Uint8Array, mask: Uint8Array, phase = 0): void {
  xorInPlace(data, 0, data.length, packMaskKey(mask[0]!, mask[1]!, mask[2]!, mask[3]!), phase);
}

/**
 * dst[dstOff + i] = src[srcOff + i] ^ mask[(phase + i) & 3], for i < length.
 * dst and src may be the same buffer at the same offset.
 */
export function maskInto(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  length: number,
  mask: Uint8Array,
  phase: number,
): void {
  xorInto(src, srcOff, dst, dstOff, length, packMaskKey(mask[0]!, mask[1]!, mask[2]!, mask[3]!), phase);
}

/** maskInto with a packed key (see packMaskKey): the form the parser keeps. */
export function xorInto(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, length: number, key: number, phase: number): void {
  if (simdMask !== null && length >= SIMD_MIN_LENGTH) {
    const done = simdMask(src, srcOff, dst, dstOff, length, rotateKey(key, phase));
    srcOff += done;
    dstOff += done;
    length -= done; // < 64 bytes left; `done` is a multiple of 4, so the phase holds
  }
  const inPlace = src.buffer === dst.buffer && src.byteOffset + srcOff === dst.byteOffset + dstOff;
  if (length >= 64 || inPlace) {
    // A native copy, then the word-wise XOR in place (works whatever the two alignments).
    if (!inPlace) dst.set(src.subarray(srcOff, srcOff + length), dstOff);
    xorInPlaceWords(dst, dstOff, length, key, phase);
    return;
  }
  for (let i = 0; i < length; i++) dst[dstOff + i] = src[srcOff + i]! ^ ((key >>> (((phase + i) & 3) << 3)) & 0xff);
}

/** The 4 mask bytes packed as an int32, first byte lowest: the form the parser keeps. */
export function packMaskKey(b0: number, b1: number, b2: number, b3: number): number {
  return (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) | 0;
}

/** The packed key as it lies from a byte at `phase`: byte j gets mask byte (phase + j) & 3. */
function rotateKey(key: number, phase: number): number {
  const shift = (phase & 3) << 3;
  return shift === 0 ? key : (key >>> shift) | (key << (32 - shift));
}

/**
 * XOR `length` bytes of `data` from `offset` with a packed mask key (see
 * packMaskKey), starting at mask byte `phase & 3`.
 */
export function xorInPlace(data: Uint8Array, offset: number, length: number, key: number, phase: number): void {
  if (simdMask !== null && length >= SIMD_MIN_LENGTH) {
    const done = simdMask(data, offset, data, offset, length, rotateKey(key, phase));
    offset += done;
    length -= done;
  }
  xorInPlaceWords(data, offset, length, key, phase);
}

/** The pure JavaScript path of xorInPlace (exported for tests and comparisons). */
export function xorInPlaceWords(data: Uint8Array, offset: number, length: number, key: number, phase: number): void {
  let i = 0;
  if (length >= 32) {
    const abs = data.byteOffset + offset;
    const lead = (4 - (abs & 3)) & 3;
    for (; i < lead; i++) data[offset + i]! ^= (key >>> (((phase + i) & 3) << 3)) & 0xff;
    const words = Math.floor((length - lead) / 4);
    // The mask word as it lies in memory from byte `lead` on.
    const rotated = rotateKey(key, phase + lead);
    const k = LITTLE_ENDIAN ? rotated | 0 : byteSwap(rotated);
    const w = new Int32Array(data.buffer, abs + lead, words);
    const n8 = words - (words % 8);
    let j = 0;
    for (; j < n8; j += 8) {
      w[j] ^= k;
      w[j + 1] ^= k;
      w[j + 2] ^= k;
      w[j + 3] ^= k;
      w[j + 4] ^= k;
      w[j + 5] ^= k;
      w[j + 6] ^= k;
      w[j + 7] ^= k;
    }
    for (; j < words; j++) w[j] ^= k;
    i = lead + words * 4; // not `words << 2`: overflows int32 from 2 GiB on
  }
  for (; i < length; i++) data[offset + i]! ^= (key >>> (((phase + i) & 3) << 3)) & 0xff;
}

function byteSwap(w: number): number {
  return ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
