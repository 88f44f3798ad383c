// serveStatic over a real HTTP server on 127.0.0.1, port 0, and
// readStaticDir over a temporary directory; both removed at the end.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen } from '../../src/app-kit/http-server.js';
import { readStaticDir, serveStatic, type StaticFile } from '../../src/app-kit/static-files.js';

const T = { timeout: 20_000 };

interface Reply {
  status: number;
  /** Header names in the order sent, lower-cased. */
  names: string[];
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function fetchRaw(port: number, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        names: res.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()),
        headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serveStatic', () => {
  const page: StaticFile = { body: Buffer.from('<p>hi</p>'), type: 'text/html; charset=utf-8' };
  const script: StaticFile = { body: Buffer.from('let x;'), type: 'text/javascript; charset=utf-8' };
  let server: Server;
  let port: number;

  before(async () => {
    server = createServer(serveStatic({
      files: new Map([['/', page], ['/app.js', script]]),
      headers: { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' },
      endpoint: { path: '/ws', message: 'Upgrade Required: here\n' },
    }));
    ({ port } = await listen(server, 0, '127.0.0.1'));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('GET: the file, with Content-Type, Content-Length, then the site headers in order', T, async () => {
    const r = await fetchRaw(port, 'GET', '/');
    assert.equal(r.status, 200);
    assert.equal(r.body, '<p>hi</p>');
    assert.deepEqual(r.names.slice(0, 4), ['content-type', 'content-length', 'cache-control', 'x-content-type-options']);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers['content-length'], String(page.body.length));
    assert.equal(r.headers['cache-control'], 'no-store');
    const js = await fetchRaw(port, 'GET', '/app.js?v=2');
    assert.equal(js.status, 200);
    assert.equal(js.body, 'let x;');
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  });

  it('HEAD: the same headers, no body', T, async () => {
    const r = await fetchRaw(port, 'HEAD', '/app.js');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(script.body.length));
    assert.equal(r.body, '');
  });

  it('another method on a file: 405 with Allow', T, async () => {
    const r = await fetchRaw(port, 'POST', '/');
    assert.equal(r.status, 405);
    assert.equal(r.headers['allow'], 'GET, HEAD');
    assert.equal(r.body, 'Method Not Allowed\n');
  });

  it('the endpoint without an upgrade: 426 with Upgrade: websocket, whatever the method', T, async () => {
    for (const method of ['GET', 'POST']) {
      const r = await fetchRaw(port, method, '/ws?x=1');
      assert.equal(r.status, 426, method);
      assert.equal(r.headers['upgrade'], 'websocket');
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(r.body, 'Upgrade Required: here\n');
    }
  });

  it('anything else: 404, whatever the method', T, async () => {
    for (const [method, path] of [['GET', '/missing'], ['DELETE', '/missing'], ['GET', '/app.js/'], ['GET', '/APP.JS']] as const) {
      const r = await fetchRaw(port, method, path);
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body, 'Not Found\n');
    }
  });
});

describe('readStaticDir', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hyperws-app-kit-'));
    writeFileSync(join(dir, 'index.html'), '<html>');
    writeFileSync(join(dir, 'style.css'), 'p{}');
    writeFileSync(join(dir, 'notes.txt'), 'not served');
    mkdirSync(join(dir, 'sub.css'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the files with a known extension, keyed by /name; skips others and directories', () => {
    const files = readStaticDir(dir, { '.html': 'text/html', '.css': 'text/css' });
    assert.deepEqual([...files.keys()].sort(), ['/index.html', '/style.css']);
    assert.equal(files.get('/index.html')!.type, 'text/html');
    assert.equal(files.get('/style.css')!.body.toString(), 'p{}');
  });

  it('keys a subdirectory with its own prefix', () => {
    const files = readStaticDir(dir, { '.css': 'text/css' }, '/lib/css/');
    assert.deepEqual([...files.keys()], ['/lib/css/style.css']);
  });

  it('throws the file system error for a directory it cannot read', () => {
    assert.throws(() => readStaticDir(join(dir, 'absent'), {}), { code: 'ENOENT' });
  });
});
