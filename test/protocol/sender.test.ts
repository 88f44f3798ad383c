// PreparedMessage.fromFrame: one whole frame encoded elsewhere (ws's
// Sender.frame(), as socket.io uses it) becomes a message every server
// connection writes as the very same bytes. Frames are built by the
// independent reference builder in ./helpers.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { PreparedMessage } from '../../src/protocol/sender.js';
import { Opcode } from '../../src/protocol/opcode.js';
import { MASK, buildFrame, serverFrame } from './helpers.js';

describe('PreparedMessage.fromFrame', () => {
  it('an unmasked text frame: the payload, and the very Buffer given as its frame', () => {
    const frame = serverFrame(Opcode.Text, '42["news",1]');
    const message = PreparedMessage.fromFrame(frame);
    assert.equal(message.binary, false);
    assert.equal(message.data.toString(), '42["news",1]');
    assert.equal(message.frameFor(null), frame); // same object: nothing re-encoded
  });

  it('binary frames with 16- and 64-bit lengths keep their bytes', () => {
    for (const size of [126, 65_535, 65_536]) {
      const payload = Buffer.alloc(size, 0xab);
      const frame = serverFrame(Opcode.Binary, payload);
      const message = PreparedMessage.fromFrame(frame);
      assert.equal(message.binary, true, `${size}`);
      assert.deepEqual(message.data, payload, `${size}`);
      assert.equal(message.frameFor(null), frame, `${size}`);
    }
  });

  it('an empty payload', () => {
    const frame = serverFrame(Opcode.Text, '');
    const message = PreparedMessage.fromFrame(frame);
    assert.equal(message.data.length, 0);
    assert.equal(message.frameFor(null), frame);
  });

  it('a masked frame is unmasked into a new Buffer (the caller\'s is left alone) and re-encoded unmasked', () => {
    const frame = buildFrame(Opcode.Text, 'hello', { mask: MASK });
    const copy = Buffer.from(frame);
    const message = PreparedMessage.fromFrame(frame);
    assert.equal(message.data.toString(), 'hello');
    assert.deepEqual(frame, copy);
    assert.deepEqual(message.frameFor(null), serverFrame(Opcode.Text, 'hello'));
  });

  it('refuses what would break the receiving connection\'s framing (TypeError)', () => {
    const refused: Array<[string, Buffer]> = [
      ['a fragment', serverFrame(Opcode.Text, 'a', { fin: false })],
      ['a continuation', serverFrame(Opcode.Continuation, 'a')],
      ['a ping', serverFrame(Opcode.Ping, 'a')],
      ['a close', serverFrame(Opcode.Close, Buffer.from([3, 232]))],
      ['RSV1 (compressed)', serverFrame(Opcode.Text, 'a', { rsv1: true })],
      ['RSV2', serverFrame(Opcode.Binary, 'a', { rsv2: true })],
      ['a reserved opcode', serverFrame(0x3, 'a')],
      ['a non-minimal length', serverFrame(Opcode.Text, 'a', { lengthForm: 16 })],
      ['a truncated payload', serverFrame(Opcode.Text, 'abc').subarray(0, 4)],
      ['bytes after the frame', Buffer.concat([serverFrame(Opcode.Text, 'a'), serverFrame(Opcode.Text, 'b')])],
      ['an incomplete header', Buffer.from([0x81])],
      ['nothing', Buffer.alloc(0)],
    ];
    for (const [what, frame] of refused) {
      assert.throws(() => PreparedMessage.fromFrame(frame), TypeError, what);
    }
  });
});
