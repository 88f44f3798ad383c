// `hyperws serve --deflate`, `hyperws connect --deflate/--no-deflate` and
// `hyperws serve --broadcast --redis URL` (two serve processes on one real
// redis-server form one broadcast group).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from '../../src/index.js';
import { skipReason, redisServerPath } from '../support/system.js';
import { startRedis } from '../support/redis.js';
import { runCli, startServe, type ServeProcess } from './helpers.js';

const T = { timeout: 60_000 };

async function open(url: string): Promise<{ ws: WebSocket; messages: Array<{ text: string; isBinary: boolean }>; next(): Promise<{ text: string; isBinary: boolean }> }> {
  const ws = new WebSocket(url);
  const messages: Array<{ text: string; isBinary: boolean }> = [];
  let seen = 0;
  let wake: (() => void) | null = null;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    messages.push({ text: data.toString(), isBinary });
    wake?.();
  });
  await once(ws, 'open');
  return {
    ws,
    messages,
    async next() {
      while (messages.length <= seen) await new Promise<void>((resolve) => (wake = resolve));
      return messages[seen++]!;
    },
  };
}

async function closeAll(...sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) => (ws.readyState === WebSocket.CLOSED ? undefined : (ws.close(1000), once(ws, 'close')))),
  );
}

describe('serve --deflate and connect --deflate', () => {
  it('serve --deflate negotiates permessage-deflate and echoes compressed messages exactly', T, async () => {
    const serve = await startServe(['--deflate']);
    try {
      const client = await open(`ws://127.0.0.1:${serve.port}/`);
      assert.equal(client.ws.extensions, 'permessage-deflate');
      const text = JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ id: i, name: `user-${i}` })));
      client.ws.send(text);
      client.ws.send(Buffer.from([0, 1, 2, 3]));
      assert.deepEqual(await client.next(), { text, isBinary: false });
      assert.deepEqual(await client.next(), { text: '\u0000\u0001\u0002\u0003', isBinary: true });
      await closeAll(client.ws);
      assert.equal(await serve.stop(), 0);
    } finally {
      await serve.kill();
    }
  });

  it('without --deflate the server declines the offer', T, async () => {
    const serve = await startServe([]);
    try {
      const client = await open(`ws://127.0.0.1:${serve.port}/`);
      assert.equal(client.ws.extensions, '');
      await closeAll(client.ws);
      assert.equal(await serve.stop(), 0);
    } finally {
      await serve.kill();
    }
  });

  it('connect offers permessage-deflate by default and --no-deflate offers none', T, async () => {
    const serve = await startServe(['--deflate']);
    try {
      const url = `ws://127.0.0.1:${serve.port}/`;
      const offered = await runCli(['connect', url, '-x', 'hello']);
      assert.equal(offered.status, 0);
      assert.equal(offered.stdout, '< hello\n');
      assert.match(offered.stderr, /^connected to ws:\/\/127\.0\.0\.1:\d+\/ \(extensions: permessage-deflate\)\n/);
      const explicit = await runCli(['connect', url, '--deflate', '-x', 'hi']);
      assert.match(explicit.stderr, /\(extensions: permessage-deflate\)/);
      const none = await runCli(['connect', url, '--no-deflate', '-x', 'hello']);
      assert.equal(none.status, 0);
      assert.equal(none.stdout, '< hello\n');
      assert.match(none.stderr, /^connected to ws:\/\/127\.0\.0\.1:\d+\/\n/);
      const both = await runCli(['connect', url, '--deflate', '--no-deflate']);
      assert.equal(both.status, 2);
      assert.equal(await serve.stop(), 0);
    } finally {
      await serve.kill();
    }
  });
});

describe('serve --broadcast --redis', () => {
  it('--redis needs --broadcast and a redis:// URL', T, async () => {
    const a = await runCli(['serve', '--port', '0', '--redis', 'redis://127.0.0.1:1']);
    assert.equal(a.status, 2);
    assert.match(a.stderr, /Option '--redis' only applies with '--broadcast'/);
    const b = await runCli(['serve', '--port', '0', '--broadcast', '--redis', 'http://x']);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /expects a redis:\/\/ URL/);
  });

  it('two serve processes on one Redis form one broadcast group', { ...T, skip: skipReason(redisServerPath()) }, async () => {
    const redis = await startRedis();
    const nodes: ServeProcess[] = [];
    try {
      nodes.push(await startServe(['--broadcast', '--redis', redis.url]));
      nodes.push(await startServe(['--broadcast', '--redis', redis.url]));
      assert.match(nodes[0]!.listening, /\(broadcast mode via redis:\/\/127\.0\.0\.1:\d+\)/);
      const a = await open(`ws://127.0.0.1:${nodes[0]!.port}/`);
      const b = await open(`ws://127.0.0.1:${nodes[1]!.port}/`);
      // Subscriptions reach Redis asynchronously: probe until the other node hears us.
      for (let i = 0; ; i++) {
        a.ws.send(`probe ${i}`);
        const deadline = Date.now() + 200;
        while (!b.messages.some((m) => m.text.startsWith('probe')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        if (b.messages.some((m) => m.text.startsWith('probe'))) break;
        assert.ok(i < 100, 'the other node never received a broadcast');
      }
      // From now on: one message from each side reaches both clients exactly once.
      a.ws.send('from a');
      b.ws.send(Buffer.from([0xde, 0xad]));
      const settle = async (c: typeof a) => {
        while (!(c.messages.some((m) => m.text === 'from a') && c.messages.some((m) => m.isBinary))) await new Promise((r) => setTimeout(r, 10));
      };
      await Promise.all([settle(a), settle(b)]);
      // A marker from b after both: once it arrives everywhere, no duplicate can still be on its way from b.
      b.ws.send('marker');
      const marker = async (c: typeof a) => {
        while (!c.messages.some((m) => m.text === 'marker')) await new Promise((r) => setTimeout(r, 10));
      };
      await Promise.all([marker(a), marker(b)]);
      for (const c of [a, b]) {
        assert.equal(c.messages.filter((m) => m.text === 'from a').length, 1);
        const binary = c.messages.filter((m) => m.isBinary);
        assert.equal(binary.length, 1);
        assert.equal(binary[0]!.text, Buffer.from([0xde, 0xad]).toString());
      }
      await closeAll(a.ws, b.ws);
      for (const node of nodes) assert.equal(await node.stop(), 0);
    } finally {
      for (const node of nodes) await node.kill();
      await redis.close();
    }
  });
});
