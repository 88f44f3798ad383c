/**
 * Keeps outgoing frames in order when some messages are transformed
 * asynchronously (compression). Frames that need no transform go straight
 * to the output while nothing waits ahead of them; otherwise they queue
 * behind the pending transform. One transform runs at a time per connection,
 * since a compressor with context takeover is a single stream.
 */

export type WriteCallback = (error?: Error | null) => void;

/** Where frames go: the connection's output. */
export interface FrameWriter {
  write(data: Buffer, cb?: WriteCallback): void;
}

/** Write a message's frames in order; the callback goes with the last one. */
export function writeFrames(output: FrameWriter, frames: Buffer[], cb: WriteCallback | undefined): void {
  const last = frames.length - 1;
  for (let i = 0; i < last; i++) output.write(frames[i]!);
  output.write(frames[last]!, cb);
}

interface RawEntry {
  frames: Buffer[];
  cb: WriteCallback | undefined;
}
interface TransformEntry {
  frames: null;
  /** Starts the transform; `finish` is called with the frames to write (or an error). */
  start: (finish: (error: Error | null, frames?: Buffer[]) => void) => void;
  started: boolean;
  result: Buffer[] | null;
  error: Error | null;
  cb: WriteCallback | undefined;
}
type Entry = RawEntry | TransformEntry;

export class SendQueue {
  private readonly entries: Entry[] = [];
  private flushing = false;
  private onIdle: (() => void) | null = null;

  constructor(private readonly output: FrameWriter) {}

  /** Frames ready to go: written now if nothing is pending, else queued. */
  push(frames: Buffer[], cb?: WriteCallback): void {
    if (this.entries.length === 0) writeFrames(this.output, frames, cb);
    else this.entries.push({ frames, cb });
  }

  /** A message whose frames come from an asynchronous transform. */
  pushTransform(start: TransformEntry['start'], cb?: WriteCallback): void {
    this.entries.push({ frames: null, start, started: false, result: null, error: null, cb });
    this.flush();
  }

  /** Run `fn` once every queued frame has been written (at once if idle). */
  whenIdle(fn: () => void): void {
    if (this.entries.length === 0) fn();
    else this.onIdle = fn;
  }

  /** Drop everything (the connection is gone); callbacks get the error. */
  clear(error: Error): void {
    const entries = this.entries.splice(0);
    this.onIdle = null;
    for (const entry of entries) if (entry.cb) process.nextTick(entry.cb, error);
  }

  private flush(): void {
    if (this.flushing) return; // a transform finished synchronously inside flush(): the loop continues
    this.flushing = true;
    try {
      while (this.entries.length > 0) {
        const head = this.entries[0]!;
        if (head.frames !== null) {
          this.entries.shift();
          writeFrames(this.output, head.frames, head.cb);
          continue;
        }
        if (head.error !== null) {
          this.entries.shift();
          if (head.cb) process.nextTick(head.cb, head.error);
          continue;
        }
        if (head.result !== null) {
          this.entries.shift();
          writeFrames(this.output, head.result, head.cb);
          continue;
        }
        if (head.started) break;
        head.started = true;
        head.start((error, frames) => {
          if (error !== null) head.error = error;
          else head.result = frames!;
          this.flush();
        });
        if (head.result === null && head.error === null) break;
      }
    } finally {
      this.flushing = false;
    }
    if (this.entries.length === 0 && this.onIdle !== null) {
      const fn = this.onIdle;
      this.onIdle = null;
      fn();
    }
  }
}
