// The core fuzzer catches what it exists to catch: given a Connection broken
// on purpose (it throws, it reads a split stream differently, it forgets to
// answer pings, it delivers text unchecked), it reports findings with the
// seed and index that replay them; given the real one, none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../src/protocol/connection.js';
import { fuzz } from '../support/fuzz/fuzzer.js';
import { generateCase } from '../support/fuzz/inputs.js';
import type { CoreFactory } from '../support/fuzz/core-run.js';

const SEED = 7;

/** Throws on a chunk of exactly 3 bytes (split runs make some). */
class ThrowingCore extends Connection {
  override receiveData(chunk: Buffer): void {
    if (chunk.length === 3) throw new Error('boom');
    super.receiveData(chunk);
  }
}

/** Loses the first byte of every chunk but the first: only split runs see it. */
class SplitSensitiveCore extends Connection {
  private chunks = 0;
  override receiveData(chunk: Buffer): void {
    super.receiveData(this.chunks++ === 0 ? chunk : chunk.subarray(1));
  }
}


const factory =
  (Core: typeof Connection): CoreFactory =>
  (settings, handler, output, extension) =>
    new Core(settings, handler, output, extension);

test('fuzzer: a core that throws is reported', async () => {
  const stats = await fuzz({ seed: SEED, inputs: 300, maxFindings: 1, core: factory(ThrowingCore) });
  assert.equal(stats.findings.length, 1);
  assert.match(stats.findings[0]!.problems.join('\n'), /threw: receiveData: Error: boom/);
});

test('fuzzer: a core whose result depends on how bytes are split is reported', async () => {
  const stats = await fuzz({ seed: SEED, inputs: 300, maxFindings: 1, core: factory(SplitSensitiveCore) });
  assert.equal(stats.findings.length, 1);
  assert.match(stats.findings[0]!.problems.join('\n'), /^(split at [\d,]+|byte by byte).*: events \[/m);
  const f = stats.findings[0]!;
  assert.match(f.summary, new RegExp(`^seed=${SEED} index=${f.index} kind=${f.kind} `));
});

test('fuzzer: a core that does not answer pings is reported', async () => {
  const silent: CoreFactory = (settings, handler, output, extension) => new Connection({ ...settings, autoPong: false }, handler, output, extension);
  const stats = await fuzz({ seed: SEED, inputs: 300, maxFindings: 1, core: silent });
  assert.equal(stats.findings.length, 1);
  assert.match(stats.findings[0]!.problems.join('\n'), /pings answered by 0 pongs/);
});

test('fuzzer: the real core passes the same inputs', async () => {
  const stats = await fuzz({ seed: SEED, inputs: 300 });
  assert.deepEqual(stats.findings, []);
});

test('fuzzer: a case depends only on (seed, index)', () => {
  const a = generateCase(SEED, 123);
  const b = generateCase(SEED, 123);
  assert.deepEqual(a, b);
  assert.notDeepEqual(generateCase(SEED, 124).input, a.input);
  assert.notDeepEqual(generateCase(SEED + 1, 123).input, a.input);
});
