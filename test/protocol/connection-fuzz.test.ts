// A bounded run of the core fuzzer (test/support/fuzz, `npm run fuzz` for
// long runs) with a fixed seed: every invariant holds on every input, and the
// inputs reach what they are meant to reach (each family, both roles'
// failures, clean closes, messages), so the smoke cannot pass by testing
// nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz } from '../support/fuzz/fuzzer.js';

const SEED = 20_240_611;
const INPUTS = 3000;

test(`core fuzzer: ${INPUTS} inputs of seed ${SEED}, split three ways, break no invariant`, { timeout: 120_000 }, async () => {
  const stats = await fuzz({ seed: SEED, inputs: INPUTS });
  assert.deepEqual(
    stats.findings.map((f) => `${f.problems.join('; ')}\n${f.summary}`),
    [],
  );
  assert.equal(stats.inputs, INPUTS);
  for (const [kind, n] of Object.entries(stats.byKind)) assert.ok(n > 0, `no ${kind} inputs`);
  assert.ok(stats.runs >= INPUTS * 2, `${stats.runs} runs`);
  assert.ok(stats.deflateCases > INPUTS / 3, `${stats.deflateCases} deflate cases`);
  const endings = [...stats.endings.keys()];
  for (const wanted of [
    'fail:1002:WS_ERR_INVALID_OPCODE',
    'fail:1002:WS_ERR_EXPECTED_MASK',
    'fail:1002:WS_ERR_UNEXPECTED_MASK',
    'fail:1002:WS_ERR_NON_MINIMAL_LENGTH',
    'fail:1007:WS_ERR_INVALID_UTF8',
    'fail:1007:WS_ERR_INVALID_COMPRESSED_DATA',
    'fail:1009:WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    'close:1000',
    'close:1005',
    'eof',
    'open',
  ]) {
    assert.ok(endings.includes(wanted), `no input ended in ${wanted}: ${endings.join(', ')}`);
  }
});
