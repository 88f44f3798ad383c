// The one defaults table: resolved settings take it, and README's
// "Limits, timeouts and defaults" table shows exactly its values.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULTS, resolveSettings } from '../../src/protocol/options.js';
import { randomMaskKey } from '../../src/protocol/mask-key.js';

/** Every leaf of DEFAULTS as 'a.b' -> value. */
function leaves(value: object, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'object' && v !== null) for (const [k, w] of leaves(v, `${prefix}${key}.`)) out.set(k, w);
    else out.set(`${prefix}${key}`, v);
  }
  return out;
}

/** How README writes a value: sizes in KiB/MiB, timeouts in seconds. */
function render(key: string, value: unknown): string {
  if (typeof value !== 'number') return String(value);
  if (/Timeout$/.test(key)) return `${value / 1000} s`;
  if (/(maxPayload|maxBackpressure|maxHeaderSize|threshold|WindowSize)$/.test(key)) {
    if (value % (1024 * 1024) === 0) return `${value / (1024 * 1024)} MiB`;
    if (value % 1024 === 0) return `${value / 1024} KiB`;
    return `${value} bytes`;
  }
  return String(value);
}

/** The rows of README's defaults table: first cell's `key` -> second cell. */
function readmeRows(): Map<string, string> {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## Limits, timeouts and defaults');
  assert.notEqual(start, -1, 'README has the section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const match = /^\| `([\w.]+)` \| ([^|]+) \|/.exec(line);
    if (match) rows.set(match[1]!, match[2]!.trim());
  }
  return rows;
}

describe('DEFAULTS', () => {
  it('README lists every entry with the same value, and no entry that does not exist', () => {
    const expected = new Map([...leaves(DEFAULTS)].map(([key, value]) => [key, render(key, value)]));
    assert.deepEqual(Object.fromEntries(readmeRows()), Object.fromEntries(expected));
  });

  it('resolveSettings fills every setting from DEFAULTS; a server masks nothing, a client masks with random keys', () => {
    const server = resolveSettings({ role: 'server' });
    assert.deepEqual(server, {
      role: 'server',
      maxPayload: DEFAULTS.maxPayload,
      fragmentSize: DEFAULTS.fragmentSize,
      autoPong: DEFAULTS.autoPong,
      skipUTF8Validation: DEFAULTS.skipUTF8Validation,
      maskKeySource: null,
      closeTimeout: DEFAULTS.closeTimeout,
      maxBackpressure: DEFAULTS.maxBackpressure,
      backpressurePolicy: DEFAULTS.backpressurePolicy,
      idleTimeout: DEFAULTS.idleTimeout,
      counters: null,
    });
    assert.ok(Object.isFrozen(server), 'shared by every connection of a server: immutable');
    assert.equal(resolveSettings({ role: 'client' }).maskKeySource, randomMaskKey);
  });

  it('given values win, undefined ones fall back to DEFAULTS', () => {
    const key = () => new Uint8Array(4);
    const s = resolveSettings({ role: 'client', maxPayload: 0, fragmentSize: 16, autoPong: false, skipUTF8Validation: true, maskKeySource: key, closeTimeout: undefined });
    assert.equal(s.maxPayload, 0);
    assert.equal(s.fragmentSize, 16);
    assert.equal(s.autoPong, false);
    assert.equal(s.skipUTF8Validation, true);
    assert.equal(s.maskKeySource, key);
    assert.equal(s.closeTimeout, DEFAULTS.closeTimeout);
  });

  it('limits are checked: negative or non-numeric sizes and times throw RangeError, an unknown policy TypeError; Infinity is no limit', () => {
    assert.throws(() => resolveSettings({ role: 'server', maxBackpressure: -1 }), RangeError);
    assert.throws(() => resolveSettings({ role: 'server', idleTimeout: Number.NaN }), RangeError);
    assert.throws(() => resolveSettings({ role: 'server', backpressurePolicy: 'queue' as 'drop' }), /Unknown backpressurePolicy: queue/);
    assert.equal(resolveSettings({ role: 'server', maxBackpressure: Infinity }).maxBackpressure, Infinity);
  });
});
