import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { FrameParser, type FrameHeader, type FrameSink } from '../../src/protocol/frame-parser.js';
import type { ProtocolError } from '../../src/protocol/errors.js';
import { Opcode } from '../../src/protocol/opcode.js';
import { MASK, buildFrame, closePayload } from './helpers.js';

type Event =
  | { type: 'header'; fin: boolean; rsv1: boolean; rsv2: boolean; rsv3: boolean; opcode: number; masked: boolean; payloadLength: number }
  | { type: 'payload'; hex: string }
  | { type: 'end' }
  | { type: 'error'; code: string; closeCode: number };

/** Records every sink call; `stopOn` makes one kind of call return false. */
class RecordingSink implements FrameSink {
  events: Event[] = [];
  stopOn: Event['type'] | null = null;

  onFrameHeader(h: FrameHeader): boolean {
    const { fin, rsv1, rsv2, rsv3, opcode, masked, payloadLength } = h;
    this.events.push({ type: 'header', fin, rsv1, rsv2, rsv3, opcode, masked, payloadLength });
    return this.stopOn !== 'header';
  }
  onFramePayload(piece: Buffer): boolean {
    this.events.push({ type: 'payload', hex: piece.toString('hex') });
    return this.stopOn !== 'payload';
  }
  onFrameEnd(): boolean {
    this.events.push({ type: 'end' });
    return this.stopOn !== 'end';
  }
  onFrameError(error: ProtocolError): void {
    this.events.push({ type: 'error', code: error.code, closeCode: error.closeCode });
  }
}

function newParser(): { parser: FrameParser; sink: RecordingSink } {
  const sink = new RecordingSink();
  return { parser: new FrameParser(sink), sink };
}

/** Merge consecutive payload pieces so different splits compare equal. */
function coalesce(events: Event[]): Event[] {
  const out: Event[] = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    if (e.type === 'payload' && prev?.type === 'payload') prev.hex += e.hex;
    else out.push({ ...e });
  }
  return out;
}

/** Feed `pieces` (fresh copies: the parser unmasks in place) and return the coalesced events. */
function parse(pieces: Buffer[]): Event[] {
  const { parser, sink } = newParser();
  for (const p of pieces) assert.equal(parser.push(Buffer.from(p)), p.length);
  return coalesce(sink.events);
}

const header = (opcode: number, payloadLength: number, o: Partial<Extract<Event, { type: 'header' }>> = {}): Event => ({
  type: 'header',
  fin: true,
  rsv1: false,
  rsv2: false,
  rsv3: false,
  opcode,
  masked: false,
  payloadLength,
  ...o,
});

function payloadOf(length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 13 + 5) & 0xff;
  return b;
}

describe('FrameParser: payload length boundaries', () => {
  for (const len of [0, 1, 125, 126, 127, 65535, 65536]) {
    for (const masked of [false, true]) {
      it(`length ${len}, ${masked ? 'masked' : 'unmasked'}`, () => {
        const payload = payloadOf(len);
        const wire = buildFrame(Opcode.Binary, payload, { mask: masked ? MASK : null });
        const { parser, sink } = newParser();
        assert.equal(parser.push(wire), wire.length);
        const expected: Event[] = [header(Opcode.Binary, len, { masked })];
        if (len > 0) expected.push({ type: 'payload', hex: payload.toString('hex') });
        expected.push({ type: 'end' });
        assert.deepEqual(sink.events, expected, 'one piece for a frame in one chunk');
        assert.equal(parser.atFrameBoundary, true);
        assert.equal(parser.payloadRemaining, 0);
        assert.equal(parser.payloadLength, len);
        assert.equal(parser.masked, masked);
      });
    }
  }

  for (const masked of [false, true]) {
    it(`length 2^32, ${masked ? 'masked' : 'unmasked'}: header and a prefix only (no 4 GiB allocation)`, () => {
      const head = buildFrame(Opcode.Binary, Buffer.alloc(0), { mask: masked ? MASK : null, announcedLength: 2 ** 32 });
      assert.equal(head.length, masked ? 14 : 10);
      assert.deepEqual([...head.subarray(2, 10)], [0, 0, 0, 1, 0, 0, 0, 0]);
      const prefix = payloadOf(1000);
      const wirePrefix = buildFrame(Opcode.Binary, prefix, { mask: masked ? MASK : null }).subarray(masked ? 8 : 4);
      const { parser, sink } = newParser();
      // Header split inside the extended length, then the payload prefix in two chunks.
      assert.equal(parser.push(Buffer.from(head.subarray(0, 5))), 5);
      assert.deepEqual(sink.events, [], 'nothing before the header is complete');
      assert.equal(parser.push(Buffer.from(head.subarray(5))), head.length - 5);
      assert.deepEqual(sink.events, [header(Opcode.Binary, 2 ** 32, { masked })]);
      assert.equal(parser.payloadLength, 2 ** 32);
      assert.equal(parser.payloadRemaining, 2 ** 32);
      parser.push(Buffer.from(wirePrefix.subarray(0, 333)));
      parser.push(Buffer.from(wirePrefix.subarray(333)));
      assert.equal(parser.payloadRemaining, 2 ** 32 - 1000);
      assert.equal(parser.atFrameBoundary, false);
      const events = coalesce(sink.events);
      assert.deepEqual(events, [header(Opcode.Binary, 2 ** 32, { masked }), { type: 'payload', hex: prefix.toString('hex') }]);
    });
  }

  it('largest accepted length 2^53 - 1 and the 1009 refusal above it', () => {
    const ok = newParser();
    ok.parser.push(buildFrame(Opcode.Binary, Buffer.alloc(0), { announcedLength: Number.MAX_SAFE_INTEGER }));
    assert.deepEqual(ok.sink.events, [header(Opcode.Binary, Number.MAX_SAFE_INTEGER)]);
    const big = newParser();
    const wire = Buffer.from([0x82, 127, 0, 0x20, 0, 0, 0, 0, 0, 0]); // 2^53
    big.parser.push(wire);
    assert.deepEqual(big.sink.events, [{ type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 }]);
  });
});

describe('FrameParser: header fields', () => {
  it('decodes FIN, RSV1-3 and the opcode, and leaves their meaning to the sink', () => {
    const wire = Buffer.concat([
      buildFrame(0x3, 'a', { fin: false, rsv1: true }),
      buildFrame(Opcode.Text, 'b', { rsv2: true }),
      buildFrame(0xf, 'c', { rsv3: true }),
    ]);
    assert.deepEqual(parse([wire]), [
      header(0x3, 1, { fin: false, rsv1: true }), { type: 'payload', hex: '61' }, { type: 'end' },
      header(Opcode.Text, 1, { rsv2: true }), { type: 'payload', hex: '62' }, { type: 'end' },
      header(0xf, 1, { rsv3: true }), { type: 'payload', hex: '63' }, { type: 'end' },
    ]);
  });

  it('unmasks with the frame key (RFC 5.7 masked "Hello")', () => {
    assert.deepEqual(parse([Buffer.from('818537fa213d7f9f4d5158', 'hex')]), [
      header(Opcode.Text, 5, { masked: true }),
      { type: 'payload', hex: Buffer.from('Hello').toString('hex') },
      { type: 'end' },
    ]);
  });

  it('each frame uses its own masking key', () => {
    const a = buildFrame(Opcode.Text, 'first', { mask: Buffer.from([9, 9, 9, 9]) });
    const b = buildFrame(Opcode.Text, 'second', { mask: Buffer.from([0xa0, 0xb1, 0xc2, 0xd3]) });
    const c = buildFrame(Opcode.Text, 'third', { mask: null });
    const events = parse([Buffer.concat([a, b, c])]).filter((e) => e.type === 'payload');
    assert.deepEqual(events.map((e) => Buffer.from((e as { hex: string }).hex, 'hex').toString()), ['first', 'second', 'third']);
  });
});

describe('FrameParser: any split gives the same events', () => {
  // Several short frames, masked, with control frames between fragments.
  const mask2 = Buffer.from([0xff, 0x00, 0x7f, 0x80]);
  const stream = Buffer.concat([
    buildFrame(Opcode.Text, 'Hel', { fin: false, mask: MASK }),
    buildFrame(Opcode.Ping, 'ping!', { mask: mask2 }),
    buildFrame(Opcode.Continuation, '', { fin: false, mask: MASK }),
    buildFrame(Opcode.Continuation, 'lo κόσμε', { mask: mask2 }),
    buildFrame(Opcode.Binary, payloadOf(130), { mask: MASK }), // 16-bit length form
    buildFrame(Opcode.Pong, '', { mask: MASK }),
    buildFrame(Opcode.Binary, payloadOf(7), { mask: mask2 }),
    buildFrame(Opcode.Close, closePayload(1000, 'bye'), { mask: MASK }),
  ]);
  const expected: Event[] = [
    header(Opcode.Text, 3, { fin: false, masked: true }), { type: 'payload', hex: Buffer.from('Hel').toString('hex') }, { type: 'end' },
    header(Opcode.Ping, 5, { masked: true }), { type: 'payload', hex: Buffer.from('ping!').toString('hex') }, { type: 'end' },
    header(Opcode.Continuation, 0, { fin: false, masked: true }), { type: 'end' },
    header(Opcode.Continuation, Buffer.byteLength('lo κόσμε'), { masked: true }), { type: 'payload', hex: Buffer.from('lo κόσμε').toString('hex') }, { type: 'end' },
    header(Opcode.Binary, 130, { masked: true }), { type: 'payload', hex: payloadOf(130).toString('hex') }, { type: 'end' },
    header(Opcode.Pong, 0, { masked: true }), { type: 'end' },
    header(Opcode.Binary, 7, { masked: true }), { type: 'payload', hex: payloadOf(7).toString('hex') }, { type: 'end' },
    header(Opcode.Close, 5, { masked: true }), { type: 'payload', hex: closePayload(1000, 'bye').toString('hex') }, { type: 'end' },
  ];

  it('whole stream in one chunk', () => {
    assert.deepEqual(parse([stream]), expected);
  });

  it('two pieces, split at every index', () => {
    for (let i = 0; i <= stream.length; i++) {
      assert.deepEqual(parse([stream.subarray(0, i), stream.subarray(i)]), expected, `split at ${i}`);
    }
  });

  it('three pieces, split at every pair of indexes around the headers', () => {
    for (let i = 0; i <= 40; i++) {
      for (let j = i; j <= stream.length; j++) {
        assert.deepEqual(parse([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]), expected, `split at ${i}, ${j}`);
      }
    }
  });

  it('one byte at a time', () => {
    const pieces: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) pieces.push(stream.subarray(i, i + 1));
    const { parser, sink } = newParser();
    for (const p of pieces) assert.equal(parser.push(Buffer.from(p)), 1);
    assert.deepEqual(coalesce(sink.events), expected);
    // Each payload byte arrives as its own 1-byte piece.
    for (const e of sink.events) if (e.type === 'payload') assert.equal(e.hex.length, 2);
  });

  it('push(chunk, offset) starts at offset', () => {
    const padded = Buffer.concat([Buffer.from([0xde, 0xad, 0xbe]), stream]);
    const { parser, sink } = newParser();
    assert.equal(parser.push(padded, 3), padded.length);
    assert.deepEqual(coalesce(sink.events), expected);
  });

  it('empty pushes change nothing, mid-header and mid-payload', () => {
    const { parser, sink } = newParser();
    assert.equal(parser.push(Buffer.alloc(0)), 0);
    parser.push(Buffer.from(stream.subarray(0, 1)));
    assert.equal(parser.push(Buffer.alloc(0)), 0);
    parser.push(Buffer.from(stream.subarray(1, 8)));
    assert.equal(parser.push(Buffer.alloc(0)), 0);
    parser.push(Buffer.from(stream.subarray(8)));
    assert.deepEqual(coalesce(sink.events), expected);
  });

  it('atFrameBoundary is true only between frames', () => {
    const frame = buildFrame(Opcode.Text, 'abc', { mask: MASK }); // 6-byte header + 3
    const { parser } = newParser();
    assert.equal(parser.atFrameBoundary, true);
    parser.push(Buffer.from(frame.subarray(0, 1)));
    assert.equal(parser.atFrameBoundary, false, 'inside the header');
    parser.push(Buffer.from(frame.subarray(1, 7)));
    assert.equal(parser.atFrameBoundary, false, 'inside the payload');
    assert.equal(parser.payloadRemaining, 2);
    parser.push(Buffer.from(frame.subarray(7)));
    assert.equal(parser.atFrameBoundary, true);
    assert.equal(parser.payloadRemaining, 0);
  });
});

describe('FrameParser: length encoding errors', () => {
  const nonMinimal: Array<[string, Buffer]> = [
    ['16-bit form for 0', buildFrame(Opcode.Binary, '', { lengthForm: 16 })],
    ['16-bit form for 125', buildFrame(Opcode.Binary, payloadOf(125), { lengthForm: 16 })],
    ['64-bit form for 0', buildFrame(Opcode.Binary, '', { lengthForm: 64 })],
    ['64-bit form for 125', buildFrame(Opcode.Binary, payloadOf(125), { lengthForm: 64 })],
    ['64-bit form for 126', buildFrame(Opcode.Binary, payloadOf(126), { lengthForm: 64 })],
    ['64-bit form for 65535', buildFrame(Opcode.Binary, payloadOf(65535), { lengthForm: 64 })],
    ['masked 64-bit form for 65535', buildFrame(Opcode.Binary, payloadOf(65535), { lengthForm: 64, mask: MASK })],
  ];
  for (const [name, wire] of nonMinimal) {
    it(`${name}: WS_ERR_NON_MINIMAL_LENGTH / 1002, no header reported`, () => {
      for (const pieces of [[wire], [wire.subarray(0, 3), wire.subarray(3)]]) {
        const { parser, sink } = newParser();
        for (const p of pieces) parser.push(Buffer.from(p));
        assert.deepEqual(sink.events, [{ type: 'error', code: 'WS_ERR_NON_MINIMAL_LENGTH', closeCode: 1002 }]);
      }
    });
  }

  it('minimal forms right at the boundaries are accepted (126 in 16 bits, 65536 in 64 bits)', () => {
    assert.deepEqual(parse([buildFrame(Opcode.Binary, '', { lengthForm: 16, announcedLength: 126 })]), [header(Opcode.Binary, 126)]);
    assert.deepEqual(parse([buildFrame(Opcode.Binary, '', { lengthForm: 64, announcedLength: 65536 })]), [header(Opcode.Binary, 65536)]);
  });

  it('64-bit length with the most significant bit set: 1002', () => {
    for (const top of [0x80, 0xff]) {
      const { parser, sink } = newParser();
      const wire = Buffer.from([0x82, 127, top, 0, 0, 0, 0, 0, 0, 0, 0xaa]);
      const stoppedAt = parser.push(wire);
      assert.deepEqual(sink.events, [{ type: 'error', code: 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', closeCode: 1002 }]);
      assert.ok(stoppedAt <= 10, 'no payload byte consumed after the error');
    }
  });
});

describe('FrameParser: a sink returning false stops parsing', () => {
  const stream = Buffer.concat([
    buildFrame(Opcode.Text, 'abc', { mask: MASK }), // 9 bytes
    buildFrame(Opcode.Binary, 'defg', { mask: MASK }), // 10 bytes
  ]);

  it('stop on header: returns the offset right after the header; resuming finishes', () => {
    const { parser, sink } = newParser();
    const chunk = Buffer.from(stream);
    sink.stopOn = 'header';
    assert.equal(parser.push(chunk), 6);
    assert.deepEqual(sink.events, [header(Opcode.Text, 3, { masked: true })]);
    assert.equal(parser.push(chunk, 6), 15, 'runs the first payload + end, stops at the next header');
    sink.stopOn = null;
    assert.equal(parser.push(chunk, 15), stream.length);
    assert.deepEqual(coalesce(sink.events), [
      header(Opcode.Text, 3, { masked: true }), { type: 'payload', hex: '616263' }, { type: 'end' },
      header(Opcode.Binary, 4, { masked: true }), { type: 'payload', hex: '64656667' }, { type: 'end' },
    ]);
  });

  it('stop on payload: returns after the payload piece; end is reported on resume', () => {
    const { parser, sink } = newParser();
    const chunk = Buffer.from(stream);
    sink.stopOn = 'payload';
    assert.equal(parser.push(chunk), 9);
    assert.deepEqual(sink.events.map((e) => e.type), ['header', 'payload']);
    sink.stopOn = null;
    assert.equal(parser.push(chunk, 9), stream.length);
    assert.deepEqual(sink.events.map((e) => e.type), ['header', 'payload', 'end', 'header', 'payload', 'end']);
  });

  it('stop on end: returns the frame boundary', () => {
    const { parser, sink } = newParser();
    const chunk = Buffer.from(stream);
    sink.stopOn = 'end';
    assert.equal(parser.push(chunk), 9);
    assert.equal(parser.atFrameBoundary, true);
    assert.deepEqual(sink.events.map((e) => e.type), ['header', 'payload', 'end']);
    assert.equal(parser.push(chunk, 9), stream.length);
    assert.equal(sink.events.length, 6);
  });

  it('stop on the header of an empty frame: end comes on resume', () => {
    const { parser, sink } = newParser();
    const chunk = buildFrame(Opcode.Ping, '', { mask: MASK });
    sink.stopOn = 'header';
    assert.equal(parser.push(chunk), 6);
    assert.deepEqual(sink.events.map((e) => e.type), ['header']);
    sink.stopOn = null;
    assert.equal(parser.push(chunk, 6), 6);
    assert.deepEqual(sink.events.map((e) => e.type), ['header', 'end']);
  });
});

describe('FrameParser: memory', () => {
  it('payload pieces are views of the input chunk, unmasked in place (no copy)', () => {
    const wire = buildFrame(Opcode.Binary, payloadOf(100), { mask: MASK });
    const pieces: Buffer[] = [];
    const parser = new FrameParser({
      onFrameHeader: () => true,
      onFramePayload: (p) => (pieces.push(p), true),
      onFrameEnd: () => true,
      onFrameError: () => assert.fail('unexpected error'),
    });
    parser.push(wire);
    assert.equal(pieces.length, 1);
    assert.equal(pieces[0]!.buffer, wire.buffer);
    assert.equal(pieces[0]!.byteOffset, wire.byteOffset + 6);
    assert.deepEqual(pieces[0], payloadOf(100));
  });
});
