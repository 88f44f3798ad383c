// WebSocketServer modes (own port, shared http server, noServer), options
// (handleProtocols, clientTracking, verifyClient) and events, with our client on
// the other end; requests injected in process over a Duplex, as test helpers do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type VerifyClientCallback, type VerifyClientInfo } from '../../src/index.js';
import { closePayload, clientFrame, decodeFrames } from '../protocol/helpers.js';
import { duplexPair } from '../support/duplex-pair.js';
import { Opcode, SAMPLE_KEY, acceptKey, connectRaw, upgradeRequest } from '../support/raw-socket.js';
import {
  closePair,
  closeHttpServer,
  closeServer,
  closed,
  connectPair,
  errorThenClose,
  listen,
  nextConnection,
  nextMessage,
  opened,
  startServer,
} from './helpers.js';

const T = { timeout: 20_000 };

function httpGet(port: number, path: string): Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

test('port mode: a plain HTTP GET gets 426 Upgrade Required (as ws)', T, async () => {
  const { wss, port } = await startServer();
  try {
    const r = await httpGet(port, '/');
    assert.equal(r.status, 426);
    assert.equal(r.body, 'Upgrade Required');
  } finally {
    await closeServer(wss);
  }
});

test('server option: ordinary GETs and WebSockets share one port', T, async () => {
  const http = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`hello from ${req.url}`);
  });
  const wss = new WebSocketServer({ server: http });
  const port = await listen(http, '127.0.0.1');
  try {
    const r = await httpGet(port, '/page');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello from /page');

    wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    const client = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await opened(client);
    client.send('ping over the shared port');
    const [data, isBinary] = await nextMessage(client);
    assert.equal(String(data), 'ping over the shared port');
    assert.equal(isBinary, false);
    const done = closed(client);
    client.close(1000);
    assert.equal((await done).code, 1000);

    // wss.close() leaves a user's server running.
    await closeServer(wss);
    assert.equal(http.listening, true);
    assert.equal((await httpGet(port, '/after')).body, 'hello from /after');
  } finally {
    await closeServer(wss);
    await closeHttpServer(http);
  }
});

test('noServer: two servers routed by path from a user upgrade listener', T, async () => {
  const a = new WebSocketServer({ noServer: true });
  const b = new WebSocketServer({ noServer: true });
  const http = createServer();
  const routed: string[] = [];
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    const target = pathname === '/a' ? a : pathname === '/b' ? b : null;
    if (target === null) {
      socket.destroy();
      return;
    }
    routed.push(pathname);
    target.handleUpgrade(req, socket, head, (ws, request) => target.emit('connection', ws, request));
  });
  a.on('connection', (ws) => ws.send('from a'));
  b.on('connection', (ws) => ws.send('from b'));
  const port = await listen(http, '127.0.0.1');
  try {
    assert.throws(() => a.address(), /noServer/);
    const ca = new WebSocket(`ws://127.0.0.1:${port}/a`);
    const cb = new WebSocket(`ws://127.0.0.1:${port}/b`);
    const [[ma], [mb]] = await Promise.all([nextMessage(ca), nextMessage(cb)]);
    assert.equal(String(ma), 'from a');
    assert.equal(String(mb), 'from b');
    assert.deepEqual(routed.sort(), ['/a', '/b']);
    assert.equal(a.clients.size, 1);
    assert.equal(b.clients.size, 1);

    // An unknown path: the listener destroys the socket; the client fails.
    const cx = new WebSocket(`ws://127.0.0.1:${port}/x`);
    const failed = await errorThenClose(cx);
    assert.equal(failed.close.code, 1006);

    const closes = [closed(ca), closed(cb)];
    await Promise.all([closeServer(a), closeServer(b)]);
    assert.deepEqual((await Promise.all(closes)).map((c) => c.code), [1001, 1001]);
  } finally {
    await closeHttpServer(http);
  }
});

test('handleProtocols picks the second offered protocol', T, async () => {
  let offered: string[] = [];
  const started = await startServer({
    handleProtocols: (protocols: Set<string>) => {
      offered = [...protocols];
      return [...protocols][1]!;
    },
  });
  try {
    const { client, server } = await connectPair(started, '/', ['chat.v1', 'chat.v2', 'chat.v3']);
    assert.deepEqual(offered, ['chat.v1', 'chat.v2', 'chat.v3']);
    assert.equal(client.protocol, 'chat.v2');
    assert.equal(server.protocol, 'chat.v2');
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('without handleProtocols the first offered protocol is chosen (as ws)', T, async () => {
  const started = await startServer();
  try {
    const { client, server } = await connectPair(started, '/', ['one', 'two']);
    assert.equal(client.protocol, 'one');
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('handleProtocols returning a protocol the client did not offer -> refusal', T, async () => {
  const { wss, url } = await startServer({ handleProtocols: () => 'not-offered' });
  let connections = 0;
  wss.on('connection', () => connections++);
  try {
    const client = new WebSocket(url, ['a', 'b']);
    const r = await errorThenClose(client);
    assert.equal(r.error.message, 'Unexpected server response: 500');
    assert.equal(r.close.code, 1006);
    assert.deepEqual(r.order, ['error', 'close']);
    assert.equal(connections, 0);
  } finally {
    await closeServer(wss);
  }
});

test('clientTracking: server.clients goes 0 -> 2 -> 0', T, async () => {
  const started = await startServer();
  const { wss } = started;
  try {
    assert.equal(wss.clients.size, 0);
    const p1 = await connectPair(started);
    const p2 = await connectPair(started);
    assert.equal(wss.clients.size, 2);
    assert.ok(wss.clients.has(p1.server) && wss.clients.has(p2.server));
    await closePair(p1.client, p1.server);
    assert.equal(wss.clients.size, 1);
    await closePair(p2.client, p2.server);
    assert.equal(wss.clients.size, 0);
  } finally {
    await closeServer(wss);
  }
});

test('clientTracking: false leaves server.clients undefined, as in ws; broadcast reaches nobody, close() still works', T, async () => {
  const started = await startServer({ clientTracking: false });
  try {
    const { client, server } = await connectPair(started);
    assert.equal(started.wss.clients, undefined);
    assert.equal('clients' in started.wss, false);
    assert.equal(started.wss.broadcast('x'), 0);
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('server.close() closes every client with 1001 and calls back', T, async () => {
  const started = await startServer();
  const p1 = await connectPair(started);
  const p2 = await connectPair(started);
  const clientCloses = [closed(p1.client), closed(p2.client)];
  const serverCloses = [closed(p1.server), closed(p2.server)];
  let calledBack = 0;
  await new Promise<void>((resolve) =>
    started.wss.close(() => {
      calledBack++;
      resolve();
    }),
  );
  assert.equal(calledBack, 1);
  const codes = await Promise.all(clientCloses);
  assert.deepEqual(codes.map((c) => c.code), [1001, 1001]);
  assert.deepEqual((await Promise.all(serverCloses)).map((c) => c.code), [1001, 1001]);
  assert.equal(started.wss.clients.size, 0);
  // New connections are refused once the listener is down.
  const late = new WebSocket(started.url);
  const r = await errorThenClose(late);
  assert.equal((r.error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
});

test("events: 'listening', then 'connection' with the request", T, async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  let listening = 0;
  wss.on('listening', () => listening++);
  await once(wss, 'listening');
  assert.equal(listening, 1);
  const { port } = wss.address() as AddressInfo;
  try {
    const connection = nextConnection(wss);
    const client = new WebSocket(`ws://127.0.0.1:${port}/room/7?user=ann`);
    const [server, req] = await connection;
    assert.equal(req.url, '/room/7?user=ann');
    assert.equal(req.headers['sec-websocket-version'], '13');
    assert.ok(server instanceof WebSocket);
    await opened(client);
    await closePair(client, server);
  } finally {
    await closeServer(wss);
  }
});

test("events: 'headers' listeners can add a header the client sees on 'upgrade'", T, async () => {
  const started = await startServer();
  let seenReq: IncomingMessage | undefined;
  started.wss.on('headers', (headers: string[], req: IncomingMessage) => {
    seenReq = req;
    assert.equal(headers[0], 'HTTP/1.1 101 Switching Protocols');
    headers.push('X-Powered-By: hyperws-test');
  });
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url + '/h');
    const [res] = (await once(client, 'upgrade')) as [IncomingMessage];
    assert.equal(res.statusCode, 101);
    assert.equal(res.headers['x-powered-by'], 'hyperws-test');
    await opened(client);
    const [server] = await connection;
    assert.equal(seenReq?.url, '/h');
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test("events: 'error' with EADDRINUSE when the port is taken", T, async () => {
  const blocker = createNetServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const { port } = blocker.address() as AddressInfo;
  try {
    const wss = new WebSocketServer({ port, host: '127.0.0.1' });
    const [error] = (await once(wss, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'EADDRINUSE');
    await closeServer(wss);
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});

test('constructor: exactly one of port, server, noServer', T, () => {
  assert.throws(() => new WebSocketServer({}), TypeError);
  assert.throws(() => new WebSocketServer({ port: 0, noServer: true }), TypeError);
});

test('heartbeat without clientTracking is refused before anything starts (no listener, no timer left behind)', () => {
  const count = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;
  const servers = count('TCPServerWrap');
  const timers = count('Timeout');
  assert.throws(
    () => new WebSocketServer({ port: 0, host: '127.0.0.1', clientTracking: false, heartbeat: { intervalMs: 1000, timeoutMs: 1000 } }),
    { name: 'TypeError', message: 'heartbeat needs clientTracking' },
  );
  assert.equal(count('TCPServerWrap'), servers);
  assert.equal(count('Timeout'), timers);
});

// ------------------------------------------- verifyClient's refusals, end to end

/** What our client sees of a refused handshake: 'unexpected-response' (status, phrase, body, a header). */
function refusedResponse(url: string): Promise<{ status: number; phrase: string; body: string; type: string | undefined; why: string | undefined }> {
  const client = new WebSocket(url);
  return new Promise((resolve, reject) => {
    client.on('error', reject);
    client.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          phrase: res.statusMessage!,
          body: Buffer.concat(chunks).toString(),
          type: res.headers['content-type'],
          why: res.headers['x-why'] as string | undefined,
        }),
      );
      res.on('error', reject);
    });
  });
}

test('verifyClient: cb(false, code, message, headers) reaches our client unchanged, even with a wsClientError listener (as ws)', T, async () => {
  const refusals: Array<Parameters<VerifyClientCallback>> = [
    [false, 418, 'short and stout', { 'X-Why': 'tea', 'Content-Type': 'application/json' }],
    [false, 451],
    [false, 302, 'elsewhere', { Location: '/other' }],
    [false],
    [false, 0, 'zero means the default'],
    [false, 4001, 'not an HTTP status'],
  ];
  let next = 0;
  const clientErrors: string[] = [];
  const { wss, url } = await startServer({
    verifyClient: (_info: VerifyClientInfo, cb: VerifyClientCallback) => setImmediate(() => cb(...refusals[next++]!)),
  });
  wss.on('wsClientError', (error) => clientErrors.push(error.message));
  try {
    const seen = [];
    for (let i = 0; i < refusals.length; i++) seen.push(await refusedResponse(url));
    const plain = 'text/plain; charset=utf-8';
    assert.deepEqual(seen, [
      { status: 418, phrase: "I'm a Teapot", body: 'short and stout', type: 'application/json', why: 'tea' },
      { status: 451, phrase: 'Unavailable For Legal Reasons', body: 'Unavailable For Legal Reasons', type: plain, why: undefined },
      { status: 302, phrase: 'Found', body: 'elsewhere', type: plain, why: undefined },
      { status: 401, phrase: 'Unauthorized', body: 'Unauthorized', type: plain, why: undefined },
      { status: 401, phrase: 'Unauthorized', body: 'zero means the default', type: plain, why: undefined },
      { status: 500, phrase: 'Internal Server Error', body: 'verifyClient refused with an invalid HTTP status: 4001', type: plain, why: undefined },
    ]);
    assert.deepEqual(clientErrors, [], 'verifyClient refusals are not client errors');
  } finally {
    await closeServer(wss);
  }
});

test("verifyClient: without an 'unexpected-response' listener our client fails with the status in the message", T, async () => {
  const { wss, url } = await startServer({ verifyClient: (_info: VerifyClientInfo, cb: VerifyClientCallback) => cb(false, 403) });
  try {
    const failed = await errorThenClose(new WebSocket(url));
    assert.equal(failed.error.message, 'Unexpected server response: 403');
    assert.equal(failed.close.code, 1006);
  } finally {
    await closeServer(wss);
  }
});

test("a malformed request goes to the 'wsClientError' listener (as ws), which answers it", T, async () => {
  const { wss, port } = await startServer();
  const errors: Array<{ message: string; statusCode: number }> = [];
  wss.on('wsClientError', (error: Error & { statusCode: number }, socket: Duplex) => {
    errors.push({ message: error.message, statusCode: error.statusCode });
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 4\r\n\r\nmine');
  });
  try {
    const client = await connectRaw(port);
    await client.write(upgradeRequest('/', { 'Sec-WebSocket-Key': 'too short' }));
    assert.equal((await client.readUntilEnd()).toString(), 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 4\r\n\r\nmine');
    await client.destroy();
    assert.deepEqual(errors, [{ message: 'Missing or invalid Sec-WebSocket-Key header', statusCode: 400 }]);
  } finally {
    await closeServer(wss);
  }
});

// ------------------------------------------- requests injected in process

/** A request as fastify's injectWS builds it: a plain object, version as a number, no Host, no socket. */
function injectedRequest(headers: Record<string, string | number> = {}): IncomingMessage {
  return {
    method: 'GET',
    httpVersion: '1.1',
    url: '/',
    headers: { connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': 13, 'sec-websocket-key': SAMPLE_KEY, ...headers },
  } as unknown as IncomingMessage;
}

test('an in-process request over a Duplex (no Host, version 13 as a number, no req.socket) opens, as with ws', T, async () => {
  let secure: boolean | undefined;
  const wss = new WebSocketServer({
    noServer: true,
    verifyClient: (info: VerifyClientInfo) => {
      secure = info.secure;
      return true;
    },
  });
  const [serverEnd, clientEnd] = duplexPair();
  try {
    const connected = new Promise<WebSocket>((resolve) => wss.handleUpgrade(injectedRequest(), serverEnd, Buffer.alloc(0), resolve));
    const expected = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(SAMPLE_KEY)}\r\n\r\n`;
    assert.equal((await clientEnd.received(expected.length)).toString('latin1'), expected);
    assert.equal(secure, false);
    const ws = await connected;
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    clientEnd.write(clientFrame(Opcode.TEXT, 'in process'));
    const frames = decodeFrames(await clientEnd.received(12));
    assert.deepEqual(frames.map((f) => [f.opcode, f.masked, f.payload.toString()]), [[Opcode.TEXT, false, 'in process']]);
    const done = closed(ws);
    clientEnd.write(clientFrame(Opcode.CLOSE, closePayload(1000)));
    assert.equal((await done).code, 1000);
  } finally {
    clientEnd.destroy();
    await closeServer(wss);
  }
});

test('an in-process request is still checked: version 7 as a number -> 426 written to the Duplex', T, async () => {
  const wss = new WebSocketServer({ noServer: true });
  const [serverEnd, clientEnd] = duplexPair();
  try {
    wss.handleUpgrade(injectedRequest({ 'sec-websocket-version': 7 }), serverEnd, Buffer.alloc(0), () => assert.fail('accepted'));
    const body = 'Unsupported WebSocket version: versions 13 and 8 are supported';
    const answer = await clientEnd.received(Number.MAX_SAFE_INTEGER); // until the server ends it
    assert.equal(
      answer.toString('latin1'),
      'HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${body.length}\r\nSec-WebSocket-Version: 13, 8\r\n\r\n${body}`,
    );
  } finally {
    clientEnd.destroy();
    await closeServer(wss);
  }
});
