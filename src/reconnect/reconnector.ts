/**
 * The reconnecting client's logic, shared by the Node flavour (node.ts) and
 * the browser/WHATWG one (web.ts): when to reconnect and after how long,
 * the queue of sends made while disconnected, and the order of events.
 * It owns no socket type and no event API: `dial` opens one connection
 * attempt and reports to it; the facade turns its calls into events. Runs
 * in browsers too (no imports beyond this folder, no node: modules).
 */
import { BACKOFF_DEFAULTS, backoffCap, backoffDelay, type BackoffOptions } from './backoff.js';
import { SendQueue, type Payload, type QueueLimits } from './send-queue.js';

/** The part of a WebSocket (Node or WHATWG) the reconnector uses. */
export interface Socket {
  send(data: any): void;
  close(code?: number, reason?: string): void;
}

/** How one connection attempt ended. */
export interface CloseInfo {
  /** The close code (1006 when the connection failed or never opened). */
  code: number;
  reason: string;
  /** True when the connection had opened before it closed. */
  opened: boolean;
  /** HTTP status of a refused opening handshake (Node flavour only: browsers do not show it). */
  status?: number;
  /** A 503's Retry-After, in ms (Node flavour only). */
  retryAfterMs?: number;
}

/** What an attempt reports; dial() wires its socket's events to these. */
export interface AttemptEvents {
  open(): void;
  message(data: unknown, isBinary: boolean): void;
  error(error: unknown): void;
  close(info: CloseInfo): void;
}

export interface ReconnectOptions<S extends Socket = Socket> extends BackoffOptions, QueueLimits {
  /** Failed attempts in a row before giving up (default Infinity: never). */
  maxAttempts?: number;
  /** The random source of the jitter, in [0, 1) (default Math.random). */
  random?: () => number;
  /**
   * Called on every open (the first one too) before the queued sends go out,
   * with the new socket: re-authenticate or resubscribe there with
   * `socket.send()`. A returned promise is awaited (sends made meanwhile
   * through the reconnecting client are queued behind). If it throws or
   * rejects, the connection is closed with 1011 and a reconnection follows.
   */
  beforeFlush?: (socket: S) => void | PromiseLike<void>;
  /** Whether a close the application did not ask for leads to a reconnection (default: defaultShouldReconnect). */
  shouldReconnect?: (info: CloseInfo) => boolean;
}

/** What the facade does with the reconnector's news. */
export interface Facade<S extends Socket> {
  opened(socket: S): void;
  message(data: unknown, isBinary: boolean): void;
  reconnecting(attempt: number, delay: number, info: CloseInfo): void;
  error(error: unknown): void;
  closed(code: number, reason: string): void;
}

/**
 * Reconnect after anything but: a normal close by the server (1000), a
 * policy violation (1008: retrying would be refused again), and a handshake
 * refused with a 4xx status other than 408 and 429 (a wrong URL, missing
 * credentials). 1001, 1006, 1011, 1012 (restart), 1013 (try again later),
 * 5xx refusals and failed connects all reconnect.
 */
export function defaultShouldReconnect(info: CloseInfo): boolean {
  if (info.status !== undefined) return info.status >= 500 || info.status === 408 || info.status === 429;
  return info.code !== 1000 && info.code !== 1008;
}

type State = 'connecting' | 'flushing' | 'open' | 'waiting' | 'closing' | 'closed';

export class Reconnector<S extends Socket> {
  private state: State = 'connecting';
  private socket: S | null = null;
  /** Failed attempts since the last open. */
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly queue: SendQueue;
  private readonly random: () => number;

  constructor(
    private readonly dial: (events: AttemptEvents) => S,
    private readonly options: ReconnectOptions<S>,
    private readonly facade: Facade<S>,
  ) {
    this.queue = new SendQueue(options);
    this.random = options.random ?? Math.random;
    this.connect();
  }

  /** 0 while connecting or waiting to reconnect, 1 open, 2 closing, 3 closed (as WebSocket.readyState). */
  get readyState(): number {
    switch (this.state) {
      case 'open':
        return 1;
      case 'closing':
        return 2;
      case 'closed':
        return 3;
      default:
        return 0;
    }
  }

  /** The current socket (null between attempts). */
  get current(): S | null {
    return this.socket;
  }

  get queuedMessages(): number {
    return this.queue.length;
  }

  get queuedBytes(): number {
    return this.queue.byteLength;
  }

  /** Send now when open, else queue (QueueFullError past the limits); after close(), an Error. */
  send(data: Payload): void {
    if (this.state === 'closing' || this.state === 'closed') throw new Error('ReconnectingWebSocket is closed');
    if (this.state === 'open' && this.socket !== null) this.socket.send(data);
    else this.queue.push(data);
  }

  /** Close for good: no reconnection follows; queued sends are dropped. */
  close(code?: number, reason?: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.queue.drain();
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const socket = this.socket;
    if (socket === null) {
      this.finish(code ?? 1005, reason ?? '');
      return;
    }
    this.state = 'closing';
    socket.close(code, reason);
  }

  /**
   * Skip the rest of the wait and dial now (the network came back: the
   * browser's 'online' event). Only while waiting: true when it dialed,
   * false when connecting, open or closed. The failure count is kept, so a
   * failed attempt goes on with the backoff where it was.
   */
  reconnectNow(): boolean {
    if (this.state !== 'waiting') return false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.connect();
    return true;
  }

  private connect(): void {
    this.state = 'connecting';
    let socket: S | null = null;
    let opened = false;
    let ended = false;
    const mine = (): boolean => socket !== null && this.socket === socket && !ended;
    const events: AttemptEvents = {
      open: () => {
        if (!mine()) return;
        opened = true;
        void this.onOpen(socket!);
      },
      message: (data, isBinary) => {
        if (mine()) this.facade.message(data, isBinary);
      },
      error: (error) => {
        if (mine()) this.facade.error(error);
      },
      close: (info) => {
        if (!mine()) return;
        ended = true;
        this.socket = null;
        this.onClose({ ...info, opened });
      },
    };
    try {
      socket = this.dial(events);
    } catch (error) {
      // A synchronous failure (a bad URL) will fail every attempt the same way.
      this.facade.error(error);
      this.finish(1006, '');
      return;
    }
    this.socket = socket;
  }

  private async onOpen(socket: S): Promise<void> {
    this.attempt = 0;
    this.state = 'flushing';
    if (this.options.beforeFlush !== undefined) {
      try {
        await this.options.beforeFlush(socket);
      } catch (error) {
        if (this.socket !== socket) return;
        this.facade.error(error);
        socket.close(1011, 'beforeFlush failed');
        return;
      }
    }
    if (this.socket !== socket || this.state !== 'flushing') return;
    for (const data of this.queue.drain()) socket.send(data);
    this.state = 'open';
    this.facade.opened(socket);
  }

  private onClose(info: CloseInfo): void {
    if (this.state === 'closing') {
      this.finish(info.code, info.reason);
      return;
    }
    const retry = (this.options.shouldReconnect ?? defaultShouldReconnect)(info);
    this.attempt++;
    if (!retry || this.attempt > (this.options.maxAttempts ?? Infinity)) {
      this.finish(info.code, info.reason);
      return;
    }
    const delay = this.delayAfter(info);
    this.state = 'waiting';
    this.facade.reconnecting(this.attempt, delay, info);
    // A 'reconnecting' listener may have called close().
    if (this.state !== 'waiting') return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  /**
   * Full-jitter backoff; at least a 503's Retry-After (plus up to one
   * initialDelay of jitter); for 1013 (try again later), a delay in the
   * upper half of maxDelay.
   */
  private delayAfter(info: CloseInfo): number {
    const delay = backoffDelay(this.attempt, this.options, this.random);
    if (info.retryAfterMs !== undefined) return Math.max(delay, info.retryAfterMs + Math.floor(this.random() * backoffCap(1, this.options)));
    if (info.code === 1013) {
      const max = this.options.maxDelay ?? BACKOFF_DEFAULTS.maxDelay;
      return Math.max(delay, Math.floor(max / 2 + (this.random() * max) / 2));
    }
    return delay;
  }

  /** The end. 'close' comes in a microtask, never from inside close() or send(). */
  private finish(code: number, reason: string): void {
    this.state = 'closed';
    this.socket = null;
    queueMicrotask(() => this.facade.closed(code, reason));
  }
}

/** Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP date; ms from `now`, or undefined. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
