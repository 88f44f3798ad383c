// The chat page's layout and team-chat features in headless Chromium: layout
// facts at phone (390x780) and desktop (1280x800) sizes with screenshots in
// test-artifacts/, the room drawer by mouse and keyboard, join/leave notices,
// Shift+Enter, links, grouping, unread counts, the "new messages" jump,
// leaving a room, rooms listed when empty, and day separators.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { chromiumPath, skipReason } from '../../support/system.js';
import { ChatClient, ROOT, startChat, startChatProcess, tempDataDir } from './helpers.js';
import { browser, messages, openChat, say, texts } from './page-helpers.js';

const chrome = chromiumPath();
const OPTIONS = { skip: skipReason(chrome), timeout: 120_000 };
const PHONE = { width: 390, height: 780 };
const DESKTOP = { width: 1280, height: 800 };
const ARTIFACTS = `${ROOT}test-artifacts`;
const FAST = { rateLimit: { perSecond: 1000, burst: 1000 } };

// Runs in the page (no DOM types here): what a reader of the layout would check.
const layoutFacts = (): string => {
  const d = (globalThis as any).document;
  const w = globalThis as any;
  const box = (id: string) => d.getElementById(id).getBoundingClientRect();
  const inView = (r: any) => r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= w.innerHeight && r.right <= w.innerWidth;
  const list = d.getElementById('messages');
  return JSON.stringify({
    pageOverflowsX: d.documentElement.scrollWidth > d.documentElement.clientWidth,
    pageScrolls: d.documentElement.scrollHeight > d.documentElement.clientHeight,
    composerInView: inView(box('composer')),
    sendInView: inView(box('send')),
    listOverflowsX: list.scrollWidth > list.clientWidth,
    listScrolls: list.scrollHeight > list.clientHeight,
    // Shown times (grouped messages hide theirs) fit on one line: no "10:48 / AM".
    timesOnOneLine: Array.from(d.querySelectorAll('#messages time'), (t: any) => t.offsetParent === null || t.getClientRects().length === 1).every(Boolean),
    // Within a message, no word is wider than its line: nothing is cut.
    textsFit: Array.from(d.querySelectorAll('#messages .text'), (e: any) => e.scrollWidth <= e.clientWidth).every(Boolean),
  });
};

const roomsInView = (): boolean => {
  const d = (globalThis as any).document;
  const w = globalThis as any;
  const buttons = Array.from(d.querySelectorAll('#rooms button'), (b: any) => b.getBoundingClientRect());
  const style = w.getComputedStyle(d.getElementById('sidebar'));
  return style.visibility === 'visible' && buttons.length > 0 && buttons.every((r: any) => r.top >= 0 && r.left >= 0 && r.bottom <= w.innerHeight && r.right <= w.innerWidth);
};

async function facts(page: Page): Promise<Record<string, boolean>> {
  return JSON.parse(await page.evaluate(layoutFacts)) as Record<string, boolean>;
}

const GOOD_LAYOUT = { pageOverflowsX: false, pageScrolls: false, composerInView: true, sendInView: true, listOverflowsX: false, listScrolls: true, timesOnOneLine: true, textsFit: true };

/** A room with enough traffic to scroll, long words, a long link and several lines; two other rooms. */
async function busyServer(t: Parameters<typeof startChat>[0]) {
  const chat = await startChat(t, FAST);
  const ann = await ChatClient.connect(t, chat.wsUrl);
  await ann.join('design', 'ann');
  ann.send({ v: 1, type: 'message', text: 'design notes' });
  await ann.join('random', 'ann');
  ann.send({ v: 1, type: 'message', text: 'anything goes' });
  await ann.join('general', 'ann');
  const cy = await ChatClient.connect(t, chat.wsUrl);
  await cy.join('general', 'cy');
  const lines = [
    'Good morning! The build is green again.',
    'Supercalifragilisticexpialidocious-antidisestablishmentarianism-pneumonoultramicroscopicsilicovolcanoconiosis',
    'Release notes: https://example.com/releases/2024/very/long/path/that/does/not/fit/on/a/phone/screen?with=query&and=more',
    'line one\nline two\nline three',
  ];
  // In runs of three per author, each waited for, so the order is known.
  for (let i = 0; i < 24; i++) {
    const from = Math.floor(i / 3) % 2 === 0 ? ann : cy;
    from.send({ v: 1, type: 'message', text: `${i + 1}. ${lines[i % lines.length]}` });
    await from.nextOf('message', (m) => m['text'].startsWith(`${i + 1}.`));
  }
  return chat;
}

describe('chat page layout and features in Chromium', () => {
  test('phone (390x780): composer in view, no horizontal scroll, rooms in a drawer (mouse and keyboard)', OPTIONS, async (t) => {
    const chat = await busyServer(t);
    const b = await browser(t);
    const { page, problems } = await openChat(b, chat.url, 'general', 'bob', { viewport: PHONE });
    await page.locator('#messages li.message').nth(23).waitFor();
    assert.deepEqual(await facts(page), GOOD_LAYOUT);
    // The drawer is closed: its rooms are not reachable by pointer or Tab until opened.
    assert.equal(await page.locator('#rooms-toggle').isVisible(), true);
    assert.equal(await page.evaluate(roomsInView), false);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/chat-phone.png` });

    await page.locator('#rooms-toggle').click();
    assert.equal(await page.locator('#rooms-toggle').getAttribute('aria-expanded'), 'true');
    await page.waitForFunction(roomsInView);
    await texts(page, '#rooms .room .name', ['design', 'general', 'random']);
    await page.screenshot({ path: `${ARTIFACTS}/chat-phone-rooms.png` });
    await page.locator('#rooms .room[data-room="design"]').click();
    await texts(page, '#room-title', ['design']);
    await messages(page, [['ann', 'design notes']]);
    assert.equal(await page.locator('#rooms-toggle').getAttribute('aria-expanded'), 'false');
    assert.deepEqual((await facts(page)).composerInView, true);

    // Keyboard: the toggle opens the drawer and focuses a room; Enter joins it; Escape closes.
    await page.locator('#rooms-toggle').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(roomsInView);
    assert.equal(await page.evaluate(() => (globalThis as any).document.activeElement?.dataset?.room), 'design');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // the next room: general
    await texts(page, '#room-title', ['general']);
    await page.locator('#rooms-toggle').press('Enter');
    await page.waitForFunction(roomsInView);
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#rooms-toggle').getAttribute('aria-expanded'), 'false');
    assert.equal(await page.evaluate(() => (globalThis as any).document.activeElement?.id), 'rooms-toggle');
    // The composer is reachable and sends from the keyboard.
    await page.locator('#text').focus();
    await page.keyboard.type('from the phone');
    await page.keyboard.press('Enter');
    await page.locator('#messages li.message:not(.pending) .text', { hasText: 'from the phone' }).waitFor();
    assert.deepEqual(await facts(page), GOOD_LAYOUT);
    assert.deepEqual(problems, []);
  });

  test('desktop (1280x800) and phone in dark mode: the same layout facts', OPTIONS, async (t) => {
    const chat = await busyServer(t);
    const b = await browser(t);
    const desktop = await openChat(b, chat.url, 'general', 'bob', { viewport: DESKTOP });
    await desktop.page.locator('#messages li.message').nth(23).waitFor();
    assert.deepEqual(await facts(desktop.page), GOOD_LAYOUT);
    assert.equal(await desktop.page.locator('#rooms-toggle').isVisible(), false);
    assert.equal(await desktop.page.evaluate(roomsInView), true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await desktop.page.screenshot({ path: `${ARTIFACTS}/chat-desktop.png` });
    const dark = await openChat(b, chat.url, 'general', 'cy', { viewport: { width: 360, height: 640 }, colorScheme: 'dark' });
    await dark.page.locator('#messages li.message').nth(23).waitFor();
    assert.deepEqual(await facts(dark.page), GOOD_LAYOUT);
    await dark.page.screenshot({ path: `${ARTIFACTS}/chat-phone-dark.png` });
    assert.deepEqual([...desktop.problems, ...dark.problems], []);
  });

  test('join and leave notices, Shift+Enter, links, grouping, unread counts, the jump button, leaving a room', OPTIONS, async (t) => {
    const chat = await startChat(t, FAST);
    const b = await browser(t);
    const ann = await openChat(b, chat.url, 'lobby', 'ann', { viewport: DESKTOP });
    const bob = await openChat(b, chat.url, 'lobby', 'bob', { viewport: DESKTOP });
    await texts(ann.page, '#messages li.notice.presence', ['bob joined']);

    // Shift+Enter: a new line; Enter: send.
    await ann.page.locator('#text').focus();
    await ann.page.keyboard.type('line 1');
    await ann.page.keyboard.press('Shift+Enter');
    await ann.page.keyboard.type('line 2');
    await ann.page.keyboard.press('Enter');
    await messages(bob.page, [['ann', 'line 1\nline 2']]);

    // Links: http(s) only, opened safely; the rest stays text.
    const linkText = 'see https://example.com/wiki/A_(b), javascript:alert(1) and <a href="http://evil">x</a>.';
    await say(ann.page, linkText);
    await messages(bob.page, [['ann', 'line 1\nline 2'], ['ann', linkText]]);
    const links = await bob.page.locator('#messages li.message').last().locator('a').evaluateAll((as) =>
      as.map((a) => [a.getAttribute('href'), a.textContent, a.getAttribute('rel'), a.getAttribute('target')]),
    );
    assert.deepEqual(links, [
      ['https://example.com/wiki/A_(b)', 'https://example.com/wiki/A_(b)', 'noopener noreferrer nofollow', '_blank'],
      ['http://evil/', 'http://evil', 'noopener noreferrer nofollow', '_blank'],
    ]);
    // Grouping: Ann's second message continues her first; Bob's starts a new group.
    await say(bob.page, 'got it');
    await messages(ann.page, [['ann', 'line 1\nline 2'], ['ann', linkText], ['bob', 'got it']]);
    assert.deepEqual(await ann.page.locator('#messages li.message').evaluateAll((lis) => lis.map((li) => li.classList.contains('continued'))), [false, true, false]);

    // Unread counts: Bob moves to another room (and says something there, so it stays listed).
    await bob.page.locator('#room-input').fill('side');
    await bob.page.locator('#join-form button').click();
    await texts(bob.page, '#room-title', ['side']);
    await texts(ann.page, '#messages li.notice.presence', ['bob joined', 'bob left']);
    await say(bob.page, 'alone here');
    await say(ann.page, 'are you there?');
    await say(ann.page, 'bob?');
    await texts(bob.page, '#rooms .room[data-room="lobby"] .unread', ['2']);
    await texts(bob.page, '#unread-total', ['2']);
    await bob.page.locator('#rooms .room[data-room="lobby"]').click();
    await texts(bob.page, '#room-title', ['lobby']);
    await texts(bob.page, '#rooms .unread', []);
    await messages(bob.page, [['ann', 'line 1\nline 2'], ['ann', linkText], ['bob', 'got it'], ['ann', 'are you there?'], ['ann', 'bob?']]);

    // The jump button: Bob scrolls up; a new message does not pull him down but offers to.
    const sender = await ChatClient.connect(t, chat.wsUrl);
    await sender.join('lobby', 'cy');
    for (let i = 1; i <= 30; i++) sender.send({ v: 1, type: 'message', text: `filler ${i}` });
    await bob.page.locator('#messages li.message .text', { hasText: 'filler 30' }).waitFor();
    await bob.page.locator('#messages').evaluate((list) => (list.scrollTop = 0));
    await bob.page.locator('#jump').waitFor({ state: 'hidden' });
    sender.send({ v: 1, type: 'message', text: 'news' });
    await bob.page.locator('#jump').waitFor({ state: 'visible' });
    assert.equal(await bob.page.locator('#messages').evaluate((list) => list.scrollTop), 0);
    await bob.page.locator('#jump').click();
    await bob.page.locator('#jump').waitFor({ state: 'hidden' });
    assert.equal(await bob.page.locator('#messages').evaluate((list) => list.scrollHeight - list.scrollTop - list.clientHeight < 40), true);

    // Leaving: Bob is out of the room; the empty room 'side' is still listed.
    await bob.page.locator('#leave').click();
    await texts(bob.page, '#room-title', ['No room']);
    await texts(bob.page, '#messages li.notice.left', ['You left lobby. Pick a room in the list or join one by name.']);
    assert.equal(await bob.page.locator('#text').isDisabled(), true);
    await texts(ann.page, '#members li', ['ann', 'cy']);
    await texts(bob.page, '#rooms .room', ['lobby 2', 'side']);
    for (const p of [ann, bob]) assert.deepEqual(p.problems, []);
  });

  test('day separators from the stored history, in the reader\'s time zone', OPTIONS, async (t) => {
    const dir = tempDataDir(t);
    const at = (iso: string, seq: number, text: string) =>
      JSON.stringify({ m: { v: 1, type: 'message', id: `old-${seq}`, room: 'past', seq, from: { id: 'x.1', nick: 'ann' }, text, ts: Date.parse(iso) } });
    writeFileSync(
      join(dir, 'chat.log'),
      [at('2024-01-01T09:00:00Z', 1, 'happy new year'), at('2024-01-01T09:01:00Z', 2, 'same day'), at('2024-01-02T23:30:00Z', 3, 'late')].join('\n') + '\n',
    );
    const server = await startChatProcess(t, ['--port', '0', '--data-dir', dir]);
    const b = await browser(t);
    const utc = await openChat(b, server.url, 'past', 'bob', { viewport: DESKTOP, locale: 'en-US', timezoneId: 'UTC' });
    await say(utc.page, 'now');
    await texts(utc.page, '#messages li.day', ['Monday, January 1, 2024', 'Tuesday, January 2, 2024', 'Today']);
    // 23:30 UTC is already January 3 in Tokyo.
    const tokyo = await openChat(b, server.url, 'past', 'cy', { viewport: DESKTOP, locale: 'en-US', timezoneId: 'Asia/Tokyo' });
    await texts(tokyo.page, '#messages li.day', ['Monday, January 1, 2024', 'Wednesday, January 3, 2024', 'Today']);
    assert.deepEqual(await utc.page.locator('#messages li.message').evaluateAll((lis) => lis.map((li) => li.classList.contains('continued'))), [false, true, false, false]);
  });
});
