#!/usr/bin/env node
// Server memory per idle connection with permessage-deflate negotiated:
// ws (perMessageDeflate: true, its defaults) against hyperws
// (perMessageDeflate: true, ours), and both without compression for reference.
//
// Each server runs in its own child process (node --expose-gc); this process
// opens N `ws` clients (perMessageDeflate: true) to it, each exchanging one
// 4 KiB compressible message (so zlib contexts really are created), then
// leaves them idle. The child collects garbage and reports process memory
// before the clients connect and once they are idle.
//
//   node scripts/build.mjs && node bench/deflate-memory.mjs [--connections 2000]
//
// Only loopback traffic; every connection and child is closed at the end.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const MiB = 1024 * 1024;
const MESSAGE_BYTES = 4096;

function argValue(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/** 4 KiB of compressible JSON-ish text. */
function message(seed) {
  let s = '';
  for (let i = 0; s.length < MESSAGE_BYTES; i++) s += `{"id":${seed * 1000 + i},"user":"user-${i % 17}","text":"hello from the load side"}\n`;
  return s.slice(0, MESSAGE_BYTES);
}

// ------------------------------------------------------------------ child

async function child(impl, deflate) {
  const perMessageDeflate = deflate === 'on';
  let server;
  if (impl === 'ws') {
    const { WebSocketServer } = await import('ws');
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  } else {
    const { WebSocketServer } = await import('../dist/esm/index.js');
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  }
  let negotiated = 0;
  server.on('connection', (ws) => {
    if (ws.extensions.includes('permessage-deflate')) negotiated++;
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await once(server, 'listening');
  const measure = () => {
    for (let i = 0; i < 4; i++) globalThis.gc();
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, negotiated };
  };
  process.on('message', (msg) => {
    if (msg === 'measure') process.send({ type: 'memory', memory: measure() });
    else if (msg === 'exit') {
      for (const ws of server.clients) ws.terminate();
      server.close(() => process.exit(0));
    }
  });
  process.send({ type: 'ready', port: server.address().port });
}

// ----------------------------------------------------------------- parent

function request(proc, what) {
  return new Promise((resolve) => {
    proc.once('message', (msg) => resolve(msg));
    proc.send(what);
  });
}

async function openClients(WsClient, port, n) {
  const clients = [];
  const BATCH = 100;
  for (let start = 0; start < n; start += BATCH) {
    const batch = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) {
      batch.push(
        new Promise((resolve, reject) => {
          const ws = new WsClient(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
          ws.once('error', reject);
          ws.once('open', () => {
            const text = message(i);
            ws.once('message', (data) => {
              if (data.toString() !== text) reject(new Error(`bad echo on connection ${i}`));
              else resolve(ws);
            });
            ws.send(text);
          });
        }),
      );
    }
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

async function scenario(WsClient, impl, deflate, n) {
  const proc = fork(fileURLToPath(import.meta.url), ['--child', impl, deflate], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const [ready] = await once(proc, 'message');
    const before = (await request(proc, 'measure')).memory;
    const clients = await openClients(WsClient, ready.port, n);
    const clientNegotiated = clients.filter((ws) => ws.extensions.includes('permessage-deflate')).length;
    // Let the exchange settle (late frees, socket buffers) before measuring.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = (await request(proc, 'measure')).memory;
    for (const ws of clients) ws.terminate();
    return {
      server: impl,
      compression: deflate,
      negotiated: `${after.negotiated}/${n}`,
      clientNegotiated,
      baselineMiB: before.rss / MiB,
      afterMiB: after.rss / MiB,
      rssPerConnKiB: (after.rss - before.rss) / n / 1024,
      heapPerConnKiB: (after.heapUsed - before.heapUsed) / n / 1024,
      externalPerConnKiB: (after.external - before.external) / n / 1024,
    };
  } finally {
    proc.send('exit');
    if (proc.exitCode === null) await once(proc, 'exit');
  }
}

async function parent() {
  const n = Number(argValue('--connections', '2000'));
  if (!Number.isInteger(n) || n < 1) throw new Error('--connections must be a positive integer');
  const { default: WsClient } = await import('ws');
  const rows = [];
  for (const [impl, deflate] of [
    ['ws', 'on'],
    ['hyperws', 'on'],
    ['ws', 'off'],
    ['hyperws', 'off'],
  ]) {
    process.stderr.write(`${impl}, permessage-deflate ${deflate}: ${n} connections...\n`);
    rows.push(await scenario(WsClient, impl, deflate, n));
  }
  const f = (x) => x.toFixed(1);
  console.log(`\nServer memory per idle connection (${n} connections, one ${MESSAGE_BYTES}-byte compressible message each way, ws client with perMessageDeflate: true)`);
  console.log(`Node ${process.version}, ${process.platform}/${process.arch}\n`);
  console.log('| server | permessage-deflate | negotiated | baseline RSS (MiB) | RSS after (MiB) | RSS / conn (KiB) | V8 heap / conn (KiB) | external / conn (KiB) |');
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.server} | ${r.compression} | ${r.negotiated} | ${f(r.baselineMiB)} | ${f(r.afterMiB)} | ${f(r.rssPerConnKiB)} | ${f(r.heapPerConnKiB)} | ${f(r.externalPerConnKiB)} |`,
    );
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await parent();
