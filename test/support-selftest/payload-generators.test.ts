// The payload generators the tests echo (support/bytes.ts, the conformance
// harness's utf8Text): a broken generator would make every case that uses it
// vacuous.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { hex, pseudoRandomBytes, sha256 } from '../support/bytes.js';
import { utf8Text } from '../conformance/server-harness.js';

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

test('pseudoRandomBytes: the exact length, the same bytes for the same seed', () => {
  for (let n = 0; n < 10; n++) assert.equal(pseudoRandomBytes(n, 5).length, n);
  assert.ok(pseudoRandomBytes(1000, 5).equals(pseudoRandomBytes(1000, 5)));
  assert.ok(pseudoRandomBytes(1000).equals(pseudoRandomBytes(1000, 0x9e3779b9)), 'the default seed');
});

test('hex ignores whitespace; sha256 takes bytes or a string', () => {
  assert.deepEqual(hex('f2 48\ncd'), Buffer.from([0xf2, 0x48, 0xcd]));
  assert.equal(sha256('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(sha256(Buffer.from('abc')), sha256('abc'));
});
