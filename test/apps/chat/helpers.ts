// Helpers for the chat app tests: an in-process chat server (the test build
// of apps/chat/server, serving the page built into dist/), a protocol client
// on our own WebSocket, and `hyperws chat` child processes.
//
// Everything waits on events, never on the clock: node:test's per-test
// timeout is the only safety net. Every helper that starts something
// registers its cleanup with t.after.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket, type ClientOptions } from '../../../src/index.js';
import { startChatServer, type ChatServer, type ChatServerOptions } from '../../../apps/chat/server/chat-server.js';

/** The repository root (this file runs from build/test/apps/chat/). */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** The page as `npm run build` makes it. */
export const WEB_ROOT = `${ROOT}dist/apps/chat/web`;

if (!existsSync(`${WEB_ROOT}/app.js`)) throw new Error(`chat page not built in ${WEB_ROOT}: run node scripts/build.mjs --tests`);

/** Starts an in-process chat server on an ephemeral port; closed after the test. */
export async function startChat(t: TestContext, options: ChatServerOptions = {}): Promise<ChatServer & { wsUrl: string }> {
  // No webRoot: the test build finds dist's page by itself, as `hyperws chat` run from build/ would.
  const server = await startChatServer({ port: 0, heartbeat: false, ...options });
  t.after(() => server.close());
  return Object.assign(server, { wsUrl: `${server.url.replace(/^http/, 'ws')}ws` });
}

// Server messages are loosely typed here: tests assert exact values.
export type Msg = Record<string, any> & { type: string };

/** A chat protocol client: sends JSON, queues what arrives, waits for it. */
export class ChatClient {
  readonly received: Msg[] = [];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private cursor = 0;
  private wake: (() => void) | null = null;
  private ended = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.received.push(isBinary ? { type: '<binary>' } : (JSON.parse(data.toString()) as Msg));
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        this.ended = true;
        this.notify();
        resolve({ code, reason: reason.toString() });
      });
    });
    ws.on('error', () => {});
  }

  /** Connects and consumes the greeting (welcome, then the room list). */
  static async connect(t: TestContext, url: string, options: ClientOptions = {}): Promise<ChatClient & { id: string }> {
    const ws = new WebSocket(url, options);
    const client = new ChatClient(ws);
    t.after(async () => {
      if (ws.readyState !== WebSocket.CLOSED) {
        ws.terminate();
        await client.closed;
      }
    });
    await once(ws, 'open');
    const welcome = await client.next();
    if (welcome.type !== 'welcome') throw new Error(`expected welcome, got ${JSON.stringify(welcome)}`);
    const rooms = await client.next();
    if (rooms.type !== 'rooms') throw new Error(`expected rooms, got ${JSON.stringify(rooms)}`);
    return Object.assign(client, { id: welcome['id'] as string });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The next message not consumed yet. Rejects if the connection closes first. */
  async next(): Promise<Msg> {
    for (;;) {
      if (this.cursor < this.received.length) return this.received[this.cursor++]!;
      if (this.ended) throw new Error(`connection closed; received: ${JSON.stringify(this.received.slice(-5))}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Consumes messages up to the first of `type` that matches, and returns it. */
  async nextOf(type: string, match: (m: Msg) => boolean = () => true): Promise<Msg> {
    for (;;) {
      const m = await this.next();
      if (m.type === type && match(m)) return m;
    }
  }

  /** Joins a room and returns the 'joined' reply. */
  async join(room: string, nick?: string): Promise<Msg> {
    this.send({ v: 1, type: 'join', room, ...(nick !== undefined ? { nick } : {}) });
    return this.nextOf('joined', (m) => m['room'] === room);
  }

  /** Messages not consumed yet (without consuming them). */
  get unread(): Msg[] {
    return this.received.slice(this.cursor);
  }
}

/** Presence as [nick, ...] for compact assertions. */
export const nicks = (members: { nick: string }[]): string[] => members.map((m) => m.nick);

/** Reads a stream's lines as they come. */
export class Lines {
  readonly lines: string[] = [];
  private partial = '';
  private listeners = new Set<() => void>();

  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      for (const l of this.listeners) l();
    });
  }

  /** The first line (from `from`) matching, once it is there. */
  async waitFor(match: RegExp, from = 0): Promise<RegExpExecArray> {
    for (;;) {
      for (let i = from; i < this.lines.length; i++) {
        const m = match.exec(this.lines[i]!);
        if (m) return m;
      }
      await new Promise<void>((resolve) => {
        const l = () => {
          this.listeners.delete(l);
          resolve();
        };
        this.listeners.add(l);
      });
    }
  }
}

/** A fresh directory for a chat store, removed after the test. */
export function tempDataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'hyperws-chat-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const LISTENING = /^hyperws chat: http:\/\/127\.0\.0\.1:(\d+)\/$/;

export interface ChatProcess {
  child: ChildProcessWithoutNullStreams;
  port: number;
  url: string;
  stdout: Lines;
  stderr: Lines;
  exited: Promise<number | NodeJS.Signals>;
  /** SIGTERM (or the given signal) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
  /** SIGKILL and wait: a crash. */
  kill(): Promise<void>;
}

/**
 * Runs `node bin/hyperws chat --port PORT ...args` and waits for its listening
 * line. Killed after the test. Without --redis or --data-dir it gets a fresh
 * data directory (never the default ./chat-data of the checkout).
 */
export async function startChatProcess(
  t: TestContext,
  args: string[],
  env: Record<string, string> = {},
): Promise<ChatProcess> {
  if (!args.includes('--redis') && !args.includes('--data-dir')) args = [...args, '--data-dir', tempDataDir(t)];
  const child = spawn(process.execPath, ['bin/hyperws', 'chat', ...args], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, ...env } });
  const stdout = new Lines(child.stdout);
  const stderr = new Lines(child.stderr);
  const exited = (async () => {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    return code ?? signal!;
  })();
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.after(kill);
  const listening = await Promise.race([
    stdout.waitFor(LISTENING),
    exited.then((status) => {
      throw new Error(`hyperws chat exited (${status}) before listening: ${stderr.lines.join('\n')}`);
    }),
  ]);
  const port = Number(listening[1]);
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}/`,
    stdout,
    stderr,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
    kill,
  };
}

/** Runs `node bin/hyperws chat ...args` to its exit (for commands that do not start a server). */
export async function runChatCli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | NodeJS.Signals; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/hyperws', 'chat', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { status: code ?? signal!, stdout, stderr };
}
