import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumPath, skipReason } from '../support/system.js';
import { launchChromium, withChromium } from '../support/chromium.js';

const chrome = chromiumPath();

test('chromium launches headless, loads about:blank and evaluates 1+1', { skip: skipReason(chrome), timeout: 120_000 }, async () => {
  const browser = await launchChromium();
  try {
    assert.ok(browser.isConnected());
    assert.match(browser.version(), /^\d+\./);
    const page = await browser.newPage();
    await page.goto('about:blank');
    assert.equal(await page.evaluate('1+1'), 2);
    assert.equal(await page.evaluate(() => typeof WebSocket), 'function');
    await page.close();
  } finally {
    await browser.close();
  }
  assert.equal(browser.isConnected(), false);
});

test('withChromium closes the browser even when the callback throws', { skip: skipReason(chrome), timeout: 120_000 }, async () => {
  let seen: import('playwright-core').Browser | undefined;
  await assert.rejects(
    withChromium(async (browser) => {
      seen = browser;
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(seen?.isConnected(), false);
});
