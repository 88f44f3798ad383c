/**
 * Reconnection delays: exponential backoff, capped, with "equal jitter"
 * (a random delay between half and all of the exponential step), so that
 * the clients a restarted server dropped do not all come back at once, and
 * no client retries sooner than half the step. No DOM: unit-tested in Node.
 */

export interface BackoffOptions {
  /** First step, in ms. */
  baseMs: number;
  /** Largest delay, in ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 15_000 };

/** The delay before reconnection attempt `attempt` (0 for the first retry). `random` returns [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const step = Math.min(options.capMs, options.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(step / 2 + (random() * step) / 2);
}
