// `hyperws chat` as a process: the listening line, the page on the same
// port, clean shutdown on SIGINT/SIGTERM, and command-line errors.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { CloseCode } from '../../../src/index.js';
import { ChatClient, nicks, runChatCli, startChatProcess, tempDataDir } from './helpers.js';

const TIMEOUT = { timeout: 60_000 };

describe('hyperws chat', () => {
  for (const [signal, code, reason] of [['SIGINT', CloseCode.GoingAway, 'Server shutting down'], ['SIGTERM', CloseCode.ServiceRestart, 'Service restart']] as const) {
    test(`serves page and WebSocket on one port; ${signal} closes clients with ${code} and exits 0`, TIMEOUT, async (t) => {
      const chat = await startChatProcess(t, ['--port', '0']);
      const page = await fetch(chat.url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>hyperws chat<\/title>/);

      const a = await ChatClient.connect(t, `ws://127.0.0.1:${chat.port}/ws`);
      assert.deepEqual(nicks((await a.join('cli', 'ann'))['members']), ['ann']);
      assert.equal(await chat.stop(signal), 0);
      assert.deepEqual(await a.closed, { code, reason });
      assert.deepEqual(chat.stdout.lines, [`hyperws chat: http://127.0.0.1:${chat.port}/`]);
      assert.ok(chat.stderr.lines.includes(`hyperws chat: ${signal}: closing 1 connection`), chat.stderr.lines.join('\n'));
    });
  }

  test('a SIGTERM sent as soon as the URL line is read is handled (exit 0, not death by the signal)', TIMEOUT, async (t) => {
    const chat = await startChatProcess(t, ['--port', '0']);
    assert.equal(await chat.stop('SIGTERM'), 0);
    assert.ok(chat.stderr.lines.includes('hyperws chat: SIGTERM: closing 0 connections'), chat.stderr.lines.join('\n'));
  });

  test('on loopback, /metrics, /healthz and /readyz answer from the chat server\'s numbers', TIMEOUT, async (t) => {
    const chat = await startChatProcess(t, ['--port', '0']);
    const a = await ChatClient.connect(t, `ws://127.0.0.1:${chat.port}/ws`);
    await a.join('ops', 'ann');
    const metrics = await fetch(`http://127.0.0.1:${chat.port}/metrics`);
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const lines = (await metrics.text()).split('\n');
    assert.ok(lines.includes('hyperws_connections_open 1'), lines.join('\n'));
    assert.ok(lines.includes('hyperws_handshakes_accepted_total 1'), lines.join('\n'));
    assert.ok(lines.includes('hyperws_messages_received_total 1'), 'the join');
    assert.equal(await (await fetch(`http://127.0.0.1:${chat.port}/healthz`)).text(), 'ok\n');
    const ready = await fetch(`http://127.0.0.1:${chat.port}/readyz`);
    assert.deepEqual([ready.status, await ready.text()], [200, 'ready\n']);
  });

  test('rooms and history survive a crash (SIGKILL) and a restart: every acknowledged send is there', TIMEOUT, async (t) => {
    const dir = tempDataDir(t);
    const first = await startChatProcess(t, ['--port', '0', '--data-dir', dir]);
    const a = await ChatClient.connect(t, `ws://127.0.0.1:${first.port}/ws`);
    await a.join('kept', 'ann');
    // 15 sends in a burst (within the rate limit's burst of 20, the join included), each
    // acknowledged; the crash comes right after the last ack.
    for (let i = 1; i <= 15; i++) a.send({ v: 1, type: 'message', text: `m${i}`, cid: `c${i}` });
    const acked: number[] = [];
    while (acked.length < 15) acked.push((await a.nextOf('ack'))['message']['seq']);
    await first.kill();
    assert.deepEqual(acked, Array.from({ length: 15 }, (_, i) => i + 1));

    const second = await startChatProcess(t, ['--port', '0', '--data-dir', dir]);
    assert.ok(second.stderr.lines.includes(`hyperws chat: history in ${dir}: 15 records replayed`), second.stderr.lines.join('\n'));
    const b = await ChatClient.connect(t, `ws://127.0.0.1:${second.port}/ws`);
    // The room is listed although nobody is in it.
    assert.deepEqual(b.received[1]!['rooms'], [{ name: 'kept', count: 0, seq: 15 }]);
    b.send({ v: 1, type: 'join', room: 'kept', nick: 'ann', since: 10 });
    const joined = await b.nextOf('joined');
    assert.deepEqual([joined['seq'], joined['gap']], [15, false]);
    assert.deepEqual(joined['history'].map((m: { text: string }) => m.text), ['m11', 'm12', 'm13', 'm14', 'm15']);
    // A retry of an acknowledged send after the restart is still recognized.
    b.send({ v: 1, type: 'message', text: 'm15 again', cid: 'c15' });
    assert.equal((await b.nextOf('ack'))['message']['text'], 'm15');
    b.send({ v: 1, type: 'message', text: 'new', cid: 'c16' });
    assert.equal((await b.nextOf('ack'))['message']['seq'], 16);
  });

  test('a data directory in use by a running chat refuses a second one', TIMEOUT, async (t) => {
    const dir = tempDataDir(t);
    const first = await startChatProcess(t, ['--port', '0', '--data-dir', dir]);
    const second = await runChatCli(['--port', '0', '--data-dir', dir]);
    assert.deepEqual(second, { status: 1, stdout: '', stderr: `hyperws chat: the data directory ${dir} is in use by process ${first.child.pid}\n` });
  });

  test('the heartbeat is configurable through the environment', TIMEOUT, async (t) => {
    const chat = await startChatProcess(t, ['--port', '0'], {
      HYPERWS_CHAT_HEARTBEAT_INTERVAL_MS: '50',
      HYPERWS_CHAT_HEARTBEAT_TIMEOUT_MS: '50',
    });
    const silent = await ChatClient.connect(t, `ws://127.0.0.1:${chat.port}/ws`, { autoPong: false });
    assert.equal((await silent.closed).code, CloseCode.AbnormalClosure);
    const bad = await runChatCli(['--port', '0'], { HYPERWS_CHAT_HEARTBEAT_INTERVAL_MS: 'soon' });
    assert.deepEqual(bad, {
      status: 1,
      stdout: '',
      stderr: "hyperws chat: HYPERWS_CHAT_HEARTBEAT_INTERVAL_MS must be a positive integer (milliseconds), got 'soon'\n",
    });
  });

  test('a port in use: exit 1 with the reason', TIMEOUT, async (t) => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    t.after(() => taken.close());
    const { port } = taken.address() as { port: number };
    const dir = tempDataDir(t);
    assert.deepEqual(await runChatCli(['--port', String(port), '--data-dir', dir]), {
      status: 1,
      stdout: '',
      stderr: `hyperws chat: history in ${dir}: 0 records replayed\nhyperws chat: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`,
    });
  });

  test('usage errors exit 2; --help exits 0', TIMEOUT, async () => {
    assert.deepEqual(await runChatCli(['--port', '70000']), {
      status: 2,
      stdout: '',
      stderr: "hyperws chat: Option '--port' expects an integer from 0 to 65535, got '70000' (see 'hyperws chat --help')\n",
    });
    assert.deepEqual(await runChatCli(['--redis', 'localhost:6379']), {
      status: 2,
      stdout: '',
      stderr: "hyperws chat: Option '--redis' expects a URL such as redis://127.0.0.1:6379, got 'localhost:6379' (see 'hyperws chat --help')\n",
    });
    assert.equal((await runChatCli(['--nope'])).status, 2);
    assert.equal((await runChatCli(['room'])).status, 2);
    const help = await runChatCli(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: hyperws chat \[options\]\n/);
    assert.match(help.stdout, /--redis URL/);
    assert.match(help.stdout, /--data-dir DIR/);
    assert.deepEqual(await runChatCli(['--redis', 'redis://127.0.0.1:1', '--data-dir', 'x']), {
      status: 2,
      stdout: '',
      stderr: "hyperws chat: Options '--data-dir' and '--redis' exclude each other: with --redis, Redis keeps the history (see 'hyperws chat --help')\n",
    });
  });
});
