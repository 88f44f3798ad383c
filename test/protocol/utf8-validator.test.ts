import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer, isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { Utf8Validator, isValidUtf8 } from '../../src/protocol/utf8-validator.js';

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function decodes(bytes: Uint8Array): boolean {
  try {
    fatal.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Can `prefix` be extended into valid UTF-8? (A reference independent of the
 * validator's state machine: try the few completions that satisfy every
 * second-byte constraint: 80, 90 or A0, then 80s.)
 */
function isValidPrefix(prefix: Uint8Array): boolean {
  if (isUtf8(prefix)) return true;
  for (const first of [0x80, 0x90, 0xa0]) {
    for (let extra = 0; extra < 3; extra++) {
      const completed = Buffer.concat([prefix, Buffer.from([first, ...new Array<number>(extra).fill(0x80)])]);
      if (isUtf8(completed)) return true;
    }
  }
  return false;
}

/** Index of the first byte after which the input cannot be valid UTF-8 any more, or -1. */
function firstInvalidIndex(bytes: Uint8Array): number {
  // Validity of prefixes is monotonic: binary search the shortest bad prefix.
  if (isValidPrefix(bytes)) return -1;
  let lo = 0; // prefix of length lo is valid
  let hi = bytes.length; // prefix of length hi is invalid
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (isValidPrefix(bytes.subarray(0, mid))) lo = mid;
    else hi = mid;
  }
  return hi - 1;
}

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, p));
    start = p;
  }
  return pieces;
}

const EDGE_BYTES = [
  0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0,
  0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff,
];

const validText = fc.string({ unit: 'binary', maxLength: 60 }).map((s) => new Uint8Array(Buffer.from(s, 'utf8')));
/** Mostly-valid UTF-8 with one corruption somewhere (so long pieces go through the fast path). */
const corrupted = fc
  .tuple(validText, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('replace', 'insert', 'truncate'))
  .map(([bytes, at, byte, how]) => {
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    if (how === 'replace' && bytes.length > 0) {
      const b = Uint8Array.from(bytes);
      b[i] = byte;
      return b;
    }
    if (how === 'truncate') return bytes.subarray(0, i);
    return Uint8Array.from([...bytes.subarray(0, i), byte, ...bytes.subarray(i)]);
  });
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  validText,
  corrupted,
  fc.array(fc.constantFrom(...EDGE_BYTES), { maxLength: 40 }).map((a) => Uint8Array.from(a)),
  fc
    .tuple(fc.string({ unit: 'binary', minLength: 20, maxLength: 40 }), fc.array(fc.constantFrom(...EDGE_BYTES), { maxLength: 5 }))
    .map(([s, tail]) => Uint8Array.from([...Buffer.from(s), ...tail])),
);

/** Feed pieces; returns the index of the piece whose feed() returned false, or -1. */
function feedAll(v: Utf8Validator, pieces: Uint8Array[]): number {
  for (let i = 0; i < pieces.length; i++) if (!v.feed(pieces[i]!)) return i;
  return -1;
}

describe('Utf8Validator', () => {
  it('accepts ASCII, 2-, 3- and 4-byte sequences and the extremes U+0000, U+007F, U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF', () => {
    const v = new Utf8Validator();
    for (const cp of [0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff]) {
      v.reset();
      assert.equal(v.feed(Buffer.from(String.fromCodePoint(cp))), true, cp.toString(16));
      assert.equal(v.isComplete(), true, cp.toString(16));
    }
    v.reset();
    assert.equal(v.feed(Buffer.from('Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞 ✓')), true);
    assert.equal(v.isComplete(), true);
  });

  it('an empty feed is valid and complete', () => {
    const v = new Utf8Validator();
    assert.equal(v.feed(new Uint8Array(0)), true);
    assert.equal(v.isComplete(), true);
  });

  // 'κόσμε' followed by one bad sequence; each case also padded to >= 16 bytes (native fast path).
  const BAD: Array<[string, number[]]> = [
    ['UTF-16 surrogate ED A0 80', [0xed, 0xa0, 0x80]],
    ['UTF-16 low surrogate ED BF BF', [0xed, 0xbf, 0xbf]],
    ['overlong C0 80', [0xc0, 0x80]],
    ['overlong C1 BF', [0xc1, 0xbf]],
    ['overlong E0 80 80', [0xe0, 0x80, 0x80]],
    ['overlong E0 9F BF', [0xe0, 0x9f, 0xbf]],
    ['overlong F0 80 80 80', [0xf0, 0x80, 0x80, 0x80]],
    ['overlong F0 8F BF BF', [0xf0, 0x8f, 0xbf, 0xbf]],
    ['above U+10FFFF F4 90 80 80', [0xf4, 0x90, 0x80, 0x80]],
    ['F5', [0xf5, 0x80, 0x80, 0x80]],
    ['F8', [0xf8, 0x88, 0x80, 0x80, 0x80]],
    ['FE', [0xfe]],
    ['FF', [0xff]],
    ['lone continuation 80', [0x80]],
    ['lone continuation BF', [0xbf]],
    ['lead without continuation C2 41', [0xc2, 0x41]],
    ['3-byte lead cut by ASCII E1 80 41', [0xe1, 0x80, 0x41]],
  ];
  for (const [name, bad] of BAD) {
    for (const pad of [0, 20]) {
      it(`rejects ${name}${pad ? ' (long input)' : ''}, in the feed() carrying the bad byte`, () => {
        const good = Buffer.from('κόσμε' + 'x'.repeat(pad));
        const whole = Buffer.concat([good, Buffer.from(bad), Buffer.from('tail after the error, long enough')]);
        assert.equal(isUtf8(whole), false, 'reference agrees it is invalid');
        // In one piece.
        const v = new Utf8Validator();
        assert.equal(v.feed(whole), false);
        // Split at every position: pieces before the first invalid byte pass, the one holding it fails.
        const firstBad = firstInvalidIndex(whole);
        assert.ok(firstBad >= good.length && firstBad < good.length + bad.length);
        for (let cut = 0; cut <= whole.length; cut++) {
          v.reset();
          const a = whole.subarray(0, cut);
          const b = whole.subarray(cut);
          if (firstBad < cut) {
            assert.equal(v.feed(a), false, `cut ${cut}: first piece holds the bad byte`);
          } else {
            assert.equal(v.feed(a), true, `cut ${cut}: first piece is a valid prefix`);
            assert.equal(v.feed(b), false, `cut ${cut}: second piece holds the bad byte`);
          }
        }
        // One byte at a time: fails exactly on the first invalid byte.
        v.reset();
        let failedAt = -1;
        for (let i = 0; i < whole.length; i++) {
          if (!v.feed(whole.subarray(i, i + 1))) {
            failedAt = i;
            break;
          }
        }
        assert.equal(failedAt, firstBad);
      });
    }
  }

  it('a sequence truncated at the end: every feed() is true but isComplete() is false', () => {
    for (const tail of [[0xc2], [0xe2], [0xe2, 0x82], [0xf0], [0xf0, 0x9f], [0xf0, 0x9f, 0x98], [0xed, 0x9f], [0xf4, 0x8f, 0xbf]]) {
      for (const prefix of ['', 'κόσμε', 'a long enough ASCII prefix, > 16']) {
        const bytes = Buffer.concat([Buffer.from(prefix), Buffer.from(tail)]);
        const v = new Utf8Validator();
        assert.equal(v.feed(bytes), true, `${prefix} + ${Buffer.from(tail).toString('hex')}`);
        assert.equal(v.isComplete(), false, `${prefix} + ${Buffer.from(tail).toString('hex')}`);
      }
    }
  });

  it('a 4-byte sequence split in every way completes', () => {
    const bytes = Buffer.from('ab𝄞cd'); // F0 9D 84 9E in the middle
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const v = new Utf8Validator();
        assert.equal(v.feed(bytes.subarray(0, i)), true);
        assert.equal(v.feed(bytes.subarray(i, j)), true);
        assert.equal(v.feed(bytes.subarray(j)), true);
        assert.equal(v.isComplete(), true, `${i}/${j}`);
      }
    }
  });

  it('reset() forgets a pending sequence and the narrowed ranges', () => {
    const v = new Utf8Validator();
    assert.equal(v.feed(Buffer.from([0xe0])), true); // next must be A0-BF
    assert.equal(v.isComplete(), false);
    v.reset();
    assert.equal(v.isComplete(), true);
    assert.equal(v.feed(Buffer.from([0x41])), true);
    assert.equal(v.feed(Buffer.from([0xe1, 0x80, 0x80])), true); // 80 allowed after E1
    assert.equal(v.isComplete(), true);
  });

  it('after E0/ED/F0/F4 the narrowed range applies only to the second byte', () => {
    const v = new Utf8Validator();
    // U+0800 = E0 A0 80: third byte 80 must be accepted though the second had to be >= A0.
    assert.equal(v.feed(Buffer.from([0xe0])), true);
    assert.equal(v.feed(Buffer.from([0xa0])), true);
    assert.equal(v.feed(Buffer.from([0x80])), true);
    // U+D7FF = ED 9F BF: third byte BF allowed though second had to be <= 9F.
    assert.equal(v.feed(Buffer.from([0xed, 0x9f])), true);
    assert.equal(v.feed(Buffer.from([0xbf])), true);
    // U+10FFFF = F4 8F BF BF.
    assert.equal(v.feed(Buffer.from([0xf4, 0x8f])), true);
    assert.equal(v.feed(Buffer.from([0xbf, 0xbf])), true);
    assert.equal(v.isComplete(), true);
  });

  it('property: pieces split at random points all pass and end complete iff isUtf8(whole) (and TextDecoder fatal agrees)', () => {
    fc.assert(
      fc.property(bytesArb, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        const expected = isUtf8(bytes);
        assert.equal(decodes(bytes), expected, 'isUtf8 and TextDecoder disagree');
        const v = new Utf8Validator();
        const failedPiece = feedAll(v, split(bytes, cuts));
        assert.equal(failedPiece === -1 && v.isComplete(), expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('property: fail fast, the feed() of the piece holding the first invalid byte returns false, earlier ones true', () => {
    fc.assert(
      fc.property(bytesArb, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        const firstBad = firstInvalidIndex(bytes);
        const pieces = split(bytes, cuts);
        const v = new Utf8Validator();
        const failedPiece = feedAll(v, pieces);
        if (firstBad === -1) {
          assert.equal(failedPiece, -1);
          return;
        }
        let start = 0;
        let expectedPiece = -1;
        for (let i = 0; i < pieces.length; i++) {
          if (firstBad >= start && firstBad < start + pieces[i]!.length) expectedPiece = i;
          start += pieces[i]!.length;
        }
        assert.equal(failedPiece, expectedPiece);
      }),
      { numRuns: 3000 },
    );
  });

  it('property: reusing one validator across messages with reset() gives the same answers', () => {
    const v = new Utf8Validator();
    fc.assert(
      fc.property(bytesArb, fc.array(fc.nat(), { maxLength: 3 }), (bytes, cuts) => {
        v.reset();
        const ok = feedAll(v, split(bytes, cuts)) === -1 && v.isComplete();
        assert.equal(ok, isUtf8(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isValidUtf8', () => {
  it('agrees with isUtf8 on whole buffers', () => {
    assert.equal(isValidUtf8(Buffer.from('κόσμε')), true);
    assert.equal(isValidUtf8(Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80])), false);
    assert.equal(isValidUtf8(Buffer.from([0xc2])), false);
    assert.equal(isValidUtf8(new Uint8Array(0)), true);
    fc.assert(fc.property(bytesArb, (b) => assert.equal(isValidUtf8(b), isUtf8(b))), { numRuns: 1000 });
  });
});
