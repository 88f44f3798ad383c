// listen() and closeServers() on real servers bound to 127.0.0.1, port 0;
// every server and client is closed in a finally block.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, Agent, get } from 'node:http';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { closeServers, listen } from '../../src/app-kit/http-server.js';

const T = { timeout: 20_000 };

function close(server: ReturnType<typeof createServer>): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('listen', () => {
  it('resolves with the bound address (port 0 picks one) and leaves no error listener', T, async () => {
    const server = createServer();
    try {
      const before = server.listenerCount('error');
      const address = await listen(server, 0, '127.0.0.1');
      assert.equal(address.address, '127.0.0.1');
      assert.equal(address.family, 'IPv4');
      assert.ok(address.port > 0);
      assert.deepEqual(server.address(), address);
      assert.equal(server.listenerCount('error'), before);
    } finally {
      await close(server);
    }
  });

  it('rejects with EADDRINUSE when the port is taken, and leaves no error listener', T, async () => {
    const first = createServer();
    const second = createServer();
    try {
      const { port } = await listen(first, 0, '127.0.0.1');
      const before = second.listenerCount('error');
      await assert.rejects(listen(second, port, '127.0.0.1'), { code: 'EADDRINUSE' });
      assert.equal(second.listening, false);
      assert.equal(second.listenerCount('error'), before);
    } finally {
      await close(first);
      await close(second);
    }
  });
});

describe('closeServers', () => {
  it('closes every client with 1001, the WebSocketServer, the HTTP server and its idle connections', T, async () => {
    const http = createServer((_req, res) => res.end('ok'));
    const wss = new WebSocketServer({ server: http });
    const agent = new Agent({ keepAlive: true });
    const clients: WebSocket[] = [];
    try {
      const { port } = await listen(http, 0, '127.0.0.1');
      // An idle keep-alive HTTP connection: closing must not wait for it.
      const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/', agent }, resolve).on('error', reject);
      });
      res.resume();
      await once(res, 'end');
      for (let i = 0; i < 2; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
        clients.push(ws);
        await once(ws, 'open');
      }
      const closes = clients.map((ws) => once(ws, 'close'));
      await closeServers(wss, http);
      assert.equal(http.listening, false);
      assert.equal(wss.clients.size, 0);
      for (const [code] of await Promise.all(closes)) assert.equal(code, 1001);
    } finally {
      for (const ws of clients) ws.terminate();
      agent.destroy();
      await close(http);
    }
  });

  it('resolves with no client connected', T, async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    try {
      await listen(http, 0, '127.0.0.1');
      await closeServers(wss, http);
      assert.equal(http.listening, false);
    } finally {
      await close(http);
    }
  });
});
