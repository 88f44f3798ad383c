import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomMaskKey } from '../../src/protocol/mask-key.js';

describe('randomMaskKey', () => {
  it('returns 4-byte keys', () => {
    for (let i = 0; i < 10; i++) assert.equal(randomMaskKey().length, 4);
  });

  it('returns different keys (across pool refills too)', () => {
    const seen = new Set<string>();
    // 5000 keys = 20,000 bytes: crosses the 8 KiB pool boundary twice.
    for (let i = 0; i < 5000; i++) seen.add(Buffer.from(randomMaskKey()).toString('hex'));
    // 5000 draws from 2^32: a collision is possible but more than a handful means no randomness.
    assert.ok(seen.size > 4990, `only ${seen.size} distinct keys`);
  });

  it('keys are not all-zero (the pool is actually filled)', () => {
    let zero = 0;
    for (let i = 0; i < 1000; i++) if (Buffer.from(randomMaskKey()).readUInt32BE(0) === 0) zero++;
    assert.ok(zero < 2);
  });
});
