// `hyperws connect` as a child process, against `hyperws serve` or a
// WebSocketServer of ours in the test process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket, type ServerOptions } from '../../src/index.js';
import { closedPort, runCli, startCli, startServe } from './helpers.js';
import { opensslPath, skipReason } from '../support/system.js';
import { createTestCertificate } from '../support/tls.js';

const T = { timeout: 30_000 };

/** A WebSocketServer on an ephemeral port; `onConnection` scripts the server side. */
async function testServer(onConnection: (ws: WebSocket, req: IncomingMessage) => void, options: Omit<ServerOptions, 'port'> = {}) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  wss.on('connection', onConnection);
  await once(wss, 'listening');
  const { port } = wss.address() as { port: number };
  return {
    wss,
    url: `ws://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

describe('hyperws connect', () => {
  it('--execute against serve --echo prints the replies, closes 1000, exit 0', T, async () => {
    const serve = await startServe();
    try {
      const url = `ws://127.0.0.1:${serve.port}/`;
      assert.deepEqual(await runCli(['connect', url, '--execute', 'hello', '-x', 'world']), {
        status: 0,
        stdout: '< hello\n< world\n',
        stderr: `connected to ${url}\nclosed: 1000\n`,
      });
      assert.equal(await serve.stop(), 0);
    } finally {
      await serve.kill();
    }
  });

  it('--execute closes after --wait when fewer replies come', T, async () => {
    const received: string[] = [];
    const server = await testServer((ws) => ws.on('message', (data: Buffer) => received.push(data.toString())));
    try {
      assert.deepEqual(await runCli(['connect', server.url, '-x', 'one', '-x', 'two', '--wait', '50']), {
        status: 0,
        stdout: '',
        stderr: `connected to ${server.url}\nclosed: 1000\n`,
      });
      assert.deepEqual(received, ['one', 'two']);
    } finally {
      await server.close();
    }
  });

  it('prints binary messages as a hex preview of the first 32 bytes', T, async () => {
    const server = await testServer((ws) => {
      ws.send(Buffer.from(Array.from({ length: 40 }, (_, i) => i)));
      ws.send(Buffer.from(Array.from({ length: 32 }, (_, i) => 255 - i)));
      ws.send(Buffer.from([0xab]));
      ws.send(Buffer.alloc(0));
      ws.send('text après');
      ws.close(1000, 'done');
    });
    const cli = startCli(['connect', server.url]);
    try {
      // stdin stays open: the server's close ends the session.
      assert.equal(await cli.exited, 0);
      const first32 = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0')).join(' ');
      const desc32 = Array.from({ length: 32 }, (_, i) => (255 - i).toString(16)).join(' ');
      assert.equal(cli.stdout.text, [
        `< [binary 40 bytes] ${first32} …`,
        `< [binary 32 bytes] ${desc32}`,
        '< [binary 1 byte] ab',
        '< [binary 0 bytes]',
        '< text après',
        '',
      ].join('\n'));
      assert.equal(cli.stderr.text, `connected to ${server.url}\nclosed: 1000 done\n`);
    } finally {
      await cli.kill();
      await server.close();
    }
  });

  it('sends each stdin line as a text message; end of input closes with 1000, exit 0', T, async () => {
    const received: Array<[string, boolean]> = [];
    let closed!: Promise<[number, string]>;
    const server = await testServer((ws) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => received.push([data.toString(), isBinary]));
      closed = new Promise((resolve) => ws.on('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])));
    });
    try {
      const result = await runCli(['connect', server.url], 'one\ntwo words\r\n\nlast without newline');
      assert.deepEqual(result, { status: 0, stdout: '', stderr: `connected to ${server.url}\nclosed: 1000\n` });
      assert.deepEqual(received, [['one', false], ['two words', false], ['', false], ['last without newline', false]]);
      assert.deepEqual(await closed, [1000, '']);
    } finally {
      await server.close();
    }
  });

  it('SIGINT closes with 1000 and exits 0', T, async () => {
    let closed!: Promise<number>;
    const server = await testServer((ws) => {
      closed = new Promise((resolve) => ws.on('close', (code: number) => resolve(code)));
    });
    const cli = startCli(['connect', server.url]);
    try {
      assert.equal(await cli.stderr.next(), `connected to ${server.url}`);
      cli.child.kill('SIGINT');
      assert.equal(await cli.exited, 0);
      assert.equal(await closed, 1000);
      assert.equal(cli.stderr.text, `connected to ${server.url}\nclosed: 1000\n`);
    } finally {
      await cli.kill();
      await server.close();
    }
  });

  it('flushes all output before exiting, even to a slow reader', T, async () => {
    const count = 20_000; // ~250 kB of output: more than a pipe buffer holds
    const server = await testServer((ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    // -w 0: close as soon as input ends. Waiting for the replies (the default for piped input) could
    // not end here: this reader reads nothing until the session is over, and a blocked stdout pauses
    // the socket, so the replies would wait for the reader and the reader for the close.
    const cli = startCli(['connect', server.url, '-w', '0']);
    try {
      cli.child.stdout.pause();
      cli.child.stdin.end(Array.from({ length: count }, (_, i) => `line ${i}\n`).join(''));
      // The session is over (the last line is written after every message)
      // before we read anything.
      await cli.stderr.waitFor((line) => line.startsWith('closed:'));
      cli.child.stdout.resume();
      assert.equal(await cli.exited, 0);
      assert.equal(cli.stdout.lines.length, count);
      assert.equal(cli.stdout.lines[0], '< line 0');
      assert.equal(cli.stdout.lines[count - 1], `< line ${count - 1}`);
    } finally {
      await cli.kill();
      await server.close();
    }
  });

  it('--echo sends every message back with its type, exit 0 when the server closes normally', T, async () => {
    const echoed: Array<[string, boolean]> = [];
    const server = await testServer((ws) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        echoed.push([data.toString('hex'), isBinary]);
        if (echoed.length === 2) ws.close(1000);
      });
      ws.send('ping text');
      ws.send(Buffer.from([1, 2, 3]));
    });
    const cli = startCli(['connect', server.url, '--echo']);
    try {
      assert.equal(await cli.exited, 0);
      assert.deepEqual(echoed, [[Buffer.from('ping text').toString('hex'), false], ['010203', true]]);
      assert.equal(cli.stdout.text, '< ping text\n< [binary 3 bytes] 01 02 03\n');
      assert.equal(cli.stderr.text, `connected to ${server.url}\nclosed: 1000\n`);
    } finally {
      await cli.kill();
      await server.close();
    }
  });

  it('1001 and 1005 from the server also exit 0', T, async () => {
    for (const [code, line] of [[1001, 'closed: 1001 away'], [undefined, 'closed: 1005']] as const) {
      const server = await testServer((ws) => (code === undefined ? ws.close() : ws.close(code, 'away')));
      try {
        assert.deepEqual(await runCli(['connect', server.url, '--echo']), {
          status: 0,
          stdout: '',
          stderr: `connected to ${server.url}\n${line}\n`,
        });
      } finally {
        await server.close();
      }
    }
  });

  it('a server close with 4001: "closed: 4001 REASON", exit 1', T, async () => {
    const server = await testServer((ws) => ws.close(4001, 'custom reason'));
    const cli = startCli(['connect', server.url]);
    try {
      assert.equal(await cli.exited, 1);
      assert.equal(cli.stdout.text, '');
      assert.equal(cli.stderr.text, `connected to ${server.url}\nclosed: 4001 custom reason\n`);
    } finally {
      await cli.kill();
      await server.close();
    }
  });

  it('a dropped connection (1006) exits 1', T, async () => {
    const server = await testServer((ws) => ws.terminate());
    try {
      assert.deepEqual(await runCli(['connect', server.url, '--echo']), {
        status: 1,
        stdout: '',
        stderr: `connected to ${server.url}\nclosed: 1006\n`,
      });
    } finally {
      await server.close();
    }
  });

  it('sends --header, --origin and --subprotocol; reports the negotiated subprotocol', T, async () => {
    let seen: Record<string, unknown> = {};
    const server = await testServer(
      (ws, req) => {
        seen = { 'x-token': req.headers['x-token'], 'x-multi': req.headers['x-multi'], origin: req.headers.origin, protocol: ws.protocol };
        ws.close(1000);
      },
      { handleProtocols: (offered) => (offered.has('chat.v2') ? 'chat.v2' : false) },
    );
    try {
      const result = await runCli(['connect', server.url, '--header', 'X-Token: abc:def', '-H', 'X-Multi:1', '-H', 'x-multi: 2',
        '--origin', 'https://example.test', '-s', 'chat.v1', '--subprotocol', 'chat.v2', '--echo']);
      assert.deepEqual(result, { status: 0, stdout: '', stderr: `connected to ${server.url} (subprotocol: chat.v2)\nclosed: 1000\n` });
      assert.deepEqual(seen, { 'x-token': 'abc:def', 'x-multi': '1, 2', origin: 'https://example.test', protocol: 'chat.v2' });
    } finally {
      await server.close();
    }
  });

  it('refused handshake: one line with the status and the body, exit 1', T, async () => {
    let connections = 0;
    const server = await testServer(() => connections++, {
      verifyClient: (_info, cb) => cb(false, 403, 'Forbidden by test'),
    });
    try {
      assert.deepEqual(await runCli(['connect', server.url]), {
        status: 1,
        stdout: '',
        stderr: 'hyperws connect: handshake refused: HTTP 403 Forbidden: Forbidden by test\n',
      });
      // Had the server accepted, 'connection' would have fired before the CLI could read a reply.
      assert.equal(connections, 0, 'the refused handshake opened no connection');
    } finally {
      await server.close();
    }
  });

  it('--handshake-timeout: a server that accepts and never answers is given up on, exit 1', T, async () => {
    const sockets = new Set<Socket>();
    const silent = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const url = `ws://127.0.0.1:${(silent.address() as { port: number }).port}/`;
      assert.deepEqual(await runCli(['connect', url, '--handshake-timeout', '100']), {
        status: 1,
        stdout: '',
        stderr: 'hyperws connect: handshake failed: Opening handshake has timed out\n',
      });
      assert.equal(sockets.size, 1, 'the request reached the server');
      const usage = await runCli(['connect', url, '-t', 'soon']);
      assert.equal(usage.status, 2);
      assert.match(usage.stderr, /Option '--handshake-timeout' expects a duration \(milliseconds, or with a unit: 500ms, 5s, 2m\), got 'soon'/);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await once(silent, 'close');
    }
  });

  it('--location follows a redirect of the handshake; without it the 302 is the failure', T, async () => {
    const server = await testServer((ws) => ws.on('message', (data: Buffer) => ws.send(data.toString())));
    let target = server.url;
    const redirector = createNetServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end(`HTTP/1.1 302 Found\r\nLocation: ${target}\r\nContent-Length: 0\r\n\r\n`));
    });
    redirector.listen(0, '127.0.0.1');
    await once(redirector, 'listening');
    try {
      const url = `ws://127.0.0.1:${(redirector.address() as { port: number }).port}/`;
      assert.deepEqual(await runCli(['connect', url, '-x', 'hi']), {
        status: 1,
        stdout: '',
        stderr: 'hyperws connect: handshake refused: HTTP 302 Found\n',
      });
      assert.deepEqual(await runCli(['connect', url, '-L', '-x', 'hi']), {
        status: 0,
        stdout: '< hi\n',
        stderr: `connected to ${server.url}\nclosed: 1000\n`,
      });
      // Redirected to a port nothing listens on: the failure names where it failed.
      target = `ws://127.0.0.1:${await closedPort()}/`;
      assert.deepEqual(await runCli(['connect', url, '-L']), {
        status: 1,
        stdout: '',
        stderr: `hyperws connect: cannot connect to ${target}: ECONNREFUSED\n`,
      });
    } finally {
      redirector.close();
      await once(redirector, 'close');
      await server.close();
    }
  });

  it('connection refused: one line naming the URL and ECONNREFUSED, exit 1', T, async () => {
    const port = await closedPort();
    assert.deepEqual(await runCli(['connect', `ws://127.0.0.1:${port}`]), {
      status: 1,
      stdout: '',
      stderr: `hyperws connect: cannot connect to ws://127.0.0.1:${port}/: ECONNREFUSED\n`,
    });
  });

  const openssl = opensslPath();
  it('wss: an untrusted certificate is a one-line TLS error; --insecure connects', { ...T, skip: skipReason(openssl) }, async () => {
    const { key, cert } = await createTestCertificate();
    const https = createHttpsServer({ key, cert });
    const wss = new WebSocketServer({ server: https });
    wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    try {
      const url = `wss://127.0.0.1:${(https.address() as { port: number }).port}/`;
      const refused = await runCli(['connect', url, '-x', 'hi']);
      assert.equal(refused.status, 1);
      assert.equal(refused.stdout, '');
      assert.match(refused.stderr, new RegExp(`^hyperws connect: TLS error connecting to ${url.replace(/\./g, '\\.')}: [A-Z_]+: [^\\n]+ \\(--insecure skips verification\\)\\n$`));
      assert.deepEqual(await runCli(['connect', url, '--insecure', '-x', 'hi']), {
        status: 0,
        stdout: '< hi\n',
        stderr: `connected to ${url}\nclosed: 1000\n`,
      });
    } finally {
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      https.closeAllConnections();
      https.close();
      await once(https, 'close');
    }
  });

  it('bad command lines: one-line errors, exit 2', T, async () => {
    const cases: Array<[string[], string]> = [
      [['--bogus'], "Unknown option '--bogus'"],
      [[], 'missing the URL to connect to'],
      [['ws://a/', 'ws://b/'], 'expected one URL, got 2 arguments'],
      [['ftp://host/'], `invalid URL 'ftp://host/': The URL's protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"`],
      [['ws://h/', '--header', 'novalue'], "Option '--header' expects NAME:VALUE, got 'novalue'"],
      [['ws://h/', '--subprotocol', 'a b'], "Option '--subprotocol' expects a token, got 'a b'"],
      [['ws://h/', '--echo', '-x', 'm'], "Options '--echo' and '--execute' cannot be used together"],
      [['ws://h/', '--echo', '--wait', '10'], "Option '--wait' does not apply with '--echo'"],
      [['ws://h/', '-x', 'm', '--wait', 'soon'], `Option '--wait' expects a duration (milliseconds, or with a unit: 500ms, 5s, 2m), got 'soon'`],
    ];
    for (const [args, message] of cases) {
      assert.deepEqual(await runCli(['connect', ...args]), {
        status: 2,
        stdout: '',
        stderr: `hyperws connect: ${message} (see 'hyperws connect --help')\n`,
      }, args.join(' '));
    }
  });
});
