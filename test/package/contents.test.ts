// What `npm pack` publishes: every file package.json points to (main, types,
// exports, typesVersions, bin), the CLI's and the chat app's runtime files,
// README and LICENSE, and nothing else: no sources, tests, benchmarks,
// scripts, source maps or test build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const T = { timeout: 60_000 };

interface PackageJson {
  license: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, Record<string, string>>>;
  typesVersions: Record<string, Record<string, string[]>>;
}

function packedFiles(): Set<string> {
  // --ignore-scripts: list the dist already built (no rebuild under a running test run).
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  const [pack] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
  return new Set(pack!.files.map((f) => f.path));
}

/** Every file path package.json names, without the leading './'. */
function referencedFiles(pkg: PackageJson): string[] {
  const paths = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
  for (const entry of Object.values(pkg.exports)) {
    if (typeof entry === 'string') paths.push(entry);
    else for (const condition of Object.values(entry)) paths.push(...Object.values(condition));
  }
  for (const map of Object.values(pkg.typesVersions)) for (const targets of Object.values(map)) paths.push(...targets);
  return paths.map((p) => p.replace(/^\.\//, ''));
}

test('npm pack: every file package.json points to is in the package', T, () => {
  const files = packedFiles();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const referenced = referencedFiles(pkg);
  assert.ok(referenced.length >= 20, `package.json references ${referenced.length} files`);
  assert.deepEqual(referenced.filter((p) => !files.has(p)), []);
  for (const needed of [
    'LICENSE',
    'README.md',
    'package.json',
    'bin/package.json',
    'dist/cjs/package.json',
    'dist/cjs/index.js',
    'dist/esm/cli/main.js',
    'dist/esm/cli/static/console.html',
    'dist/apps/chat/server/main.js',
    'dist/apps/chat/web/index.html',
    'dist/apps/chat/web/app.js',
    // The page's ReconnectingWebSocket: the library's browser modules, copied next to it.
    'dist/apps/chat/web/lib/reconnect/web.js',
    'dist/apps/chat/web/lib/reconnect/reconnector.js',
  ]) {
    assert.ok(files.has(needed), `${needed} is packed`);
  }
});

test('npm pack: nothing but the built library, its CLI and chat app, README, LICENSE', T, () => {
  const allowed = /^(package\.json|README\.md|LICENSE|bin\/(hyperws|package\.json)|dist\/(esm|cjs|apps\/chat\/(server|web))\/.+)$/;
  const files = [...packedFiles()];
  assert.deepEqual(files.filter((p) => !allowed.test(p)), []);
  // No source maps (they would point at src/, which is not shipped), no TypeScript sources, no CLI in the CommonJS copy.
  assert.deepEqual(files.filter((p) => p.endsWith('.map') || (p.endsWith('.ts') && !/\.d\.c?ts$/.test(p)) || p.startsWith('dist/cjs/cli/')), []);
});

test('LICENSE is the MIT license package.json declares, for the hyperws contributors', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  assert.equal(pkg.license, 'MIT');
  assert.match(license, /^MIT License\n\nCopyright \(c\) \d{4} hyperws contributors\n/);
  assert.match(license, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
});
