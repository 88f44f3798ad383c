// Autobahn 4.x: reserved opcodes (RFC 6455 5.2): 3-7 (non-control, 4.1.x)
// and 0xB-0xF (control, 4.2.x) fail the connection with 1002, also after a
// valid message (which is echoed first) and when a ping follows (unanswered).
import { Opcode, concatFrames, serverCase } from './server-harness.js';

const BIN = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);

for (const [group, ops] of [
  ['4.1', [3, 4, 5, 6, 7]],
  ['4.2', [11, 12, 13, 14, 15]],
] as const) {
  const [a, b, c3, d, e] = ops;
  serverCase(`${group}.1 frame with reserved opcode ${a} (no payload) -> 1002`, async (c) => {
    await c.send({ opcode: a });
    await c.expectFailure(1002, 'WS_ERR_INVALID_OPCODE');
  });

  serverCase(`${group}.2 frame with reserved opcode ${b} and payload -> 1002`, async (c) => {
    await c.send({ opcode: b, payload: BIN });
    await c.expectFailure(1002, 'WS_ERR_INVALID_OPCODE');
  });

  serverCase(`${group}.3 text, then reserved opcode ${c3}, then ping -> echo, then 1002`, async (c) => {
    await c.sendTogether([{ opcode: Opcode.TEXT, payload: 'Hello, world!' }, { opcode: c3 }, { opcode: Opcode.PING }]);
    await c.expectText('Hello, world!');
    await c.expectFailure(1002, 'WS_ERR_INVALID_OPCODE');
  });

  serverCase(`${group}.4 text, then reserved opcode ${d} with payload, then ping, frame-wise -> echo, then 1002`, async (c) => {
    await c.send({ opcode: Opcode.TEXT, payload: 'Hello, world!' });
    await c.expectText('Hello, world!');
    await c.sendEach([{ opcode: d, payload: BIN }, { opcode: Opcode.PING }]);
    await c.expectFailure(1002, 'WS_ERR_INVALID_OPCODE');
  });

  serverCase(`${group}.5 text, then reserved opcode ${e} with payload, then ping, octet-wise chops -> echo, then 1002`, async (c) => {
    await c.writeChopped(
      concatFrames([{ opcode: Opcode.TEXT, payload: 'Hello, world!' }, { opcode: e, payload: BIN }, { opcode: Opcode.PING }]),
      1,
    );
    await c.expectText('Hello, world!');
    await c.expectFailure(1002, 'WS_ERR_INVALID_OPCODE');
  });
}

serverCase('4.x reserved opcode 3 inside a fragmented message -> 1002', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.TEXT, payload: 'frag1', fin: false },
    { opcode: 3, payload: 'x' },
  ]);
  await c.expectFailure(1002, 'WS_ERR_INVALID_OPCODE');
});
