// Multi-node broadcast: N `hyperws serve --broadcast --redis` processes on
// one redis-server, clients spread over them, every client a sender in a
// closed loop (send, wait for its own message to come back through the
// broadcast, send again). Reports deliveries per second (messages received by
// all clients) for N = 1, 2, 3 and each node's CPU. Not a test: run it with
// `npm run bench:multi-node -- [--clients C] [--senders S] [--seconds T]`.
//
// What limits it on one machine: every process (redis, N nodes, the clients)
// shares the same cores, so adding nodes adds fan-out capacity only while a
// core is free; past that the numbers show the cost of the Redis hop.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from '../dist/esm/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { clients: { type: 'string' }, senders: { type: 'string' }, seconds: { type: 'string' }, nodes: { type: 'string' } } });
const CLIENTS = Number(values.clients ?? 60);
const SENDERS = Number(values.senders ?? 6);
const SECONDS = Number(values.seconds ?? 5);
const NODES = (values.nodes ?? '1,2,3').split(',').map(Number);

async function freePort() {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  await once(s, 'close');
  return port;
}

function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (ok) return { child, port };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

async function startNode(redisPort) {
  const child = spawn(process.execPath, [join(root, 'bin/hyperws'), 'serve', '--broadcast', '--redis', `redis://127.0.0.1:${redisPort}`, '--port', '0', '--no-metrics'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  for await (const chunk of child.stdout) {
    out += chunk;
    const m = /listening on ws:\/\/[^:]+:(\d+)\//.exec(out);
    if (m) return { child, port: Number(m[1]) };
  }
  throw new Error(`serve exited: ${out}`);
}

async function run(n, redisPort) {
  const nodes = [];
  for (let i = 0; i < n; i++) nodes.push(await startNode(redisPort));
  let received = 0;
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${nodes[i % n].port}/`, { perMessageDeflate: false });
    clients.push(ws);
  }
  await Promise.all(clients.map((ws) => once(ws, 'open')));
  // Every node must have subscribed on Redis before the clock starts: a probe from each node reaches all.
  for (let i = 0; i < n; i++) {
    const probe = `probe-${i}`;
    const all = Promise.all(clients.map((ws) => new Promise((resolve) => {
      const on = (data) => {
        if (data.toString() === probe) {
          ws.off('message', on);
          resolve();
        }
      };
      ws.on('message', on);
    })));
    for (;;) {
      clients[i].send(probe);
      const done = await Promise.race([all.then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]);
      if (done) break;
    }
  }
  let running = true;
  for (const ws of clients) ws.on('message', () => received++);
  const senders = clients.slice(0, SENDERS);
  senders.forEach((ws, k) => {
    let seq = 0;
    const mine = () => `s${k}-${seq}`;
    ws.on('message', (data) => {
      if (running && data.toString() === mine()) {
        seq++;
        ws.send(mine());
      }
    });
  });
  const cpu0 = nodes.map((x) => cpuMs(x.child.pid));
  const t0 = process.hrtime.bigint();
  received = 0;
  for (const ws of senders) ws.send(`s${senders.indexOf(ws)}-0`);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  running = false;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const deliveries = received / seconds;
  const cpu = nodes.map((x, i) => (cpuMs(x.child.pid) - cpu0[i]) / (seconds * 1000));
  for (const ws of clients) ws.terminate();
  for (const x of nodes) x.child.kill('SIGKILL');
  await Promise.all(nodes.map((x) => (x.child.exitCode === null ? once(x.child, 'exit') : null)));
  return { nodes: n, deliveries, published: deliveries / CLIENTS, cpu };
}

const redis = await startRedis();
try {
  console.log(`multi-node broadcast: ${CLIENTS} clients, ${SENDERS} closed-loop senders, ${SECONDS} s per run, ${(await import('node:os')).cpus().length} cores`);
  console.log('| nodes | deliveries/s | messages/s | node CPU (cores) |');
  console.log('| --- | --- | --- | --- |');
  for (const n of NODES) {
    const r = await run(n, redis.port);
    console.log(`| ${r.nodes} | ${Math.round(r.deliveries).toLocaleString('en-US')} | ${Math.round(r.published).toLocaleString('en-US')} | ${r.cpu.map((c) => c.toFixed(2)).join(', ')} |`);
  }
} finally {
  redis.child.kill('SIGKILL');
}
