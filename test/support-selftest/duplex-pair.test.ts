// The in-memory Duplex pair behaves as the tests using it assume: bytes cross
// in order, end() on one side ends both (as net.Socket without allowHalfOpen),
// and destroying one side closes the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { duplexPair } from '../support/duplex-pair.js';

test('duplexPair: bytes written to one end are read from the other, in order', async () => {
  const [a, b] = duplexPair();
  a.write('he');
  a.write(Buffer.from('llo'));
  assert.equal((await b.received(5)).toString(), 'hello');
  b.write('back');
  assert.equal((await a.received(4)).toString(), 'back');
  a.destroy();
});

test('duplexPair: end() on one end ends the other, which ends its own side; both close', async () => {
  const [a, b] = duplexPair();
  const closes = [once(a, 'close'), once(b, 'close')];
  a.resume();
  a.end('bye');
  assert.equal((await b.received(Number.MAX_SAFE_INTEGER)).toString(), 'bye');
  await Promise.all(closes);
  assert.equal(b.writableEnded, true);
});

test('duplexPair: destroying one end destroys the other', async () => {
  const [a, b] = duplexPair();
  const closed = once(b, 'close');
  a.destroy();
  await closed;
  assert.equal(b.destroyed, true);
});
