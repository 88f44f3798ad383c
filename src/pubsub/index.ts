/** Topics (publish/subscribe), composed onto the Node classes, and the adapters that carry them across nodes. */
export { WebSocket, WebSocketServer, type ServerOptions } from './topics.js';
export { DEFAULT_MAX_BACKPRESSURE, type BackpressurePolicy, type PublishOptions } from './pubsub.js';
export { InProcessAdapter, type PubSubAdapter, type Publication } from './adapter.js';
export { RedisAdapter, redisAdapter, type RedisAdapterOptions } from './redis-adapter.js';
