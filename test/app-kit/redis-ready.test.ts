// readyWithin over stand-in adapters: no Redis needed. The timeout case uses
// a ready promise that never settles, so its outcome does not depend on time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisReadyTimeout, readyWithin, type Connecting } from '../../src/app-kit/redis-ready.js';

function adapter(ready: Promise<void>): Connecting & { closes: number } {
  const a = {
    ready,
    closes: 0,
    close: async () => {
      a.closes++;
    },
  };
  return a;
}

describe('readyWithin', () => {
  it('resolves when the adapter is ready, and leaves it open', async () => {
    const a = adapter(Promise.resolve());
    await readyWithin(a, 60_000);
    assert.equal(a.closes, 0);
  });

  it('rejects with the adapter error, after closing it', async () => {
    const failure = new Error('ECONNREFUSED');
    const a = adapter(Promise.reject(failure));
    await assert.rejects(readyWithin(a, 60_000), (error) => error === failure);
    assert.equal(a.closes, 1);
  });

  it('rejects with RedisReadyTimeout when not ready in time, after closing it', async () => {
    const a = adapter(new Promise<void>(() => {}));
    await assert.rejects(readyWithin(a, 1), (error) => {
      assert.ok(error instanceof RedisReadyTimeout);
      assert.equal(error.ms, 1);
      assert.equal(error.message, 'not ready after 1 ms');
      assert.equal(error.name, 'RedisReadyTimeout');
      return true;
    });
    assert.equal(a.closes, 1);
  });
});
