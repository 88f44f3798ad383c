// The page's record of which sequence numbers it has (SeqTracker).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeqTracker } from '../../../../apps/chat/web/sequence.js';

test('in order: each new, contiguous follows', () => {
  const s = new SeqTracker();
  assert.deepEqual([1, 2, 3].map((n) => s.add(n)), [true, true, true]);
  assert.equal(s.contiguous, 3);
  assert.equal(s.hasHole, false);
});

test('duplicates (live copy of a history message, repeated delivery) are refused', () => {
  const s = new SeqTracker();
  s.reset(5);
  assert.deepEqual([4, 5, 6, 6].map((n) => s.add(n)), [false, false, true, false]);
  assert.equal(s.contiguous, 6);
});

test('a hole holds contiguous back until it is filled; later ones are still new once', () => {
  const s = new SeqTracker();
  s.reset(2);
  assert.equal(s.add(4), true);
  assert.equal(s.add(5), true);
  assert.equal(s.add(4), false);
  assert.equal(s.contiguous, 2);
  assert.equal(s.hasHole, true);
  assert.equal(s.add(3), true);
  assert.equal(s.contiguous, 5);
  assert.equal(s.hasHole, false);
});

test('reset forgets what was ahead', () => {
  const s = new SeqTracker();
  s.add(3);
  s.reset(10);
  assert.equal(s.hasHole, false);
  assert.equal(s.add(11), true);
  assert.equal(s.contiguous, 11);
});
