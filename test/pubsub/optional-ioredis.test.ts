// ioredis is an optional peer dependency: the package entry must not load it
// (zero runtime dependencies for everyone not using Redis), only creating a
// Redis adapter may. Checked twice: statically on the built ESM files that
// the package entry reaches, and at run time in child processes (ESM and
// CommonJS, through the package's own "exports") by looking for ioredis in
// the CommonJS module cache, where Node puts it however it is loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const T = { timeout: 30_000 };
/** The repository root, from build/test/pubsub/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ESM_ENTRY = join(ROOT, 'dist/esm/index.js');

/** Relative module specifiers a built ESM file imports or re-exports statically. */
function staticRelativeImports(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[;\s])(?:import|export)\s*(?:[^'"();]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Every file reachable from `entry` through static relative imports. */
function moduleGraph(entry: string): Map<string, string> {
  const files = new Map<string, string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    const source = readFileSync(file, 'utf8');
    files.set(file, source);
    for (const spec of staticRelativeImports(source)) pending.push(resolve(dirname(file), spec));
  }
  return files;
}

test('the built ESM entry and everything it imports statically never import ioredis statically', T, () => {
  assert.ok(existsSync(ESM_ENTRY), `${ESM_ENTRY} is missing: run node scripts/build.mjs`);
  const graph = moduleGraph(ESM_ENTRY);
  const names = [...graph.keys()].map((f) => relative(join(ROOT, 'dist/esm'), f));
  assert.ok(names.includes('pubsub/redis-adapter.js'), `the entry reaches the adapter module: ${names.join(', ')}`);
  assert.ok(names.length > 10, 'the walk followed the imports');

  const staticImport = /(?:^|[;\s])(?:import|export)\s*(?:[^'"();]*?\sfrom\s*)?['"]ioredis(?:\/[^'"]*)?['"]/;
  const mentions: string[] = [];
  for (const [file, source] of graph) {
    const name = relative(join(ROOT, 'dist/esm'), file);
    assert.doesNotMatch(source, staticImport, `${name} imports ioredis statically`);
    assert.doesNotMatch(source, /\brequire\s*\(\s*['"]ioredis['"]\s*\)/, `${name} requires ioredis`);
    // Any use of 'ioredis' as a module specifier (a message mentioning the package does not count).
    const uses = /\b(?:import|require)\s*\(\s*['"]ioredis['"]\s*\)|\bfrom\s*['"]ioredis['"]|\bimport\s*['"]ioredis['"]/g;
    for (const m of source.matchAll(uses)) mentions.push(`${name}: ${m[0]}`);
  }
  // The one place it appears: a dynamic import in the adapter.
  assert.equal(mentions.length, 1, mentions.join('\n'));
  assert.match(mentions[0]!, /^pubsub\/redis-adapter\.js: import\(['"]ioredis['"]\)$/);
});

/** Runs a script in a child node process in the repository (so 'hyperws' resolves to this package). */
function runChild(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
      else resolvePromise({ stdout, stderr });
    });
  });
}

// Counts ioredis files in the CommonJS module cache at each step. close()
// resolves only after the adapter's import of ioredis settled, so no waiting
// on time is needed; nothing listens on port 1, and onError keeps it quiet.
// `loadEntry` and `loadRedis` are defined by the ESM or CJS prologue.
const PROBE = `
  const loaded = () => Object.keys(require.cache).filter((k) => /[\\\\/]node_modules[\\\\/]ioredis[\\\\/]/.test(k)).length;
  const steps = {};
  await loadEntry();
  steps.entry = loaded();
  const { redisAdapter } = await loadRedis();
  steps.redisSubpath = loaded();
  await redisAdapter({ url: 'redis://127.0.0.1:1', onError() {} }).close();
  steps.afterAdapter = loaded();
  console.log(JSON.stringify(steps));
`;

function checkSteps(stdout: string, entry: string): void {
  const steps = JSON.parse(stdout) as Record<string, number>;
  assert.deepEqual(Object.keys(steps), ['entry', 'redisSubpath', 'afterAdapter']);
  assert.equal(steps['entry'], 0, `${entry} loaded ioredis`);
  assert.equal(steps['redisSubpath'], 0, 'the hyperws/redis subpath loaded ioredis');
  assert.ok(steps['afterAdapter']! > 0, 'creating an adapter loads ioredis');
}

test('at run time (ESM): importing hyperws and hyperws/redis does not load ioredis; creating an adapter does', T, async () => {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const loadEntry = () => import('hyperws');
    const loadRedis = () => import('hyperws/redis');
    ${PROBE}
  `;
  const { stdout } = await runChild(['--input-type=module', '-e', script]);
  checkSteps(stdout, "import('hyperws')");
});

test('at run time (CommonJS): require("hyperws") does not load ioredis; creating an adapter does', T, async () => {
  const script = `
    const loadEntry = async () => require('hyperws');
    const loadRedis = async () => require('hyperws/redis');
    (async () => { ${PROBE} })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const { stdout } = await runChild(['-e', script]);
  checkSteps(stdout, "require('hyperws')");
});
