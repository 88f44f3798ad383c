import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { MessageBuffer } from '../../src/protocol/message-buffer.js';

function bytes(length: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe('MessageBuffer', () => {
  it('starts empty; take() of nothing is an empty buffer', () => {
    const m = new MessageBuffer();
    assert.equal(m.length, 0);
    assert.deepEqual(m.takeChunks(), []);
    assert.equal(m.take().length, 0);
  });

  it('ignores empty pieces', () => {
    const m = new MessageBuffer();
    m.append(Buffer.alloc(0));
    assert.equal(m.length, 0);
    assert.deepEqual(m.takeChunks(), []);
  });

  it('100,000 1-byte pieces: right bytes, few chunks (memory grows with bytes, not pieces)', () => {
    const m = new MessageBuffer();
    const expected = bytes(100_000, 7);
    // Each piece is a 1-byte view of one big input chunk, as a 1-byte-fragment flood produces.
    for (let i = 0; i < expected.length; i++) m.append(expected.subarray(i, i + 1));
    assert.equal(m.length, 100_000);
    const chunks = m.takeChunks();
    // Tails grow geometrically (x1.5) to 64 KiB: about 17 chunks for 100 kB, not 100,000.
    assert.ok(chunks.length <= 20, `${chunks.length} chunks`);
    for (const c of chunks) assert.notEqual(c.buffer, expected.buffer, 'a 1-byte view must not pin the input chunk');
    assert.deepEqual(Buffer.concat(chunks), expected);
    assert.equal(m.length, 0, 'takeChunks resets');
  });

  it('1 MB in 1-byte pieces: chunk count grows with bytes / 64 KiB', () => {
    const m = new MessageBuffer();
    const piece = Buffer.from([0x5a]);
    for (let i = 0; i < 1_000_000; i++) m.append(piece);
    const chunks = m.takeChunks();
    assert.ok(chunks.length <= 20 + Math.ceil(1_000_000 / 65536), `${chunks.length} chunks`);
    assert.equal(chunks.reduce((n, c) => n + c.length, 0), 1_000_000);
    assert.ok(chunks.every((c) => c.every((b) => b === 0x5a)));
  });

  it('a small piece that is a view of a large ArrayBuffer is copied', () => {
    const big = new ArrayBuffer(1 << 20);
    const piece = Buffer.from(big, 1000, 10);
    piece.fill(0x42);
    const m = new MessageBuffer();
    m.append(piece);
    const chunks = m.takeChunks();
    assert.equal(chunks.length, 1);
    assert.notEqual(chunks[0]!.buffer, big);
    assert.deepEqual(chunks[0], Buffer.alloc(10, 0x42));
    piece.fill(0); // the input chunk may be reused by its owner
    assert.deepEqual(chunks[0], Buffer.alloc(10, 0x42));
  });

  it('a mid-size piece (8 KiB) that is a small part of a 1 MiB chunk is copied too', () => {
    const big = Buffer.alloc(1 << 20, 0x11);
    const m = new MessageBuffer();
    m.append(big.subarray(4096, 4096 + 8192));
    const chunks = m.takeChunks();
    assert.ok(chunks.every((c) => c.buffer !== big.buffer));
    assert.equal(Buffer.concat(chunks).length, 8192);
  });

  it('a large piece is kept as a view (same .buffer, no copy)', () => {
    const piece = Buffer.from(new ArrayBuffer(100_000));
    piece.fill(0x33);
    const m = new MessageBuffer();
    m.append(piece);
    const chunks = m.takeChunks();
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0]!.buffer, piece.buffer);
    assert.equal(chunks[0]!.byteOffset, piece.byteOffset);
  });

  it('a large piece that is most of its chunk is kept as a view', () => {
    const chunk = Buffer.from(new ArrayBuffer(10_000));
    const piece = chunk.subarray(14); // frame header stripped
    const m = new MessageBuffer();
    m.append(piece);
    const [only] = m.takeChunks();
    assert.equal(only!.buffer, chunk.buffer);
  });

  it('keeps order across small (copied) and large (viewed) pieces', () => {
    const m = new MessageBuffer();
    const parts = [bytes(10, 1), Buffer.from(bytes(50_000, 2)), bytes(3, 3), bytes(300, 4), Buffer.from(bytes(70_000, 5)), bytes(1, 6)];
    for (const p of parts) m.append(p);
    assert.equal(m.length, parts.reduce((n, p) => n + p.length, 0));
    assert.deepEqual(m.take(), Buffer.concat(parts));
  });

  it('take() of a single large piece returns it without a copy', () => {
    const piece = Buffer.from(new ArrayBuffer(50_000));
    const m = new MessageBuffer();
    m.append(piece);
    assert.equal(m.take(), piece);
  });

  it('a delivered message is not overwritten by the next one (tail space is reused safely)', () => {
    const m = new MessageBuffer();
    m.append(Buffer.from('first'));
    const first = m.take();
    const firstChunks = (() => {
      m.append(Buffer.from('second message'));
      return m.takeChunks();
    })();
    m.append(Buffer.from('third'));
    const third = m.take();
    assert.equal(first.toString(), 'first');
    assert.equal(Buffer.concat(firstChunks).toString(), 'second message');
    assert.equal(third.toString(), 'third');
  });

  it('reset() drops everything', () => {
    const m = new MessageBuffer();
    m.append(Buffer.from('abc'));
    m.append(Buffer.from(new ArrayBuffer(10_000)));
    m.reset();
    assert.equal(m.length, 0);
    assert.deepEqual(m.takeChunks(), []);
    m.append(Buffer.from('x'));
    assert.equal(m.take().toString(), 'x');
  });

  it('property: any sequence of pieces (sizes, offsets in larger chunks) reassembles exactly; messages stay independent', () => {
    const pieceArb = fc.record({
      len: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 4000, max: 70_000 })),
      pad: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100_000 })),
      seed: fc.nat(255),
    });
    fc.assert(
      fc.property(fc.array(fc.array(pieceArb, { maxLength: 12 }), { minLength: 1, maxLength: 3 }), (messages) => {
        const m = new MessageBuffer();
        const delivered: Array<[Buffer, Buffer]> = [];
        for (const pieces of messages) {
          const expected: Buffer[] = [];
          for (const { len, pad, seed } of pieces) {
            const chunk = Buffer.alloc(len + pad);
            const piece = chunk.subarray(pad >>> 1, (pad >>> 1) + len);
            piece.set(bytes(len, seed));
            expected.push(Buffer.from(piece));
            m.append(piece);
            chunk.fill(0xee, 0, pad >>> 1); // mutate the input around the piece
          }
          const total = expected.reduce((n, b) => n + b.length, 0);
          assert.equal(m.length, total);
          delivered.push([m.take(), Buffer.concat(expected)]);
        }
        for (const [got, want] of delivered) assert.deepEqual(got, want);
      }),
      { numRuns: 300 },
    );
  });
});
