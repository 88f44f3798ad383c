// runUntilSignal over an EventEmitter standing in for `process`: signals are
// emitted, never sent, and every listener is checked gone at the end.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { SHUTDOWN_SIGNALS, runUntilSignal, type Shutdown } from '../../src/app-kit/signals.js';

function listenerCounts(source: EventEmitter): number[] {
  return SHUTDOWN_SIGNALS.map((name) => source.listenerCount(name));
}

/** A shutdown whose close() stays pending until finish() or fail(); records the calls. */
function recordingShutdown() {
  const calls: string[] = [];
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const closing = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  let closeStarted!: () => void;
  const started = new Promise<void>((resolve) => (closeStarted = resolve));
  const shutdown: Shutdown = {
    close(signal) {
      calls.push(`close ${signal}`);
      closeStarted();
      return closing;
    },
    force(signal) {
      calls.push(`force ${signal}`);
    },
  };
  return { calls, shutdown, started, finish: () => finish(), fail: (error: Error) => fail(error) };
}

describe('runUntilSignal', () => {
  it('listens for SIGINT and SIGTERM, closes on the first, resolves with it once closed', async () => {
    const source = new EventEmitter();
    const s = recordingShutdown();
    const run = runUntilSignal(s.shutdown, source);
    assert.deepEqual(listenerCounts(source), [1, 1]);
    assert.deepEqual(s.calls, []);
    source.emit('SIGTERM');
    await s.started;
    assert.deepEqual(s.calls, ['close SIGTERM']);
    // Only the force listeners are left while closing.
    assert.deepEqual(listenerCounts(source), [1, 1]);
    s.finish();
    assert.equal(await run, 'SIGTERM');
    assert.deepEqual(s.calls, ['close SIGTERM']);
    assert.deepEqual(listenerCounts(source), [0, 0]);
  });

  it('a second signal while closing forces; each signal name forces at most once', async () => {
    const source = new EventEmitter();
    const s = recordingShutdown();
    const run = runUntilSignal(s.shutdown, source);
    source.emit('SIGINT');
    await s.started;
    source.emit('SIGINT');
    assert.deepEqual(s.calls, ['close SIGINT', 'force SIGINT']);
    assert.deepEqual(listenerCounts(source), [0, 1]);
    source.emit('SIGINT'); // no listener of ours: the default action would apply
    source.emit('SIGTERM');
    assert.deepEqual(s.calls, ['close SIGINT', 'force SIGINT', 'force SIGTERM']);
    s.finish();
    assert.equal(await run, 'SIGINT');
    assert.deepEqual(listenerCounts(source), [0, 0]);
  });

  it('signals after the close has finished reach nothing', async () => {
    const source = new EventEmitter();
    const s = recordingShutdown();
    s.finish();
    const run = runUntilSignal(s.shutdown, source);
    source.emit('SIGINT');
    assert.equal(await run, 'SIGINT');
    source.emit('SIGINT');
    source.emit('SIGTERM');
    assert.deepEqual(s.calls, ['close SIGINT']);
  });

  it('a failing close rejects, and its listeners are removed all the same', async () => {
    const source = new EventEmitter();
    const s = recordingShutdown();
    const run = runUntilSignal(s.shutdown, source);
    source.emit('SIGTERM');
    await s.started;
    s.fail(new Error('cannot close'));
    await assert.rejects(run, { message: 'cannot close' });
    assert.deepEqual(listenerCounts(source), [0, 0]);
  });

  it('leaves listeners of others on the source alone', async () => {
    const source = new EventEmitter();
    const other = () => {};
    source.on('SIGINT', other);
    const s = recordingShutdown();
    s.finish();
    const run = runUntilSignal(s.shutdown, source);
    source.emit('SIGINT');
    await run;
    assert.deepEqual(source.listeners('SIGINT'), [other]);
  });
});
