// Helpers for the chat page tests in headless Chromium (playwright-core):
// a browser closed after the test, a page per browser context (own
// localStorage), and readers that wait for a DOM condition, never a duration.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { launchChromium } from '../../support/chromium.js';

export async function browser(t: TestContext): Promise<Browser> {
  const b = await launchChromium();
  t.after(() => b.close());
  return b;
}

/** The page's test hooks: the library's initialDelay 100 ms and maxDelay 1 s. */
export const FAST_RETRY = 'retryBase=100&retryCap=1000';
/** Waits of up to 10 minutes: a page that reconnects within a test did not wait for its backoff. */
export const SLOW_RETRY = 'retryBase=600000&retryCap=600000';

export interface ChatPage {
  page: Page;
  /** Uncaught errors, console errors and dialogs (alert()...) seen by the page. */
  problems: string[];
}

/**
 * Opens the chat in its own browser context (own localStorage). With `nick`,
 * the page starts with that nickname (stored as the page stores it); the room
 * comes from the URL fragment. Short waits between attempts (FAST_RETRY)
 * keep reconnections quick; `retry` replaces them.
 */
export async function openChat(b: Browser, url: string, room: string, nick?: string, options: BrowserContextOptions = {}, retry = FAST_RETRY): Promise<ChatPage> {
  const context = await b.newContext(options);
  if (nick !== undefined) await context.addInitScript(`localStorage.setItem('hyperws-chat:nick', ${JSON.stringify(nick)})`);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(`${url}?${retry}#${encodeURIComponent(room)}`);
  await status(page, 'online');
  return { page, problems };
}

export const status = (page: Page, state: 'connecting' | 'online' | 'reconnecting' | 'offline') => page.locator(`#status[data-state="${state}"]`).waitFor();

// Page-side readers. They run in the page (this file is compiled without the
// DOM library, hence `any`), self-contained; functions, not strings, which
// the page's CSP would refuse to evaluate.
export const readTexts = (selector: string): string => {
  const d = (globalThis as any).document;
  return JSON.stringify(Array.from(d.querySelectorAll(selector), (e: any) => e.textContent));
};
export const textsAre = ({ selector, want }: { selector: string; want: string }): boolean => {
  const d = (globalThis as any).document;
  return JSON.stringify(Array.from(d.querySelectorAll(selector), (e: any) => e.textContent)) === want;
};
export const readMessages = (): string => {
  const d = (globalThis as any).document;
  return JSON.stringify(Array.from(d.querySelectorAll('#messages li.message'), (li: any) => [li.querySelector('.nick')?.textContent ?? '', li.querySelector('.text')?.textContent ?? '']));
};
export const messagesAre = ({ want }: { want: string }): boolean => {
  const d = (globalThis as any).document;
  return JSON.stringify(Array.from(d.querySelectorAll('#messages li.message'), (li: any) => [li.querySelector('.nick')?.textContent ?? '', li.querySelector('.text')?.textContent ?? ''])) === want;
};

/** The texts of `selector`'s matches, once they equal `expected` (else an assertion with the actual list). */
export async function texts(page: Page, selector: string, expected: string[]): Promise<void> {
  try {
    await page.waitForFunction(textsAre, { selector, want: JSON.stringify(expected) }, { timeout: 30_000 });
  } catch {
    assert.deepEqual(JSON.parse(await page.evaluate(readTexts, selector)), expected, selector);
  }
}

/** The message list as [nick, text] pairs, once it equals `expected`. */
export async function messages(page: Page, expected: [string, string][]): Promise<void> {
  try {
    await page.waitForFunction(messagesAre, { want: JSON.stringify(expected) }, { timeout: 30_000 });
  } catch {
    assert.deepEqual(JSON.parse(await page.evaluate(readMessages)), expected, '#messages');
  }
}

export async function say(page: Page, text: string): Promise<void> {
  await page.locator('#text:enabled').fill(text);
  await page.locator('#text').press('Enter');
}
