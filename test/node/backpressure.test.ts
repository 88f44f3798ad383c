// Outgoing flow control on the server side: bufferedAmount and 'drain' with
// a raw client that stops reading, and corking of sends made in one tick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Opcode, handshakeRaw, type RawClient } from '../support/raw-socket.js';
import { closeServer, closed, nextConnection, startServer } from './helpers.js';

const T = { timeout: 30_000 };
const MiB = 1024 * 1024;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("a client that stops reading: bufferedAmount grows, 'drain' follows once it reads again", T, async () => {
  const { wss, port } = await startServer();
  const connection = nextConnection(wss);
  let opened: RawClient | undefined;
  try {
    const client = (opened = await handshakeRaw(port));
    const [server] = await connection;
    client.socket.pause(); // the kernel buffers fill, then ours

    // Send 1 MiB messages until some stay queued in user space after a turn
    // of the event loop; then enough more that no kernel buffer can take
    // them all (loopback buffers are a few MiB at most), so 'drain' can only
    // come once the client reads again.
    let sent = 0;
    let watching = false; // earlier drains (before the kernel filled up) are fine
    let resumed = false;
    let drainedBeforeResume = false;
    server.on('drain', () => {
      if (watching && !resumed) drainedBeforeResume = true;
    });
    const send = (): void => {
      server.send(Buffer.alloc(MiB, sent % 251));
      sent++;
    };
    while (server.bufferedAmount === 0) {
      assert.ok(sent < 256, 'bufferedAmount never grew: is the client really not reading?');
      send();
      await tick();
    }
    watching = true;
    for (let i = 0; i < 16; i++) send();
    assert.ok(server.bufferedAmount >= 16 * MiB, `bufferedAmount ${server.bufferedAmount}`);
    await tick();
    assert.ok(server.bufferedAmount > 0);

    const drained = once(server, 'drain');
    resumed = true;
    client.socket.resume();
    await drained;
    assert.equal(drainedBeforeResume, false);
    assert.equal(server.bufferedAmount, 0);

    // Every message arrives whole and in order.
    for (let i = 0; i < sent; i++) {
      const frame = await client.readFrame();
      assert.equal(frame.opcode, Opcode.BINARY);
      assert.equal(frame.fin, true);
      assert.equal(frame.payload.length, MiB);
      assert.equal(frame.payload[0], i % 251, `message ${i}`);
      assert.equal(frame.payload[MiB - 1], i % 251, `message ${i}`);
    }
    assert.equal(client.buffered, 0);
    const serverClose = closed(server);
    await client.destroy();
    assert.equal((await serverClose).code, 1006);
  } finally {
    await opened?.destroy();
    await closeServer(wss);
  }
});

test('100 sends in one tick are corked into one writev and arrive intact, in order', T, async () => {
  const { wss, port } = await startServer();
  const connection = nextConnection(wss);
  let opened: RawClient | undefined;
  try {
    const client = (opened = await handshakeRaw(port));
    const [server] = await connection;
    // A round trip first, so no earlier write (the 101) is still in flight.
    const echoed = once(server, 'message');
    await client.sendFrame({ opcode: Opcode.TEXT, payload: 'ready?' });
    await echoed;

    type Fn = (this: Socket, ...args: unknown[]) => unknown;
    const socket = server._socket as unknown as { _writev: Fn; _write: Fn };
    const batches: number[] = [];
    let singles = 0;
    const writev = socket._writev;
    const write = socket._write;
    socket._writev = function (...args) {
      batches.push((args[0] as unknown[]).length);
      return writev.apply(this, args);
    };
    socket._write = function (...args) {
      singles++;
      return write.apply(this, args);
    };
    for (let i = 0; i < 100; i++) server.send(`message #${i}`);
    await tick();
    assert.deepEqual(batches, [100], 'one writev with the 100 frames');
    assert.equal(singles, 0);
    socket._writev = writev;
    socket._write = write;

    for (let i = 0; i < 100; i++) {
      const frame = await client.readFrame();
      assert.equal(frame.opcode, Opcode.TEXT);
      assert.equal(frame.payload.toString(), `message #${i}`);
    }
  } finally {
    await opened?.destroy();
    await closeServer(wss);
  }
});
