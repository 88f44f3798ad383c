/**
 * ReconnectingWebSocket for browsers and any WHATWG WebSocket (an
 * EventTarget with WHATWG events). This module and the ones it imports use
 * no Node API, so dist/esm/reconnect/ can be served to a browser as ES
 * modules as it is. A browser hides a refused handshake's status, so a 503's
 * Retry-After cannot be honoured here; close codes 1012/1013 are.
 */
import { Reconnector, type AttemptEvents, type ReconnectOptions } from './reconnector.js';
import type { Payload } from './send-queue.js';

/** The part of a WHATWG WebSocket used. */
export interface WhatwgSocket {
  binaryType: string;
  send(data: any): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
}
export type WhatwgSocketClass = new (url: string, protocols?: string | string[]) => WhatwgSocket;

export interface WebReconnectingOptions extends ReconnectOptions<WhatwgSocket> {
  /** The WebSocket class (default: globalThis.WebSocket). */
  WebSocket?: WhatwgSocketClass;
  /** binaryType of every socket (default 'blob', as a browser's). */
  binaryType?: string;
}

/** The details of a 'reconnecting' event. */
export interface ReconnectingDetail {
  attempt: number;
  delay: number;
  code: number;
  reason: string;
}

function closeEvent(code: number, reason: string): Event {
  const Close = (globalThis as { CloseEvent?: new (type: string, init: object) => Event }).CloseEvent;
  if (Close !== undefined) return new Close('close', { code, reason, wasClean: code !== 1006 });
  return Object.assign(new Event('close'), { code, reason, wasClean: code !== 1006 });
}

/**
 * Events: 'open' on every open (after beforeFlush and the queued sends),
 * 'message' (MessageEvent), 'reconnecting' (CustomEvent, detail
 * { attempt, delay, code, reason }), 'error' for each failure, 'close'
 * (CloseEvent) once, at the end. on<event> properties as on a WebSocket.
 */
export class ReconnectingWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly url: string;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onreconnecting: ((event: CustomEvent<ReconnectingDetail>) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onclose: ((event: Event) => void) | null = null;
  readonly #reconnector: Reconnector<WhatwgSocket>;

  constructor(url: string | URL, protocols?: string | string[], options: WebReconnectingOptions = {}) {
    super();
    this.url = String(url);
    const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WhatwgSocketClass }).WebSocket;
    if (Socket === undefined) throw new TypeError('No WebSocket class: pass options.WebSocket');
    const dial = (events: AttemptEvents): WhatwgSocket => {
      const ws = protocols === undefined ? new Socket(this.url) : new Socket(this.url, protocols);
      if (options.binaryType !== undefined) ws.binaryType = options.binaryType;
      ws.addEventListener('open', () => events.open());
      ws.addEventListener('message', (event: MessageEvent) => events.message(event.data, typeof event.data !== 'string'));
      ws.addEventListener('error', () => events.error(new Error('WebSocket error')));
      ws.addEventListener('close', (event: { code: number; reason: string }) => events.close({ code: event.code, reason: event.reason, opened: false }));
      return ws;
    };
    this.#reconnector = new Reconnector(dial, options, {
      opened: () => this.#fire(new Event('open'), this.onopen),
      message: (data) => this.#fire(new MessageEvent('message', { data }), this.onmessage),
      reconnecting: (attempt, delay, info) =>
        this.#fire(new CustomEvent<ReconnectingDetail>('reconnecting', { detail: { attempt, delay, code: info.code, reason: info.reason } }), this.onreconnecting),
      error: () => this.#fire(new Event('error'), this.onerror),
      closed: (code, reason) => this.#fire(closeEvent(code, reason), this.onclose),
    });
  }

  #fire<E extends Event>(event: E, handler: ((event: E) => void) | null): void {
    handler?.call(this, event);
    this.dispatchEvent(event);
  }

  get readyState(): number {
    return this.#reconnector.readyState;
  }

  /** The WebSocket of the current attempt (null while waiting to reconnect). */
  get socket(): WhatwgSocket | null {
    return this.#reconnector.current;
  }

  get queuedMessages(): number {
    return this.#reconnector.queuedMessages;
  }

  get queuedBytes(): number {
    return this.#reconnector.queuedBytes;
  }

  send(data: Payload): void {
    this.#reconnector.send(data);
  }

  /** While waiting to reconnect: dial now instead (true); otherwise nothing happens (false). */
  reconnectNow(): boolean {
    return this.#reconnector.reconnectNow();
  }

  close(code?: number, reason?: string): void {
    this.#reconnector.close(code, reason);
  }
}
