// followRedirects / maxRedirects (ws-compatible): 3xx answers to the opening
// handshake, followed to the final WebSocket server, with credentials
// dropped on a redirect to another host, as ws and curl do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { closeHttpServer, closePair, errorThenClose, listen, nextConnection, opened } from './helpers.js';

const T = { timeout: 20_000 };

/**
 * An HTTP server on 127.0.0.1 whose upgrade requests get a 302 to
 * `route(path, ownPort)`, or go to its WebSocketServer when that returns
 * null. Records every upgrade request it saw.
 */
async function redirectingServer(route: (path: string, port: number) => string | null) {
  const wss = new WebSocketServer({ noServer: true });
  const seen: IncomingMessage[] = [];
  const http = createServer((_req, res) => res.writeHead(404).end());
  const port = await listen(http, '127.0.0.1');
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    seen.push(req);
    const location = route(req.url ?? '/', port);
    if (location === null) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      return;
    }
    socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  });
  return {
    wss,
    port,
    seen,
    url: `ws://127.0.0.1:${port}`,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await closeHttpServer(http);
    },
  };
}

const CREDENTIALS = { Authorization: 'Bearer secret', Cookie: 'session=1', 'X-Custom': 'kept' };

test('without followRedirects a 302 fails the handshake, as in ws', T, async () => {
  const server = await redirectingServer(() => '/elsewhere');
  try {
    const r = await errorThenClose(new WebSocket(server.url + '/start'));
    assert.equal(r.error.message, 'Unexpected server response: 302');
    assert.equal(r.close.code, 1006);
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});

test('followRedirects: relative and http: Locations are followed; "redirect" gives each new URL and the request, before it is sent', T, async () => {
  const server = await redirectingServer((path, port) =>
    path === '/start' ? '/middle?x=1' : path === '/middle?x=1' ? `http://127.0.0.1:${port}/final` : null,
  );
  try {
    const connection = nextConnection(server.wss);
    const client = new WebSocket(server.url + '/start', { followRedirects: true, headers: CREDENTIALS });
    const hops: string[] = [];
    client.on('redirect', (url: string, req: ClientRequest) => {
      hops.push(url);
      req.setHeader('X-Hop', String(hops.length)); // still possible: not sent yet
    });
    await opened(client);
    const [peer, req] = await connection;
    assert.deepEqual(hops, [`ws://127.0.0.1:${server.port}/middle?x=1`, `ws://127.0.0.1:${server.port}/final`]);
    assert.equal(client.url, `ws://127.0.0.1:${server.port}/final`);
    assert.deepEqual(server.seen.map((r) => r.url), ['/start', '/middle?x=1', '/final']);
    assert.equal(req.headers['x-hop'], '2');
    // Same host: the credentials went along.
    assert.equal(req.headers['authorization'], 'Bearer secret');
    assert.equal(req.headers['cookie'], 'session=1');
    await closePair(client, peer);
  } finally {
    await server.close();
  }
});

test('finishRequest is called for every request of the chain, after its "redirect" (as ws)', T, async () => {
  const server = await redirectingServer((path) => (path === '/start' ? '/final' : null));
  try {
    const order: string[] = [];
    const connection = nextConnection(server.wss);
    const client = new WebSocket(server.url + '/start', {
      followRedirects: true,
      finishRequest: (request) => {
        order.push(`finish ${request.path}`);
        request.setHeader('X-Request', String(order.length));
        request.end();
      },
    });
    client.on('redirect', (url: string) => order.push(`redirect ${new URL(url).pathname}`));
    await opened(client);
    const [peer, req] = await connection;
    assert.deepEqual(order, ['finish /start', 'redirect /final', 'finish /final']);
    assert.deepEqual(server.seen.map((r) => r.headers['x-request']), ['1', '3']);
    assert.equal(req.url, '/final');
    await closePair(client, peer);
  } finally {
    await server.close();
  }
});

test('a redirect to another host drops Authorization and Cookie (not other headers) unless "redirect" is listened to', T, async () => {
  const final = await redirectingServer(() => null);
  const first = await redirectingServer(() => `ws://127.0.0.1:${final.port}/there`);
  try {
    for (const listening of [false, true]) {
      const connection = nextConnection(final.wss);
      const client = new WebSocket(first.url + '/here', { followRedirects: true, headers: CREDENTIALS });
      if (listening) client.on('redirect', () => {});
      await opened(client);
      const [peer, req] = await connection;
      assert.equal(req.url, '/there');
      assert.equal(req.headers['x-custom'], 'kept');
      assert.equal(req.headers['authorization'], listening ? 'Bearer secret' : undefined, `listening: ${listening}`);
      assert.equal(req.headers['cookie'], listening ? 'session=1' : undefined, `listening: ${listening}`);
      await closePair(client, peer);
    }
  } finally {
    await first.close();
    await final.close();
  }
});

test('maxRedirects: one more redirect than allowed fails with "Maximum redirects exceeded"', T, async () => {
  const server = await redirectingServer((path) => `/loop${path.length}`);
  try {
    const r = await errorThenClose(new WebSocket(server.url + '/', { followRedirects: true, maxRedirects: 2 }));
    assert.equal(r.error.message, 'Maximum redirects exceeded');
    assert.equal(r.close.code, 1006);
    assert.deepEqual(r.order, ['error', 'close']);
    assert.equal(server.seen.length, 3, 'the first request and 2 redirects');
  } finally {
    await server.close();
  }
});

test('a redirect to a non-WebSocket URL fails the handshake with a SyntaxError', T, async () => {
  const server = await redirectingServer(() => 'ftp://127.0.0.1/file');
  try {
    const r = await errorThenClose(new WebSocket(server.url + '/', { followRedirects: true }));
    assert.ok(r.error instanceof SyntaxError);
    assert.equal(r.error.message, `The URL's protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"`);
    assert.equal(r.close.code, 1006);
  } finally {
    await server.close();
  }
});

test('close() from a "redirect" listener ends the handshake before the next request is sent', T, async () => {
  const server = await redirectingServer(() => '/next');
  try {
    const client = new WebSocket(server.url + '/', { followRedirects: true });
    client.on('redirect', () => client.close());
    const r = await errorThenClose(client);
    assert.equal(r.error.message, 'WebSocket was closed before the connection was established');
    assert.equal(server.seen.length, 1, 'the redirected request was never sent');
  } finally {
    await server.close();
  }
});

test('a "redirect" listener that throws fails the handshake (error, then close 1006) instead of crashing', T, async () => {
  const server = await redirectingServer(() => '/next');
  try {
    const client = new WebSocket(server.url + '/', { followRedirects: true });
    client.on('redirect', () => {
      throw new Error('listener blew up');
    });
    const r = await errorThenClose(client);
    assert.equal(r.error.message, 'listener blew up');
    assert.equal(r.close.code, 1006);
    assert.equal(client.readyState, WebSocket.CLOSED);
  } finally {
    await server.close();
  }
});

test('an empty Location is not followed: the 3xx fails the handshake', T, async () => {
  const server = await redirectingServer(() => '');
  try {
    const r = await errorThenClose(new WebSocket(server.url + '/', { followRedirects: true }));
    assert.equal(r.error.message, 'Unexpected server response: 302');
    assert.equal(server.seen.length, 1);
  } finally {
    await server.close();
  }
});
