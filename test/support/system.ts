// System-dependency probes for tests that need binaries installed outside npm
// (Debian packages: chromium, python3-websockets, redis-server, openssl,
// tinyproxy, microsocks, nghttp2-client).
//
// Rule: locally, a missing dependency SKIPS the test with a loud stderr line;
// under CI=true nothing is silently skipped: `skipReason()` returns false so
// the test runs, and `requireDependency()` (called by every helper that needs
// the binary) throws, so the test FAILS with the reason.
//
//   const py = pythonWebsockets();
//   test('interop', { skip: skipReason(py) }, async () => {
//     const { python } = requireDependency(py);
//     ...
//   });

import { accessSync, constants, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { delimiter, isAbsolute, join } from 'node:path';

/** A probe found the dependency: its details (paths, versions). */
export type Found<T extends object> = T & { readonly skip?: undefined };

/** A probe did not find the dependency. `skip` is the human-readable reason. */
export interface Missing {
  readonly skip: string;
  readonly dependency: string;
  readonly installHint: string;
}

export type Dependency<T extends object> = Found<T> | Missing;

export const isCI = (): boolean => process.env['CI'] === 'true';

export function isMissing<T extends object>(dep: Dependency<T>): dep is Missing {
  return typeof (dep as { skip?: unknown }).skip === 'string';
}

/** True when `path` is a regular file (or symlink to one) we may execute. */
export function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds an executable: first the absolute `candidates` (in order), then
 * `name` itself if it is a path, else every directory on PATH.
 */
export function findBinary(name: string, candidates: string[] = []): string | undefined {
  for (const c of candidates) if (isAbsolute(c) && isExecutable(c)) return c;
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** Every executable called `name` on PATH (in PATH order, de-duplicated). */
export function findAllBinaries(name: string): string[] {
  const out: string[] = [];
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p) && !out.includes(p)) out.push(p);
  }
  return out;
}

const cache = new Map<string, Dependency<object>>();

/**
 * Runs `probe` once per process (cached by `name`). The probe returns the
 * dependency's details, or a string explaining why it is missing (it may also
 * throw; the error message becomes the reason).
 */
export function systemDependency<T extends object>(
  name: string,
  installHint: string,
  probe: () => T | string,
): Dependency<T> {
  const hit = cache.get(name);
  if (hit) return hit as Dependency<T>;
  let result: Dependency<T>;
  const pretend = (process.env['HYPERWS_PRETEND_MISSING'] ?? '').split(',').map((s) => s.trim());
  try {
    // HYPERWS_PRETEND_MISSING=chromium,openssl,... exercises the skip/fail paths.
    const r = pretend.includes(name) ? 'pretended missing (HYPERWS_PRETEND_MISSING)' : probe();
    result = typeof r === 'string' ? { skip: r, dependency: name, installHint } : (r as Found<T>);
  } catch (err) {
    result = { skip: err instanceof Error ? err.message : String(err), dependency: name, installHint };
  }
  cache.set(name, result);
  return result;
}

const warned = new Set<string>();

/**
 * For node:test's `skip` option. Found: false. Missing locally: prints a loud
 * warning (once per dependency per process) and returns the reason. Missing
 * with CI=true: returns false so the test runs and fails at requireDependency.
 */
export function skipReason(...deps: Dependency<object>[]): string | false {
  const missing = deps.filter(isMissing);
  if (missing.length === 0 || isCI()) return false;
  const reasons: string[] = [];
  for (const m of missing) {
    const line = `${m.dependency} not found: ${m.skip}; install with ${m.installHint}`;
    if (!warned.has(m.dependency)) {
      warned.add(m.dependency);
      process.stderr.write(`\n*** SKIP (missing system dependency): ${line} ***\n\n`);
    }
    reasons.push(`missing system dependency: ${line}`);
  }
  return reasons.join('; ');
}

/** Error thrown when a required dependency is absent. */
export class MissingDependencyError extends Error {
  constructor(readonly missing: Missing) {
    super(
      (isCI() ? 'CI=true: required system dependency' : 'required system dependency') +
        ` ${missing.dependency} is missing: ${missing.skip} (install with ${missing.installHint})`,
    );
    this.name = 'MissingDependencyError';
  }
}

/** Returns the found details or throws MissingDependencyError. */
export function requireDependency<T extends object>(dep: Dependency<T>): T {
  if (isMissing(dep)) throw new MissingDependencyError(dep);
  return dep;
}

const firstLine = (s: string): string => s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';

function run(file: string, args: string[]): string {
  return execFileSync(file, args, {
    encoding: 'utf8',
    timeout: 20_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

// ---------------------------------------------------------------------------
// Probes. Each honours an env override (an absolute path) for odd machines.

export interface PythonWebsockets {
  /** Absolute path of a python3 that can `import websockets`. */
  readonly python: string;
  /** websockets.__version__, e.g. "10.4". */
  readonly version: string;
  /** Major version number (10, 11, ...). */
  readonly major: number;
}

/** A python3 with the `websockets` module: HYPERWS_PYTHON, /usr/bin/python3, then python3 on PATH. */
export function pythonWebsockets(): Dependency<PythonWebsockets> {
  return systemDependency('python3-websockets', 'apt-get install python3-websockets', () => {
    const env = process.env['HYPERWS_PYTHON'];
    const candidates = [...(env ? [env] : []), '/usr/bin/python3', ...findAllBinaries('python3')];
    const tried: string[] = [];
    for (const python of [...new Set(candidates)]) {
      if (!isExecutable(python)) {
        tried.push(`${python}: not executable`);
        continue;
      }
      try {
        const version = run(python, ['-c', 'import websockets; print(websockets.__version__)']).trim();
        const major = Number.parseInt(version, 10);
        if (!Number.isFinite(major)) throw new Error(`odd version ${JSON.stringify(version)}`);
        return { python, version, major };
      } catch (err) {
        const e = err as { stderr?: string; message?: string };
        tried.push(`${python}: ${firstLine(String(e.stderr ?? '')) || firstLine(String(e.message ?? err))}`);
      }
    }
    return `no python3 can import websockets (tried ${tried.join('; ') || 'nothing'})`;
  });
}

export interface BinaryPath {
  readonly path: string;
}

function binaryProbe(
  dependency: string,
  installHint: string,
  envVar: string,
  names: string[],
  absolute: string[],
): Dependency<BinaryPath> {
  return systemDependency(dependency, installHint, () => {
    const env = process.env[envVar];
    const candidates = [...(env ? [env] : []), ...absolute];
    for (const name of names) {
      const path = findBinary(name, candidates);
      if (path) return { path };
    }
    return `none of ${[...candidates, ...names].join(', ')} is an executable (PATH=${process.env['PATH'] ?? ''})`;
  });
}

/** Chromium: HYPERWS_CHROMIUM, /usr/bin/chromium, chromium / chromium-browser on PATH. */
export function chromiumPath(): Dependency<BinaryPath> {
  return binaryProbe('chromium', 'apt-get install chromium', 'HYPERWS_CHROMIUM', ['chromium', 'chromium-browser'], [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
  ]);
}

/** OpenSSL CLI: HYPERWS_OPENSSL, /usr/bin/openssl, openssl on PATH. */
export function opensslPath(): Dependency<BinaryPath> {
  return binaryProbe('openssl', 'apt-get install openssl', 'HYPERWS_OPENSSL', ['openssl'], ['/usr/bin/openssl']);
}

/** redis-server: HYPERWS_REDIS_SERVER, /usr/bin/redis-server, redis-server on PATH. */
export function redisServerPath(): Dependency<BinaryPath> {
  return binaryProbe('redis-server', 'apt-get install redis-server', 'HYPERWS_REDIS_SERVER', ['redis-server'], [
    '/usr/bin/redis-server',
  ]);
}

export interface NodeBuiltinWebSocket {
  /** This process's node binary. */
  readonly node: string;
  /** Flags under which `node` has a global WHATWG WebSocket (undici's). */
  readonly flags: readonly string[];
}

/**
 * Node's own WebSocket: global behind --experimental-websocket on Node 20.10+,
 * global by default on Node 22+. Not a Debian package, but the same rule
 * applies: a test needing it skips loudly locally and fails under CI=true.
 */
export function nodeBuiltinWebSocket(): Dependency<NodeBuiltinWebSocket> {
  return systemDependency('node-builtin-websocket', 'Node >= 20.10 (--experimental-websocket) or >= 22', () => {
    const tried: string[] = [];
    for (const flags of [['--experimental-websocket', '--no-warnings'], ['--no-warnings']]) {
      try {
        run(process.execPath, [...flags, '-e', 'if (typeof WebSocket !== "function") throw new Error("no global WebSocket")']);
        return { node: process.execPath, flags };
      } catch (err) {
        const e = err as { stderr?: string; message?: string };
        const why = String(e.stderr ?? '').split('\n').find((l) => /Error|bad option/.test(l))?.trim();
        tried.push(`node ${flags.join(' ')}: ${why || firstLine(String(e.message ?? err))}`);
      }
    }
    return `${process.execPath} (${process.version}) has no global WebSocket (tried ${tried.join('; ')})`;
  });
}

/** tinyproxy (HTTP CONNECT proxy): HYPERWS_TINYPROXY, /usr/bin/tinyproxy, tinyproxy on PATH. */
export function tinyproxyPath(): Dependency<BinaryPath> {
  return binaryProbe('tinyproxy', 'apt-get install tinyproxy', 'HYPERWS_TINYPROXY', ['tinyproxy'], ['/usr/bin/tinyproxy']);
}

/** microsocks (SOCKS5 proxy): HYPERWS_MICROSOCKS, /usr/bin/microsocks, microsocks on PATH. */
export function microsocksPath(): Dependency<BinaryPath> {
  return binaryProbe('microsocks', 'apt-get install microsocks', 'HYPERWS_MICROSOCKS', ['microsocks'], ['/usr/bin/microsocks']);
}

/** nghttp (HTTP/2 client, Debian nghttp2-client): HYPERWS_NGHTTP, /usr/bin/nghttp, nghttp on PATH. */
export function nghttpPath(): Dependency<BinaryPath> {
  return binaryProbe('nghttp', 'apt-get install nghttp2-client', 'HYPERWS_NGHTTP', ['nghttp'], ['/usr/bin/nghttp']);
}
