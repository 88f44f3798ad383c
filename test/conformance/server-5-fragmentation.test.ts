// Autobahn 5.x: fragmentation (RFC 6455 5.4). Fragments reassemble into one
// message; control frames may be interleaved but are never fragmented; a
// continuation with nothing to continue, or a new data frame inside a
// fragmented message, fails the connection with 1002.
import { Opcode, concatFrames, pseudoRandomBytes, serverCase } from './server-harness.js';
import type { FrameSpec } from '../support/raw-socket.js';

const frag1 = { opcode: Opcode.TEXT, payload: 'fragment1', fin: false };
const frag2 = { opcode: Opcode.CONTINUATION, payload: 'fragment2' };

serverCase('5.1 ping in 2 fragments -> 1002', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.PING, payload: 'fragment1', fin: false },
    { opcode: Opcode.CONTINUATION, payload: 'fragment2' },
  ]);
  await c.expectFailure(1002, 'WS_ERR_EXPECTED_FIN');
});

serverCase('5.2 pong in 2 fragments -> 1002', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.PONG, payload: 'fragment1', fin: false },
    { opcode: Opcode.CONTINUATION, payload: 'fragment2' },
  ]);
  await c.expectFailure(1002, 'WS_ERR_EXPECTED_FIN');
});

serverCase('5.3 text in 2 fragments -> echoed as one message', async (c) => {
  await c.sendTogether([frag1, frag2]);
  await c.expectText('fragment1fragment2');
  await c.closeHandshake();
});

serverCase('5.4 text in 2 fragments, frame-wise chops -> echoed as one message', async (c) => {
  await c.sendEach([frag1, frag2]);
  await c.expectText('fragment1fragment2');
  await c.closeHandshake();
});

serverCase('5.5 text in 2 fragments, octet-wise chops -> echoed as one message', async (c) => {
  await c.writeChopped(concatFrames([frag1, frag2]), 1);
  await c.expectText('fragment1fragment2');
  await c.closeHandshake();
});

const withPing: FrameSpec[] = [frag1, { opcode: Opcode.PING, payload: 'pongme!' }, frag2];

serverCase('5.6 text in 2 fragments with a ping in between -> pong, then echo', async (c) => {
  await c.sendTogether(withPing);
  await c.expectPong('pongme!');
  await c.expectText('fragment1fragment2');
  await c.closeHandshake();
});

serverCase('5.7 text in 2 fragments with a ping in between, frame-wise -> pong before the message ends, then echo', async (c) => {
  await c.sendEach(withPing.slice(0, 2));
  // The pong comes while the message is still open.
  await c.expectPong('pongme!');
  await c.send(frag2);
  await c.expectText('fragment1fragment2');
  await c.closeHandshake();
});

serverCase('5.8 text in 2 fragments with a ping in between, octet-wise chops -> pong, then echo', async (c) => {
  await c.writeChopped(concatFrames(withPing), 1);
  await c.expectPong('pongme!');
  await c.expectText('fragment1fragment2');
  await c.closeHandshake();
});

const contFin = { opcode: Opcode.CONTINUATION, payload: 'non-continuation payload' };
const contNoFin = { opcode: Opcode.CONTINUATION, payload: 'non-continuation payload', fin: false };
const helloText = { opcode: Opcode.TEXT, payload: 'Hello, world!' };

serverCase('5.9 continuation (FIN) with nothing to continue, then text, one chop -> 1002', async (c) => {
  await c.sendTogether([contFin, helloText]);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
});

serverCase('5.10 continuation (FIN) with nothing to continue, then text, frame-wise -> 1002', async (c) => {
  await c.sendEach([contFin]);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
});

serverCase('5.11 continuation (FIN) with nothing to continue, then text, octet-wise chops -> 1002', async (c) => {
  await c.writeChopped(concatFrames([contFin]), 1);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
});

serverCase('5.12 continuation (no FIN) with nothing to continue, then text, one chop -> 1002', async (c) => {
  await c.sendTogether([contNoFin, helloText]);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
});

serverCase('5.13 continuation (no FIN) with nothing to continue, then text, frame-wise -> 1002', async (c) => {
  await c.sendEach([contNoFin]);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
});

serverCase('5.14 continuation (no FIN) with nothing to continue, then text, octet-wise chops -> 1002', async (c) => {
  await c.writeChopped(concatFrames([contNoFin]), 1);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
});

serverCase('5.15 text in 2 fragments, then continuation (no FIN) with nothing to continue, then text -> echo, then 1002', async (c) => {
  await c.sendTogether([frag1, frag2, { opcode: Opcode.CONTINUATION, payload: 'fragment3', fin: false }, { opcode: Opcode.TEXT, payload: 'fragment4' }]);
  await c.expectText('fragment1fragment2');
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
});

serverCase('5.16 2x (continuation (no FIN) with nothing to continue, then text in 2 fragments) -> 1002 at once', async (c) => {
  const round: FrameSpec[] = [contNoFin, frag1, frag2];
  await c.sendTogether([...round, ...round]);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
});

serverCase('5.17 2x (continuation (FIN) with nothing to continue, then text in 2 fragments) -> 1002 at once', async (c) => {
  const round: FrameSpec[] = [contFin, frag1, frag2];
  await c.sendTogether([...round, ...round]);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_CONTINUATION');
});

serverCase('5.18 text in 2 fragments, both with opcode text -> 1002', async (c) => {
  await c.sendTogether([frag1, { opcode: Opcode.TEXT, payload: 'fragment2' }]);
  await c.expectFailure(1002, 'WS_ERR_EXPECTED_CONTINUATION');
});

const five = (i: number): FrameSpec => ({
  opcode: i === 1 ? Opcode.TEXT : Opcode.CONTINUATION,
  payload: `fragment${i}`,
  fin: i === 5,
});

serverCase('5.19 text in 5 fragments with 2 pings in between, with pauses -> 2 pongs while open, then echo', async (c) => {
  await c.sendEach([five(1), five(2), { opcode: Opcode.PING, payload: 'pongme 1!' }]);
  await c.expectPong('pongme 1!');
  await c.sendEach([five(3)]);
  await c.sendEach([five(4), { opcode: Opcode.PING, payload: 'pongme 2!' }]);
  await c.expectPong('pongme 2!');
  await c.sendEach([five(5)]);
  await c.expectText('fragment1fragment2fragment3fragment4fragment5');
  await c.closeHandshake();
});

serverCase('5.20 as 5.19, every frame in its own awaited write, octet-wise after the pause', async (c) => {
  await c.sendEach([five(1), five(2), { opcode: Opcode.PING, payload: 'pongme 1!' }]);
  await c.expectPong('pongme 1!');
  await c.writeChopped(concatFrames([five(3), five(4), { opcode: Opcode.PING, payload: 'pongme 2!' }]), 1);
  await c.expectPong('pongme 2!');
  await c.writeChopped(concatFrames([five(5)]), 1);
  await c.expectText('fragment1fragment2fragment3fragment4fragment5');
  await c.closeHandshake();
});

// ---- beyond the Autobahn list

serverCase('5.x text "fragmented" into 1 piece (FIN on the first frame) -> echoed', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: 'single' });
  await c.expectText('single');
  await c.closeHandshake();
});

serverCase('5.x binary in 100 fragments of varying size (empty ones included) -> echoed intact', async (c) => {
  const payload = pseudoRandomBytes(100 * 99, 5);
  const frames: FrameSpec[] = [];
  let offset = 0;
  for (let i = 0; i < 100; i++) {
    const size = i % 10 === 0 ? 0 : (i * 7) % 190;
    frames.push({ opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, payload: payload.subarray(offset, offset + size), fin: false });
    offset += size;
  }
  frames.push({ opcode: Opcode.CONTINUATION, payload: payload.subarray(offset) });
  await c.sendTogether(frames);
  await c.expectBinary(payload);
  await c.closeHandshake();
});

serverCase('5.x binary frame inside a fragmented text message -> 1002', async (c) => {
  await c.sendTogether([frag1, { opcode: Opcode.BINARY, payload: 'bin' }]);
  await c.expectFailure(1002, 'WS_ERR_EXPECTED_CONTINUATION');
});

serverCase('5.x two fragmented messages back to back, types kept (binary then text)', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.BINARY, payload: 'ab', fin: false },
    { opcode: Opcode.CONTINUATION, payload: 'cd' },
    { opcode: Opcode.TEXT, payload: 'ef', fin: false },
    { opcode: Opcode.PONG, payload: 'ignored' },
    { opcode: Opcode.CONTINUATION, payload: 'gh' },
  ]);
  await c.expectBinary('abcd');
  await c.expectText('efgh');
  await c.closeHandshake();
});

serverCase('5.x fragment flood: one message of 65,536 one-byte fragments -> echoed intact', async (c) => {
  const payload = pseudoRandomBytes(65536, 11);
  const frames: FrameSpec[] = [];
  for (let i = 0; i < payload.length; i++) {
    frames.push({ opcode: i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, payload: payload.subarray(i, i + 1), fin: i === payload.length - 1 });
  }
  await c.sendTogether(frames);
  await c.expectBinary(payload);
  await c.closeHandshake();
}, { timeout: 60_000 });

serverCase('5.x trickle: a fragmented text message with a ping, one byte per write -> pong, then echo', async (c) => {
  const text = Buffer.from('trickle: κόσμε 😀 '.repeat(4));
  await c.writeChopped(
    concatFrames([
      { opcode: Opcode.TEXT, payload: text.subarray(0, 33), fin: false },
      { opcode: Opcode.PING, payload: 'tick' },
      { opcode: Opcode.CONTINUATION, payload: text.subarray(33) },
    ]),
    1,
  );
  await c.expectPong('tick');
  await c.expectText(text);
  await c.closeHandshake();
});
