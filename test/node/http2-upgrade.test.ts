// WebSockets over HTTP/2 (RFC 8441), server side: our http2 server (`port` +
// `http2`, h2c here) and a user's http2 secure server, driven by a raw
// node:http2 client session with hand-set pseudo-headers and hand-made frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { WebSocket as HyperWebSocket, WebSocketServer, type ServerOptions } from '../../src/index.js';
import type { WebSocket } from '../../src/node/websocket.js';
import { Opcode, closePayload, parseClosePayload } from '../support/raw-socket.js';
import {
  RawH2Client,
  connectH2,
  extendedConnectHeaders,
  handshakeH2,
  readBody,
  requestH2,
} from '../support/h2-client.js';
import { opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate } from '../support/tls.js';
import { closeServer, closed, nextMessage, opened } from './helpers.js';

const T = { timeout: 30_000 };

async function startH2(options: Omit<ServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; port: number }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', http2: true, ...options });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  return { wss, port: (wss.address() as AddressInfo).port };
}

function echo(wss: WebSocketServer): void {
  wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
}

/** Opens a stream on `session` and returns the refusal's status, fields and reason. */
async function refusal(session: http2.ClientHttp2Session, extra: Record<string, string | null> = {}, path = '/') {
  const r = await requestH2(session, extendedConnectHeaders(session, path, extra));
  return { status: r.status, headers: r.headers, body: await readBody(r.stream) };
}

test('our h2c server: SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 and SETTINGS_MAX_CONCURRENT_STREAMS = 128; a plain GET gets 426', T, async () => {
  const { wss, port } = await startH2();
  const session = await connectH2(port);
  try {
    assert.equal(session.remoteSettings.enableConnectProtocol, true);
    assert.equal(session.remoteSettings.maxConcurrentStreams, 128);
    const r = await requestH2(session, { ':method': 'GET', ':path': '/' });
    assert.equal(r.status, 426);
    assert.equal(await readBody(r.stream), 'Upgrade Required');
  } finally {
    session.destroy();
    await closeServer(wss);
  }
});

test('a WebSocket over an Extended CONNECT stream: :status 200 without Sec-WebSocket-Accept; req is the stream\'s', T, async () => {
  const { wss, port } = await startH2();
  echo(wss);
  const seen = new Promise<{ method: string; url: string; httpVersion: string; authority: unknown }>((resolve) =>
    wss.once('connection', (_ws, req) => resolve({ method: req.method!, url: req.url!, httpVersion: req.httpVersion, authority: req.headers[':authority'] })),
  );
  const client = await handshakeH2(port, '/chat?room=1');
  try {
    assert.equal(client.responseHeaders['sec-websocket-accept'], undefined);
    assert.deepEqual(await seen, { method: 'CONNECT', url: '/chat?room=1', httpVersion: '2.0', authority: `localhost:${port}` });
    await client.sendFrame({ opcode: Opcode.TEXT, payload: 'over h2' });
    const frame = await client.readFrame();
    assert.deepEqual({ opcode: frame.opcode, fin: frame.fin, masked: frame.masked, payload: frame.payload.toString() }, { opcode: Opcode.TEXT, fin: true, masked: false, payload: 'over h2' });
  } finally {
    await client.destroy();
    await closeServer(wss);
  }
});

test('refusals are 4xx responses with a reason on that stream; the session and its other streams go on', T, async () => {
  const { wss, port } = await startH2({
    path: '/ws',
    allowedOrigins: ['https://good.example'],
    verifyClient: (info, cb) => (info.req.headers['x-token'] === 'ok' ? cb(true) : cb(false, 403, 'Bad token', { 'X-Why': 'token' })),
  });
  echo(wss);
  const session = await connectH2(port);
  try {
    const ok = { 'x-token': 'ok' };
    const path = await refusal(session, ok, '/other');
    assert.deepEqual([path.status, path.headers['content-type'], path.body], [400, 'text/plain; charset=utf-8', 'No WebSocket endpoint at "/other"']);
    const bad = await refusal(session, { 'x-token': 'no' }, '/ws');
    assert.deepEqual([bad.status, bad.headers['x-why'], bad.body], [403, 'token', 'Bad token']);
    const origin = await refusal(session, { ...ok, origin: 'https://evil.example' }, '/ws');
    assert.deepEqual([origin.status, origin.body], [403, 'Origin not allowed: https://evil.example']);
    const version = await refusal(session, { ...ok, 'sec-websocket-version': '8' }, '/ws');
    assert.deepEqual([version.status, version.headers['sec-websocket-version'], version.body], [426, '13', 'Unsupported WebSocket version: version 13 is supported']);
    const other = await refusal(session, { ...ok, ':protocol': 'webtransport' }, '/ws');
    assert.equal(other.status, 501);
    // The same session then carries a WebSocket.
    const r = await requestH2(session, extendedConnectHeaders(session, '/ws', { ...ok, origin: 'https://good.example' }));
    assert.equal(r.status, 200);
    const client = new RawH2Client(r.stream, null, r.headers);
    await client.sendFrame({ opcode: Opcode.BINARY, payload: Buffer.from([1, 2, 3]) });
    assert.deepEqual((await client.readFrame()).payload, Buffer.from([1, 2, 3]));
    await client.destroy();
  } finally {
    session.destroy();
    await closeServer(wss);
  }
});

test('handleProtocols and the headers event work as over HTTP/1.1 (a pushed Set-Cookie reaches the client)', T, async () => {
  const { wss, port } = await startH2({ handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false) });
  echo(wss);
  const lines: string[][] = [];
  wss.on('headers', (headers: string[]) => {
    lines.push([...headers]);
    headers.push('Set-Cookie: session=abc');
  });
  const protocols = new Promise<string>((resolve) => wss.once('connection', (ws) => resolve(ws.protocol)));
  const client = await handshakeH2(port, '/', { 'sec-websocket-protocol': 'chat.v1, chat.v2' });
  try {
    assert.equal(client.responseHeaders['sec-websocket-protocol'], 'chat.v2');
    assert.deepEqual(client.responseHeaders['set-cookie'], ['session=abc']);
    assert.deepEqual(lines, [['HTTP/2 200', 'sec-websocket-protocol: chat.v2']]);
    assert.equal(await protocols, 'chat.v2');
  } finally {
    await client.destroy();
    await closeServer(wss);
  }
});

test('permessage-deflate over HTTP/2: negotiated in the fields, a compressed message in each direction', T, async () => {
  const { wss, port } = await startH2({ perMessageDeflate: true });
  echo(wss);
  const client = await handshakeH2(port, '/', { 'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits' });
  try {
    assert.equal(client.responseHeaders['sec-websocket-extensions'], 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    const text = 'compressible '.repeat(200); // 2600 bytes: above the 1 KiB threshold
    const compressed = deflateRawSync(Buffer.from(text), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
    // RFC 7692 7.2.1: the sync flush's trailing 00 00 ff ff is removed.
    assert.deepEqual(compressed.subarray(-4), Buffer.from([0, 0, 0xff, 0xff]));
    await client.sendFrame({ opcode: Opcode.TEXT, rsv: 4, payload: compressed.subarray(0, -4) });
    const frame = await client.readFrame();
    assert.deepEqual({ opcode: frame.opcode, rsv: frame.rsv }, { opcode: Opcode.TEXT, rsv: 4 });
    const inflated = inflateRawSync(Buffer.concat([frame.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: 2 });
    assert.equal(inflated.toString(), text);
  } finally {
    await client.destroy();
    await closeServer(wss);
  }
});

test('maxConnections counts WebSockets over HTTP/2: the third stream gets 503 with retry-after', T, async () => {
  const { wss, port } = await startH2({ maxConnections: 2 });
  echo(wss);
  const session = await connectH2(port);
  try {
    for (let i = 0; i < 2; i++) assert.equal((await requestH2(session, extendedConnectHeaders(session))).status, 200);
    const third = await refusal(session);
    assert.deepEqual([third.status, third.headers['retry-after'], third.body], [503, '5', 'Too many connections (maxConnections is 2)']);
  } finally {
    session.destroy();
    await closeServer(wss);
  }
});

test('closing maps to END_STREAM, terminate() to RST_STREAM CANCEL (RFC 8441 5)', T, async () => {
  const { wss, port } = await startH2();
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws: WebSocket) => sockets.push(ws));
  const a = await handshakeH2(port);
  const b = await handshakeH2(port);
  try {
    while (sockets.length < 2) await new Promise((r) => setImmediate(r));
    const [wsA, wsB] = sockets as [WebSocket, WebSocket];
    const closedA = closed(wsA);
    wsA.close(1000, 'done');
    const frame = await a.readFrame();
    assert.deepEqual(parseClosePayload(frame.payload), { code: 1000, reason: 'done' });
    await a.sendFrame({ opcode: Opcode.CLOSE, payload: closePayload(1000, 'done') });
    // The server closes its side first (END_STREAM), as it closes TCP first.
    assert.equal((await a.readUntilEnd()).length, 0);
    a.end();
    assert.deepEqual(await closedA, { code: 1000, reason: 'done' });
    await a.waitForClose();
    assert.equal(a.stream.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    assert.equal(a.error, undefined);

    const closedB = closed(wsB);
    wsB.terminate();
    await b.waitForClose();
    assert.equal(b.stream.rstCode, http2.constants.NGHTTP2_CANCEL);
    assert.equal((await closedB).code, 1006);
  } finally {
    await a.destroy();
    await b.destroy();
    await closeServer(wss);
  }
});

test('100 WebSockets on one session exchange messages while one of them is paused with a 4 MiB message waiting', { timeout: 60_000 }, async () => {
  const { wss, port } = await startH2();
  const byPath = new Map<string, WebSocket>();
  const received = new Map<string, number>();
  wss.on('connection', (ws: WebSocket, req) => {
    byPath.set(req.url!, ws);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      received.set(req.url!, (received.get(req.url!) ?? 0) + 1);
      ws.send(data, { binary: isBinary });
    });
  });
  const session = await connectH2(port);
  const clients: RawH2Client[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      const r = await requestH2(session, extendedConnectHeaders(session, `/ws/${i}`));
      assert.equal(r.status, 200);
      clients.push(new RawH2Client(r.stream, null, r.headers));
    }
    while (byPath.size < 100) await new Promise((r) => setImmediate(r));
    assert.equal(session.state.remoteWindowSize! > 0, true);
    // Stream 0's server-side reader stops; a 4 MiB message starts towards it.
    byPath.get('/ws/0')!.pause();
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    const bigSent = clients[0]!.sendFrame({ opcode: Opcode.BINARY, payload: big });
    // The 99 others: 10 messages each, all in flight at once, every echo comes back.
    await Promise.all(
      clients.slice(1).map(async (client, n) => {
        for (let m = 0; m < 10; m++) await client.sendFrame({ opcode: Opcode.TEXT, payload: `${n + 1}:${m}` });
        for (let m = 0; m < 10; m++) assert.equal((await client.readFrame()).payload.toString(), `${n + 1}:${m}`);
      }),
    );
    let echoed = 0;
    for (let i = 1; i < 100; i++) echoed += received.get(`/ws/${i}`) ?? 0;
    assert.equal(echoed, 990);
    // Meanwhile the paused one delivered nothing: the server holds at most its
    // stream window (64 KiB) of the upload, the client keeps the rest (flow control).
    assert.equal(received.get('/ws/0'), undefined);
    const held = (byPath.get('/ws/0')! as unknown as { _socket: { readableLength: number } })._socket.readableLength;
    assert.ok(held > 0 && held <= 65_535, `server holds ${held} bytes of the paused stream`);
    assert.ok(clients[0]!.stream.writableLength >= big.length - 65_535, `client still holds ${clients[0]!.stream.writableLength} bytes`);
    byPath.get('/ws/0')!.resume();
    await bigSent;
    const frame = await clients[0]!.readFrame();
    assert.equal(frame.payload.length, big.length);
    assert.equal(received.get('/ws/0'), 1);
  } finally {
    // One session teardown rather than 100 resets (see RawH2Client.destroy).
    session.destroy();
    await Promise.all(clients.map((client) => client.waitForClose()));
    await closeServer(wss);
  }
});

test('shutdown: every WebSocket gets Close 1001, then the session gets GOAWAY; close() calls back', T, async () => {
  const { wss, port } = await startH2();
  const session = await connectH2(port);
  const order: string[] = [];
  session.on('goaway', (code: number, lastStreamId: number) => order.push(`goaway ${code} ${lastStreamId}`));
  const clients: RawH2Client[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await requestH2(session, extendedConnectHeaders(session, `/${i}`));
    clients.push(new RawH2Client(r.stream, null, r.headers));
  }
  while (wss.clients.size < 3) await new Promise((r) => setImmediate(r));
  const shutDown = new Promise<void>((resolve) => wss.close(() => resolve()));
  for (const [i, client] of clients.entries()) {
    const frame = await client.readFrame();
    assert.deepEqual(parseClosePayload(frame.payload), { code: 1001, reason: 'Server shutting down' });
    order.push(`close ${i}`);
  }
  assert.deepEqual(order, ['close 0', 'close 1', 'close 2'], 'no GOAWAY before the Close frames were answered');
  for (const client of clients) {
    await client.sendFrame({ opcode: Opcode.CLOSE, payload: closePayload(1001) });
    client.end();
  }
  await shutDown;
  // GOAWAY (RFC 9113 6.8) with NO_ERROR and the last stream processed (5: the third stream),
  // after the Close frames; node:http2 repeats it when the session is finally destroyed.
  assert.deepEqual(order.slice(0, 4), ['close 0', 'close 1', 'close 2', 'goaway 0 5']);
  assert.deepEqual(new Set(order.slice(3)), new Set(['goaway 0 5']));
  await new Promise<void>((resolve) => (session.closed ? resolve() : session.once('close', () => resolve())));
});

test('our server: a session that opens no WebSocket within handshakeTimeout is dropped; one that did is kept', T, async () => {
  const { wss, port } = await startH2({ handshakeTimeout: 100 });
  echo(wss);
  const idle = await connectH2(port);
  const client = await handshakeH2(port);
  try {
    await new Promise<void>((resolve) => idle.once('close', () => resolve()));
    // The deadline of the other session was cleared by its WebSocket: it still echoes after 3 timeouts.
    await new Promise((r) => setTimeout(r, 300));
    await client.sendFrame({ opcode: Opcode.TEXT, payload: 'still here' });
    assert.equal((await client.readFrame()).payload.toString(), 'still here');
  } finally {
    await client.destroy();
    await closeServer(wss);
  }
});

const openssl = opensslPath();

test(
  "a user's http2 secure server (allowHTTP1): its pages over h2, WebSockets over h2 and over HTTP/1.1 upgrades, other CONNECTs 405",
  { timeout: 30_000, skip: skipReason(openssl) },
  async () => {
    const { key, cert, ca } = await createTestCertificate();
    const server = http2.createSecureServer({ key, cert, allowHTTP1: true }, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`page over HTTP/${req.httpVersion}`);
    });
    const wss = new WebSocketServer({ server });
    const versions: string[] = [];
    wss.on('connection', (ws: WebSocket, req) => {
      versions.push(req.httpVersion);
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    await new Promise<void>((resolve) => server.listen(0, resolve));
    const port = (server.address() as AddressInfo).port;
    const session = await connectH2(port, { ca });
    try {
      assert.equal(session.remoteSettings.enableConnectProtocol, true);
      const page = await requestH2(session, { ':method': 'GET', ':path': '/' });
      assert.equal(await readBody(page.stream), 'page over HTTP/2.0');
      const plainConnect = await requestH2(session, { ':method': 'CONNECT', ':authority': 'example.com:443' });
      assert.equal(plainConnect.status, 405);
      const r = await requestH2(session, extendedConnectHeaders(session, '/ws'));
      assert.equal(r.status, 200);
      const h2 = new RawH2Client(r.stream, null, r.headers);
      await h2.sendFrame({ opcode: Opcode.TEXT, payload: 'h2' });
      assert.equal((await h2.readFrame()).payload.toString(), 'h2');
      await h2.destroy();
      // An HTTP/1.1 client (ALPN http/1.1) upgrades on the same port.
      const h1 = new HyperWebSocket(`wss://localhost:${port}/ws`, { ca });
      await opened(h1);
      h1.send('h1');
      assert.equal(String((await nextMessage(h1))[0]), 'h1');
      h1.close();
      await closed(h1);
      assert.deepEqual(versions, ['2.0', '1.1']);
    } finally {
      session.destroy();
      await closeServer(wss);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  },
);

// ---- handshakeTimeout per stream: an asynchronous verifyClient that does not answer in time

/** verifyClient answering at once for /fast and never by itself for /slow (its callbacks are kept). */
function slowVerifier() {
  const pending: Array<(ok: boolean) => void> = [];
  const verifyClient: ServerOptions['verifyClient'] = (info, cb) => {
    if (info.req.url === '/slow') pending.push((ok) => cb(ok));
    else setImmediate(() => cb(true));
  };
  return { verifyClient, pending };
}

for (const which of ['ours (port + http2)', "yours (server: http2.createServer())"] as const) {
  test(`handshakeTimeout on ${which}: a stream whose verifyClient has not answered gets 503 "Opening handshake timed out"; the session goes on; the late answer is ignored`, T, async () => {
    const { verifyClient, pending } = slowVerifier();
    const options = { verifyClient, handshakeTimeout: 50 };
    let wss: WebSocketServer;
    let port: number;
    let userServer: http2.Http2Server | undefined;
    if (which.startsWith('ours')) ({ wss, port } = await startH2(options));
    else {
      userServer = http2.createServer();
      wss = new WebSocketServer({ server: userServer, ...options });
      await new Promise<void>((resolve) => userServer!.listen(0, '127.0.0.1', resolve));
      port = (userServer.address() as AddressInfo).port;
    }
    let connections = 0;
    wss.on('connection', (ws: WebSocket) => {
      connections++;
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    const session = await connectH2(port);
    try {
      // A WebSocket first: on our server it clears the session's own deadline.
      const fast = await requestH2(session, extendedConnectHeaders(session, '/fast'));
      assert.equal(fast.status, 200);
      const ws = new RawH2Client(fast.stream, null, fast.headers);
      const slow = await refusal(session, {}, '/slow');
      assert.deepEqual(
        { status: slow.status, type: slow.headers['content-type'], body: slow.body },
        { status: 503, type: 'text/plain; charset=utf-8', body: 'Opening handshake timed out' },
      );
      assert.equal(pending.length, 1);
      assert.deepEqual(wss.stats().handshakes.refused, { handshake_timeout: 1 });
      // The late answer changes nothing: no WebSocket, no other refusal.
      pending[0]!(true);
      await new Promise((r) => setImmediate(r));
      assert.equal(connections, 1);
      assert.deepEqual(wss.stats().handshakes.refused, { handshake_timeout: 1 });
      // The session and its WebSocket go on; so do new streams.
      await ws.sendFrame({ opcode: Opcode.TEXT, payload: 'still here' });
      assert.equal((await ws.readFrame()).payload.toString(), 'still here');
      assert.equal((await requestH2(session, extendedConnectHeaders(session, '/fast'))).status, 200);
      assert.equal(connections, 2);
      await ws.destroy();
    } finally {
      session.destroy();
      for (const c of wss.clients) c.terminate();
      await closeServer(wss);
      if (userServer !== undefined) await new Promise<void>((resolve) => userServer!.close(() => resolve()));
    }
  });
}
