// @fastify/websocket over hyperws: the plugin requires `ws`, which resolves
// to hyperws here (../support/ws-alias.ts), so `fastify.websocketServer` is
// our WebSocketServer (noServer) and every route's socket our WebSocket.
// Routes next to plain HTTP ones on one port, hooks that refuse upgrades,
// broadcast over `websocketServer.clients`, and the plugin's documented test
// helper `injectWS()`, which makes a client with `new WebSocket(null)`,
// `_isServer = false` and `setSocket()` over an in-memory stream pair.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { T } from './helpers.js';
import { hyperws, realWsLoaded, requirePackage } from '../support/ws-alias.js';

const fastify = requirePackage<typeof import('fastify')>('fastify');
const websocketPlugin = requirePackage<typeof import('@fastify/websocket')>('@fastify/websocket');
const { WebSocket, WebSocketServer } = hyperws();
type OurWebSocket = InstanceType<typeof WebSocket>;

/** A fastify app with the plugin and the routes every test uses; closed after `fn`. */
async function withApp(fn: (app: FastifyInstance, url: string) => Promise<void>): Promise<void> {
  const app = fastify.default({ logger: false });
  await app.register(websocketPlugin.default);
  app.get('/plain', async () => ({ ok: true }));
  app.get('/echo', { websocket: true }, (socket) => {
    socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(isBinary ? data : `echo: ${String(data)}`, { binary: isBinary }));
  });
  app.register(async (scope) => {
    // Upgrades are requests like others: hooks run first and may refuse them.
    scope.addHook('preValidation', async (request, reply) => {
      if (request.headers['x-token'] !== 'secret') await reply.code(401).send({ error: 'no token' });
    });
    scope.get('/guarded', { websocket: true }, (socket) => socket.send('welcome'));
  });
  app.get('/chat', { websocket: true }, (socket) => {
    socket.on('message', (data: Buffer) => {
      for (const client of app.websocketServer.clients) if (client.readyState === WebSocket.OPEN) client.send(String(data));
    });
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    await fn(app, address.replace(/^http/, 'ws'));
  } finally {
    await app.close();
  }
}

/** A client of ours, once open. */
async function open(url: string, options?: object): Promise<OurWebSocket> {
  const ws = new WebSocket(url, options);
  await once(ws, 'open');
  return ws;
}

async function nextText(ws: OurWebSocket): Promise<string> {
  const [data] = (await once(ws, 'message')) as [Buffer];
  return String(data);
}

async function closeClient(ws: OurWebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, 'close');
  ws.close(1000);
  await closed;
}

describe('@fastify/websocket over hyperws', () => {
  it('websocketServer is ours; routes echo text and binary; plain HTTP routes share the port', T, async () => {
    await withApp(async (app, url) => {
      assert.ok(app.websocketServer instanceof WebSocketServer);
      const accepted = once(app.websocketServer, 'connection') as Promise<[OurWebSocket]>;
      const ws = await open(`${url}/echo`);
      const [serverSide] = await accepted;
      assert.ok(serverSide instanceof WebSocket);
      const text = nextText(ws);
      ws.send('hello');
      assert.equal(await text, 'echo: hello');
      const binary = once(ws, 'message') as Promise<[Buffer, boolean]>;
      ws.send(Buffer.from([0, 1, 2, 255]));
      assert.deepEqual(await binary, [Buffer.from([0, 1, 2, 255]), true]);
      const response = await fetch(`${url.replace(/^ws/, 'http')}/plain`);
      assert.deepEqual([response.status, await response.json()], [200, { ok: true }]);
      await closeClient(ws);
      assert.deepEqual(realWsLoaded(), []);
    });
  });

  it('hooks refuse an upgrade with their HTTP answer; an unknown path gets 404', T, async () => {
    await withApp(async (_app, url) => {
      const refused = new WebSocket(`${url}/guarded`);
      const [error] = (await once(refused, 'error')) as [Error];
      assert.equal(error.message, 'Unexpected server response: 401');
      const missing = new WebSocket(`${url}/nope`);
      const [notFound] = (await once(missing, 'error')) as [Error];
      assert.equal(notFound.message, 'Unexpected server response: 404');
      const ws = new WebSocket(`${url}/guarded`, { headers: { 'x-token': 'secret' } });
      const welcome = nextText(ws); // sent at once: listen before 'open'
      await once(ws, 'open');
      assert.equal(await welcome, 'welcome');
      await closeClient(ws);
    });
  });

  it('broadcast over websocketServer.clients reaches every client', T, async () => {
    await withApp(async (app, url) => {
      const clients = [await open(`${url}/chat`), await open(`${url}/chat`), await open(`${url}/chat`)];
      assert.equal(app.websocketServer.clients.size, 3);
      const heard = clients.map(nextText);
      clients[1]!.send('hi all');
      assert.deepEqual(await Promise.all(heard), ['hi all', 'hi all', 'hi all']);
      await Promise.all(clients.map(closeClient));
    });
  });

  it('injectWS(): a client over an in-memory stream, no port involved', T, async () => {
    await withApp(async (app) => {
      const ws = (await app.injectWS('/echo')) as unknown as OurWebSocket;
      assert.ok(ws instanceof WebSocket);
      assert.equal(ws.readyState, WebSocket.OPEN);
      assert.equal(ws._isServer, false);
      const text = nextText(ws);
      ws.send('through memory');
      assert.equal(await text, 'echo: through memory');
      const binary = once(ws, 'message') as Promise<[Buffer, boolean]>;
      ws.send(Buffer.from('bytes'));
      assert.deepEqual(await binary, [Buffer.from('bytes'), true]);
      await closeClient(ws);
      // Refused by a hook: the promise rejects with the status.
      await assert.rejects(app.injectWS('/guarded'), /Unexpected server response: 401/);
      let welcome: Promise<string> | undefined;
      const guarded = (await app.injectWS('/guarded', { headers: { 'x-token': 'secret' } }, {
        onOpen: (socket) => (welcome = nextText(socket as unknown as OurWebSocket)), // sent at once: listen from 'open' on
      })) as unknown as OurWebSocket;
      assert.equal(await welcome, 'welcome');
      await closeClient(guarded);
    });
  });
});
