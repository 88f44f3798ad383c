/**
 * A process-wide limit on concurrent zlib operations, as ws does: an
 * unbounded number of simultaneous (de)compressions fragments zlib's memory
 * badly. Jobs run in FIFO order as slots free up.
 */
export type Job = (release: () => void) => void;

export class ZlibLimiter {
  private running = 0;
  private readonly queue: Job[] = [];

  constructor(readonly limit: number) {}

  run(job: Job): void {
    if (this.running < this.limit) {
      this.running++;
      job(this.release);
    } else {
      this.queue.push(job);
    }
  }

  private readonly release = (): void => {
    const next = this.queue.shift();
    if (next) next(this.release);
    else this.running--;
  };

  get active(): number {
    return this.running;
  }
  get waiting(): number {
    return this.queue.length;
  }
}

const limiters = new Map<number, ZlibLimiter>();

/** The shared limiter for a given limit (one per distinct concurrencyLimit value). */
export function sharedLimiter(limit: number): ZlibLimiter {
  let limiter = limiters.get(limit);
  if (!limiter) limiters.set(limit, (limiter = new ZlibLimiter(limit)));
  return limiter;
}
