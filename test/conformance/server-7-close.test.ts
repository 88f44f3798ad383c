// Autobahn 7.x: the closing handshake (RFC 6455 5.5.1, 7.1-7.4). The server
// answers a Close with a Close carrying the same code and reason (as ws and
// Chromium do), reads nothing after
// it, and closes TCP first without waiting for the client; invalid close
// payloads and codes fail the connection.
import assert from 'node:assert/strict';
import { Opcode, closePayload, pseudoRandomBytes, serverCase } from './server-harness.js';

// ---- 7.1 behaviour around the Close frame

serverCase('7.1.1 text message, then close -> echo, then close 1000 and the server closes TCP', async (c) => {
  await c.sendText('Hello World!');
  await c.expectText('Hello World!');
  await c.closeHandshake(1000);
});

serverCase('7.1.2 close, then a second close -> exactly one close answered', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.CLOSE, payload: closePayload(1000) },
    { opcode: Opcode.CLOSE, payload: closePayload(1000) },
  ]);
  await c.expectClosedCleanly(1000);
});

serverCase('7.1.3 close, then ping -> no pong after the close', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.CLOSE, payload: closePayload(1000) },
    { opcode: Opcode.PING, payload: 'Hello World!' },
  ]);
  await c.expectClosedCleanly(1000);
});

serverCase('7.1.4 close, then text -> the text is not echoed', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.CLOSE, payload: closePayload(1000) },
    { opcode: Opcode.TEXT, payload: 'Hello World!' },
  ]);
  await c.expectClosedCleanly(1000);
});

serverCase('7.1.5 text fragment 1, close, text fragment 2 -> close answered, no message', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.TEXT, payload: 'fragment1', fin: false },
    { opcode: Opcode.CLOSE, payload: closePayload(1000) },
    { opcode: Opcode.CONTINUATION, payload: 'fragment2' },
  ]);
  await c.expectClosedCleanly(1000);
});

serverCase('7.1.6 256 KiB message, then close, then ping -> echo, close 1000, no pong', async (c) => {
  const payload = Buffer.alloc(256 * 1024, 'BAsd7&jh23');
  await c.sendTogether([
    { opcode: Opcode.TEXT, payload },
    { opcode: Opcode.CLOSE, payload: closePayload(1000) },
    { opcode: Opcode.PING, payload: 'Hello World!' },
  ]);
  await c.expectText(payload);
  await c.expectClosedCleanly(1000);
});

// ---- 7.3 close payloads

serverCase('7.3.1 close with empty payload -> close with empty payload (server reports 1005)', async (c) => {
  await c.send({ opcode: Opcode.CLOSE });
  await c.expectClosedCleanly(undefined);
});

serverCase('7.3.2 close with 1-byte payload -> 1002', async (c) => {
  await c.send({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03]) });
  await c.expectFailure(1002, 'WS_ERR_INVALID_CLOSE_PAYLOAD');
});

serverCase('7.3.3 close 1000 without reason -> close 1000 (payload exactly 03 e8)', async (c) => {
  await c.send({ opcode: Opcode.CLOSE, payload: closePayload(1000) });
  const frame = await c.readFrame();
  assert.deepEqual({ opcode: frame.opcode, payload: frame.payload }, { opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8]) });
  await c.client.waitForEnd();
  assert.equal(c.client.buffered, 0);
});

serverCase('7.3.4 close 1000 with reason "Hello World!" -> close 1000 "Hello World!"; the server sees the reason', async (c) => {
  await c.closeHandshake(1000, 'Hello World!');
});

serverCase('7.3.5 close 1000 with a 123-byte reason (payload 125) -> echoed', async (c) => {
  await c.closeHandshake(1000, '*'.repeat(123));
});

serverCase('7.3.6 close 1000 with a 124-byte reason (payload 126) -> 1002 (control frame too long)', async (c) => {
  await c.send({ opcode: Opcode.CLOSE, payload: closePayload(1000, '*'.repeat(124)) });
  await c.expectFailure(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
});

serverCase('7.3.x close 1000 with a multi-byte UTF-8 reason -> echoed; reason decoded', async (c) => {
  await c.closeHandshake(1000, 'κόσμε 😀');
});

// ---- 7.5 invalid UTF-8 reason

serverCase('7.5.1 close 1000 with an invalid UTF-8 reason -> 1007', async (c) => {
  const payload = Buffer.concat([closePayload(1000), Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex')]);
  await c.send({ opcode: Opcode.CLOSE, payload });
  await c.expectFailure(1007, 'WS_ERR_INVALID_UTF8');
});

serverCase('7.5.x close 1000 with a reason ending in a truncated sequence -> 1007', async (c) => {
  await c.send({ opcode: Opcode.CLOSE, payload: Buffer.concat([closePayload(1000), Buffer.from([0x41, 0xe2, 0x82])]) });
  await c.expectFailure(1007, 'WS_ERR_INVALID_UTF8');
});

// ---- 7.7 valid close codes are echoed

const VALID = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
VALID.forEach((code, i) => {
  serverCase(`7.7.${i + 1} close with valid code ${code} -> echoed`, async (c) => {
    await c.closeHandshake(code);
  });
});

// 1012-1014 were registered with IANA after RFC 6455 (Service Restart, Try
// Again Later, Bad Gateway): we accept them, as ws and browsers do.
[1012, 1013, 1014].forEach((code, i) => {
  serverCase(`7.7.x${i + 1} close with IANA-registered code ${code} -> echoed`, async (c) => {
    await c.closeHandshake(code);
  });
});

// ---- 7.9 / 7.13 invalid close codes fail the connection

const INVALID: Array<[string, number]> = [
  ['7.9.1', 0],
  ['7.9.2', 999],
  ['7.9.3', 1004],
  ['7.9.4', 1005],
  ['7.9.5', 1006],
  ['7.9.9', 1015],
  ['7.9.10', 1016],
  ['7.9.11', 1100],
  ['7.9.12', 2000],
  ['7.9.13', 2999],
  ['7.13.1', 5000],
  ['7.13.2', 65535],
];
for (const [id, code] of INVALID) {
  serverCase(`${id} close with invalid code ${code} -> 1002`, async (c) => {
    await c.send({ opcode: Opcode.CLOSE, payload: closePayload(code) });
    await c.expectFailure(1002, 'WS_ERR_INVALID_CLOSE_CODE');
  });
}

// ---- server-initiated close

serverCase('7.x server close(1001, "bye") -> Close 1001 "bye"; the client answer completes it, server closes TCP', async (c) => {
  const side = await c.server.connection;
  side.ws.close(1001, 'bye');
  const frame = await c.readFrame();
  assert.deepEqual({ opcode: frame.opcode, masked: frame.masked, payload: frame.payload }, { opcode: Opcode.CLOSE, masked: false, payload: closePayload(1001, 'bye') });
  await c.send({ opcode: Opcode.CLOSE, payload: closePayload(1001) });
  // The server closes TCP once our Close arrived; nothing else is sent.
  assert.equal((await c.client.readUntilEnd()).length, 0);
  c.client.end();
  assert.deepEqual(await side.closed, { code: 1001, reason: '' });
});

serverCase('7.x after the server closes, client messages are still delivered but no longer echoed', async (c) => {
  const side = await c.server.connection;
  const received: string[] = [];
  side.ws.on('message', (d: Buffer) => received.push(d.toString()));
  side.ws.close(1000);
  await c.expectFrame(Opcode.CLOSE, closePayload(1000));
  await c.sendTogether([
    { opcode: Opcode.TEXT, payload: 'late' },
    { opcode: Opcode.CLOSE, payload: closePayload(1000) },
  ]);
  assert.equal((await c.client.readUntilEnd()).length, 0, 'no echo after the server Close');
  c.client.end();
  assert.deepEqual(await side.closed, { code: 1000, reason: '' });
  assert.deepEqual(received, ['late']);
});

serverCase(
  '7.x a client that never answers the server Close is dropped after closeTimeout',
  async (c) => {
    const side = await c.server.connection;
    side.ws.close(1000);
    await c.expectFrame(Opcode.CLOSE, closePayload(1000));
    // We never answer: the server gives up and destroys the socket.
    await c.client.waitForEnd();
    assert.deepEqual(await side.closed, { code: 1006, reason: '' });
  },
  { server: { closeTimeout: 50 } },
);

serverCase('7.x data after a failed frame is ignored: no echo of a valid message behind the bad one', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.TEXT, payload: 'ok' },
    { opcode: 3 },
    { opcode: Opcode.BINARY, payload: pseudoRandomBytes(10) },
  ]);
  await c.expectText('ok');
  await c.expectFailure(1002, 'WS_ERR_INVALID_OPCODE');
});

serverCase('7.x client Close and FIN together -> the server still answers Close, then closes TCP', async (c) => {
  await c.send({ opcode: Opcode.CLOSE, payload: closePayload(1000, 'done') });
  c.client.end();
  await c.expectClose(1000, 'done');
  const side = await c.server.connection;
  assert.deepEqual(await side.closed, { code: 1000, reason: 'done' });
});

serverCase('7.x client FIN without a Close -> no Close frame, server "close" 1006', async (c) => {
  await c.sendText('last words');
  await c.expectText('last words');
  c.client.end();
  assert.equal((await c.client.readUntilEnd()).length, 0);
  const side = await c.server.connection;
  assert.deepEqual(await side.closed, { code: 1006, reason: '' });
  assert.deepEqual(side.errors, []);
});

serverCase('7.x client reset (RST) in the middle of a message -> server "close" 1006, no error event', async (c) => {
  await c.send({ opcode: Opcode.TEXT, payload: 'partial', fin: false });
  c.client.reset();
  const side = await c.server.connection;
  assert.deepEqual(await side.closed, { code: 1006, reason: '' });
  assert.deepEqual(side.errors, []);
});
