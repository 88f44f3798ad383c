/**
 * Reconnection delays: exponential backoff with full jitter (a delay drawn
 * uniformly from [0, min(maxDelay, initialDelay * factor^(attempt-1))]), so a
 * crowd of clients that lost one server does not come back in lockstep.
 * Pure: the random source is a parameter. Runs in browsers too (no imports).
 */

export interface BackoffOptions {
  /** The cap of the first attempt's delay, in ms (default 1000). */
  initialDelay?: number;
  /** Growth of the cap per attempt (default 2). */
  factor?: number;
  /** Largest cap, in ms (default 30000). */
  maxDelay?: number;
}

export const BACKOFF_DEFAULTS = { initialDelay: 1000, factor: 2, maxDelay: 30_000 } as const;

/** The cap for `attempt` (1 for the first reconnection). */
export function backoffCap(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialDelay ?? BACKOFF_DEFAULTS.initialDelay;
  const factor = options.factor ?? BACKOFF_DEFAULTS.factor;
  const max = options.maxDelay ?? BACKOFF_DEFAULTS.maxDelay;
  return Math.min(max, initial * factor ** Math.max(0, attempt - 1));
}

/** Full jitter: `random()` (in [0, 1)) times the cap, rounded down to a whole ms. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCap(attempt, options));
}
