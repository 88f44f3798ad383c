/**
 * hyperws: the package entry. Named exports for everything, plus a ws-style
 * default export: the WebSocket class carrying WebSocketServer (also as
 * Server), createWebSocketStream, Sender (ws's internal frame encoder, which
 * socket.io calls: see node/ws-compat.ts) and WebSocket itself, so
 * `import WebSocket from 'hyperws'` and `const WebSocket = require('hyperws')`
 * work as they do with ws.
 *
 * Types: the default export is also a type (the WebSocket instance) and a
 * namespace of ws's type names (`WebSocket.RawData`, `WebSocket.ServerOptions`,
 * `WebSocket.Server<typeof MyWebSocket>`...), so code written for @types/ws
 * compiles with only the import changed. The same names are named exports.
 * The CommonJS declaration (dist/cjs/index.d.cts) is generated from this
 * module's exports by scripts/build.mjs.
 */
import type { IncomingMessage, ClientRequest } from 'node:http';
import { createWebSocketStream } from './node/websocket-stream.js';
import { Sender } from './node/ws-compat.js';
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
  type BackpressureError,
  type ConnectionLimits,
  ProxyError,
  type ProxyErrorCode,
  type ProxyOptions,
  Sender,
  type FrameOptions,
  type SetSocketOptions,
} from './node/index.js';
export type { RawData } from './node/binary-data.js';
export type {
  Data,
  WebSocketEvent as Event,
  WebSocketErrorEvent as ErrorEvent,
  WebSocketMessageEvent as MessageEvent,
  WebSocketEventMap,
  EventListenerOptions,
} from './node/event-target.js';
// `CloseEvent` is taken by the WHATWG class (below); ws's close event type is `WebSocket.CloseEvent`.
export type { WebSocketCloseEvent } from './node/event-target.js';
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
export {
  ReconnectingWebSocket,
  QueueFullError,
  type ReconnectingWebSocketOptions,
  type CloseInfo as ReconnectCloseInfo,
} from './reconnect/index.js';

type WebSocketWithStatics = typeof WebSocket & {
  WebSocket: typeof WebSocket;
  WebSocketServer: typeof WebSocketServer;
  Server: typeof WebSocketServer;
  createWebSocketStream: typeof createWebSocketStream;
  /** ws's `WebSocket.Sender`, for packages that pre-encode frames with `Sender.frame()` (socket.io). */
  Sender: typeof Sender;
};

const DefaultExport = WebSocket as WebSocketWithStatics;
DefaultExport.WebSocket = WebSocket;
DefaultExport.WebSocketServer = WebSocketServer;
DefaultExport.Server = WebSocketServer;
DefaultExport.createWebSocketStream = createWebSocketStream;
DefaultExport.Sender = Sender;

/** `import WebSocket from 'hyperws'; let ws: WebSocket` is our WebSocket, as with ws. */
type DefaultExport = WebSocket;

type WebSocketClass = typeof WebSocket;
type ServerClass<T extends WebSocketClass, R extends typeof IncomingMessage> = WebSocketServer<T, R>;

/** ws's type names under the default export (types only: no runtime object). */
declare namespace DefaultExport {
  type WebSocket = InstanceType<WebSocketClass>;
  type WebSocketServer<T extends WebSocketClass = WebSocketClass, R extends typeof IncomingMessage = typeof IncomingMessage> = ServerClass<T, R>;
  type Server<T extends WebSocketClass = WebSocketClass, R extends typeof IncomingMessage = typeof IncomingMessage> = ServerClass<T, R>;
  type ServerOptions<T extends WebSocketClass = WebSocketClass, R extends typeof IncomingMessage = typeof IncomingMessage> = import('./pubsub/topics.js').ServerOptions<T, R>;
  type ClientOptions = import('./node/index.js').ClientOptions;
  type PerMessageDeflateOptions = import('./extensions/permessage-deflate/index.js').PerMessageDeflateOptions;
  type RawData = import('./node/binary-data.js').RawData;
  type Data = import('./node/event-target.js').Data;
  type Event = import('./node/event-target.js').WebSocketEvent;
  type ErrorEvent = import('./node/event-target.js').WebSocketErrorEvent;
  type CloseEvent = import('./node/event-target.js').WebSocketCloseEvent;
  type MessageEvent = import('./node/event-target.js').WebSocketMessageEvent;
  type WebSocketEventMap = import('./node/event-target.js').WebSocketEventMap;
  type EventListenerOptions = import('./node/event-target.js').EventListenerOptions;
  type CertMeta = string | string[] | Buffer | Buffer[];
  type VerifyClientCallbackSync<Request extends IncomingMessage = IncomingMessage> = (info: { origin: string; secure: boolean; req: Request }) => boolean;
  type VerifyClientCallbackAsync<Request extends IncomingMessage = IncomingMessage> = (
    info: { origin: string; secure: boolean; req: Request },
    callback: import('./node/index.js').VerifyClientCallback,
  ) => void;
  type FinishRequestCallback = (request: ClientRequest, websocket: WebSocket) => void;
  type AddressInfo = { address: string; family: string; port: number };
}

export default DefaultExport;
