/**
 * ReconnectingWebSocket for Node: a client that reconnects (reconnector.ts)
 * over the package's WebSocket, with Node events. Uses the WebSocket's public
 * API only: 'open', 'message', 'error', 'close' and 'unexpected-response'
 * (for a refusal's status and a 503's Retry-After).
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { WebSocket, type ClientOptions } from '../node/index.js';
import { parseRetryAfter, Reconnector, type AttemptEvents, type CloseInfo, type ReconnectOptions } from './reconnector.js';
import type { Payload } from './send-queue.js';

export interface ReconnectingWebSocketOptions extends ClientOptions, ReconnectOptions<WebSocket> {
  /**
   * Called with each attempt's WebSocket (the first one too) as soon as it is
   * made, before any of its events: listen there to the socket's own events
   * ('upgrade', 'pong', 'unexpected-response'...).
   */
  onConnecting?: (socket: WebSocket) => void;
}

const RECONNECT_KEYS = ['initialDelay', 'factor', 'maxDelay', 'maxAttempts', 'random', 'beforeFlush', 'shouldReconnect', 'maxQueuedMessages', 'maxQueuedBytes', 'onConnecting'] as const;

/**
 * Events: 'open' (socket) on every open, after beforeFlush and the queued
 * sends; 'message' (data, isBinary); 'reconnecting' (attempt, delay, info)
 * before each wait; 'error' (error) for each failure, only when listened to
 * (failures are expected here: an unlistened one must not crash the
 * process); 'close' (code, reason) once, at the end.
 */
export class ReconnectingWebSocket extends EventEmitter {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly url: string;
  readonly #reconnector: Reconnector<WebSocket>;

  constructor(url: string | URL, protocols?: string | string[], options: ReconnectingWebSocketOptions = {}) {
    super();
    this.url = String(url);
    const clientOptions: ClientOptions & Record<string, unknown> = { ...options };
    for (const key of RECONNECT_KEYS) delete clientOptions[key];
    const dial = (events: AttemptEvents): WebSocket => {
      const ws = protocols === undefined ? new WebSocket(url, clientOptions) : new WebSocket(url, protocols, clientOptions);
      let refusal: Pick<CloseInfo, 'status' | 'retryAfterMs'> = {};
      ws.on('open', () => events.open());
      ws.on('message', (data: unknown, isBinary: boolean) => events.message(data, isBinary));
      ws.on('unexpected-response', (_req: unknown, res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const retryAfterMs = status === 503 || status === 429 ? parseRetryAfter(res.headers['retry-after']) : undefined;
        refusal = retryAfterMs === undefined ? { status } : { status, retryAfterMs };
        res.resume();
        events.error(new Error(`Unexpected server response: ${status}`));
        ws.terminate();
      });
      ws.on('error', (error: Error) => {
        if (refusal.status === undefined) events.error(error);
      });
      ws.on('close', (code: number, reason: Buffer) => events.close({ code, reason: reason.toString(), opened: false, ...refusal }));
      options.onConnecting?.(ws);
      return ws;
    };
    this.#reconnector = new Reconnector(dial, options, {
      opened: (socket) => this.emit('open', socket),
      message: (data, isBinary) => this.emit('message', data, isBinary),
      reconnecting: (attempt, delay, info) => this.emit('reconnecting', attempt, delay, info),
      error: (error) => {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      },
      closed: (code, reason) => this.emit('close', code, reason),
    });
  }

  /** CONNECTING (also while waiting to reconnect), OPEN, CLOSING or CLOSED. */
  get readyState(): number {
    return this.#reconnector.readyState;
  }

  /** The WebSocket of the current attempt (null while waiting to reconnect). */
  get socket(): WebSocket | null {
    return this.#reconnector.current;
  }

  /** Messages and bytes waiting for the next open. */
  get queuedMessages(): number {
    return this.#reconnector.queuedMessages;
  }

  get queuedBytes(): number {
    return this.#reconnector.queuedBytes;
  }

  /** Sent at once when open; queued while (re)connecting (QueueFullError past the limits); an Error after close(). */
  send(data: Payload | Buffer): void {
    this.#reconnector.send(data);
  }

  /** While waiting to reconnect: dial now instead (true); otherwise nothing happens (false). */
  reconnectNow(): boolean {
    return this.#reconnector.reconnectNow();
  }

  /** Close for good: no reconnection; what is queued is dropped. 'close' follows. */
  close(code?: number, reason?: string): void {
    this.#reconnector.close(code, reason);
  }
}
