// WebSockets over HTTP/2 (RFC 8441), client side: new WebSocket(url, { http2 })
// against our HTTP/2 servers, the session pool, the fallback of 'auto' to the
// HTTP/1.1 upgrade, and the WHATWG facade over it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type ServerOptions } from '../../src/index.js';
import { WebSocket as WhatwgWebSocket } from '../../src/web/index.js';
import { http2SessionCount } from '../../src/node/http2-client.js';
import { opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate } from '../support/tls.js';
import { closeServer, closed, errorThenClose, nextMessage, opened } from './helpers.js';
import { startRawH2Server } from '../support/h2-server.js';

const T = { timeout: 30_000 };
const TLS = { timeout: 30_000, skip: skipReason(opensslPath()) };

interface Seen {
  httpVersion: string;
  /** The client's port of the connection carrying it: one per session. */
  remotePort: number | undefined;
}

async function startH2(options: Omit<ServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; port: number; seen: Seen[] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', http2: true, ...options });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const seen: Seen[] = [];
  wss.on('connection', (ws, req) => {
    seen.push({ httpVersion: req.httpVersion, remotePort: req.socket.remotePort });
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  return { wss, port: (wss.address() as AddressInfo).port, seen };
}

test('http2: true over ws: (h2c): opens on a stream, echoes, closes cleanly on both sides', T, async () => {
  const { wss, port, seen } = await startH2();
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, { http2: true });
    await opened(ws);
    assert.deepEqual(seen.map((s) => s.httpVersion), ['2.0']);
    ws.send('hello over h2');
    const [data, isBinary] = await nextMessage(ws);
    assert.deepEqual([String(data), isBinary], ['hello over h2', false]);
    const serverSide = [...wss.clients][0]!;
    const serverClosed = closed(serverSide);
    ws.close(1000, 'bye');
    assert.deepEqual(await closed(ws), { code: 1000, reason: 'bye' });
    assert.deepEqual(await serverClosed, { code: 1000, reason: 'bye' });
  } finally {
    await closeServer(wss);
  }
});

test('subprotocol and permessage-deflate are negotiated over HTTP/2; a 64 KiB message round-trips compressed', T, async () => {
  const { wss, port } = await startH2({ perMessageDeflate: true, handleProtocols: (p) => (p.has('v2') ? 'v2' : false) });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['v1', 'v2'], { http2: true });
    await opened(ws);
    assert.equal(ws.protocol, 'v2');
    assert.equal(ws.extensions, 'permessage-deflate');
    const text = 'abc'.repeat(64 * 1024 / 3);
    ws.send(text);
    assert.equal(String((await nextMessage(ws))[0]), text);
    ws.close();
    await closed(ws);
  } finally {
    await closeServer(wss);
  }
});

test('the pool: WebSockets to one origin share a session; http2MaxStreams caps a session; the last one closes it', T, async () => {
  const { wss, port, seen } = await startH2();
  try {
    const five = Array.from({ length: 5 }, () => new WebSocket(`ws://127.0.0.1:${port}/`, { http2: true }));
    await Promise.all(five.map(opened));
    assert.equal(new Set(seen.map((s) => s.remotePort)).size, 1, 'one session');
    assert.equal(http2SessionCount(`ws://127.0.0.1:${port}`), 1);
    const capped = Array.from({ length: 5 }, () => new WebSocket(`ws://127.0.0.1:${port}/`, { http2: true, http2MaxStreams: 2 }));
    await Promise.all(capped.map(opened));
    assert.equal(new Set(seen.slice(5).map((s) => s.remotePort)).size, 3, '5 WebSockets at 2 per session: 3 sessions');
    for (const ws of [...five, ...capped]) ws.close();
    await Promise.all([...five, ...capped].map(closed));
    while (http2SessionCount(`ws://127.0.0.1:${port}`) > 0) await new Promise((r) => setImmediate(r));
  } finally {
    await closeServer(wss);
  }
});

test('a refusal over HTTP/2 fails the WebSocket: error "Unexpected server response: 403", close 1006', T, async () => {
  const { wss, port } = await startH2({ verifyClient: (_info, cb) => cb(false, 403, 'No') });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { http2: true });
    const { error, close } = await errorThenClose(ws);
    assert.equal(error.message, 'Unexpected server response: 403');
    assert.equal(close.code, 1006);
  } finally {
    await closeServer(wss);
  }
});

test('the WHATWG facade runs over HTTP/2 too (options as its third argument)', T, async () => {
  const { wss, port, seen } = await startH2();
  try {
    const ws = new WhatwgWebSocket(`ws://127.0.0.1:${port}/`, [], { http2: true });
    await new Promise((resolve) => ws.addEventListener('open', resolve, { once: true }));
    const message = new Promise<string>((resolve) => ws.addEventListener('message', (e) => resolve(String((e as MessageEvent).data)), { once: true }));
    ws.send('whatwg');
    assert.equal(await message, 'whatwg');
    assert.deepEqual(seen.map((s) => s.httpVersion), ['2.0']);
    const done = new Promise((resolve) => ws.addEventListener('close', resolve, { once: true }));
    ws.close();
    await done;
  } finally {
    await closeServer(wss);
  }
});

test("wss: with 'auto': h2 where the server speaks it, the HTTP/1.1 upgrade where it does not; true fails there", TLS, async () => {
  const { key, cert, ca } = await createTestCertificate();
  // HTTP/2 with Extended CONNECT (our server, TLS: h2 and http/1.1 on one port).
  const h2 = new WebSocketServer({ port: 0, http2: { key, cert } });
  await new Promise<void>((resolve) => h2.once('listening', resolve));
  const versions: string[] = [];
  h2.on('connection', (ws, req) => versions.push(req.httpVersion));
  // HTTP/1.1 only.
  const https = createHttpsServer({ key, cert });
  const h1 = new WebSocketServer({ server: https });
  h1.on('connection', (ws, req) => versions.push(req.httpVersion));
  await new Promise<void>((resolve) => https.listen(0, resolve));
  // HTTP/2 without Extended CONNECT; HTTP/1.1 upgrades through allowHTTP1.
  const plainH2 = http2.createSecureServer({ key, cert, allowHTTP1: true });
  const noConnect = new WebSocketServer({ noServer: true });
  plainH2.on('upgrade', (req, socket, head) => noConnect.handleUpgrade(req, socket, head, (ws) => versions.push(`${ws.protocol}1.1`)));
  await new Promise<void>((resolve) => plainH2.listen(0, resolve));
  try {
    const a = new WebSocket(`wss://localhost:${(h2.address() as AddressInfo).port}/`, { ca, http2: 'auto' });
    await opened(a);
    const b = new WebSocket(`wss://localhost:${(https.address() as AddressInfo).port}/`, { ca, http2: 'auto' });
    await opened(b);
    const c = new WebSocket(`wss://localhost:${(plainH2.address() as AddressInfo).port}/`, { ca, http2: 'auto' });
    await opened(c);
    assert.deepEqual(versions, ['2.0', '1.1', '1.1']);
    const d = new WebSocket(`wss://localhost:${(https.address() as AddressInfo).port}/`, { ca, http2: true });
    // Offered only h2, a server without it refuses the TLS handshake (alert 120, no_application_protocol).
    assert.match((await errorThenClose(d)).error.message, /no application protocol/);
    const e = new WebSocket(`wss://localhost:${(plainH2.address() as AddressInfo).port}/`, { ca, http2: true });
    assert.equal((await errorThenClose(e)).error.message, 'The server does not accept WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL)');
    for (const ws of [a, b, c]) ws.close();
    await Promise.all([a, b, c].map(closed));
  } finally {
    await closeServer(h2);
    await closeServer(h1);
    await closeServer(noConnect);
    await new Promise<void>((resolve) => https.close(() => resolve()));
    await new Promise<void>((resolve) => plainH2.close(() => resolve()));
  }
});

// ---- ws's 'upgrade' and 'unexpected-response' over HTTP/2

test("'upgrade' over HTTP/2: an IncomingMessage-shaped :status 200 (headers without pseudo-fields, httpVersion 2.0), before 'open'", T, async () => {
  const server = await startRawH2Server(async (peer) => {
    await peer.acceptUpgrade({ 'Sec-WebSocket-Protocol': 'v2', 'X-Served-By': 'raw' });
    await peer.sendFrame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8]) });
    await peer.readFrame();
    peer.end();
  });
  try {
    const ws = new WebSocket(server.url, ['v1', 'v2'], { http2: true, perMessageDeflate: false });
    const order: string[] = [];
    let res: any;
    ws.on('upgrade', (r) => {
      order.push('upgrade');
      res = r;
    });
    ws.on('open', () => order.push('open'));
    assert.equal((await closed(ws)).code, 1000);
    assert.deepEqual(order, ['upgrade', 'open']);
    assert.equal(ws.protocol, 'v2');
    const { date, ...headers } = res.headers;
    assert.equal(typeof date, 'string'); // node:http2 adds it
    assert.deepEqual(
      { statusCode: res.statusCode, statusMessage: res.statusMessage, httpVersion: res.httpVersion, major: res.httpVersionMajor, minor: res.httpVersionMinor, headers, complete: res.complete },
      { statusCode: 200, statusMessage: '', httpVersion: '2.0', major: 2, minor: 0, headers: { 'sec-websocket-protocol': 'v2', 'x-served-by': 'raw' }, complete: true },
    );
    assert.deepEqual(res.rawHeaders, ['sec-websocket-protocol', 'v2', 'x-served-by', 'raw', 'date', date]);
  } finally {
    await server.close();
  }
});

test("'unexpected-response' over HTTP/2, handled: (stream, response) with status, headers and the refusal's body; no error until terminate()", T, async () => {
  const { wss, port } = await startH2({ verifyClient: (_info, cb) => setImmediate(() => cb(false, 403, 'Go away', { 'X-Reason': 'banned' })) });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { http2: true });
    const events: string[] = [];
    ws.on('error', (e: Error) => events.push(`error:${e.message}`));
    ws.on('upgrade', () => events.push('upgrade'));
    const [req, res] = await new Promise<[any, any]>((resolve) => ws.once('unexpected-response', (q: unknown, r: unknown) => resolve([q, r])));
    assert.equal(req.constructor.name, 'ClientHttp2Stream', 'req is the request stream');
    assert.equal(req.sentHeaders[':method'], 'CONNECT');
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const { date: _date, ...headers } = res.headers;
    assert.deepEqual(
      { statusCode: res.statusCode, statusMessage: res.statusMessage, httpVersion: res.httpVersion, headers, body: Buffer.concat(chunks).toString(), complete: res.complete },
      {
        statusCode: 403,
        statusMessage: '',
        httpVersion: '2.0',
        headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': '7', 'x-reason': 'banned' },
        body: 'Go away',
        complete: true,
      },
    );
    // Handled: the listener decides; the WebSocket waits (as ws over HTTP/1.1).
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    assert.deepEqual(events, []);
    const whenClosed = closed(ws);
    ws.terminate();
    assert.equal((await whenClosed).code, 1006);
    assert.deepEqual(events, ['error:WebSocket was closed before the connection was established']);
    while (http2SessionCount(`ws://127.0.0.1:${port}`) > 0) await new Promise((r) => setImmediate(r));
  } finally {
    await closeServer(wss);
  }
});

test("'unexpected-response' over HTTP/2, unhandled: error 'Unexpected server response: 503', close 1006, no 'upgrade'", T, async () => {
  const { wss, port } = await startH2({ maxConnections: 1 });
  const holder = new WebSocket(`ws://127.0.0.1:${port}/`, { http2: true });
  try {
    await opened(holder);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { http2: true });
    let upgrades = 0;
    ws.on('upgrade', () => upgrades++);
    const { error, close } = await errorThenClose(ws);
    assert.deepEqual([error.message, close.code, upgrades], ['Unexpected server response: 503', 1006, 0]);
  } finally {
    holder.terminate();
    await closeServer(wss);
  }
});

test('generateMask applies over HTTP/2 too (it was ignored there): the frames carry its key', T, async () => {
  const server = await startRawH2Server(async (peer) => {
    await peer.acceptUpgrade();
    const frame = await peer.readFrame();
    assert.deepEqual({ mask: frame.mask?.toString('hex'), payload: frame.payload.toString() }, { mask: '01020304', payload: 'masked' });
    await peer.sendFrame({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8]) });
    await peer.readFrame();
    peer.end();
  });
  try {
    const ws = new WebSocket(server.url, { http2: true, generateMask: (mask: Buffer) => mask.set([1, 2, 3, 4]) });
    await opened(ws);
    ws.send('masked');
    assert.equal((await closed(ws)).code, 1000);
    await server.idle();
    assert.deepEqual(server.errors, []);
  } finally {
    await server.close();
  }
});
