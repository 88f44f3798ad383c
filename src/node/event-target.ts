/**
 * The EventTarget-style part of ws's WebSocket API (addEventListener,
 * removeEventListener, onopen/onmessage/onclose/onerror), layered on the
 * EventEmitter events. Text messages arrive as strings here, as in browsers
 * and ws. The full WHATWG WebSocket (a real EventTarget) is in src/web.
 */
import type { EventEmitter } from 'node:events';
import type { WebSocket } from './websocket.js';

const kTarget = Symbol('hyperws.target');
type Targeted = { [kTarget]: unknown };
const kListener = Symbol('hyperws.listener');
const kForOnAttribute = Symbol('hyperws.onAttribute');

export class WsEvent {
  readonly type: string;
  constructor(type: string) {
    this.type = type;
    // Kept out of the class's type, so ws-typed events (./WebSocketEventMap) and these classes match.
    (this as unknown as Targeted)[kTarget] = null;
  }
  get target(): unknown {
    return (this as unknown as Targeted)[kTarget];
  }
}

export class WsMessageEvent extends WsEvent {
  readonly data: unknown;
  constructor(type: string, init: { data?: unknown } = {}) {
    super(type);
    this.data = init.data ?? null;
  }
}

export class WsCloseEvent extends WsEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? '';
    this.wasClean = init.wasClean ?? false;
  }
}

export class WsErrorEvent extends WsEvent {
  readonly error: unknown;
  readonly message: string;
  constructor(type: string, init: { error?: unknown; message?: string } = {}) {
    super(type);
    this.error = init.error ?? null;
    this.message = init.message ?? '';
  }
}

type Listener = ((event: any) => void) | { handleEvent(event: any): void };
type Wrapped = ((...args: any[]) => void) & { [kListener]?: Listener; [kForOnAttribute]?: boolean };

/** What a message event carries: text as a string, binary per binaryType (ws's `WebSocket.Data`). */
export type Data = string | Buffer | ArrayBuffer | Buffer[];

// The events as ws's types describe them (`WebSocket.Event`, `.MessageEvent`...):
// listeners are typed with these; the objects passed are the classes above.
export interface WebSocketEvent {
  type: string;
  target: WebSocket;
}
export interface WebSocketErrorEvent extends WebSocketEvent {
  error: any;
  message: string;
}
export interface WebSocketCloseEvent extends WebSocketEvent {
  wasClean: boolean;
  code: number;
  reason: string;
}
export interface WebSocketMessageEvent extends WebSocketEvent {
  data: Data;
}
export interface WebSocketEventMap {
  open: WebSocketEvent;
  error: WebSocketErrorEvent;
  close: WebSocketCloseEvent;
  message: WebSocketMessageEvent;
}
export interface EventListenerOptions {
  once?: boolean | undefined;
}

export interface WsEventTargetMethods {
  addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: ((event: WebSocketEventMap[K]) => void) | { handleEvent(event: WebSocketEventMap[K]): void },
    options?: EventListenerOptions,
  ): void;
  removeEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: ((event: WebSocketEventMap[K]) => void) | { handleEvent(event: WebSocketEventMap[K]): void },
  ): void;
  onopen: ((event: WebSocketEvent) => void) | null;
  onmessage: ((event: WebSocketMessageEvent) => void) | null;
  onclose: ((event: WebSocketCloseEvent) => void) | null;
  onerror: ((event: WebSocketErrorEvent) => void) | null;
}

type EmitterWithClose = EventEmitter;
/** Did the connection close cleanly? (the driver's lifecycle answers; see websocket.ts) */
type WasClean = (target: EventEmitter) => boolean;

function call(listener: Listener, target: unknown, event: WsEvent): void {
  if (typeof listener === 'object' && typeof listener.handleEvent === 'function') listener.handleEvent.call(listener, event);
  else (listener as (e: WsEvent) => void).call(target, event);
}

function wrap(type: string, listener: Listener, target: EmitterWithClose, wasCleanOf: WasClean): Wrapped | null {
  let wrapped: Wrapped;
  switch (type) {
    case 'message':
      wrapped = (data: unknown, isBinary: boolean) => {
        const event = new WsMessageEvent('message', { data: isBinary ? data : String(data) });
        (event as unknown as Targeted)[kTarget] = target;
        call(listener, target, event);
      };
      break;
    case 'close':
      wrapped = (code: number, reason: Buffer) => {
        const wasClean = wasCleanOf(target);
        const event = new WsCloseEvent('close', { code, reason: reason.toString(), wasClean });
        (event as unknown as Targeted)[kTarget] = target;
        call(listener, target, event);
      };
      break;
    case 'error':
      wrapped = (error: Error) => {
        const event = new WsErrorEvent('error', { error, message: error.message });
        (event as unknown as Targeted)[kTarget] = target;
        call(listener, target, event);
      };
      break;
    case 'open':
      wrapped = () => {
        const event = new WsEvent('open');
        (event as unknown as Targeted)[kTarget] = target;
        call(listener, target, event);
      };
      break;
    default:
      return null;
  }
  wrapped[kListener] = listener;
  return wrapped;
}

export function addWsEventTargetMethods(proto: object, wasCleanOf: WasClean): void {
  const methods = {
    addEventListener(this: EmitterWithClose, type: string, listener: Listener, options: { once?: boolean } = {}): void {
      for (const existing of this.listeners(type) as Wrapped[]) {
        if (existing[kListener] === listener && !existing[kForOnAttribute]) return;
      }
      const wrapped = wrap(type, listener, this, wasCleanOf);
      if (wrapped === null) return;
      if (options.once) this.once(type, wrapped);
      else this.on(type, wrapped);
    },
    removeEventListener(this: EmitterWithClose, type: string, listener: Listener): void {
      for (const existing of this.listeners(type) as Wrapped[]) {
        if (existing[kListener] === listener && !existing[kForOnAttribute]) {
          this.removeListener(type, existing);
          break;
        }
      }
    },
  };
  Object.assign(proto, methods);
  for (const type of ['open', 'error', 'close', 'message']) {
    Object.defineProperty(proto, `on${type}`, {
      configurable: true,
      enumerable: true,
      get(this: EmitterWithClose) {
        for (const existing of this.listeners(type) as Wrapped[]) if (existing[kForOnAttribute]) return existing[kListener];
        return null;
      },
      set(this: EmitterWithClose, handler: Listener | null) {
        for (const existing of this.listeners(type) as Wrapped[]) {
          if (existing[kForOnAttribute]) {
            this.removeListener(type, existing);
            break;
          }
        }
        if (typeof handler !== 'function') return;
        const wrapped = wrap(type, handler, this, wasCleanOf)!;
        wrapped[kForOnAttribute] = true;
        this.on(type, wrapped);
      },
    });
  }
}
