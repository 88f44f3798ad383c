// Interop with a real browser over HTTP/2 (RFC 8441): headless Debian
// Chromium loads a page over h2 (TLS, ALPN) from a node:http2 secure server
// on which our WebSocketServer is attached, and the page opens
// `new WebSocket('wss://same-origin/...')`. The server checks that the
// WebSocket arrived as an Extended CONNECT stream (req.httpVersion '2.0') on
// the very session that carried the page. No Chromium flag is needed: it uses
// RFC 8441 once our SETTINGS carry SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
// The certificate is signed by a throwaway CA the browser does not know, so
// the browser context ignores certificate errors.
// Locally a missing chromium or openssl skips this test; under CI it fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from '../../src/index.js';
import { withChromium } from '../support/chromium.js';
import { chromiumPath, opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate } from '../support/tls.js';

const TIMEOUT = 120_000;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>hyperws over HTTP/2</title></head><body>
<script>
async function exchange(url, text) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('error before open')); });
  const echoed = new Promise((resolve) => { ws.onmessage = (e) => resolve(e.data); });
  const closed = new Promise((resolve) => { ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean }); });
  ws.send(text);
  const echo = await echoed;
  ws.send('close me');
  return { echo, close: await closed, protocol: ws.protocol, extensions: ws.extensions };
}
</script></body></html>`;

test('Chromium: a page over h2 opens new WebSocket(wss://same-origin) as an HTTP/2 stream on the page\'s own session', { skip: skipReason(chromiumPath(), opensslPath()), timeout: TIMEOUT }, async () => {
  const { key, cert } = await createTestCertificate();
  const pageSessions: Http2Session[] = [];
  const pageVersions: string[] = [];
  const server = http2.createSecureServer({ key, cert, allowHTTP1: true }, (req: Http2ServerRequest, res: Http2ServerResponse) => {
    pageVersions.push(`${req.httpVersion} ${req.url}`);
    if (req.stream !== undefined) pageSessions.push(req.stream.session!);
    if (req.url !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('Not Found');
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(PAGE);
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  const arrivals: Array<{ httpVersion: string; method: string; url: string; samePageSession: boolean }> = [];
  wss.on('connection', (ws: WebSocket, req: Http2ServerRequest) => {
    arrivals.push({
      httpVersion: req.httpVersion,
      method: req.method,
      url: req.url,
      samePageSession: req.stream !== undefined && pageSessions.includes(req.stream.session!),
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (data.toString() === 'close me') ws.close(4001, 'done over h2');
      else ws.send(data, { binary: isBinary });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const result = await withChromium(async (browser) => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      try {
        const page = await context.newPage();
        await page.goto(`https://127.0.0.1:${port}/`);
        return await page.evaluate(
          ([url, text]) => (globalThis as unknown as { exchange(u: string, t: string): Promise<unknown> }).exchange(url!, text!),
          [`wss://127.0.0.1:${port}/ws`, 'héllo over h2 ✓'],
        );
      } finally {
        await context.close();
      }
    });
    assert.deepEqual(result, {
      echo: 'héllo over h2 ✓',
      close: { code: 4001, reason: 'done over h2', wasClean: true },
      protocol: '',
      extensions: '',
    });
    assert.ok(pageVersions.includes('2.0 /'), `the page was not fetched over HTTP/2: ${JSON.stringify(pageVersions)}`);
    assert.deepEqual(arrivals, [{ httpVersion: '2.0', method: 'CONNECT', url: '/ws', samePageSession: true }]);
  } finally {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.close();
    for (const session of pageSessions) if (!session.closed) session.close();
    await once(server, 'close');
  }
});
