/**
 * Messages sent while disconnected, kept in order up to a number of
 * messages and of bytes. Runs in browsers too (no imports).
 */

export type Payload = string | ArrayBuffer | ArrayBufferView | Blob;

export interface QueueLimits {
  /** Most messages held (default 1000). */
  maxQueuedMessages?: number;
  /** Most bytes held (UTF-8 bytes for text; default 1 MiB). */
  maxQueuedBytes?: number;
}

export const QUEUE_DEFAULTS = { maxQueuedMessages: 1000, maxQueuedBytes: 1024 * 1024 } as const;

/** Thrown by send() when the message would pass a queue limit. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  readonly code = 'ERR_RECONNECT_QUEUE_FULL';
  constructor(
    message: string,
    readonly queuedMessages: number,
    readonly queuedBytes: number,
  ) {
    super(message);
  }
}

const encoder = new TextEncoder();

export function payloadBytes(data: Payload): number {
  if (typeof data === 'string') return encoder.encode(data).byteLength;
  if (typeof Blob !== 'undefined' && data instanceof Blob) return data.size;
  return (data as ArrayBuffer | ArrayBufferView).byteLength;
}

export class SendQueue<T extends Payload = Payload> {
  private items: Array<{ data: T; bytes: number }> = [];
  private bytes = 0;
  private readonly maxMessages: number;
  private readonly maxBytes: number;

  constructor(limits: QueueLimits = {}) {
    this.maxMessages = limits.maxQueuedMessages ?? QUEUE_DEFAULTS.maxQueuedMessages;
    this.maxBytes = limits.maxQueuedBytes ?? QUEUE_DEFAULTS.maxQueuedBytes;
  }

  get length(): number {
    return this.items.length;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /** Queue `data`, or throw QueueFullError (the queue is unchanged). */
  push(data: T): void {
    const bytes = payloadBytes(data);
    if (this.items.length + 1 > this.maxMessages) {
      throw new QueueFullError(`Send queue full: ${this.items.length} messages queued (maxQueuedMessages ${this.maxMessages})`, this.items.length, this.bytes);
    }
    if (this.bytes + bytes > this.maxBytes) {
      throw new QueueFullError(`Send queue full: ${this.bytes} + ${bytes} bytes would pass maxQueuedBytes ${this.maxBytes}`, this.items.length, this.bytes);
    }
    this.items.push({ data, bytes });
    this.bytes += bytes;
  }

  /** Every message, oldest first; the queue is left empty. */
  drain(): T[] {
    const out = this.items.map((item) => item.data);
    this.items = [];
    this.bytes = 0;
    return out;
  }
}
