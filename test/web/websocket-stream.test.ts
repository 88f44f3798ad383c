// WebSocketStream: the standard's shape against our server and a ws server,
// and backpressure both ways asserted on bytes: a reader that stops reading
// pauses the socket (the sender's bytes stay with the sender), and a writer
// that awaits `ready` never lets the socket's buffer grow past one message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer as WsServer } from 'ws';
import { WebSocket } from '../../src/index.js';
import { WebSocketError, WebSocketStream } from '../../src/web/index.js';
import { closeServer, nextConnection, startServer } from '../node/helpers.js';

const T = { timeout: 30_000 };

/** Resolves once `condition()` holds, checking on each turn of the event loop (a safety limit, not an assertion). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 2_000_000) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function echoRoundTrip(url: string, protocols: string[]) {
  const stream = new WebSocketStream(url, { protocols });
  const { readable, writable, protocol, extensions } = await stream.opened;
  const writer = writable.getWriter();
  const reader = readable.getReader();
  await writer.write('text');
  await writer.write(new Uint8Array([1, 2, 3]));
  const first = await reader.read();
  const second = await reader.read();
  stream.close({ closeCode: 4000, reason: 'bye' });
  const closed = await stream.closed;
  assert.equal((await reader.read()).done, true);
  return { protocol, extensions, first: first.value, second: second.value, closed };
}

test('against our server: opened (protocol, extensions), text and binary both ways, close({ closeCode, reason }), closed', T, async () => {
  const started = await startServer({ handleProtocols: (p: Set<string>) => [...p][0] ?? false });
  started.wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  const r = await echoRoundTrip(started.url, ['chat']);
  assert.equal(r.protocol, 'chat');
  assert.equal(r.extensions, '');
  assert.equal(r.first, 'text');
  assert.ok(r.second instanceof Uint8Array);
  assert.deepEqual([...(r.second as Uint8Array)], [1, 2, 3]);
  assert.deepEqual(r.closed, { closeCode: 4000, reason: 'bye' });
  await closeServer(started.wss);
});

test('against a ws server: the same, with permessage-deflate negotiated', T, async () => {
  const wss = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true, handleProtocols: (p) => [...p][0] ?? false });
  await once(wss, 'listening');
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  const r = await echoRoundTrip(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, ['v1']);
  assert.equal(r.protocol, 'v1');
  assert.equal(r.extensions, 'permessage-deflate');
  assert.equal(r.first, 'text');
  assert.deepEqual([...(r.second as Uint8Array)], [1, 2, 3]);
  assert.deepEqual(r.closed, { closeCode: 4000, reason: 'bye' });
  await new Promise((resolve) => wss.close(resolve));
});

test('a refused handshake rejects opened and closed with a WebSocketError; an aborted signal rejects at once', T, async () => {
  const started = await startServer({ verifyClient: () => false });
  const stream = new WebSocketStream(started.url);
  const error = await stream.opened.then(() => null, (e: unknown) => e);
  assert.ok(error instanceof WebSocketError);
  assert.ok(error instanceof DOMException);
  assert.equal(error.closeCode, 1006);
  await assert.rejects(stream.closed, (e: unknown) => e instanceof WebSocketError && e.closeCode === 1006);
  const controller = new AbortController();
  controller.abort();
  const aborted = new WebSocketStream(started.url, { signal: controller.signal });
  await assert.rejects(aborted.opened, { name: 'AbortError' });
  assert.throws(() => stream.close({ closeCode: 1001 }), { name: 'InvalidAccessError' });
  await closeServer(started.wss);
});

test('the server closing ends the readable, and closed gives its code and reason', T, async () => {
  const started = await startServer();
  const connection = nextConnection(started.wss);
  const stream = new WebSocketStream(started.url);
  const { readable } = await stream.opened;
  const [server] = await connection;
  server.send('last');
  server.close(1001, 'going');
  const reader = readable.getReader();
  assert.equal((await reader.read()).value, 'last');
  assert.equal((await reader.read()).done, true);
  assert.deepEqual(await stream.closed, { closeCode: 1001, reason: 'going' });
  await closeServer(started.wss);
});

test('read backpressure (server side, WebSocketStream.from): an idle reader pauses the socket; the sender keeps its bytes; reading resumes it', T, async () => {
  const started = await startServer();
  const connection = nextConnection(started.wss);
  const client = new WebSocket(started.url, { perMessageDeflate: false });
  await once(client, 'open');
  const [server] = await connection;
  const stream = WebSocketStream.from(server, { readableHighWaterMark: 64 * 1024 });
  const { readable } = await stream.opened;

  // The client sends 32 MiB as fast as its socket drains.
  const chunk = Buffer.alloc(64 * 1024);
  const total = 512;
  let sent = 0;
  let senderPeak = 0;
  const sending = (async () => {
    while (sent < total) {
      chunk.writeUInt32BE(sent, 0);
      client.send(chunk);
      sent++;
      senderPeak = Math.max(senderPeak, client.bufferedAmount);
      if (client.bufferedAmount > 1024 * 1024) await once(client, 'drain');
    }
  })();

  // Nobody reads: the server's socket is paused and the client is left holding what it cannot send.
  await until(() => server.isPaused && client.bufferedAmount > 0, 'server paused, client holding bytes');
  assert.ok(sent < total, `the sender got stuck after ${sent} of ${total} messages`);
  assert.ok(senderPeak > 1024 * 1024, `the sender held up to ${senderPeak} bytes`);

  // Reading drains it all, in order, and the socket reads again.
  const reader = readable.getReader();
  const hash = createHash('sha256');
  for (let i = 0; i < total; i++) {
    const { value } = await reader.read();
    const bytes = value as Uint8Array;
    assert.equal(Buffer.from(bytes.buffer, bytes.byteOffset, 4).readUInt32BE(0), i);
    hash.update(bytes);
  }
  await sending;
  assert.equal(server.isPaused, false);
  client.close();
  await stream.closed;
  await closeServer(started.wss);
});

test('write backpressure (server side): against a peer that does not read, a writer awaiting ready stops; the socket buffer never holds more than a message', T, async () => {
  const started = await startServer();
  const connection = nextConnection(started.wss);
  const client = new WebSocket(started.url, { perMessageDeflate: false });
  await once(client, 'open');
  const [server] = await connection;
  client.pause();
  let received = 0;
  client.on('message', (data: Buffer) => (received += data.length));
  const stream = WebSocketStream.from(server, { writableHighWaterMark: 64 * 1024 });
  const { writable } = await stream.opened;

  const writer = writable.getWriter();
  const chunk = new Uint8Array(64 * 1024);
  const total = 1024; // 64 MiB: far more than the kernel's buffers hold
  let written = 0;
  let socketPeak = 0;
  const writing = (async () => {
    while (written < total) {
      await writer.ready;
      void writer.write(chunk).then(() => (socketPeak = Math.max(socketPeak, server.bufferedAmount)));
      written++;
    }
  })();

  await until(() => writer.desiredSize !== null && writer.desiredSize <= 0 && server.bufferedAmount > 0, 'writer waiting, socket holding a message');
  assert.ok(written < total, `the writer stopped after ${written} of ${total} messages`);
  assert.ok(server.bufferedAmount <= 2 * chunk.byteLength + 16, `socket buffer ${server.bufferedAmount}`);

  client.resume();
  await writing;
  await until(() => received === total * chunk.byteLength, 'everything received');
  assert.ok(socketPeak <= 2 * chunk.byteLength + 16, `socket buffer peaked at ${socketPeak}`);
  stream.close();
  await stream.closed;
  await closeServer(started.wss);
});

test('read backpressure (client side, new WebSocketStream(url)): an idle reader stops the client reading; the server keeps its bytes; reading takes them all in order', T, async () => {
  const started = await startServer();
  const connection = nextConnection(started.wss);
  const stream = new WebSocketStream(started.url, { perMessageDeflate: false, readableHighWaterMark: 64 * 1024 });
  const { readable } = await stream.opened;
  const [server] = await connection;

  // The server sends 32 MiB as fast as its socket drains (a Buffer each: a server's frames are not copied, as in ws).
  const size = 64 * 1024;
  const total = 512;
  let sent = 0;
  let serverPeak = 0;
  const sending = (async () => {
    while (sent < total) {
      const chunk = Buffer.alloc(size);
      chunk.writeUInt32BE(sent, 0);
      server.send(chunk);
      sent++;
      serverPeak = Math.max(serverPeak, server.bufferedAmount);
      if (server.bufferedAmount > 1024 * 1024) await once(server, 'drain');
    }
  })();

  // Nobody reads on the client: it stops reading its socket, and the server is left holding bytes.
  await until(() => server.bufferedAmount > 1024 * 1024, 'server holding more than 1 MiB');
  // Give the client every chance to read on (32 MiB on loopback goes in far fewer turns): the server must stay stuck.
  for (let i = 0; i < 2000; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(sent < total / 2, `the server got stuck after ${sent} of ${total} messages`);
  assert.ok(server.bufferedAmount > 0, 'the server holds the bytes the client does not read');

  const reader = readable.getReader();
  for (let i = 0; i < total; i++) {
    const { value } = await reader.read();
    const bytes = value as Uint8Array;
    assert.equal(bytes.byteLength, size);
    assert.equal(Buffer.from(bytes.buffer, bytes.byteOffset, 4).readUInt32BE(0), i);
  }
  await sending;
  assert.ok(serverPeak > 1024 * 1024, `the server held up to ${serverPeak} bytes`);
  stream.close();
  await stream.closed;
  await closeServer(started.wss);
});

test('write backpressure (client side): against a server that does not read, a writer awaiting ready stops; everything arrives once the server reads', T, async () => {
  const started = await startServer();
  const connection = nextConnection(started.wss);
  const stream = new WebSocketStream(started.url, { perMessageDeflate: false, writableHighWaterMark: 64 * 1024 });
  const { writable } = await stream.opened;
  const [server] = await connection;
  server.pause();
  let received = 0;
  server.on('message', (data: Buffer) => (received += data.length));

  const writer = writable.getWriter();
  const chunk = new Uint8Array(64 * 1024);
  const total = 1024; // 64 MiB: far more than the kernel's buffers hold
  let written = 0;
  const writing = (async () => {
    while (written < total) {
      await writer.ready;
      void writer.write(chunk);
      written++;
    }
  })();

  await until(() => writer.desiredSize !== null && writer.desiredSize <= 0 && written > 0, 'writer waiting');
  // Let the kernel buffers fill: the writer must still be stuck well short of the end.
  for (let i = 0; i < 1000; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(written < total / 2, `the writer stopped after ${written} of ${total} messages`);
  assert.equal(received, 0);

  server.resume();
  await writing;
  await until(() => received === total * chunk.byteLength, 'everything received');
  stream.close();
  await stream.closed;
  await closeServer(started.wss);
});
