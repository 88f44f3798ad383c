// The load generator behind `hyperws bench` and the benchmark suite: its
// frame encoder and echo counter byte for byte, then runLoad against servers
// of ours (port 0) whose own counts it must agree with. Nothing here asserts
// a time, a rate or a latency value: only counts, structure and order.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer, type ServerOptions, type WebSocket } from '../../src/index.js';
import { createHash } from 'node:crypto';
import {
  EchoCounter,
  closeAll,
  encodeClientFrame,
  makePayload,
  openWebSocket,
  parseTarget,
  ringSize,
  runLoad,
  type LoadOptions,
  type LoadResult,
} from '../../src/cli/bench/load-generator.js';

const T = { timeout: 30_000 };
const MASK = [0x12, 0x34, 0x56, 0x78];

// ---------------------------------------------------------------- frames

/** An unmasked server frame (what EchoCounter reads). */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const n = payload.length;
  const head = n < 126 ? [n] : n < 65536 ? [126, n >> 8, n & 255] : [127, 0, 0, 0, 0, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, ...head]), payload]);
}

interface Counted {
  messages: number;
  controls: Array<[number, string]>;
}

/** Feeds `chunks` to a fresh EchoCounter and returns what it reported. */
function count(chunks: Buffer[]): Counted {
  const out: Counted = { messages: 0, controls: [] };
  const counter = new EchoCounter(
    () => out.messages++,
    (opcode, payload) => out.controls.push([opcode, payload.toString('hex')]),
  );
  for (const chunk of chunks) counter.push(chunk);
  return out;
}

const hex = (s: string) => Buffer.from(s).toString('hex');

/** Text, binary (16-bit length), ping, a fragmented message around a pong, empty text, empty ping, close. */
const STREAM = Buffer.concat([
  serverFrame(0x1, Buffer.from('a')),
  serverFrame(0x2, Buffer.alloc(200, 7)),
  serverFrame(0x9, Buffer.from('ping-1')),
  serverFrame(0x1, Buffer.from('frag-'), false),
  serverFrame(0xa, Buffer.from('pong')),
  serverFrame(0x0, Buffer.from('ment'), false),
  serverFrame(0x0, Buffer.from('!'), true),
  serverFrame(0x1, Buffer.alloc(0)),
  serverFrame(0x9, Buffer.alloc(0)),
  serverFrame(0x2, Buffer.from([1, 2, 3])),
  serverFrame(0x8, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])),
]);
const EXPECTED: Counted = {
  messages: 5, // 'a', 200 bytes, 'frag-ment!' once, '', [1,2,3]
  controls: [
    [0x9, hex('ping-1')],
    [0xa, hex('pong')],
    [0x9, ''],
    [0x8, '03e8627965'],
  ],
};

describe('EchoCounter', () => {
  it('counts messages and reports control payloads for the stream in one chunk', () => {
    assert.deepEqual(count([STREAM]), EXPECTED);
  });

  it('gives the same counts for the stream split at every position', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      assert.deepEqual(count([STREAM.subarray(0, i), STREAM.subarray(i)]), EXPECTED, `split at ${i}`);
    }
  });

  it('gives the same counts for the stream split at every pair of positions', () => {
    // Exercises a header cut twice and a carry joined to a chunk that ends mid-header again.
    const n = STREAM.length;
    for (let i = 0; i <= n; i++) {
      for (let j = i; j <= n; j += 3) {
        const parts = [STREAM.subarray(0, i), STREAM.subarray(i, j), STREAM.subarray(j)];
        assert.deepEqual(count(parts), EXPECTED, `split at ${i} and ${j}`);
      }
    }
  });

  it('gives the same counts fed one byte at a time', () => {
    assert.deepEqual(count([...STREAM].map((b) => Buffer.from([b]))), EXPECTED);
  });

  it('reads 64-bit lengths: a 70000-byte frame then a ping, cut in the header and in the payload', () => {
    const big = Buffer.concat([serverFrame(0x2, Buffer.alloc(70_000, 1)), serverFrame(0x9, Buffer.from('after'))]);
    const expected: Counted = { messages: 1, controls: [[0x9, hex('after')]] };
    const cuts = [0, 1, 2, 5, 9, 10, 11, 5000, 65_535, 65_536, 70_009, 70_010, 70_011, 70_012, big.length - 1, big.length];
    for (const i of cuts) assert.deepEqual(count([big.subarray(0, i), big.subarray(i)]), expected, `split at ${i}`);
  });

  it('reports a ping payload split across three chunks joined', () => {
    const ping = serverFrame(0x9, Buffer.from('0123456789'));
    assert.deepEqual(count([ping.subarray(0, 4), ping.subarray(4, 8), ping.subarray(8)]), { messages: 0, controls: [[0x9, hex('0123456789')]] });
  });

  it('counts nothing for an incomplete frame', () => {
    const frame = serverFrame(0x1, Buffer.from('hello'));
    assert.deepEqual(count([frame.subarray(0, frame.length - 1)]), { messages: 0, controls: [] });
  });
});

// ---------------------------------------------------------------- encodeClientFrame

/** The expected masked frame, built independently: header bytes, the fixed key, payload ^ key. */
function expectedFrame(first: number, lengthBytes: number[], payload: Buffer): Buffer {
  const masked = Buffer.from(payload.map((b, i) => b ^ MASK[i % 4]!));
  return Buffer.concat([Buffer.from([first, ...lengthBytes, ...MASK]), masked]);
}

describe('encodeClientFrame', () => {
  const payloadOf = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255));

  it('length 0: 2-byte header with the mask bit, then the key', () => {
    const frame = encodeClientFrame(0x1, Buffer.alloc(0));
    assert.deepEqual([...frame], [0x81, 0x80, 0x12, 0x34, 0x56, 0x78]);
  });

  it('length 125: 7-bit length', () => {
    const payload = payloadOf(125);
    assert.deepEqual(encodeClientFrame(0x2, payload), expectedFrame(0x82, [0x80 | 125], payload));
  });

  it('length 126: 16-bit length', () => {
    const payload = payloadOf(126);
    const frame = encodeClientFrame(0x1, payload);
    assert.deepEqual(frame, expectedFrame(0x81, [0xfe, 0x00, 0x7e], payload));
    assert.equal(frame.length, 4 + 4 + 126);
  });

  it('length 65535 is the largest 16-bit length; 65536 takes 64 bits', () => {
    const p65535 = payloadOf(65_535);
    assert.deepEqual(encodeClientFrame(0x2, p65535), expectedFrame(0x82, [0xfe, 0xff, 0xff], p65535));
    const p65536 = payloadOf(65_536);
    const frame = encodeClientFrame(0x2, p65536);
    assert.deepEqual(frame, expectedFrame(0x82, [0xff, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00], p65536));
    assert.equal(frame.length, 10 + 4 + 65_536);
  });

  it('sets RSV1 for a compressed frame, and masks with the fixed key (unmasking gives the payload back)', () => {
    const payload = Buffer.from('Hello');
    const frame = encodeClientFrame(0x1, payload, true);
    assert.deepEqual([...frame.subarray(0, 6)], [0xc1, 0x85, 0x12, 0x34, 0x56, 0x78]);
    // RFC 6455 5.7's example key 37 fa 21 3d differs; with ours: 'H'^12 'e'^34 'l'^56 'l'^78 'o'^12.
    assert.deepEqual([...frame.subarray(6)], [0x48 ^ 0x12, 0x65 ^ 0x34, 0x6c ^ 0x56, 0x6c ^ 0x78, 0x6f ^ 0x12]);
    const unmasked = Buffer.from(frame.subarray(6).map((b, i) => b ^ MASK[i % 4]!));
    assert.equal(unmasked.toString(), 'Hello');
  });

  it('control frames: a close with code 1000', () => {
    assert.deepEqual([...encodeClientFrame(0x8, Buffer.from([0x03, 0xe8]))], [0x88, 0x82, 0x12, 0x34, 0x56, 0x78, 0x03 ^ 0x12, 0xe8 ^ 0x34]);
  });
});

describe('makePayload', () => {
  it('is exactly size bytes of printable ASCII, the same every time', () => {
    for (const size of [0, 1, 7, 32, 1000]) {
      const p = makePayload(size);
      assert.equal(p.length, size);
      assert.ok([...p].every((b) => b >= 0x20 && b < 0x7f), `size ${size}`);
      assert.deepEqual(makePayload(size), p);
    }
    assert.equal(makePayload(16).toString(), '{"user":"alice",');
  });
});

describe('ringSize', () => {
  it('is a power of two, at least 2 and at least what is needed (the ring is indexed with a mask)', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 8, 9, 16, 17].map(ringSize), [2, 2, 2, 4, 4, 8, 8, 8, 16, 16, 32]);
    assert.equal(ringSize(1 << 16), 1 << 16);
  });
});

// ---------------------------------------------------------------- openWebSocket, closeAll

/**
 * A raw TCP server that answers each connection's request head with `reply(key)`
 * (the bytes to write, in one write). Closed, with its sockets, in t.after.
 */
async function rawServer(t: TestContext, reply: (key: string) => Buffer | string): Promise<{ port: number; heads: string[] }> {
  const sockets = new Set<Socket>();
  const heads: string[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      heads.push(head);
      socket.write(reply(/sec-websocket-key: (\S+)/i.exec(head)?.[1] ?? ''));
    });
  });
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, heads };
}

const acceptOf = (key: string) => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

describe('openWebSocket', () => {
  it('sends the request head, resolves paused with the bytes after the 101 head in rest', T, async (t) => {
    const greeting = serverFrame(0x1, Buffer.from('welcome'));
    const { port, heads } = await rawServer(t, (key) =>
      Buffer.concat([
        Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptOf(key)}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`),
        greeting,
      ]),
    );
    const opened = await openWebSocket(parseTarget(`ws://127.0.0.1:${port}/path?q=1`), { deflate: true, subprotocol: 'chat', headers: { 'X-Test': 'yes' } });
    t.after(() => closeAll([opened.socket]));
    assert.deepEqual(opened.rest, greeting);
    assert.equal(opened.extensions, 'permessage-deflate');
    assert.equal(opened.socket.isPaused(), true);
    assert.equal(opened.socket.listenerCount('data'), 0);
    assert.ok(opened.connectUs > 0);
    const lines = heads[0]!.split('\r\n');
    assert.equal(lines[0], 'GET /path?q=1 HTTP/1.1');
    for (const line of [`Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Protocol: chat', 'X-Test: yes']) {
      assert.ok(lines.includes(line), `missing ${line} in ${JSON.stringify(lines)}`);
    }
    assert.ok(lines.includes('Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; client_max_window_bits'));
  });

  it('rejects with kind "HTTP <status>" when refused, and "bad handshake" for a wrong accept key', T, async (t) => {
    const refused = await rawServer(t, () => 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    await assert.rejects(openWebSocket(parseTarget(`ws://127.0.0.1:${refused.port}/`), {}), { kind: 'HTTP 404' });
    const wrong = await rawServer(t, () => 'HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: AAAA\r\n\r\n');
    await assert.rejects(openWebSocket(parseTarget(`ws://127.0.0.1:${wrong.port}/`), {}), { kind: 'bad handshake' });
  });

  it('rejects with the socket error code when nothing listens', T, async () => {
    const port = await freePort();
    await assert.rejects(openWebSocket(parseTarget(`ws://127.0.0.1:${port}/`), {}), { kind: 'ECONNREFUSED' });
  });
});

describe('closeAll', () => {
  it('closes gracefully (the peer FIN is read) sockets whose data nobody read', T, async (t) => {
    // The servers send bytes nobody reads, then end when the client ends. Unless closeAll
    // drains the socket, the client never reads that FIN and the socket must be destroyed.
    const upgraded = await rawServer(t, (key) => `HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: ${acceptOf(key)}\r\n\r\n\x81\x02hi`);
    const sockets = new Set<Socket>();
    const greeter = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.write('hello');
      socket.resume(); // reads the client's FIN, so ends in turn
    });
    t.after(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => greeter.close(() => resolve()));
    });
    greeter.listen(0, '127.0.0.1');
    await once(greeter, 'listening');
    const rawPort = (greeter.address() as AddressInfo).port;
    const ws = await openWebSocket(parseTarget(`ws://127.0.0.1:${upgraded.port}/`), {});
    const tcp = await openWebSocket(parseTarget(`ws://127.0.0.1:${rawPort}/`), { handshake: false });
    // Let the greeting arrive and sit unread.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await closeAll([ws.socket, tcp.socket]);
    for (const socket of [ws.socket, tcp.socket]) {
      assert.equal(socket.destroyed, true);
      assert.equal(socket.readableEnded, true, 'closed by the timer, not by the peer');
    }
  });
});

// ---------------------------------------------------------------- runLoad

interface Known {
  url: string;
  /** Data messages the server received. */
  received(): number;
  /** Messages whose content differed from what was expected. */
  mismatches(): number;
  /** Pongs the server received, by payload. */
  pongs: string[];
  /** Resolves when every connection the server accepted has closed. */
  allClosed(): Promise<void>;
}

/**
 * Our WebSocketServer on port 0: echoes every message, counts it, and checks
 * it against `expect` (text and binary flag) when given; with pingPrevious,
 * each new connection makes it ping the one before. Closed in t.after.
 */
async function knownServer(
  t: TestContext,
  options: Omit<ServerOptions, 'port' | 'host'> & { expect?: { text: string; isBinary: boolean }; pingPrevious?: boolean } = {},
): Promise<Known> {
  const { expect, pingPrevious, ...serverOptions } = options;
  const wss = new WebSocketServer({ ...serverOptions, port: 0, host: '127.0.0.1' });
  t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await once(wss, 'listening');
  let received = 0;
  let mismatches = 0;
  let connections = 0;
  const closes: Promise<unknown>[] = [];
  const pongs: string[] = [];
  let previous: WebSocket | null = null;
  wss.on('connection', (ws) => {
    const n = connections++;
    closes.push(once(ws, 'close'));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      received++;
      if (expect && (data.toString() !== expect.text || isBinary !== expect.isBinary)) mismatches++;
      ws.send(data, { binary: isBinary });
    });
    ws.on('pong', (data: Buffer) => pongs.push(data.toString()));
    if (pingPrevious && previous) previous.ping(`ping-${n - 1}`);
    previous = ws;
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    received: () => received,
    mismatches: () => mismatches,
    pongs,
    allClosed: async () => {
      await Promise.all(closes);
    },
  };
}

function assertOrdered(summary: LoadResult['latencyUs']): void {
  const { p50, p90, p99, p999, max, mean } = summary;
  assert.ok(p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max, JSON.stringify(summary));
  assert.ok(mean <= max && mean >= 0, JSON.stringify(summary));
  for (const v of Object.values(summary)) assert.ok(Number.isInteger(v), JSON.stringify(summary));
}

/** runLoad with small defaults: 300 ms, 32-byte text messages. */
const load = (url: string, options: Partial<LoadOptions> = {}) =>
  runLoad({ url, connections: 4, durationMs: 300, size: 32, ...options });

describe('runLoad', () => {
  it('closed loop against our echo server: counts agree with the server, latency summary ordered', T, async (t) => {
    const server = await knownServer(t, { expect: { text: makePayload(32).toString(), isBinary: false } });
    const result = await load(server.url, { connections: 4 });
    await server.allClosed();
    assert.deepEqual(result.connections, { requested: 4, opened: 4 });
    assert.deepEqual(result.errors, {});
    assert.equal(result.extensions, '');
    assert.ok(result.received > 0, 'no echo counted');
    assert.ok(result.received <= result.sent);
    // Closed loop, pipeline 1: every echo counted while running was answered by one send,
    // so exactly one message per connection is still in flight at the end.
    assert.equal(result.sent, result.received + 4);
    // Each message sent reached the server before the Close frame did.
    assert.equal(server.received(), result.sent);
    assert.equal(server.mismatches(), 0);
    assertOrdered(result.latencyUs);
    assertOrdered(result.connectUs);
    assert.ok(result.latencyUs.max > 0 && result.connectUs.max > 0);
    assert.ok(Number.isInteger(result.messagesPerSecond) && Number.isInteger(result.bytesPerSecond));
    assert.ok(Number.isInteger(result.durationMs) && result.durationMs > 0);
  });

  it('pipeline 8 over 3 connections: sent = received + 24 exactly, and the server saw every message sent', T, async (t) => {
    const server = await knownServer(t);
    const result = await load(server.url, { connections: 3, pipeline: 8 });
    await server.allClosed();
    assert.deepEqual(result.errors, {});
    assert.equal(result.connections.opened, 3);
    assert.ok(result.received > 0);
    assert.equal(result.sent, result.received + 8 * 3);
    assert.equal(server.received(), result.sent);
    assertOrdered(result.latencyUs);
  });

  it('binary messages of 70000 bytes (64-bit lengths both ways) arrive intact', T, async (t) => {
    const size = 70_000;
    const server = await knownServer(t, { expect: { text: makePayload(size).toString(), isBinary: true } });
    const result = await load(server.url, { connections: 2, size, binary: true });
    await server.allClosed();
    assert.deepEqual(result.errors, {});
    assert.ok(result.received > 0);
    assert.equal(result.sent, result.received + 2);
    assert.equal(server.received(), result.sent);
    assert.equal(server.mismatches(), 0);
  });

  it('open loop (rate): sends, counts echoes, no more received than sent; no timing asserted', T, async (t) => {
    const server = await knownServer(t);
    const result = await load(server.url, { connections: 2, rate: 200 });
    await server.allClosed();
    assert.deepEqual(result.errors, {});
    assert.ok(result.sent > 0, 'nothing sent');
    assert.ok(result.received <= result.sent);
    assert.equal(server.received(), result.sent);
    assertOrdered(result.latencyUs);
  });

  it('answers pings the server sends during the ramp-up, before the run starts', T, async (t) => {
    // One connection at a time; when connection n arrives, the server pings connection n - 1,
    // whose handshake the generator has completed: that ping arrives on its own while the
    // generator is still opening connections, and must wait in the socket, not be dropped.
    const server = await knownServer(t, { pingPrevious: true });
    const result = await load(server.url, { connections: 6, connectConcurrency: 1 });
    await server.allClosed();
    assert.deepEqual(result.errors, {});
    assert.deepEqual([...server.pongs].sort(), ['ping-0', 'ping-1', 'ping-2', 'ping-3', 'ping-4']);
    // The pings were not mistaken for echoes.
    assert.equal(result.sent, result.received + 6);
  });

  it('a server refusing with verifyClient: errors { "HTTP 401": connections }, nothing opened or sent', T, async (t) => {
    const server = await knownServer(t, { verifyClient: () => false });
    const result = await load(server.url, { connections: 3, durationMs: 50 });
    assert.deepEqual(result.errors, { 'HTTP 401': 3 });
    assert.deepEqual(result.connections, { requested: 3, opened: 0 });
    assert.equal(result.sent, 0);
    assert.equal(result.received, 0);
    assert.equal(server.received(), 0);
    assert.deepEqual(result.latencyUs, { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 });
  });

  it('an unreachable port: errors { ECONNREFUSED: connections }', T, async () => {
    const port = await freePort();
    const result = await load(`ws://127.0.0.1:${port}/`, { connections: 2, durationMs: 20 });
    assert.deepEqual(result.errors, { ECONNREFUSED: 2 });
    assert.equal(result.connections.opened, 0);
    assert.equal(result.sent, 0);
  });

  it('deflate: permessage-deflate negotiated, compressed frames decompress to the payload on the server', T, async (t) => {
    const size = 512;
    const server = await knownServer(t, { perMessageDeflate: true, expect: { text: makePayload(size).toString(), isBinary: false } });
    const result = await load(server.url, { connections: 2, size, deflate: true });
    await server.allClosed();
    assert.match(result.extensions, /^permessage-deflate\b/);
    assert.deepEqual(result.errors, {});
    assert.ok(result.received > 0, 'no echo counted');
    assert.equal(result.sent, result.received + 2);
    assert.equal(server.received(), result.sent);
    assert.equal(server.mismatches(), 0);
  });

  it('deflate offered to a server without it: not negotiated, plain frames still echoed', T, async (t) => {
    const server = await knownServer(t, { perMessageDeflate: false, expect: { text: makePayload(64).toString(), isBinary: false } });
    const result = await load(server.url, { connections: 1, size: 64, deflate: true });
    await server.allClosed();
    assert.equal(result.extensions, '');
    assert.deepEqual(result.errors, {});
    assert.ok(result.received > 0);
    assert.equal(server.mismatches(), 0);
  });

  it('handshake: false against a raw TCP echo server: counts its own masked frames coming back', T, async (t) => {
    const sockets = new Set<Socket>();
    let bytes = 0;
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        bytes += chunk.length;
        socket.write(chunk);
      });
    });
    t.after(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const result = await load(`ws://127.0.0.1:${port}/`, { connections: 2, pipeline: 2, handshake: false });
    assert.deepEqual(result.errors, {});
    assert.equal(result.connections.opened, 2);
    assert.ok(result.received > 0);
    assert.equal(result.sent, result.received + 4);
    // Every frame is 2 + 4 + 32 bytes; at the end each connection also sent a 8-byte Close.
    assert.equal(bytes, result.sent * 38 + 2 * 8);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
