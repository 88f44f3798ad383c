// Real proxies from Debian for the client's proxy tests, one process per
// call on a free port, stopped by close(): tinyproxy (HTTP CONNECT, optional
// Basic credentials) and microsocks (SOCKS5, optional username/password).
//
//   const proxy = await startTinyproxy({ user: 'alice', password: 's3cret' });
//   t.after(() => proxy.close());
//   new WebSocket(url, { proxy: proxy.url })
//
// Readiness is a TCP connect that succeeds (polled; a safety timeout, never
// asserted). Each process's output is kept so a test can show what the proxy
// logged, e.g. the CONNECT line tinyproxy writes for every tunnel.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeTcpPort } from './redis.js';
import { microsocksPath, requireDependency, tinyproxyPath } from './system.js';

export interface ProxyProcess {
  /** e.g. http://alice:s3cret@127.0.0.1:PORT or socks5://127.0.0.1:PORT */
  readonly url: string;
  /** The same without credentials. */
  readonly bareUrl: string;
  readonly port: number;
  /** What the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM and wait for the exit; idempotent. */
  close(): Promise<void>;
}

export interface ProxyCredentials {
  user?: string;
  password?: string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function spawnProxy(name: string, binary: string, args: string[], port: number, cleanup: () => Promise<void>): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-65536);
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
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited !== null) {
      await cleanup();
      throw new Error(`${name} on port ${port} ${exited}:\n${output}`);
    }
    if (await canConnect(port)) return { child, output: () => output };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await cleanup();
      throw new Error(`${name} on port ${port} did not accept connections within 15 s:\n${output}`);
    }
    await sleep(20);
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  return exited.finally(() => clearTimeout(t));
}

function userinfo(credentials: ProxyCredentials): string {
  if (credentials.user === undefined) return '';
  return `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password ?? '')}@`;
}

/**
 * tinyproxy on 127.0.0.1 and a free port, allowing CONNECT to any port
 * (`connectPorts` restricts it: others get 403), with Basic credentials
 * required when `user` is given.
 */
export async function startTinyproxy(options: ProxyCredentials & { connectPorts?: number[] } = {}): Promise<ProxyProcess> {
  const { path: binary } = requireDependency(tinyproxyPath());
  const dir = await mkdtemp(join(tmpdir(), 'hyperws-tinyproxy-'));
  const port = await freeTcpPort();
  const config = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 30',
    'MaxClients 64',
    'Allow 127.0.0.1',
    'LogLevel Connect',
    ...(options.user !== undefined ? [`BasicAuth ${options.user} ${options.password ?? ''}`] : []),
    ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
  ];
  await writeFile(join(dir, 'tinyproxy.conf'), `${config.join('\n')}\n`);
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const { child, output } = await spawnProxy('tinyproxy', binary, ['-d', '-c', join(dir, 'tinyproxy.conf')], port, cleanup);
  return {
    url: `http://${userinfo(options)}127.0.0.1:${port}`,
    bareUrl: `http://127.0.0.1:${port}`,
    port,
    output,
    close: async () => {
      await stop(child);
      await cleanup();
    },
  };
}

/** microsocks on 127.0.0.1 and a free port, requiring username/password when `user` is given. */
export async function startMicrosocks(options: ProxyCredentials = {}): Promise<ProxyProcess> {
  const { path: binary } = requireDependency(microsocksPath());
  const port = await freeTcpPort();
  const auth = options.user !== undefined ? ['-u', options.user, '-P', options.password ?? ''] : [];
  const { child, output } = await spawnProxy('microsocks', binary, ['-i', '127.0.0.1', '-p', String(port), ...auth], port, async () => {});
  return {
    url: `socks5://${userinfo(options)}127.0.0.1:${port}`,
    bareUrl: `socks5://127.0.0.1:${port}`,
    port,
    output,
    close: () => stop(child),
  };
}
