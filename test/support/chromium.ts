// Headless Debian chromium driven by playwright-core (no browser download:
// we always pass executablePath). Playwright manages its own temporary
// user-data-dir for launch() and removes it on browser.close().
//
//   const chrome = chromiumPath();
//   test('browser', { skip: skipReason(chrome), timeout: 120_000 }, async () => {
//     const browser = await launchChromium();
//     try { ... } finally { await browser.close(); }
//   });

import { chromium, type Browser, type LaunchOptions } from 'playwright-core';
import { chromiumPath, requireDependency } from './system.js';

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchChromiumOptions {
  /** Extra command-line switches, appended to CHROMIUM_ARGS. */
  args?: string[];
  /** Launch timeout in ms (default 60 000): a safety net, not an assertion. */
  timeout?: number;
  /** Any other playwright launch options (merged last, except executablePath). */
  launch?: Omit<LaunchOptions, 'executablePath' | 'args' | 'timeout' | 'headless'>;
}

/** Launches headless chromium. The caller must `await browser.close()`. */
export async function launchChromium(opts: LaunchChromiumOptions = {}): Promise<Browser> {
  const executablePath = requireDependency(chromiumPath()).path;
  return chromium.launch({
    ...opts.launch,
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.args ?? [])],
    timeout: opts.timeout ?? 60_000,
  });
}

/** Launches chromium, runs `fn`, and always closes the browser. */
export async function withChromium<T>(fn: (browser: Browser) => Promise<T>, opts: LaunchChromiumOptions = {}): Promise<T> {
  const browser = await launchChromium(opts);
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}
