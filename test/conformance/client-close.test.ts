// Client side, Autobahn category 7 mirrored: the closing handshake as seen
// from our client. It answers a server Close with the same code and waits
// for the server to close TCP first; its own close() sends a masked Close.
import assert from 'node:assert/strict';
import { WebSocket } from '../../src/node/index.js';
import { Opcode, clientCase, closePayload } from './client-harness.js';
import { encodeFrame, parseClosePayload } from '../support/raw-socket.js';

clientCase('C7.1.1 server Close 1000 -> client Close 1000, waits for the server FIN, then "close" 1000', async (c) => {
  await c.serverCloses(1000);
});

clientCase('C7.3.1 server Close with empty payload -> client empty Close; "close" 1005', async (c) => {
  await c.serverCloses(undefined);
});

clientCase('C7.3.4 server Close 1000 "Hello World!" -> client echoes Close 1000 "Hello World!"; "close" 1000 "Hello World!"', async (c) => {
  await c.serverCloses(1000, 'Hello World!');
});

for (const code of [1001, 1011, 1012, 3000, 4999]) {
  clientCase(`C7.7.x server Close ${code} -> echoed; "close" ${code}`, async (c) => {
    await c.serverCloses(code, 'reason');
  });
}

clientCase('C7.1.4 server Close, then text -> no message after the Close', async (c) => {
  const socket = c.ws._socket!;
  await c.peer.write(
    Buffer.concat([
      encodeFrame({ opcode: Opcode.CLOSE, payload: closePayload(1000), mask: false }),
      encodeFrame({ opcode: Opcode.TEXT, payload: 'late', mask: false }),
    ]),
  );
  await c.expectFrame(Opcode.CLOSE, closePayload(1000));
  assert.equal(socket.writableEnded, false);
  c.peer.end();
  assert.deepEqual(await c.events.closed, { code: 1000, reason: '' });
  assert.deepEqual(c.events.log, ['open', 'close:1000:']);
});

clientCase('C7.x client close(4000, "bye") -> masked Close 4000 "bye"; server answer + FIN -> "close" 4000', async (c) => {
  c.ws.close(4000, 'bye');
  assert.equal(c.ws.readyState, WebSocket.CLOSING);
  const frame = await c.expectFrame(Opcode.CLOSE, closePayload(4000, 'bye'));
  assert.deepEqual(parseClosePayload(frame.payload), { code: 4000, reason: 'bye' });
  const socket = c.ws._socket!;
  const processed = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  await c.send({ opcode: Opcode.CLOSE, payload: closePayload(4000, 'bye') });
  await processed;
  // The handshake is complete, but the client still leaves the TCP close to the server.
  assert.equal(socket.writableEnded, false, 'the client must not close TCP before the server');
  c.peer.end();
  assert.deepEqual(await c.events.closed, { code: 4000, reason: 'bye' });
  await c.peer.waitForEnd();
  assert.deepEqual(c.events.errors, []);
});

clientCase('C7.x client close() without code -> Close with empty payload; "close" 1005', async (c) => {
  c.ws.close();
  await c.expectFrame(Opcode.CLOSE, '');
  await c.send({ opcode: Opcode.CLOSE });
  c.peer.end();
  assert.deepEqual(await c.events.closed, { code: 1005, reason: '' });
});

clientCase('C7.x after client close(), server data is still delivered until its Close', async (c) => {
  c.ws.close(1000);
  await c.expectFrame(Opcode.CLOSE, closePayload(1000));
  await c.send({ opcode: Opcode.TEXT, payload: 'late' });
  await c.send({ opcode: Opcode.PING, payload: 'no pong after close' });
  await c.send({ opcode: Opcode.CLOSE, payload: closePayload(1000) });
  await c.expectMessage('late', false);
  c.peer.end();
  assert.deepEqual(await c.events.closed, { code: 1000, reason: '' });
  // No pong, nothing at all after our Close.
  assert.equal((await c.peer.readUntilEnd()).length, 0);
});

clientCase('C7.x close() twice sends one Close frame', async (c) => {
  c.ws.close(1000, 'one');
  c.ws.close(1001, 'two');
  await c.expectFrame(Opcode.CLOSE, closePayload(1000, 'one'));
  await c.send({ opcode: Opcode.CLOSE, payload: closePayload(1000) });
  c.peer.end();
  assert.deepEqual(await c.events.closed, { code: 1000, reason: '' });
  assert.equal((await c.peer.readUntilEnd()).length, 0);
});

clientCase('C7.3.2 server Close with a 1-byte payload -> 1002', async (c) => {
  await c.send({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03]) });
  await c.expectFailure(1002, 'WS_ERR_INVALID_CLOSE_PAYLOAD');
});

clientCase('C7.3.6 server Close with a 124-byte reason (payload 126) -> 1002', async (c) => {
  await c.send({ opcode: Opcode.CLOSE, payload: closePayload(1000, '*'.repeat(124)) });
  await c.expectFailure(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
});

clientCase('C7.5.1 server Close with an invalid UTF-8 reason -> 1007', async (c) => {
  await c.send({ opcode: Opcode.CLOSE, payload: Buffer.concat([closePayload(1000), Buffer.from('ceba eda080'.replace(' ', ''), 'hex')]) });
  await c.expectFailure(1007, 'WS_ERR_INVALID_UTF8');
});

for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
  clientCase(`C7.9.x server Close with invalid code ${code} -> 1002`, async (c) => {
    await c.send({ opcode: Opcode.CLOSE, payload: closePayload(code) });
    await c.expectFailure(1002, 'WS_ERR_INVALID_CLOSE_CODE');
  });
}

clientCase('C7.x the server drops TCP without a Close -> "close" 1006, no error', async (c) => {
  c.peer.end();
  assert.deepEqual(await c.events.closed, { code: 1006, reason: '' });
  assert.deepEqual(c.events.errors, []);
});

clientCase(
  'C7.x the server never closes TCP after the handshake -> the client gives up after closeTimeout ("close" 1000)',
  async (c) => {
    await c.send({ opcode: Opcode.CLOSE, payload: closePayload(1000) });
    await c.expectFrame(Opcode.CLOSE, closePayload(1000));
    // We neither end nor destroy: the client's closeTimeout destroys the socket.
    assert.deepEqual(await c.events.closed, { code: 1000, reason: '' });
    await c.peer.waitForEnd();
  },
  { client: { closeTimeout: 50 } },
);

clientCase('C7.x server Close and FIN together -> client still answers Close; "close" 1000', async (c) => {
  await c.send({ opcode: Opcode.CLOSE, payload: closePayload(1000, 'bye') });
  c.peer.end();
  await c.expectFrame(Opcode.CLOSE, closePayload(1000, 'bye'));
  assert.deepEqual(await c.events.closed, { code: 1000, reason: 'bye' });
  assert.equal((await c.peer.readUntilEnd()).length, 0);
  assert.deepEqual(c.events.errors, []);
});
