// CommonJS: `const WebSocket = require('ws')`, typed as `import WebSocket = require('ws')`.
import WebSocket = require('hyperws');
import type { IncomingMessage } from 'node:http';

const wss = new WebSocket.Server({ port: 0 });
const wss2: WebSocket.WebSocketServer = new WebSocket.WebSocketServer({ noServer: true });
wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
  ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  ws.send('x', (err?: Error) => err);
  void req;
});
const client: WebSocket = new WebSocket('ws://localhost', { perMessageDeflate: false });
client.on('open', () => client.send('hi'));
const state: number = WebSocket.OPEN;
const opts: WebSocket.ServerOptions = { noServer: true };
const copts: WebSocket.ClientOptions = {};
const ev = (e: WebSocket.MessageEvent) => e.data;
class Mine extends WebSocket {
  tag = 'mine';
}
const typed = new WebSocket.Server<typeof Mine>({ WebSocket: Mine, noServer: true });
typed.on('connection', (ws) => ws.tag);
const inner: WebSocket.WebSocket = client;
const { WebSocketServer, createWebSocketStream } = WebSocket;
new WebSocketServer({ noServer: true });
createWebSocketStream(client);
const code: number = WebSocket.CloseCode.GoingAway;
void [wss2, state, opts, copts, ev, inner, code];

// @ts-expect-error: RawData is not a number
const n: number = {} as WebSocket.RawData;
// @ts-expect-error: a typed server's clients are its own class
const wrong: Set<Mine> = wss.clients;
void [n, wrong];
