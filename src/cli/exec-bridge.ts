/**
 * `hyperws serve --exec`: one program per WebSocket connection, the
 * WebSocket as its stdin and stdout (as websocat's `sh-c:` and inetd do).
 *
 * Text mode (the default): each message the client sends is written to the
 * program's stdin, a text message with a newline appended, a binary one as
 * its bytes; each line the program writes (up to the newline, which is not
 * sent) becomes one text message. Binary mode: messages are written as they
 * are, and each read of the program's output becomes one binary message. The
 * program's stderr goes to serve's stderr, line by line, prefixed with the
 * connection number.
 *
 * Its exit closes the WebSocket (after its last output): 1000 for exit
 * status 0, 1011 otherwise, the reason saying which. The WebSocket's close
 * ends its stdin and sends SIGTERM to its process group (a shell pipeline
 * dies whole), then SIGKILL after KILL_GRACE.
 *
 * Backpressure both ways: the program's stdout is not read while the
 * WebSocket's bufferedAmount is above STDOUT_HIGH_WATER_MARK, and the
 * WebSocket is paused while the program's stdin does not drain.
 *
 * Owns: the child process and the plumbing between it and one WebSocket.
 * Must not touch: how the connection was accepted, other connections.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { WebSocket } from '../node/websocket.js';
import { printable } from './args.js';

export interface ExecOptions {
  /** A shell command line, run with /bin/sh -c (cmd.exe /d /s /c on Windows). */
  command: string;
  /** Binary mode: chunks, not lines. */
  binary: boolean;
}

/** Time between SIGTERM and SIGKILL once the WebSocket closed, in ms. */
export const KILL_GRACE = 2000;
/** The program's stdout is not read while the WebSocket has more than this buffered, in bytes. */
export const STDOUT_HIGH_WATER_MARK = 1024 * 1024;
/** Text mode: a line longer than this many bytes is sent in pieces of this size (at UTF-8 boundaries). */
export const MAX_LINE_BYTES = 1024 * 1024;

const NEWLINE = Buffer.from('\n');

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * Runs the command for `ws` (an open, server-side WebSocket); `log` gets
 * one line per event (without a trailing newline). Resolves once the program
 * has exited and its output is flushed: serve waits for these at shutdown,
 * so that no program outlives it.
 */
export function bridgeExec(ws: WebSocket, options: ExecOptions, log: (line: string) => void): Promise<void> {
  let child: Child;
  try {
    child = spawn(options.command, {
      shell: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so that SIGTERM reaches a whole pipeline, not just the shell.
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
  } catch (error) {
    return Promise.resolve(failToStart(ws, error as Error, log));
  }
  return new Promise((resolve) => new Bridge(ws, child, options.binary, log, resolve).start());
}

function failToStart(ws: WebSocket, error: Error, log: (line: string) => void): void {
  const code = (error as NodeJS.ErrnoException).code ?? error.message;
  log(`cannot run the command: ${printable(code)}`);
  ws.close(1011, `cannot run the command: ${code}`.slice(0, 123));
}

class Bridge {
  /** Text mode: the bytes of the line being gathered from stdout. */
  private line: Buffer[] = [];
  private lineBytes = 0;
  /** stderr's unfinished line. */
  private errLine = '';
  private exited = false;
  /** stdout is paused because the WebSocket has too much unsent. */
  private held = false;
  /** 'close' came (or spawn failed): nothing of the program's is left to wait for. */
  private finished = false;
  private killTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly child: Child,
    private readonly binary: boolean,
    private readonly log: (line: string) => void,
    private readonly done: () => void,
  ) {}

  start(): void {
    const { ws, child } = this;
    child.on('error', (error) => {
      // spawn() failed (the shell could not start): no 'exit' follows.
      if (child.pid === undefined) {
        failToStart(ws, error, this.log);
        this.finish();
      }
    });
    child.once('exit', () => this.onExit());
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => this.onClose(code, signal));
    // The program may exit without reading all of its input: EPIPE is its business, not an error of ours.
    child.stdin.on('error', () => {});
    child.stdin.on('drain', () => ws.resume());
    // A stdin that will never drain again must not keep the WebSocket paused: it would not even see its close.
    child.stdin.on('close', () => ws.resume());
    // 'readable', not 'data': node:child_process resumes a paused 'data' reader when the program exits.
    child.stdout.on('readable', () => this.pump());
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => this.onStderr(text));
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('drain', () => {
      if (!this.held) return;
      this.held = false;
      this.pump();
    });
    ws.once('close', () => this.onWebSocketClose());
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    const stdin = this.child.stdin;
    if (this.exited || stdin.writableEnded || stdin.destroyed) return;
    let ok = stdin.write(data);
    if (!isBinary && !this.binary) ok = stdin.write(NEWLINE);
    if (!ok) this.ws.pause(); // resumed on stdin's 'drain'
  }

  /** Reads the program's output while the WebSocket keeps up. */
  private pump(): void {
    while (!this.held) {
      const chunk = this.child.stdout.read() as Buffer | null;
      if (chunk === null) return;
      this.onStdout(chunk);
    }
  }

  private onStdout(chunk: Buffer): void {
    if (this.binary) this.send(chunk, true);
    else {
      let start = 0;
      for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
        this.gather(chunk.subarray(start, nl));
        this.sendLine();
        start = nl + 1;
      }
      if (start < chunk.length) this.gather(chunk.subarray(start));
    }
    // Held until the WebSocket's 'drain'; meanwhile the pipe fills and the program blocks writing.
    if (this.ws.bufferedAmount > STDOUT_HIGH_WATER_MARK) this.held = true;
  }

  /** Adds bytes to the current line; a line beyond MAX_LINE_BYTES goes out in pieces. */
  private gather(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.line.push(bytes);
    this.lineBytes += bytes.length;
    while (this.lineBytes > MAX_LINE_BYTES) {
      const all = Buffer.concat(this.line, this.lineBytes);
      const cut = utf8Boundary(all, MAX_LINE_BYTES);
      this.send(all.subarray(0, cut), false);
      this.line = [all.subarray(cut)];
      this.lineBytes = all.length - cut;
    }
  }

  private sendLine(): void {
    this.send(Buffer.concat(this.line, this.lineBytes), false);
    this.line = [];
    this.lineBytes = 0;
  }

  private send(bytes: Buffer, binary: boolean): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // A text message must be UTF-8: bytes that are not become U+FFFD.
    if (binary) this.ws.send(bytes, { binary: true });
    else this.ws.send(bytes.toString('utf8'));
  }

  private onStderr(text: string): void {
    const lines = (this.errLine + text).split('\n');
    this.errLine = lines.pop()!;
    for (const line of lines) this.log(`stderr: ${printable(line)}`);
  }

  /**
   * The program exited; its output may still be in the pipes, which 'close'
   * reports read. A process it left behind holding them open gets
   * KILL_GRACE, then the pipes are closed on our side; output held back for
   * a slow client is not cut off (the grace starts again).
   */
  private onExit(): void {
    this.exited = true;
    this.flushTimer = setTimeout(() => this.cutOff(), KILL_GRACE);
  }

  private cutOff(): void {
    if (this.held) return void this.flushTimer!.refresh();
    this.child.stdout.destroy();
    this.child.stderr.destroy();
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.finished) return;
    this.exited = true;
    if (this.lineBytes > 0) this.sendLine();
    if (this.errLine !== '') this.log(`stderr: ${printable(this.errLine)}`);
    const status = code !== null ? `exit code ${code}` : `killed by ${signal}`;
    if (this.ws.readyState === this.ws.OPEN) {
      this.log(`command ended (${status}): closing`);
      this.ws.close(code === 0 ? 1000 : 1011, status);
    } else {
      this.log(`command ended (${status})`);
    }
    this.finish();
  }

  /** The client went away: the program's input ends and the program is stopped. */
  private onWebSocketClose(): void {
    if (this.finished) return;
    this.child.stdin.end();
    this.signal('SIGTERM');
    this.killTimer = setTimeout(() => this.signal('SIGKILL'), KILL_GRACE);
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || this.finished) return;
    // The group outlives its leader while a member runs (a process the shell started): signal it all the same.
    try {
      if (process.platform === 'win32') this.child.kill(signal);
      else process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  }

  private finish(): void {
    this.finished = true;
    if (this.killTimer !== null) clearTimeout(this.killTimer);
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.killTimer = this.flushTimer = null;
    this.done();
  }
}

/** The largest index <= max that does not split a UTF-8 sequence of `bytes` (max itself when unsure). */
function utf8Boundary(bytes: Buffer, max: number): number {
  for (let i = max, back = 0; i > 0 && back < 4; i--, back++) {
    if ((bytes[i]! & 0xc0) !== 0x80) return i;
  }
  return max;
}
