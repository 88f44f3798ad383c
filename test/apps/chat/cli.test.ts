// `hyperws chat` as a process: the listening line, the page on the same
// port, clean shutdown on SIGINT/SIGTERM, and command-line errors.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { CloseCode } from '../../../src/index.js';
import { ChatClient, nicks, runChatCli, startChatProcess } from './helpers.js';

const TIMEOUT = { timeout: 60_000 };

describe('hyperws chat', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`serves page and WebSocket on one port; ${signal} closes clients with 1001 and exits 0`, TIMEOUT, async (t) => {
      const chat = await startChatProcess(t, ['--port', '0']);
      const page = await fetch(chat.url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>hyperws chat<\/title>/);

      const a = await ChatClient.connect(t, `ws://127.0.0.1:${chat.port}/ws`);
      assert.deepEqual(nicks((await a.join('cli', 'ann'))['members']), ['ann']);
      assert.equal(await chat.stop(signal), 0);
      assert.deepEqual(await a.closed, { code: CloseCode.GoingAway, reason: 'Server shutting down' });
      assert.deepEqual(chat.stdout.lines, [`hyperws chat: http://127.0.0.1:${chat.port}/`]);
      assert.ok(chat.stderr.lines.includes(`hyperws chat: ${signal}: closing 1 connection`), chat.stderr.lines.join('\n'));
    });
  }

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
    assert.deepEqual(await runChatCli(['--port', String(port)]), {
      status: 1,
      stdout: '',
      stderr: `hyperws chat: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`,
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
  });
});
