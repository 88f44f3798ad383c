/**
 * Keeps outgoing frames in order when some messages are transformed
 * asynchronously (compression). Frames that need no transform go straight
 * to the output while nothing waits ahead of them; otherwise they queue
 * behind the pending transform. One transform runs at a time per connection,
 * since a compressor with context takeover is a single stream.
 *
 * Owns: the order of writes and the callbacks of messages it never writes
 * (failed, dropped or empty: called on a later tick). It does not look
 * inside frames nor complete the output's writes.
 */

export type WriteCallback = (error?: Error | null) => void;

/** Where frames go: the connection's output. */
export interface FrameWriter {
  write(data: Buffer, cb?: WriteCallback): void;
}

/**
 * Write a message's frames in order; the callback goes with the last one.
 * No frames: nothing is written and the callback is called on a later tick.
 */
export function writeFrames(output: FrameWriter, frames: Buffer[], cb: WriteCallback | undefined): void {
  const last = frames.length - 1;
  if (last < 0) {
    if (cb) process.nextTick(cb, null);
    return;
  }
  for (let i = 0; i < last; i++) output.write(frames[i]!);
  output.write(frames[last]!, cb);
}

interface RawEntry {
  frames: Buffer[];
  cb: WriteCallback | undefined;
  /** Counted in queuedBytes until written. */
  bytes: number;
}
interface TransformEntry {
  frames: null;
  /**
   * Starts the transform; `finish` is called once with the frames to write
   * (none or an empty list: nothing to write) or an error. A start() that
   * throws before finishing fails its message with what it threw.
   */
  start: (finish: (error: Error | null, frames?: Buffer[]) => void) => void;
  started: boolean;
  result: Buffer[] | null;
  error: Error | null;
  cb: WriteCallback | undefined;
  /** The message's size before the transform, counted in queuedBytes until written or failed. */
  bytes: number;
}
type Entry = RawEntry | TransformEntry;

export class SendQueue {
  private readonly entries: Entry[] = [];
  private flushing = false;
  /** whenIdle functions, in call order, and whether a loop up the stack is running them. */
  private readonly idle: Array<() => void> = [];
  private runningIdle = false;
  /** Bytes of the messages waiting here (not yet handed to the output): part of bufferedAmount. */
  queuedBytes = 0;

  constructor(private readonly output: FrameWriter) {}

  /** Frames ready to go: written now if nothing is pending, else queued. */
  push(frames: Buffer[], cb?: WriteCallback): void {
    if (this.entries.length === 0) return writeFrames(this.output, frames, cb);
    let bytes = 0;
    for (const frame of frames) bytes += frame.length;
    this.queuedBytes += bytes;
    this.entries.push({ frames, cb, bytes });
  }

  /** A message of `bytes` bytes whose frames come from an asynchronous transform. */
  pushTransform(start: TransformEntry['start'], cb?: WriteCallback, bytes = 0): void {
    this.queuedBytes += bytes;
    this.entries.push({ frames: null, start, started: false, result: null, error: null, cb, bytes });
    this.flush();
  }

  /**
   * Run `fn` once every queued frame has been handed to the output (at once
   * if idle). Each function given runs once, in call order; one that queues
   * a transform makes those after it wait for that transform too.
   */
  whenIdle(fn: () => void): void {
    this.idle.push(fn);
    this.runIdle();
  }

  /** Drop everything (the connection is gone); callbacks get the error, whenIdle functions never run. */
  clear(error: Error): void {
    const entries = this.entries.splice(0);
    this.queuedBytes = 0;
    this.idle.length = 0;
    for (const entry of entries) if (entry.cb) process.nextTick(entry.cb, error);
  }

  private flush(): void {
    if (this.flushing) return; // a transform finished synchronously inside flush(): the loop continues
    this.flushing = true;
    // What a start() threw after it had finished: rethrown once the queue has moved on.
    let thrown: { error: unknown } | null = null;
    try {
      while (this.entries.length > 0) {
        const head = this.entries[0]!;
        if (head.frames !== null) {
          this.take();
          writeFrames(this.output, head.frames, head.cb);
          continue;
        }
        if (head.error !== null) {
          this.take();
          if (head.cb) process.nextTick(head.cb, head.error);
          continue;
        }
        if (head.result !== null) {
          this.take();
          writeFrames(this.output, head.result, head.cb);
          continue;
        }
        if (head.started) break;
        head.started = true;
        try {
          head.start((error, frames) => {
            if (settled(head)) return; // finished twice, or after start() threw
            if (error !== null) head.error = error;
            else head.result = frames ?? [];
            this.flush();
          });
        } catch (error) {
          // Failing the message here keeps the queue moving: nothing else would call flush() again.
          if (!settled(head)) head.error = error instanceof Error ? error : new Error(String(error), { cause: error });
          else thrown ??= { error };
        }
        if (!settled(head)) break;
      }
    } finally {
      this.flushing = false;
    }
    this.runIdle();
    if (thrown !== null) throw thrown.error;
  }

  /** The head entry leaves the queue. */
  private take(): void {
    this.queuedBytes -= this.entries.shift()!.bytes;
  }

  private runIdle(): void {
    if (this.runningIdle) return; // the loop further up the stack runs it, in order
    this.runningIdle = true;
    try {
      while (this.entries.length === 0 && this.idle.length > 0) this.idle.shift()!();
    } finally {
      this.runningIdle = false;
    }
  }
}

const settled = (entry: TransformEntry): boolean => entry.result !== null || entry.error !== null;
