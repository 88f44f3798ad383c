/**
 * The page's connection as #status shows it, and the reconnection settings
 * the page gives the library's ReconnectingWebSocket (lib/reconnect/web.js:
 * the backoff and the reconnecting are the library's, not the page's). No
 * DOM, no socket: unit-tested in Node.
 */

export type ConnectionState = 'connecting' | 'online' | 'reconnecting' | 'offline';

export interface RetryOptions {
  /** The library's initialDelay: the cap of the first wait, in ms. */
  initialDelay: number;
  /** The library's maxDelay: the largest cap, in ms. */
  maxDelay: number;
}

/** 1 s doubling to 15 s (the library's default cap is 30 s: here a person watches the status). */
export const RETRY_DEFAULTS: Readonly<RetryOptions> = { initialDelay: 1000, maxDelay: 15_000 };

/** The page's query string's test hooks, ?retryBase=MS&retryCap=MS, as the library's options (positive numbers; anything else: the default). */
export function retryOptions(search: string): RetryOptions {
  const params = new URLSearchParams(search);
  const number = (name: string, fallback: number): number => {
    const value = Number(params.get(name));
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  return { initialDelay: number('retryBase', RETRY_DEFAULTS.initialDelay), maxDelay: number('retryCap', RETRY_DEFAULTS.maxDelay) };
}

export interface ConnectionFacts {
  /** The ReconnectingWebSocket's readyState: 0 connecting or waiting to reconnect, 1 open, 2 closing, 3 closed for good. */
  readyState: number;
  /** An attempt is in flight (the ReconnectingWebSocket has a socket); false while it waits. */
  dialing: boolean;
  /** When the current wait ends, in ms (Date.now()'s clock). */
  retryAt: number;
  now: number;
  /** navigator.onLine: false when the browser knows it has no network. */
  networkUp: boolean;
  /** The page was online before: a new attempt is a reconnection. */
  wasOnline: boolean;
}

/** What #status says: data-state and text. */
export function connectionStatus(facts: ConnectionFacts): { state: ConnectionState; text: string } {
  if (facts.readyState === 1) return { state: 'online', text: 'Online' };
  // The library gave up (a close it must not retry, such as 1008): only a reload starts again.
  if (facts.readyState > 1) return { state: 'offline', text: 'Offline: reload to reconnect' };
  if (!facts.networkUp) return { state: 'offline', text: 'Offline: waiting for the network…' };
  if (facts.dialing) return facts.wasOnline ? { state: 'reconnecting', text: 'Reconnecting…' } : { state: 'connecting', text: 'Connecting…' };
  const seconds = Math.ceil((facts.retryAt - facts.now) / 1000);
  return { state: 'reconnecting', text: seconds > 0 ? `Reconnecting in ${seconds} s…` : 'Reconnecting…' };
}
