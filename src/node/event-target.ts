/**
 * The EventTarget-style part of ws's WebSocket API (addEventListener,
 * removeEventListener, onopen/onmessage/onclose/onerror), layered on the
 * EventEmitter events. Text messages arrive as strings here, as in browsers
 * and ws. The full WHATWG WebSocket (a real EventTarget) is in src/web.
 */
import type { EventEmitter } from 'node:events';

const kTarget = Symbol('hyperws.target');
const kListener = Symbol('hyperws.listener');
const kForOnAttribute = Symbol('hyperws.onAttribute');

export class WsEvent {
  readonly type: string;
  [kTarget]: unknown = null;
  constructor(type: string) {
    this.type = type;
  }
  get target(): unknown {
    return this[kTarget];
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

export interface WsEventTargetMethods {
  addEventListener(type: string, listener: Listener, options?: { once?: boolean }): void;
  removeEventListener(type: string, listener: Listener): void;
  onopen: ((event: WsEvent) => void) | null;
  onmessage: ((event: WsMessageEvent) => void) | null;
  onclose: ((event: WsCloseEvent) => void) | null;
  onerror: ((event: WsErrorEvent) => void) | null;
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
        event[kTarget] = target;
        call(listener, target, event);
      };
      break;
    case 'close':
      wrapped = (code: number, reason: Buffer) => {
        const wasClean = wasCleanOf(target);
        const event = new WsCloseEvent('close', { code, reason: reason.toString(), wasClean });
        event[kTarget] = target;
        call(listener, target, event);
      };
      break;
    case 'error':
      wrapped = (error: Error) => {
        const event = new WsErrorEvent('error', { error, message: error.message });
        event[kTarget] = target;
        call(listener, target, event);
      };
      break;
    case 'open':
      wrapped = () => {
        const event = new WsEvent('open');
        event[kTarget] = target;
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
