// The browser console page (src/cli/static/console.html) served by
// `hyperws serve`, driven in headless Chromium: connect, send text and
// binary, see the echoes and the close codes in the log.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumPath, skipReason } from '../support/system.js';
import { withChromium } from '../support/chromium.js';
import { startServe } from './helpers.js';

const chrome = chromiumPath();

/**
 * Runs in the page: the log as text lines, direction marker and body,
 * without the timestamps. (The tests compile without DOM types, hence
 * globalThis; and a function, not a string: the page's CSP forbids eval.)
 */
function pageLogLines(): string[] {
  const doc = (globalThis as any).document;
  return [...doc.querySelectorAll('#log .entry')].map((e: any) => e.querySelector('.dir').textContent + e.querySelector('.body').textContent);
}

function logLines(page: Page): Promise<string[]> {
  return page.evaluate(pageLogLines);
}

async function waitForLog(page: Page, line: string): Promise<void> {
  // Self-contained: the predicate is shipped to the page on its own.
  await page.waitForFunction((wanted) => {
    const doc = (globalThis as any).document;
    return [...doc.querySelectorAll('#log .entry')].some((e: any) => e.querySelector('.dir').textContent + e.querySelector('.body').textContent === wanted);
  }, line);
}

describe('console page', () => {
  it('connects to its own server, echoes text and binary, shows close codes', { skip: skipReason(chrome), timeout: 120_000 }, async () => {
    const serve = await startServe();
    try {
      await withChromium(async (browser) => {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        page.on('console', (msg) => {
          if (msg.type() === 'error') errors.push(msg.text());
        });
        await page.goto(`http://127.0.0.1:${serve.port}/`);
        const url = `ws://127.0.0.1:${serve.port}/`;
        assert.equal(await page.inputValue('#url'), url);
        assert.equal(await page.textContent('#state'), 'closed');
        assert.equal(await page.isDisabled('#send'), true);

        await page.click('#connect');
        await waitForLog(page, '* connected');
        assert.equal(await page.textContent('#state'), 'open');
        await page.fill('#message', 'hello');
        await page.press('#message', 'Enter');
        await waitForLog(page, '< hello');
        await page.check('#binary');
        await page.fill('#message', 'AB');
        await page.click('#send');
        await waitForLog(page, '< [binary 2 bytes] 41 42');
        await page.click('#disconnect');
        await waitForLog(page, '* closed: 1000 Closed from the console');
        assert.equal(await page.textContent('#state'), 'closed');

        // Connected again, then the server shuts down (SIGINT: 1001; SIGTERM would be 1012, a restart).
        await page.click('#connect');
        await waitForLog(page, '* connected');
        await serve.stderr.waitFor((line) => line.includes('connection #2 from'));
        assert.equal(await serve.stop('SIGINT'), 0);
        await waitForLog(page, '* closed: 1001 Server shutting down');

        assert.deepEqual(await logLines(page), [
          `* connecting to ${url}`,
          '* connected',
          '> hello',
          '< hello',
          '> [binary 2 bytes] 41 42',
          '< [binary 2 bytes] 41 42',
          '* closed: 1000 Closed from the console',
          `* connecting to ${url}`,
          '* connected',
          '* closed: 1001 Server shutting down',
        ]);
        assert.deepEqual(errors, []);
      });
      assert.ok(serve.stderr.lines.includes('hyperws serve: connection #1 closed: 1000 Closed from the console (0 connected)'), serve.stderr.text);
    } finally {
      await serve.kill();
    }
  });
});
