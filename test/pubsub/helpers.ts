// Shared helpers for the topics tests: servers on port 0 that are always
// closed, clients that log every message they receive, and a polling wait
// bounded by a safety timeout (a net against hangs, never an assertion on time).
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, type ClientOptions } from '../../src/index.js';

// Servers on port 0, always closed: the same helpers as the Node binding tests.
import type { Started } from '../node/helpers.js';
export { closeServer, startServer, type Started } from '../node/helpers.js';

/**
 * Polls `condition` (every `intervalMs`) until it returns true; throws with
 * `what` and the last `describe()` if the safety timeout passes first.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 15_000, intervalMs = 5, describe }: { timeoutMs?: number; intervalMs?: number; describe?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${describe ? `: ${describe()}` : ''}`);
    await sleep(intervalMs);
  }
}

export interface Received {
  /** Text messages decoded as UTF-8; binary messages as Buffers. */
  data: Buffer;
  isBinary: boolean;
}

/** A client that records every message it receives. */
export interface LoggingClient {
  ws: WebSocket;
  /** The server side of the connection. */
  peer: WebSocket;
  log: Received[];
  /** The log as strings: text as is, binary as `bin:<hex>`. */
  texts(): string[];
  /** Waits until at least `n` messages arrived. */
  waitForCount(n: number): Promise<void>;
}

/** Connects a client to `started`, resolves once both sides are open, with a message log. */
export async function connectLogging(started: Started, path = '/', options: ClientOptions = {}): Promise<LoggingClient> {
  const connection = once(started.wss, 'connection') as Promise<[WebSocket]>;
  const ws = new WebSocket(started.url + path, options);
  const log: Received[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => log.push({ data, isBinary }));
  await once(ws, 'open');
  const [peer] = await connection;
  return {
    ws,
    peer,
    log,
    texts: () => log.map((m) => (m.isBinary ? `bin:${m.data.toString('hex')}` : m.data.toString('utf8'))),
    waitForCount: (n) => waitFor(() => log.length >= n, `${n} messages (have ${log.length})`),
  };
}

/** Closes a client (if open) and waits for its 'close' event. */
export async function closeClient(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, 'close');
  if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  await closed;
}
