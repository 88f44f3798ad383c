/**
 * hyperws: the package entry. Named exports for everything, plus a ws-style
 * default export: the WebSocket class carrying WebSocketServer (also as
 * Server), createWebSocketStream and WebSocket itself, so
 * `import WebSocket from 'hyperws'` and `const WebSocket = require('hyperws')`
 * work as they do with ws.
 */
import { createWebSocketStream } from './node/websocket-stream.js';
import { WebSocket, WebSocketServer } from './pubsub/topics.js';

export {
  DEFAULTS,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_HANDSHAKE_TIMEOUT,
  abortHandshake,
  createWebSocketStream,
  ReadyState,
  WsEvent,
  WsMessageEvent,
  WsCloseEvent,
  WsErrorEvent,
  type SendOptions,
  type Callback,
  type ClientOptions,
  type VerifyClient,
  type VerifyClientCallback,
  type VerifyClientInfo,
  type BinaryType,
  type HeartbeatOptions,
} from './node/index.js';
export { WebSocket, WebSocketServer, type ServerOptions } from './pubsub/topics.js';
export { CloseCode, ProtocolError, type ProtocolErrorCode } from './protocol/index.js';
export { WebSocketServer as Server };
export {
  InProcessAdapter,
  RedisAdapter,
  redisAdapter,
  type RedisAdapterOptions,
  DEFAULT_MAX_BACKPRESSURE,
  type PubSubAdapter,
  type Publication,
  type PublishOptions,
  type BackpressurePolicy,
} from './pubsub/index.js';
export type { PerMessageDeflateOptions } from './extensions/permessage-deflate/index.js';
export { WebSocket as WHATWGWebSocket, CloseEvent, type WebSocketNodeOptions } from './web/index.js';

type WebSocketWithStatics = typeof WebSocket & {
  WebSocket: typeof WebSocket;
  WebSocketServer: typeof WebSocketServer;
  Server: typeof WebSocketServer;
  createWebSocketStream: typeof createWebSocketStream;
};

const DefaultExport = WebSocket as WebSocketWithStatics;
DefaultExport.WebSocket = WebSocket;
DefaultExport.WebSocketServer = WebSocketServer;
DefaultExport.Server = WebSocketServer;
DefaultExport.createWebSocketStream = createWebSocketStream;

export default DefaultExport;
