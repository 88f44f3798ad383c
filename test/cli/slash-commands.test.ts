import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLine } from '../../src/cli/slash-commands.js';

test('plain lines are text; // escapes a leading slash', () => {
  assert.deepEqual(parseLine('hello'), { kind: 'text', text: 'hello' });
  assert.deepEqual(parseLine('//etc/passwd'), { kind: 'text', text: '/etc/passwd' });
  assert.deepEqual(parseLine(''), { kind: 'text', text: '' });
});

test('/ping and /pong with and without data; over 125 bytes is refused', () => {
  assert.deepEqual(parseLine('/ping'), { kind: 'ping', data: '' });
  assert.deepEqual(parseLine('/ping hello there'), { kind: 'ping', data: 'hello there' });
  assert.deepEqual(parseLine('/pong x'), { kind: 'pong', data: 'x' });
  assert.equal(parseLine(`/ping ${'a'.repeat(126)}`).kind, 'invalid');
});

test('/close [code [reason]]', () => {
  assert.deepEqual(parseLine('/close'), { kind: 'close', code: undefined, reason: '' });
  assert.deepEqual(parseLine('/close 1000'), { kind: 'close', code: 1000, reason: '' });
  assert.deepEqual(parseLine('/close 4001 see you later'), { kind: 'close', code: 4001, reason: 'see you later' });
  assert.deepEqual(parseLine('/close 1006'), { kind: 'invalid', message: '/close expects a code of 1000 or 3000-4999, got 1006' });
  assert.equal(parseLine('/close soon').kind, 'invalid');
});

test('/binary HEX: pairs of hex digits, spaces allowed', () => {
  const c = parseLine('/binary 00 ff 1A');
  assert.equal(c.kind, 'binary');
  if (c.kind === 'binary') assert.equal(c.bytes.toString('hex'), '00ff1a');
  assert.equal(parseLine('/binary 0').kind, 'invalid');
  assert.equal(parseLine('/binary zz').kind, 'invalid');
});

test('an unknown command names the known ones', () => {
  const c = parseLine('/quit');
  assert.equal(c.kind, 'invalid');
  if (c.kind === 'invalid') assert.match(c.message, /^unknown command '\/quit' \(\/ping \[data\], /);
});
