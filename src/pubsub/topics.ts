/**
 * Topics composed onto the Node classes by subclassing, chosen at
 * construction: the package exports these two classes as its `WebSocket`
 * and `WebSocketServer`. Importing anything patches nothing.
 *
 * - WebSocket adds subscribe / unsubscribe / isSubscribed / topics (server
 *   side connections; a client has no server to subscribe on).
 * - WebSocketServer adds publish / broadcast / subscriberCount and the
 *   option adapter; the connections
 *   it accepts are this WebSocket class (or the user's subclass of it), linked
 *   to the server's PubSub when accepted.
 *
 * Owns: that composition only; topics and fan-out live in pubsub.ts and
 * topic-registry.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { defineReadyStateConstants } from '../node/ready-state.js';
import { WebSocket as NodeWebSocket } from '../node/websocket.js';
import { WebSocketServer as NodeWebSocketServer, type ServerOptions as NodeServerOptions } from '../node/websocket-server.js';
import type { PubSubAdapter } from './adapter.js';
import { PubSub, adapterStatus, type PublishOptions } from './pubsub.js';
import type { ServerStats } from '../node/server-stats.js';

export interface ServerOptions<T extends typeof WebSocket = typeof WebSocket, R extends typeof IncomingMessage = typeof IncomingMessage>
  extends NodeServerOptions<T, R> {
  /** Where publications go beyond this process (default: in-process only). */
  adapter?: PubSubAdapter;
}

// Set in the classes' static blocks: link an accepted connection to its server's topics; peek at them.
let link: (ws: WebSocket, hub: () => PubSub) => void;
let peek: (server: WebSocketServer) => PubSub | null;

export class WebSocket extends NodeWebSocket {
  /** The accepting server's topics (created on first use); null on a client. */
  #hub: (() => PubSub) | null = null;

  static {
    link = (ws, hub) => {
      ws.#hub = hub;
    };
    // The package's WebSocket is this class: ws's constants are its own properties too.
    defineReadyStateConstants(this);
    defineReadyStateConstants(this.prototype);
  }

  /** Subscribe this (server-side) connection to a topic; false if it already was or is not open. */
  subscribe(topic: string): boolean {
    return this.#pubsub().subscribe(this, topic);
  }

  unsubscribe(topic: string): boolean {
    return this.#hub !== null && this.#hub().unsubscribe(this, topic);
  }

  isSubscribed(topic: string): boolean {
    return this.#hub !== null && this.#hub().registry.isSubscribed(this, topic);
  }

  /** The topics this connection is subscribed to (a copy). */
  get topics(): ReadonlySet<string> {
    return this.#hub === null ? new Set() : this.#hub().registry.topicsOf(this);
  }

  #pubsub(): PubSub {
    if (this.#hub === null) throw new Error('Topics are only available on connections accepted by a WebSocketServer');
    return this.#hub();
  }
}

export class WebSocketServer<T extends typeof WebSocket = typeof WebSocket, R extends typeof IncomingMessage = typeof IncomingMessage> extends NodeWebSocketServer<
  T,
  R
> {
  #pubsub: PubSub | null = null;
  readonly #hub = (): PubSub => (this.#pubsub ??= new PubSub(this, this.options));
  declare readonly options: NodeWebSocketServer<T, R>['options'] & ServerOptions<T, R>;

  static {
    peek = (server) => server.#pubsub;
  }

  constructor(options: ServerOptions<T, R> = {}, callback?: () => void) {
    super({ ...options, WebSocket: options.WebSocket ?? (WebSocket as T) }, callback);
    // A server given an adapter closes it on close(), even if no topic was ever used.
    if (options.adapter !== undefined) this.#hub();
  }

  override handleUpgrade(req: InstanceType<R>, socket: Duplex, head: Buffer, callback: (ws: InstanceType<T>, req: InstanceType<R>) => void): void {
    super.handleUpgrade(req, socket, head, (ws, request) => {
      if (ws instanceof WebSocket) link(ws, this.#hub);
      callback(ws, request);
    });
  }

  /** Send to every subscriber of `topic`, here and (through the adapter) on other nodes. Returns local deliveries. */
  publish(topic: string, data: unknown, options?: PublishOptions): number {
    return this.#hub().publish(topic, data, options);
  }

  /** Send to every connected client of this server, encoded once. Returns deliveries. */
  broadcast(data: unknown, options?: PublishOptions): number {
    return this.#hub().broadcast(this.clients ?? [], data, options);
  }

  /** The server's numbers, with its topics' publications, deliveries and adapter state. */
  override stats(): ServerStats {
    const stats = super.stats();
    const pubsub = this.#pubsub;
    const adapter = pubsub?.adapter ?? null;
    stats.pubsub = {
      publications: pubsub?.publications ?? 0,
      deliveries: pubsub?.deliveries ?? 0,
      adapter: adapter === null ? { name: 'in-process', connected: true, reconnects: 0, dropped: 0 } : adapterStatus(adapter),
    };
    return stats;
  }

  /** Ready: the server is, and its adapter reaches its broker. */
  override isReady(): boolean {
    return super.isReady() && (this.#pubsub === null || adapterStatus(this.#pubsub.adapter).connected);
  }

  /** Local subscribers of a topic. */
  subscriberCount(topic: string): number {
    return this.#pubsub?.registry.subscriberCount(topic) ?? 0;
  }
}

/** The server's topics, if any were used (for tests and diagnostics). */
export function pubsubOf(server: WebSocketServer): PubSub | null {
  return peek(server);
}
