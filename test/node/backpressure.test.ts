// Outgoing flow control on the server side: bufferedAmount and 'drain' with
// a raw client that stops reading, and corking of sends made in one tick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Opcode } from '../support/raw-socket.js';
import { closed, session } from './helpers.js';

const T = { timeout: 30_000 };
const MiB = 1024 * 1024;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("a client that stops reading: bufferedAmount grows, 'drain' follows once it reads again", T, async () => {
  await session({}, async ({ client, server }) => {
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
  });
});

test('100 small sends in one tick are merged into one write of one buffer and arrive intact, in order', T, async () => {
  await session({}, async ({ client, server }) => {
    // A round trip first, so no earlier write (the 101) is still in flight.
    const echoed = once(server, 'message');
    await client.sendFrame({ opcode: Opcode.TEXT, payload: 'ready?' });
    await echoed;

    type Fn = (this: Socket, ...args: unknown[]) => unknown;
    const socket = server._socket as unknown as { _writev: Fn; _write: Fn };
    const batches: number[] = [];
    const singles: number[] = [];
    const writev = socket._writev;
    const write = socket._write;
    socket._writev = function (...args) {
      batches.push((args[0] as unknown[]).length);
      return writev.apply(this, args);
    };
    socket._write = function (...args) {
      singles.push((args[0] as Buffer).length);
      return write.apply(this, args);
    };
    let bytes = 0;
    for (let i = 0; i < 100; i++) {
      server.send(`message #${i}`);
      bytes += 2 + Buffer.byteLength(`message #${i}`);
      assert.equal(server.bufferedAmount, bytes, 'merged bytes count in bufferedAmount before they reach the socket');
    }
    await tick();
    assert.deepEqual(batches, [], 'no writev');
    assert.deepEqual(singles, [bytes], 'one write of one buffer holding the 100 frames');
    socket._writev = writev;
    socket._write = write;

    for (let i = 0; i < 100; i++) {
      const frame = await client.readFrame();
      assert.equal(frame.opcode, Opcode.TEXT);
      assert.equal(frame.payload.toString(), `message #${i}`);
    }
  });
});

test('merging keeps the order around sends with a callback, large frames and the closing handshake', T, async () => {
  await session({}, async ({ client, server }) => {
    const big = Buffer.alloc(20_000, 0x61);
    let called = 0;
    server.send('a');
    server.send('b', () => called++); // has a callback: written on its own, after 'a'
    server.send('c');
    server.send(big); // above the merge size: written as is, after 'c'
    server.send('d');
    server.close(4000, 'bye'); // the Close frame follows 'd'
    const seen: string[] = [];
    for (;;) {
      const frame = await client.readFrame();
      if (frame.opcode === Opcode.CLOSE) {
        assert.equal(frame.payload.readUInt16BE(0), 4000);
        assert.equal(frame.payload.subarray(2).toString(), 'bye');
        break;
      }
      seen.push(frame.payload.length === big.length ? 'big' : frame.payload.toString());
    }
    assert.deepEqual(seen, ['a', 'b', 'c', 'big', 'd']);
    assert.equal(called, 1);
    // The client answers; the server ends TCP after flushing what it still holds.
    const serverClosed = closed(server);
    await client.sendFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x0f, 0xa0]) });
    assert.equal((await serverClosed).code, 4000);
  });
});
