// Python `websockets` peers (Debian python3-websockets) as child processes,
// for interop tests. The scripts live in test/support/python/*.py (the build
// only compiles .ts, so they are resolved from the source tree, see
// pythonScriptDir()).
//
//   const py = pythonWebsockets();
//   test('interop', { skip: skipReason(py), timeout: 60_000 }, async () => {
//     const server = await startPythonEchoServer();
//     try { ... server.url ... } finally { await server.close(); }
//   });

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pythonWebsockets, requireDependency } from './system.js';

/** Safety net (not an assertion): a hung Python process is killed after this. */
export const PYTHON_SAFETY_TIMEOUT_MS = 30_000;

const SCRIPT_REL = join('test', 'support', 'python');

/**
 * Directory holding echo_server.py / client.py: found by walking up from this
 * module (works from build/test/support and from test/support), then from
 * process.cwd() (tests run from the repo root).
 */
export function pythonScriptDir(): string {
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    let dir = resolve(start);
    for (;;) {
      const candidate = join(dir, SCRIPT_REL);
      if (existsSync(join(candidate, 'echo_server.py'))) return candidate;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error(`cannot find ${SCRIPT_REL}/echo_server.py above ${starts.join(' or ')}`);
}

// Last-resort cleanup: never leave a Python process behind if a test forgot close().
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

function spawnPython(args: string[]): ChildProcess {
  const { python } = requireDependency(pythonWebsockets());
  const dir = pythonScriptDir();
  const child = spawn(python, ['-u', ...args], {
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: dir, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
  });
  track(child);
  return child;
}

/** Resolves when the child has exited (immediately if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** Ends stdin (the scripts exit on EOF), then SIGTERM, then SIGKILL; awaits exit. */
async function stopChild(child: ChildProcess): Promise<void> {
  const done = exited(child);
  child.stdin?.end();
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
  try {
    await done;
  } finally {
    clearTimeout(kill);
  }
}

const tail = (s: string, n = 4000): string => (s.length > n ? `...${s.slice(-n)}` : s);

async function withTempFiles<T>(files: Record<string, string>, fn: (paths: Record<string, string>) => Promise<T>): Promise<T> {
  if (Object.keys(files).length === 0) return fn({});
  const dir = await mkdtemp(join(tmpdir(), 'hyperws-py-'));
  try {
    const paths: Record<string, string> = {};
    for (const [name, content] of Object.entries(files)) {
      paths[name] = join(dir, name);
      await writeFile(paths[name]!, content, { mode: 0o600 });
    }
    return await fn(paths);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface PythonEchoServerOptions {
  /** permessage-deflate offered/accepted (websockets' default) when true (default); compression=None when false. */
  compression?: boolean;
  /** Subprotocols the server supports (it picks the first the client offers). */
  subprotocols?: string[];
  /** Serve wss:// with this key/cert (PEM); url then uses host 'localhost'. */
  tls?: { key: string; cert: string };
}

export interface PythonEchoServer {
  /** ws://127.0.0.1:<port> (or wss://localhost:<port> with tls). */
  url: string;
  port: number;
  /** websockets version of the server, e.g. "10.4". */
  version: string;
  /** stderr captured so far (for diagnostics). */
  stderr(): string;
  close(): Promise<void>;
}

/**
 * Starts test/support/python/echo_server.py: echoes every message; the text
 * message `close:<code>:<reason>` (e.g. `close:4001:bye`) makes it close with
 * that code and reason.
 */
export async function startPythonEchoServer(opts: PythonEchoServerOptions = {}): Promise<PythonEchoServer> {
  const { version } = requireDependency(pythonWebsockets());
  const files: Record<string, string> = opts.tls ? { 'key.pem': opts.tls.key, 'cert.pem': opts.tls.cert } : {};
  // The key/cert files are only needed until the server has loaded them (i.e. printed PORT).
  return withTempFiles(files, async (paths) => {
    const args = ['echo_server.py', '--compression', opts.compression === false ? 'none' : 'deflate'];
    for (const p of opts.subprotocols ?? []) args.push('--subprotocol', p);
    if (opts.tls) args.push('--cert', paths['cert.pem']!, '--key', paths['key.pem']!);
    const child = spawnPython(args);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = tail(stderr + d, 64_000)));
    child.stdin!.on('error', () => {}); // EPIPE if it died first
    let port: number;
    try {
      port = await new Promise<number>((resolvePort, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`python echo server printed no PORT within ${PYTHON_SAFETY_TIMEOUT_MS} ms\n${tail(stderr)}`)), PYTHON_SAFETY_TIMEOUT_MS);
        const onData = (d: string): void => {
          out += d;
          const m = /^PORT (\d+)\r?\n/m.exec(out);
          if (m) {
            clearTimeout(timer);
            child.stdout!.off('data', onData);
            child.stdout!.resume(); // keep draining
            resolvePort(Number(m[1]));
          }
        };
        child.stdout!.setEncoding('utf8').on('data', onData);
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`python echo server exited early (code ${code}, signal ${signal})\n${tail(stderr)}`));
        });
      });
    } catch (err) {
      await stopChild(child);
      throw err;
    }
    const url = opts.tls ? `wss://localhost:${port}` : `ws://127.0.0.1:${port}`;
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      version,
      stderr: () => stderr,
      close: () => (closing ??= stopChild(child)),
    };
  });
}

export type PythonClientScenario =
  /** send 'hello', bytes(range(256)), a 100 KiB text; check each echo; close 4000 'done'. */
  | 'echo-check'
  /** send 'close:4001:bye' and report the close code/reason the server sent. */
  | 'close-probe'
  /** open, report the handshake, close 1000. */
  | 'connect-only';

export interface PythonClientOptions {
  /** Offered subprotocols. */
  subprotocols?: string[];
  /** 'deflate' (default, websockets' default) offers permessage-deflate; null/'none' disables it. */
  compression?: 'deflate' | 'none' | null;
  /** PEM CA to trust for wss:// URLs. */
  ca?: string;
  /** Safety net (default PYTHON_SAFETY_TIMEOUT_MS): kill a hung client. */
  timeoutMs?: number;
}

export interface PythonMessageSummary {
  type: 'text' | 'binary';
  /** Byte length (UTF-8 for text). */
  length: number;
  sha256: string;
  /** echo-check only: the echo equals what was sent (type and content). */
  equal?: boolean;
}

export interface PythonClientResult {
  ok: boolean;
  scenario: PythonClientScenario;
  websocketsVersion: string;
  /** Negotiated subprotocol or null. */
  subprotocol: string | null;
  /** Sec-WebSocket-Extensions response header or null. */
  extensions: string | null;
  messages: PythonMessageSummary[];
  /** Close code/reason received from the server, or null if it never got that far. */
  close: { code: number | null; reason: string | null } | null;
  /** "ExceptionType: message" when connecting or the scenario failed. */
  error: string | null;
  /** Exit code and stderr of the process, for diagnostics. */
  exitCode: number | null;
  stderr: string;
}

/** Runs test/support/python/client.py against `url` and returns its JSON report. */
export async function runPythonClient(
  url: string,
  scenario: PythonClientScenario = 'echo-check',
  opts: PythonClientOptions = {},
): Promise<PythonClientResult> {
  const files: Record<string, string> = opts.ca ? { 'ca.pem': opts.ca } : {};
  return withTempFiles(files, async (paths) => {
    const args = ['client.py', url, '--scenario', scenario, '--compression', opts.compression === null || opts.compression === 'none' ? 'none' : 'deflate'];
    for (const p of opts.subprotocols ?? []) args.push('--subprotocol', p);
    if (opts.ca) args.push('--ca', paths['ca.pem']!);
    const child = spawnPython(args);
    child.stdin!.on('error', () => {});
    child.stdin!.end();
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = tail(stderr + d, 64_000)));
    const timeoutMs = opts.timeoutMs ?? PYTHON_SAFETY_TIMEOUT_MS;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const exitCode = await new Promise<number | null>((res, rej) => {
      child.once('error', rej);
      child.once('close', (code) => res(code));
    }).finally(() => clearTimeout(timer));
    if (timedOut) throw new Error(`python client killed after ${timeoutMs} ms (safety net)\nstdout: ${tail(stdout)}\nstderr: ${tail(stderr)}`);
    const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    if (!line) throw new Error(`python client printed no JSON (exit ${exitCode})\nstdout: ${tail(stdout)}\nstderr: ${tail(stderr)}`);
    return { ...(JSON.parse(line) as Omit<PythonClientResult, 'exitCode' | 'stderr'>), exitCode, stderr };
  });
}
