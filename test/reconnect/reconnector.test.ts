// The reconnector's decisions over fake sockets, with node:test's mock
// timers: no real time passes, each delay is exact (the random source is
// injected), and every assertion is on events, counts and order.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { defaultShouldReconnect, parseRetryAfter, Reconnector, type AttemptEvents, type CloseInfo, type ReconnectOptions } from '../../src/reconnect/reconnector.js';

class FakeSocket {
  sent: unknown[] = [];
  closedWith: [number | undefined, string | undefined] | null = null;
  constructor(readonly events: AttemptEvents) {}
  send(data: unknown): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
    this.events.close({ code: code ?? 1005, reason: reason ?? '', opened: true });
  }
  // What the server or the network does:
  open(): void {
    this.events.open();
  }
  drop(info: Partial<CloseInfo> = {}): void {
    this.events.close({ code: 1006, reason: '', opened: false, ...info });
  }
}

function harness(t: TestContext, options: ReconnectOptions<FakeSocket> = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const sockets: FakeSocket[] = [];
  const log: string[] = [];
  const r = new Reconnector<FakeSocket>((events) => {
    const s = new FakeSocket(events);
    sockets.push(s);
    return s;
  }, { random: () => 0.5, initialDelay: 100, factor: 2, maxDelay: 1000, ...options }, {
    opened: () => log.push('open'),
    message: (data) => log.push(`message ${String(data)}`),
    reconnecting: (attempt, delay) => log.push(`reconnecting ${attempt} ${delay}`),
    error: (e) => log.push(`error ${(e as Error).message}`),
    closed: (code, reason) => log.push(`close ${code} ${reason}`),
  });
  const last = (): FakeSocket => sockets[sockets.length - 1]!;
  // beforeFlush may be async: let its promise settle.
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return { r, sockets, log, last, settle, tick: (ms: number) => t.mock.timers.tick(ms) };
}

test('backoff with full jitter after failed connects: 50, 100, 200... capped; the count resets after an open', async (t) => {
  const h = harness(t);
  h.last().drop();
  h.tick(49);
  assert.equal(h.sockets.length, 1);
  h.tick(1);
  assert.equal(h.sockets.length, 2);
  h.last().drop();
  h.tick(100);
  h.last().drop();
  h.tick(200);
  h.last().drop();
  h.tick(400);
  h.last().drop();
  h.tick(500);
  assert.equal(h.sockets.length, 6);
  h.last().open();
  await h.settle();
  h.last().drop({ opened: true });
  assert.deepEqual(h.log, ['reconnecting 1 50', 'reconnecting 2 100', 'reconnecting 3 200', 'reconnecting 4 400', 'reconnecting 5 500', 'open', 'reconnecting 1 50']);
});

test('sends while disconnected are queued and flushed in order after beforeFlush; sends when open go straight out', async (t) => {
  const order: string[] = [];
  const h = harness(t, {
    beforeFlush: async (socket) => {
      order.push(`hook saw ${socket.sent.length} sent`);
      socket.send('auth');
      await Promise.resolve();
      h.r.send('during hook'); // queued behind the earlier ones
    },
  });
  h.r.send('one');
  h.r.send('two');
  assert.equal(h.r.queuedMessages, 2);
  assert.equal(h.r.queuedBytes, 6);
  h.last().open();
  await h.settle();
  assert.deepEqual(h.last().sent, ['auth', 'one', 'two', 'during hook']);
  assert.deepEqual(order, ['hook saw 0 sent']);
  h.r.send('three');
  assert.deepEqual(h.last().sent.slice(-1), ['three']);
  // Lost, reconnected: the hook runs again before the new queue goes out.
  h.last().drop({ code: 1006, opened: true });
  h.r.send('four');
  h.tick(50);
  h.last().open();
  await h.settle();
  assert.deepEqual(h.last().sent, ['auth', 'four', 'during hook']);
  assert.deepEqual(h.log, ['open', 'reconnecting 1 50', 'open']);
});

test('the queue is bounded: QueueFullError, and what was queued still goes out', async (t) => {
  const h = harness(t, { maxQueuedMessages: 2 });
  h.r.send('a');
  h.r.send('b');
  assert.throws(() => h.r.send('c'), { name: 'QueueFullError' });
  h.last().open();
  await h.settle();
  assert.deepEqual(h.last().sent, ['a', 'b']);
});

test('close() by the application: no reconnection, one close event; send() afterwards throws', async (t) => {
  const h = harness(t);
  h.last().open();
  await h.settle();
  h.r.close(1000, 'bye');
  h.tick(10_000);
  assert.deepEqual(h.log, ['open'], "'close' comes in a microtask, not from inside close()");
  await h.settle();
  assert.equal(h.sockets.length, 1);
  assert.deepEqual(h.sockets[0]!.closedWith, [1000, 'bye']);
  assert.deepEqual(h.log, ['open', 'close 1000 bye']);
  assert.equal(h.r.readyState, 3);
  assert.throws(() => h.r.send('x'), { message: 'ReconnectingWebSocket is closed' });
});

test('close() while waiting to reconnect cancels the wait and drops the queue', async (t) => {
  const h = harness(t);
  h.r.send('queued');
  h.last().drop();
  h.r.close();
  h.tick(10_000);
  await h.settle();
  assert.equal(h.sockets.length, 1);
  assert.equal(h.r.queuedMessages, 0);
  assert.deepEqual(h.log, ['reconnecting 1 50', 'close 1005 ']);
});

test('maxAttempts: after that many failures in a row, the end (close with the last code)', async (t) => {
  const h = harness(t, { maxAttempts: 2 });
  h.last().drop();
  h.tick(50);
  h.last().drop();
  h.tick(100);
  h.last().drop({ code: 1006 });
  h.tick(10_000);
  await h.settle();
  assert.equal(h.sockets.length, 3);
  assert.deepEqual(h.log, ['reconnecting 1 50', 'reconnecting 2 100', 'close 1006 ']);
});

test('1012 (service restart) reconnects; 1013 (try again later) waits in the upper half of maxDelay', async (t) => {
  const h = harness(t);
  h.last().open();
  await h.settle();
  h.last().drop({ code: 1012, reason: 'restart', opened: true });
  h.tick(50);
  h.last().open();
  await h.settle();
  h.last().drop({ code: 1013, reason: 'later', opened: true });
  h.tick(749);
  assert.equal(h.sockets.length, 2);
  h.tick(1);
  assert.equal(h.sockets.length, 3);
  assert.deepEqual(h.log, ['open', 'reconnecting 1 50', 'open', 'reconnecting 1 750']);
});

test("a 503's Retry-After is waited for (plus jitter of up to one initialDelay)", (t) => {
  const h = harness(t);
  h.last().drop({ status: 503, retryAfterMs: 5000 });
  h.tick(5049);
  assert.equal(h.sockets.length, 1);
  h.tick(1);
  assert.equal(h.sockets.length, 2);
  assert.deepEqual(h.log, ['reconnecting 1 5050']);
});

test('no reconnection after 1000, 1008, or a 4xx refusal other than 408/429', () => {
  const base = { reason: '', opened: true };
  assert.equal(defaultShouldReconnect({ ...base, code: 1000 }), false);
  assert.equal(defaultShouldReconnect({ ...base, code: 1008 }), false);
  for (const code of [1001, 1006, 1011, 1012, 1013]) assert.equal(defaultShouldReconnect({ ...base, code }), true, String(code));
  for (const [status, retry] of [[401, false], [403, false], [404, false], [408, true], [429, true], [500, true], [503, true]] as const) {
    assert.equal(defaultShouldReconnect({ code: 1006, reason: '', opened: false, status }), retry, String(status));
  }
});

test('a server close with 1000 ends it: close event, no reconnecting', async (t) => {
  const h = harness(t);
  h.last().open();
  await h.settle();
  h.last().drop({ code: 1000, reason: 'done', opened: true });
  h.tick(10_000);
  await h.settle();
  assert.deepEqual(h.log, ['open', 'close 1000 done']);
});

test('Retry-After: seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('5'), 5000);
  assert.equal(parseRetryAfter(' 120 '), 120_000);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 10_000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test('reconnectNow() while waiting dials at once and cancels the wait; the failure count goes on', async (t) => {
  const h = harness(t);
  h.last().drop();
  assert.equal(h.r.reconnectNow(), true);
  assert.equal(h.sockets.length, 2);
  assert.equal(h.r.reconnectNow(), false, 'connecting: nothing to skip');
  h.tick(10_000);
  assert.equal(h.sockets.length, 2, 'the cancelled wait dials nothing');
  // The second failure in a row waits attempt 2's delay, not attempt 1's.
  h.last().drop();
  h.tick(99);
  assert.equal(h.sockets.length, 2);
  h.tick(1);
  assert.equal(h.sockets.length, 3);
  h.last().open();
  await h.settle();
  assert.equal(h.r.reconnectNow(), false, 'open: nothing to skip');
  h.r.close();
  await h.settle();
  assert.equal(h.r.reconnectNow(), false, 'closed: no reconnection');
  assert.equal(h.sockets.length, 3);
  assert.deepEqual(h.log, ['reconnecting 1 50', 'reconnecting 2 100', 'open', 'close 1005 ']);
});
