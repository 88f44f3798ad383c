// `hyperws connect --reconnect` as a child process against WebSocketServers
// of ours, stopped and restarted on the same port. Small backoff delays via
// the options; assertions on stderr/stdout lines, exit statuses and what the
// servers received, never on time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocketServer, type WebSocket, type ServerOptions } from '../../src/index.js';
import { closedPort, runCli, startCli, type CliProcess } from './helpers.js';

const T = { timeout: 30_000 };
const FAST = ['--reconnect', '--reconnect-delay', '20ms', '--reconnect-max-delay', '100ms'];

/** A server on `port` (0: ephemeral) recording its connections and the text it receives. */
async function server(port: number, options: Omit<ServerOptions, 'port'> = {}) {
  const wss = new WebSocketServer({ port, host: '127.0.0.1', ...options });
  const received: string[] = [];
  const clients: WebSocket[] = [];
  let wake: (() => void) | null = null;
  let stopped: Promise<void> | undefined;
  wss.on('connection', (ws: WebSocket) => {
    clients.push(ws);
    ws.on('message', (data: Buffer) => {
      received.push(data.toString());
      wake?.();
    });
    wake?.();
  });
  await once(wss, 'listening');
  const actual = (wss.address() as { port: number }).port;
  return {
    wss,
    port: actual,
    url: `ws://127.0.0.1:${actual}/`,
    received,
    clients,
    /** Resolves once `test()` holds (checked on each connection and message). */
    async until(test: () => boolean): Promise<void> {
      while (!test()) await new Promise<void>((resolve) => (wake = resolve));
    },
    /** Drops every client (1006 on their side) and closes the port; once. */
    stop: () => {
      for (const ws of clients) ws.terminate();
      stopped ??= new Promise<void>((resolve) => wss.close(() => resolve()));
      return stopped;
    },
  };
}

const line = (cli: CliProcess, pattern: RegExp) => cli.stderr.waitFor((l) => pattern.test(l));
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('hyperws connect --reconnect', () => {
  it('across a server restart on the same port: reconnects, lines typed during the outage arrive after it, in order', T, async () => {
    const first = await server(0);
    const url = first.url;
    const cli = startCli(['connect', url, ...FAST]);
    let second: Awaited<ReturnType<typeof server>> | null = null;
    try {
      assert.equal(await cli.stderr.next(), `connected to ${url}`);
      cli.child.stdin.write('one\n');
      await first.until(() => first.received.length === 1);
      await first.stop();
      assert.equal(await cli.stderr.next(), 'closed: 1006');
      assert.match(await cli.stderr.next(), /^reconnecting in \d+ms \(attempt 1\)\.\.\.$/);
      // The port is closed: each attempt is refused and says so, then waits again.
      assert.equal(await cli.stderr.next(), `hyperws connect: cannot connect to ${url}: ECONNREFUSED`);
      assert.match(await cli.stderr.next(), /^reconnecting in \d+ms \(attempt 2\)\.\.\.$/);
      cli.child.stdin.write('two\nthree\n');
      await line(cli, /^hyperws connect: not connected: queued \(1 waiting\)$/);
      await line(cli, /^hyperws connect: not connected: queued \(2 waiting\)$/);
      second = await server(first.port);
      assert.equal(await line(cli, /^connected/), `connected (again) to ${url}; 2 queued messages sent`);
      cli.child.stdin.write('four\n');
      const s = second;
      await s.until(() => s.received.length === 3);
      assert.deepEqual(first.received, ['one']);
      assert.deepEqual(second.received, ['two', 'three', 'four']);
      assert.equal(second.clients.length, 1);
      cli.child.stdin.end();
      assert.equal(await cli.exited, 0);
      assert.equal(cli.stderr.lines.at(-1), 'closed: 1000');
    } finally {
      await cli.kill();
      await first.stop();
      await second?.stop();
    }
  });

  it("a server's 1012 (restart) reconnects; its 1000 ends the session without reconnecting, exit 0", T, async () => {
    const srv = await server(0);
    const cli = startCli(['connect', srv.url, ...FAST]);
    try {
      assert.equal(await cli.stderr.next(), `connected to ${srv.url}`);
      await srv.until(() => srv.clients.length === 1);
      srv.clients[0]!.close(1012, 'restart');
      assert.equal(await cli.stderr.next(), 'closed: 1012 restart');
      assert.match(await cli.stderr.next(), /^reconnecting in \d+ms \(attempt 1\)\.\.\.$/);
      assert.equal(await cli.stderr.next(), `connected (again) to ${srv.url}`);
      await srv.until(() => srv.clients.length === 2);
      // The reopened connection carries the session's lines.
      cli.child.stdin.write('after\n');
      await srv.until(() => srv.received.length === 1);
      assert.deepEqual(srv.received, ['after']);
      srv.clients[1]!.close(1000, 'bye');
      assert.equal(await cli.exited, 0);
      assert.equal(cli.stderr.lines.at(-1), 'closed: 1000 bye (not reconnecting)');
      assert.equal(srv.clients.length, 2);
    } finally {
      await cli.kill();
      await srv.stop();
    }
  });

  it('/close ends the session without reconnecting; Ctrl-C (SIGINT) while connected too; SIGINT between attempts exits 1', T, async () => {
    const srv = await server(0);
    const closing = startCli(['connect', srv.url, ...FAST]);
    const interrupted = startCli(['connect', srv.url, ...FAST]);
    const port = await closedPort();
    const waiting = startCli(['connect', `ws://127.0.0.1:${port}/`, ...FAST]);
    try {
      assert.equal(await closing.stderr.next(), `connected to ${srv.url}`);
      assert.equal(await interrupted.stderr.next(), `connected to ${srv.url}`);
      await srv.until(() => srv.clients.length === 2);
      closing.child.stdin.write('/close 1000 done\n');
      interrupted.child.kill('SIGINT');
      assert.equal(await closing.exited, 0);
      assert.equal(closing.stderr.text, `connected to ${srv.url}\nclosed: 1000 done\n`);
      assert.equal(await interrupted.exited, 0);
      assert.equal(interrupted.stderr.text, `connected to ${srv.url}\nclosed: 1000\n`);
      assert.equal(srv.clients.length, 2);

      await line(waiting, /^reconnecting in \d+ms \(attempt 2\)\.\.\.$/);
      waiting.child.kill('SIGINT');
      assert.equal(await waiting.exited, 1);
      assert.equal(waiting.stderr.lines.at(-1), 'hyperws connect: interrupted');
    } finally {
      await Promise.all([closing.kill(), interrupted.kill(), waiting.kill()]);
      await srv.stop();
    }
  });

  it('gives up after --reconnect-attempts failed attempts in a row: one cause line and one reconnecting line per attempt, exit 1', T, async () => {
    const port = await closedPort();
    const url = `ws://127.0.0.1:${port}/`;
    const busy = await server(0, { verifyClient: (_info: unknown, done: (ok: boolean, code?: number) => void) => done(false, 503) });
    // stdin stays open: its end would close the session (nothing is queued).
    const refused = startCli(['connect', url, ...FAST, '--reconnect-attempts', '2']);
    const unavailable = startCli(['connect', busy.url, ...FAST, '--reconnect-attempts', '1']);
    try {
      assert.equal(await refused.exited, 1);
      const cause = `hyperws connect: cannot connect to ${url}: ECONNREFUSED`;
      const lines = refused.stderr.lines;
      assert.equal(lines.length, 6, refused.stderr.text);
      assert.deepEqual([lines[0], lines[2], lines[4], lines[5]], [cause, cause, cause, 'hyperws connect: giving up after 2 reconnection attempts']);
      assert.match(lines[1]!, /^reconnecting in \d+ms \(attempt 1\)\.\.\.$/);
      assert.match(lines[3]!, /^reconnecting in \d+ms \(attempt 2\)\.\.\.$/);

      // A 503 is retried (a 4xx is not: next test).
      assert.equal(await unavailable.exited, 1);
      assert.deepEqual(unavailable.stderr.lines.map((l) => l.replace(/\d+ms/, 'Nms')), [
        'hyperws connect: handshake refused: HTTP 503',
        'reconnecting in Nms (attempt 1)...',
        'hyperws connect: handshake refused: HTTP 503',
        'hyperws connect: giving up after 1 reconnection attempt',
      ]);
      assert.equal(refused.stdout.text + unavailable.stdout.text, '');
    } finally {
      await Promise.all([refused.kill(), unavailable.kill()]);
      await busy.stop();
    }
  });

  it('a 403 refusal is not retried: one line, exit 1', T, async () => {
    const srv = await server(0, { verifyClient: (_info: unknown, done: (ok: boolean, code?: number) => void) => done(false, 403) });
    const cli = startCli(['connect', srv.url, ...FAST]); // stdin open: its end would close the session
    try {
      assert.equal(await cli.exited, 1);
      assert.equal(cli.stderr.text, 'hyperws connect: handshake refused: HTTP 403 (not retried)\n');
      assert.equal(cli.stdout.text, '');
    } finally {
      await cli.kill();
      await srv.stop();
    }
  });

  it('before the server is up: lines queue (past 1000, a clear line each), end of input waits for them, then they go out in order and it closes', T, async () => {
    const port = await closedPort();
    const url = `ws://127.0.0.1:${port}/`;
    const cli = startCli(['connect', url, ...FAST]);
    let srv: Awaited<ReturnType<typeof server>> | null = null;
    try {
      const lines = Array.from({ length: 1002 }, (_, i) => `line ${i + 1}`);
      cli.child.stdin.end(`${lines.join('\n')}\n`);
      const full = 'hyperws connect: not sent (not connected, and the queue is full: Send queue full: 1000 messages queued (maxQueuedMessages 1000))';
      assert.equal(await line(cli, /queue is full/), full);
      assert.equal(await line(cli, /queue is full|end of input/), full);
      assert.equal(
        await line(cli, /end of input/),
        'hyperws connect: end of input: the 1000 queued messages go out after reconnecting, then the connection closes (Ctrl-C drops them)',
      );
      srv = await server(port);
      assert.equal(await cli.exited, 0);
      assert.deepEqual(srv.received, lines.slice(0, 1000));
      assert.equal(cli.stderr.lines.filter((l) => /queued \(\d+ waiting\)$/.test(l)).length, 1000);
      assert.deepEqual(cli.stderr.lines.slice(-2), [`connected to ${url}; 1000 queued messages sent`, 'closed: 1000']);
    } finally {
      await cli.kill();
      await srv?.stop();
    }
  });

  it('--execute with --reconnect waits for the server to come up, sends once, closes after the replies', T, async () => {
    const port = await closedPort();
    const url = `ws://127.0.0.1:${port}/`;
    const cli = startCli(['connect', url, ...FAST, '-x', 'a', '-x', 'b']);
    let srv: Awaited<ReturnType<typeof server>> | null = null;
    try {
      await line(cli, new RegExp(`^hyperws connect: cannot connect to ${escape(url)}: ECONNREFUSED$`));
      srv = await server(port);
      srv.wss.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => ws.send(`echo ${data.toString()}`)));
      assert.equal(await cli.exited, 0);
      assert.equal(cli.stdout.text, '< echo a\n< echo b\n');
      assert.deepEqual(srv.received, ['a', 'b']);
      assert.deepEqual(cli.stderr.lines.slice(-2), [`connected to ${url}`, 'closed: 1000']);
    } finally {
      await cli.kill();
      await srv?.stop();
    }
  });

  it('usage errors: --reconnect-* without --reconnect, a max delay below the delay, a bad count (exit 2)', T, async () => {
    const cases: Array<[string[], string]> = [
      [['connect', 'ws://127.0.0.1:1/', '--reconnect-delay', '1s'], "hyperws connect: Option '--reconnect-delay' only applies with '--reconnect' (see 'hyperws connect --help')\n"],
      [['connect', 'ws://127.0.0.1:1/', '--reconnect', '--reconnect-delay', '2s', '--reconnect-max-delay', '1s'], "hyperws connect: Option '--reconnect-max-delay' must be at least '--reconnect-delay' (see 'hyperws connect --help')\n"],
      [['connect', 'ws://127.0.0.1:1/', '-r', '--reconnect-attempts', 'many'], "hyperws connect: Option '--reconnect-attempts' expects an integer from 0 to 9007199254740991, got 'many' (see 'hyperws connect --help')\n"],
      [['connect', 'ftp://127.0.0.1:1/', '-r'], "hyperws connect: invalid URL 'ftp://127.0.0.1:1/': the scheme must be ws:, wss:, http: or https: (see 'hyperws connect --help')\n"],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, k) => {
      assert.deepEqual(r, { status: 2, stdout: '', stderr: cases[k]![1] }, cases[k]![0].join(' '));
    });
  });
});
