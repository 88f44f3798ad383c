// The payload generators the conformance cases echo: a broken generator would
// make every case that uses it vacuous.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { pseudoRandomBytes, sha256, utf8Text } from '../conformance/server-harness.js';

const MiB = 1024 * 1024;

test('utf8Text is valid UTF-8 of the exact length, mostly multi-byte sequences', () => {
  const text = utf8Text(64);
  assert.equal(text.length, 64);
  assert.ok(isUtf8(text) && isUtf8(utf8Text(16 * MiB)));
  assert.ok(text.toString('utf8').length < 40, 'mostly multi-byte');
});

test('pseudoRandomBytes differ per seed', () => {
  assert.notEqual(sha256(pseudoRandomBytes(64, 1)), sha256(pseudoRandomBytes(64, 2)));
});
