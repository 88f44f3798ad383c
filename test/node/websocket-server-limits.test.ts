// Server limits an operator expects: maxConnections (open connections) and
// maxPendingHandshakes (upgrades waiting for an asynchronous verifyClient;
// the connections before their upgrade on our own port are tested in
// upgrade-server.test.ts). Above either, the upgrade gets 503 with Retry-After
// and the server keeps serving everyone else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer, type VerifyClientCallback } from '../../src/index.js';
import { closeServer, startServer } from './helpers.js';

const T = { timeout: 20_000 };

interface Refusal {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

/** A client whose handshake is refused: the response it saw. */
async function refused(url: string): Promise<Refusal> {
  const client = new WebSocket(url);
  const [, res] = (await once(client, 'unexpected-response')) as [ClientRequest, IncomingMessage];
  let body = '';
  for await (const chunk of res) body += chunk;
  return { status: res.statusCode!, retryAfter: res.headers['retry-after'], body };
}

async function opened(url: string): Promise<WebSocket> {
  const client = new WebSocket(url);
  await once(client, 'open');
  return client;
}

test('maxConnections: the connection above the limit gets 503 with Retry-After 5; once one closes, the next is accepted', T, async () => {
  const { wss, url } = await startServer({ maxConnections: 2 });
  try {
    const a = await opened(url);
    const b = await opened(url);
    assert.deepEqual(await refused(url), { status: 503, retryAfter: '5', body: 'Too many connections (maxConnections is 2)' });
    const [serverSideOfA] = [...wss.clients];
    const gone = once(serverSideOfA!, 'close');
    a.close();
    await gone;
    const c = await opened(url);
    assert.equal(wss.clients.size, 2);
    b.terminate();
    c.terminate();
  } finally {
    await closeServer(wss);
  }
});

test('maxConnections counts connections without clientTracking too', T, async () => {
  const { wss, url } = await startServer({ maxConnections: 1, clientTracking: false });
  try {
    const a = await opened(url);
    assert.equal((await refused(url)).status, 503);
    a.terminate();
  } finally {
    await closeServer(wss);
  }
});

test('maxPendingHandshakes: an upgrade above the limit of those waiting for verifyClient gets 503 with Retry-After 1', T, async () => {
  const waiting: VerifyClientCallback[] = [];
  let arrived: () => void = () => {};
  const { wss, url } = await startServer({
    maxPendingHandshakes: 1,
    verifyClient: (_info, cb) => {
      waiting.push(cb);
      arrived();
    },
  });
  try {
    const first = new WebSocket(url);
    const firstOpen = once(first, 'open');
    await new Promise<void>((resolve) => (arrived = resolve));
    assert.deepEqual(await refused(url), { status: 503, retryAfter: '1', body: 'Too many handshakes in progress' });
    assert.equal(waiting.length, 1, 'the refused one never reached verifyClient');
    waiting[0]!(true);
    await firstOpen;
    // The slot is free again.
    const next = new WebSocket(url);
    await new Promise<void>((resolve) => (arrived = resolve));
    waiting[1]!(true);
    await once(next, 'open');
    first.terminate();
    next.terminate();
  } finally {
    await closeServer(wss);
  }
});

test('limits are validated: negative values throw RangeError', () => {
  assert.throws(() => new WebSocketServer({ noServer: true, maxConnections: -1 }), RangeError);
  assert.throws(() => new WebSocketServer({ noServer: true, maxPendingHandshakes: Number.NaN }), RangeError);
});
