/**
 * hyperws/web's ReconnectingWebSocket: the browser flavour
 * (src/reconnect/web.ts) with this package's WHATWG WebSocket as the
 * default socket class, so it runs in Node as it does in a browser.
 * `nodeOptions` reach each attempt's WebSocket as its third constructor
 * argument (`{ http2: true }`, TLS options...).
 */
import { ReconnectingWebSocket as BrowserReconnectingWebSocket, type WebReconnectingOptions, type WhatwgSocketClass } from '../reconnect/web.js';
import { WebSocket, type WebSocketNodeOptions } from './websocket.js';

export interface NodeReconnectingOptions extends WebReconnectingOptions {
  /** Options of the underlying Node client for every attempt (the WebSocket's third argument): `http2`, `ca`, `headers`... */
  nodeOptions?: WebSocketNodeOptions;
}

export class ReconnectingWebSocket extends BrowserReconnectingWebSocket {
  constructor(url: string | URL, protocols?: string | string[], options: NodeReconnectingOptions = {}) {
    const { nodeOptions, ...rest } = options;
    super(url, protocols, { WebSocket: nodeOptions === undefined ? (WebSocket as unknown as WhatwgSocketClass) : withNodeOptions(nodeOptions), ...rest });
  }
}

/** A socket class that constructs the WebSocket with `nodeOptions`. */
function withNodeOptions(nodeOptions: WebSocketNodeOptions): WhatwgSocketClass {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols ?? [], nodeOptions);
    }
  } as unknown as WhatwgSocketClass;
}
export type { WebReconnectingOptions, ReconnectingDetail } from '../reconnect/web.js';
