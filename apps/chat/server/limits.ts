/**
 * Per-connection limits: a token bucket for the message rate and a sliding
 * window counter for errors (abuse). Both take the clock as a parameter so
 * tests can drive them without waiting.
 */

export interface RateLimitOptions {
  /** Tokens added per second (sustained messages per second). */
  perSecond: number;
  /** Bucket size (messages accepted in a burst). */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 10, burst: 20 };

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly options: RateLimitOptions,
    now: number,
  ) {
    if (!(options.perSecond >= 0) || !(options.burst >= 1)) throw new RangeError('rate limit: perSecond >= 0 and burst >= 1');
    this.tokens = options.burst;
    this.last = now;
  }

  /** Take one token; false when the bucket is empty (the message must be refused). */
  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.options.burst, this.tokens + (elapsed * this.options.perSecond) / 1000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface AbuseOptions {
  /** Errors tolerated within the window; reaching it closes the connection with 1008. */
  limit: number;
  windowMs: number;
}

export const DEFAULT_ABUSE: AbuseOptions = { limit: 5, windowMs: 10_000 };

/** Counts events in a sliding window; `record` says when the limit is reached. */
export class WindowCounter {
  private readonly times: number[] = [];

  constructor(private readonly options: AbuseOptions) {
    if (!(options.limit >= 1) || !(options.windowMs > 0)) throw new RangeError('abuse: limit >= 1 and windowMs > 0');
  }

  /** Record one event at `now`; true when `limit` events fall within the window. */
  record(now: number): boolean {
    const since = now - this.options.windowMs;
    while (this.times.length > 0 && this.times[0]! <= since) this.times.shift();
    this.times.push(now);
    return this.times.length >= this.options.limit;
  }
}
