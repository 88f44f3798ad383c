// Topics in one process (the in-process adapter): subscription bookkeeping,
// who receives a publication, message types, broadcast, cleanup when a
// connection closes, the adapter's view of interest, and publish-once (the
// same encoded Buffer written to every subscriber, compressed or not).
//
// "Nobody else got it" is checked without waiting for time to pass: after the
// publication under test, a broadcast marker goes to every client; a client's
// log is then exact up to the marker (one connection keeps its order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket, type PubSubAdapter, type Publication } from '../../src/index.js';
import { Connection } from '../../src/protocol/connection.js';
import type { PreparedMessage } from '../../src/protocol/sender.js';
import type { WriteCallback } from '../../src/protocol/send-queue.js';
import { driverOf } from '../../src/node/websocket.js';
import { pubsubOf } from '../../src/pubsub/topics.js';
import { closeClient, closeServer, connectLogging, startServer, waitFor, type LoggingClient } from './helpers.js';

const T = { timeout: 30_000 };
const MARKER = 'marker';

/** Sends the marker to everyone and waits until every client logged it. */
async function fence(started: { wss: { broadcast(data: unknown): number } }, clients: LoggingClient[]): Promise<void> {
  const before = clients.map((c) => c.log.length);
  assert.equal(started.wss.broadcast(MARKER), clients.filter((c) => c.peer.readyState === WebSocket.OPEN).length);
  await Promise.all(
    clients.map((c, i) =>
      waitFor(
        () => c.log.slice(before[i]).some((m) => !m.isBinary && m.data.toString() === MARKER),
        `the marker at client ${i}`,
      ),
    ),
  );
}

test('subscribe/unsubscribe bookkeeping: true then false, isSubscribed, topics is a copy, subscriberCount', T, async (t) => {
  const started = await startServer();
  t.after(() => closeServer(started.wss));
  const a = await connectLogging(started);
  const b = await connectLogging(started);
  const { wss } = started;

  assert.equal(a.peer.isSubscribed('news'), false);
  assert.deepEqual([...a.peer.topics], []);
  assert.equal(wss.subscriberCount('news'), 0);

  assert.equal(a.peer.subscribe('news'), true, 'a new subscription');
  assert.equal(a.peer.subscribe('news'), false, 'already subscribed');
  assert.equal(a.peer.subscribe('sports'), true);
  assert.equal(b.peer.subscribe('news'), true);
  assert.equal(a.peer.isSubscribed('news'), true);
  assert.equal(b.peer.isSubscribed('sports'), false);
  assert.equal(wss.subscriberCount('news'), 2);
  assert.equal(wss.subscriberCount('sports'), 1);
  assert.equal(wss.subscriberCount('weather'), 0);

  const topics = a.peer.topics;
  assert.deepEqual([...topics].sort(), ['news', 'sports']);
  (topics as Set<string>).add('weather');
  (topics as Set<string>).delete('news');
  assert.deepEqual([...a.peer.topics].sort(), ['news', 'sports'], 'mutating the returned set changes nothing');
  assert.notEqual(a.peer.topics, a.peer.topics, 'a fresh copy each time');
  assert.equal(a.peer.isSubscribed('weather'), false);

  assert.equal(a.peer.unsubscribe('news'), true);
  assert.equal(a.peer.unsubscribe('news'), false, 'no longer subscribed');
  assert.equal(a.peer.unsubscribe('never'), false);
  assert.equal(a.peer.isSubscribed('news'), false);
  assert.deepEqual([...a.peer.topics], ['sports']);
  assert.equal(wss.subscriberCount('news'), 1);
  assert.equal(b.peer.unsubscribe('news'), true);
  assert.equal(wss.subscriberCount('news'), 0);
  assert.equal(pubsubOf(wss)!.registry.subscribers('news'), undefined, 'an empty topic is forgotten');
  assert.deepEqual([...pubsubOf(wss)!.registry.topicNames()], ['sports']);

  assert.throws(() => a.peer.subscribe(''), TypeError);
  assert.throws(() => a.peer.subscribe(42 as unknown as string), TypeError);
  assert.throws(() => wss.publish('', 'x'), TypeError);
  // A client-side connection has no server: topics are a server feature.
  assert.throws(() => a.ws.subscribe('news'), /only available on connections accepted by a WebSocketServer/);
  assert.equal(a.ws.isSubscribed('news'), false);
});

test('publish reaches exactly the subscribers and returns the local delivery count', T, async (t) => {
  const started = await startServer();
  t.after(() => closeServer(started.wss));
  const [a, b, c] = [await connectLogging(started), await connectLogging(started), await connectLogging(started)];
  a.peer.subscribe('news');
  b.peer.subscribe('news');
  c.peer.subscribe('sports');

  assert.equal(started.wss.publish('news', 'headline'), 2);
  assert.equal(started.wss.publish('sports', 'score'), 1);
  assert.equal(started.wss.publish('nobody', 'void'), 0);
  await fence(started, [a, b, c]);
  assert.deepEqual(a.texts(), ['headline', MARKER]);
  assert.deepEqual(b.texts(), ['headline', MARKER]);
  assert.deepEqual(c.texts(), ['score', MARKER]);

  // Order is kept per subscriber across many publications.
  const sent = Array.from({ length: 50 }, (_, i) => `n${i}`);
  for (const m of sent) assert.equal(started.wss.publish('news', m), 2);
  await fence(started, [a, b, c]);
  assert.deepEqual(a.texts().slice(2), [...sent, MARKER]);
  assert.deepEqual(b.texts().slice(2), [...sent, MARKER]);
  assert.deepEqual(c.texts().slice(2), [MARKER]);
});

test('except: the sender does not receive its own publication', T, async (t) => {
  const started = await startServer();
  t.after(() => closeServer(started.wss));
  const clients = [await connectLogging(started), await connectLogging(started), await connectLogging(started)];
  for (const c of clients) {
    c.peer.subscribe('room');
    // The usual chat relay: what a client sends goes to the others in the room.
    c.peer.on('message', (data: Buffer, isBinary: boolean) => {
      started.wss.publish('room', data, { binary: isBinary, except: c.peer });
    });
  }
  const [a, b, c] = clients as [LoggingClient, LoggingClient, LoggingClient];
  a.ws.send('from a');
  await b.waitForCount(1);
  await c.waitForCount(1);
  assert.equal(started.wss.publish('room', 'direct', { except: b.peer }), 2);
  await fence(started, clients);
  assert.deepEqual(a.texts(), ['direct', MARKER]);
  assert.deepEqual(b.texts(), ['from a', MARKER]);
  assert.deepEqual(c.texts(), ['from a', 'direct', MARKER]);
  // except: null or a connection that is not subscribed excludes nobody.
  assert.equal(started.wss.publish('room', 'all', { except: null }), 3);
});

test('message types: strings are text, Buffers/typed arrays binary; the binary option overrides', T, async (t) => {
  const started = await startServer();
  t.after(() => closeServer(started.wss));
  const a = await connectLogging(started);
  a.peer.subscribe('t');
  const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff]);
  const publish = (data: unknown, options?: { binary?: boolean }): number => started.wss.publish('t', data, options);

  assert.equal(publish('plain text'), 1);
  assert.equal(publish(bytes), 1);
  assert.equal(publish('text as binary', { binary: true }), 1);
  assert.equal(publish(Buffer.from('buffer as text'), { binary: false }), 1);
  assert.equal(publish(new Uint8Array([7, 8, 9])), 1);
  assert.equal(publish(new Uint8Array([5, 6, 7, 8]).buffer), 1);
  assert.equal(publish(new Uint16Array([0x0102]).subarray(0, 1)), 1);
  assert.equal(publish('h\u00e9llo \u{1f600}'), 1);
  await a.waitForCount(8);
  assert.deepEqual(
    a.log.map((m) => [m.isBinary, m.data.toString('hex')]),
    [
      [false, Buffer.from('plain text').toString('hex')],
      [true, '000102feff'],
      [true, Buffer.from('text as binary').toString('hex')],
      [false, Buffer.from('buffer as text').toString('hex')],
      [true, '070809'],
      [true, '05060708'],
      [true, Buffer.from(new Uint16Array([0x0102]).buffer).toString('hex')],
      [false, Buffer.from('h\u00e9llo \u{1f600}', 'utf8').toString('hex')],
    ],
  );
  for (const m of a.log) assert.ok(Buffer.isBuffer(m.data));
});

test('broadcast reaches every open client, subscribed or not; except excludes one', T, async (t) => {
  const started = await startServer();
  t.after(() => closeServer(started.wss));
  const clients = [await connectLogging(started), await connectLogging(started), await connectLogging(started)];
  const [a, b, c] = clients as [LoggingClient, LoggingClient, LoggingClient];
  a.peer.subscribe('x');
  assert.equal(started.wss.broadcast('hello all'), 3);
  assert.equal(started.wss.broadcast(Buffer.from([1, 2, 3])), 3);
  assert.equal(started.wss.broadcast('not b', { except: b.peer }), 2);
  await fence(started, clients);
  assert.deepEqual(a.texts(), ['hello all', 'bin:010203', 'not b', MARKER]);
  assert.deepEqual(b.texts(), ['hello all', 'bin:010203', MARKER]);
  assert.deepEqual(c.texts(), ['hello all', 'bin:010203', 'not b', MARKER]);

  // Every binary type goes out as its exact bytes, as with publish().
  const wide = new Uint16Array([0x0102, 0x0304]);
  const view = new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2);
  assert.equal(started.wss.broadcast(wide), 3);
  assert.equal(started.wss.broadcast(view), 3);
  assert.equal(started.wss.broadcast(new Uint8Array([5, 4]).buffer), 3);
  await fence(started, clients);
  const exact = ['bin:' + Buffer.from(wide.buffer).toString('hex'), 'bin:0807', 'bin:0504', MARKER];
  for (const x of clients) assert.deepEqual(x.texts().slice(-4), exact);

  // A closed client is no longer counted.
  await closeClient(c.ws);
  await waitFor(() => started.wss.clients.size === 2, 'the server to drop the closed client');
  assert.equal(started.wss.broadcast('two left'), 2);
  await a.waitForCount(9);
  await b.waitForCount(8);
  assert.equal(a.texts().at(-1), 'two left');
  assert.equal(b.texts().at(-1), 'two left');
});

test('subscriptions end when the connection closes (client close and terminate)', T, async (t) => {
  const started = await startServer();
  t.after(() => closeServer(started.wss));
  const { wss } = started;
  const a = await connectLogging(started);
  const b = await connectLogging(started);
  const c = await connectLogging(started);
  for (const x of [a, b, c]) {
    x.peer.subscribe('shared');
    x.peer.subscribe(`own-${x === a ? 'a' : x === b ? 'b' : 'c'}`);
  }
  assert.equal(wss.subscriberCount('shared'), 3);

  const closedA = once(a.peer, 'close');
  a.ws.close(1000);
  await closedA;
  assert.equal(wss.subscriberCount('shared'), 2);
  assert.equal(wss.subscriberCount('own-a'), 0);
  assert.equal(pubsubOf(wss)!.registry.subscribers('own-a'), undefined);
  assert.equal(a.peer.isSubscribed('shared'), false);
  assert.deepEqual([...a.peer.topics], []);
  // A closed connection cannot subscribe again.
  assert.equal(a.peer.subscribe('shared'), false);
  assert.equal(wss.subscriberCount('shared'), 2);

  const closedB = once(b.peer, 'close');
  b.ws.terminate();
  await closedB;
  assert.equal(wss.subscriberCount('shared'), 1);

  const closedC = once(c.peer, 'close');
  c.peer.close(1000); // closed from the server side this time
  await closedC;
  assert.equal(wss.subscriberCount('shared'), 0);
  assert.deepEqual([...pubsubOf(wss)!.registry.topicNames()], [], 'every per-topic set is gone');
  assert.equal(wss.publish('shared', 'late'), 0);
});

test('the close listener lives as long as the membership: subscribe/unsubscribe cycles add none', T, async (t) => {
  const started = await startServer();
  t.after(() => closeServer(started.wss));
  const { wss } = started;
  const a = await connectLogging(started);
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  t.after(() => process.removeListener('warning', onWarning));

  const base = a.peer.listenerCount('close');
  a.peer.subscribe('t');
  assert.equal(a.peer.listenerCount('close'), base + 1, 'one with the first topic');
  a.peer.subscribe('u');
  a.peer.unsubscribe('t');
  assert.equal(a.peer.listenerCount('close'), base + 1, 'still one while a topic is left');
  a.peer.unsubscribe('u');
  assert.equal(a.peer.listenerCount('close'), base, 'none once the last topic is left');
  // A connection that toggles one topic for its whole life.
  for (let i = 0; i < 50; i++) {
    assert.equal(a.peer.subscribe('t'), true);
    assert.equal(a.peer.unsubscribe('t'), true);
  }
  assert.equal(a.peer.listenerCount('close'), base);
  assert.equal(a.peer.unsubscribe('t'), false);
  assert.equal(a.peer.listenerCount('close'), base, 'an unsubscribe that removes nothing removes no listener');

  // The membership after the cycles still ends when the connection closes.
  a.peer.subscribe('t');
  a.peer.subscribe('u');
  const closed = once(a.peer, 'close');
  a.ws.close(1000);
  await closed;
  assert.equal(wss.subscriberCount('t'), 0);
  assert.deepEqual([...pubsubOf(wss)!.registry.topicNames()], []);
  await new Promise((resolve) => setImmediate(resolve)); // a warning is emitted on a later tick
  assert.deepEqual(
    warnings.filter((w) => w.name === 'MaxListenersExceededWarning'),
    [],
  );
});

/** An adapter that records every call the server makes. */
class RecordingAdapter implements PubSubAdapter {
  readonly calls: string[] = [];
  readonly published: Publication[] = [];
  deliver: ((p: Publication) => void) | null = null;
  attach(deliver: (p: Publication) => void): void {
    this.calls.push('attach');
    this.deliver = deliver;
  }
  subscribe(topic: string): void {
    this.calls.push(`subscribe ${topic}`);
  }
  unsubscribe(topic: string): void {
    this.calls.push(`unsubscribe ${topic}`);
  }
  publish(publication: Publication): void {
    this.published.push({ ...publication, data: Buffer.from(publication.data) });
  }
  async close(): Promise<void> {
    this.calls.push('close');
  }
}

test('the adapter hears interest changes once per topic, every publication, and delivers remote ones locally', T, async (t) => {
  const adapter = new RecordingAdapter();
  const started = await startServer({ adapter });
  let closed = false;
  t.after(() => (closed ? undefined : closeServer(started.wss)));
  const a = await connectLogging(started);
  const b = await connectLogging(started);
  a.peer.subscribe('t1');
  b.peer.subscribe('t1');
  a.peer.subscribe('t2');
  a.peer.unsubscribe('t2');
  b.peer.unsubscribe('t1');
  a.peer.subscribe('t2');
  assert.deepEqual(adapter.calls, ['attach', 'subscribe t1', 'subscribe t2', 'unsubscribe t2', 'subscribe t2']);

  assert.equal(started.wss.publish('t1', 'local'), 1);
  assert.equal(started.wss.publish('elsewhere', Buffer.from([9])), 0);
  assert.deepEqual(
    adapter.published.map((p) => [p.topic, p.data.toString('hex'), p.binary]),
    [
      ['t1', Buffer.from('local').toString('hex'), false],
      ['elsewhere', '09', true],
    ],
    'forwarded whether or not there are local subscribers',
  );

  // A publication from another node reaches the local subscribers only (and is not forwarded back).
  adapter.deliver!({ topic: 't2', data: Buffer.from('remote'), binary: false });
  adapter.deliver!({ topic: 'none', data: Buffer.from('lost'), binary: false });
  adapter.deliver!({ topic: 't1', data: Buffer.from([1, 2]), binary: true });
  assert.equal(adapter.published.length, 2);
  await fence(started, [a, b]);
  assert.deepEqual(a.texts(), ['local', 'remote', 'bin:0102', MARKER]);
  assert.deepEqual(b.texts(), [MARKER]);

  // Leaving by closing the connection reports the lost interest; closing the server closes the adapter.
  const closedA = once(a.peer, 'close');
  a.ws.close();
  await closedA;
  assert.deepEqual(adapter.calls.slice(5).sort(), ['unsubscribe t1', 'unsubscribe t2']);
  closed = true;
  await closeServer(started.wss);
  await waitFor(() => adapter.calls.includes('close'), 'adapter.close()');
  assert.equal(adapter.calls.filter((c) => c === 'close').length, 1);
});

/**
 * Records the frame each connection is handed by the publish path (a
 * PreparedMessage's frame for that connection's extension) while `fn` runs,
 * with the server-side WebSocket it went to.
 */
async function recordEncoded<R>(wss: { clients: Set<unknown> }, fn: () => R | Promise<R>): Promise<{ result: R; sent: Array<{ ws: WebSocket; frame: Buffer }> }> {
  const proto = Connection.prototype;
  const original = proto.sendPrepared;
  const seen: Array<{ conn: Connection; frame: Buffer | null }> = [];
  proto.sendPrepared = function (this: Connection, message: PreparedMessage, cb?: WriteCallback) {
    seen.push({ conn: this, frame: message.frameFor(this.extension) });
    return original.call(this, message, cb);
  };
  try {
    const result = await fn();
    const sockets = [...wss.clients] as WebSocket[];
    // A null frame went through the connection's own compressor (context takeover): not pre-encoded.
    const sent = seen.flatMap(({ conn, frame }) => {
      const ws = sockets.find((w) => driverOf(w)?.connection === conn);
      assert.ok(ws, 'a prepared message handed to a connection of the test server');
      return frame === null ? [] : [{ ws, frame }];
    });
    return { result, sent };
  } finally {
    proto.sendPrepared = original;
  }
}

test('publish-once: every subscriber is handed the same encoded Buffer instance', T, async (t) => {
  const started = await startServer();
  t.after(() => closeServer(started.wss));
  const clients = [await connectLogging(started), await connectLogging(started), await connectLogging(started), await connectLogging(started)];
  for (const c of clients.slice(0, 3)) c.peer.subscribe('t');

  const text = 'x'.repeat(300);
  const { result, sent } = await recordEncoded(started.wss, () => started.wss.publish('t', text));
  assert.equal(result, 3);
  assert.equal(sent.length, 3);
  assert.deepEqual(
    sent.map((s) => s.ws),
    clients.slice(0, 3).map((c) => c.peer),
  );
  assert.ok(sent.every((s) => s.frame === sent[0]!.frame), 'one Buffer instance for all subscribers');
  const frame = sent[0]!.frame;
  // FIN + text, unmasked, 16-bit length 300, then the payload.
  assert.equal(frame[0], 0x81);
  assert.equal(frame[1], 126);
  assert.equal(frame.readUInt16BE(2), 300);
  assert.equal(frame.subarray(4).toString(), text);

  // A second publication is encoded anew (once again).
  const second = await recordEncoded(started.wss, () => started.wss.publish('t', Buffer.from([1, 2, 3])));
  assert.equal(second.sent.length, 3);
  assert.ok(second.sent.every((s) => s.frame === second.sent[0]!.frame));
  assert.notEqual(second.sent[0]!.frame, frame);
  assert.deepEqual([...second.sent[0]!.frame], [0x82, 3, 1, 2, 3]);

  // broadcast shares its frame too, across all four clients.
  const all = await recordEncoded(started.wss, () => started.wss.broadcast('everyone'));
  assert.equal(all.result, 4);
  assert.equal(all.sent.length, 4);
  assert.ok(all.sent.every((s) => s.frame === all.sent[0]!.frame));

  for (const c of clients.slice(0, 3)) await c.waitForCount(3);
  for (const c of clients.slice(0, 3)) assert.deepEqual(c.texts(), [text, 'bin:010203', 'everyone']);
  await clients[3]!.waitForCount(1);
  assert.deepEqual(clients[3]!.texts(), ['everyone']);
});

test('compressed publication: compressed once, the same RSV1 frame for every deflate subscriber', T, async (t) => {
  const started = await startServer({ perMessageDeflate: true });
  t.after(() => closeServer(started.wss));
  const deflating = [
    await connectLogging(started, '/', { perMessageDeflate: true }),
    await connectLogging(started, '/', { perMessageDeflate: true }),
    await connectLogging(started, '/', { perMessageDeflate: true }),
  ];
  const plain = await connectLogging(started, '/', { perMessageDeflate: false });
  for (const c of deflating) assert.equal(c.ws.extensions, 'permessage-deflate');
  assert.equal(plain.ws.extensions, '');
  for (const c of [...deflating, plain]) c.peer.subscribe('t');

  // 4 KiB of compressible text.
  const line = 'The quick brown fox jumps over the lazy dog. ';
  const text = line.repeat(Math.ceil(4096 / line.length)).slice(0, 4096);
  const { result, sent } = await recordEncoded(started.wss, () => started.wss.publish('t', text, { compress: true }));
  assert.equal(result, 4);
  assert.equal(sent.length, 4);
  const byWs = new Map(sent.map((s) => [s.ws, s.frame]));
  const shared = byWs.get(deflating[0]!.peer)!;
  for (const c of deflating) assert.equal(byWs.get(c.peer), shared, 'the same compressed Buffer instance');
  assert.equal(shared[0]! & 0x40, 0x40, 'RSV1 set: compressed');
  assert.equal(shared[0]! & 0x8f, 0x81, 'FIN + text');
  assert.ok(shared.length < 1024, `compressed (${shared.length} bytes for 4096)`);
  const plainFrame = byWs.get(plain.peer)!;
  assert.notEqual(plainFrame, shared);
  assert.equal(plainFrame[0], 0x81, 'no RSV1 for the subscriber without the extension');
  assert.equal(plainFrame.subarray(4).toString(), text);

  for (const c of [...deflating, plain]) await c.waitForCount(1);
  for (const c of [...deflating, plain]) {
    assert.equal(c.log.length, 1);
    assert.equal(c.log[0]!.isBinary, false);
    assert.equal(c.log[0]!.data.toString(), text);
  }

  // Without compress: true, deflate subscribers share one plain frame.
  const uncompressed = await recordEncoded(started.wss, () => started.wss.publish('t', text));
  assert.equal(uncompressed.sent.length, 4);
  assert.ok(uncompressed.sent.every((s) => s.frame === uncompressed.sent[0]!.frame));
  assert.equal(uncompressed.sent[0]!.frame[0], 0x81);
  for (const c of [...deflating, plain]) await c.waitForCount(2);
  for (const c of [...deflating, plain]) assert.equal(c.log[1]!.data.toString(), text);
});

test('compressed publication with context takeover: per-connection compression, order kept with plain publications', T, async (t) => {
  // serverNoContextTakeover: false keeps a compressor per connection: nothing to share.
  const started = await startServer({ perMessageDeflate: { serverNoContextTakeover: false } });
  t.after(() => closeServer(started.wss));
  const clients = [await connectLogging(started, '/', { perMessageDeflate: true }), await connectLogging(started, '/', { perMessageDeflate: true })];
  for (const c of clients) {
    assert.equal(c.ws.extensions, 'permessage-deflate');
    c.peer.subscribe('t');
  }
  const big = (i: number): string => `${i}:` + 'abcdefgh'.repeat(512);
  const { sent } = await recordEncoded(started.wss, () => {
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      counts.push(started.wss.publish('t', big(i), { compress: true }));
      counts.push(started.wss.publish('t', `plain ${i}`)); // pre-encoded: must not overtake the compressed one
    }
    assert.deepEqual(counts, Array(10).fill(2));
  });
  assert.equal(sent.length, 10, 'only the plain publications go pre-encoded');
  const expected = Array.from({ length: 5 }, (_, i) => [big(i), `plain ${i}`]).flat();
  for (const c of clients) {
    await c.waitForCount(10);
    assert.deepEqual(c.texts(), expected);
  }
});
