/**
 * XOR masking (RFC 6455 section 5.3). Works a 32-bit word at a time on the
 * aligned middle of the buffer: the mask is rotated to the buffer's phase
 * once, so the loop needs no per-byte modulo.
 */

/**
 * Unmask (or mask: XOR is its own inverse) `data` in place. `phase` is how
 * many payload bytes precede `data` in its frame (mask offset = phase & 3),
 * so a payload split across chunks unmasks correctly piece by piece.
 */
export function applyMask(data: Uint8Array, mask: Uint8Array, phase = 0): void {
  maskInto(data, 0, data, 0, data.length, mask, phase);
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
  const m0 = mask[phase & 3]!;
  const m1 = mask[(phase + 1) & 3]!;
  const m2 = mask[(phase + 2) & 3]!;
  const m3 = mask[(phase + 3) & 3]!;
  let i = 0;
  if (length >= 32) {
    // Byte-wise until both sides are 4-aligned, if they can be at once.
    const srcAbs = src.byteOffset + srcOff;
    const dstAbs = dst.byteOffset + dstOff;
    if ((srcAbs & 3) === (dstAbs & 3)) {
      const lead = (4 - (srcAbs & 3)) & 3;
      const rot = [m0, m1, m2, m3];
      for (; i < lead; i++) dst[dstOff + i] = src[srcOff + i]! ^ rot[i & 3]!;
      const words = (length - i) >>> 2;
      if (words > 0) {
        // Mask word in memory (little-endian view) starting at phase + lead.
        const w =
          (rot[i & 3]! | (rot[(i + 1) & 3]! << 8) | (rot[(i + 2) & 3]! << 16) | (rot[(i + 3) & 3]! << 24)) >>> 0;
        const s32 = new Uint32Array(src.buffer, srcAbs + i, words);
        const d32 = s32.buffer === dst.buffer && srcAbs === dstAbs ? s32 : new Uint32Array(dst.buffer, dstAbs + i, words);
        const le = LITTLE_ENDIAN ? w : byteSwap(w);
        for (let k = 0; k < words; k++) d32[k] = s32[k]! ^ le;
        i += words << 2;
      }
      for (; i < length; i++) dst[dstOff + i] = src[srcOff + i]! ^ rot[i & 3]!;
      return;
    }
  }
  for (; i + 3 < length; i += 4) {
    dst[dstOff + i] = src[srcOff + i]! ^ m0;
    dst[dstOff + i + 1] = src[srcOff + i + 1]! ^ m1;
    dst[dstOff + i + 2] = src[srcOff + i + 2]! ^ m2;
    dst[dstOff + i + 3] = src[srcOff + i + 3]! ^ m3;
  }
  const rot = [m0, m1, m2, m3];
  for (; i < length; i++) dst[dstOff + i] = src[srcOff + i]! ^ rot[i & 3]!;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function byteSwap(w: number): number {
  return (((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24)) >>> 0;
}
