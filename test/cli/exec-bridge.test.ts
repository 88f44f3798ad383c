// `hyperws serve --exec CMD` as a child process: one program per WebSocket
// connection, messages as its stdin lines (or bytes with --binary), its
// output lines (or chunks) as messages, its exit as the close code, the
// client's close stopping it (SIGTERM, then SIGKILL), the warning off
// loopback, and the usage errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter, once } from 'node:events';
import { KILL_GRACE, STDOUT_HIGH_WATER_MARK, bridgeExec } from '../../src/cli/exec-bridge.js';
import type { WebSocket } from '../../src/node/websocket.js';
import { openClient, runCli, startCli, startServe, type ServeProcess } from './helpers.js';

const T = { timeout: 30_000 };

let dir = '';
/** A shell command that runs one of the scripts below with this node. */
const node = (script: string) => `exec '${process.execPath}' '${join(dir, script)}'`;

const SCRIPTS: Record<string, string> = {
  // Each input line back in upper case, at once (tr would buffer its output on a pipe).
  'upper.cjs': `
    require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => process.stdout.write(line.toUpperCase() + '\\n'));
  `,
  // 'one', then on its first input 'two' and 'three' into the pipe, 'written' on stderr, exit 0.
  'lines.cjs': `
    process.stdout.write('one\\n');
    process.stdin.once('data', () => {
      process.stdout.write('two\\n');
      process.stdout.write('three\\n', () => process.stderr.write('written\\n', () => process.exit(0)));
    });
  `,
  // Its pid, then it waits for ever; with 'stubborn' it ignores SIGTERM.
  'pid.cjs': `
    if (process.argv[2] === 'stubborn') process.on('SIGTERM', () => process.stderr.write('ignoring SIGTERM\\n'));
    process.stdout.write(process.pid + '\\n');
    setInterval(() => {}, 1 << 30);
  `,
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hyperws-exec-'));
  for (const [name, text] of Object.entries(SCRIPTS)) await writeFile(join(dir, name), text);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Yields to the event loop until `condition` holds (the test's timeout bounds the wait). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** True while a process with this pid exists (a reaped child does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ESRCH');
    return false;
  }
}

const url = (serve: ServeProcess) => `ws://127.0.0.1:${serve.port}/`;
const ended = (serve: ServeProcess, n: number) => serve.stderr.waitFor((line) => line.startsWith(`hyperws serve: connection #${n}: command ended`));

describe('hyperws serve --exec', () => {
  it('hyperws connect with piped input: the answers to the last lines come back before it closes (it waits for as many replies as lines sent)', T, async () => {
    const serve = await startServe(['--exec', node('upper.cjs')]);
    try {
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await runCli(['connect', url(serve)], 'one\ntwo\nthree\n'), {
          status: 0,
          stdout: '< ONE\n< TWO\n< THREE\n',
          stderr: `connected to ${url(serve)}\nclosed: 1000\n`,
        });
      }
    } finally {
      await serve.kill();
    }
  });

  it('text mode: each message is a line of the program\'s input, each output line a text message (exact, UTF-8); binary messages go in as bytes', T, async () => {
    const serve = await startServe(['--exec', node('upper.cjs')]);
    try {
      assert.equal(serve.listening, `hyperws serve: listening on ws://127.0.0.1:${serve.port}/ (exec mode); console at http://127.0.0.1:${serve.port}/`);
      const c = await openClient(url(serve));
      c.ws.send('héllo wörld');
      assert.deepEqual(await c.next(), { data: Buffer.from('HÉLLO WÖRLD'), isBinary: false });
      c.ws.send('two\nlines');
      assert.deepEqual(await c.next(), { data: Buffer.from('TWO'), isBinary: false });
      assert.deepEqual(await c.next(), { data: Buffer.from('LINES'), isBinary: false });
      // A binary message is written as it is: no newline is added, so it ends with the next message's line.
      c.ws.send(Buffer.from('bin'), { binary: true });
      c.ws.send('ary');
      assert.deepEqual(await c.next(), { data: Buffer.from('BINARY'), isBinary: false });
      c.ws.close(1000);
      await c.closed;
      assert.equal(await ended(serve, 1), 'hyperws serve: connection #1: command ended (killed by SIGTERM)');
    } finally {
      await serve.kill();
    }
  });

  it('--binary: messages are written as they are, the output comes back as binary messages, byte for byte', T, async () => {
    const serve = await startServe(['--exec', 'cat', '--binary']);
    try {
      const c = await openClient(url(serve));
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      c.ws.send(bytes, { binary: true });
      c.ws.send('text\n');
      const expected = Buffer.concat([bytes, Buffer.from('text\n')]);
      const received: Buffer[] = [];
      let length = 0;
      while (length < expected.length) {
        const m = await c.next();
        assert.equal(m.isBinary, true);
        received.push(m.data);
        length += m.data.length;
      }
      assert.deepEqual(Buffer.concat(received), expected);
      c.ws.close(1000);
      await c.closed;
    } finally {
      await serve.kill();
    }
  });

  it('the program\'s exit closes the WebSocket after its last output: status 0 with 1000, status 3 with 1011, the reason saying which; its stderr is logged with the connection number', T, async () => {
    const serve = await startServe(['--exec', 'read status; echo "bye $status"; echo "oops $status" >&2; exit "$status"']);
    try {
      const ok = await openClient(url(serve));
      ok.ws.send('0');
      assert.deepEqual(await ok.next(), { data: Buffer.from('bye 0'), isBinary: false });
      assert.deepEqual(await ok.closed, { code: 1000, reason: 'exit code 0' });
      const failing = await openClient(url(serve));
      failing.ws.send('3');
      assert.deepEqual(await failing.next(), { data: Buffer.from('bye 3'), isBinary: false });
      assert.deepEqual(await failing.closed, { code: 1011, reason: 'exit code 3' });
      assert.equal(await ended(serve, 2), 'hyperws serve: connection #2: command ended (exit code 3): closing');
      assert.equal(await serve.stop('SIGINT'), 0);
      const log = serve.stderr.lines;
      assert.ok(log.includes('hyperws serve: connection #1: stderr: oops 0'), log.join('\n'));
      assert.ok(log.includes('hyperws serve: connection #1: command ended (exit code 0): closing'), log.join('\n'));
      assert.ok(log.includes('hyperws serve: connection #2: stderr: oops 3'), log.join('\n'));
    } finally {
      await serve.kill();
    }
  });

  it('two connections run two programs; the client\'s close stops its own program only (SIGTERM)', T, async () => {
    const serve = await startServe(['--exec', node('pid.cjs')]);
    try {
      const first = await openClient(url(serve));
      const second = await openClient(url(serve));
      const pid1 = Number((await first.next()).data.toString());
      const pid2 = Number((await second.next()).data.toString());
      assert.ok(pid1 > 0 && pid2 > 0 && pid1 !== pid2, `${pid1} ${pid2}`);
      assert.ok(alive(pid1) && alive(pid2));
      first.ws.close(1000);
      await first.closed;
      assert.equal(await ended(serve, 1), 'hyperws serve: connection #1: command ended (killed by SIGTERM)');
      assert.equal(alive(pid1), false, 'the first program is gone');
      assert.equal(alive(pid2), true, 'the second one runs on');
      // SIGTERM to serve: its client gets 1012 and its program is stopped before serve exits.
      assert.equal(await serve.stop('SIGTERM'), 0);
      assert.deepEqual(await second.closed, { code: 1012, reason: 'Service restart' });
      assert.ok(serve.stderr.lines.includes('hyperws serve: connection #2: command ended (killed by SIGTERM)'), serve.stderr.lines.join('\n'));
      assert.equal(alive(pid2), false, 'no program outlives serve');
    } finally {
      await serve.kill();
    }
  });

  it(`a program that ignores SIGTERM gets SIGKILL ${KILL_GRACE} ms later`, T, async () => {
    const serve = await startServe(['--exec', `${node('pid.cjs')} stubborn`]);
    try {
      const c = await openClient(url(serve));
      const pid = Number((await c.next()).data.toString());
      c.ws.close(1000);
      await c.closed;
      assert.equal(await serve.stderr.waitFor((line) => line.includes('stderr:')), 'hyperws serve: connection #1: stderr: ignoring SIGTERM');
      assert.equal(await ended(serve, 1), 'hyperws serve: connection #1: command ended (killed by SIGKILL)');
      assert.equal(alive(pid), false);
    } finally {
      await serve.kill();
    }
  });

  it('off loopback, a warning on stderr says who can run the command; on 127.0.0.1 there is none', T, async () => {
    const wide = startCli(['serve', '--port', '0', '--host', '0.0.0.0', '--exec', 'cat']);
    try {
      const listening = await wide.stdout.next();
      const port = /^hyperws serve: listening on ws:\/\/0\.0\.0\.0:(\d+)\/ \(exec mode\); console at http:\/\/0\.0\.0\.0:\1\/$/.exec(listening)?.[1];
      assert.ok(port !== undefined, listening);
      assert.equal(
        await wide.stderr.next(),
        `hyperws serve: warning: --exec on 0.0.0.0: anyone who can reach port ${port} runs 'cat' (bind --host 127.0.0.1 to keep it to this machine)`,
      );
      wide.child.kill('SIGTERM');
      assert.equal(await wide.exited, 0);
    } finally {
      await wide.kill();
    }
    const local = await startServe(['--exec', 'cat']);
    try {
      assert.equal(await local.stop('SIGTERM'), 0);
      assert.deepEqual(local.stderr.lines, ['hyperws serve: SIGTERM: closing 0 connections']);
    } finally {
      await local.kill();
    }
  });

  it('usage errors (exit 2): --exec with --broadcast or --echo, an empty command, --binary alone', T, async () => {
    const cases: Array<[string[], string]> = [
      [['--exec', 'cat', '--broadcast'], "Options '--exec' and '--broadcast' cannot be used together"],
      [['--echo', '--exec', 'cat'], "Options '--exec' and '--echo' cannot be used together"],
      [['--exec', ' '], "Option '--exec' must not be empty"],
      [['--binary'], "Option '--binary' only applies with '--exec'"],
    ];
    for (const [args, message] of cases) {
      assert.deepEqual(await runCli(['serve', ...args]), { status: 2, stdout: '', stderr: `hyperws serve: ${message} (see 'hyperws serve --help')\n` }, args.join(' '));
    }
  });
});

/** What the bridge uses of a WebSocket, counted: sends, pauses, resumes, closes. */
class FakeWebSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  pauses = 0;
  resumes = 0;
  sent: Array<{ data: Buffer | string; binary: boolean }> = [];
  closedWith: [number, string] | null = null;
  send(data: Buffer | string, options?: { binary?: boolean }): void {
    this.sent.push({ data, binary: options?.binary === true });
  }
  pause(): void {
    this.pauses++;
  }
  resume(): void {
    this.resumes++;
  }
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.readyState = 3;
    this.emit('close', code, Buffer.from(reason));
  }
}

describe('exec bridge backpressure (in process)', () => {
  it('the WebSocket is paused once the program\'s stdin stops draining, and resumed when that stdin is gone', T, async () => {
    const ws = new FakeWebSocket();
    const lines: string[] = [];
    // The program never reads its input; the test ends it by closing the WebSocket.
    const done = bridgeExec(ws as unknown as WebSocket, { command: 'exec sleep 1000', binary: true }, (line) => lines.push(line));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let messages = 0;
    while (ws.pauses === 0 && messages < 1024) {
      ws.emit('message', chunk, true);
      messages++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(ws.pauses, 1, `paused after ${messages} messages of 64 KiB`);
    // A pipe holds 64 KiB to 1 MiB and the stream 16 KiB more: the pause comes long before 64 MiB.
    assert.ok(messages <= 20, `${messages} messages before the pause`);
    assert.equal(ws.resumes, 0);
    ws.readyState = 3;
    ws.emit('close', 1000, Buffer.alloc(0));
    await done;
    assert.ok(ws.resumes >= 1, 'resumed once the stdin closed');
    assert.deepEqual(lines, ['command ended (killed by SIGTERM)']);
  });

  it('the program\'s stdout is not read while the WebSocket holds more than the high-water mark; drain lets the rest out, then the exit closes', T, async () => {
    const ws = new FakeWebSocket();
    ws.bufferedAmount = STDOUT_HIGH_WATER_MARK + 1; // a client that reads nothing
    const lines: string[] = [];
    const done = bridgeExec(ws as unknown as WebSocket, { command: node('lines.cjs'), binary: false }, (line) => lines.push(line));
    await until(() => ws.sent.length === 1);
    assert.deepEqual(ws.sent[0], { data: 'one', binary: false });
    ws.emit('message', Buffer.from('go'), false);
    // The program wrote its last two lines into the pipe, then said so on stderr and exited.
    await until(() => lines.includes('stderr: written'));
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ws.sent.length, 1, 'nothing read from stdout while the WebSocket is above the mark');
    assert.equal(ws.closedWith, null, 'and no close before the output is out');
    ws.bufferedAmount = 0;
    ws.emit('drain');
    await done;
    assert.deepEqual(ws.sent.map((m) => m.data), ['one', 'two', 'three']);
    assert.deepEqual(ws.closedWith, [1000, 'exit code 0']);
  });
});
