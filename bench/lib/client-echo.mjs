// The client process of the client-32B and client-64KiB scenarios (bench/run.mjs):
// `node bench/lib/client-echo.mjs <hyperws|ws> <url> <connections>`:
// N clients that echo every message back. Prints "READY" once all are open.
const [impl, url, n] = process.argv.slice(2);
const WebSocket = impl === 'ws' ? (await import('ws')).default : (await import('../../dist/esm/index.js')).WebSocket;
const clients = [];
await Promise.all(Array.from({ length: Number(n) }, () => new Promise((resolve, reject) => {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('open', resolve);
  ws.on('error', reject);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  clients.push(ws);
})));
process.on('message', (msg) => {
  if (msg?.cmd === 'stats') {
    const mem = process.memoryUsage();
    process.send({ cpu: process.cpuUsage(), rss: mem.rss, heapUsed: mem.heapUsed });
  }
});
process.on('disconnect', () => process.exit(0)); // the orchestrator is gone
process.stdout.write('READY\n');
process.stdin.once('data', () => process.exit(0));
