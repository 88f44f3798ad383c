// Shared helpers for the ecosystem tests: socket.io servers on port 0 with
// hyperws as their wsEngine, clients that never reconnect on their own, and
// a recorder of what a connection hands its net.Socket. Everything opened is
// closed by the helper that opened it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Server as SocketIoServer, ServerOptions as SocketIoOptions, Socket as ServerSocket } from 'socket.io';
import type { Socket as ClientSocket, ManagerOptions, SocketOptions } from 'socket.io-client';
import { hyperws, requirePackage } from '../support/ws-alias.js';

export const T = { timeout: 30_000 };

const { Server } = requirePackage<typeof import('socket.io')>('socket.io');
const { io: connectClient } = requirePackage<typeof import('socket.io-client')>('socket.io-client');

export interface SocketIoSetup {
  io: SocketIoServer;
  http: HttpServer;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Open clients (closed by close()). */
  clients: ClientSocket[];
  /** A client connected to the server (rejects on connect_error); `server` is its socket on the server. */
  connect(options?: Partial<ManagerOptions & SocketOptions>): Promise<{ client: ClientSocket; server: ServerSocket }>;
  close(): Promise<void>;
}

/** A socket.io server on 127.0.0.1, port 0, with hyperws's WebSocketServer as its wsEngine. */
export async function startSocketIo(options: Partial<SocketIoOptions> = {}): Promise<SocketIoSetup> {
  const http = createServer();
  const io = new Server(http, { wsEngine: hyperws().WebSocketServer, ...options });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const clients: ClientSocket[] = [];
  return {
    io,
    http,
    url,
    clients,
    async connect(clientOptions = {}) {
      const accepted = new Promise<ServerSocket>((resolve) => io.once('connection', resolve));
      const client = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...clientOptions });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('connect_error', reject);
      });
      const server = await accepted;
      assert.equal(server.id, client.id, 'the server socket is this client\'s');
      return { client, server };
    },
    async close() {
      for (const client of clients) client.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections();
    },
  };
}

/** The next `event` on a socket.io socket, with its arguments. */
export function nextEvent<A extends unknown[] = unknown[]>(socket: { once(event: string, fn: (...args: any[]) => void): unknown }, event: string): Promise<A> {
  return new Promise((resolve) => socket.once(event, (...args: unknown[]) => resolve(args as A)));
}

/** The hyperws WebSocket under a server-side socket.io socket (its websocket transport's). */
export function serverWebSocket(socket: ServerSocket): InstanceType<ReturnType<typeof hyperws>['WebSocket']> {
  return (socket.conn.transport as unknown as { socket: InstanceType<ReturnType<typeof hyperws>['WebSocket']> }).socket;
}

/** The WebSocket under a socket.io client (engine.io-client's websocket transport's). */
export function clientWebSocket(client: ClientSocket): unknown {
  return (client.io.engine.transport as unknown as { ws: unknown }).ws;
}

/** Record every chunk handed to a WebSocket's net.Socket (the objects themselves, in order). */
export function recordWrites(ws: { _socket: unknown }): Buffer[] {
  const socket = ws._socket as Socket;
  const writes: Buffer[] = [];
  const write = socket.write;
  socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    writes.push(chunk as Buffer);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Socket['write'];
  return writes;
}
