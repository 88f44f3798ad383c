/**
 * The adapter interface: how a server's topics reach other processes or
 * machines. The server tells its adapter which topics have local
 * subscribers (so it only listens to those) and hands it every local
 * publication; the adapter hands back publications from other nodes.
 *
 * Guarantees are the adapter's: the in-process default delivers locally
 * only; the Redis adapter (./redis-adapter.ts) gives at-most-once delivery
 * across nodes with Redis pub/sub ordering (per publisher connection).
 */

import type { AdapterStatus } from '../node/server-stats.js';

/** A publication as it travels between nodes. */
export interface Publication {
  topic: string;
  data: Buffer;
  binary: boolean;
}

export interface PubSubAdapter {
  /** Called once by the server: `deliver` fans a remote publication out to local subscribers. */
  attach(deliver: (publication: Publication) => void): void;
  /** A topic gained its first local subscriber. */
  subscribe(topic: string): void;
  /** A topic lost its last local subscriber. */
  unsubscribe(topic: string): void;
  /** A local publication, already delivered locally: forward it to the other nodes. */
  publish(publication: Publication): void;
  /** Release connections; called by server.close(). */
  close(): Promise<void>;
  /** Its state, for the server's stats() and /readyz (optional: without it, taken as connected). */
  status?(): AdapterStatus;
}

/** The embedded default: one process, nothing to forward. */
export class InProcessAdapter implements PubSubAdapter {
  attach(): void {}
  subscribe(): void {}
  unsubscribe(): void {}
  publish(): void {}
  async close(): Promise<void> {}
  status(): AdapterStatus {
    return { name: 'in-process', connected: true, reconnects: 0, dropped: 0 };
  }
}
