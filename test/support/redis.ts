// A throwaway redis-server (Debian's package) for the Redis adapter tests:
// one process per call, on a free port, persisting nothing, in its own
// temporary directory. stop()/start() take it down and bring it back on the
// same port (reconnect tests); close() stops it and removes the directory.
//
//   const redis = await startRedis();
//   t.after(() => redis.close());
//   ... redisAdapter({ url: redis.url }) ...
//
// Readiness is a real round trip: a TCP connect and a PING answered +PONG,
// polled until it succeeds (bounded by a safety timeout, never asserted).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisServerPath, requireDependency } from './system.js';

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** True between a successful start and the next stop. */
  readonly running: boolean;
  /** SIGTERM, then wait for the process to exit. No-op when stopped. */
  stop(): Promise<void>;
  /** Start again on the same port; resolves once it answers PING. No-op when running. */
  start(): Promise<void>;
  /** stop() and remove the temporary directory. Idempotent. */
  close(): Promise<void>;
}

export interface StartRedisOptions {
  /** Safety net for one start (spawn + PING answered), default 15 s. */
  readyTimeoutMs?: number;
}

/** Every redis-server started by this process, killed if the process exits without closing them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** A port nothing listens on right now (bound on 127.0.0.1 port 0, then released). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** One PING round trip on a fresh TCP connection: true iff the answer is +PONG. */
export function pingRedis(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    let answer = '';
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(ok);
    };
    socket.setEncoding('latin1');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG\r\n'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

class StartError extends Error {
  constructor(
    message: string,
    /** The port was taken by someone else: worth retrying on another port. */
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

/** Spawns redis-server on `port` and resolves once it answers PING. */
async function spawnRedis(binary: string, port: number, dir: string, readyTimeoutMs: number): Promise<ChildProcess> {
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    // Keep the tail only: enough to explain a failure.
    output = (output + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    live.delete(child);
    exited = `exited (code ${code}, signal ${signal})`;
  });
  child.once('error', (error) => {
    live.delete(child);
    exited = `failed to spawn: ${error.message}`;
  });
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited !== null) {
      throw new StartError(`redis-server on port ${port} ${exited}:\n${output}`, /address already in use/i.test(output));
    }
    if (await pingRedis(port)) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new StartError(`redis-server on port ${port} did not answer PING within ${readyTimeoutMs} ms:\n${output}`, false);
    }
    await sleep(20);
  }
}

/** SIGTERM and wait for the exit (SIGKILL if it has not exited after 10 s: a cleanup net). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    await exited;
  } finally {
    clearTimeout(t);
  }
}

/**
 * Starts redis-server on a free port (found by binding port 0; retried on
 * another port if someone took it meanwhile). Throws MissingDependencyError
 * when redis-server is not installed (tests use skipReason(redisServerPath())).
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const { path: binary } = requireDependency(redisServerPath());
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'hyperws-redis-'));
  let child: ChildProcess | null = null;
  let port = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      port = await freeTcpPort();
      try {
        child = await spawnRedis(binary, port, dir, readyTimeoutMs);
        break;
      } catch (error) {
        if (!(error instanceof StartError && error.portInUse && attempt < 5)) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  let closed = false;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== null;
    },
    async stop() {
      const c = child;
      child = null;
      if (c !== null) await stopChild(c);
    },
    async start() {
      if (closed) throw new Error('startRedis: start() after close()');
      if (child !== null) return;
      // The port was ours a moment ago; redis binds with SO_REUSEADDR, so
      // only another process grabbing it meanwhile can fail this (retried).
      for (let attempt = 1; ; attempt++) {
        try {
          child = await spawnRedis(binary, port, dir, readyTimeoutMs);
          return;
        } catch (error) {
          if (!(error instanceof StartError && error.portInUse && attempt < 20)) throw error;
          await sleep(100);
        }
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}
