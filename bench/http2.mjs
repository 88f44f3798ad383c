// WebSockets over HTTP/2 (RFC 8441) against the classic HTTP/1.1 upgrade:
// N WebSockets multiplexed on one h2c session, against N WebSockets each on
// its own TCP connection. Reports, for each: messages/s (every WebSocket an
// echo client in a closed loop, one message in flight), the server's heap per
// open WebSocket (heap after gc, and RSS; server in a child process), and handshakes/s
// (batches of WebSockets opened and closed; over HTTP/2 on a warm session,
// kept open by one extra WebSocket, so no TCP or session setup is counted).
// Cleartext on both sides: TLS would add the same cost to one connection and
// N of them, which is exactly the difference this measures, but it would
// also measure OpenSSL. Not a test: run it with
// `npm run bench:http2 -- [--sockets N] [--seconds T] [--size BYTES] [--batch B]`.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from '../dist/esm/index.js';

const { values } = parseArgs({
  options: { sockets: { type: 'string' }, seconds: { type: 'string' }, size: { type: 'string' }, batch: { type: 'string' }, server: { type: 'string' } },
});

if (values.server !== undefined) {
  // Child: the server. 'h2' = h2c WebSocketServer, 'h1' = the HTTP/1.1 one.
  const { WebSocketServer } = await import('../dist/esm/index.js');
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    ...(values.server === 'h2' ? { http2: { maxConcurrentStreams: 100_000 } } : {}),
    maxPendingHandshakes: 0,
  });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  await once(wss, 'listening');
  process.on('message', (m) => {
    if (m === 'heap') {
      for (let i = 0; i < 3; i++) globalThis.gc();
      const { heapUsed, rss } = process.memoryUsage();
      process.send({ heap: heapUsed, rss, clients: wss.clients.size });
    } else if (m === 'exit') {
      wss.close(() => process.exit(0));
    }
  });
  process.send({ port: wss.address().port });
} else {
  const SOCKETS = Number(values.sockets ?? 200);
  const SECONDS = Number(values.seconds ?? 5);
  const SIZE = Number(values.size ?? 32);
  const BATCH = Number(values.batch ?? 50);
  const payload = Buffer.alloc(SIZE, 0x61);

  async function startServer(kind) {
    const child = fork(fileURLToPath(import.meta.url), ['--server', kind], { execArgv: ['--expose-gc'] });
    const [{ port }] = await once(child, 'message');
    const ask = async (m) => {
      child.send(m);
      const [answer] = await once(child, 'message');
      return answer;
    };
    return { port, ask, stop: async () => { child.send('exit'); await once(child, 'exit'); } };
  }

  const clientOptions = (kind) => (kind === 'h2' ? { http2: true, http2MaxStreams: 100_000, perMessageDeflate: false } : { perMessageDeflate: false });

  async function openMany(url, kind, n) {
    const all = [];
    for (let i = 0; i < n; i++) all.push(new WebSocket(url, [], clientOptions(kind)));
    await Promise.all(all.map((ws) => once(ws, 'open')));
    return all;
  }

  async function closeAll(sockets) {
    await Promise.all(sockets.map((ws) => { const c = once(ws, 'close'); ws.close(1000); return c; }));
  }

  /** Every socket sends, waits for its echo, sends again, for SECONDS; returns echoes/s. */
  async function messagesPerSecond(sockets) {
    let echoes = 0;
    let running = true;
    for (const ws of sockets) {
      ws.on('message', () => {
        echoes++;
        if (running) ws.send(payload);
      });
    }
    const started = process.hrtime.bigint();
    for (const ws of sockets) ws.send(payload);
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    running = false;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return echoes / seconds;
  }

  /** Batches of BATCH WebSockets opened in parallel and closed, for SECONDS; returns opened/s. */
  async function handshakesPerSecond(url, kind) {
    const anchor = kind === 'h2' ? (await openMany(url, kind, 1)) : [];
    let opened = 0;
    const started = process.hrtime.bigint();
    const deadline = started + BigInt(SECONDS * 1e9);
    while (process.hrtime.bigint() < deadline) {
      const batch = await openMany(url, kind, BATCH);
      opened += batch.length;
      await closeAll(batch);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await closeAll(anchor);
    return opened / seconds;
  }

  const results = [];
  for (const kind of ['h1', 'h2']) {
    const server = await startServer(kind);
    const url = `ws://127.0.0.1:${server.port}/`;
    const before = await server.ask('heap');
    const sockets = await openMany(url, kind, SOCKETS);
    const after = await server.ask('heap');
    if (after.clients !== SOCKETS) throw new Error(`server counts ${after.clients} clients, expected ${SOCKETS}`);
    const perSocket = (after.heap - before.heap) / SOCKETS;
    // RSS also counts what lives outside the JS heap (nghttp2's sessions and streams, socket buffers); it is noisier.
    const rssPerSocket = (after.rss - before.rss) / SOCKETS;
    const mps = await messagesPerSecond(sockets);
    await closeAll(sockets);
    const hps = await handshakesPerSecond(url, kind);
    await server.stop();
    results.push({ transport: kind === 'h2' ? `HTTP/2, one h2c session` : 'HTTP/1.1, one TCP connection each', mps, perSocket, rssPerSocket, hps });
  }
  console.log(`${SOCKETS} WebSockets, ${SIZE}-byte messages, one in flight each, ${SECONDS} s per figure; handshakes in batches of ${BATCH}; Node ${process.version}`);
  console.log('| transport | messages/s | server heap per WebSocket | server RSS per WebSocket | handshakes/s |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of results) console.log(`| ${r.transport} | ${Math.round(r.mps).toLocaleString('en-US')} | ${Math.round(r.perSocket).toLocaleString('en-US')} B | ${Math.round(r.rssPerSocket).toLocaleString('en-US')} B | ${Math.round(r.hps).toLocaleString('en-US')} |`);
}
