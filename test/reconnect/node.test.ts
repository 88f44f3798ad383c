// ReconnectingWebSocket (Node) against real servers: a restart (the
// WebSocketServer shut down with 1012, a new one on the same port), a 503
// with Retry-After from maxConnections, a refusal that must not be retried.
// Delays are small and the random source fixed; assertions are on events,
// their order and the bytes the servers received, never on time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ReconnectingWebSocket, WebSocket, WebSocketServer, type ServerOptions } from '../../src/index.js';
import type { CloseInfo } from '../../src/reconnect/index.js';
import { closeServer, opened } from '../node/helpers.js';

/** The next `event` (events.once would reject on the 'error's a reconnecting client emits). */
const next = (client: ReconnectingWebSocket, event: string): Promise<unknown[]> => new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));

const T = { timeout: 20_000 };
const FAST = { initialDelay: 20, factor: 2, maxDelay: 200, random: () => 0.5 };

async function serverOn(port: number, options: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {}) {
  const wss = new WebSocketServer({ ...options, port, host: '127.0.0.1' });
  await once(wss, 'listening');
  const received: string[] = [];
  wss.on('connection', (ws) => ws.on('message', (data) => {
    received.push(String(data));
    ws.send(`echo ${String(data)}`);
  }));
  return { wss, port: (wss.address() as AddressInfo).port, received };
}

function record(client: ReconnectingWebSocket) {
  const log: string[] = [];
  client.on('open', () => log.push('open'));
  client.on('reconnecting', (attempt: number, delay: number, info: CloseInfo) => log.push(`reconnecting ${attempt} ${delay} ${info.code}`));
  client.on('close', (code: number) => log.push(`close ${code}`));
  return log;
}

test('across a real server restart: reconnects, beforeFlush first, then the queue in order; open each time, close once', T, async () => {
  const first = await serverOn(0);
  const port = first.port;
  let hooks = 0;
  const client = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, undefined, {
    ...FAST,
    beforeFlush: (socket) => {
      hooks++;
      socket.send(`hello ${hooks}`);
    },
  });
  client.on('error', () => {}); // refused connects while the server is down
  const log = record(client);
  await next(client, 'open');
  client.send('before');
  assert.deepEqual((await next(client, 'message')).map(String), ['echo hello 1', 'false']);

  // The restart: 1012 to every client, the port closed, then a new server on it.
  const reconnecting = next(client, 'reconnecting');
  await new Promise<void>((resolve) => first.wss.shutdown({}, () => resolve()));
  const [, , info] = (await reconnecting) as [number, number, CloseInfo];
  assert.equal(info.code, 1012);
  assert.equal(client.readyState, ReconnectingWebSocket.CONNECTING);
  client.send('queued 1');
  client.send('queued 2');
  assert.equal(client.queuedMessages, 2);
  const second = await serverOn(port);
  const echoes: string[] = [];
  const lastEcho = new Promise<void>((resolve) => client.on('message', (data: unknown) => {
    echoes.push(String(data));
    if (String(data) === 'echo queued 2') resolve();
  }));
  await next(client, 'open');
  const received = second.received;
  await lastEcho;
  assert.deepEqual(echoes, ['echo hello 2', 'echo queued 1', 'echo queued 2']);
  assert.deepEqual(first.received, ['hello 1', 'before']);
  assert.deepEqual(received, ['hello 2', 'queued 1', 'queued 2']);
  assert.equal(client.queuedMessages, 0);

  const closed = next(client, 'close');
  client.close(1000, 'done');
  assert.deepEqual((await closed).map(String), ['1000', 'done']);
  await closeServer(second.wss);
  // 'open' twice, 'close' once at the end; each 'reconnecting' in between waited the jittered backoff.
  assert.equal(log.filter((e) => e === 'open').length, 2);
  assert.deepEqual(log.filter((e) => e.startsWith('close')), ['close 1000']);
  const waits = log.filter((e) => e.startsWith('reconnecting'));
  assert.ok(waits.length >= 1);
  waits.forEach((e, i) => {
    const delay = Math.min(200, 20 * 2 ** i) / 2;
    assert.equal(e, `reconnecting ${i + 1} ${delay} ${i === 0 ? 1012 : 1006}`);
  });
  assert.equal(log.at(-1), 'close 1000');
});

test("maxConnections' 503 with Retry-After: 5 is honoured (the wait is 5 s plus the jitter), the status in the event", T, async () => {
  const server = await serverOn(0, { maxConnections: 1 });
  const holder = new WebSocket(`ws://127.0.0.1:${server.port}/`);
  await opened(holder);
  const client = new ReconnectingWebSocket(`ws://127.0.0.1:${server.port}/`, undefined, FAST);
  const errors: string[] = [];
  client.on('error', (e: Error) => errors.push(e.message));
  const [attempt, delay, info] = (await next(client, 'reconnecting')) as [number, number, CloseInfo];
  assert.equal(attempt, 1);
  assert.equal(info.status, 503);
  assert.equal(info.retryAfterMs, 5000);
  assert.equal(delay, 5000 + 10);
  assert.deepEqual(errors, ['Unexpected server response: 503']);
  const closed = next(client, 'close');
  client.close();
  assert.equal((await closed)[0], 1005);
  holder.close();
  await closeServer(server.wss);
});

test('a 401 refusal is not retried: one attempt, then close 1006', T, async () => {
  const server = await serverOn(0, { verifyClient: () => false });
  const client = new ReconnectingWebSocket(`ws://127.0.0.1:${server.port}/`, undefined, FAST);
  const log = record(client);
  const errors: string[] = [];
  client.on('error', (e: Error) => errors.push(e.message));
  await next(client, 'close');
  assert.deepEqual(log, ['close 1006']);
  assert.deepEqual(errors, ['Unexpected server response: 401']);
  await closeServer(server.wss);
});

test('close() while connecting: no reconnection, close once; errors without a listener do not throw', T, async () => {
  const server = await serverOn(0);
  const client = new ReconnectingWebSocket(`ws://127.0.0.1:${server.port}/`, undefined, FAST);
  const log = record(client);
  client.close();
  await next(client, 'close');
  assert.deepEqual(log, ['close 1006']);
  assert.equal(client.readyState, ReconnectingWebSocket.CLOSED);
  await closeServer(server.wss);
});

test('reconnectNow() skips the wait: after a 1012 whose backoff is 300 s, it dials at once', T, async () => {
  const server = await serverOn(0);
  let connections = 0;
  server.wss.on('connection', (ws) => {
    if (++connections === 1) ws.close(1012, 'restart');
  });
  // random 0.5 of a 600 s cap: the wait would be 300 s, beyond the test's timeout.
  const client = new ReconnectingWebSocket(`ws://127.0.0.1:${server.port}/`, undefined, { initialDelay: 600_000, maxDelay: 600_000, random: () => 0.5 });
  const log = record(client);
  assert.equal(client.reconnectNow(), false, 'connecting: nothing to skip');
  await next(client, 'reconnecting');
  assert.equal(client.reconnectNow(), true);
  await next(client, 'open');
  assert.equal(client.reconnectNow(), false, 'open: nothing to skip');
  const closed = next(client, 'close');
  client.close();
  await closed;
  assert.deepEqual(log, ['open', 'reconnecting 1 300000 1012', 'open', 'close 1005']);
  assert.equal(connections, 2);
  await closeServer(server.wss);
});
