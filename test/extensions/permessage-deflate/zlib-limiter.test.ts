// The process-wide zlib concurrency limiter on its own, with jobs the test
// releases by hand: the bound, FIFO order, when a job starts (synchronously,
// inside run() or inside the release() that frees its slot), long runs of
// jobs that release at once (a loop, not recursion), releasing twice, what a
// job that throws leaves behind, and which limits are accepted.
// How DeflateTransform uses it (jobs of a disposed transform release at once)
// is in deflate-transform.test.ts.
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

  it('100,000 waiting jobs that release at once do not overflow the stack', () => {
    // As the jobs of disposed DeflateTransforms, which release as they start.
    const limiter = new ZlibLimiter(1);
    const order: number[] = [];
    let releaseFirst: () => void = () => assert.fail('the first job did not start');
    limiter.run((release) => (releaseFirst = release));
    for (let i = 0; i < 100_000; i++) {
      limiter.run((release) => {
        order.push(i);
        release();
      });
    }
    releaseFirst(); // a RangeError (stack overflow) would be thrown here
    assert.equal(order.length, 100_000);
    assert.ok(
      order.every((n, i) => n === i),
      'in FIFO order',
    );
    assert.deepEqual(counts(limiter), { active: 0, waiting: 0 });
    // No slot lost: the next job starts at once.
    let started = false;
    limiter.run(() => (started = true));
    assert.equal(started, true);
  });

  it('jobs that release at once never run more than `limit` at a time, and those that hold keep their slots', () => {
    const limiter = new ZlibLimiter(3);
    const held: Array<() => void> = [];
    let running = 0;
    let most = 0;
    const order: number[] = [];
    // Every third job holds its slot until the test releases it; the others release at once.
    const job = (i: number) => (release: () => void) => {
      order.push(i);
      running++;
      most = Math.max(most, running);
      assert.ok(limiter.active <= 3, `active ${limiter.active}`);
      if (i % 3 === 0) {
        held.push(() => {
          running--;
          release();
        });
      } else {
        running--;
        release();
      }
    };
    for (let i = 0; i < 30; i++) limiter.run(job(i));
    // 0 holds; 1 and 2 release inside run(); 3 holds; 4, 5 release; 6 holds: three held, the rest wait.
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(counts(limiter), { active: 3, waiting: 23 });
    while (held.length > 0) held.shift()!();
    assert.deepEqual(order, Array.from({ length: 30 }, (_, i) => i));
    assert.equal(most, 3);
    assert.deepEqual(counts(limiter), { active: 0, waiting: 0 });
  });

  it('a job run() from inside a job that released goes behind the jobs already waiting', () => {
    const limiter = new ZlibLimiter(1);
    const order: string[] = [];
    let releaseA: () => void = () => assert.fail('A did not start');
    limiter.run((release) => (releaseA = release));
    limiter.run((release) => {
      order.push('B');
      release(); // the slot is free, but C waits ahead of D
      limiter.run((releaseD) => {
        order.push('D');
        releaseD();
      });
      order.push('B done');
    });
    limiter.run((release) => {
      order.push('C');
      release();
    });
    releaseA();
    // C and D start from the loop in A's release(), once B has returned.
    assert.deepEqual(order, ['B', 'B done', 'C', 'D']);
    assert.deepEqual(counts(limiter), { active: 0, waiting: 0 });
  });

  it('releasing twice frees one slot only', () => {
    const limiter = new ZlibLimiter(1);
    const started: string[] = [];
    let releaseA: () => void = () => assert.fail('A did not start');
    limiter.run((release) => (releaseA = release));
    limiter.run(() => started.push('B')); // holds its slot
    limiter.run(() => started.push('C'));
    releaseA();
    assert.deepEqual(started, ['B']);
    releaseA(); // must not take B's slot for C
    assert.deepEqual(started, ['B']);
    assert.deepEqual(counts(limiter), { active: 1, waiting: 1 });
    // The same inside a job, and on an idle limiter: the count never goes below zero.
    const idle = new ZlibLimiter(1);
    idle.run((release) => {
      release();
      release();
    });
    assert.deepEqual(counts(idle), { active: 0, waiting: 0 });
    let first = 0;
    idle.run(() => first++);
    idle.run(() => assert.fail('a second job while the first holds the only slot'));
    assert.equal(first, 1);
    assert.deepEqual(counts(idle), { active: 1, waiting: 1 });
  });

  it('a job that throws keeps its slot: the error reaches the caller of run(), or of the release() that started it', () => {
    // Releasing is the job's duty, even on error; the limiter swallows nothing.
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

  it('a job that throws while waiting jobs are started does not stop the others; the first error is rethrown', () => {
    const limiter = new ZlibLimiter(2);
    const order: string[] = [];
    const releases: Array<() => void> = [];
    limiter.run((release) => releases.push(release));
    limiter.run((release) => releases.push(release));
    limiter.run((release) => {
      order.push('B');
      release();
      throw new Error('B failed after releasing');
    });
    limiter.run(() => {
      order.push('C');
      throw new Error('C failed holding its slot');
    });
    limiter.run((release) => {
      order.push('D');
      release();
    });
    limiter.run(() => order.push('E')); // holds the last free slot
    limiter.run(() => order.push('F'));
    // B's slot went on to C, which failed holding it: the other slot is still A2's.
    assert.throws(() => releases[0]!(), /B failed after releasing/);
    assert.deepEqual(order, ['B', 'C']);
    assert.deepEqual(counts(limiter), { active: 2, waiting: 3 });
    // Not stuck: A2's release hands its slot on, to D then E (which holds it); F waits.
    releases[1]!();
    assert.deepEqual(order, ['B', 'C', 'D', 'E']);
    assert.deepEqual(counts(limiter), { active: 2, waiting: 1 });
  });

  it('the limit must be an integer >= 1, or Infinity', () => {
    for (const limit of [0, -1, 1.5, 0.5, Number.NaN, Number.NEGATIVE_INFINITY]) {
      assert.throws(() => new ZlibLimiter(limit), RangeError, String(limit));
    }
    assert.equal(new ZlibLimiter(1).limit, 1);
    assert.equal(new ZlibLimiter(64).limit, 64);
  });

  it('Infinity: every job runs at once, none waits', () => {
    const limiter = new ZlibLimiter(Number.POSITIVE_INFINITY);
    const releases: Array<() => void> = [];
    for (let i = 0; i < 1000; i++) limiter.run((release) => releases.push(release));
    assert.deepEqual(counts(limiter), { active: 1000, waiting: 0 });
    for (const release of releases) release();
    assert.deepEqual(counts(limiter), { active: 0, waiting: 0 });
  });
});

describe('sharedLimiter', () => {
  it('one limiter per distinct limit', () => {
    assert.equal(sharedLimiter(3), sharedLimiter(3));
    assert.notEqual(sharedLimiter(3), sharedLimiter(4));
    assert.equal(sharedLimiter(3).limit, 3);
  });

  it('0 means no limit, as in ws: the same limiter as Infinity', () => {
    assert.equal(sharedLimiter(0), sharedLimiter(Number.POSITIVE_INFINITY));
    assert.equal(sharedLimiter(0).limit, Number.POSITIVE_INFINITY);
  });
});
