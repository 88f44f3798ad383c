/** The Node binding: server, client and stream over node:net/tls/http. */
export { WebSocket, type SendOptions, type Callback, type ClientOptions } from './websocket.js';
import { DEFAULTS } from '../protocol/options.js';
export { DEFAULTS };
/** ws-era names of two DEFAULTS entries. */
export const DEFAULT_CLOSE_TIMEOUT: number = DEFAULTS.closeTimeout;
export const DEFAULT_HANDSHAKE_TIMEOUT: number = DEFAULTS.handshakeTimeout;
export {
  WebSocketServer,
  abortHandshake,
  type ServerOptions,
  type VerifyClient,
  type VerifyClientCallback,
  type VerifyClientInfo,
} from './websocket-server.js';
export { createWebSocketStream } from './websocket-stream.js';
export { ProxyError, type ProxyErrorCode } from './proxy/index.js';
export type { ProxyOptions } from './client-connect.js';
export { Sender, type FrameOptions, type SetSocketOptions } from './ws-compat.js';
export { ReadyState } from './ready-state.js';
export type { BinaryType } from './binary-data.js';
export type { HeartbeatOptions } from './heartbeat.js';
export type { BackpressureError, ConnectionLimits } from './connection-limits.js';
export { WsEvent, WsMessageEvent, WsCloseEvent, WsErrorEvent } from './event-target.js';
