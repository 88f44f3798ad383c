#!/usr/bin/env node
// Fuzzes the sans-I/O core (src/protocol/connection.ts) in both roles, with
// and without permessage-deflate: random, structured-random, valid and
// valid-then-mutated frames and decompression bombs, each fed whole, cut at
// random points and byte by byte (see test/support/fuzz/).
//
// Usage: npm run fuzz -- [--inputs N] [--seed S] [--from I] [--replay I] [--max-findings K]
//   --inputs N     cases to run (default 100000)
//   --seed S       PRNG seed (default: random, printed so the run can be repeated)
//   --from I       first case index (to resume or shard a long run)
//   --replay I     run only case I of the seed, printing its input and outcome
//   --concurrency C  cases in flight at once (default 4; they overlap zlib waits)
// Exit status 1 when an invariant broke; each finding prints the seed and
// index that reproduce it. Runs the compiled tests' copy (build/), built by
// `npm run fuzz` first.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fuzzerPath = join(root, 'build/test/support/fuzz/fuzzer.js');
if (!existsSync(fuzzerPath)) {
  console.error('fuzz: build/ is missing; run `node scripts/build.mjs --tests` (npm run fuzz does it)');
  process.exit(2);
}
const { fuzz, checkCase, summarize } = await import(pathToFileURL(fuzzerPath).href);
const { generateCase } = await import(pathToFileURL(join(root, 'build/test/support/fuzz/inputs.js')).href);

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`fuzz: --${name} needs a non-negative integer`);
    process.exit(2);
  }
  return value;
}
const seed = option('seed', Math.floor(Math.random() * 0x1_0000_0000));
const inputs = option('inputs', 100_000);
const from = option('from', 0);
const replay = option('replay', -1);

if (replay >= 0) {
  const c = generateCase(seed, replay);
  console.log(summarize(c));
  const problems = await checkCase(c);
  console.log(problems.length === 0 ? 'all invariants hold' : problems.join('\n'));
  process.exit(problems.length === 0 ? 0 : 1);
}

const started = process.hrtime.bigint();
const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
console.log(`fuzz: seed ${seed}, inputs ${from}..${from + inputs - 1}`);
const stats = await fuzz({
  seed,
  inputs,
  from,
  maxFindings: option('max-findings', 20),
  concurrency: option('concurrency', 4),
  progressEvery: Math.min(100_000, Math.max(1000, Math.floor(inputs / 20))),
  onFinding: (f) => console.log(`  FINDING at index ${f.index} (${f.kind}): ${f.problems[0]}`),
  onProgress: (s, done) => {
    const t = seconds();
    console.log(`  ${done} inputs, ${s.runs} runs, ${s.findings.length} findings, ${t.toFixed(0)} s, ${Math.round(done / t)} inputs/s, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`);
  },
});
const t = seconds();
console.log(`fuzz: ${stats.inputs} inputs (${Object.entries(stats.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}; deflate ${stats.deflateCases})`);
console.log(`      ${stats.runs} runs of the core, ${(stats.inputBytes / 2 ** 20).toFixed(1)} MiB of input, ${t.toFixed(1)} s, ${Math.round(stats.inputs / t)} inputs/s`);
console.log('      endings of the whole runs:');
for (const [ending, n] of [...stats.endings].sort((a, b) => b[1] - a[1])) console.log(`        ${String(n).padStart(10)}  ${ending}`);
for (const f of stats.findings) {
  console.log(`\nFINDING (replay: npm run fuzz -- --seed ${f.seed} --replay ${f.index})\n${f.problems.join('\n')}\n${f.summary}`);
}
console.log(stats.findings.length === 0 ? 'fuzz: all invariants held' : `fuzz: ${stats.findings.length} findings`);
process.exit(stats.findings.length === 0 ? 0 : 1);
