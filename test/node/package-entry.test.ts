// The package entry as users import it: the ws-style default export (the
// WebSocket class carrying its friends) from ESM, and require() of the
// CommonJS build, which must talk to the ESM build across the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import WebSocket, { WebSocketServer, createWebSocketStream, Server, WebSocket as NamedWebSocket, CloseCode } from '../../src/index.js';
import { closeServer, closed, nextConnection, nextMessage, startServer } from './helpers.js';

const T = { timeout: 20_000 };

test('ESM: the default export is the WebSocket class with ws-style statics', T, () => {
  assert.equal(typeof WebSocket, 'function');
  assert.equal(WebSocket, NamedWebSocket);
  assert.equal(WebSocket.WebSocket, WebSocket);
  assert.equal(WebSocket.WebSocketServer, WebSocketServer);
  assert.equal(WebSocket.Server, WebSocketServer);
  assert.equal(Server, WebSocketServer);
  assert.equal(WebSocket.createWebSocketStream, createWebSocketStream);
  assert.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
  assert.equal(CloseCode.GoingAway, 1001);
});

interface CjsWebSocketClass {
  new (url: string, protocols?: string | string[]): InstanceType<typeof WebSocket>;
  WebSocket: unknown;
  WebSocketServer: unknown;
  Server: unknown;
  createWebSocketStream: unknown;
  OPEN: number;
}

function requireCjs(): CjsWebSocketClass {
  // The repository root is the working directory of the test run.
  const require = createRequire(import.meta.url);
  return require(join(process.cwd(), 'dist', 'cjs', 'index.cjs')) as CjsWebSocketClass;
}

test('CJS: require() returns the WebSocket class with the same statics', T, () => {
  const Cjs = requireCjs();
  assert.equal(typeof Cjs, 'function');
  assert.equal(Cjs.WebSocket, Cjs);
  assert.equal(typeof Cjs.WebSocketServer, 'function');
  assert.equal(Cjs.Server, Cjs.WebSocketServer);
  assert.equal(typeof Cjs.createWebSocketStream, 'function');
  assert.equal(Cjs.OPEN, 1);
  // A separate copy of the code, not the ESM class.
  assert.notEqual(Cjs, WebSocket);
  assert.equal((Cjs as unknown as { name: string }).name, 'WebSocket');
});

test('CJS client <-> ESM server: open, text, binary, close', T, async () => {
  const Cjs = requireCjs();
  const started = await startServer();
  started.wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  try {
    const connection = nextConnection(started.wss);
    const client = new Cjs(started.url + '/cjs', 'p1');
    await once(client, 'open');
    const [server, req] = await connection;
    assert.equal(req.url, '/cjs');
    assert.equal(client.protocol, 'p1');
    client.send('from cjs');
    const [text, textBinary] = await nextMessage(client);
    assert.equal(String(text), 'from cjs');
    assert.equal(textBinary, false);
    client.send(Buffer.from([9, 8, 7]));
    const [bin, binBinary] = await nextMessage(client);
    assert.deepEqual(bin, Buffer.from([9, 8, 7]));
    assert.equal(binBinary, true);
    const serverClose = closed(server);
    const clientClose = closed(client);
    client.close(1000, 'cjs done');
    assert.deepEqual(await serverClose, { code: 1000, reason: 'cjs done' });
    assert.equal((await clientClose).code, 1000);
  } finally {
    await closeServer(started.wss);
  }
});
