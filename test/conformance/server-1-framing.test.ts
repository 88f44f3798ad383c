// Autobahn 1.x: framing of text (1.1.x) and binary (1.2.x) messages at the
// payload-length boundaries of RFC 6455 5.2 (7-bit, 16-bit, 64-bit forms).
import { Opcode, concatFrames, pseudoRandomBytes, serverCase } from './server-harness.js';

const SIZES: Array<[string, number]> = [
  ['1', 0],
  ['2', 125],
  ['3', 126],
  ['4', 127],
  ['5', 128],
  ['6', 65535],
  ['7', 65536],
];

for (const [n, size] of SIZES) {
  serverCase(`1.1.${n} text message with payload ${size} -> echoed`, async (c) => {
    const payload = Buffer.alloc(size, '*');
    await c.send({ opcode: Opcode.TEXT, payload });
    await c.expectText(payload);
    await c.closeHandshake();
  });
}

serverCase('1.1.8 text message with payload 65536, sent in chops of 997 octets -> echoed', async (c) => {
  const payload = Buffer.alloc(65536, '*');
  await c.writeChopped(concatFrames([{ opcode: Opcode.TEXT, payload }]), 997);
  await c.expectText(payload);
  await c.closeHandshake();
});

for (const [n, size] of SIZES) {
  serverCase(`1.2.${n} binary message with payload ${size} -> echoed`, async (c) => {
    const payload = pseudoRandomBytes(size, size + 1);
    await c.send({ opcode: Opcode.BINARY, payload });
    await c.expectBinary(payload);
    await c.closeHandshake();
  });
}

serverCase('1.2.8 binary message with payload 65536, sent in chops of 997 octets -> echoed', async (c) => {
  const payload = pseudoRandomBytes(65536, 8);
  await c.writeChopped(concatFrames([{ opcode: Opcode.BINARY, payload }]), 997);
  await c.expectBinary(payload);
  await c.closeHandshake();
});

serverCase('1.x text and binary messages back to back in one write keep their order and types', async (c) => {
  const bin = pseudoRandomBytes(300, 3);
  await c.sendTogether([
    { opcode: Opcode.TEXT, payload: 'one' },
    { opcode: Opcode.BINARY, payload: bin },
    { opcode: Opcode.TEXT, payload: '' },
    { opcode: Opcode.BINARY, payload: Buffer.alloc(0) },
  ]);
  await c.expectText('one');
  await c.expectBinary(bin);
  await c.expectText('');
  await c.expectBinary(Buffer.alloc(0));
  await c.closeHandshake();
});

serverCase('1.x unmasked client frame -> 1002', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: 'Hello', mask: false });
  await c.expectFailure(1002, 'WS_ERR_EXPECTED_MASK');
});
