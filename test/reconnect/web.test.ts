// The browser flavour: over hyperws/web's WHATWG WebSocket in Node, and as
// ES modules served to headless Chromium, which loads dist-like
// build/src/reconnect/web.js and the files it imports, nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { ReconnectingWebSocket } from '../../src/web/index.js';
import { WebSocketServer } from '../../src/index.js';
import { createTestCertificate } from '../support/tls.js';
import { closeHttpServer, closeServer, listen, startServer } from '../node/helpers.js';
import { launchChromium } from '../support/chromium.js';
import { chromiumPath, opensslPath, skipReason } from '../support/system.js';

const T = { timeout: 30_000 };
const reconnectDir = join(dirname(fileURLToPath(import.meta.url)), '../../src/reconnect');

/** A server whose first connection is closed with 1012 (restart); later ones get 'welcome'. */
async function restartingServer() {
  const started = await startServer();
  let connections = 0;
  started.wss.on('connection', (ws) => {
    connections++;
    if (connections === 1) ws.close(1012, 'Service restart');
    else ws.send('welcome');
  });
  return started;
}

test('hyperws/web ReconnectingWebSocket: open, 1012, reconnecting (CustomEvent), open again, message, close once', T, async () => {
  const server = await restartingServer();
  const log: string[] = [];
  const client = new ReconnectingWebSocket(server.url, undefined, { initialDelay: 20, random: () => 0.5 });
  client.onopen = () => log.push('onopen');
  client.addEventListener('open', () => log.push('open'));
  client.addEventListener('reconnecting', (e) => {
    const { attempt, delay, code, reason } = (e as CustomEvent).detail;
    log.push(`reconnecting ${attempt} ${delay} ${code} ${reason}`);
  });
  client.addEventListener('message', (e) => {
    log.push(`message ${(e as MessageEvent).data}`);
    client.close(1000, 'bye');
  });
  client.addEventListener('close', (e) => {
    const { code, reason } = e as Event & { code: number; reason: string };
    log.push(`close ${code} ${reason}`);
  });
  await once(client, 'close');
  assert.deepEqual(log, ['onopen', 'open', 'reconnecting 1 10 1012 Service restart', 'onopen', 'open', 'message welcome', 'close 1000 bye']);
  await closeServer(server.wss);
});

/** restartingServer() over HTTP/2: ours with `http2` (h2c, or TLS with h2 and HTTP/1.1). */
async function restartingHttp2Server(tls: { key: string; cert: string } | undefined) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', http2: tls ?? true });
  await once(wss, 'listening');
  const versions: string[] = [];
  wss.on('connection', (ws, req) => {
    versions.push(req.httpVersion);
    if (versions.length === 1) ws.close(1012, 'Service restart');
    else ws.on('message', (data) => ws.send(`echo ${String(data)}`));
  });
  return { wss, port: (wss.address() as AddressInfo).port, versions };
}

for (const mode of ['h2c', 'tls'] as const) {
  const title = mode === 'h2c' ? 'h2c, http2: true' : "TLS, http2: 'auto'";
  test(`hyperws/web ReconnectingWebSocket over HTTP/2 (${title}): 1012, reconnects over HTTP/2, the queue flushed in order`, { ...T, skip: mode === 'tls' && skipReason(opensslPath()) }, async () => {
    const cert = mode === 'tls' ? await createTestCertificate() : undefined;
    const server = await restartingHttp2Server(cert);
    const url = `${cert !== undefined ? 'wss' : 'ws'}://127.0.0.1:${server.port}/`;
    const nodeOptions = cert !== undefined ? { http2: 'auto' as const, ca: cert.ca } : { http2: true as const };
    const log: string[] = [];
    const client = new ReconnectingWebSocket(url, undefined, { initialDelay: 20, random: () => 0.5, nodeOptions });
    client.addEventListener('open', () => log.push('open'));
    client.addEventListener('reconnecting', (e) => {
      const { attempt, code } = (e as CustomEvent).detail;
      log.push(`reconnecting ${attempt} ${code}`);
      client.send('queued 1');
      client.send('queued 2');
    });
    client.addEventListener('message', (e) => {
      log.push(`message ${(e as MessageEvent).data}`);
      if ((e as MessageEvent).data === 'echo queued 2') client.close(1000, 'bye');
    });
    client.addEventListener('close', (e) => log.push(`close ${(e as Event & { code: number }).code}`));
    await once(client, 'close');
    assert.deepEqual(log, ['open', 'reconnecting 1 1012', 'open', 'message echo queued 1', 'message echo queued 2', 'close 1000']);
    assert.deepEqual(server.versions, ['2.0', '2.0']);
    await closeServer(server.wss);
  });
}

test('hyperws/web ReconnectingWebSocket: reconnectNow() skips a 300 s wait and dials at once', T, async () => {
  const server = await restartingServer();
  // random 0.5 of a 600 s cap: the wait would be 300 s, beyond the test's timeout.
  const client = new ReconnectingWebSocket(server.url, undefined, { initialDelay: 600_000, maxDelay: 600_000, random: () => 0.5 });
  const log: string[] = [];
  client.addEventListener('open', () => log.push('open'));
  client.addEventListener('reconnecting', (e) => {
    log.push(`reconnecting ${(e as CustomEvent).detail.delay} ${client.reconnectNow()} ${client.reconnectNow()}`);
  });
  client.addEventListener('message', (e) => {
    log.push(`message ${(e as MessageEvent).data}`);
    client.close(1000, 'bye');
  });
  await once(client, 'close');
  assert.deepEqual(log, ['open', 'reconnecting 300000 true false', 'open', 'message welcome']);
  await closeServer(server.wss);
});

/** Every import specifier of a module file (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

test('the browser modules import only each other: no node: module, no package', () => {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const spec of importsOf(join(reconnectDir, name))) {
      assert.match(spec, /^\.\/[\w-]+\.js$/, `${name} imports ${spec}`);
      visit(spec.slice(2));
    }
  };
  visit('web.js');
  assert.deepEqual([...seen].sort(), ['backoff.js', 'reconnector.js', 'send-queue.js', 'web.js']);
});

test('in Chromium, served as ES modules: reconnects after 1012 and closes once', { ...T, skip: skipReason(chromiumPath()) }, async () => {
  const server = await restartingServer();
  const files = createServer((req, res) => {
    const name = /^\/reconnect\/([\w-]+\.js)$/.exec(req.url ?? '')?.[1];
    if (name === undefined) {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>reconnect</title>');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(reconnectDir, name)));
  });
  const port = await listen(files, '127.0.0.1');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    const log = await page.evaluate(async (wsUrl: string) => {
      const { ReconnectingWebSocket: Rws } = await import('/reconnect/web.js' as string);
      return await new Promise<string[]>((resolve) => {
        const out: string[] = [];
        const r = new Rws(wsUrl, undefined, { initialDelay: 20, random: () => 0.5 });
        r.addEventListener('open', () => out.push('open'));
        r.addEventListener('reconnecting', (e: CustomEvent) => out.push(`reconnecting ${e.detail.attempt} ${e.detail.code}`));
        r.addEventListener('message', (e: MessageEvent) => {
          out.push(`message ${e.data}`);
          r.close(1000, 'bye');
        });
        r.addEventListener('close', (e: Event & { code: number; reason: string }) => {
          out.push(`close ${e.code} ${e.reason} ${e instanceof (globalThis as any).CloseEvent}`);
          resolve(out);
        });
      });
    }, server.url);
    assert.deepEqual(log, ['open', 'reconnecting 1 1012', 'open', 'message welcome', 'close 1000 bye true']);
  } finally {
    await browser.close();
    await closeHttpServer(files);
    await closeServer(server.wss);
  }
});
