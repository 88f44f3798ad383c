// Liveness guards of the server, each checked against a raw client that
// behaves (answers pings) or misbehaves (silent, slow handshake, never answers
// a close): events and bytes are asserted, never durations. Where a guard
// must NOT fire, heartbeat pings serve as the clock: N pings at least
// intervalMs apart prove that much time went by, whatever the machine's load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, closePayload, connectRaw, parseClosePayload, type RawClient } from '../support/raw-socket.js';
import { WebSocket } from '../../src/index.js';
import { closeServer, closed, session, startServer } from './helpers.js';

const T = { timeout: 20_000 };

test('heartbeat: a client that answers pings stays connected over many rounds', T, async () => {
  // 12 pings, each at least intervalMs after the previous answer: at least
  // 600 ms, longer than timeoutMs (a client whose pongs were not counted
  // would be gone by then) and than handshakeTimeout (so the slowloris timer
  // must have stopped when the handshake completed). The generous timeoutMs
  // keeps a loaded machine's scheduling stalls from looking like a dead peer.
  const heartbeat = { intervalMs: 50, timeoutMs: 500 };
  await session({ heartbeat, handshakeTimeout: 500 }, async ({ wss, client, server }) => {
    let serverClosed = false;
    server.on('close', () => (serverClosed = true));
    const pongs: Buffer[] = [];
    server.on('pong', (payload: Buffer) => pongs.push(payload));
    let pings = 0;
    while (pings < 12) {
      const frame = await client.readFrame();
      assert.equal(frame.opcode, Opcode.PING, `unexpected opcode ${frame.opcode}`);
      assert.equal(frame.masked, false);
      pings++;
      await client.sendFrame({ opcode: Opcode.PONG, payload: frame.payload });
    }
    assert.ok(pings >= 2);
    assert.ok(pongs.length >= 11, `the server saw ${pongs.length} pongs`);
    assert.equal(serverClosed, false);
    assert.equal(server.readyState, WebSocket.OPEN);
    assert.equal(client.ended, false);
    assert.equal(wss.clients.size, 1);

    // Clean close: more pings may still be on their way before the Close.
    const serverClose = closed(server);
    await client.sendFrame({ opcode: Opcode.CLOSE, payload: closePayload(1000, 'bye') });
    for (;;) {
      const frame = await client.readFrame();
      if (frame.opcode === Opcode.PING) continue;
      assert.equal(frame.opcode, Opcode.CLOSE);
      assert.equal(parseClosePayload(frame.payload).code, 1000);
      break;
    }
    await client.waitForEnd();
    assert.deepEqual(await serverClose, { code: 1000, reason: 'bye' });
  });
});

test('heartbeat: a client that does not answer is terminated (1006) and its socket ends', T, async () => {
  await session({ heartbeat: { intervalMs: 50, timeoutMs: 50 } }, async ({ wss, client, server }) => {
    const serverClose = closed(server);
    const first = await client.readFrame();
    assert.equal(first.opcode, Opcode.PING);
    // Stay silent.
    assert.equal((await serverClose).code, 1006);
    await client.waitForEnd();
    assert.equal(client.ended, true);
    assert.equal(wss.clients.size, 0);
    // Nothing but pings was sent (terminate sends no Close frame).
    while (client.buffered > 0) assert.equal((await client.readFrame()).opcode, Opcode.PING);
  });
});

test('slowloris: an unfinished request head is dropped after handshakeTimeout', T, async () => {
  const { wss, port } = await startServer({ handshakeTimeout: 100 });
  let connections = 0;
  wss.on('connection', () => connections++);
  let opened: RawClient | undefined;
  try {
    const client = (opened = await connectRaw(port));
    await client.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const rest = await client.readUntilEnd();
    assert.equal(rest.length, 0, 'dropped without a response');
    assert.equal(connections, 0);
  } finally {
    await opened?.destroy();
    await closeServer(wss);
  }
});

test('closeTimeout: a peer that never answers our Close is destroyed; close reports 1006', T, async () => {
  await session({ closeTimeout: 100 }, async ({ client, server }) => {
    const serverClose = closed(server);
    server.close(1000, 'going');
    assert.equal(server.readyState, WebSocket.CLOSING);
    const frame = await client.readFrame();
    assert.equal(frame.opcode, Opcode.CLOSE);
    assert.deepEqual(parseClosePayload(frame.payload), { code: 1000, reason: 'going' });
    // Never answer: the server gives up after closeTimeout.
    assert.equal((await serverClose).code, 1006);
    assert.equal(server.readyState, WebSocket.CLOSED);
    await client.waitForEnd();
    assert.equal(client.buffered, 0, 'nothing after the Close frame');
  });
});

test('a server-initiated close handshake that completes reports its code and reason, not 1006', T, async () => {
  await session({ closeTimeout: 10_000 }, async ({ client, server }) => {
    const serverClose = closed(server);
    server.close(4000, 'bye');
    const frame = await client.readFrame();
    assert.equal(frame.opcode, Opcode.CLOSE);
    await client.sendFrame({ opcode: Opcode.CLOSE, payload: frame.payload });
    assert.deepEqual(await serverClose, { code: 4000, reason: 'bye' });
    await client.waitForEnd();
    assert.equal(client.error, undefined);
  });
});
