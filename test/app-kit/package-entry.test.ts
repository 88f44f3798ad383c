// 'hyperws/app-kit' as the chat app imports it (the package's own name,
// through package.json "exports"), from ESM and from the CommonJS copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as source from '../../src/app-kit/index.js';

const NAMES = ['RedisReadyTimeout', 'SHUTDOWN_SIGNALS', 'answerStatic', 'closeCodeFor', 'closeServers', 'listen', 'operationsAnswer', 'readStaticDir', 'readyWithin', 'runUntilSignal', 'serveStatic', 'writeAnswer'];

test('the app-kit entry exports the shared plumbing', () => {
  assert.deepEqual(Object.keys(source).sort(), NAMES);
});

test("import 'hyperws/app-kit' resolves to the ESM build", async () => {
  const esm = (await import('hyperws/app-kit')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(esm).sort(), NAMES);
  assert.equal(typeof esm['runUntilSignal'], 'function');
});

test("require('hyperws/app-kit') resolves to the CommonJS copy", () => {
  const require = createRequire(import.meta.url);
  const cjs = require('hyperws/app-kit') as Record<string, unknown>;
  assert.deepEqual(Object.keys(cjs).filter((k) => k !== '__esModule').sort(), NAMES);
  assert.match(require.resolve('hyperws/app-kit'), /[\\/]dist[\\/]cjs[\\/]app-kit[\\/]index\.js$/);
});
