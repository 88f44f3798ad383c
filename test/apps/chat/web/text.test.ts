// Links in message text (http and https only) and day labels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dayLabel, sameDay, splitLinks } from '../../../../apps/chat/web/text.js';

test('http and https URLs become links; sentence punctuation stays outside', () => {
  assert.deepEqual(splitLinks('see https://example.com/a?b=1, then http://x.org.'), [
    { text: 'see ' },
    { text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
    { text: ', then ' },
    { text: 'http://x.org', href: 'http://x.org/' },
    { text: '.' },
  ]);
  // A parenthesis opened inside the URL keeps its closing one.
  assert.deepEqual(splitLinks('(https://en.wikipedia.org/wiki/A_(b))'), [
    { text: '(' },
    { text: 'https://en.wikipedia.org/wiki/A_(b)', href: 'https://en.wikipedia.org/wiki/A_(b)' },
    { text: ')' },
  ]);
});

test('no other scheme, nothing that is not a URL', () => {
  for (const text of ['javascript:alert(1)', 'data:text/html,<script>', 'ftp://x.org', 'mailto:a@b.c', 'https://', 'plain text']) {
    assert.deepEqual(splitLinks(text), [{ text }], text);
  }
  assert.deepEqual(splitLinks(''), []);
  // Quotes and angle brackets end a URL: no attribute can be smuggled in.
  assert.deepEqual(splitLinks('<a href="https://e.com/x">'), [{ text: '<a href="' }, { text: 'https://e.com/x', href: 'https://e.com/x' }, { text: '">' }]);
});

test('day labels: Today, Yesterday, then the date', () => {
  const now = new Date(2024, 4, 10, 9, 0).getTime();
  assert.equal(dayLabel(new Date(2024, 4, 10, 0, 1).getTime(), now), 'Today');
  assert.equal(dayLabel(new Date(2024, 4, 9, 23, 59).getTime(), now), 'Yesterday');
  assert.equal(dayLabel(new Date(2024, 4, 8, 12, 0).getTime(), now, 'en-US'), 'Wednesday, May 8, 2024');
  assert.equal(sameDay(new Date(2024, 4, 9, 0, 0).getTime(), new Date(2024, 4, 9, 23, 59).getTime()), true);
  assert.equal(sameDay(new Date(2024, 4, 9, 23, 59).getTime(), new Date(2024, 4, 10, 0, 0).getTime()), false);
});
