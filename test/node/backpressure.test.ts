// Outgoing flow control on the server side: bufferedAmount and 'drain' with
// a raw client that stops reading, maxBackpressure and its three policies,
// and corking of sends made in one tick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Opcode } from '../support/raw-socket.js';
import { WebSocket } from '../../src/index.js';
import { closed, session } from './helpers.js';

const T = { timeout: 30_000 };
const MiB = 1024 * 1024;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("a client that stops reading: bufferedAmount grows, 'drain' follows once it reads again", T, async () => {
  // maxBackpressure 0: no limit (ws's behaviour), so 16 MiB and more may queue.
  await session({ maxBackpressure: 0 }, async ({ client, server }) => {
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

const LIMIT = 256 * 1024;
const CHUNK = 64 * 1024;

interface Outcome {
  /** bufferedAmount before each accepted send. */
  acceptedBefore: number[];
  /** bufferedAmount before the first refused send. */
  refusedBefore: number;
  error: Error & { code?: string; bufferedAmount?: number; maxBackpressure?: number; policy?: string };
}

/** Send CHUNK-sized messages (byte i % 251) to a peer that does not read, until one is refused. */
async function sendUntilRefused(server: WebSocket, send: (i: number, cb: (err?: Error) => void) => void): Promise<Outcome> {
  const acceptedBefore: number[] = [];
  for (let i = 0; i < 2048; i++) {
    const before = server.bufferedAmount;
    let result: Error | undefined | null = null;
    send(i, (err) => {
      result = err;
    });
    await tick();
    if (result !== null && result !== undefined) return { acceptedBefore, refusedBefore: before, error: result };
    acceptedBefore.push(before);
  }
  throw new Error('no send was refused: is the client really not reading?');
}

for (const policy of ['close', 'drop'] as const) {
  test(`maxBackpressure with policy '${policy}': sends are accepted up to the limit, the next one gets WS_ERR_BACKPRESSURE; every accepted message arrives`, T, async () => {
    const options = policy === 'close' ? { maxBackpressure: LIMIT } : { maxBackpressure: LIMIT, backpressurePolicy: policy };
    await session(options, async ({ wss, client, server }) => {
      client.socket.pause();
      const outcome = await sendUntilRefused(server, (i, cb) => server.send(Buffer.alloc(CHUNK, i % 251), cb));
      assert.deepEqual(wss.stats().backpressure, policy === 'close' ? { closes: 1, drops: 0 } : { closes: 0, drops: 1 });
      assert.equal(outcome.error.code, 'WS_ERR_BACKPRESSURE');
      assert.equal(outcome.error.maxBackpressure, LIMIT);
      assert.equal(outcome.error.policy, policy);
      assert.equal(outcome.error.bufferedAmount, outcome.refusedBefore);
      assert.ok(outcome.refusedBefore > LIMIT, 'refused only above the limit');
      assert.ok(outcome.acceptedBefore.every((b) => b <= LIMIT), 'every send at or under the limit was accepted');
      assert.equal(server.readyState, policy === 'close' ? WebSocket.CLOSING : WebSocket.OPEN);
      const accepted = outcome.acceptedBefore.length;

      if (policy === 'drop') {
        // Still open: once the peer reads, sends go through again.
        client.socket.resume();
        if (server.bufferedAmount > 0) await once(server, 'drain');
        server.send('after');
      }
      client.socket.resume();
      for (let i = 0; i < accepted; i++) {
        const frame = await client.readFrame();
        assert.equal(frame.opcode, Opcode.BINARY, `message ${i}`);
        assert.equal(frame.payload.length, CHUNK);
        assert.equal(frame.payload[CHUNK - 1], i % 251, `message ${i}`);
      }
      const next = await client.readFrame();
      if (policy === 'close') {
        assert.equal(next.opcode, Opcode.CLOSE);
        assert.equal(next.payload.readUInt16BE(0), 1008);
        assert.equal(next.payload.subarray(2).toString(), 'Backpressure limit exceeded');
      } else {
        assert.equal(next.opcode, Opcode.TEXT);
        assert.equal(next.payload.toString(), 'after', 'the refused messages were dropped, nothing else');
      }
    });
  });
}

test("maxBackpressure with policy 'error': the send throws WS_ERR_BACKPRESSURE, the connection stays open; pings are limited too", T, async () => {
  await session({ maxBackpressure: LIMIT, backpressurePolicy: 'error' }, async ({ client, server }) => {
    client.socket.pause();
    let thrown: (Error & { code?: string }) | null = null;
    let accepted = 0;
    for (let i = 0; i < 2048 && thrown === null; i++) {
      try {
        server.send(Buffer.alloc(CHUNK, i % 251));
        accepted++;
      } catch (error) {
        thrown = error as Error;
      }
      await tick();
    }
    assert.ok(thrown !== null, 'a send threw');
    assert.equal(thrown.code, 'WS_ERR_BACKPRESSURE');
    assert.ok(server.bufferedAmount > LIMIT);
    assert.equal(server.readyState, WebSocket.OPEN);
    assert.throws(() => server.ping(), { code: 'WS_ERR_BACKPRESSURE' });
    client.socket.resume();
    for (let i = 0; i < accepted; i++) assert.equal((await client.readFrame()).payload[0], i % 251);
    server.send('marker');
    const next = await client.readFrame();
    assert.equal(next.payload.toString(), 'marker', 'neither the refused send nor the ping went out');
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
