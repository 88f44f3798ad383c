/**
 * Adds the topics API to the Node classes: ws.subscribe / unsubscribe /
 * isSubscribed / topics, and server.publish / broadcast / subscriberCount.
 * Node's classes know nothing of pub/sub (dependencies point one way); the
 * package entry calls installPubSub() once, and TypeScript sees the methods
 * through the declarations below.
 */
import { WebSocket } from '../node/websocket.js';
import { WebSocketServer } from '../node/websocket-server.js';
import type { PubSubAdapter } from './adapter.js';
import { PubSub, type BackpressurePolicy, type PublishOptions } from './pubsub.js';

declare module '../node/websocket.js' {
  interface WebSocket {
    /** Subscribe this (server-side) connection to a topic; false if it already was or is not open. */
    subscribe(topic: string): boolean;
    unsubscribe(topic: string): boolean;
    isSubscribed(topic: string): boolean;
    /** The topics this connection is subscribed to (a copy). */
    readonly topics: ReadonlySet<string>;
  }
}

declare module '../node/websocket-server.js' {
  interface WebSocketServer {
    /** Send to every subscriber of `topic`, here and (through the adapter) on other nodes. Returns local deliveries. */
    publish(topic: string, data: unknown, options?: PublishOptions): number;
    /** Send to every connected client of this server, encoded once. Returns deliveries. */
    broadcast(data: unknown, options?: PublishOptions): number;
    /** Local subscribers of a topic. */
    subscriberCount(topic: string): number;
    /** @internal */
    _pubsub?: PubSub;
  }
  interface ServerOptions {
    /** Where publications go beyond this process (default: in-process only). */
    adapter?: PubSubAdapter;
    /** Unsent bytes above which a subscriber gets no more publications (default 1 MiB). */
    maxBackpressure?: number;
    /** What happens to such a subscriber: 'close' with 1008 (default) or 'drop' the publication. */
    backpressurePolicy?: BackpressurePolicy;
  }
}

let installed = false;

function pubsubOf(server: WebSocketServer): PubSub {
  return (server._pubsub ??= new PubSub(server, {
    adapter: server.options.adapter,
    maxBackpressure: server.options.maxBackpressure,
    backpressurePolicy: server.options.backpressurePolicy,
  }));
}

function serverOf(ws: WebSocket): WebSocketServer {
  const server = ws._server;
  if (!(server instanceof WebSocketServer)) throw new Error('Topics are only available on connections accepted by a WebSocketServer');
  return server;
}

export function installPubSub(): void {
  if (installed) return;
  installed = true;
  const ws = WebSocket.prototype;
  ws.subscribe = function (this: WebSocket, topic: string) {
    return pubsubOf(serverOf(this)).subscribe(this, topic);
  };
  ws.unsubscribe = function (this: WebSocket, topic: string) {
    return this._topics?.has(topic) ? pubsubOf(serverOf(this)).unsubscribe(this, topic) : false;
  };
  ws.isSubscribed = function (this: WebSocket, topic: string) {
    return this._topics?.has(topic) ?? false;
  };
  Object.defineProperty(ws, 'topics', {
    configurable: true,
    get(this: WebSocket) {
      return new Set(this._topics ?? []);
    },
  });
  const server = WebSocketServer.prototype;
  server.publish = function (this: WebSocketServer, topic: string, data: unknown, options?: PublishOptions) {
    return pubsubOf(this).publish(topic, data, options);
  };
  server.broadcast = function (this: WebSocketServer, data: unknown, options?: PublishOptions) {
    return pubsubOf(this).broadcast(this.clients, data, options);
  };
  server.subscriberCount = function (this: WebSocketServer, topic: string) {
    return this._pubsub?.registry.subscriberCount(topic) ?? 0;
  };
  // The PubSub (which closes the adapter on 'close') is created on first use:
  // a server given an adapter but never used for topics must still close it.
  const close = server.close;
  server.close = function (this: WebSocketServer, callback?: (error?: Error) => void) {
    if (this.options.adapter !== undefined) pubsubOf(this);
    close.call(this, callback);
  };
}
