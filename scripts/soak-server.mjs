#!/usr/bin/env node
// The server `npm run soak` measures (see scripts/soak.mjs): the built
// package (dist/), as an application runs it, in its own process. Echoes
// each message to its sender; 'broadcast:...' goes to every client through a
// topic. permessage-deflate on. Answers the parent's IPC questions with its
// heap after a full garbage collection (run with --expose-gc).
import { once } from 'node:events';
import { WebSocketServer } from '../dist/esm/index.js';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true, maxPayload: 1024 * 1024 });
await once(wss, 'listening');
wss.on('connection', (ws) => {
  ws.subscribe('all');
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.length > 10 && data.toString('latin1', 0, 10) === 'broadcast:') wss.publish('all', data, { binary: false });
    else ws.send(data, { binary: isBinary });
  });
});
process.on('message', (request) => {
  if (request.type === 'stop') {
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => process.disconnect());
    return;
  }
  globalThis.gc();
  const m = process.memoryUsage();
  const stats = wss.stats();
  process.send({ heapUsed: m.heapUsed, external: m.external, open: stats.connections.open, accepted: stats.connections.accepted, messagesIn: stats.messages.in });
});
process.send({ port: wss.address().port });
