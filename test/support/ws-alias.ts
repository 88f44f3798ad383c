// `ws` resolved to hyperws in this process, for the ecosystem tests: the
// packages they drive require ws themselves (socket.io-adapter and engine.io
// on the server, engine.io-client in socket.io-client, @fastify/websocket).
//
// Every require('ws'), from any package, resolves to the package's CommonJS
// entry (dist/cjs/index.cjs, what `require('hyperws')` gives users), and the
// tests take the library from that same file through `hyperws()`, so one copy
// of the library serves both. Node 20's module.register() hooks do not reach
// require(), so this wraps Module._resolveFilename, as require hooks do
// (Node 22's module.registerHooks() is the public way). Import it before any
// of those packages is loaded, and load them with `requirePackage()`.
// `realWsLoaded()` lists any file of the real ws package that got loaded all
// the same (an ESM import bypassing the hook would show there): tests assert
// it is empty.
import Module, { createRequire } from 'node:module';
import { join } from 'node:path';

/** The package's CommonJS entry: the repository root is the working directory of the test run. */
const ENTRY = join(process.cwd(), 'dist', 'cjs', 'index.cjs');
const require = createRequire(join(process.cwd(), 'package.json'));

type Resolve = (request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: Resolve };
const resolveFilename = loader._resolveFilename;
loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  return request === 'ws' ? ENTRY : resolveFilename.call(this, request, ...rest);
};

/** A dev dependency, loaded with `ws` meaning hyperws. */
export function requirePackage<T>(name: string): T {
  return require(name) as T;
}

/** The library as `require('ws')` gives it to the packages: the same copy. */
export function hyperws(): typeof import('../../src/index.js') {
  return require(ENTRY) as typeof import('../../src/index.js');
}

/** `hyperws/web` from the same CommonJS build. */
export function hyperwsWeb(): typeof import('../../src/web/index.js') {
  return require(join(process.cwd(), 'dist', 'cjs', 'web', 'index.js')) as typeof import('../../src/web/index.js');
}

/** Files of the real ws package loaded in this process (none while the alias holds). */
export function realWsLoaded(): string[] {
  return Object.keys(require.cache).filter((file) => /[\\/]node_modules[\\/]ws[\\/]/.test(file));
}
