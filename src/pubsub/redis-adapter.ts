/**
 * Scale-out on Redis pub/sub: every node publishes its publications to a
 * Redis channel per topic and subscribes to the channels of the topics it
 * has local subscribers for. Uses the `ioredis` package, an optional peer
 * dependency loaded only when this adapter is created.
 *
 * Guarantees (Redis pub/sub's): at-most-once delivery; a node that is
 * disconnected from Redis misses what was published meanwhile (while the
 * publisher connection is down, local publications are not forwarded:
 * `dropped` counts them); order is kept per publishing node, not across
 * nodes. A node never receives its own publication twice: each message
 * carries its node id and the node skips its own.
 *
 * Wire format of a message: [1 byte version = 1][1 byte flags: bit 0 =
 * binary][16 bytes node id][payload]. Channel: prefix + topic.
 */
import { randomBytes } from 'node:crypto';
import type { PubSubAdapter, Publication } from './adapter.js';
import type { AdapterStatus } from '../node/server-stats.js';

export interface RedisAdapterOptions {
  /** Redis URL, e.g. redis://127.0.0.1:6379 (default). */
  url?: string;
  /** Channel prefix (default 'hyperws:'); nodes must agree on it. */
  prefix?: string;
  /** Called with connection errors (default: one line on stderr per distinct message); not after close(). */
  onError?: (error: Error) => void;
}

/** The part of an ioredis client this adapter uses. */
interface RedisClient {
  status: string;
  publish(channel: string | Buffer, message: Buffer): Promise<number>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

const VERSION = 1;
/** The message `ready` rejects with when close() came before Redis was reached. */
export const CLOSED_BEFORE_READY = 'The Redis adapter was closed before it connected';
const HEADER = 18;

export class RedisAdapter implements PubSubAdapter {
  /**
   * Resolves once both Redis connections are ready. Rejects if ioredis is
   * missing, or if close() came first (CLOSED_BEFORE_READY).
   */
  readonly ready: Promise<void>;
  /** Local publications not forwarded because Redis was unreachable. */
  dropped = 0;
  /** Times either connection to Redis was lost and made again. */
  reconnects = 0;
  /** The publishing connection (usable for other commands, e.g. keeping history). */
  client: RedisClient | null = null;
  private subscriber: RedisClient | null = null;
  private readonly nodeId = randomBytes(16);
  private readonly prefix: string;
  private readonly topics = new Set<string>();
  private deliver: ((publication: Publication) => void) | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Rejects `ready` when close() comes while the connections are still being made. */
  private abandonReady: ((error: Error) => void) | null = null;
  /** The ioredis constructor, once imported. */
  private readonly loaded: Promise<RedisConstructor>;
  private readonly onError: (error: Error) => void;

  constructor(private readonly options: RedisAdapterOptions = {}) {
    this.prefix = options.prefix ?? 'hyperws:';
    const reported = new Set<string>();
    const report =
      options.onError ??
      ((error: Error) => {
        if (reported.has(error.message)) return;
        reported.add(error.message);
        process.stderr.write(`hyperws redis adapter: ${error.message}\n`);
      });
    // After close(), commands it cancelled fail ("Connection is closed."): that is no news.
    this.onError = (error) => {
      if (!this.closed) report(error);
    };
    this.loaded = loadIoredis();
    this.ready = this.connect();
    this.ready.catch((error: Error) => this.onError(error)); // closing first is not reported (see onError)
  }

  private async connect(): Promise<void> {
    const Redis = await this.loaded;
    if (this.closed) throw new Error(CLOSED_BEFORE_READY);
    const url = this.options.url ?? 'redis://127.0.0.1:6379';
    const common = { autoResubscribe: true, retryStrategy: (n: number) => Math.min(50 * n, 1000) };
    // Publications are dropped while the link is down (at-most-once), so the
    // publisher never queues; subscriptions wait for the link to come back.
    const client = new Redis(url, { ...common, maxRetriesPerRequest: 1, connectionName: 'hyperws-pub' });
    const subscriber = new Redis(url, { ...common, maxRetriesPerRequest: null, connectionName: 'hyperws-sub' });
    this.client = client;
    this.subscriber = subscriber;
    client.on('error', (error: Error) => this.onError(error));
    // Every 'ready' after the first is a link to Redis made again.
    for (const c of [client, subscriber]) {
      let readyBefore = false;
      c.on('ready', () => {
        if (readyBefore && !this.closed) this.reconnects++;
        readyBefore = true;
      });
    }
    subscriber.on('error', (error: Error) => this.onError(error));
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.receive(channel, message));
    if (this.topics.size > 0) subscriber.subscribe(...[...this.topics].map((t) => this.prefix + t)).catch(this.onError);
    // close() settles this too: a client closed while it waits to retry emits nothing more.
    const closedFirst = new Promise<never>((_, reject) => (this.abandonReady = reject));
    await Promise.race([Promise.all([readyOf(client), readyOf(subscriber)]), closedFirst]);
    this.abandonReady = null;
  }

  status(): AdapterStatus {
    const up = (c: RedisClient | null) => c !== null && c.status === 'ready';
    return { name: 'redis', connected: up(this.client) && up(this.subscriber), reconnects: this.reconnects, dropped: this.dropped };
  }

  attach(deliver: (publication: Publication) => void): void {
    this.deliver = deliver;
  }

  subscribe(topic: string): void {
    this.topics.add(topic);
    this.subscriber?.subscribe(this.prefix + topic).catch(this.onError);
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic);
    this.subscriber?.unsubscribe(this.prefix + topic).catch(this.onError);
  }

  publish(publication: Publication): void {
    const client = this.client;
    if (client === null || client.status !== 'ready') {
      this.dropped++;
      return;
    }
    const message = Buffer.allocUnsafe(HEADER + publication.data.length);
    message[0] = VERSION;
    message[1] = publication.binary ? 1 : 0;
    this.nodeId.copy(message, 2);
    publication.data.copy(message, HEADER);
    client.publish(this.prefix + publication.topic, message).catch((error: Error) => {
      this.dropped++;
      this.onError(error);
    });
  }

  /** Ends both connections; every call returns the same promise. */
  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.abandonReady?.(new Error(CLOSED_BEFORE_READY));
    // Not `ready`: it never settles while Redis is unreachable. Once ioredis
    // is loaded, connect() (which reacted to `loaded` first) has created the
    // clients, or returned because we are closed.
    await this.loaded.catch(() => {});
    await Promise.all([quit(this.client), quit(this.subscriber)]);
  }

  private receive(channel: Buffer, message: Buffer): void {
    if (message.length < HEADER || message[0] !== VERSION) return; // not ours: ignore
    if (message.subarray(2, HEADER).equals(this.nodeId)) return; // our own: delivered locally already
    const name = channel.toString();
    if (!name.startsWith(this.prefix)) return;
    this.deliver?.({ topic: name.slice(this.prefix.length), data: message.subarray(HEADER), binary: (message[1]! & 1) === 1 });
  }
}

/** Create a Redis adapter: `new WebSocketServer({ port, adapter: redisAdapter({ url }) })`. */
export function redisAdapter(options: RedisAdapterOptions = {}): RedisAdapter {
  return new RedisAdapter(options);
}

type RedisConstructor = new (url: string, options: object) => RedisClient;

async function loadIoredis(): Promise<RedisConstructor> {
  try {
    const mod = (await import('ioredis')) as unknown as { default: RedisConstructor; Redis?: RedisConstructor };
    return mod.Redis ?? mod.default;
  } catch (cause) {
    throw new Error('The Redis adapter needs the "ioredis" package: npm install ioredis', { cause });
  }
}

function readyOf(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

async function quit(client: RedisClient | null): Promise<void> {
  if (client === null) return;
  // QUIT would wait in the offline queue for a Redis that may never come
  // back (and the client would keep reconnecting meanwhile): just disconnect.
  if (client.status !== 'ready') return client.disconnect();
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
