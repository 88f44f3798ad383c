/**
 * `hyperws chat`: runs the chat server until SIGINT/SIGTERM. src/cli/main.ts
 * parses the command line and imports this module (built to
 * dist/apps/chat/server/main.js) only when the command is used.
 *
 * Storage: with --redis, Redis; otherwise the data directory (--data-dir,
 * default ./chat-data, relative to the working directory).
 *
 * stdout carries exactly one line, `hyperws chat: http://HOST:PORT/` (the
 * bound port), so scripts and tests can parse it; everything else goes to
 * stderr. Exit status: 0 after a signal, 1 when the server cannot start.
 *
 * Environment (for tests and tuning): HYPERWS_CHAT_HEARTBEAT_INTERVAL_MS,
 * HYPERWS_CHAT_HEARTBEAT_TIMEOUT_MS (each defaults to chat-server.ts's DEFAULT_HEARTBEAT),
 * HYPERWS_CHAT_NODE_TTL_MS (Redis mode, default 15000).
 */
import { resolve } from 'node:path';
import { closeCodeFor, runUntilSignal } from 'hyperws/app-kit';
import { DEFAULT_HEARTBEAT, startChatServer, type ChatServer, type ChatServerOptions } from './chat-server.js';

export interface ChatCliOptions {
  port: number;
  host: string;
  redis?: string | undefined;
  dataDir?: string | undefined;
}

/** Where `hyperws chat` keeps rooms and history without --redis. */
export const DEFAULT_DATA_DIR = 'chat-data';

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

function envMs(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new Error(`${name} must be a positive integer (milliseconds), got '${value}'`);
  return Number(value);
}

/** Run until a signal; resolves with the exit status. */
export async function runChat(cli: ChatCliOptions, io: Io): Promise<number> {
  const log = (line: string) => io.stderr.write(`hyperws chat: ${line}\n`);
  const interval = envMs('HYPERWS_CHAT_HEARTBEAT_INTERVAL_MS');
  const timeout = envMs('HYPERWS_CHAT_HEARTBEAT_TIMEOUT_MS');
  const nodeTtlMs = envMs('HYPERWS_CHAT_NODE_TTL_MS');
  const options: ChatServerOptions = {
    port: cli.port,
    host: cli.host,
    log,
    ...(cli.redis !== undefined ? { redis: cli.redis } : { dataDir: resolve(cli.dataDir ?? DEFAULT_DATA_DIR) }),
    ...(interval !== undefined || timeout !== undefined ? { heartbeat: { intervalMs: interval ?? DEFAULT_HEARTBEAT.intervalMs, timeoutMs: timeout ?? DEFAULT_HEARTBEAT.timeoutMs } } : {}),
    ...(nodeTtlMs !== undefined ? { nodeTtlMs } : {}),
  };
  let server: ChatServer;
  try {
    server = await startChatServer(options);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    log(e.code === 'EADDRINUSE' || e.code === 'EACCES' ? `cannot listen on ${cli.host}:${cli.port}: ${e.code}` : e.message);
    return 1;
  }
  if (cli.redis !== undefined) log(`node ${server.nodeId} sharing rooms through ${cli.redis}`);
  // Signals are handled before the URL line goes out: a supervisor or script that stops the chat as
  // soon as it reads the line must not find the default action (death by the signal) still in place.
  const stopped = runUntilSignal({
    close(signal) {
      log(`${signal}: closing ${server.wss.clients.size} connection${server.wss.clients.size === 1 ? '' : 's'}`);
      // SIGTERM is a restart (1012: clients reconnect elsewhere or here), SIGINT an operator stopping it (1001).
      return server.close(closeCodeFor(signal));
    },
    // A second signal gives up on clients that do not finish their closing handshake.
    force() {
      log('second signal: dropping the remaining connections');
      for (const ws of server.wss.clients) ws.terminate();
    },
  });
  io.stdout.write(`hyperws chat: ${server.url}\n`);
  await stopped;
  return 0;
}
