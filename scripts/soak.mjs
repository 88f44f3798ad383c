#!/usr/bin/env node
// Soak test (not in CI): holds many connections to a server process
// (scripts/soak-server.mjs, the built package) for a while, with churn, and
// prints the server's RSS, heap (after GC) and open file descriptors over
// time, then their slope: a leak shows as a steady climb, per minute.
//
// Usage: npm run soak -- [--connections N] [--seconds S] [--interval S] [--churn P] [--every S]
//   --connections N  connections held open (default 2000)
//   --seconds S      how long to run (default 120)
//   --interval S     seconds between samples (default 10)
//   --churn P        percent of the connections closed and replaced each second (default 2)
//   --every S        each connection sends a message every S seconds and reads its echo (default 5)
// Once a second, one message is broadcast to every connection (through a
// topic). RSS and descriptors are read from /proc/<pid> of the server (Linux).
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { WebSocket } = await import(join(root, 'dist/esm/index.js')).catch(() => {
  console.error('soak: dist/ is missing; run `npm run build` (npm run soak does it)');
  process.exit(2);
});

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`soak: --${name} needs a non-negative number`);
    process.exit(2);
  }
  return value;
}
const connections = option('connections', 2000);
const seconds = option('seconds', 120);
const interval = option('interval', 10);
const churnPercent = option('churn', 2);
const every = option('every', 5);

const server = fork(join(root, 'scripts/soak-server.mjs'), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const [{ port }] = await once(server, 'message');
const url = `ws://127.0.0.1:${port}/`;
const ask = async () => {
  server.send({ type: 'sample' });
  const [reply] = await once(server, 'message');
  return reply;
};

let opened = 0;
let failures = 0;
let echoes = 0;
const live = new Set();

function open() {
  const ws = new WebSocket(url, { perMessageDeflate: opened % 2 === 0 });
  opened++;
  live.add(ws);
  ws.on('message', () => echoes++);
  ws.on('error', () => failures++);
  ws.on('close', () => live.delete(ws));
  return new Promise((resolve) => {
    ws.once('open', resolve);
    ws.once('close', resolve);
  });
}

const rssOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const fdsOf = (pid) => readdirSync(`/proc/${pid}/fd`).length;
const mib = (n) => (n / 2 ** 20).toFixed(2);

console.log(`soak: ${connections} connections to ${url} for ${seconds} s, a message every ${every} s each, ${churnPercent}% replaced each second, sample every ${interval} s`);
for (let i = 0; i < connections; i += 200) await Promise.all(Array.from({ length: Math.min(200, connections - i) }, open));
console.log(`soak: ${live.size} open`);

// Traffic: each connection sends every `every` seconds (spread over ticks of 100 ms), one broadcast
// a second; churn replaces a share of the connections each second.
let tick = 0;
const slices = Math.max(1, Math.round(every * 10));
const traffic = setInterval(() => {
  const slice = tick++ % slices;
  let k = 0;
  let broadcast = tick % 10 === 0;
  for (const ws of live) {
    if (k++ % slices !== slice || ws.readyState !== WebSocket.OPEN) continue;
    ws.send(broadcast ? `broadcast:${tick}` : `hello ${tick} ${'x'.repeat(k % 3 === 0 ? 2000 : 20)}`);
    broadcast = false;
  }
}, 100);
const churn = setInterval(() => {
  const n = Math.round((connections * churnPercent) / 100);
  let k = 0;
  for (const ws of live) {
    if (k++ >= n) break;
    if (k % 5 === 0) ws.terminate(); // some leave without a closing handshake
    else ws.close(1000);
  }
  for (let i = 0; i < n; i++) void open();
}, 1000);

const samples = [];
const started = Date.now();
console.log('   time     open   opened     echoes   rss MiB  heap MiB  ext MiB    fds');
const sample = async () => {
  const s = await ask();
  const t = (Date.now() - started) / 1000;
  const row = { t, rss: rssOf(server.pid), heap: s.heapUsed, external: s.external, fds: fdsOf(server.pid), open: s.open };
  samples.push(row);
  console.log(
    `${t.toFixed(0).padStart(7)} ${String(s.open).padStart(8)} ${String(s.accepted).padStart(8)} ${String(echoes).padStart(10)} ` +
      `${mib(row.rss).padStart(9)} ${mib(row.heap).padStart(9)} ${mib(row.external).padStart(8)} ${String(row.fds).padStart(6)}`,
  );
};
await sample();
while ((Date.now() - started) / 1000 < seconds) {
  await new Promise((resolve) => setTimeout(resolve, interval * 1000));
  await sample();
}
clearInterval(traffic);
clearInterval(churn);

/** Least-squares slope of `key` over the samples after the first third (warm-up), per minute. */
function slope(key) {
  const tail = samples.slice(Math.floor(samples.length / 3));
  if (tail.length < 2) return NaN;
  const mx = tail.reduce((a, s) => a + s.t, 0) / tail.length;
  const my = tail.reduce((a, s) => a + s[key], 0) / tail.length;
  let num = 0;
  let den = 0;
  for (const s of tail) {
    num += (s.t - mx) * (s[key] - my);
    den += (s.t - mx) ** 2;
  }
  return (num / den) * 60;
}
console.log(`soak: ${opened} connections opened in all, ${echoes} messages received, ${failures} client errors`);
console.log(`slope after warm-up (last ${samples.length - Math.floor(samples.length / 3)} samples): rss ${Math.round(slope('rss'))} B/min, heap ${Math.round(slope('heap'))} B/min, external ${Math.round(slope('external'))} B/min, fds ${slope('fds').toFixed(2)}/min`);

for (const ws of live) ws.terminate();
server.send({ type: 'stop' });
await once(server, 'exit');
