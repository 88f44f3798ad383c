// Helpers for the CLI tests: run `node bin/hyperws ...` from the repository
// root as a child process and read its output line by line. Every helper
// that starts a process hands back something the test must stop in a
// finally block (stop() / kill()), so a failing assertion leaves nothing
// running.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { after } from 'node:test';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { WebSocket } from '../../src/index.js';

/** The repository root (this file runs from build/test/cli/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = 'bin/hyperws';

/** Collects a stream's lines; next()/waitFor() hand them out in order. */
export class LineReader {
  readonly lines: string[] = [];
  private partial = '';
  private ended = false;
  private readIndex = 0;
  private wake: (() => void) | null = null;

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
      this.notify();
    });
    stream.on('end', () => {
      if (this.partial !== '') this.lines.push(this.partial);
      this.partial = '';
      this.ended = true;
      this.notify();
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** The next line not handed out yet; rejects if the stream ends first. */
  async next(): Promise<string> {
    for (;;) {
      if (this.readIndex < this.lines.length) return this.lines[this.readIndex++]!;
      if (this.ended) throw new Error(`stream ended; lines so far: ${JSON.stringify(this.lines)}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Skips lines up to the first one matching, and returns it. */
  async waitFor(match: (line: string) => boolean): Promise<string> {
    for (;;) {
      const line = await this.next();
      if (match(line)) return line;
    }
  }

  /** Everything, once the stream ended, joined with newlines as written. */
  get text(): string {
    return this.lines.map((line) => `${line}\n`).join('') + this.partial;
  }
}

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: LineReader;
  stderr: LineReader;
  /** Resolves with the exit status (or the signal's name) once stdout and stderr ended too. */
  exited: Promise<number | NodeJS.Signals>;
  /** Kill (SIGKILL) if still running, and wait for the exit. For finally blocks. */
  kill(): Promise<void>;
}

/** Children still running: a test that timed out skipped its finally block. */
const running = new Set<ChildProcessWithoutNullStreams>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `node bin/hyperws ...args` in the repository root. */
export function startCli(args: string[]): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: 'pipe' });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const stdout = new LineReader(child.stdout);
  const stderr = new LineReader(child.stderr);
  const exited = (async () => {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    return code ?? signal!;
  })();
  return {
    child,
    stdout,
    stderr,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface CliResult {
  status: number | NodeJS.Signals;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/hyperws ...args` to completion; `stdin` is written then ended. */
export async function runCli(args: string[], stdin = ''): Promise<CliResult> {
  const cli = startCli(args);
  try {
    cli.child.stdin.end(stdin);
    const status = await cli.exited;
    return { status, stdout: cli.stdout.text, stderr: cli.stderr.text };
  } finally {
    await cli.kill();
  }
}

export const LISTENING = /^hyperws serve: listening on wss?:\/\/127\.0\.0\.1:(\d+)(\/\S*) \((echo|broadcast|exec) mode(?: via \S+)?(?:, HTTP\/2 and HTTP\/1\.1|, HTTP\/2 h2c only)?\); console at https?:\/\/127\.0\.0\.1:(\d+)\/$/;

export interface ServeProcess extends CliProcess {
  port: number;
  /** The stdout line printed on start. */
  listening: string;
  /** Sends `signal` and resolves with the exit status. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

/** Starts `hyperws serve --port 0 ...args` and waits for its listening line. */
export async function startServe(args: string[] = []): Promise<ServeProcess> {
  const cli = startCli(['serve', '--port', '0', ...args]);
  try {
    const listening = await cli.stdout.next();
    const m = LISTENING.exec(listening);
    if (!m) throw new Error(`unexpected listening line: ${listening}`);
    return {
      ...cli,
      port: Number(m[1]),
      listening,
      async stop(signal: NodeJS.Signals = 'SIGTERM') {
        cli.child.kill(signal);
        return cli.exited;
      },
    };
  } catch (error) {
    await cli.kill();
    throw error;
  }
}

/** A port that was free a moment ago: a listener is opened on 0 and closed. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface ReceivedMessage {
  data: Buffer;
  isBinary: boolean;
}

export interface TestClient {
  ws: WebSocket;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  /** The next message not handed out yet. */
  next(): Promise<ReceivedMessage>;
  /** Messages received and not handed out yet. */
  readonly queued: number;
}

/** Opens a WebSocket of ours (with `options`: ca, http2...) and queues its messages for next(). */
export async function openClient(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<TestClient> {
  const ws = new WebSocket(url, [], options);
  const queue: ReceivedMessage[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    queue.push({ data, isBinary });
    wake?.();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code: number, reason: Buffer) => {
      resolve({ code, reason: reason.toString() });
      wake?.();
    }),
  );
  ws.on('error', () => {}); // the test reads the outcome from 'close'
  await once(ws, 'open');
  return {
    ws,
    closed,
    async next() {
      while (queue.length === 0) {
        if (ws.readyState === WebSocket.CLOSED) throw new Error(`closed (${JSON.stringify(await closed)}) before the next message`);
        await new Promise<void>((resolve) => (wake = resolve));
      }
      return queue.shift()!;
    },
    get queued() {
      return queue.length;
    },
  };
}
