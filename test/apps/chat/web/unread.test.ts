// Read marks and unread counts, with an in-memory storage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { READ_KEY, ReadMarks } from '../../../../apps/chat/web/unread.js';

const memory = (initial: Record<string, string> = {}) => {
  const data = new Map(Object.entries(initial));
  return { data, getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
};

test('counts for visited rooms only, from the read mark to the latest sequence', () => {
  const storage = memory();
  const marks = new ReadMarks(storage);
  assert.equal(marks.unread('never', 10), 0);
  marks.read('r', 4);
  assert.equal(marks.unread('r', 9), 5);
  assert.equal(marks.unread('r', 3), 0);
  // Kept across a reload.
  assert.equal(new ReadMarks(storage).unread('r', 9), 5);
  marks.forget('r');
  assert.equal(new ReadMarks(storage).unread('r', 9), 0);
  assert.equal(storage.data.get(READ_KEY), '{}');
});

test('unreadable or absent storage: no marks, no errors', () => {
  assert.equal(new ReadMarks(memory({ [READ_KEY]: '{nope' })).unread('r', 5), 0);
  assert.equal(new ReadMarks(memory({ [READ_KEY]: '{"r":-1,"s":"2","t":3}' })).unread('t', 5), 2);
  const none = new ReadMarks(null);
  none.read('r', 1);
  assert.equal(none.unread('r', 2), 1);
});
