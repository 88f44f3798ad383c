// Shared helpers for the WHATWG WebSocket tests: a WebSocketServer on port 0
// and an event recorder that logs what a client saw, in order.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions, type WebSocket as NodeWebSocket } from '../../src/node/index.js';
import { CloseEvent, WebSocket } from '../../src/web/index.js';

export interface TestServer {
  wss: WebSocketServer;
  /** ws://127.0.0.1:<port>/ */
  url: string;
  port: number;
  /** Resolves with the next server-side connection. */
  nextConnection(): Promise<NodeWebSocket>;
  close(): Promise<void>;
}

export async function startServer(options: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {}): Promise<TestServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  return {
    wss,
    url: `ws://127.0.0.1:${port}/`,
    port,
    nextConnection: () => once(wss, 'connection').then(([ws]) => ws as NodeWebSocket),
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

export type Logged =
  | ['open', number]
  | ['message', unknown]
  | ['error', string, number]
  | ['close', number, string, boolean, number];

/** Log every event with the readyState seen by its listener; `closed` resolves on 'close'. */
export function record(ws: WebSocket): { log: Logged[]; closed: Promise<CloseEvent> } {
  const log: Logged[] = [];
  ws.addEventListener('open', () => log.push(['open', ws.readyState]));
  ws.addEventListener('message', (event) => log.push(['message', (event as MessageEvent).data]));
  ws.addEventListener('error', (event) => log.push(['error', event.constructor.name, ws.readyState]));
  const closed = new Promise<CloseEvent>((resolve) => {
    ws.addEventListener('close', (event) => {
      const e = event as CloseEvent;
      log.push(['close', e.code, e.reason, e.wasClean, ws.readyState]);
      resolve(e);
    });
  });
  return { log, closed };
}

/** Resolve with the next event of `type` on `target`. */
export function nextEvent<E extends Event = Event>(target: EventTarget, type: string): Promise<E> {
  return new Promise((resolve) => target.addEventListener(type, (event) => resolve(event as E), { once: true }));
}

/** Resolve with the data of the next `count` message events (they may come in one burst). */
export function nextMessages(ws: WebSocket, count: number): Promise<unknown[]> {
  return new Promise((resolve) => {
    const got: unknown[] = [];
    const onMessage = (event: Event): void => {
      got.push((event as MessageEvent).data);
      if (got.length === count) {
        ws.removeEventListener('message', onMessage);
        resolve(got);
      }
    };
    ws.addEventListener('message', onMessage);
  });
}

/** Resolve with the next `count` messages a server-side socket receives, as [text | bytes, isBinary]. */
export function serverMessages(ws: NodeWebSocket, count: number): Promise<Array<[string, boolean]>> {
  return new Promise((resolve) => {
    const got: Array<[string, boolean]> = [];
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      got.push([isBinary ? `bin:${data.toString('hex')}` : data.toString(), isBinary]);
      if (got.length === count) {
        ws.off('message', onMessage);
        resolve(got);
      }
    };
    ws.on('message', onMessage);
  });
}

/** Resolve with the [code, reason] the server-side socket's 'close' reports. */
export function serverClosed(ws: NodeWebSocket): Promise<[number, string]> {
  return once(ws, 'close').then(([code, reason]) => [code as number, String(reason)]);
}
