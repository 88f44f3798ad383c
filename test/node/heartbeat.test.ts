// Liveness guards of the server, each checked against a raw client that
// behaves (answers pings) or misbehaves (silent, slow handshake, never answers
// a close): events and bytes are asserted, never durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Opcode, closePayload, connectRaw, handshakeRaw, parseClosePayload } from '../support/raw-socket.js';
import { WebSocket } from '../../src/index.js';
import { closeServer, closed, nextConnection, startServer } from './helpers.js';

const T = { timeout: 20_000 };
const heartbeat = { intervalMs: 50, timeoutMs: 50 };

test('heartbeat: a client that answers pings stays connected over several rounds', T, async () => {
  // handshakeTimeout as short as a heartbeat round: surviving three rounds
  // also shows the slowloris timer stops once the handshake completed.
  const { wss, port } = await startServer({ heartbeat, handshakeTimeout: heartbeat.intervalMs });
  const connection = nextConnection(wss);
  const client = await handshakeRaw(port);
  try {
    const [server] = await connection;
    let serverClosed = false;
    server.on('close', () => (serverClosed = true));
    const payloads: string[] = [];
    while (payloads.length < 3) {
      const frame = await client.readFrame();
      assert.equal(frame.opcode, Opcode.PING, `unexpected opcode ${frame.opcode}`);
      assert.equal(frame.masked, false);
      payloads.push(frame.payload.toString('hex'));
      await client.sendFrame({ opcode: Opcode.PONG, payload: frame.payload });
    }
    assert.ok(payloads.length >= 2);
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
  } finally {
    await client.destroy();
    await closeServer(wss);
  }
});

test('heartbeat: a client that does not answer is terminated (1006) and its socket ends', T, async () => {
  const { wss, port } = await startServer({ heartbeat });
  const connection = nextConnection(wss);
  const client = await handshakeRaw(port);
  try {
    const [server] = await connection;
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
  } finally {
    await client.destroy();
    await closeServer(wss);
  }
});

test('slowloris: an unfinished request head is dropped after handshakeTimeout', T, async () => {
  const { wss, port } = await startServer({ handshakeTimeout: 100 });
  let connections = 0;
  wss.on('connection', () => connections++);
  const client = await connectRaw(port);
  try {
    await client.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const rest = await client.readUntilEnd();
    assert.equal(rest.length, 0, 'dropped without a response');
    assert.equal(connections, 0);
  } finally {
    await client.destroy();
    await closeServer(wss);
  }
});

test('closeTimeout: a peer that never answers our Close is destroyed; close reports 1006', T, async () => {
  const { wss, port } = await startServer({ closeTimeout: 100 });
  const connection = nextConnection(wss);
  const client = await handshakeRaw(port);
  try {
    const [server] = await connection;
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
  } finally {
    await client.destroy();
    await closeServer(wss);
  }
});

test('closeTimeout does not cut a close handshake that completes', T, async () => {
  const { wss, port } = await startServer({ closeTimeout: 100 });
  const connection = nextConnection(wss);
  const client = await handshakeRaw(port);
  try {
    const [server] = await connection;
    const serverClose = closed(server);
    server.close(4000, 'bye');
    const frame = await client.readFrame();
    assert.equal(frame.opcode, Opcode.CLOSE);
    await client.sendFrame({ opcode: Opcode.CLOSE, payload: frame.payload });
    assert.deepEqual(await serverClose, { code: 4000, reason: 'bye' });
    await client.waitForEnd();
    assert.equal(client.error, undefined);
  } finally {
    await client.destroy();
    await closeServer(wss);
  }
});
