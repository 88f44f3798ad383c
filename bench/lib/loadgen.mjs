// The load-generating process of the benchmark suite:
//   node bench/lib/loadgen.mjs '<json spec>'
// Runs one scenario against one server and prints one JSON line with the
// result and this process's own CPU time (so the report can show that the
// generator was not the bottleneck). Reuses hyperws bench's load generator:
// pre-encoded frames, minimal echo parsing.
import { createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { runLoad, openWebSocket, parseTarget, closeAll, EchoCounter, encodeClientFrame, makePayload } from '../../dist/esm/cli/bench/load-generator.js';

const spec = JSON.parse(process.argv[2]);
// openWebSocket hands sockets back paused and without an 'error' listener: each scenario adds its own, then resumes.
const ignore = () => {};
// While waiting to be told to go on (hold, client-side), the end of stdin means the orchestrator is gone.
process.stdin.once('end', () => process.exit(1));
const raw = spec.impl === 'raw';
const cpu0 = process.cpuUsage();
const t0 = performance.now();

async function smallOrLargeEcho() {
  const r = await runLoad({ url: spec.url, connections: spec.connections, durationMs: spec.durationMs, size: spec.size, pipeline: spec.pipeline, binary: spec.binary, deflate: spec.deflate, handshake: !raw });
  return { messagesPerSecond: r.messagesPerSecond, bytesPerSecond: r.bytesPerSecond, latencyUs: r.latencyUs, errors: r.errors, extensions: r.extensions, opened: r.connections.opened };
}

async function handshakes() {
  const target = parseTarget(spec.url);
  let done = 0;
  const errors = {};
  const deadline = performance.now() + spec.durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      try {
        const { socket } = await openWebSocket(target, { handshake: !raw });
        await closeAll([socket]);
        done++;
      } catch (error) {
        errors[error.kind ?? 'error'] = (errors[error.kind ?? 'error'] ?? 0) + 1;
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: spec.loops }, loop));
  return { handshakesPerSecond: Math.round((done / (performance.now() - start)) * 1000), errors };
}

async function hold() {
  // Open N connections (one message each when asked, so zlib contexts exist), then wait to be told to close.
  const target = parseTarget(spec.url);
  const sockets = [];
  const frame = spec.message ? encodeClientFrame(0x1, makePayload(spec.message)) : null;
  let next = 0;
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (next < spec.connections) {
      next++;
      const { socket } = await openWebSocket(target, { handshake: !raw, deflate: spec.deflate });
      socket.on('error', ignore);
      if (frame) {
        await new Promise((resolve) => {
          const counter = new EchoCounter(resolve, () => {});
          socket.on('data', (c) => counter.push(c));
          socket.resume();
          socket.write(frame);
        });
        socket.removeAllListeners('data');
      }
      socket.on('data', ignore);
      socket.resume();
      sockets.push(socket);
    }
  }));
  process.stdout.write(`${JSON.stringify({ holding: sockets.length })}\n`);
  await new Promise((resolve) => process.stdin.once('data', resolve));
  await closeAll(sockets);
  return { held: sockets.length };
}

async function fanout() {
  const target = parseTarget(spec.url);
  const subTarget = { ...target, path: '/sub' };
  const pubTarget = { ...target, path: '/publisher' };
  let delivered = 0;
  const subs = [];
  let next = 0;
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (next < spec.subscribers) {
      next++;
      const { socket, rest } = await openWebSocket(subTarget, { handshake: !raw });
      socket.on('error', ignore);
      const counter = new EchoCounter(() => delivered++, () => {});
      socket.on('data', (c) => counter.push(c));
      if (rest.length) counter.push(rest);
      socket.resume();
      subs.push(socket);
    }
  }));
  const { socket: pub } = await openWebSocket(pubTarget, { handshake: !raw });
  pub.on('error', ignore);
  pub.on('data', ignore);
  pub.resume();
  const frame = encodeClientFrame(0x1, makePayload(spec.size));
  const n = subs.length;
  const window = spec.window;
  let sent = 0;
  let running = true;
  const start = performance.now();
  // Keep on average at most `window` publications in flight per subscriber.
  const pump = () => {
    if (!running) return;
    let burst = 0;
    while (sent * n - delivered < window * n && burst < window) {
      pub.write(frame);
      sent++;
      burst++;
    }
    setImmediate(pump);
  };
  pump();
  await new Promise((resolve) => setTimeout(resolve, spec.durationMs));
  running = false;
  const elapsed = performance.now() - start;
  const result = { deliveriesPerSecond: Math.round((delivered / elapsed) * 1000), published: sent };
  await closeAll([pub, ...subs]);
  return result;
}

/**
 * socket.io broadcast fan-out: the subscribers and one publisher speak
 * Engine.IO 4 on raw sockets (the server's open packet, our "40" joining the
 * main namespace, its acknowledgement), then the publisher sends
 * `42["p","..."]` events that the server broadcasts to every other socket;
 * each frame a subscriber receives is one delivery. The same window as
 * fanout(): on average at most `window` publications in flight per subscriber.
 */
async function socketioFanout() {
  const target = parseTarget(spec.url);
  const join = encodeClientFrame(0x1, Buffer.from('40'));
  const open = async (query, onDelivery) => {
    const { socket, rest } = await openWebSocket({ ...target, path: `/socket.io/?EIO=4&transport=websocket${query}` }, { handshake: true });
    socket.on('error', ignore);
    let frames = 0;
    let joined;
    const ready = new Promise((resolve) => (joined = resolve));
    const counter = new EchoCounter(() => {
      frames++;
      if (frames === 1) socket.write(join); // the open packet: join the main namespace
      else if (frames === 2) joined(); // its acknowledgement
      else onDelivery();
    }, () => {});
    socket.on('data', (c) => counter.push(c));
    if (rest.length) counter.push(rest);
    socket.resume();
    await ready;
    return socket;
  };
  let delivered = 0;
  const subs = [];
  let next = 0;
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (next < spec.subscribers) {
      next++;
      subs.push(await open('', () => delivered++));
    }
  }));
  const pub = await open('&role=publisher', ignore);
  const frame = encodeClientFrame(0x1, Buffer.from(`42["p","${'x'.repeat(spec.size)}"]`));
  const n = subs.length;
  const window = spec.window;
  let sent = 0;
  let running = true;
  const start = performance.now();
  const pump = () => {
    if (!running) return;
    let burst = 0;
    while (sent * n - delivered < window * n && burst < window) {
      pub.write(frame);
      sent++;
      burst++;
    }
    setImmediate(pump);
  };
  pump();
  await new Promise((resolve) => setTimeout(resolve, spec.durationMs));
  running = false;
  const elapsed = performance.now() - start;
  const result = { deliveriesPerSecond: Math.round((delivered / elapsed) * 1000), published: sent, opened: subs.length };
  await closeAll([pub, ...subs]);
  return result;
}

/** Unmasked binary frame header: 7-, 16- or 64-bit length (64 KiB itself needs the 64-bit form). */
function serverFrameHeader(n) {
  if (n < 126) return Buffer.from([0x82, n]);
  if (n < 65536) return Buffer.from([0x82, 126, n >> 8, n & 255]);
  const header = Buffer.from([0x82, 127, 0, 0, 0, 0, 0, 0, 0, 0]);
  header.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
  header.writeUInt32BE(n >>> 0, 6);
  return header;
}

async function clientSide() {
  // We are the server here: a raw WebSocket server sending pre-encoded frames
  // to each client and counting its (masked) echoes, `pipeline` in flight.
  const payload = makePayload(spec.size);
  const frame = Buffer.concat([serverFrameHeader(spec.size), payload]);
  const pipeline = spec.pipeline ?? 1;
  const burst = Buffer.concat(Array.from({ length: pipeline }, () => frame));
  let echoes = 0;
  let running = true;
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let head = Buffer.alloc(0);
    const onHead = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onHead);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head.toString('latin1'))[1];
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      let owed = 0;
      const counter = new EchoCounter(() => {
        echoes++;
        if (running) owed++;
      }, () => {});
      // The frames a read made due go out in one write (one system call), so the generator is not the bottleneck.
      socket.on('data', (c) => {
        counter.push(c);
        while (owed > 0) {
          const n = Math.min(owed, pipeline);
          owed -= n;
          socket.write(burst.subarray(0, n * frame.length));
        }
      });
      socket.write(burst);
    };
    socket.on('data', onHead);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  process.stdout.write(`${JSON.stringify({ listening: server.address().port })}\n`);
  // Wait until the clients are connected (the orchestrator starts them), then measure.
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const startEchoes = echoes;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, spec.durationMs));
  const result = { messagesPerSecond: Math.round(((echoes - startEchoes) / (performance.now() - start)) * 1000) };
  running = false;
  // The measurement is over: the orchestrator reads the client's CPU time now, before the sockets close.
  process.stdout.write(`${JSON.stringify({ measured: true })}\n`);
  for (const s of sockets) s.destroy();
  server.close();
  return result;
}

const scenarios = { echo: smallOrLargeEcho, handshakes, hold, fanout, 'socketio-fanout': socketioFanout, 'client-side': clientSide };
const result = await scenarios[spec.scenario]();
const cpu = process.cpuUsage(cpu0);
result.loadgenCpuSeconds = (cpu.user + cpu.system) / 1e6;
result.wallSeconds = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
