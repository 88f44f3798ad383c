// `hyperws serve --http2` and `hyperws connect --http2 / --http2-auto` as child
// processes: WebSockets as Extended CONNECT streams (RFC 8441) over cleartext
// h2 (--h2c) and over TLS (ALPN h2, with HTTP/1.1 on the same port), the
// console page over HTTP/2, the fallback of --http2-auto, shutdown.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate } from '../support/tls.js';
import { runCli, startServe } from './helpers.js';

const T = { timeout: 60_000 };
const tlsSkip = skipReason(opensslPath());

/** A test certificate written to PEM files for --cert/--key; `ca` stays in memory for our clients. */
async function certificateFiles(): Promise<{ cert: string; key: string; ca: string; remove: () => Promise<void> }> {
  const { key, cert, ca } = await createTestCertificate();
  const dir = await mkdtemp(join(tmpdir(), 'hyperws-cli-h2-'));
  await writeFile(join(dir, 'cert.pem'), cert);
  await writeFile(join(dir, 'key.pem'), key);
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), ca, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Opens `url` with our client, sends `text`, and resolves with the echo and how the WebSocket was opened. */
async function echoOnce(url: string, options: ConstructorParameters<typeof WebSocket>[2], text: string) {
  const ws = new WebSocket(url, [], options);
  let httpVersion = '';
  ws.once('upgrade', (res: { httpVersion: string }) => (httpVersion = res.httpVersion));
  await once(ws, 'open');
  ws.send(text);
  const [data] = (await once(ws, 'message')) as [Buffer];
  ws.close(1000);
  await once(ws, 'close');
  return { echo: data.toString(), over: ({ '1.1': 'HTTP/1.1', '2.0': 'HTTP/2' } as Record<string, string>)[httpVersion] ?? `none (${httpVersion})` };
}

/** The response to GET `path` on a fresh HTTP/2 session. */
async function h2Get(authority: string, path: string, ca?: string): Promise<{ status: number; type: string; body: string }> {
  const session = http2.connect(authority, ca === undefined ? {} : { ca });
  try {
    const req = session.request({ ':path': path });
    const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
    req.setEncoding('utf8');
    let body = '';
    for await (const chunk of req) body += chunk as string;
    return { status: Number(headers[':status']), type: String(headers['content-type']), body };
  } finally {
    session.close();
  }
}

describe('hyperws serve --http2', () => {
  it('--h2c: WebSockets arrive as HTTP/2 streams, the console page is served over h2c, SIGTERM closes them with 1012', T, async () => {
    const serve = await startServe(['--http2', '--h2c']);
    try {
      assert.equal(serve.listening, `hyperws serve: listening on ws://127.0.0.1:${serve.port}/ (echo mode, HTTP/2 h2c only); console at http://127.0.0.1:${serve.port}/`);
      assert.equal(await serve.stderr.next(), 'hyperws serve: note: browsers do not speak cleartext HTTP/2 (h2c): the console page needs --cert/--key (or --pfx) instead of --h2c');
      const url = `ws://127.0.0.1:${serve.port}/`;
      assert.deepEqual(await echoOnce(url, { http2: true }, 'héllo'), { echo: 'héllo', over: 'HTTP/2' });
      assert.match(await serve.stderr.waitFor((l) => l.includes('connection #1 from')), /^hyperws serve: connection #1 from 127\.0\.0\.1:\d+ over HTTP\/2 \(1 connected\)$/);
      const page = await h2Get(`http://127.0.0.1:${serve.port}`, '/');
      assert.equal(page.status, 200);
      assert.equal(page.type, 'text/html; charset=utf-8');
      assert.match(page.body, /<html/i);
      assert.equal((await h2Get(`http://127.0.0.1:${serve.port}`, '/nope')).status, 404);

      const ws = new WebSocket(url, [], { http2: true });
      await once(ws, 'open');
      const closed = once(ws, 'close');
      assert.equal(await serve.stop('SIGTERM'), 0);
      const [code] = (await closed) as [number];
      assert.equal(code, 1012);
    } finally {
      await serve.kill();
    }
  });

  it('--cert/--key: h2 (ALPN) and HTTP/1.1 WebSockets on one TLS port; the page over h2', { ...T, skip: tlsSkip }, async () => {
    const files = await certificateFiles();
    const serve = await startServe(['--http2', '--cert', files.cert, '--key', files.key]);
    try {
      assert.equal(serve.listening, `hyperws serve: listening on wss://127.0.0.1:${serve.port}/ (echo mode, HTTP/2 and HTTP/1.1); console at https://127.0.0.1:${serve.port}/`);
      const url = `wss://127.0.0.1:${serve.port}/`;
      assert.deepEqual(await echoOnce(url, { http2: 'auto', ca: files.ca }, 'over h2'), { echo: 'over h2', over: 'HTTP/2' });
      assert.match(await serve.stderr.waitFor((l) => l.includes('connection #1 from')), / over HTTP\/2 \(1 connected\)$/);
      assert.deepEqual(await echoOnce(url, { ca: files.ca }, 'over 1.1'), { echo: 'over 1.1', over: 'HTTP/1.1' });
      assert.match(await serve.stderr.waitFor((l) => l.includes('connection #2 from')), /^hyperws serve: connection #2 from 127\.0\.0\.1:\d+ \(1 connected\)$/);
      const page = await h2Get(`https://127.0.0.1:${serve.port}`, '/', files.ca);
      assert.equal(page.status, 200);
      assert.match(page.body, /<html/i);
      assert.equal(await serve.stop('SIGINT'), 0);
    } finally {
      await serve.kill();
      await files.remove();
    }
  });

  it('rejects inconsistent HTTP/2 options (exit 2)', T, async () => {
    const cases: Array<[string[], string]> = [
      [['--h2c'], "Option '--h2c' only applies with '--http2'"],
      [['--http2'], "Option '--http2' needs '--cert' and '--key' or '--pfx' (or '--h2c' for cleartext)"],
      [['--http2', '--cert', 'c.pem'], "Option '--cert' needs '--key'"],
      [['--http2', '--h2c', '--key', 'k.pem'], "Option '--h2c' cannot be used with '--key'"],
      [['--http2', '--h2c', '--pfx', 's.pfx'], "Option '--h2c' cannot be used with '--pfx'"],
      [['--http2', '--cert', '/nonexistent/c.pem', '--key', '/nonexistent/k.pem'], "Option '--cert': cannot read '/nonexistent/c.pem' (ENOENT)"],
    ];
    for (const [args, message] of cases) {
      assert.deepEqual(await runCli(['serve', ...args]), {
        status: 2,
        stdout: '',
        stderr: `hyperws serve: ${message} (see 'hyperws serve --help')\n`,
      }, args.join(' '));
    }
  });
});

describe('hyperws connect --http2', () => {
  it('--http2 over ws:// (h2c) against serve --http2 --h2c: an HTTP/2 stream, the echo, exit 0', T, async () => {
    const serve = await startServe(['--http2', '--h2c']);
    try {
      const url = `ws://127.0.0.1:${serve.port}/`;
      assert.deepEqual(await runCli(['connect', url, '--http2', '-x', 'hi']), {
        status: 0,
        stdout: '< hi\n',
        stderr: `connected to ${url} (HTTP/2)\nclosed: 1000\n`,
      });
      assert.match(await serve.stderr.waitFor((l) => l.includes('connection #1 from')), / over HTTP\/2 /);
    } finally {
      await serve.kill();
    }
  });

  it('--http2 against an HTTP/1.1-only server fails (exit 1); --http2-auto over wss:// falls back to HTTP/1.1 there and uses h2 where offered', { ...T, skip: tlsSkip }, async () => {
    const plain = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    plain.on('connection', (ws) => ws.on('message', (m: Buffer) => ws.send(m.toString())));
    await once(plain, 'listening');
    const files = await certificateFiles();
    const serve = await startServe(['--http2', '--cert', files.cert, '--key', files.key]);
    // HTTP/1.1 only over TLS: no ALPN h2.
    const https = createHttpsServer({ cert: await readFile(files.cert), key: await readFile(files.key) });
    const wss1 = new WebSocketServer({ server: https });
    wss1.on('connection', (ws) => ws.on('message', (m: Buffer) => ws.send(m.toString())));
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    try {
      const refused = await runCli(['connect', `ws://127.0.0.1:${(plain.address() as { port: number }).port}/`, '--http2', '-x', 'x']);
      assert.equal(refused.status, 1);
      assert.equal(refused.stdout, '');
      assert.doesNotMatch(refused.stderr, /connected to/);

      const h2url = `wss://127.0.0.1:${serve.port}/`;
      assert.deepEqual(await runCli(['connect', h2url, '--http2-auto', '-k', '-x', 'a']), {
        status: 0,
        stdout: '< a\n',
        stderr: `connected to ${h2url} (HTTP/2)\nclosed: 1000\n`,
      });
      assert.deepEqual(await runCli(['connect', h2url, '-k', '-x', 'b']), {
        status: 0,
        stdout: '< b\n',
        stderr: `connected to ${h2url}\nclosed: 1000\n`,
      });
      const h1url = `wss://127.0.0.1:${(https.address() as { port: number }).port}/`;
      assert.deepEqual(await runCli(['connect', h1url, '--http2-auto', '-k', '-x', 'c']), {
        status: 0,
        stdout: '< c\n',
        stderr: `connected to ${h1url} (HTTP/1.1)\nclosed: 1000\n`,
      });
      assert.deepEqual((await runCli(['connect', h2url, '--http2', '--http2-auto'])).status, 2);
    } finally {
      wss1.close();
      https.close();
      await serve.kill();
      await files.remove();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });
});
