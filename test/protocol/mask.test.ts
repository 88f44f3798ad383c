import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyMask, maskInto, packMaskKey, xorInPlace, xorInPlaceWords } from '../../src/protocol/mask.js';
import { maskBackend, SIMD_MIN_LENGTH, simdMask } from '../../src/protocol/mask-simd.js';

/** Reference: one byte at a time, straight from RFC 6455 5.3. */
function naiveMask(src: Uint8Array, mask: Uint8Array, phase: number): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! ^ mask[(phase + i) % 4]!;
  return out;
}

const maskArb = fc.uint8Array({ minLength: 4, maxLength: 4 });

describe('applyMask', () => {
  it('matches the RFC 5.3 example ("Hello" masked with 37 fa 21 3d)', () => {
    const data = Buffer.from('Hello');
    applyMask(data, Buffer.from([0x37, 0xfa, 0x21, 0x3d]));
    assert.deepEqual([...data], [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
  });

  it('is its own inverse', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice over.');
    const copy = Buffer.from(data);
    const mask = Buffer.from([9, 8, 7, 6]);
    applyMask(data, mask, 3);
    assert.notDeepEqual(data, copy);
    applyMask(data, mask, 3);
    assert.deepEqual(data, copy);
  });

  it('does nothing on an empty buffer', () => {
    const data = new Uint8Array(0);
    applyMask(data, new Uint8Array([1, 2, 3, 4]));
    assert.equal(data.length, 0);
  });

  it('property: equals the naive loop for lengths 0..300, any phase, any view offset', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        maskArb,
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 7 }),
        (bytes, mask, phase, offset) => {
          const backing = new Uint8Array(offset + bytes.length + 3).fill(0xaa);
          const view = backing.subarray(offset, offset + bytes.length);
          view.set(bytes);
          applyMask(view, mask, phase);
          assert.deepEqual([...view], [...naiveMask(bytes, mask, phase)]);
          // Bytes around the view are untouched.
          for (let i = 0; i < offset; i++) assert.equal(backing[i], 0xaa);
          for (let i = offset + bytes.length; i < backing.length; i++) assert.equal(backing[i], 0xaa);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('unmasking a payload piece by piece (phase = bytes before) equals unmasking it whole', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), maskArb, fc.array(fc.nat(300), { maxLength: 6 }), (bytes, mask, cuts) => {
        const whole = Buffer.from(bytes);
        applyMask(whole, mask, 0);
        const pieces = Buffer.from(bytes);
        const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
        let start = 0;
        for (const end of [...points, bytes.length]) {
          applyMask(pieces.subarray(start, end), mask, start);
          start = end;
        }
        assert.deepEqual(pieces, whole);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('maskInto', () => {
  it('property: src !== dst, unaligned offsets on both sides, equals the naive loop and leaves src alone', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        maskArb,
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        (bytes, mask, phase, srcOff, dstOff, srcViewOff, dstViewOff) => {
          // Views whose byteOffset is itself unaligned, plus srcOff/dstOff inside them.
          const srcBacking = new Uint8Array(srcViewOff + srcOff + bytes.length + 5);
          const src = srcBacking.subarray(srcViewOff);
          src.set(bytes, srcOff);
          const srcBefore = Uint8Array.from(srcBacking);
          const dstBacking = new Uint8Array(dstViewOff + dstOff + bytes.length + 5).fill(0x55);
          const dst = dstBacking.subarray(dstViewOff);
          maskInto(src, srcOff, dst, dstOff, bytes.length, mask, phase);
          assert.deepEqual([...dst.subarray(dstOff, dstOff + bytes.length)], [...naiveMask(bytes, mask, phase)]);
          assert.deepEqual(srcBacking, srcBefore, 'source modified');
          for (let i = 0; i < dstBacking.length; i++) {
            const inside = i >= dstViewOff + dstOff && i < dstViewOff + dstOff + bytes.length;
            if (!inside) assert.equal(dstBacking[i], 0x55, `byte ${i} outside the target range was written`);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('property: src and dst in the same ArrayBuffer, same offset (in place, via maskInto)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), maskArb, fc.nat(100), fc.integer({ min: 0, max: 7 }), (bytes, mask, phase, off) => {
        const buf = new Uint8Array(off + bytes.length);
        buf.set(bytes, off);
        maskInto(buf, off, buf, off, bytes.length, mask, phase);
        assert.deepEqual([...buf.subarray(off)], [...naiveMask(bytes, mask, phase)]);
      }),
      { numRuns: 1000 },
    );
  });

  it('works on Buffers carved from the shared Node pool (non-zero byteOffset)', () => {
    const mask = Uint8Array.from([0xde, 0xad, 0xbe, 0xef]);
    for (let len = 0; len <= 300; len += 7) {
      const src = Buffer.from(Array.from({ length: len }, (_, i) => (i * 31) & 0xff));
      const dst = Buffer.allocUnsafe(len + 1).subarray(1);
      maskInto(src, 0, dst, 0, len, mask, len);
      assert.deepEqual([...dst], [...naiveMask(src, mask, len)], `length ${len}`);
    }
  });
});

describe('the WebAssembly SIMD path (payloads from SIMD_MIN_LENGTH on)', () => {
  // Sizes around the 64-byte blocks, the 1 KiB threshold and the 64 KiB scratch page.
  const lengthArb = fc.oneof(
    fc.integer({ min: SIMD_MIN_LENGTH - 70, max: SIMD_MIN_LENGTH + 200 }),
    fc.integer({ min: 65_536 - 100, max: 65_536 + 100 }),
    fc.integer({ min: 2 * 65_536 - 70, max: 2 * 65_536 + 70 }),
    fc.integer({ min: 0, max: 150_000 }),
  );

  it('is what Node 20 runs (WebAssembly SIMD is available: the JS fallback would be a silent slowdown)', () => {
    assert.equal(maskBackend, 'wasm-simd');
    assert.equal(typeof simdMask, 'function');
  });

  it('property: maskInto (copying and in place) and xorInPlace equal the naive loop, any alignment and phase', () => {
    fc.assert(
      fc.property(lengthArb, maskArb, fc.nat(1_000), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 }), fc.nat(), (length, mask, phase, srcOff, dstOff, seed) => {
        const bytes = new Uint8Array(length);
        for (let i = 0; i < length; i++) bytes[i] = (seed + i * 131 + (i >>> 7)) & 0xff;
        const expected = naiveMask(bytes, mask, phase);

        const src = new Uint8Array(srcOff + length + 3);
        src.set(bytes, srcOff);
        const dst = new Uint8Array(dstOff + length + 3).fill(0x55);
        maskInto(src, srcOff, dst, dstOff, length, mask, phase);
        assert.ok(Buffer.from(dst.subarray(dstOff, dstOff + length)).equals(expected), 'maskInto copy');
        assert.ok(Buffer.from(src.subarray(srcOff, srcOff + length)).equals(bytes), 'source modified');
        assert.equal(dst[dstOff + length], 0x55, 'wrote past the end');
        if (dstOff > 0) assert.equal(dst[dstOff - 1], 0x55, 'wrote before the start');

        maskInto(src, srcOff, src, srcOff, length, mask, phase);
        assert.ok(Buffer.from(src.subarray(srcOff, srcOff + length)).equals(expected), 'maskInto in place');

        const inPlace = new Uint8Array(dstOff + length);
        inPlace.set(bytes, dstOff);
        xorInPlace(inPlace, dstOff, length, packMaskKey(mask[0]!, mask[1]!, mask[2]!, mask[3]!), phase);
        assert.ok(Buffer.from(inPlace.subarray(dstOff)).equals(expected), 'xorInPlace');
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same bytes as the pure JavaScript path', () => {
    const data = Buffer.alloc(200_003);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    const key = packMaskKey(0x12, 0x34, 0x56, 0x78);
    for (const phase of [0, 1, 2, 3]) {
      const viaSimd = Buffer.from(data);
      const viaWords = Buffer.from(data);
      xorInPlace(viaSimd, 1, data.length - 1, key, phase);
      xorInPlaceWords(viaWords, 1, data.length - 1, key, phase);
      assert.ok(viaSimd.equals(viaWords), `phase ${phase}`);
    }
  });
});
