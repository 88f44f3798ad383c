/**
 * Waiting for a Redis adapter to be ready when an app starts, within a time
 * limit: Redis unreachable would otherwise leave the app waiting silently
 * (ioredis retries forever). Owns the timer; the messages are the app's.
 */

/** What readyWithin waits on: a RedisAdapter, or a stand-in in tests. */
export interface Connecting {
  readonly ready: Promise<unknown>;
  close(): Promise<unknown>;
}

/** The adapter was not ready within the time allowed. */
export class RedisReadyTimeout extends Error {
  override readonly name = 'RedisReadyTimeout';
  constructor(readonly ms: number) {
    super(`not ready after ${ms} ms`);
  }
}

/**
 * Resolves when `adapter.ready` does. If it rejects, or `ms` pass first
 * (RedisReadyTimeout), the adapter is closed, then the promise rejects.
 */
export async function readyWithin(adapter: Connecting, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisReadyTimeout(ms)), ms);
  });
  try {
    await Promise.race([adapter.ready, timeout]).finally(() => clearTimeout(timer));
  } catch (error) {
    await adapter.close();
    throw error;
  }
}
