// ws's EventTarget-style API on our WebSocket: addEventListener /
// removeEventListener and the on<event> attributes, with browser-like events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, type WsCloseEvent, type WsEvent, type WsMessageEvent } from '../../src/index.js';
import { closeServer, freePort, nextConnection, startServer } from './helpers.js';

const T = { timeout: 20_000 };

test("addEventListener('message'): text as a string, binary as a Buffer; the target is the socket", T, async () => {
  const started = await startServer();
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url);
    const events: WsMessageEvent[] = [];
    const got = new Promise<void>((resolve) =>
      client.addEventListener('message', (event: WsMessageEvent) => {
        events.push(event);
        if (events.length === 2) resolve();
      }),
    );
    const [server] = await connection;
    server.send('hello text');
    server.send(Buffer.from([1, 2, 3]));
    await got;
    assert.equal(events[0]!.type, 'message');
    assert.equal(typeof events[0]!.data, 'string');
    assert.equal(events[0]!.data, 'hello text');
    assert.ok(Buffer.isBuffer(events[1]!.data));
    assert.deepEqual(events[1]!.data, Buffer.from([1, 2, 3]));
    assert.equal(events[0]!.target, client);
    const done = new Promise<void>((resolve) => client.addEventListener('close', () => resolve()));
    client.close(1000);
    await done;
  } finally {
    await closeServer(started.wss);
  }
});

test('onopen / onclose after a clean close: code, reason, wasClean true', T, async () => {
  const started = await startServer();
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url);
    const log: string[] = [];
    const closeEvent = new Promise<WsCloseEvent>((resolve) => {
      client.onopen = (event: WsEvent) => log.push(`open:${event.type}`);
      client.onclose = (event: WsCloseEvent) => {
        log.push('close');
        resolve(event);
      };
    });
    assert.equal(typeof client.onopen, 'function');
    const [server] = await connection;
    server.close(4000, 'see you');
    const event = await closeEvent;
    assert.deepEqual(log, ['open:open', 'close']);
    assert.equal(event.type, 'close');
    assert.equal(event.code, 4000);
    assert.equal(event.reason, 'see you');
    assert.equal(event.wasClean, true);
    assert.equal(event.target, client);
  } finally {
    await closeServer(started.wss);
  }
});

test('onclose after terminate(): code 1006, wasClean false', T, async () => {
  const started = await startServer();
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url);
    const opened = new Promise<void>((resolve) => (client.onopen = () => resolve()));
    const [server] = await connection;
    await opened;
    const serverClosed = new Promise<WsCloseEvent>((resolve) => server.addEventListener('close', resolve));
    const closeEvent = new Promise<WsCloseEvent>((resolve) => (client.onclose = resolve));
    client.terminate();
    const event = await closeEvent;
    assert.equal(event.code, 1006);
    assert.equal(event.wasClean, false);
    assert.equal((await serverClosed).wasClean, false);
  } finally {
    await closeServer(started.wss);
  }
});

test('onerror gets an event with the message; removeEventListener, handleEvent, once, replacing on<event>', T, async () => {
  const started = await startServer();
  try {
    // onerror with an ErrorEvent-like object.
    const bad = new WebSocket(`ws://127.0.0.1:${await freePort()}`);
    const errorEvent = await new Promise<{ type: string; message: string; error: unknown }>((resolve) => (bad.onerror = resolve));
    assert.equal(errorEvent.type, 'error');
    assert.ok(errorEvent.error instanceof Error);
    assert.equal(errorEvent.message, (errorEvent.error as Error).message);
    if (bad.readyState !== WebSocket.CLOSED) await new Promise((resolve) => bad.addEventListener('close', resolve));

    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url);
    const [server] = await connection;
    await new Promise((resolve) => client.addEventListener('open', resolve));

    const seen: string[] = [];
    const removed = (): void => void seen.push('removed');
    const onceOnly = (e: WsMessageEvent): void => void seen.push(`once:${String(e.data)}`);
    const handler = { handleEvent: (e: WsMessageEvent) => seen.push(`object:${String(e.data)}`) };
    client.addEventListener('message', removed);
    client.addEventListener('message', removed); // a duplicate is ignored
    client.removeEventListener('message', removed);
    client.addEventListener('message', onceOnly, { once: true });
    client.addEventListener('message', handler);
    client.onmessage = () => seen.push('first attribute handler');
    const attr = (e: WsMessageEvent): void => void seen.push(`attribute:${String(e.data)}`);
    client.onmessage = attr; // replaces the previous one
    assert.equal(client.onmessage, attr);

    let count = 0;
    const two = new Promise<void>((resolve) => client.on('message', () => ++count === 2 && resolve()));
    server.send('a');
    server.send('b');
    await two;
    assert.deepEqual(seen, ['once:a', 'object:a', 'attribute:a', 'object:b', 'attribute:b']);

    client.onmessage = null;
    assert.equal(client.onmessage, null);
    const closedEvent = new Promise<WsCloseEvent>((resolve) => client.addEventListener('close', resolve));
    client.close(1000, 'bye');
    const event = await closedEvent;
    assert.equal(event.code, 1000);
    assert.equal(event.wasClean, true);
  } finally {
    await closeServer(started.wss);
  }
});
