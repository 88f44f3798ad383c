// The page's connection status and its reconnection settings (the
// ?retryBase=&retryCap= test hooks as the library's options).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectionStatus, RETRY_DEFAULTS, retryOptions, type ConnectionFacts } from '../../../../apps/chat/web/connection.js';

test('retry hooks: ?retryBase=&retryCap= become initialDelay and maxDelay; defaults otherwise', () => {
  assert.deepEqual(RETRY_DEFAULTS, { initialDelay: 1000, maxDelay: 15_000 });
  assert.deepEqual(retryOptions(''), { initialDelay: 1000, maxDelay: 15_000 });
  assert.deepEqual(retryOptions('?retryBase=100&retryCap=1000'), { initialDelay: 100, maxDelay: 1000 });
  assert.deepEqual(retryOptions('?retryCap=2500'), { initialDelay: 1000, maxDelay: 2500 });
  for (const bad of ['?retryBase=0', '?retryBase=-5', '?retryBase=abc', '?retryBase=', '?retryBase=Infinity']) {
    assert.deepEqual(retryOptions(bad), RETRY_DEFAULTS, bad);
  }
});

const facts = (over: Partial<ConnectionFacts>): ConnectionFacts => ({ readyState: 0, dialing: true, retryAt: 0, now: 10_000, networkUp: true, wasOnline: false, ...over });
const show = (over: Partial<ConnectionFacts>) => {
  const { state, text } = connectionStatus(facts(over));
  return `${state}: ${text}`;
};

test('status: connecting, online, reconnecting with a countdown in whole seconds, offline', () => {
  assert.equal(show({}), 'connecting: Connecting…');
  assert.equal(show({ readyState: 1, dialing: true }), 'online: Online');
  // Waiting: the seconds left, rounded up, down to the attempt itself.
  assert.equal(show({ dialing: false, wasOnline: true, retryAt: 13_001 }), 'reconnecting: Reconnecting in 4 s…');
  assert.equal(show({ dialing: false, wasOnline: true, retryAt: 13_000 }), 'reconnecting: Reconnecting in 3 s…');
  assert.equal(show({ dialing: false, wasOnline: true, retryAt: 10_001 }), 'reconnecting: Reconnecting in 1 s…');
  assert.equal(show({ dialing: false, wasOnline: true, retryAt: 10_000 }), 'reconnecting: Reconnecting…');
  assert.equal(show({ dialing: true, wasOnline: true }), 'reconnecting: Reconnecting…');
  // Never online yet, the first attempt failed: a retry too.
  assert.equal(show({ dialing: false, retryAt: 11_500 }), 'reconnecting: Reconnecting in 2 s…');
  // The browser knows the network is gone: no countdown to an attempt that cannot work.
  assert.equal(show({ dialing: false, wasOnline: true, retryAt: 13_000, networkUp: false }), 'offline: Offline: waiting for the network…');
  assert.equal(show({ readyState: 1, networkUp: false }), 'online: Online');
  // The library gave up: only a reload starts again.
  assert.equal(show({ readyState: 3, dialing: false, wasOnline: true }), 'offline: Offline: reload to reconnect');
  assert.equal(show({ readyState: 2 }), 'offline: Offline: reload to reconnect');
});
