#!/usr/bin/env node
// Builds the library: ESM (dist/esm) is the primary output; a CommonJS copy
// (dist/cjs) makes `require('hyperws')` return the ws-style default export.
// With --tests, also compiles src + test + apps into build/ for `npm test`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync, existsSync, cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  console.warn('build: typescript is not installed (production install?); skipping build');
  process.exit(0);
}
const run = (args) => execFileSync(process.execPath, [tsc, ...args], { cwd: root, stdio: 'inherit' });

rmSync(join(root, 'dist'), { recursive: true, force: true });
run(['-p', 'tsconfig.json']);
run(['-p', 'tsconfig.json', '--module', 'commonjs', '--moduleResolution', 'node10',
  '--outDir', 'dist/cjs', '--declaration', 'false', '--sourceMap', 'false']);
// The CLI is ESM-only (it uses import.meta): keep it out of the CommonJS copy.
// The plumbing it shares with the chat app (app-kit, 'hyperws/app-kit') stays.
rmSync(join(root, 'dist/cjs/cli'), { recursive: true, force: true });
writeFileSync(join(root, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');
writeFileSync(join(root, 'dist/cjs/index.cjs'), `'use strict';
// ws-style CommonJS entry: require('hyperws') is the WebSocket class, carrying
// WebSocketServer, Server, createWebSocketStream and the other named exports.
const lib = require('./index.js');
module.exports = Object.assign(lib.default, lib);
`);
writeFileSync(join(root, 'dist/cjs/index.d.cts'), `import type * as lib from '../esm/index.js' with { 'resolution-mode': 'import' };
declare const WebSocket: typeof lib.default & Omit<typeof lib, 'default'>;
type WebSocket = lib.WebSocket;
declare namespace WebSocket {
  type WebSocketServer = lib.WebSocketServer;
  type Server = lib.WebSocketServer;
  type ServerOptions = lib.ServerOptions;
  type ClientOptions = lib.ClientOptions;
}
export = WebSocket;
`);
// Static browser assets (pages served by the CLI and the chat app).
for (const dir of ['src/cli/static']) {
  if (existsSync(join(root, dir))) cpSync(join(root, dir), join(root, 'dist/esm', dir.slice(4)), { recursive: true });
}
// The chat app (`hyperws chat`): its server imports the package by name
// ('hyperws' -> dist/esm, so after the library), its page is browser code.
run(['-p', 'apps/chat/tsconfig.server.json']);
run(['-p', 'apps/chat/tsconfig.web.json']);
for (const file of ['index.html', 'style.css', 'favicon.svg']) cpSync(join(root, 'apps/chat/web', file), join(root, 'dist/apps/chat/web', file));
if (process.argv.includes('--tests')) {
  rmSync(join(root, 'build'), { recursive: true, force: true });
  run(['-p', 'tsconfig.test.json']);
}
