/**
 * The listening life of an app's HTTP server and of the WebSocketServer
 * attached to it: listen and report where (or why not), then close both,
 * clients first. Owns no routing and no logging: those are the app's.
 */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { UpgradeServer } from '../node/upgrade-server.js';
import type { Http2Endpoint } from '../node/http2-upgrade.js';
import type { WebSocketServer } from '../node/websocket-server.js';
import { WebSocket } from '../node/websocket.js';

/**
 * Listen on `host:port` (port 0 picks a free one); resolves with the bound
 * address, or rejects with the listen error as Node raised it (`code`
 * 'EADDRINUSE', 'EACCES'...), leaving no listener of ours behind.
 */
export function listen(server: NetServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** The close code clients get for a signal: SIGTERM is a deployment's restart (1012, Service Restart: reconnect, another node or this one will take you), anything else 1001 (Going Away). */
export function closeCodeFor(signal: NodeJS.Signals): 1001 | 1012 {
  return signal === 'SIGTERM' ? 1012 : 1001;
}

/**
 * Close every client with `code` (default 1001, Going Away; 1012 on a
 * restart) and the listener; resolves once each client has closed and the
 * HTTP server has let go of its last connection. wss.shutdown() does not
 * close an HTTP server it was given, hence both here. To give up on slow
 * clients meanwhile, terminate them.
 */
export async function closeServers(wss: WebSocketServer, http: HttpServer | UpgradeServer | Http2Endpoint, code = 1001): Promise<void> {
  const clients = [...(wss.clients ?? [])].filter((ws) => ws.readyState !== WebSocket.CLOSED);
  const clientsClosed = clients.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
  await new Promise<void>((resolve) => wss.shutdown({ code, reason: code === 1012 ? 'Service restart' : 'Server shutting down' }, () => resolve()));
  if ('goAway' in http) {
    // HTTP/2: every WebSocket's Close first, then GOAWAY on the sessions
    // (RFC 9113 6.8); the listener closes with its last session.
    http.release();
    const listenerClosed = new Promise<void>((resolve) => http.server.close(() => resolve()));
    await Promise.all(clientsClosed);
    http.goAway();
    return listenerClosed;
  }
  const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
  // Connections with no request in flight (node:http) or still before their upgrade (our upgrade server).
  if ('dropPending' in http) http.dropPending();
  else http.closeIdleConnections();
  await Promise.all([...clientsClosed, httpClosed]);
}
