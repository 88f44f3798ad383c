/**
 * A process-wide limit on concurrent zlib operations, as ws does: an
 * unbounded number of simultaneous (de)compressions fragments zlib's memory
 * badly. Jobs run in FIFO order as slots free up.
 *
 * Owns: the slot count and the waiting jobs, nothing of what a job does.
 * Releasing is the job's duty, even on error; the limiter catches nothing
 * it does not rethrow.
 */
export type Job = (release: () => void) => void;

export class ZlibLimiter {
  private running = 0;
  private readonly queue: Job[] = [];
  /** A release() further up the stack is starting waiting jobs in its loop. */
  private starting = false;

  /** `limit`: an integer >= 1, or Infinity (no limit: jobs never wait). */
  constructor(readonly limit: number) {
    if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 1))) {
      throw new RangeError(`A zlib concurrency limit must be an integer >= 1 or Infinity (got ${String(limit)})`);
    }
  }

  run(job: Job): void {
    // A free slot with jobs still waiting only exists while release() is
    // starting them: this job goes behind them, so the order stays FIFO.
    if (this.running < this.limit && this.queue.length === 0) {
      this.running++;
      this.start(job);
    } else {
      this.queue.push(job);
    }
  }

  get active(): number {
    return this.running;
  }
  get waiting(): number {
    return this.queue.length;
  }

  /** Each job gets its own release, so releasing twice frees one slot only. */
  private start(job: Job): void {
    let released = false;
    job(() => {
      if (released) return;
      released = true;
      this.release();
    });
  }

  /**
   * Free a slot and start waiting jobs while slots are free, in a loop: jobs
   * that release at once (those of disposed transforms) would otherwise nest
   * one stack frame per job and overflow the stack. A release inside a job
   * started here only frees its slot; this loop hands it on. A job that
   * throws keeps its slot; the others still start, and the first error is
   * rethrown to the caller of the outer release().
   */
  private release(): void {
    this.running--;
    if (this.starting) return;
    this.starting = true;
    let failed = false;
    let failure: unknown;
    while (this.running < this.limit && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.running++;
      try {
        this.start(next);
      } catch (error) {
        if (!failed) [failed, failure] = [true, error];
      }
    }
    this.starting = false;
    if (failed) throw failure;
  }
}

/**
 * ws's reading of perMessageDeflate.concurrencyLimit: an integer >= 1, or 0
 * or Infinity for no limit (ws's limiter takes `limit || Infinity`).
 */
export function isConcurrencyLimit(value: unknown): value is number {
  return value === 0 || value === Infinity || (Number.isInteger(value) && (value as number) >= 1);
}

const limiters = new Map<number, ZlibLimiter>();

/**
 * The shared limiter for a given concurrencyLimit (one per distinct value,
 * where ws keeps the first one it saw for the whole process); 0 is Infinity.
 */
export function sharedLimiter(concurrencyLimit: number): ZlibLimiter {
  const limit = concurrencyLimit === 0 ? Infinity : concurrencyLimit;
  let limiter = limiters.get(limit);
  if (!limiter) limiters.set(limit, (limiter = new ZlibLimiter(limit)));
  return limiter;
}
