// The page's outbox: sends kept, with their client ids, until acknowledged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newClientId, Outbox } from '../../../../apps/chat/web/outbox.js';

test('client ids: 32 hex digits from 16 random bytes', () => {
  assert.equal(newClientId((b) => b.fill(0xab)), 'ab'.repeat(16));
  assert.match(newClientId(), /^[0-9a-f]{32}$/);
  assert.notEqual(newClientId(), newClientId());
});

test('due: unsent entries of the room, then again only after the retry delay, until acked', () => {
  const box = new Outbox();
  const a = box.add('r', 'one', 'c1');
  box.add('other', 'elsewhere', 'c2');
  const b = box.add('r', 'two', 'c3');
  assert.deepEqual(box.due('r', 1000, 5000).map((e) => e.cid), ['c1', 'c3']);
  a.sentAt = 1000;
  b.sentAt = 1000;
  assert.deepEqual(box.due('r', 5999, 5000), []);
  assert.deepEqual(box.due('r', 6000, 5000).map((e) => e.text), ['one', 'two']);
  assert.equal(box.ack('c1'), a);
  assert.equal(box.ack('c1'), undefined); // a second ack (a retry's) changes nothing
  assert.deepEqual(box.due('r', 6000, 5000).map((e) => e.cid), ['c3']);
  box.unsent(); // a new connection: due at once
  assert.deepEqual(box.due('r', 1001, 5000).map((e) => e.cid), ['c3']);
  assert.equal(box.size, 2);
});
