/** Clients that reconnect: the Node flavour, and the shared pieces. */
export { ReconnectingWebSocket, type ReconnectingWebSocketOptions } from './node.js';
export { defaultShouldReconnect, parseRetryAfter, type CloseInfo, type ReconnectOptions } from './reconnector.js';
export { QueueFullError, type QueueLimits } from './send-queue.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
