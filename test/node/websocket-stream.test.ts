// createWebSocketStream: a Duplex over a client WebSocket talking to an echo
// server; each write is a message, each message a readable chunk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { WebSocket, createWebSocketStream } from '../../src/index.js';
import { closeServer, closed, nextConnection, startServer, type Started } from './helpers.js';

const T = { timeout: 20_000 };

async function echoServer(): Promise<Started> {
  const started = await startServer();
  started.wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  return started;
}

/** Deterministic pseudo-random bytes (no Math.random: a failure must reproduce). */
function bytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

test('a Readable piped through the stream to an echo server comes back byte for byte', T, async () => {
  const started = await echoServer();
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url);
    const duplex = createWebSocketStream(client);
    const [server] = await connection;
    const serverClose = closed(server);
    const clientClose = closed(client);

    const chunks = Array.from({ length: 40 }, (_, i) => bytes(1 + i * 997, i));
    const input = Buffer.concat(chunks);
    const received: Buffer[] = [];
    duplex.on('data', (c: Buffer) => received.push(c));
    const ended = once(duplex, 'end');
    const closedStream = once(duplex, 'close');
    Readable.from(chunks).pipe(duplex); // written while CONNECTING: queued until open
    await ended;
    await closedStream;

    const output = Buffer.concat(received);
    assert.equal(output.length, input.length);
    assert.equal(createHash('sha256').update(output).digest('hex'), createHash('sha256').update(input).digest('hex'));
    assert.equal(received.length, chunks.length, 'one chunk per message');
    // end() closes the WebSocket without a status code, as ws does (1005 on both sides).
    assert.equal((await serverClose).code, 1005);
    assert.equal((await clientClose).code, 1005);
    assert.equal(client.readyState, WebSocket.CLOSED);
  } finally {
    await closeServer(started.wss);
  }
});

test('the server closing with 1000 ends the readable side', T, async () => {
  const started = await echoServer();
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url);
    const duplex = createWebSocketStream(client, { readableObjectMode: true });
    const [server] = await connection;
    const clientClose = closed(client);
    const received: unknown[] = [];
    duplex.on('data', (c: unknown) => received.push(c));
    const ended = once(duplex, 'end');
    server.send('as a string');
    server.send(Buffer.from([1, 2]));
    server.close(1000, 'done');
    await ended;
    assert.deepEqual(received, ['as a string', Buffer.from([1, 2])]);
    assert.deepEqual(await clientClose, { code: 1000, reason: 'done' });
    duplex.end();
    await once(duplex, 'close');
  } finally {
    await closeServer(started.wss);
  }
});

test('destroying the stream terminates the WebSocket (1006 on both sides)', T, async () => {
  const started = await echoServer();
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url);
    const duplex = createWebSocketStream(client);
    await once(client, 'open');
    const [server] = await connection;
    const serverClose = closed(server);
    const clientClose = closed(client);
    duplex.destroy();
    await once(duplex, 'close');
    assert.equal((await clientClose).code, 1006);
    assert.equal((await serverClose).code, 1006);
  } finally {
    await closeServer(started.wss);
  }
});
