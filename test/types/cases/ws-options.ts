// Every option name of ws 8's ClientOptions and ServerOptions (@types/ws 8.18,
// plus ws 8.23's closeTimeout, maxPendingAutoPongs and options.protocols), as
// code written for ws passes them: all must type-check with only the import
// changed.
import WebSocket, { WebSocketServer, type ClientOptions, type ServerOptions } from 'hyperws';
import { Agent, type ClientRequest, createServer } from 'node:http';
import { connect } from 'node:net';

const client: ClientOptions = {
  protocol: 'ws:',
  protocols: ['chat'],
  followRedirects: true,
  generateMask(mask: Buffer): void {
    mask.fill(0);
  },
  handshakeTimeout: 5000,
  maxRedirects: 3,
  perMessageDeflate: { serverNoContextTakeover: true, clientMaxWindowBits: 10, zlibDeflateOptions: { level: 3 }, threshold: 512, concurrencyLimit: 0 },
  localAddress: '127.0.0.1',
  protocolVersion: 8,
  headers: { 'X-Trace': '1' },
  origin: 'https://app.example',
  agent: new Agent(),
  host: 'ignored.example',
  family: 4,
  rejectUnauthorized: false,
  allowSynchronousEvents: true,
  autoPong: true,
  closeTimeout: 1000,
  maxPayload: 1024,
  maxBufferedChunks: 1024,
  maxFragments: 1024,
  maxPendingAutoPongs: 10,
  skipUTF8Validation: false,
  createConnection: (options) => connect(options),
  finishRequest(request: ClientRequest, websocket: WebSocket): void {
    request.setHeader('X-Socket', String(websocket.readyState));
    request.end();
  },
  // TLS (ws's ClientOptions extends SecureContextOptions).
  ca: 'pem',
  maxVersion: 'TLSv1.3',
  minVersion: 'TLSv1.2',
  servername: 'example.com',
};
new WebSocket('wss://example.com', client);

const server: ServerOptions = {
  host: '127.0.0.1',
  port: 0,
  backlog: 100,
  verifyClient: (info, callback) => callback(false, 403, 'Forbidden', { 'Retry-After': 30, 'Set-Cookie': ['a=1', 'b=2'] }),
  handleProtocols: (protocols) => protocols.values().next().value ?? false,
  path: '/ws',
  allowSynchronousEvents: false,
  autoPong: true,
  clientTracking: true,
  closeTimeout: 1000,
  perMessageDeflate: true,
  maxPayload: 1024,
  maxBufferedChunks: 1024,
  maxFragments: 1024,
  maxPendingAutoPongs: 10,
  skipUTF8Validation: false,
  WebSocket,
};
new WebSocketServer(server);
new WebSocketServer({ server: createServer(), verifyClient: (info: { secure: boolean }) => info.secure });
