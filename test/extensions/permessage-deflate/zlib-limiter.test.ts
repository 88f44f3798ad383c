// The process-wide zlib concurrency limiter on its own, with jobs the test
// releases by hand: the bound, FIFO order, when a job starts (synchronously,
// inside run() or inside the release() that frees its slot), and what a job
// that throws leaves behind. How DeflateTransform uses it (jobs of a disposed
// transform release at once) is in deflate-transform.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ZlibLimiter, sharedLimiter } from '../../../src/extensions/permessage-deflate/zlib-limiter.js';

const counts = (l: ZlibLimiter) => ({ active: l.active, waiting: l.waiting });

describe('ZlibLimiter', () => {
  it('at most `limit` jobs at once, started in FIFO order', () => {
    const limiter = new ZlibLimiter(2);
    const started: number[] = [];
    const releases: Array<() => void> = [];
    for (let i = 0; i < 5; i++) {
      limiter.run((release) => {
        started.push(i);
        releases[i] = release;
      });
    }
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual(counts(limiter), { active: 2, waiting: 3 });
    releases[1]!(); // the second finishes first: the third (not any other) starts
    assert.deepEqual(started, [0, 1, 2]);
    releases[0]!();
    assert.deepEqual(started, [0, 1, 2, 3]);
    releases[3]!();
    releases[2]!();
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.deepEqual(counts(limiter), { active: 1, waiting: 0 });
    releases[4]!();
    assert.deepEqual(counts(limiter), { active: 0, waiting: 0 });
  });

  it('a job with a free slot runs inside run(), already counted as active', () => {
    const limiter = new ZlibLimiter(2);
    const seen: Array<ReturnType<typeof counts>> = [];
    let returned = false;
    limiter.run(() => {
      seen.push(counts(limiter));
      assert.equal(returned, false, 'inside run()');
    });
    returned = true;
    limiter.run(() => seen.push(counts(limiter)));
    assert.deepEqual(seen, [
      { active: 1, waiting: 0 },
      { active: 2, waiting: 0 },
    ]);
  });

  it('release() hands the slot straight to the next waiting job, which runs inside that release()', () => {
    const limiter = new ZlibLimiter(1);
    let releaseA: () => void = () => assert.fail('A did not start');
    let inRelease = false;
    const seen: Array<{ inRelease: boolean; active: number; waiting: number }> = [];
    limiter.run((release) => (releaseA = release));
    limiter.run(() => seen.push({ inRelease, ...counts(limiter) }));
    limiter.run(() => seen.push({ inRelease, ...counts(limiter) }));
    assert.deepEqual(counts(limiter), { active: 1, waiting: 2 });
    inRelease = true;
    releaseA();
    inRelease = false;
    // B took A's slot (the count never dropped); C still waits for B's.
    assert.deepEqual(seen, [{ inRelease: true, active: 1, waiting: 1 }]);
    assert.deepEqual(counts(limiter), { active: 1, waiting: 1 });
  });

  it('a job may release inside itself: the slot is free again when run() returns', () => {
    const limiter = new ZlibLimiter(1);
    const order: string[] = [];
    limiter.run((release) => {
      order.push('a');
      release();
    });
    assert.deepEqual(counts(limiter), { active: 0, waiting: 0 });
    limiter.run(() => order.push('b'));
    assert.deepEqual(order, ['a', 'b']);
    assert.deepEqual(counts(limiter), { active: 1, waiting: 0 });
  });

  it('waiting jobs that release at once all run, in order, when the slot frees', () => {
    const limiter = new ZlibLimiter(1);
    const order: number[] = [];
    let releaseFirst: () => void = () => assert.fail('the first job did not start');
    limiter.run((release) => (releaseFirst = release));
    for (let i = 0; i < 100; i++) {
      limiter.run((release) => {
        order.push(i);
        release();
      });
    }
    assert.deepEqual(counts(limiter), { active: 1, waiting: 100 });
    releaseFirst();
    assert.deepEqual(order, Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(counts(limiter), { active: 0, waiting: 0 });
  });

  it(
    '100,000 waiting jobs that release at once do not overflow the stack',
    {
      todo:
        'release() starts the next job recursively: about 6,000 consecutive jobs that release at once (those of disposed ' +
        'DeflateTransforms) throw RangeError from the releasing zlib callback, and a slot is lost for good',
    },
    () => {
      const limiter = new ZlibLimiter(1);
      let ran = 0;
      let releaseFirst: () => void = () => assert.fail('the first job did not start');
      limiter.run((release) => (releaseFirst = release));
      for (let i = 0; i < 100_000; i++) {
        limiter.run((release) => {
          ran++;
          release();
        });
      }
      releaseFirst();
      assert.equal(ran, 100_000);
      assert.deepEqual(counts(limiter), { active: 0, waiting: 0 });
    },
  );

  it('a job that throws keeps its slot: the error reaches the caller of run(), or of the release() that started it', () => {
    // Releasing is the job's duty, even on error; the limiter catches nothing.
    const limiter = new ZlibLimiter(1);
    assert.throws(
      () =>
        limiter.run(() => {
          throw new Error('job failed in run');
        }),
      /job failed in run/,
    );
    assert.deepEqual(counts(limiter), { active: 1, waiting: 0 });
    let started = false;
    limiter.run(() => (started = true));
    assert.equal(started, false, 'the slot was not given back');

    const other = new ZlibLimiter(1);
    let releaseA: () => void = () => assert.fail('A did not start');
    other.run((release) => (releaseA = release));
    other.run(() => {
      throw new Error('job failed in release');
    });
    assert.throws(() => releaseA(), /job failed in release/);
    assert.deepEqual(counts(other), { active: 1, waiting: 0 });
  });
});

describe('sharedLimiter', () => {
  it('one limiter per distinct limit', () => {
    assert.equal(sharedLimiter(3), sharedLimiter(3));
    assert.notEqual(sharedLimiter(3), sharedLimiter(4));
    assert.equal(sharedLimiter(3).limit, 3);
  });
});
