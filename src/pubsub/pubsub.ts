/**
 * Topics for one server: subscriptions, and publications encoded once and
 * written as the same bytes to every subscriber (server frames are not
 * masked, so that is allowed). Compressed publications are compressed once
 * per compression setting, when subscribers' transforms allow sharing.
 *
 * Backpressure: a publication is a send like any other, so the connection's
 * maxBackpressure and backpressurePolicy apply (Driver.admits): a subscriber
 * holding more unsent data than the limit gets nothing more; with 'close'
 * (default) it is closed with 1008 so it knows it missed messages, with 'drop'
 * or 'error' the publication skips it. Either way a stalled reader cannot make
 * the server's memory grow without bound.
 */
import type { EventEmitter } from 'node:events';
import { DEFAULTS, PreparedMessage } from '../protocol/index.js';
import { toBuffer } from '../node/binary-data.js';
import { ReadyState } from '../node/ready-state.js';
import { driverOf, type WebSocket } from '../node/websocket.js';
import type { AdapterStatus } from '../node/server-stats.js';
import { InProcessAdapter, type PubSubAdapter, type Publication } from './adapter.js';
import { TopicRegistry } from './topic-registry.js';

export type { BackpressurePolicy } from '../protocol/index.js';
export const DEFAULT_MAX_BACKPRESSURE = DEFAULTS.maxBackpressure;

export interface PublishOptions {
  /** Send as a binary message (default: true for Buffers, false for strings). */
  binary?: boolean;
  /** Compress for subscribers that negotiated permessage-deflate (default false). */
  compress?: boolean;
  /** A connection that must not receive it (usually the sender). */
  except?: WebSocket | null;
}

export interface PubSubOptions {
  adapter?: PubSubAdapter | undefined;
}

export class PubSub {
  readonly registry: TopicRegistry<WebSocket>;
  readonly adapter: PubSubAdapter;
  /** Publications made here, and writes of publications (local and remote) to subscribers. */
  publications = 0;
  deliveries = 0;
  /**
   * A subscriber's 'close' listener, from its first topic to its last: one
   * function for all (EventEmitter calls it with the connection as `this`),
   * so it can be removed again and costs no closure per connection.
   */
  private readonly forget: (this: WebSocket) => void;

  /** `server` emits 'close' when it shuts down: the adapter is closed then. */
  constructor(server: EventEmitter, options: PubSubOptions) {
    this.adapter = options.adapter ?? new InProcessAdapter();
    const registry = (this.registry = new TopicRegistry((topic, interested) => {
      if (interested) this.adapter.subscribe(topic);
      else this.adapter.unsubscribe(topic);
    }));
    this.forget = function (this: WebSocket) {
      registry.removeAll(this);
    };
    this.adapter.attach((publication) => this.deliver(publication));
    server.once('close', () => void this.adapter.close());
  }

  subscribe(ws: WebSocket, topic: string): boolean {
    checkTopic(topic);
    if (ws.readyState !== ReadyState.OPEN) return false;
    if (!this.registry.hasTopics(ws)) ws.once('close', this.forget);
    return this.registry.subscribe(ws, topic);
  }

  unsubscribe(ws: WebSocket, topic: string): boolean {
    if (!this.registry.unsubscribe(ws, topic)) return false;
    // Left its last topic: a later subscribe adds the listener again.
    if (!this.registry.hasTopics(ws)) ws.removeListener('close', this.forget);
    return true;
  }

  /** Publish to local subscribers and, through the adapter, to other nodes. Returns local deliveries. */
  publish(topic: string, data: unknown, options: PublishOptions = {}): number {
    checkTopic(topic);
    this.publications++;
    const message = prepare(data, options);
    const subscribers = this.registry.subscribers(topic);
    const delivered = subscribers ? this.fanOut(subscribers, message, options.except ?? null) : 0;
    this.adapter.publish({ topic, data: message.data, binary: message.binary });
    return delivered;
  }

  /** Send to every given connection (closed ones are skipped), encoded once. Local only. */
  broadcast(targets: Iterable<WebSocket>, data: unknown, options: PublishOptions = {}): number {
    return this.fanOut(targets, prepare(data, options), options.except ?? null);
  }

  /** Send a prepared message to every given connection. Returns deliveries. */
  private fanOut(targets: Iterable<WebSocket>, message: PreparedMessage, except: WebSocket | null): number {
    let delivered = 0;
    for (const ws of targets) {
      if (ws === except || ws.readyState !== ReadyState.OPEN) continue;
      const driver = driverOf(ws);
      if (driver !== null && driver.admits(undefined, true) && driver.connection.sendPrepared(message)) delivered++;
    }
    this.deliveries += delivered;
    return delivered;
  }

  /** A publication from another node: local subscribers only. */
  private deliver(publication: Publication): void {
    const subscribers = this.registry.subscribers(publication.topic);
    if (subscribers) this.fanOut(subscribers, new PreparedMessage(publication.data, publication.binary), null);
  }
}

/** The adapter's state for stats(): adapters without status() are taken as connected. */
export function adapterStatus(adapter: PubSubAdapter): AdapterStatus {
  return adapter.status?.() ?? { name: adapter.constructor.name, connected: true, reconnects: 0, dropped: 0 };
}

/** What users publish, encoded once: numbers go as text, as with ws.send. */
function prepare(data: unknown, options: PublishOptions): PreparedMessage {
  if (typeof data === 'number') data = String(data);
  return new PreparedMessage(toBuffer(data), options.binary ?? typeof data !== 'string', options.compress ?? false);
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) throw new TypeError('A topic must be a non-empty string');
}
