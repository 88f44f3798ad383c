// README's "Migrating from ws" TypeScript example, verbatim: it must compile.
import WebSocket, { WebSocketServer, type RawData, type ServerOptions } from 'hyperws';
// CommonJS TypeScript, as with ws: import WebSocket = require('hyperws');

const options: ServerOptions = { port: 8080 };         // or WebSocket.ServerOptions
const wss = new WebSocketServer(options);
wss.on('connection', (socket: WebSocket, req) => {     // WebSocket is also the instance type
  socket.on('message', (data: RawData, isBinary) => socket.send(data, { binary: isBinary }));
});
