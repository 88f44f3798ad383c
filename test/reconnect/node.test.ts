// ReconnectingWebSocket (Node) against real servers: a restart (the
// WebSocketServer shut down with 1012, a new one on the same port), a 503
// with Retry-After from maxConnections, a refusal that must not be retried.
// Delays are small and the random source fixed; assertions are on events,
// their order and the bytes the servers received, never on time.
import { test } from 'node:test';
import http2, { type Http2SecureServer, type Http2Server } from 'node:http2';
import type { Duplex } from 'node:stream';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ReconnectingWebSocket, WebSocket, WebSocketServer, type ServerOptions } from '../../src/index.js';
import type { CloseInfo } from '../../src/reconnect/index.js';
import { closeServer, opened } from '../node/helpers.js';
import { http2SessionCount } from '../../src/node/http2-client.js';
import { createTestCertificate } from '../support/tls.js';
import { opensslPath, skipReason } from '../support/system.js';

/** The next `event` (events.once would reject on the 'error's a reconnecting client emits). */
const next = (client: ReconnectingWebSocket, event: string): Promise<unknown[]> => new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));

const T = { timeout: 20_000 };
const FAST = { initialDelay: 20, factor: 2, maxDelay: 200, random: () => 0.5 };

/** Our server on `port`, or attached to `options.server` (which the caller makes listen). */
async function serverOn(port: number, options: Omit<ServerOptions, 'port' | 'noServer'> = {}) {
  const wss = options.server !== undefined ? new WebSocketServer(options) : new WebSocketServer({ ...options, port, host: '127.0.0.1' });
  if (options.server === undefined) await once(wss, 'listening');
  const received: string[] = [];
  wss.on('connection', (ws) => ws.on('message', (data) => {
    received.push(String(data));
    ws.send(`echo ${String(data)}`);
  }));
  return { wss, port: options.server !== undefined ? 0 : (wss.address() as AddressInfo).port, received };
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

// ---- over HTTP/2 (RFC 8441): h2c with `http2: true`, and TLS with `http2: 'auto'`

/**
 * Two ReconnectingWebSockets sharing one pooled session, across a restart of
 * an HTTP/2 server on the same port ('restart': 1012, GOAWAY, a new server),
 * or the session's connection dying under them ('drop': destroyed on the
 * server, which keeps listening, so the clients' first attempts go straight
 * back to it: the pool must have dropped the dead session by then).
 */
async function restartOverHttp2(mode: 'h2c' | 'tls', how: 'restart' | 'drop' = 'restart') {
  const tls = mode === 'tls' ? await createTestCertificate() : undefined;
  const serverHttp2 = tls !== undefined ? { key: tls.key, cert: tls.cert } : true;
  const clientOptions = tls !== undefined ? { http2: 'auto' as const, ca: tls.ca } : { http2: true as const };
  /**
   * A server that also notes each WebSocket's HTTP version and session: ours
   * (`port` + `http2`) for 'restart'; for 'drop' a node:http2 server of the
   * test's (`server`), whose TCP connections the test can destroy.
   */
  const h2Server = async (port: number) => {
    const sockets = new Set<Duplex>();
    let http2Server: Http2Server | Http2SecureServer | undefined;
    let s: Awaited<ReturnType<typeof serverOn>>;
    if (how === 'restart') s = await serverOn(port, { http2: serverHttp2 });
    else {
      const h2 = tls !== undefined ? http2.createSecureServer({ key: tls.key, cert: tls.cert }) : http2.createServer();
      h2.on(tls !== undefined ? 'secureConnection' : 'connection', (socket: Duplex) => sockets.add(socket));
      http2Server = h2;
      s = await serverOn(0, { server: h2 });
      await new Promise<void>((resolve) => h2.listen(port, '127.0.0.1', resolve));
      s.port = (h2.address() as AddressInfo).port;
    }
    const versions: string[] = [];
    const sessions = new Set<unknown>();
    s.wss.on('connection', (_ws, req) => {
      versions.push(req.httpVersion);
      sessions.add((req as unknown as { stream: { session: unknown } }).stream.session);
    });
    const close = async () => {
      await closeServer(s.wss);
      if (http2Server !== undefined) {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => http2Server!.close(() => resolve()));
      }
    };
    return { ...s, versions, sessions, sockets, close };
  };
  const first = await h2Server(0);
  const port = first.port;
  const url = `${tls !== undefined ? 'wss' : 'ws'}://127.0.0.1:${port}/`;
  const names = ['a', 'b'] as const;
  const clients = names.map(() => new ReconnectingWebSocket(url, undefined, { ...FAST, ...clientOptions }));
  const errors: string[] = [];
  for (const client of clients) client.on('error', (e: Error) => errors.push(e.message));
  const echoed = (client: ReconnectingWebSocket, last: string) => {
    const got: string[] = [];
    return new Promise<string[]>((resolve) => {
      const onMessage = (data: unknown) => {
        got.push(String(data));
        if (String(data) === last) {
          client.off('message', onMessage);
          resolve(got);
        }
      };
      client.on('message', onMessage);
    });
  };
  try {
    await Promise.all(clients.map((c) => next(c, 'open')));
    const before = clients.map((c, i) => echoed(c, `echo before ${names[i]}`));
    clients.forEach((c, i) => c.send(`before ${names[i]}`));
    await Promise.all(before);
    assert.deepEqual(first.versions, ['2.0', '2.0']);
    assert.equal(first.sessions.size, 1, 'both WebSockets on one session');
    assert.equal(http2SessionCount(`${tls !== undefined ? 'wss' : 'ws'}://127.0.0.1:${port}`), 1);

    const reconnecting = clients.map((c) => next(c, 'reconnecting'));
    let second = first;
    if (how === 'restart') {
      // The restart: 1012 to both, GOAWAY, the port closed; a new server on it.
      await new Promise<void>((resolve) => first.wss.shutdown({}, () => resolve()));
    } else {
      // The session's TCP connection dies (no Close, no GOAWAY): 1006.
      for (const socket of first.sockets) socket.destroy();
    }
    for (const [, , info] of (await Promise.all(reconnecting)) as Array<[number, number, CloseInfo]>) assert.equal(info.code, how === 'restart' ? 1012 : 1006);
    clients.forEach((c, i) => {
      c.send(`queued ${names[i]}1`);
      c.send(`queued ${names[i]}2`);
      assert.equal(c.queuedMessages, 2);
    });
    const after = clients.map((c, i) => echoed(c, `echo queued ${names[i]}2`));
    if (how === 'restart') second = await h2Server(port);
    first.versions.length = 0;
    first.sessions.clear();
    const reopened = clients.map((c) => next(c, 'open'));
    assert.deepEqual(await Promise.all(after), names.map((n) => [`echo queued ${n}1`, `echo queued ${n}2`]));
    await Promise.all(reopened);
    // In order per WebSocket, over HTTP/2, both on one new session.
    for (const n of names) assert.deepEqual(second.received.filter((m) => m.endsWith(`${n}1`) || m.endsWith(`${n}2`)), [`queued ${n}1`, `queued ${n}2`]);
    assert.deepEqual(second.versions, ['2.0', '2.0']);
    assert.equal(second.sessions.size, 1, 'the reconnected WebSockets share one new session');
    assert.equal(http2SessionCount(`${tls !== undefined ? 'wss' : 'ws'}://127.0.0.1:${port}`), 1);
    // Only refused connections while the port was closed: no attempt went to the dead session (no reset stream, no 503).
    for (const message of errors) assert.match(message, /ECONNREFUSED/);
    if (how === 'drop') assert.deepEqual(errors, [], 'each first attempt succeeded');
    for (const c of clients) assert.equal(c.queuedMessages, 0);

    const closedAll = clients.map((c) => next(c, 'close'));
    for (const c of clients) c.close(1000, 'done');
    for (const args of await Promise.all(closedAll)) assert.deepEqual(args.map(String), ['1000', 'done']);
    await second.close();
  } finally {
    for (const c of clients) c.close();
    await first.close();
  }
}

test('over HTTP/2 (h2c, http2: true): a restart (1012) reconnects on a new session; queued messages flushed in order', T, async () => {
  await restartOverHttp2('h2c');
});

test("over HTTP/2 with TLS (http2: 'auto'): a restart (1012) reconnects on a new h2 session; queued messages flushed in order", { ...T, skip: skipReason(opensslPath()) }, async () => {
  await restartOverHttp2('tls');
});

test('over HTTP/2 (h2c): the session dies under two WebSockets (1006); the next attempts open a new session at once', T, async () => {
  await restartOverHttp2('h2c', 'drop');
});

test("over HTTP/2 with TLS ('auto'): the session dies under two WebSockets (1006); the next attempts open a new session at once", { ...T, skip: skipReason(opensslPath()) }, async () => {
  await restartOverHttp2('tls', 'drop');
});

test("over HTTP/2: maxConnections' 503 with Retry-After: 5 reaches the reconnector through 'unexpected-response'", T, async () => {
  const server = await serverOn(0, { maxConnections: 1, http2: true });
  const holder = new WebSocket(`ws://127.0.0.1:${server.port}/`, { http2: true });
  await opened(holder);
  const client = new ReconnectingWebSocket(`ws://127.0.0.1:${server.port}/`, undefined, { ...FAST, http2: true });
  const errors: string[] = [];
  client.on('error', (e: Error) => errors.push(e.message));
  const [attempt, delay, info] = (await next(client, 'reconnecting')) as [number, number, CloseInfo];
  assert.deepEqual([attempt, info.status, info.retryAfterMs, delay], [1, 503, 5000, 5000 + 10]);
  assert.deepEqual(errors, ['Unexpected server response: 503']);
  const closed = next(client, 'close');
  client.close();
  assert.equal((await closed)[0], 1005);
  holder.close();
  await closeServer(server.wss);
});

test('onConnecting sees every attempt\'s WebSocket before its events: three attempts, the third one opens', T, async () => {
  let handshakes = 0;
  // A 503 without Retry-After (a status the default retries) for the first two attempts.
  const server = await serverOn(0, { verifyClient: (_info: unknown, done: (ok: boolean, code?: number) => void) => done(++handshakes > 2, 503) });
  const seen: object[] = [];
  const events: string[] = [];
  const client = new ReconnectingWebSocket(`ws://127.0.0.1:${server.port}/`, undefined, {
    ...FAST,
    onConnecting: (socket) => {
      seen.push(socket);
      assert.equal(socket.readyState, WebSocket.CONNECTING);
      socket.on('upgrade', () => events.push(`upgrade ${seen.length}`));
      socket.on('unexpected-response', () => events.push(`refused ${seen.length}`));
    },
  });
  client.on('error', () => {});
  const [socket] = (await next(client, 'open')) as [object];
  assert.equal(seen.length, 3);
  assert.equal(socket, seen[2]);
  assert.equal(client.socket, seen[2]);
  assert.deepEqual(events, ['refused 1', 'refused 2', 'upgrade 3']);
  const closed = next(client, 'close');
  client.close(1000);
  await closed;
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
