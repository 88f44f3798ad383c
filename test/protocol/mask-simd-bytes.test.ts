// The WebAssembly module ships as bytes (mask-simd-bytes.ts); this checks that
// they are what mask-simd.wat compiles to, so the reviewed source and the
// shipped bytes cannot drift apart.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from build/test/protocol/). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

it('src/protocol/mask-simd-bytes.ts is the compilation of mask-simd.wat', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', `
    import { compileMaskModule, renderBytesModule } from './scripts/build-wasm.mjs';
    import { readFileSync } from 'node:fs';
    const fresh = renderBytesModule(await compileMaskModule());
    process.stdout.write(JSON.stringify(fresh === readFileSync('src/protocol/mask-simd-bytes.ts', 'utf8')));
  `], { cwd: ROOT });
  assert.equal(stdout, 'true');
});
