// Type tests: code written in ws's usual styles (test/types/cases), with only
// the import changed to 'hyperws', must compile under `tsc --strict` against
// the BUILT package (dist, found by name through package.json), in ESM and
// CommonJS and under each moduleResolution users have. Lines that must fail
// carry `// @ts-expect-error`, so a type that grows too loose fails too.
//
// Each check runs in a scratch project whose node_modules links 'hyperws' to
// this repository (node10 resolution knows no self-reference) and
// '@types/node' to ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cases = join(root, 'test', 'types', 'cases');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const T = { timeout: 120_000 };

const ESM = ['esm-default.ts', 'esm-named.ts', 'subclass-server.ts', 'subpaths.ts', 'ws-options.ts', 'readme-migrating.ts'];
const CJS = ['cjs.cts', 'subpaths-cjs.cts'];

/** Compile `files` with these options in a scratch project; returns tsc's output ('' when clean). */
function compile(options: Record<string, unknown>, files: string[], type: 'module' | 'commonjs'): string {
  const dir = mkdtempSync(join(tmpdir(), 'hyperws-types-'));
  try {
    mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
    symlinkSync(root, join(dir, 'node_modules', 'hyperws'), 'dir');
    symlinkSync(dirname(createRequire(import.meta.url).resolve('@types/node/package.json')), join(dir, 'node_modules', '@types', 'node'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'types-check', private: true, type }));
    for (const file of files) cpSync(join(cases, file), join(dir, file));
    const compilerOptions = { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2023'], types: ['node'], skipLibCheck: false, ...options };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
    try {
      execFileSync(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
      return '';
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || String(error);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("README's Migrating from ws example is the one compiled here (cases/readme-migrating.ts)", () => {
  const example = readFileSync(join(cases, 'readme-migrating.ts'), 'utf8').split('\n').slice(1).join('\n');
  assert.ok(readFileSync(join(root, 'README.md'), 'utf8').includes('```ts\n' + example + '```'), 'README shows the example verbatim');
});

test('types: ESM under module/moduleResolution nodenext', T, () => {
  assert.equal(compile({ module: 'nodenext', moduleResolution: 'nodenext' }, ESM, 'module'), '');
});

test('types: ESM under node16', T, () => {
  assert.equal(compile({ module: 'node16', moduleResolution: 'node16' }, ESM, 'module'), '');
});

test('types: ESM under moduleResolution bundler', T, () => {
  assert.equal(compile({ module: 'esnext', moduleResolution: 'bundler' }, ESM, 'module'), '');
});

test('types: CommonJS (import = require) under nodenext and node16', T, () => {
  assert.equal(compile({ module: 'nodenext', moduleResolution: 'nodenext' }, CJS, 'commonjs'), '');
  assert.equal(compile({ module: 'node16', moduleResolution: 'node16' }, CJS, 'commonjs'), '');
});

test('types: ESM syntax compiled to CommonJS under nodenext (esModuleInterop)', T, () => {
  assert.equal(compile({ module: 'nodenext', moduleResolution: 'nodenext', esModuleInterop: true }, ESM, 'commonjs'), '');
});

test('types: node10 resolution (module commonjs), both import styles', T, () => {
  assert.equal(compile({ module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true }, [...ESM, ...CJS], 'commonjs'), '');
});

test('types: the packed package resolves its types in every mode (arethetypeswrong, offline)', T, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hyperws-pack-'));
  try {
    // --ignore-scripts: pack the dist already built (no rebuild under a running test run).
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })) as { filename: string }[];
    const attw = join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
    let out: string;
    try {
      out = execFileSync(process.execPath, [attw, join(dir, packed[0]!.filename), '--format', 'json'], { cwd: root, encoding: 'utf8' });
    } catch (error) {
      out = (error as { stdout?: string }).stdout ?? String(error); // exits 1 when it finds problems
    }
    const report = JSON.parse(out) as { problems?: unknown[] | Record<string, unknown[]> };
    const problems = Object.values(report.problems ?? {}).flat();
    assert.deepEqual(problems, [], JSON.stringify(report.problems, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
