// Shared helpers for the Node binding tests: servers on port 0 that are
// always closed, raw-client sessions, event waits that never use timers, and
// event logs.
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { WebSocket, WebSocketServer, type ServerOptions } from '../../src/index.js';
import { handshakeRaw, type RawClient } from '../support/raw-socket.js';

export interface Started {
  wss: WebSocketServer;
  port: number;
  /** ws://127.0.0.1:<port> */
  url: string;
}

/** A WebSocketServer on 127.0.0.1, port 0, once it listens. */
export async function startServer(options: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {}): Promise<Started> {
  const wss = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

export interface Session {
  wss: WebSocketServer;
  /** A raw client past the handshake. */
  client: RawClient;
  /** The server side of its connection. */
  server: WebSocket;
}

/** A server with `options`, a raw client past the handshake, and cleanup whatever happens. */
export async function session(options: Omit<ServerOptions, 'port' | 'server' | 'noServer'>, fn: (s: Session) => Promise<void>): Promise<void> {
  const { wss, port } = await startServer(options);
  let opened: RawClient | undefined;
  try {
    const connection = nextConnection(wss);
    const client = (opened = await handshakeRaw(port));
    const [server] = await connection;
    await fn({ wss, client, server });
  } finally {
    await opened?.destroy();
    await closeServer(wss);
  }
}

/** wss.close() as a promise: resolves when its callback runs. */
export function closeServer(wss: WebSocketServer): Promise<void> {
  return new Promise((resolve) => wss.close(() => resolve()));
}

/** Listens on port 0 and resolves with the port. */
export async function listen(server: HttpServer | HttpsServer, host?: string): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Closes an http(s) server and every connection it still holds. */
export function closeHttpServer(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

/** Resolves with the 'close' event's code and reason (as a string). */
export function closed(ws: WebSocket | { once(event: 'close', fn: (code: number, reason: Buffer) => void): unknown }): Promise<CloseInfo> {
  return new Promise((resolve) => {
    (ws as WebSocket).once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }));
  });
}

/** Resolves when the client is open (rejects on 'error' first). */
export async function opened(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.OPEN) return;
  await once(ws, 'open');
}

/** The next server-side connection. */
export async function nextConnection(wss: WebSocketServer): Promise<[WebSocket, import('node:http').IncomingMessage]> {
  return (await once(wss, 'connection')) as [WebSocket, import('node:http').IncomingMessage];
}

/** Resolves with the next 'message' as [data, isBinary]. */
export async function nextMessage(ws: WebSocket): Promise<[unknown, boolean]> {
  return (await once(ws, 'message')) as [unknown, boolean];
}

/** Connects a client and resolves with it and the server-side peer, both open. */
export async function connectPair(
  started: Started,
  path = '/',
  protocols?: string | string[],
): Promise<{ client: WebSocket; server: WebSocket }> {
  const connection = nextConnection(started.wss);
  const client = protocols === undefined ? new WebSocket(started.url + path) : new WebSocket(started.url + path, protocols);
  await opened(client);
  const [server] = await connection;
  return { client, server };
}

/** Closes both sides cleanly (if still open) and waits for both 'close' events. */
export async function closePair(a: WebSocket, b: WebSocket): Promise<void> {
  const waits = [a, b].filter((ws) => ws.readyState !== WebSocket.CLOSED).map((ws) => closed(ws));
  if (a.readyState === WebSocket.OPEN) a.close(1000);
  await Promise.all(waits);
}

/** Resolves with the 'error' emitted, then the 'close' info that follows it, recording the order. */
export function errorThenClose(ws: WebSocket): Promise<{ error: Error; close: CloseInfo; order: string[] }> {
  const order: string[] = [];
  return new Promise((resolve, reject) => {
    let error: Error | undefined;
    ws.on('error', (e: Error) => {
      order.push('error');
      error ??= e;
    });
    ws.on('open', () => order.push('open'));
    ws.once('close', (code: number, reason: Buffer) => {
      order.push('close');
      if (error === undefined) reject(new Error(`'close' (${code}) without an 'error' first`));
      else resolve({ error, close: { code, reason: reason.toString() }, order });
    });
  });
}
