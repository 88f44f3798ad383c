/**
 * The WHATWG WebSocket API for Node: `WebSocket` (an EventTarget with the
 * browser's constructor, attributes, methods and events) and `CloseEvent`.
 */
export { WebSocket, type BinaryType, type WebSocketNodeOptions } from './websocket.js';
export { CloseEvent, type CloseEventInit } from './close-event.js';
export type { EventHandler } from './event-handler.js';
export { ReconnectingWebSocket, type WebReconnectingOptions, type NodeReconnectingOptions, type ReconnectingDetail } from './reconnecting-websocket.js';
export { QueueFullError } from '../reconnect/send-queue.js';
export {
  WebSocketStream,
  WebSocketError,
  type WebSocketStreamOptions,
  type WebSocketOpenInfo,
  type WebSocketCloseInfo,
} from './websocket-stream.js';
