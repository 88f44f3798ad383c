// Named imports, as `import { WebSocketServer, WebSocket } from 'ws'`.
import { WebSocket, WebSocketServer, createWebSocketStream, type RawData, type ServerOptions, type ClientOptions } from 'hyperws';
import { createServer, type IncomingMessage } from 'node:http';

const server = createServer();
const options: ServerOptions = { server, path: '/ws', clientTracking: true };
const wss = new WebSocketServer(options);

wss.on('connection', function connection(ws, request) {
  const socket: WebSocket = ws;
  const req: IncomingMessage = request;
  ws.on('message', (data: RawData, isBinary: boolean) => {
    for (const client of wss.clients) {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
  void [socket, req];
});
wss.on('headers', (headers: string[], req: IncomingMessage) => headers.push(String(req.url)));
wss.on('listening', () => wss.address());
wss.on('close', () => undefined);
wss.on('error', (error: Error) => error.message);
wss.on('wsClientError', (error, socket, req) => {
  socket.destroy(error);
  void req.url;
});
wss.close((err?: Error) => err);

const opts: ClientOptions = { followRedirects: true, maxRedirects: 3, origin: 'https://example.com' };
const ws = new WebSocket('wss://example.com', ['chat', 'superchat'], opts);
ws.once('upgrade', (res: IncomingMessage) => res.headers);
ws.once('redirect', (url: string) => url.length);
const duplex = createWebSocketStream(ws, { encoding: 'utf8' });
duplex.pipe(process.stdout);
const clients: Set<WebSocket> = wss.clients;
void clients;

// @ts-expect-error: clients are WebSockets
const names: Set<string> = wss.clients;
void names;
// @ts-expect-error: send's callback gets an Error, not a string
ws.send('x', (err: string) => err);
// @ts-expect-error: unknown option
new WebSocketServer({ noServer: true, notAnOption: 1 });
