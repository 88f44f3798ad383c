// Autobahn 3.x: reserved bits (RFC 6455 5.2). No extension is negotiated, so
// any RSV bit set fails the connection with 1002. `rsv` is the 3-bit field
// as Autobahn numbers it: 4 = RSV1, 2 = RSV2, 1 = RSV3.
import { Opcode, concatFrames, serverCase } from './server-harness.js';

serverCase('3.1 small text message with RSV = 1 -> 1002', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: 'Hello, world!', rsv: 1 });
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_2_3');
});

serverCase('3.2 small text, then text with RSV = 2, then ping -> echo, then 1002 (ping unanswered)', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.TEXT, payload: 'Hello, world!' },
    { opcode: Opcode.TEXT, payload: 'Hello, world!', rsv: 2 },
    { opcode: Opcode.PING },
  ]);
  await c.expectText('Hello, world!');
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_2_3');
});

serverCase('3.3 small text, then text with RSV = 3, then ping, sent frame-wise -> echo, then 1002', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: 'Hello, world!' });
  // The echo of the valid message arrives before the bad frame is even sent.
  await c.expectText('Hello, world!');
  await c.sendEach([
    { opcode: Opcode.TEXT, payload: 'Hello, world!', rsv: 3 },
    { opcode: Opcode.PING },
  ]);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_2_3');
});

serverCase('3.4 small text, then text with RSV = 4, then ping, sent in octet-wise chops -> echo, then 1002', async (c) => {
  await c.writeChopped(
    concatFrames([
      { opcode: Opcode.TEXT, payload: 'Hello, world!' },
      { opcode: Opcode.TEXT, payload: 'Hello, world!', rsv: 4 },
      { opcode: Opcode.PING },
    ]),
    1,
  );
  await c.expectText('Hello, world!');
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_1');
});

serverCase('3.5 small binary message with RSV = 5 -> 1002', async (c) => {
  await c.send({ opcode: Opcode.BINARY, payload: Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]), rsv: 5 });
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_2_3');
});

serverCase('3.6 ping with RSV = 6 -> 1002 (no pong)', async (c) => {
  await c.send({ opcode: Opcode.PING, payload: Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]), rsv: 6 });
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_2_3');
});

serverCase('3.7 close with RSV = 7 -> 1002 (not a normal close)', async (c) => {
  await c.send({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8]), rsv: 7 });
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_2_3');
});

serverCase('3.x RSV1 on a ping (control frame) -> 1002', async (c) => {
  await c.send({ opcode: Opcode.PING, payload: 'x', rsv: 4 });
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_1');
});

serverCase('3.x RSV1 on a continuation frame -> 1002', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.TEXT, payload: 'frag1', fin: false },
    { opcode: Opcode.CONTINUATION, payload: 'frag2', rsv: 4 },
  ]);
  await c.expectFailure(1002, 'WS_ERR_UNEXPECTED_RSV_1');
});
