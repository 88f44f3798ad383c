// SendQueue and writeFrames on their own, against a recording output: which
// buffers reach the output, in which order, with which callback, and when
// whenIdle and the callbacks of dropped, failed or empty messages run. Frames are
// opaque to the queue, so they are short ASCII labels here. Only the public
// exports are used (the queue may move into a sender module).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { SendQueue, writeFrames } from '../../src/protocol/send-queue.js';

type WriteCallback = (error?: Error | null) => void;
type Finish = (error: Error | null, frames?: Buffer[]) => void;

const frame = (label: string): Buffer => Buffer.from(label, 'latin1');

/**
 * The write side of a ConnectionOutput. Each write is recorded with the very
 * buffer and callback given; callbacks run only when the test completes the
 * writes (`complete`), or, with `autoComplete`, on the next tick in write
 * order (as a socket completes them) or at once inside write().
 */
class RecordingOutput {
  readonly writes: Array<{ data: Buffer; cb: WriteCallback | undefined; argc: number }> = [];
  constructor(private readonly autoComplete: 'no' | 'next-tick' | 'sync' = 'no') {}

  write(data: Buffer, cb?: WriteCallback): void {
    this.writes.push({ data, cb, argc: arguments.length });
    if (cb && this.autoComplete === 'next-tick') process.nextTick(cb, null);
    if (cb && this.autoComplete === 'sync') cb(null);
  }

  /** The labels written so far, in order. */
  get labels(): string[] {
    return this.writes.map((w) => w.data.toString('latin1'));
  }

  /** Run the callbacks of every write so far, in order (as a socket flushing them). */
  complete(error: Error | null = null): void {
    for (const w of this.writes.splice(0)) w.cb?.(error);
  }
}

/** A transform the test finishes by hand: records its start and keeps `finish`. */
class ManualTransform {
  starts = 0;
  private finishFn: Finish | null = null;
  readonly start = (finish: Finish): void => {
    this.starts++;
    this.finishFn = finish;
  };
  finish(error: Error | null, frames?: Buffer[]): void {
    assert.ok(this.finishFn !== null, 'the transform was started');
    this.finishFn(error, frames);
  }
}

/** A transform that finishes inside start(), counting its starts. */
function syncTransform(frames: Buffer[] | Error): { start: (finish: Finish) => void; starts: () => number } {
  let starts = 0;
  return {
    start: (finish) => {
      starts++;
      if (frames instanceof Error) finish(frames);
      else finish(null, frames);
    },
    starts: () => starts,
  };
}

/** Callbacks that log `name` or `name:message` when called. */
function callbackLog() {
  const log: string[] = [];
  const errors: Array<Error | null | undefined> = [];
  const cb =
    (name: string): WriteCallback =>
    (error) => {
      log.push(error ? `${name}:${error.message}` : name);
      errors.push(error);
    };
  return { log, errors, cb };
}

/** After every pending nextTick callback (and the microtasks between them). */
const afterTicks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('writeFrames', () => {
  it('writes each frame as given, in order; only the last write carries the callback', () => {
    const out = new RecordingOutput();
    const frames = [frame('a'), frame('b'), frame('c')];
    const cb: WriteCallback = () => {};
    writeFrames(out, frames, cb);
    assert.deepEqual(out.labels, ['a', 'b', 'c']);
    // The same buffers, not copies nor one concatenation.
    for (const [i, w] of out.writes.entries()) assert.equal(w.data, frames[i]);
    assert.deepEqual(
      out.writes.map((w) => [w.argc, w.cb]),
      [
        [1, undefined],
        [1, undefined],
        [2, cb],
      ],
    );
  });

  it('one frame: one write with the callback; without a callback the last write gets undefined', () => {
    const out = new RecordingOutput();
    const cb: WriteCallback = () => {};
    writeFrames(out, [frame('x')], cb);
    writeFrames(out, [frame('y'), frame('z')], undefined);
    assert.deepEqual(
      out.writes.map((w) => [w.data.toString(), w.cb]),
      [
        ['x', cb],
        ['y', undefined],
        ['z', undefined],
      ],
    );
  });
});

describe('writeFrames: no frames', () => {
  it('writes nothing (never undefined); the callback gets null on a later tick', async () => {
    const out = new RecordingOutput();
    const { log, errors, cb } = callbackLog();
    writeFrames(out, [], cb('empty'));
    writeFrames(out, [], undefined);
    assert.deepEqual(out.writes, []);
    assert.deepEqual(log, [], 'not called synchronously');
    await afterTicks();
    assert.deepEqual(log, ['empty']);
    assert.deepEqual(errors, [null]);
  });
});

describe('SendQueue: plain frames', () => {
  it('while idle, push() writes at once, handing the callback to the output unchanged', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const { log, cb } = callbackLog();
    const a = cb('a');
    q.push([frame('a1'), frame('a2')], a);
    q.push([frame('b')]);
    assert.deepEqual(out.labels, ['a1', 'a2', 'b']);
    assert.deepEqual(
      out.writes.map((w) => w.cb),
      [undefined, a, undefined],
    );
    assert.deepEqual(log, [], 'the queue does not call write callbacks itself');
    out.complete(new Error('EPIPE'));
    assert.deepEqual(log, ['a:EPIPE'], "the output's result reaches the callback as is");
  });
});

describe('SendQueue: transformed messages', () => {
  it('pushTransform starts the transform at once; its frames are written when it finishes, callback on the last', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const t = new ManualTransform();
    const cb: WriteCallback = () => {};
    q.pushTransform(t.start, cb);
    assert.equal(t.starts, 1);
    assert.deepEqual(out.labels, []);
    const frames = [frame('t1'), frame('t2')];
    t.finish(null, frames);
    assert.deepEqual(out.labels, ['t1', 't2']);
    assert.equal(out.writes[0]!.data, frames[0]);
    assert.equal(out.writes[1]!.data, frames[1]);
    assert.deepEqual(
      out.writes.map((w) => w.cb),
      [undefined, cb],
    );
  });

  it('plain frames pushed behind a pending transform wait for it, then follow in push order', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const { cb } = callbackLog();
    const t = new ManualTransform();
    const [ct, ca, cb2] = [cb('t'), cb('a'), cb('b')];
    q.pushTransform(t.start, ct);
    q.push([frame('a')], ca);
    q.push([frame('b1'), frame('b2')], cb2);
    assert.deepEqual(out.labels, []);
    t.finish(null, [frame('t')]);
    assert.deepEqual(out.labels, ['t', 'a', 'b1', 'b2']);
    assert.deepEqual(
      out.writes.map((w) => w.cb),
      [ct, ca, undefined, cb2],
    );
    // Idle again: the next push goes straight out.
    q.push([frame('c')]);
    assert.deepEqual(out.labels, ['t', 'a', 'b1', 'b2', 'c']);
  });

  it('one transform at a time: the next starts only once everything ahead of it is written', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const [t1, t2, t3] = [new ManualTransform(), new ManualTransform(), new ManualTransform()];
    let writtenWhenT2Started: string[] | null = null;
    q.pushTransform(t1.start);
    q.push([frame('a')]);
    q.pushTransform((finish) => {
      writtenWhenT2Started = out.labels;
      t2.start(finish);
    });
    q.push([frame('b')]);
    q.pushTransform(t3.start);
    assert.deepEqual([t1.starts, t2.starts, t3.starts], [1, 0, 0]);

    t1.finish(null, [frame('t1')]);
    assert.deepEqual(writtenWhenT2Started, ['t1', 'a']);
    assert.deepEqual([t1.starts, t2.starts, t3.starts], [1, 1, 0]);
    assert.deepEqual(out.labels, ['t1', 'a']);

    t2.finish(null, [frame('t2')]);
    assert.deepEqual([t1.starts, t2.starts, t3.starts], [1, 1, 1]);
    assert.deepEqual(out.labels, ['t1', 'a', 't2', 'b']);

    t3.finish(null, [frame('t3')]);
    assert.deepEqual(out.labels, ['t1', 'a', 't2', 'b', 't3']);
  });

  it('a transform that finishes inside start() is written before pushTransform returns; the queue stays idle', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const cb: WriteCallback = () => {};
    const s = syncTransform([frame('s')]);
    q.pushTransform(s.start, cb);
    assert.equal(s.starts(), 1);
    assert.deepEqual(out.labels, ['s']);
    assert.equal(out.writes[0]!.cb, cb);
    q.push([frame('a')]);
    assert.deepEqual(out.labels, ['s', 'a']);
    let idle = false;
    q.whenIdle(() => (idle = true));
    assert.equal(idle, true);
  });

  it('synchronous transforms queued behind a pending one run in one pass when it finishes, each started once', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const t = new ManualTransform();
    const s1 = syncTransform([frame('s1a'), frame('s1b')]);
    const s2 = syncTransform([frame('s2')]);
    q.pushTransform(t.start);
    q.pushTransform(s1.start);
    q.push([frame('a')]);
    q.pushTransform(s2.start);
    assert.deepEqual([s1.starts(), s2.starts()], [0, 0]);
    t.finish(null, [frame('t')]);
    assert.deepEqual(out.labels, ['t', 's1a', 's1b', 'a', 's2']);
    assert.deepEqual([s1.starts(), s2.starts()], [1, 1]);
  });

  it('100,000 synchronous transforms behind a pending one are written in a loop, not by recursion', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const t = new ManualTransform();
    const n = 100_000;
    q.pushTransform(t.start);
    const f = frame('s');
    const start = (finish: Finish): void => finish(null, [f]);
    for (let i = 0; i < n; i++) q.pushTransform(start);
    t.finish(null, [frame('t')]); // a stack overflow would throw here
    assert.equal(out.writes.length, n + 1);
  });

  it('a failed transform writes nothing; its callback gets the error on a later tick; the queue moves on', async () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const { log, errors, cb } = callbackLog();
    const t = new ManualTransform();
    const next = new ManualTransform();
    const failure = new Error('deflate failed');
    q.pushTransform(t.start, cb('t'));
    q.push([frame('a')]);
    q.pushTransform(next.start);
    t.finish(failure);
    assert.deepEqual(out.labels, ['a'], 'the frames behind it are written at once');
    assert.equal(next.starts, 1);
    assert.deepEqual(log, [], 'not called synchronously');
    await afterTicks();
    assert.deepEqual(log, ['t:deflate failed']);
    assert.equal(errors[0], failure, 'the error given to finish, as is');
    next.finish(null, [frame('n')]);
    assert.deepEqual(out.labels, ['a', 'n']);
    await afterTicks();
    assert.deepEqual(log, ['t:deflate failed'], 'called once');
  });

  it('a transform whose start() throws: nothing written, its callback gets the error on a later tick, the queue moves on', async () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const { log, errors, cb } = callbackLog();
    const t = new ManualTransform();
    const next = new ManualTransform();
    const failure = new Error('encode threw');
    q.pushTransform(t.start, cb('t'));
    q.pushTransform(() => {
      throw failure;
    }, cb('thrower'));
    q.push([frame('a')], cb('a'));
    q.pushTransform(next.start, cb('next'));
    t.finish(null, [frame('t')]); // starts the thrower: the throw must not reach this caller
    assert.deepEqual(out.labels, ['t', 'a']);
    assert.equal(next.starts, 1, 'the next transform started');
    assert.deepEqual(log, []);
    await afterTicks();
    assert.deepEqual(log, ['thrower:encode threw']);
    assert.equal(errors[0], failure, 'what start() threw, as is');
    next.finish(null, [frame('n')]);
    assert.deepEqual(out.labels, ['t', 'a', 'n']);
    // Idle again: a plain push goes straight out, and whenIdle runs at once.
    q.push([frame('b')]);
    assert.deepEqual(out.labels, ['t', 'a', 'n', 'b']);
    let idle = false;
    q.whenIdle(() => (idle = true));
    assert.equal(idle, true);
  });

  it('a start() that throws at once, on an idle queue, does not throw from pushTransform; a non-Error is wrapped', async () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const { log, errors, cb } = callbackLog();
    q.pushTransform(() => {
      throw new RangeError('bad payload');
    }, cb('first'));
    q.pushTransform(() => {
      throw 'not an error';
    }, cb('second'));
    q.pushTransform(() => {
      throw new Error('no callback to tell');
    });
    q.push([frame('a')]);
    assert.deepEqual(out.labels, ['a']);
    await afterTicks();
    assert.deepEqual(log, ['first:bad payload', 'second:not an error']);
    assert.ok(errors[0] instanceof RangeError);
    assert.ok(errors[1] instanceof Error);
    assert.equal((errors[1] as Error).cause, 'not an error');
  });

  it('a start() that throws and finishes later: the late frames are not written, the callback is called once', async () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const { log, cb } = callbackLog();
    let late: Finish | null = null;
    q.pushTransform((finish) => {
      late = finish;
      throw new Error('threw');
    }, cb('t'));
    q.push([frame('a')]);
    late!(null, [frame('late')]);
    late!(new Error('late failure'));
    await afterTicks();
    assert.deepEqual(out.labels, ['a']);
    assert.deepEqual(log, ['t:threw']);
  });

  it('a start() that finishes, then throws: its frames are written, the error reaches the caller, the queue is not stuck', async () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const { log, cb } = callbackLog();
    const t = new ManualTransform();
    const after = new ManualTransform();
    q.pushTransform(t.start);
    q.pushTransform((finish) => {
      finish(null, [frame('s')]);
      throw new Error('threw after finishing');
    }, cb('s'));
    q.push([frame('a')]);
    q.pushTransform(after.start);
    // The finish that started it is the caller here (a zlib callback in real use).
    assert.throws(() => t.finish(null, [frame('t')]), /threw after finishing/);
    assert.deepEqual(out.labels, ['t', 's', 'a']);
    assert.equal(out.writes[1]!.cb !== undefined, true, "s's callback goes with its frame");
    assert.equal(after.starts, 1);
    after.finish(null, [frame('after')]);
    assert.deepEqual(out.labels, ['t', 's', 'a', 'after']);
    await afterTicks();
    assert.deepEqual(log, [], 'the output completes s, not the queue');
  });

  it('finish called more than once: only the first outcome counts', async () => {
    for (const mode of ['inside start()', 'later'] as const) {
      const out = new RecordingOutput();
      const q = new SendQueue(out);
      const { log, cb } = callbackLog();
      const blocker = new ManualTransform();
      const finishThrice = (finish: Finish): void => {
        finish(null, [frame('t')]);
        finish(null, [frame('again')]);
        finish(new Error('and failed'));
      };
      q.pushTransform(blocker.start);
      if (mode === 'later') {
        let finishT: Finish | null = null;
        q.pushTransform((finish) => (finishT = finish), cb('t'));
        q.push([frame('a')]);
        blocker.finish(null, [frame('b')]);
        finishThrice(finishT!);
      } else {
        q.pushTransform(finishThrice, cb('t'));
        q.push([frame('a')]);
        blocker.finish(null, [frame('b')]);
      }
      await afterTicks();
      assert.deepEqual(out.labels, ['b', 't', 'a'], mode);
      assert.deepEqual(log, [], `${mode}: no error reported for a message that was written`);
    }
  });

  for (const [name, frames] of [
    ['no frames', undefined],
    ['an empty frame list', []],
  ] as const) {
    it(`finish(null) with ${name}: nothing written (never undefined); the callback gets null on a later tick; the queue moves on`, async () => {
      for (const mode of ['pending', 'sync'] as const) {
        const out = new RecordingOutput();
        const q = new SendQueue(out);
        const { log, errors, cb } = callbackLog();
        const t = new ManualTransform();
        let idle = 0;
        if (mode === 'pending') {
          q.pushTransform(t.start, cb('empty'));
          q.push([frame('a')], cb('a'));
          q.whenIdle(() => idle++);
          t.finish(null, frames && [...frames]);
        } else {
          q.pushTransform((finish) => finish(null, frames && [...frames]), cb('empty'));
          q.push([frame('a')], cb('a'));
          q.whenIdle(() => idle++);
        }
        assert.deepEqual(out.labels, ['a'], mode);
        assert.ok(
          out.writes.every((w) => Buffer.isBuffer(w.data)),
          `${mode}: only buffers reach the output`,
        );
        assert.equal(idle, 1, mode);
        assert.deepEqual(log, [], `${mode}: not called synchronously`);
        await afterTicks();
        assert.deepEqual(log, ['empty'], mode);
        assert.deepEqual(errors, [null], mode);
        out.complete();
        assert.deepEqual(log, ['empty', 'a'], mode);
      }
    });
  }

  it('a failed transform without a callback is dropped silently', async () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    q.pushTransform(syncTransform(new Error('nope')).start);
    q.push([frame('a')]);
    assert.deepEqual(out.labels, ['a']);
    await afterTicks();
  });

  it('with an output that completes writes in order, callbacks come in push order, a failed message included', async () => {
    const out = new RecordingOutput('next-tick');
    const q = new SendQueue(out);
    const { log, cb } = callbackLog();
    const t1 = new ManualTransform();
    const t3 = new ManualTransform();
    q.pushTransform(t1.start, cb('t1'));
    q.push([frame('a')], cb('a'));
    q.pushTransform(syncTransform(new Error('failed')).start, cb('t2'));
    q.push([frame('b1'), frame('b2')], cb('b'));
    q.pushTransform(t3.start, cb('t3'));
    t1.finish(null, [frame('t1')]);
    assert.deepEqual(out.labels, ['t1', 'a', 'b1', 'b2']);
    await afterTicks();
    assert.deepEqual(log, ['t1', 'a', 't2:failed', 'b']);
    t3.finish(null, [frame('t3')]);
    await afterTicks();
    assert.deepEqual(log, ['t1', 'a', 't2:failed', 'b', 't3']);
    assert.deepEqual(out.labels, ['t1', 'a', 'b1', 'b2', 't3']);
  });

  it('a write callback that runs inside write() and sends again keeps the order', () => {
    const out = new RecordingOutput('sync');
    const q = new SendQueue(out);
    const t = new ManualTransform();
    q.pushTransform(t.start);
    // Sent from the callback of `a`, while `b` and a transform still wait.
    q.push([frame('a')], () => {
      q.push([frame('c')]);
      q.pushTransform(syncTransform([frame('d')]).start);
    });
    q.push([frame('b')]);
    t.finish(null, [frame('t')]);
    assert.deepEqual(out.labels, ['t', 'a', 'b', 'c', 'd']);
    // The queue emptied inside a callback: a send from there goes straight out.
    q.push([frame('e')], () => q.push([frame('f')]));
    assert.deepEqual(out.labels, ['t', 'a', 'b', 'c', 'd', 'e', 'f']);
  });
});

describe('SendQueue: whenIdle', () => {
  it('on an idle queue, runs at once', () => {
    const q = new SendQueue(new RecordingOutput());
    const calls: string[] = [];
    q.whenIdle(() => calls.push('fresh'));
    q.push([frame('a')]);
    q.whenIdle(() => calls.push('after a direct write'));
    assert.deepEqual(calls, ['fresh', 'after a direct write']);
  });

  it('while a transform is pending, runs once, right after the last queued frame is handed to the output', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const t = new ManualTransform();
    const seen: string[][] = [];
    q.pushTransform(t.start);
    q.push([frame('a')], () => {});
    q.whenIdle(() => seen.push(out.labels));
    assert.deepEqual(seen, []);
    t.finish(null, [frame('t')]);
    // It does not wait for the write callbacks (none has run yet).
    assert.deepEqual(seen, [['t', 'a']]);
    q.pushTransform(syncTransform([frame('later')]).start);
    const t2 = new ManualTransform();
    q.pushTransform(t2.start);
    t2.finish(null, [frame('t2')]);
    assert.equal(seen.length, 1, 'not run again');
  });

  it('waits for transforms queued after it too, and for one that fails', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const [t1, t2] = [new ManualTransform(), new ManualTransform()];
    let idle = 0;
    q.pushTransform(t1.start);
    q.whenIdle(() => idle++);
    q.pushTransform(t2.start);
    t1.finish(null, [frame('t1')]);
    assert.equal(idle, 0, 't2 is still pending');
    t2.finish(new Error('failed'));
    assert.equal(idle, 1);
    assert.deepEqual(out.labels, ['t1']);
  });

  it('a second whenIdle while busy runs both functions', () => {
    const q = new SendQueue(new RecordingOutput());
    const t = new ManualTransform();
    const calls: string[] = [];
    q.pushTransform(t.start);
    q.whenIdle(() => calls.push('first'));
    q.whenIdle(() => calls.push('second'));
    t.finish(null, [frame('t')]);
    assert.deepEqual(calls, ['first', 'second']);
  });

  it('functions given while busy run once each, in call order, those given during a later transform included', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const [t1, t2] = [new ManualTransform(), new ManualTransform()];
    const calls: string[] = [];
    q.pushTransform(t1.start);
    q.whenIdle(() => calls.push('1'));
    q.pushTransform(t2.start);
    q.whenIdle(() => calls.push('2'));
    q.whenIdle(() => calls.push('3'));
    t1.finish(null, [frame('t1')]);
    assert.deepEqual(calls, []);
    t2.finish(null, [frame('t2')]);
    assert.deepEqual(calls, ['1', '2', '3']);
    q.pushTransform(syncTransform([frame('later')]).start);
    const t3 = new ManualTransform();
    q.pushTransform(t3.start);
    t3.finish(null, [frame('t3')]);
    assert.deepEqual(calls, ['1', '2', '3'], 'none runs twice');
  });

  it('one that queues a transform makes the later ones wait for it; one given from a function runs after those already waiting', () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const t = new ManualTransform();
    const more = new ManualTransform();
    const calls: string[] = [];
    q.pushTransform(t.start);
    q.whenIdle(() => {
      calls.push('1');
      q.whenIdle(() => calls.push('4, given by 1'));
      calls.push('1 returns'); // before 2 runs: one function at a time
    });
    q.whenIdle(() => {
      calls.push('2');
      q.pushTransform(more.start);
    });
    q.whenIdle(() => calls.push(`3 after ${out.labels.join(',')}`));
    t.finish(null, [frame('t')]);
    assert.deepEqual(calls, ['1', '1 returns', '2']);
    more.finish(null, [frame('more')]);
    assert.deepEqual(calls, ['1', '1 returns', '2', '3 after t,more', '4, given by 1']);
  });

  it('a function that throws: the error reaches the caller; the others still run the next time the queue is idle', () => {
    const q = new SendQueue(new RecordingOutput());
    const t = new ManualTransform();
    const calls: string[] = [];
    q.pushTransform(t.start);
    q.whenIdle(() => {
      throw new Error('idle failed');
    });
    q.whenIdle(() => calls.push('second'));
    assert.throws(() => t.finish(null, [frame('t')]), /idle failed/);
    assert.equal(calls.length, 0);
    q.whenIdle(() => calls.push('third'));
    assert.deepEqual(calls, ['second', 'third']);
  });
});

describe('SendQueue: clear', () => {
  it('fails every queued callback with the given error, on a later tick, in queue order; writes nothing', async () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const { log, errors, cb } = callbackLog();
    const t1 = new ManualTransform();
    q.pushTransform(t1.start, cb('t1'));
    q.push([frame('a')], cb('a'));
    q.push([frame('b')]); // no callback: nothing to call
    q.pushTransform(new ManualTransform().start, cb('t2'));
    q.push([frame('c1'), frame('c2')], cb('c'));
    const closed = new Error('The connection was closed');
    q.clear(closed);
    assert.deepEqual(log, [], 'not called synchronously');
    await afterTicks();
    assert.deepEqual(log, ['t1:The connection was closed', 'a:The connection was closed', 't2:The connection was closed', 'c:The connection was closed']);
    for (const e of errors) assert.equal(e, closed);
    assert.deepEqual(out.labels, []);
  });

  it('a transform that finishes after clear() writes nothing and calls nothing again', async () => {
    for (const outcome of ['frames', 'error'] as const) {
      const out = new RecordingOutput();
      const q = new SendQueue(out);
      const { log, cb } = callbackLog();
      const t = new ManualTransform();
      q.pushTransform(t.start, cb('t'));
      q.push([frame('a')], cb('a'));
      q.clear(new Error('gone'));
      await afterTicks();
      assert.deepEqual(log, ['t:gone', 'a:gone'], outcome);
      if (outcome === 'frames') t.finish(null, [frame('t')]);
      else t.finish(new Error('late failure'));
      await afterTicks();
      assert.deepEqual(log, ['t:gone', 'a:gone'], `${outcome}: each callback once`);
      assert.deepEqual(out.labels, [], outcome);
    }
  });

  it('drops a pending whenIdle: it never runs', async () => {
    const q = new SendQueue(new RecordingOutput());
    const t = new ManualTransform();
    let idle = 0;
    q.pushTransform(t.start);
    q.whenIdle(() => idle++);
    q.whenIdle(() => idle++);
    q.clear(new Error('gone'));
    t.finish(null, [frame('t')]);
    await afterTicks();
    assert.equal(idle, 0);
    // Nor later, when the queue is idle again.
    q.whenIdle(() => (idle += 10));
    assert.equal(idle, 10);
  });

  it('on an idle queue, calls nothing', async () => {
    const out = new RecordingOutput();
    const q = new SendQueue(out);
    const { log, cb } = callbackLog();
    q.push([frame('a')], cb('a'));
    q.clear(new Error('gone'));
    await afterTicks();
    assert.deepEqual(log, [], "a frame already written is the output's to complete");
    assert.deepEqual(out.labels, ['a']);
  });
});

describe('SendQueue: queuedBytes (part of bufferedAmount)', () => {
  it('counts what waits: a transform by its size hint, frames behind it by their length; written or failed, they leave the count', () => {
    const out = new RecordingOutput();
    const queue = new SendQueue(out);
    assert.equal(queue.queuedBytes, 0);
    queue.push([frame('direct')]);
    assert.equal(queue.queuedBytes, 0, 'written at once: nothing waits');
    const first = new ManualTransform();
    queue.pushTransform(first.start, undefined, 1000);
    const second = new ManualTransform();
    queue.pushTransform(second.start, undefined, 500);
    queue.push([frame('abc'), frame('de')]);
    assert.equal(queue.queuedBytes, 1000 + 500 + 5);
    first.finish(null, [frame('x')]);
    assert.equal(queue.queuedBytes, 500 + 5, 'the first message was written');
    second.finish(new Error('failed'));
    assert.equal(queue.queuedBytes, 0, 'the failed message and the frames behind it left');
    assert.deepEqual(out.labels, ['direct', 'x', 'abc', 'de']);
  });

  it('clear() forgets every queued byte', () => {
    const queue = new SendQueue(new RecordingOutput());
    queue.pushTransform(new ManualTransform().start, undefined, 64);
    queue.push([frame('later')]);
    assert.equal(queue.queuedBytes, 69);
    queue.clear(new Error('gone'));
    assert.equal(queue.queuedBytes, 0);
  });
});
