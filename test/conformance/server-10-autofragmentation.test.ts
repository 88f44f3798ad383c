// Autobahn 10.x: auto-fragmentation. 10.1.1: the client auto-fragments a
// 64 KiB text message into 1300-byte frames; the server echoes one message.
// Beyond Autobahn: our server's own fragmentSize option splits its echoes.
import assert from 'node:assert/strict';
import { Opcode, pseudoRandomBytes, serverCase, sha256, utf8Text, type Case } from './server-harness.js';
import type { FrameSpec } from '../support/raw-socket.js';

function fragments(opcode: number, payload: Buffer, frameSize: number): FrameSpec[] {
  const frames: FrameSpec[] = [];
  for (let i = 0; i < payload.length; i += frameSize) {
    frames.push({ opcode: i === 0 ? opcode : Opcode.CONTINUATION, payload: payload.subarray(i, i + frameSize), fin: i + frameSize >= payload.length });
  }
  return frames;
}

serverCase('10.1.1 text message of 65536 bytes auto-fragmented into 1300-byte frames -> echoed as one message', async (c) => {
  const payload = utf8Text(65536);
  const frames = fragments(Opcode.TEXT, payload, 1300);
  assert.equal(frames.length, 51);
  await c.sendTogether(frames);
  await c.expectText(payload);
  await c.closeHandshake();
});

serverCase('10.1.x binary message of 65536 bytes in 1300-byte frames, with a ping after frame 25 -> pong, then echo', async (c) => {
  const payload = pseudoRandomBytes(65536, 10);
  const frames = fragments(Opcode.BINARY, payload, 1300);
  frames.splice(25, 0, { opcode: Opcode.PING, payload: 'mid' });
  await c.sendTogether(frames);
  await c.expectPong('mid');
  await c.expectBinary(payload);
  await c.closeHandshake();
});

/** Reads one message sent as frames of `frameSize` and checks the framing exactly. */
async function expectFragmented(c: Case, opcode: number, payload: Buffer, frameSize: number): Promise<void> {
  const count = Math.ceil(payload.length / frameSize);
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const frame = await c.readFrame();
    const size = Math.min(frameSize, payload.length - i * frameSize);
    assert.deepEqual(
      { fin: frame.fin, rsv: frame.rsv, opcode: frame.opcode, masked: frame.masked, length: frame.payload.length },
      { fin: i === count - 1, rsv: 0, opcode: i === 0 ? opcode : Opcode.CONTINUATION, masked: false, length: size },
      `frame ${i} of ${count}`,
    );
    parts.push(frame.payload);
  }
  assert.equal(sha256(Buffer.concat(parts)), sha256(payload));
}

serverCase('10.x server fragmentSize 1300: a 65536-byte text echo goes out as 51 frames of <= 1300 bytes', async (c) => {
  const payload = utf8Text(65536);
  await c.sendText(payload);
  await expectFragmented(c, Opcode.TEXT, payload, 1300);
  await c.closeHandshake();
}, { server: { fragmentSize: 1300 } });

serverCase('10.x server fragmentSize 1300: a binary echo of 2600 bytes is exactly 2 frames; 1300 bytes stays 1 frame', async (c) => {
  const two = pseudoRandomBytes(2600, 1);
  const one = pseudoRandomBytes(1300, 2);
  await c.sendTogether([
    { opcode: Opcode.BINARY, payload: two },
    { opcode: Opcode.BINARY, payload: one },
  ]);
  await expectFragmented(c, Opcode.BINARY, two, 1300);
  await c.expectBinary(one);
  await c.closeHandshake();
}, { server: { fragmentSize: 1300 } });

serverCase('10.x server fragmentSize 1300: a pong answering a ping sent following the message comes after all its frames, unsplit', async (c) => {
  const payload = pseudoRandomBytes(4000, 4);
  await c.sendTogether([
    { opcode: Opcode.BINARY, payload },
    { opcode: Opcode.PING, payload: 'p' },
  ]);
  await expectFragmented(c, Opcode.BINARY, payload, 1300);
  await c.expectPong('p');
  await c.closeHandshake();
}, { server: { fragmentSize: 1300 } });
