import { test } from 'node:test';
import assert from 'node:assert/strict';
import { payloadBytes, QueueFullError, SendQueue } from '../../src/reconnect/send-queue.js';

test('sizes: UTF-8 bytes of text, byteLength of binary, size of a Blob', () => {
  assert.equal(payloadBytes('héllo'), 6);
  assert.equal(payloadBytes(new Uint8Array(7)), 7);
  assert.equal(payloadBytes(new ArrayBuffer(9)), 9);
  assert.equal(payloadBytes(new Blob(['abc'])), 3);
});

test('the message limit, then the byte limit: QueueFullError and the queue unchanged; drain() in order', () => {
  const q = new SendQueue({ maxQueuedMessages: 3, maxQueuedBytes: 10 });
  q.push('a');
  q.push('bb');
  q.push('ccc');
  assert.throws(() => q.push('d'), (e: unknown) => e instanceof QueueFullError && e.code === 'ERR_RECONNECT_QUEUE_FULL' && e.queuedMessages === 3 && e.queuedBytes === 6);
  assert.deepEqual(q.drain(), ['a', 'bb', 'ccc']);
  assert.equal(q.length, 0);
  q.push('12345678');
  assert.throws(() => q.push('123'), { name: 'QueueFullError', message: 'Send queue full: 8 + 3 bytes would pass maxQueuedBytes 10' });
  q.push('12');
  assert.equal(q.byteLength, 10);
});
