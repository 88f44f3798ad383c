/**
 * Public surface of the opening handshake: pure helpers shared by the Node
 * server/client adapters. Nothing here touches a socket.
 */
export { WS_GUID, computeAccept, generateKey, isValidKey } from './accept-key.js';
export {
  HeaderLimitError,
  HeaderSyntaxError,
  formatExtensions,
  headerHasToken,
  isToken,
  parseExtensions,
  parseTokenList,
  type ExtensionLimits,
  type ExtensionOffer,
  type ExtensionParam,
} from './header-grammar.js';
export {
  MAX_EXTENSION_OFFERS,
  MAX_EXTENSION_PARAMS,
  MAX_SUBPROTOCOLS,
  STATUS_TEXT,
  buildAcceptHeaderLines,
  buildAcceptResponse,
  buildRejectResponse,
  isOriginAllowed,
  offeredExtensions,
  offeredSubprotocols,
  selectSubprotocol,
  serializeHeaderLines,
  validateUpgradeRequest,
  type AcceptResponseOptions,
  type HandshakeRejection,
  type RejectHeaders,
  type UpgradeRequestRules,
  type UpgradeRequestInfo,
  type UpgradeRequestLike,
} from './server-handshake.js';
export {
  buildClientRequestHeaders,
  validateNegotiation,
  validateUpgradeResponse,
  type ClientRequestOptions,
  type UpgradeExpectations,
  type UpgradeResponseLike,
  type UpgradeResponseResult,
} from './client-handshake.js';
export { parseWebSocketUrl, pathnameOf, unixSocketTarget, webSocketUrl, type WebSocketUrlOptions, type WebSocketUrlResult } from './websocket-url.js';
export { findHeadEnd, isPlausibleRequestStart, parseRequestHead, type RequestHead, type RequestHeadLimits, type RequestHeadResult } from './request-head.js';
export {
  buildExtendedConnectHeaderLines,
  buildExtendedConnectRejection,
  buildExtendedConnectRequest,
  validateExtendedConnectResponse,
  type ExtendedConnectRequestOptions,
  http2ResponseHeaders,
  isExtendedConnect,
  validateExtendedConnect,
  type ExtendedConnectAcceptOptions,
  type ExtendedConnectInfo,
  type Http2Headers,
} from './extended-connect.js';
