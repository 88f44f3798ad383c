// ws's most common style: the default import, used as a value and as a type.
import WebSocket from 'hyperws';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const wss = new WebSocket.Server({ port: 0 });
const alsoServer = new WebSocket.WebSocketServer({ noServer: true });

function onMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  const text: string = isBinary ? '' : data.toString();
  this.send(text);
}

wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
  const ip: string | undefined = req.socket.remoteAddress;
  ws.on('message', onMessage);
  ws.on('close', (code: number, reason: Buffer) => console.log(code, reason.toString(), ip));
  ws.on('error', (err: Error) => console.error(err.message));
  ws.on('pong', (payload: Buffer) => payload.length);
  if (ws.readyState === WebSocket.OPEN) ws.send('hello');
  ws.send(Buffer.from('x'), { binary: true, compress: false }, (err?: Error) => {
    if (err) console.error(err);
  });
  ws.ping();
  ws.ping('', false, (err: Error) => err);
  ws.pong(Buffer.alloc(0), undefined, (err?: Error) => err);
  ws.close(1000, 'bye');
});

function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  alsoServer.handleUpgrade(req, socket, head, (ws: WebSocket, request: IncomingMessage) => {
    alsoServer.emit('connection', ws, request);
  });
}
void upgrade;

const client: WebSocket = new WebSocket('ws://localhost:8080', { perMessageDeflate: false, headers: { a: 'b' } });
client.on('open', function open(this: WebSocket) {
  this.send(JSON.stringify({ hello: 'world' }));
});
client.on('message', (data) => {
  const raw: WebSocket.RawData = data;
  const d: WebSocket.Data = raw;
  void d;
});
client.on('unexpected-response', (_req, res) => res.statusCode);
client.onmessage = (event: WebSocket.MessageEvent) => {
  const data: WebSocket.Data = event.data;
  void data;
};
client.onclose = (event: WebSocket.CloseEvent) => event.code + event.reason.length + Number(event.wasClean);
client.onerror = (event: WebSocket.ErrorEvent) => event.message;
client.onopen = (event: WebSocket.Event) => event.type;
client.addEventListener('message', (event) => {
  const data: WebSocket.Data = event.data;
  void data;
});
client.addEventListener('close', { handleEvent: (event: WebSocket.CloseEvent) => event.wasClean }, { once: true });

const serverOptions: WebSocket.ServerOptions = { noServer: true, maxPayload: 1024 };
const clientOptions: WebSocket.ClientOptions = { handshakeTimeout: 1000, perMessageDeflate: false };
const typedServer: WebSocket.Server = new WebSocket.Server(serverOptions);
const typedServer2: WebSocket.WebSocketServer = typedServer;
const stream: Duplex = WebSocket.createWebSocketStream(new WebSocket('ws://x', clientOptions));
void [typedServer2, stream];

// @ts-expect-error: RawData is not a string (only WebSocket.Data is)
const notText: string = {} as WebSocket.RawData;
void notText;
// @ts-expect-error: the annotation is our WebSocket, not the DOM's (which has no 'on')
const dom: globalThis.WebSocket = client;
void dom;
// @ts-expect-error: a MessageEvent's target is the WebSocket
client.onmessage = (event: WebSocket.MessageEvent) => event.target.nonexistent;
// @ts-expect-error: close codes are numbers
client.close('1000');
// @ts-expect-error: the readyState is one of 0..3
const bad: 4 = client.readyState;
void bad;
