/** The Node binding: server, client and stream over node:net/tls/http. */
export { WebSocket, DEFAULT_CLOSE_TIMEOUT, type SendOptions, type Callback, type ClientOptions } from './websocket.js';
export {
  WebSocketServer,
  DEFAULT_HANDSHAKE_TIMEOUT,
  abortHandshake,
  type ServerOptions,
  type VerifyClient,
  type VerifyClientCallback,
  type VerifyClientInfo,
} from './websocket-server.js';
export { createWebSocketStream } from './websocket-stream.js';
export { ReadyState } from './ready-state.js';
export type { BinaryType } from './binary-data.js';
export type { HeartbeatOptions } from './heartbeat.js';
export { WsEvent, WsMessageEvent, WsCloseEvent, WsErrorEvent } from './event-target.js';
