// A user's WebSocket subclass typed through the server, as @types/ws allows.
import { WebSocket, WebSocketServer } from 'hyperws';
import type { IncomingMessage } from 'node:http';

class MyWebSocket extends WebSocket {
  isAlive = true;
  userId?: string;
}

const wss = new WebSocketServer<typeof MyWebSocket>({ WebSocket: MyWebSocket, noServer: true });
wss.on('connection', (ws, req: IncomingMessage) => {
  ws.isAlive = true;
  ws.userId = req.headers['x-user'] as string | undefined;
  ws.on('pong', () => {
    ws.isAlive = true;
  });
});
for (const ws of wss.clients) {
  if (!ws.isAlive) ws.terminate();
}
wss.handleUpgrade({} as IncomingMessage, {} as never, Buffer.alloc(0), (ws) => {
  const mine: MyWebSocket = ws;
  void mine;
});

// Inferred from the option alone.
const inferred = new WebSocketServer({ WebSocket: MyWebSocket, port: 0 });
inferred.on('connection', (ws) => ws.isAlive);

// The package's own extensions keep their types on the subclass.
wss.publish('room', 'hello');
wss.on('connection', (ws) => ws.subscribe('room'));

const plain = new WebSocketServer({ noServer: true });
for (const ws of plain.clients) {
  // @ts-expect-error: a plain server's connections are not MyWebSocket
  void ws.isAlive;
}
plain.handleUpgrade({} as IncomingMessage, {} as never, Buffer.alloc(0), (ws) => {
  // @ts-expect-error: nor here
  void ws.userId;
});
