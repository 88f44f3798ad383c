// The per-connection footprint work (listener table compaction, defaults kept
// on prototypes, lazily created parser) must not change behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from '../../src/index.js';
import { closePair, closeServer, connectPair, nextMessage, startServer } from './helpers.js';

const T = { timeout: 20_000 };

test('upgraded socket: only live listeners remain, and they still work', T, async () => {
  const started = await startServer();
  const wss = started.wss;
  try {
    const { client, server } = await connectPair(started);
    const socket = server._socket!;
    const events = (socket as unknown as { _events: Record<string, unknown> })._events;
    for (const key of Reflect.ownKeys(events)) {
      if (!['close', 'error', 'prefinish', 'finish', 'drain', 'data', 'end', 'readable'].includes(key as string)) {
        assert.notEqual(events[key as string], undefined, `stale listener slot ${String(key)}`);
      }
    }
    for (const name of ['data', 'end', 'close', 'error', 'drain']) assert.ok(socket.listenerCount(name) >= 1, name);
    client.send('hello');
    assert.deepEqual(await nextMessage(server), [Buffer.from('hello'), false]);
    server.send('back');
    assert.deepEqual(await nextMessage(client), [Buffer.from('back'), false]);
    await closePair(client, server);
  } finally {
    await closeServer(wss);
  }
});

test('server-side WebSocket: defaults read through, per-instance values stay per instance', T, async () => {
  const { wss, port } = await startServer({ handleProtocols: (p) => (p.has('b') ? 'b' : false) });
  try {
    const plain = new WebSocket(`ws://127.0.0.1:${port}/`);
    const [[s1]] = await Promise.all([once(wss, 'connection') as Promise<[WebSocket]>, once(plain, 'open')]);
    const withProtocol = new WebSocket(`ws://127.0.0.1:${port}/`, ['a', 'b']);
    const [[s2]] = await Promise.all([once(wss, 'connection') as Promise<[WebSocket]>, once(withProtocol, 'open')]);
    assert.equal(s1.protocol, '');
    assert.equal(s1.extensions, '');
    assert.equal(s1.url, '');
    assert.equal(s1.binaryType, 'nodebuffer');
    assert.equal(s1.isPaused, false);
    assert.equal(s2.protocol, 'b');
    s2.binaryType = 'arraybuffer';
    assert.equal(s1.binaryType, 'nodebuffer');
    s2.pause();
    assert.equal(s2.isPaused, true);
    assert.equal(s1.isPaused, false);
    s2.resume();
    assert.equal(plain.url, `ws://127.0.0.1:${port}/`);
    assert.equal(withProtocol.protocol, 'b');
    await closePair(plain, s1);
    await closePair(withProtocol, s2);
  } finally {
    await closeServer(wss);
  }
});

test('listener table: event names that are Object.prototype members work as plain events', T, async () => {
  const ws = new WebSocket(null);
  assert.equal(ws.listenerCount('toString'), 0);
  assert.deepEqual(ws.eventNames(), []);
  let got = 0;
  const fn = () => got++;
  ws.on('constructor', fn);
  ws.on('toString', fn);
  ws.emit('constructor');
  ws.emit('toString');
  assert.equal(got, 2);
  assert.deepEqual(ws.eventNames(), ['constructor', 'toString']);
  ws.removeListener('constructor', fn);
  assert.deepEqual(ws.eventNames(), ['toString']);
  assert.equal(ws.emit('hasOwnProperty'), false);
});
