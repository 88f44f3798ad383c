// Interop with a real browser: headless Debian Chromium (playwright-core)
// loads a page from a node:http server on which our WebSocketServer is
// attached (same port), and the page's own `WebSocket` talks to it. Chromium
// always offers permessage-deflate; our server has it off by default, so it
// must decline by not answering and the page must see extensions ''. A last
// test enables it and checks that compressed traffic interoperates.
// Locally a missing chromium skips these tests; under CI it fails.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { WebSocketServer, type WebSocket } from '../../src/index.js';
import { withChromium } from '../support/chromium.js';
import { chromiumPath, skipReason } from '../support/system.js';

const chrome = chromiumPath();
const skip = skipReason(chrome);
const TIMEOUT = 120_000;

/** 1 MiB of ASCII text, built the same way in Node and in the page. */
const BIG_TEXT_JS = `'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(1048576 / 36)).slice(0, 1048576)`;
const BIG_TEXT = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(1048576 / 36)).slice(0, 1048576);
const TEXT = 'héllo wörld ✓';

// The page's helpers. Results are plain JSON so page.evaluate can return them.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>hyperws interop</title></head><body>
<script>
function openSocket(url) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const queue = [];
  const waiting = [];
  const s = { ws, errors: 0, opened: false };
  ws.onmessage = (e) => { const w = waiting.shift(); if (w) w(e.data); else queue.push(e.data); };
  ws.onerror = () => { s.errors++; };
  s.open = new Promise((resolve) => ws.addEventListener('open', () => { s.opened = true; resolve(); }));
  s.closed = new Promise((resolve) => {
    ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean });
  });
  s.next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve)));
  s.pending = () => queue.length;
  return s;
}

async function runExchange(url) {
  const s = openSocket(url);
  await s.open;
  const out = { extensions: s.ws.extensions, protocol: s.ws.protocol };
  s.ws.send(${JSON.stringify(TEXT)});
  out.text = await s.next();
  const bytes = new Uint8Array(256);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  s.ws.send(bytes);
  const back = await s.next();
  out.binaryIsArrayBuffer = back instanceof ArrayBuffer;
  out.binary = Array.from(new Uint8Array(back));
  const big = ${BIG_TEXT_JS};
  s.ws.send(big);
  const bigBack = await s.next();
  out.bigLength = bigBack.length;
  out.bigEqual = bigBack === big;
  s.ws.close(4000, 'page bye');
  out.close = await s.closed;
  out.errors = s.errors;
  out.unread = s.pending();
  return out;
}

async function waitForClose(url, firstMessage) {
  const s = openSocket(url);
  if (firstMessage !== undefined) {
    await s.open;
    s.ws.send(firstMessage);
  }
  const close = await s.closed;
  return { opened: s.opened, close, errors: s.errors, unread: s.pending() };
}
</script>
</body></html>
`;

interface Site {
  port: number;
  pageUrl: string;
  wsUrl: string;
  origin: string;
  wss: WebSocketServer;
  /** Every WebSocket connection as [ws, req], recorded synchronously. */
  connections: Array<{ ws: WebSocket; req: IncomingMessage; messages: Array<[Buffer, boolean]>; closed: Promise<[number, string]> }>;
  close(): Promise<void>;
}

/** An http server serving PAGE at '/', with our WebSocketServer on the same port. */
async function startSite(onConnection: (ws: WebSocket) => void, perMessageDeflate = false): Promise<Site> {
  const http: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/') {
      const body = Buffer.from(PAGE);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length });
      res.end(body);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 9 });
      res.end('not found');
    }
  });
  const wss = new WebSocketServer({ server: http, perMessageDeflate });
  const connections: Site['connections'] = [];
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const messages: Array<[Buffer, boolean]> = [];
    const closed = new Promise<[number, string]>((resolve) =>
      ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])),
    );
    ws.on('message', (data: Buffer, isBinary: boolean) => messages.push([Buffer.from(data), isBinary]));
    connections.push({ ws, req, messages, closed });
    onConnection(ws);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  return {
    port,
    pageUrl: `http://127.0.0.1:${port}/`,
    wsUrl: `ws://127.0.0.1:${port}/`,
    origin: `http://127.0.0.1:${port}`,
    wss,
    connections,
    async close() {
      for (const { ws } of connections) if (ws.readyState !== ws.CLOSED) ws.terminate();
      await Promise.all(connections.map((c) => c.closed));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve, reject) => http.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** Runs `fn` with a page loaded from `site` (so the page's origin is the site's). */
async function withPage<T>(site: Site, fn: (evaluate: (expression: string) => Promise<any>) => Promise<T>): Promise<T> {
  return withChromium(async (browser: Browser) => {
    const page = await browser.newPage();
    const response = await page.goto(site.pageUrl);
    assert.equal(response?.status(), 200);
    return fn((expression) => page.evaluate(expression));
  });
}

function assertBrowserHandshake(site: Site): void {
  assert.equal(site.connections.length, 1);
  const { ws, req } = site.connections[0]!;
  assert.equal(req.headers.origin, site.origin);
  // Chromium offers permessage-deflate; our 101 did not answer it.
  assert.match(String(req.headers['sec-websocket-extensions']), /^permessage-deflate/);
  assert.equal(ws.extensions, '');
}

describe('chromium interop: page WebSocket -> our WebSocketServer', () => {
  test('text, binary and 1 MiB echoed; the page closes with 4000 \'page bye\'', { skip, timeout: TIMEOUT }, async () => {
    const site = await startSite((ws) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    try {
      const result = await withPage(site, (evaluate) => evaluate(`runExchange(${JSON.stringify(site.wsUrl)})`));
      assert.deepEqual(result, {
        extensions: '',
        protocol: '',
        text: TEXT,
        binaryIsArrayBuffer: true,
        binary: Array.from({ length: 256 }, (_, i) => i),
        bigLength: BIG_TEXT.length,
        bigEqual: true,
        close: { code: 4000, reason: 'page bye', wasClean: true },
        errors: 0,
        unread: 0,
      });
      assertBrowserHandshake(site);
      const conn = site.connections[0]!;
      assert.deepEqual(await conn.closed, [4000, 'page bye']);
      assert.equal(conn.messages.length, 3);
      assert.deepEqual(conn.messages[0], [Buffer.from(TEXT), false]);
      assert.deepEqual(conn.messages[1], [Buffer.from(Array.from({ length: 256 }, (_, i) => i)), true]);
      assert.equal(conn.messages[2]![1], false);
      assert.equal(conn.messages[2]![0].toString(), BIG_TEXT);
    } finally {
      await site.close();
    }
  });

  test('the server closes with 4001 \'server bye\': the page sees a clean close with that code and reason', { skip, timeout: TIMEOUT }, async () => {
    const site = await startSite((ws) => ws.close(4001, 'server bye'));
    try {
      const result = await withPage(site, (evaluate) => evaluate(`waitForClose(${JSON.stringify(site.wsUrl)})`));
      assert.deepEqual(result, { opened: true, close: { code: 4001, reason: 'server bye', wasClean: true }, errors: 0, unread: 0 });
      assertBrowserHandshake(site);
      // Chromium echoes code and reason.
      assert.deepEqual(await site.connections[0]!.closed, [4001, 'server bye']);
    } finally {
      await site.close();
    }
  });

  test('the server closes with 1008 \'policy\' on the page\'s first message: the page sees 1008', { skip, timeout: TIMEOUT }, async () => {
    const site = await startSite((ws) => {
      ws.once('message', () => ws.close(1008, 'policy'));
    });
    try {
      const result = await withPage(site, (evaluate) => evaluate(`waitForClose(${JSON.stringify(site.wsUrl)}, 'forbidden?')`));
      assert.deepEqual(result, { opened: true, close: { code: 1008, reason: 'policy', wasClean: true }, errors: 0, unread: 0 });
      assertBrowserHandshake(site);
      const conn = site.connections[0]!;
      assert.deepEqual(conn.messages, [[Buffer.from('forbidden?'), false]]);
      assert.deepEqual(await conn.closed, [1008, 'policy']);
    } finally {
      await site.close();
    }
  });

  test('with perMessageDeflate enabled on our server, the page negotiates it and the same exchange works', { skip, timeout: TIMEOUT }, async () => {
    const site = await startSite((ws) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    }, true);
    try {
      const result = await withPage(site, (evaluate) => evaluate(`runExchange(${JSON.stringify(site.wsUrl)})`));
      assert.match(result.extensions, /^permessage-deflate/);
      assert.deepEqual({ ...result, extensions: 'checked above' }, {
        extensions: 'checked above',
        protocol: '',
        text: TEXT,
        binaryIsArrayBuffer: true,
        binary: Array.from({ length: 256 }, (_, i) => i),
        bigLength: BIG_TEXT.length,
        bigEqual: true,
        close: { code: 4000, reason: 'page bye', wasClean: true },
        errors: 0,
        unread: 0,
      });
      const conn = site.connections[0]!;
      assert.equal(conn.req.headers.origin, site.origin);
      assert.match(conn.ws.extensions, /^permessage-deflate/);
      assert.deepEqual(await conn.closed, [4000, 'page bye']);
      assert.equal(conn.messages[2]![0].toString(), BIG_TEXT);
    } finally {
      await site.close();
    }
  });
});
