/** Topics (publish/subscribe) and the adapters that carry them across nodes. */
export { installPubSub } from './install.js';
export { DEFAULT_MAX_BACKPRESSURE, type BackpressurePolicy, type PublishOptions } from './pubsub.js';
export { InProcessAdapter, type PubSubAdapter, type Publication } from './adapter.js';
export { RedisAdapter, redisAdapter, type RedisAdapterOptions } from './redis-adapter.js';
