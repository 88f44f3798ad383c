// `hyperws serve` as a child process: listening line, echo and broadcast
// modes, the console page and other HTTP paths, shutdown on signals.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { WebSocket } from '../../src/index.js';
import { connectRaw, trickle, untilDropped, type RawClient } from '../support/raw-socket.js';
import { runCli, startServe, type ServeProcess } from './helpers.js';

const T = { timeout: 30_000 };

/** A client of ours, open, with its messages queued for next(). */
async function client(url: string, protocols: string[] = []) {
  const ws = new WebSocket(url, protocols);
  const queue: Array<{ data: Buffer; isBinary: boolean }> = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    queue.push({ data, isBinary });
    wake?.();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
  await once(ws, 'open');
  return {
    ws,
    closed,
    async next() {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const m = queue.shift()!;
      return { text: m.data.toString(), isBinary: m.isBinary, bytes: [...m.data] };
    },
    async close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.close(1000, 'bye');
      return closed;
    },
  };
}

const connectionLine = (n: number, connected: number) =>
  new RegExp(`^hyperws serve: connection #${n} from 127\\.0\\.0\\.1:\\d+ \\(${connected} connected\\)$`);

/** Closes a client and waits until serve has logged its disconnection. */
async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', path }, async (res) => {
      let body = '';
      for await (const chunk of res) body += chunk;
      resolve({ status: res.statusCode!, body });
    });
    req.on('error', reject);
    req.end();
  });
}

async function closeAndAwaitLog(serve: ServeProcess, c: { close(): Promise<unknown> }, n: number) {
  await c.close();
  return serve.stderr.waitFor((line) => line.startsWith(`hyperws serve: connection #${n} closed:`));
}

describe('hyperws serve', () => {
  it('prints one listening line with the bound port, echoes text and binary, exits 0 on SIGTERM', T, async () => {
    const serve = await startServe();
    try {
      assert.equal(serve.listening, `hyperws serve: listening on ws://127.0.0.1:${serve.port}/ (echo mode); console at http://127.0.0.1:${serve.port}/`);
      assert.notEqual(serve.port, 0);
      const c = await client(`ws://127.0.0.1:${serve.port}/`);
      c.ws.send('hello');
      c.ws.send(Buffer.from([0, 1, 2, 255]));
      c.ws.send('');
      assert.deepEqual(await c.next(), { text: 'hello', isBinary: false, bytes: [...Buffer.from('hello')] });
      assert.deepEqual(await c.next(), { text: Buffer.from([0, 1, 2, 255]).toString(), isBinary: true, bytes: [0, 1, 2, 255] });
      assert.deepEqual(await c.next(), { text: '', isBinary: false, bytes: [] });
      assert.equal(await closeAndAwaitLog(serve, c, 1), 'hyperws serve: connection #1 closed: 1000 bye (0 connected)');
      assert.equal(await serve.stop('SIGTERM'), 0);
      assert.deepEqual(serve.stdout.lines, [serve.listening]);
      assert.equal(serve.stderr.lines.length, 3, serve.stderr.text);
      assert.match(serve.stderr.lines[0]!, connectionLine(1, 1));
      assert.equal(serve.stderr.lines[2], 'hyperws serve: SIGTERM: closing 0 connections');
    } finally {
      await serve.kill();
    }
  });

  it('--broadcast sends each message to every client, the sender included', T, async () => {
    const serve = await startServe(['--broadcast']);
    try {
      assert.equal(serve.listening, `hyperws serve: listening on ws://127.0.0.1:${serve.port}/ (broadcast mode); console at http://127.0.0.1:${serve.port}/`);
      const a = await client(`ws://127.0.0.1:${serve.port}/`);
      const b = await client(`ws://127.0.0.1:${serve.port}/`);
      a.ws.send('from a');
      assert.deepEqual(await a.next(), { text: 'from a', isBinary: false, bytes: [...Buffer.from('from a')] });
      assert.deepEqual(await b.next(), { text: 'from a', isBinary: false, bytes: [...Buffer.from('from a')] });
      b.ws.send(Buffer.from([7, 8]));
      assert.deepEqual(await a.next(), { text: '\x07\x08', isBinary: true, bytes: [7, 8] });
      assert.deepEqual(await b.next(), { text: '\x07\x08', isBinary: true, bytes: [7, 8] });
      assert.equal(await closeAndAwaitLog(serve, a, 1), 'hyperws serve: connection #1 closed: 1000 bye (1 connected)');
      // Only b is left: its message reaches b alone.
      b.ws.send('alone');
      assert.deepEqual(await b.next(), { text: 'alone', isBinary: false, bytes: [...Buffer.from('alone')] });
      assert.equal(await closeAndAwaitLog(serve, b, 2), 'hyperws serve: connection #2 closed: 1000 bye (0 connected)');
      assert.equal(await serve.stop('SIGINT'), 0);
      assert.match(serve.stderr.lines[0]!, connectionLine(1, 1));
      assert.match(serve.stderr.lines[1]!, connectionLine(2, 2));
      assert.equal(serve.stderr.lines.at(-1), 'hyperws serve: SIGINT: closing 0 connections');
    } finally {
      await serve.kill();
    }
  });

  it('serves the console page at / (200, text/html, a new WebSocket( call) and 404 elsewhere', T, async () => {
    const serve = await startServe();
    try {
      const page = await fetch(`http://127.0.0.1:${serve.port}/`);
      assert.equal(page.status, 200);
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
      const html = await page.text();
      assert.ok(html.startsWith('<!doctype html>'), html.slice(0, 40));
      assert.ok(html.includes('new WebSocket('));
      assert.ok(html.includes('<body data-ws-path="/">'));
      assert.ok(!/<(script|link)[^>]+(src|href)=/i.test(html), 'the page loads nothing from elsewhere');

      const query = await fetch(`http://127.0.0.1:${serve.port}/?x=1`);
      assert.equal(query.status, 200);
      await query.arrayBuffer();

      const head = await fetch(`http://127.0.0.1:${serve.port}/`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');

      const missing = await fetch(`http://127.0.0.1:${serve.port}/nope`);
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(await missing.text(), 'Not Found\n');

      const post = await fetch(`http://127.0.0.1:${serve.port}/`, { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
      await post.arrayBuffer();
      assert.equal(await serve.stop(), 0);
      assert.deepEqual(serve.stderr.lines, ['hyperws serve: SIGTERM: closing 0 connections']);
    } finally {
      await serve.kill();
    }
  });

  it('--path moves the endpoint: the page points at it, plain GET there is 426, upgrades elsewhere are refused', T, async () => {
    const serve = await startServe(['--path', '/ws']);
    try {
      assert.equal(serve.listening, `hyperws serve: listening on ws://127.0.0.1:${serve.port}/ws (echo mode); console at http://127.0.0.1:${serve.port}/`);
      const html = await (await fetch(`http://127.0.0.1:${serve.port}/`)).text();
      assert.ok(html.includes('<body data-ws-path="/ws">'));
      const plain = await fetch(`http://127.0.0.1:${serve.port}/ws`);
      assert.equal(plain.status, 426);
      assert.equal(await plain.text(), 'Upgrade Required: this is a WebSocket endpoint\n');

      const c = await client(`ws://127.0.0.1:${serve.port}/ws?token=1`);
      c.ws.send('on /ws');
      assert.deepEqual(await c.next(), { text: 'on /ws', isBinary: false, bytes: [...Buffer.from('on /ws')] });
      await closeAndAwaitLog(serve, c, 1);

      const wrong = new WebSocket(`ws://127.0.0.1:${serve.port}/`);
      wrong.on('error', () => {}); // terminate() below reports the aborted handshake
      const [, res] = (await once(wrong, 'unexpected-response')) as [unknown, import('node:http').IncomingMessage];
      assert.equal(res.statusCode, 400);
      res.resume();
      wrong.terminate();
      assert.equal(await serve.stop(), 0);
    } finally {
      await serve.kill();
    }
  });

  it('--max-payload: a larger message closes the connection with 1009', T, async () => {
    const serve = await startServe(['--max-payload', '4']);
    try {
      const c = await client(`ws://127.0.0.1:${serve.port}/`);
      c.ws.send('1234');
      assert.deepEqual(await c.next(), { text: '1234', isBinary: false, bytes: [...Buffer.from('1234')] });
      c.ws.send('12345');
      assert.equal((await c.closed).code, 1009);
      assert.match(
        await serve.stderr.waitFor((line) => line.startsWith('hyperws serve: connection #1 closed:')),
        /^hyperws serve: connection #1 closed: 1009 \(error: .+\) \(0 connected\)$/,
      );
      assert.equal(await serve.stop(), 0);
    } finally {
      await serve.kill();
    }
  });

  for (const [signal, code, reason] of [['SIGTERM', 1012, 'Service restart'], ['SIGINT', 1001, 'Server shutting down']] as const) {
    it(`${signal} closes connected clients with ${code}, then exits 0`, T, async () => {
      const serve = await startServe();
      try {
        const a = await client(`ws://127.0.0.1:${serve.port}/`);
        const b = await client(`ws://127.0.0.1:${serve.port}/`);
        assert.equal(await serve.stop(signal), 0);
        assert.deepEqual(await a.closed, { code, reason });
        assert.deepEqual(await b.closed, { code, reason });
        assert.deepEqual(serve.stdout.lines, [serve.listening]);
        assert.equal(serve.stderr.lines[2], `hyperws serve: ${signal}: closing 2 connections`);
        // The two closes finish in either order: the first logs 1 connected, the second 0.
        const closes = serve.stderr.lines.slice(3);
        assert.equal(closes.length, 2, serve.stderr.text);
        const line = new RegExp(`^hyperws serve: connection #(\\d) closed: ${code} ${reason} \\((\\d) connected\\)$`);
        const parsed = closes.map((l) => line.exec(l)?.slice(1));
        assert.deepEqual(parsed.map((p) => p?.[0]).sort(), ['1', '2'], serve.stderr.text);
        assert.deepEqual(parsed.map((p) => p?.[1]), ['1', '0'], serve.stderr.text);
      } finally {
        await serve.kill();
      }
    });
  }

  it('on loopback, /metrics, /healthz and /readyz answer by default; --no-metrics turns them off', T, async () => {
    const serve = await startServe();
    try {
      const c = await client(`ws://127.0.0.1:${serve.port}/`);
      c.ws.send('one');
      assert.equal((await c.next()).text, 'one');
      const bad = await connectRaw(serve.port);
      await bad.write('GET / HTTP/1.1\r\nHost : x\r\n\r\n');
      assert.equal((await bad.readHttpHead()).status, 400);
      await bad.destroy();
      const metrics = await httpGet(serve.port, '/metrics');
      assert.equal(metrics.status, 200);
      const lines = metrics.body.split('\n');
      for (const expected of [
        'hyperws_connections_open 1',
        'hyperws_handshakes_accepted_total 1',
        'hyperws_handshakes_refused_total{reason="request_head"} 1',
        'hyperws_messages_received_total 1',
        'hyperws_messages_sent_total 1',
      ]) {
        assert.ok(lines.includes(expected), `${expected} in\n${metrics.body}`);
      }
      assert.deepEqual(await httpGet(serve.port, '/healthz'), { status: 200, body: 'ok\n' });
      assert.deepEqual(await httpGet(serve.port, '/readyz'), { status: 200, body: 'ready\n' });
      await c.close();
      assert.equal(await serve.stop('SIGTERM'), 0);
    } finally {
      await serve.kill();
    }
    const quiet = await startServe(['--no-metrics']);
    try {
      assert.equal((await httpGet(quiet.port, '/metrics')).status, 404);
      assert.equal(await quiet.stop('SIGTERM'), 0);
    } finally {
      await quiet.kill();
    }
  });

  it('--handshake-timeout: a trickled request head is dropped; the console page connection is closed after it', T, async (t) => {
    const serve = await startServe(['--handshake-timeout', '200ms']);
    const opened: RawClient[] = [];
    try {
      const fresh = await connectRaw(serve.port);
      opened.push(fresh);
      await trickle(fresh, 'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n');
      const page = await connectRaw(serve.port);
      opened.push(page);
      await page.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
      const head = await page.readHttpHead();
      assert.equal(head.status, 200);
      assert.equal(head.headers['connection'], 'close', 'no keep-alive to trickle a second head on');
      assert.equal((await page.readUntilEnd()).length, Number(head.headers['content-length']), 'the page, then the server closes');
      assert.equal(await untilDropped(fresh, t.signal), '');
      const c = await client(`ws://127.0.0.1:${serve.port}/`);
      c.ws.send('still served');
      assert.equal((await c.next()).text, 'still served');
      await closeAndAwaitLog(serve, c, 1);
      assert.equal(await serve.stop('SIGTERM'), 0);
    } finally {
      for (const c of opened) await c.destroy();
      await serve.kill();
    }
  });

  it('--max-connections: one more client is refused 503 with Retry-After; --idle-timeout closes a silent client with 1001', T, async () => {
    const serve = await startServe(['--max-connections', '1', '--idle-timeout', '0.1s']);
    try {
      const c = await client(`ws://127.0.0.1:${serve.port}/`);
      const refused = new WebSocket(`ws://127.0.0.1:${serve.port}/`);
      const [, res] = (await once(refused, 'unexpected-response')) as [unknown, import('node:http').IncomingMessage];
      assert.equal(res.statusCode, 503);
      assert.equal(res.headers['retry-after'], '5');
      res.resume();
      assert.deepEqual(await c.closed, { code: 1001, reason: 'Idle timeout' });
      assert.equal(await serve.stop('SIGTERM'), 0);
    } finally {
      await serve.kill();
    }
  });

  it('a busy port: one-line error, exit 1', T, async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const { port } = blocker.address() as { port: number };
      assert.deepEqual(await runCli(['serve', '--port', String(port)]), {
        status: 1,
        stdout: '',
        stderr: `hyperws serve: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`,
      });
    } finally {
      blocker.close();
      await once(blocker, 'close');
    }
  });

  it('bad option values: one-line errors, exit 2', T, async () => {
    const cases: Array<[string[], string]> = [
      [['--echo', '--broadcast'], "Options '--echo' and '--broadcast' cannot be used together"],
      [['--port', '65536'], "Option '--port' expects an integer from 0 to 65535, got '65536'"],
      [['--port', '-1'], "Option '--port' argument is ambiguous"],
      [['--port', 'x'], "Option '--port' expects an integer from 0 to 65535, got 'x'"],
      [['--max-payload', '1.5'], `Option '--max-payload' expects an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got '1.5'`],
      [['--path', 'ws'], "Option '--path' must start with '/' and contain no spaces, got 'ws'"],
      [['--handshake-timeout', 'soon'], "Option '--handshake-timeout' expects a duration (milliseconds, or with a unit: 500ms, 5s, 2m), got 'soon'"],
      [['--max-connections', '-5'], "Option '--max-connections' argument is ambiguous"],
      [['--idle-timeout', '1h'], "Option '--idle-timeout' expects a duration (milliseconds, or with a unit: 500ms, 5s, 2m), got '1h'"],
      [['extra'], "Unexpected argument 'extra'"],
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
