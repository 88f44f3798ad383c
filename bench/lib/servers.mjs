// A benchmark server process: `node bench/lib/servers.mjs <impl> <mode>`.
// impl: hyperws | ws | raw (node:net, no framing: the runtime's ceiling).
// mode: echo | deflate | fanout | socketio (hyperws and ws only: a socket.io
// server whose wsEngine is hyperws's WebSocketServer, or ws, socket.io's
// default). Prints "READY <port>" on stdout; answers IPC messages
// { cmd: 'stats' } with CPU time and memory (after a GC).
import { createServer } from 'node:net';

const [impl, mode = 'echo'] = process.argv.slice(2);
const fanout = mode === 'fanout';
const deflate = mode === 'deflate';

/**
 * socket.io, as an application would set it up: hyperws given as wsEngine (no
 * aliasing of `ws`: socket.io-adapter pre-encodes each broadcast with its own
 * ws's Sender.frame(), and our WebSocket's _sender.sendFrame() takes it), or
 * socket.io's default, ws. A socket connecting with ?role=publisher has its
 * 'p' events broadcast to every other socket. Pings are pushed out of the
 * measurement (the load generator does not answer them).
 */
async function startSocketIo() {
  const { createServer: createHttpServer } = await import('node:http');
  const { Server } = await import('socket.io');
  const http = createHttpServer();
  const wsEngine = impl === 'hyperws' ? (await import('../../dist/esm/index.js')).WebSocketServer : undefined;
  const io = new Server(http, { transports: ['websocket'], pingInterval: 3_600_000, pingTimeout: 3_600_000, ...(wsEngine ? { wsEngine } : {}) });
  io.on('connection', (socket) => {
    if (socket.handshake.query.role === 'publisher') socket.on('p', (data) => socket.broadcast.emit('m', data));
  });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  return http.address().port;
}

async function start() {
  if (mode === 'socketio') return startSocketIo();
  if (impl === 'raw') {
    // Raw TCP: echo bytes back; for fanout, forward each chunk to every other socket.
    const sockets = new Set();
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      if (fanout) socket.on('data', (chunk) => { for (const s of sockets) if (s !== socket) s.write(chunk); });
      else socket.on('data', (chunk) => socket.write(chunk));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return server.address().port;
  }
  if (impl === 'ws') {
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate, maxPayload: 64 * 1024 * 1024 });
    await new Promise((r) => wss.on('listening', r));
    wss.on('connection', (ws, req) => {
      ws.on('error', () => {});
      if (fanout) {
        // As ws's README shows for broadcast: loop over clients, send to each.
        if (req.url.includes('publisher')) ws.on('message', (data, isBinary) => { for (const c of wss.clients) if (c !== ws && c.readyState === 1) c.send(data, { binary: isBinary }); });
        return;
      }
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    return wss.address().port;
  }
  const { WebSocketServer } = await import('../../dist/esm/index.js');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate, maxPayload: 64 * 1024 * 1024 });
  await new Promise((r) => wss.on('listening', r));
  wss.on('connection', (ws, req) => {
    if (fanout) {
      if (req.url.includes('publisher')) ws.on('message', (data, isBinary) => wss.publish('t', data, { binary: isBinary }));
      else ws.subscribe('t');
      return;
    }
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return wss.address().port;
}

const port = await start();
process.on('message', (msg) => {
  if (msg?.cmd === 'stats') {
    // CPU time first: the forced collections below are the harness's, not the server's.
    const cpu = process.cpuUsage();
    globalThis.gc?.();
    globalThis.gc?.();
    const mem = process.memoryUsage();
    process.send({ cpu, rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers });
  }
});
// The orchestrator gone (killed, crashed): do not linger as an orphan holding a port.
process.on('disconnect', () => process.exit(0));
process.stdout.write(`READY ${port}\n`);
