// The slowloris guard (src/node/handshake-guard.ts) on the server's own HTTP
// server and on a user's server given as `server`, against raw clients that
// trickle request heads the way the attack does: one byte at a time, often
// enough that Node's keepAliveTimeout never fires, so only the guard (or
// Node's 60 s headersTimeout) can end them.
//
// Nothing is timed. A connection that must be dropped is awaited until the
// server closes it (node:test's timeout is the safety net). Where a
// connection must NOT be dropped, the guard itself is the clock: a fresh
// connection that sends nothing, opened after the moment that matters, is
// dropped at its own deadline, so when it is, any deadline the first
// connection had from that moment has passed too.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { createServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer, type ServerOptions } from '../../src/index.js';
import { Opcode, connectRaw, trickle, untilDropped, upgradeRequest, type RawClient } from '../support/raw-socket.js';
import { opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate } from '../support/tls.js';
import { closeHttpServer, closeServer, listen, nextMessage, opened, startServer } from './helpers.js';

const T = { timeout: 20_000 };
const GUARD = 200;

const cleanups = new WeakMap<TestContext, Array<() => unknown>>();

/** Runs `fn` after the test, before what was deferred earlier (clients go before their servers). */
function defer(t: TestContext, fn: () => unknown): void {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const fns: Array<() => unknown> = (stack = []);
    cleanups.set(t, fns);
    t.after(async () => {
      for (const f of fns.reverse()) await f();
    });
  }
  stack.push(fn);
}

/** A fresh connection to `port` that sends nothing, once the guard there has dropped it. */
async function guardTick(port: number, t: TestContext): Promise<void> {
  const canary = await connectRaw(port);
  assert.equal(await untilDropped(canary, t.signal), '');
}

/** Reads one response with a Content-Length body; returns "STATUS body". */
async function readResponse(client: RawClient): Promise<string> {
  const head = await client.readHttpHead();
  const body = await client.read(Number(head.headers['content-length'] ?? 0));
  return `${head.status} ${body.toString()}`;
}

/** Ping with `payload`, expect the pong: the connection is open and working. */
async function pingPong(client: RawClient, payload: string): Promise<void> {
  await client.sendFrame({ opcode: Opcode.PING, payload });
  const frame = await client.readFrame();
  assert.equal(frame.opcode, Opcode.PONG);
  assert.equal(frame.payload.toString(), payload);
}

interface Attached {
  http: HttpServer;
  wss: WebSocketServer;
  port: number;
  close(): Promise<void>;
}

/** A user's http server answering `handler`, with a WebSocketServer attached through `server`. */
async function attached(t: TestContext, options: Omit<ServerOptions, 'port' | 'server' | 'noServer'>, handler: RequestListener): Promise<Attached> {
  const http = createServer(handler);
  const wss = new WebSocketServer({ ...options, server: http });
  const port = await listen(http, '127.0.0.1');
  const close = async () => {
    await closeServer(wss);
    await closeHttpServer(http);
  };
  defer(t, close);
  return { http, wss, port, close };
}

const ok: RequestListener = (_req, res) => {
  res.writeHead(200, { 'Content-Length': 2 });
  res.end('ok');
};

const GET = 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n';
const UPGRADE_HEAD = upgradeRequest('/').slice(0, -2); // without the final empty line

// --- The server hyperws creates (port option) ---------------------------------

test('port mode: an upgrade head trickled one byte at a time is dropped at the deadline, with no response', T, async (t) => {
  const { wss, port } = await startServer({ handshakeTimeout: GUARD });
  defer(t, () => closeServer(wss));
  let connections = 0;
  wss.on('connection', () => connections++);
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await trickle(client, UPGRADE_HEAD);
  assert.equal(await untilDropped(client, t.signal), '', 'dropped without a response');
  assert.equal(connections, 0);
});

test('port mode: a plain GET is answered and the connection closed; an upgrade on a new one outlives the deadline', T, async (t) => {
  const { wss, port } = await startServer({ handshakeTimeout: GUARD });
  defer(t, () => closeServer(wss));
  const plain = await connectRaw(port);
  defer(t, () => plain.destroy());
  await plain.write(GET);
  const head = await plain.readHttpHead();
  assert.equal(head.status, 426);
  assert.equal(head.headers['connection'], 'close');
  assert.equal((await plain.readUntilEnd()).toString(), 'Upgrade Required', 'the body, then the server closes: no keep-alive to trickle on');
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await client.write(upgradeRequest('/'));
  assert.equal((await client.readHttpHead()).status, 101);
  await guardTick(port, t);
  assert.equal(client.ended, false);
  await pingPong(client, 'still here');
});

test('port mode and h2c: handshakeTimeout Infinity (or 0) means no deadline, not a timer firing at once', T, async (t) => {
  for (const options of [{ handshakeTimeout: Infinity }, { handshakeTimeout: 0 }, { handshakeTimeout: Infinity, http2: true as const }]) {
    const { wss, url } = await startServer(options);
    defer(t, () => closeServer(wss));
    wss.on('connection', (peer) => peer.on('message', (data: Buffer) => peer.send(data.toString())));
    const ws = new WebSocket(url, 'http2' in options ? { http2: true } : {});
    defer(t, () => ws.terminate());
    await opened(ws); // with a timer of Infinity (fired at once) the connection was destroyed before its upgrade
    ws.send('still here');
    const [data] = await nextMessage(ws);
    assert.equal(String(data), 'still here', JSON.stringify(options));
  }
});

// --- A user's server (server option) ------------------------------------------

test('server option: a first request head that never ends is dropped at handshakeTimeout', T, async (t) => {
  const { port } = await attached(t, { handshakeTimeout: GUARD }, ok);
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await trickle(client, UPGRADE_HEAD);
  assert.equal(await untilDropped(client, t.signal), '');
});

test('server option: after an ordinary response, a trickled second head is dropped (keepAliveTimeout 0 too)', T, async (t) => {
  const { http, port } = await attached(t, { handshakeTimeout: GUARD }, ok);
  http.keepAliveTimeout = 0; // Node keeps idle connections forever: only the guard bounds the head
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await client.write(GET);
  assert.equal(await readResponse(client), '200 ok');
  await trickle(client, 'GET / HTTP/1.1\r\nHost: localhost\r\n');
  assert.equal(await untilDropped(client, t.signal), '');
});

test('server option: a long response (an event stream) outlives the deadline, then the connection serves another request', T, async (t) => {
  let stream: ServerResponse | undefined;
  let markStarted = (): void => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const { port } = await attached(t, { handshakeTimeout: GUARD }, (req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== '/events') return ok(req, res);
    res.writeHead(200, { 'Content-Length': 11 });
    res.write('first\n');
    stream = res;
    markStarted();
  });
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await client.write('GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await started;
  const head = await client.readHttpHead();
  assert.equal(head.status, 200);
  assert.equal((await client.read(6)).toString(), 'first\n');
  await guardTick(port, t);
  await guardTick(port, t);
  stream!.end('last\n');
  assert.equal((await client.read(5)).toString(), 'last\n');
  await client.write(GET);
  assert.equal(await readResponse(client), '200 ok');
});

test('server option: an idle kept-alive connection is left to keepAliveTimeout, however long it idles', T, async (t) => {
  const { http, port } = await attached(t, { handshakeTimeout: GUARD }, ok);
  http.keepAliveTimeout = 60_000;
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await client.write(GET);
  assert.equal(await readResponse(client), '200 ok');
  for (let i = 0; i < 4; i++) await guardTick(port, t);
  assert.equal(client.ended, false);
  await client.write(GET);
  assert.equal(await readResponse(client), '200 ok');
});

test('server option: a pipelined upload is not cut when the response before it ends', T, async (t) => {
  const { port } = await attached(t, { handshakeTimeout: GUARD }, (req, res) => {
    if (req.url !== '/upload') return ok(req, res);
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      res.writeHead(200, { 'Content-Length': String(bytes).length });
      res.end(String(bytes));
    });
  });
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await client.write(`${GET}POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\na`);
  assert.equal(await readResponse(client), '200 ok');
  // The body keeps coming, slowly, for several guard periods after that response.
  for (let i = 0; i < 4; i++) {
    await guardTick(port, t);
    await client.write('a');
  }
  assert.equal(await readResponse(client), '200 5');
});

test('server option: an upgrade after an ordinary request on the same connection outlives the deadline', T, async (t) => {
  const { port } = await attached(t, { handshakeTimeout: GUARD }, ok);
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await client.write(GET);
  assert.equal(await readResponse(client), '200 ok');
  await client.write(upgradeRequest('/'));
  assert.equal((await client.readHttpHead()).status, 101);
  await guardTick(port, t);
  await guardTick(port, t);
  assert.equal(client.ended, false);
  await pingPong(client, 'upgraded');
});

test('server option: a CONNECT tunnel outlives the deadline; the guard listens for "connect" only while the server does', T, async (t) => {
  const { http, port } = await attached(t, { handshakeTimeout: GUARD }, ok);
  assert.equal(http.listenerCount('connect'), 0, 'no listener: Node keeps refusing CONNECT');
  const tunnel = (_req: IncomingMessage, socket: Duplex) => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.on('end', () => socket.end()); // http sockets allow half-open: close ours too
  };
  http.on('connect', tunnel);
  assert.equal(http.listenerCount('connect'), 2);
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await client.write('CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n');
  assert.equal((await client.readHttpHead()).status, 200);
  await guardTick(port, t);
  await guardTick(port, t);
  await client.write('through the tunnel');
  assert.equal((await client.read(18)).toString(), 'through the tunnel');
  http.removeListener('connect', tunnel);
  assert.equal(http.listenerCount('connect'), 0);
});

test('server option: handshakeTimeout 0 leaves the server\'s connections alone', T, async (t) => {
  const { port } = await attached(t, { handshakeTimeout: 0 }, ok);
  const clock = await startServer({ handshakeTimeout: GUARD });
  defer(t, () => closeServer(clock.wss));
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await trickle(client, UPGRADE_HEAD);
  await guardTick(clock.port, t);
  await guardTick(clock.port, t);
  assert.equal(client.ended, false);
});

test('server option: after wss.close() the server is no longer guarded and keeps no listener of ours', T, async (t) => {
  const http = createServer(ok);
  const before = ['connection', 'request', 'upgrade', 'connect', 'checkContinue', 'checkExpectation'].map((e) => http.listenerCount(e));
  const wss = new WebSocketServer({ server: http, handshakeTimeout: GUARD });
  const port = await listen(http, '127.0.0.1');
  defer(t, () => closeHttpServer(http));
  await closeServer(wss);
  assert.deepEqual(['connection', 'request', 'upgrade', 'connect', 'checkContinue', 'checkExpectation'].map((e) => http.listenerCount(e)), before);
  const clock = await startServer({ handshakeTimeout: GUARD });
  defer(t, () => closeServer(clock.wss));
  const client = await connectRaw(port);
  defer(t, () => client.destroy());
  await trickle(client, 'GET / HTTP/1.1\r\nHost: localhost\r\n');
  await guardTick(clock.port, t);
  await guardTick(clock.port, t);
  assert.equal(client.ended, false);
});

test('server option over https: a wss:// connection outlives the deadline; a trickled head is dropped', { ...T, skip: skipReason(opensslPath()) }, async (t) => {
  const { key, cert, ca } = await createTestCertificate();
  const https = createHttpsServer({ key, cert }, ok);
  const wss = new WebSocketServer({ server: https, handshakeTimeout: GUARD });
  wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  const port = await listen(https, '127.0.0.1');
  defer(t, async () => {
    await closeServer(wss);
    await closeHttpServer(https);
  });
  const clock = await startServer({ handshakeTimeout: GUARD });
  defer(t, () => closeServer(clock.wss));

  const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { ca, servername: 'localhost' });
  defer(t, () => ws.terminate());
  await opened(ws);
  await guardTick(clock.port, t);
  await guardTick(clock.port, t);
  ws.send('after the deadline');
  assert.equal(String((await nextMessage(ws))[0]), 'after the deadline');

  const slow: TLSSocket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  defer(t, () => slow.destroy());
  await once(slow, 'secureConnect');
  slow.on('error', () => {}); // the server's drop may reach us as a reset
  slow.write(`${UPGRADE_HEAD}X-Slow: `);
  const timer = setInterval(() => {
    if (!slow.destroyed) slow.write('a');
  }, 10);
  defer(t, () => clearInterval(timer));
  let received = '';
  slow.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  await new Promise<void>((resolve, reject) => {
    t.signal.addEventListener('abort', () => reject(new Error('the TLS connection was not dropped')), { once: true });
    slow.once('close', () => resolve());
  });
  clearInterval(timer);
  assert.equal(received, '', 'dropped without a response');
});
