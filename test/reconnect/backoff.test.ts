import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffCap, backoffDelay } from '../../src/reconnect/backoff.js';

test('caps grow by factor from initialDelay up to maxDelay', () => {
  const o = { initialDelay: 100, factor: 3, maxDelay: 2000 };
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffCap(a, o)), [100, 300, 900, 2000, 2000]);
  assert.deepEqual([1, 2, 6, 7].map((a) => backoffCap(a)), [1000, 2000, 30_000, 30_000]);
});

test('full jitter: random() scales the whole cap (0 and just under the cap at the ends)', () => {
  const o = { initialDelay: 100, factor: 2, maxDelay: 10_000 };
  assert.equal(backoffDelay(3, o, () => 0), 0);
  assert.equal(backoffDelay(3, o, () => 0.5), 200);
  assert.equal(backoffDelay(3, o, () => 0.999999), 399);
});
