// Autobahn 1.x: framing of text (1.1.x) and binary (1.2.x) messages at the
// payload-length boundaries of RFC 6455 5.2 (7-bit, 16-bit, 64-bit forms).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Case, Opcode, concatFrames, encodeFrame, pseudoRandomBytes, serverCase, startEchoServer, tcpOnlyTest } from './server-harness.js';
import { connectRaw, upgradeRequest } from '../support/raw-socket.js';

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

tcpOnlyTest('1.x frames in the same packet as the upgrade request -> echoed after the 101', { timeout: 20_000 }, async (t) => {
  const server = await startEchoServer();
  const client = await connectRaw(server.port);
  t.signal.addEventListener('abort', () => void client.destroy());
  try {
    await client.write(
      Buffer.concat([
        Buffer.from(upgradeRequest('/', { Host: `127.0.0.1:${server.port}` })),
        encodeFrame({ opcode: Opcode.TEXT, payload: 'early' }),
        encodeFrame({ opcode: Opcode.PING, payload: 'p' }),
      ]),
    );
    const head = await client.readHttpHead();
    assert.equal(head.status, 101);
    const c = new Case(client, server);
    await c.expectText('early');
    await c.expectPong('p');
    await c.closeHandshake();
  } finally {
    await client.destroy();
    await server.close();
  }
});
