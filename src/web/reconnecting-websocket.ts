/**
 * hyperws/web's ReconnectingWebSocket: the browser flavour
 * (src/reconnect/web.ts) with this package's WHATWG WebSocket as the
 * default socket class, so it runs in Node as it does in a browser.
 */
import { ReconnectingWebSocket as BrowserReconnectingWebSocket, type WebReconnectingOptions, type WhatwgSocketClass } from '../reconnect/web.js';
import { WebSocket } from './websocket.js';

export class ReconnectingWebSocket extends BrowserReconnectingWebSocket {
  constructor(url: string | URL, protocols?: string | string[], options: WebReconnectingOptions = {}) {
    super(url, protocols, { WebSocket: WebSocket as unknown as WhatwgSocketClass, ...options });
  }
}
export type { WebReconnectingOptions, ReconnectingDetail } from '../reconnect/web.js';
