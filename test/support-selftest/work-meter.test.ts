// The work meter sees the patterns it exists to catch (a linear search in a
// loop, a regex on long input, character-by-character scanning) and leaves
// the builtins as it found them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureWork } from '../support/work-meter.js';

const items = Array.from({ length: 1000 }, (_, i) => `p${i}`);

test('work meter: a duplicate search with indexOf in a loop counts n * n', () => {
  const { result, work } = measureWork(() => items.find((p, i) => items.indexOf(p) !== i));
  assert.equal(result, undefined);
  assert.ok(work.scanned >= items.length * items.length, `scanned ${work.scanned}`);
});

test('work meter: the same search through a Set counts nothing quadratic', () => {
  const { result, work } = measureWork(() => {
    const seen = new Set<string>();
    for (const p of items) {
      if (seen.has(p)) return p;
      seen.add(p);
    }
    return undefined;
  });
  assert.equal(result, undefined);
  assert.equal(work.scanned, 0);
});

test('work meter: counts charCodeAt reads, and regex runs with their input length', () => {
  const s = 'a'.repeat(300);
  const { work } = measureWork(() => {
    let sum = 0;
    for (let i = 0; i < s.length; i++) sum += s.charCodeAt(i);
    return [sum, /^a+$/.test(s), s.replace(/a/g, 'b'), s.split(/,/)];
  });
  assert.equal(work.charReads, 300);
  assert.ok(work.regexInputs.length >= 3, `regex runs ${work.regexInputs.length}`);
  assert.ok(work.regexInputs.every((n) => n === 300));
});

test('work meter: builtins are restored, also when the measured call throws', () => {
  const before = [Array.prototype.indexOf, String.prototype.charCodeAt, RegExp.prototype.exec, RegExp.prototype[Symbol.replace]];
  assert.throws(() => measureWork(() => {
    throw new Error('boom');
  }), /boom/);
  measureWork(() => 'x'.charCodeAt(0));
  assert.deepEqual([Array.prototype.indexOf, String.prototype.charCodeAt, RegExp.prototype.exec, RegExp.prototype[Symbol.replace]], before);
  assert.equal(Object.getOwnPropertyDescriptor(String.prototype, 'charCodeAt')!.enumerable, false);
});
