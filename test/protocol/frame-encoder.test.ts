import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import {
  COPY_THRESHOLD,
  encodeFrame,
  encodeFrameParts,
  encodeStringFrame,
  headerSize,
  writeHeader,
} from '../../src/protocol/frame-encoder.js';
import { Opcode } from '../../src/protocol/opcode.js';
import { MASK, buildFrame, decodeFrames } from './helpers.js';

const UNMASKED = { fin: true, rsv1: false, maskKey: null };
const MASKED = { fin: true, rsv1: false, maskKey: MASK };

function payloadOf(length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

describe('headerSize', () => {
  it('is 2/4/10 bytes by length form, plus 4 when masked', () => {
    const cases: Array<[number, number]> = [
      [0, 2], [125, 2], [126, 4], [65535, 4], [65536, 10], [2 ** 32, 10], [Number.MAX_SAFE_INTEGER, 10],
    ];
    for (const [len, size] of cases) {
      assert.equal(headerSize(len, false), size, `unmasked ${len}`);
      assert.equal(headerSize(len, true), size + 4, `masked ${len}`);
    }
  });
});

describe('writeHeader', () => {
  it('writes the exact header bytes for each length form', () => {
    const t = Buffer.alloc(20, 0xee);
    assert.equal(writeHeader(t, 1, Opcode.Text, 125, true, false, null), 2);
    assert.deepEqual([...t.subarray(0, 4)], [0xee, 0x81, 0x7d, 0xee]);
    assert.equal(writeHeader(t, 0, Opcode.Binary, 126, false, true, null), 4);
    assert.deepEqual([...t.subarray(0, 4)], [0x42, 0x7e, 0x00, 0x7e]);
    assert.equal(writeHeader(t, 0, Opcode.Binary, 2 ** 32 + 258, true, false, MASK), 14);
    assert.deepEqual([...t.subarray(0, 14)], [0x82, 0xff, 0, 0, 0, 1, 0, 0, 1, 2, 1, 2, 3, 4]);
  });

  it('writes the largest safe length (2^53 - 1) exactly', () => {
    const t = Buffer.alloc(10);
    writeHeader(t, 0, Opcode.Binary, Number.MAX_SAFE_INTEGER, true, false, null);
    assert.equal(t.readBigUInt64BE(2), BigInt(Number.MAX_SAFE_INTEGER));
  });
});

describe('encodeFrame', () => {
  // Exact expected bytes for the RFC 5.7 examples.
  it('RFC 5.7: unmasked "Hello"', () => {
    assert.deepEqual(encodeFrame(Opcode.Text, Buffer.from('Hello'), UNMASKED), Buffer.from('810548656c6c6f', 'hex'));
  });

  it('RFC 5.7: masked "Hello" with key 37 fa 21 3d', () => {
    const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
    assert.deepEqual(
      encodeFrame(Opcode.Text, Buffer.from('Hello'), { fin: true, rsv1: false, maskKey: key }),
      Buffer.from('818537fa213d7f9f4d5158', 'hex'),
    );
  });

  it('RFC 5.7: fragmented "Hel" + "lo", unmasked ping "Hello"', () => {
    assert.deepEqual(encodeFrame(Opcode.Text, Buffer.from('Hel'), { ...UNMASKED, fin: false }), Buffer.from('010348656c', 'hex'));
    assert.deepEqual(encodeFrame(Opcode.Continuation, Buffer.from('lo'), UNMASKED), Buffer.from('80026c6f', 'hex'));
    assert.deepEqual(encodeFrame(Opcode.Ping, Buffer.from('Hello'), UNMASKED), Buffer.from('890548656c6c6f', 'hex'));
  });

  it('RFC 5.7: 256 bytes and 64 KiB binary headers', () => {
    assert.deepEqual(encodeFrame(Opcode.Binary, payloadOf(256), UNMASKED).subarray(0, 4), Buffer.from('827e0100', 'hex'));
    assert.deepEqual(encodeFrame(Opcode.Binary, payloadOf(65536), UNMASKED).subarray(0, 10), Buffer.from('827f0000000000010000', 'hex'));
  });

  for (const len of [0, 1, 125, 126, 127, 65535, 65536]) {
    for (const masked of [false, true]) {
      it(`length ${len}, ${masked ? 'masked' : 'unmasked'}: exact bytes`, () => {
        const payload = payloadOf(len);
        const got = encodeFrame(Opcode.Binary, payload, masked ? MASKED : UNMASKED);
        assert.deepEqual(got, buildFrame(Opcode.Binary, payload, { mask: masked ? MASK : null }));
        // Spot-check the header independently of the reference builder.
        const lenByte = len < 126 ? len : len < 65536 ? 126 : 127;
        assert.equal(got[0], 0x82);
        assert.equal(got[1], (masked ? 0x80 : 0) | lenByte);
        assert.equal(got.length, headerSize(len, masked) + len);
      });
    }
  }

  it('sets FIN and RSV1 bits and the opcode', () => {
    assert.equal(encodeFrame(Opcode.Text, Buffer.alloc(0), { fin: false, rsv1: false, maskKey: null })[0], 0x01);
    assert.equal(encodeFrame(Opcode.Text, Buffer.alloc(0), { fin: true, rsv1: true, maskKey: null })[0], 0xc1);
    assert.equal(encodeFrame(Opcode.Close, Buffer.alloc(0), UNMASKED)[0], 0x88);
    assert.equal(encodeFrame(Opcode.Pong, Buffer.alloc(0), UNMASKED)[0], 0x8a);
  });

  it('masking does not modify the input buffer', () => {
    const payload = payloadOf(1000);
    const before = Buffer.from(payload);
    const out = encodeFrame(Opcode.Binary, payload, MASKED);
    assert.deepEqual(payload, before);
    assert.notDeepEqual(out.subarray(8), before, 'payload on the wire is masked');
    assert.deepEqual(decodeFrames(out)[0]!.payload, before);
  });

  it('accepts a plain Uint8Array view at an odd offset', () => {
    const backing = new Uint8Array(50);
    for (let i = 0; i < 50; i++) backing[i] = i;
    const view = backing.subarray(3, 43);
    for (const opts of [UNMASKED, MASKED]) {
      const [frame] = decodeFrames(encodeFrame(Opcode.Binary, view, opts));
      assert.deepEqual([...frame!.payload], [...view]);
    }
  });
});

describe('encodeFrameParts', () => {
  it('one buffer for unmasked payloads up to 16 KiB', () => {
    for (const len of [0, 125, 126, COPY_THRESHOLD]) {
      const payload = payloadOf(len);
      const parts = encodeFrameParts(Opcode.Binary, payload, UNMASKED);
      assert.equal(parts.length, 1, `length ${len}`);
      assert.deepEqual(parts[0], buildFrame(Opcode.Binary, payload));
    }
  });

  it('[header, payload] without a copy for unmasked payloads over 16 KiB', () => {
    assert.equal(COPY_THRESHOLD, 16 * 1024);
    for (const len of [COPY_THRESHOLD + 1, 65535, 65536]) {
      const payload = payloadOf(len);
      const parts = encodeFrameParts(Opcode.Binary, payload, UNMASKED);
      assert.equal(parts.length, 2, `length ${len}`);
      assert.equal(parts[1], payload, 'the payload itself, not a copy');
      assert.deepEqual(Buffer.concat(parts), buildFrame(Opcode.Binary, payload));
    }
  });

  it('wraps a non-Buffer Uint8Array payload as a Buffer over the same memory', () => {
    const backing = new Uint8Array(COPY_THRESHOLD + 10);
    const view = backing.subarray(5);
    const parts = encodeFrameParts(Opcode.Binary, view, UNMASKED);
    assert.equal(parts.length, 2);
    assert.ok(Buffer.isBuffer(parts[1]));
    assert.equal(parts[1]!.buffer, backing.buffer);
    assert.equal(parts[1]!.byteOffset, 5);
    assert.equal(parts[1]!.length, view.length);
  });

  it('always one buffer when masked, even for large payloads, and the input is untouched', () => {
    for (const len of [COPY_THRESHOLD + 1, 65536]) {
      const payload = payloadOf(len);
      const before = Buffer.from(payload);
      const parts = encodeFrameParts(Opcode.Binary, payload, MASKED);
      assert.equal(parts.length, 1);
      assert.deepEqual(parts[0], buildFrame(Opcode.Binary, before, { mask: MASK }));
      assert.deepEqual(payload, before);
    }
  });
});

describe('encodeStringFrame', () => {
  it('encodes multi-byte text as UTF-8 with the byte length in the header', () => {
    const text = 'κόσμε 𝄞 ✓';
    const bytes = Buffer.from(text);
    assert.equal(bytes.length, 19); // 10 (κόσμε) + 4 (𝄞) + 3 (✓) + 2 spaces
    assert.deepEqual(encodeStringFrame(Opcode.Text, text, UNMASKED), buildFrame(Opcode.Text, bytes));
    assert.deepEqual(encodeStringFrame(Opcode.Text, text, MASKED), buildFrame(Opcode.Text, bytes, { mask: MASK }));
  });

  it('uses the 16- and 64-bit forms by byte length, not string length', () => {
    const text = 'é'.repeat(63); // 63 chars, 126 bytes
    const out = encodeStringFrame(Opcode.Text, text, UNMASKED);
    assert.deepEqual([...out.subarray(0, 4)], [0x81, 126, 0, 126]);
    const big = '€'.repeat(21846); // 65538 bytes
    const out64 = encodeStringFrame(Opcode.Text, big, MASKED);
    assert.deepEqual(out64, buildFrame(Opcode.Text, Buffer.from(big), { mask: MASK }));
  });

  it('empty text, fin false', () => {
    assert.deepEqual(encodeStringFrame(Opcode.Text, '', { ...UNMASKED, fin: false }), Buffer.from([0x01, 0x00]));
    assert.deepEqual(encodeStringFrame(Opcode.Text, '', MASKED), Buffer.from([0x81, 0x80, 1, 2, 3, 4]));
  });

  it('matches encodeFrame of the UTF-8 bytes for every length boundary', () => {
    for (const len of [0, 125, 126, 65535, 65536]) {
      const text = 'a'.repeat(len);
      for (const opts of [UNMASKED, MASKED]) {
        assert.deepEqual(encodeStringFrame(Opcode.Text, text, opts), encodeFrame(Opcode.Text, Buffer.from(text), opts), `length ${len}`);
      }
    }
  });
});
