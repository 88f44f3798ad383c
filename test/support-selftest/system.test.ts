import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MissingDependencyError,
  findBinary,
  isMissing,
  requireDependency,
  skipReason,
  systemDependency,
  type Dependency,
} from '../support/system.js';

function withCI<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env['CI'];
  if (value === undefined) delete process.env['CI'];
  else process.env['CI'] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env['CI'];
    else process.env['CI'] = saved;
  }
}

test('findBinary: PATH lookup, absolute candidates first, missing -> undefined', () => {
  const sh = findBinary('sh');
  assert.ok(sh?.startsWith('/'), String(sh));
  assert.equal(findBinary('sh', ['/nonexistent/sh', process.execPath]), process.execPath);
  assert.equal(findBinary('definitely-not-a-binary-hyperws'), undefined);
  assert.equal(findBinary('/etc/hostname-not-exec-hyperws'), undefined);
});

test('a found dependency: no skip, requireDependency returns it, probe cached', () => {
  let calls = 0;
  const probe = (): Dependency<{ path: string }> =>
    systemDependency('selftest-found', 'nothing', () => {
      calls++;
      return { path: '/bin/sh' };
    });
  const dep = probe();
  probe();
  assert.equal(calls, 1);
  assert.equal(isMissing(dep), false);
  assert.equal(skipReason(dep), false);
  assert.deepEqual(requireDependency(dep), { path: '/bin/sh' });
});

test('a missing dependency skips locally (loud) but fails under CI=true', () => {
  const dep = systemDependency('selftest-missing', 'apt-get install selftest', () => 'not on PATH');
  const thrown = systemDependency('selftest-throws', 'x', () => {
    throw new Error('probe crashed');
  });
  assert.ok(isMissing(dep));
  assert.equal(isMissing(thrown) && thrown.skip, 'probe crashed');
  withCI(undefined, () => {
    const reason = skipReason(dep);
    assert.equal(
      reason,
      'missing system dependency: selftest-missing not found: not on PATH; install with apt-get install selftest',
    );
    assert.throws(() => requireDependency(dep), /^MissingDependencyError: required system dependency selftest-missing is missing: not on PATH/);
  });
  withCI('true', () => {
    assert.equal(skipReason(dep), false, 'CI never skips');
    assert.throws(
      () => requireDependency(dep),
      (err: unknown) =>
        err instanceof MissingDependencyError &&
        err.message.startsWith('CI=true: required system dependency selftest-missing is missing: not on PATH'),
    );
  });
});
