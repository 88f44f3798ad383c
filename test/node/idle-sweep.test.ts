// The idle timeout: one shared sweep per timeout value closes (1001) a
// connection after four quiet sweeps in a row; traffic either way resets the
// count. The sweep's logic runs on mocked intervals; one end-to-end test
// closes a real idle connection.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { IdleSweep } from '../../src/node/idle-sweep.js';
import type { Driver } from '../../src/node/driver.js';
import { WebSocket } from '../../src/index.js';
import { closeServer, startServer } from './helpers.js';

const T = { timeout: 20_000 };

/** A stand-in for a Driver: traffic is whatever the test says, idle() is counted. */
function fakeDriver(): { driver: Driver; traffic: () => void; idled: () => number } {
  let traffic = false;
  let idled = 0;
  const driver = {
    takeTraffic: () => {
      const t = traffic;
      traffic = false;
      return t;
    },
    idle: () => {
      idled++;
    },
  } as unknown as Driver;
  return { driver, traffic: () => void (traffic = true), idled: () => idled };
}

test('a quiet connection is closed on the fourth quiet sweep (after 1 to 1.25 timeouts); traffic resets the count', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const quiet = fakeDriver();
    const busy = fakeDriver();
    IdleSweep.track(quiet.driver, 400);
    IdleSweep.track(busy.driver, 400);
    for (let sweep = 1; sweep <= 3; sweep++) {
      busy.traffic();
      mock.timers.tick(100);
      assert.equal(quiet.idled(), 0, `sweep ${sweep}: not yet`);
    }
    busy.traffic();
    mock.timers.tick(100);
    assert.equal(quiet.idled(), 1, 'the fourth quiet sweep closes it');
    assert.equal(busy.idled(), 0, 'traffic at every sweep keeps a connection open');
    // Three quiet sweeps, then traffic: the count starts over.
    mock.timers.tick(300);
    busy.traffic();
    mock.timers.tick(100);
    mock.timers.tick(300);
    assert.equal(busy.idled(), 0, 'traffic reset the count');
    mock.timers.tick(100);
    assert.equal(busy.idled(), 1);
    mock.timers.tick(10_000);
    assert.equal(quiet.idled() + busy.idled(), 2, 'a connection told to close is not told again');
    // untrack (the connection closed) before it was idle: never told.
    const closed = fakeDriver();
    IdleSweep.track(closed.driver, 400);
    IdleSweep.untrack(closed.driver, 400);
    mock.timers.tick(10_000);
    assert.equal(closed.idled(), 0);
  } finally {
    mock.timers.reset();
  }
});

test('end to end: an idle connection gets Close 1001 "Idle timeout" from the server with idleTimeout', T, async () => {
  const { wss, url } = await startServer({ idleTimeout: 50 });
  try {
    const client = new WebSocket(url);
    const [code, reason] = (await once(client, 'close')) as [number, Buffer];
    assert.equal(code, 1001);
    assert.equal(reason.toString(), 'Idle timeout');
  } finally {
    await closeServer(wss);
  }
});

test('idleTimeout is validated: a negative or non-numeric value throws', () => {
  assert.throws(() => new WebSocket('ws://127.0.0.1:1', { idleTimeout: -1 }), RangeError);
  assert.throws(() => new WebSocket('ws://127.0.0.1:1', { backpressurePolicy: 'nope' as 'drop' }), TypeError);
});
