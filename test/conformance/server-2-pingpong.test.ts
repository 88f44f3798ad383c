// Autobahn 2.x: Ping/Pong (RFC 6455 5.5.2, 5.5.3). A Ping is answered by a
// Pong with the same payload; unsolicited Pongs are ignored; control frames
// carry at most 125 bytes.
import assert from 'node:assert/strict';
import { Opcode, concatFrames, hex, pseudoRandomBytes, serverCase } from './server-harness.js';

serverCase('2.1 ping without payload -> pong without payload', async (c) => {
  await c.send({ opcode: Opcode.PING });
  await c.expectPong('');
  await c.closeHandshake();
});

serverCase('2.2 ping with small text payload -> pong with the same payload', async (c) => {
  await c.send({ opcode: Opcode.PING, payload: 'Hello, world!' });
  await c.expectPong('Hello, world!');
  await c.closeHandshake();
});

serverCase('2.3 ping with small binary (non UTF-8) payload -> pong with the same payload', async (c) => {
  const payload = hex('00 ff fe fd fc fb 00 ff');
  await c.send({ opcode: Opcode.PING, payload });
  await c.expectPong(payload);
  await c.closeHandshake();
});

serverCase('2.4 ping with 125-byte binary payload -> pong with the same payload', async (c) => {
  const payload = Buffer.alloc(125, 0xfe);
  await c.send({ opcode: Opcode.PING, payload });
  await c.expectPong(payload);
  await c.closeHandshake();
});

serverCase('2.5 ping with 126-byte payload -> 1002 (control frame too long)', async (c) => {
  await c.send({ opcode: Opcode.PING, payload: Buffer.alloc(126, 0xfe) });
  await c.expectFailure(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
});

serverCase('2.5b ping announcing 126 bytes, header only -> 1002 before the payload is sent', async (c) => {
  // 16-bit length form announcing 126, masked, no payload bytes at all.
  await c.write(hex('89 fe 00 7e 37 fa 21 3d'));
  await c.expectFailure(1002, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
});

serverCase('2.6 ping with 125-byte payload sent in octet-wise chops -> pong with the same payload', async (c) => {
  const payload = Buffer.alloc(125, 0xfe);
  await c.writeChopped(concatFrames([{ opcode: Opcode.PING, payload }]), 1);
  await c.expectPong(payload);
  await c.closeHandshake();
});

serverCase('2.7 unsolicited pong without payload -> ignored', async (c) => {
  await c.send({ opcode: Opcode.PONG });
  // The next frame must be the answer to our Close: nothing answered the pong.
  await c.closeHandshake();
});

serverCase('2.8 unsolicited pong with payload -> ignored', async (c) => {
  await c.send({ opcode: Opcode.PONG, payload: 'unsolicited pong payload' });
  await c.closeHandshake();
});

serverCase('2.9 unsolicited pong with payload, then ping with payload -> only the ping is answered', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.PONG, payload: 'unsolicited pong payload' },
    { opcode: Opcode.PING, payload: 'ping payload' },
  ]);
  await c.expectPong('ping payload');
  await c.closeHandshake();
});

serverCase('2.10 10 pings with payload in one write -> 10 pongs in order', async (c) => {
  const frames = Array.from({ length: 10 }, (_, i) => ({ opcode: Opcode.PING, payload: `payload-${i}` }));
  await c.sendTogether(frames);
  for (let i = 0; i < 10; i++) await c.expectPong(`payload-${i}`);
  await c.closeHandshake();
});

serverCase('2.11 10 pings with payload, sent in octet-wise chops -> 10 pongs in order', async (c) => {
  const frames = Array.from({ length: 10 }, (_, i) => ({ opcode: Opcode.PING, payload: `payload-${i}` }));
  await c.writeChopped(concatFrames(frames), 1);
  for (let i = 0; i < 10; i++) await c.expectPong(`payload-${i}`);
  await c.closeHandshake();
});

serverCase('2.x ping between messages is answered in stream order', async (c) => {
  await c.sendTogether([
    { opcode: Opcode.TEXT, payload: 'before' },
    { opcode: Opcode.PING, payload: 'p' },
    { opcode: Opcode.BINARY, payload: 'after' },
  ]);
  await c.expectText('before');
  await c.expectPong('p');
  await c.expectBinary('after');
  await c.closeHandshake();
});

serverCase('2.x the server emits "ping" and "pong" events with the payloads', async (c) => {
  const side = await c.server.connection;
  const seen: string[] = [];
  side.ws.on('ping', (d: Buffer) => seen.push(`ping:${d.toString()}`));
  side.ws.on('pong', (d: Buffer) => seen.push(`pong:${d.toString()}`));
  await c.sendTogether([
    { opcode: Opcode.PING, payload: 'a' },
    { opcode: Opcode.PONG, payload: 'b' },
  ]);
  await c.expectPong('a');
  await c.closeHandshake();
  // Events are dispatched synchronously as frames are parsed, before the Close is answered.
  assert.deepEqual(seen, ['ping:a', 'pong:b']);
});

serverCase('2.x pings while the server output is congested -> one pong, for the latest ping, after the pending data', async (c) => {
  const side = await c.server.connection;
  const socket = side.ws._socket!;
  const seen: Array<{ payload: string; congested: boolean }> = [];
  const bothPings = new Promise<void>((resolve) =>
    side.ws.on('ping', (d: Buffer) => {
      seen.push({ payload: d.toString(), congested: socket.writableNeedDrain });
      if (seen.length === 2) resolve();
    }),
  );
  // Stop reading: the echo of 32 MiB cannot drain into our socket buffers.
  c.client.socket.pause();
  const payload = pseudoRandomBytes(32 * 1024 * 1024, 32);
  await c.sendTogether([
    { opcode: Opcode.BINARY, payload },
    { opcode: Opcode.PING, payload: 'a' },
    { opcode: Opcode.PING, payload: 'b' },
  ]);
  await bothPings;
  // Precondition, not timing: the pings really arrived while the output was congested.
  assert.deepEqual(seen, [
    { payload: 'a', congested: true },
    { payload: 'b', congested: true },
  ]);
  c.client.socket.resume();
  await c.expectBinary(payload);
  // RFC 6455 5.5.3: an endpoint MAY answer only the most recent Ping.
  await c.expectPong('b');
  await c.closeHandshake();
}, { timeout: 60_000 });
