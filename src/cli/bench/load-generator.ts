/**
 * A WebSocket load generator that stays out of the way of what it measures:
 * raw TCP/TLS sockets, one pre-encoded (and pre-masked, pre-compressed)
 * frame per connection reused for every send, and a minimal incremental
 * parser that only counts echoes. Closed loop (`pipeline` messages in flight
 * per connection) or open loop (`rate` messages/s in total, latency measured
 * from the intended send time so a slow server cannot hide its queueing).
 *
 * Used by `hyperws bench` and by the benchmark suite (bench/).
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { constants, deflateRawSync } from 'node:zlib';
import { encodeFrame } from '../../protocol/frame-encoder.js';
import { Histogram } from './histogram.js';

export interface LoadOptions {
  url: string;
  connections: number;
  durationMs: number;
  /** Payload bytes per message. */
  size: number;
  binary?: boolean;
  /** Messages in flight per connection (closed loop). Default 1. */
  pipeline?: number;
  /** Messages per second over all connections (open loop); closed loop when absent. */
  rate?: number;
  /** Offer permessage-deflate and send compressed frames when it is accepted. */
  deflate?: boolean;
  subprotocol?: string;
  headers?: Record<string, string>;
  /** Accept any TLS certificate (wss://). */
  insecure?: boolean;
  /** Connections opened at once while ramping up. Default 100. */
  connectConcurrency?: number;
  /** false: plain TCP, no opening handshake (the raw-TCP baseline of the benchmark suite). */
  handshake?: boolean;
  /** A connection whose handshake response (or, with handshake false, TCP/TLS connect) has not come within this many ms fails with kind 'timeout'. Default 10,000; 0: no limit. */
  handshakeTimeout?: number;
  /** Called about once a second while running. */
  onProgress?: (progress: Progress) => void;
  /** Called once every connection was tried, before the clock starts (not when none opened: runLoad returns then). */
  onConnected?: (result: Pick<LoadResult, 'connections' | 'connectError' | 'deflate' | 'extensions'>) => void;
}

export interface Progress {
  elapsedMs: number;
  received: number;
  sent: number;
  errors: number;
  open: number;
}

export interface LoadResult {
  durationMs: number;
  connections: { requested: number; opened: number };
  sent: number;
  received: number;
  messagesPerSecond: number;
  /** Payload bytes echoed per second (both directions counted once). */
  bytesPerSecond: number;
  latencyUs: LatencySummary;
  connectUs: LatencySummary;
  errors: Record<string, number>;
  extensions: string;
  /** The first connection that could not be opened: its error's kind (ECONNREFUSED, HTTP 403...) and message; null when all opened. */
  connectError: { kind: string; message: string } | null;
  /** Whether permessage-deflate was offered (--deflate) and whether the server accepted it. */
  deflate: { requested: boolean; accepted: boolean };
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MASK = Buffer.from([0x12, 0x34, 0x56, 0x78]);

export function summarize(h: Histogram): LatencySummary {
  const round = (n: number) => Math.round(n);
  return {
    p50: round(h.percentile(50)),
    p90: round(h.percentile(90)),
    p99: round(h.percentile(99)),
    p999: round(h.percentile(99.9)),
    max: round(h.count ? h.max : 0),
    mean: round(h.mean),
  };
}

/** A masked client frame (fixed key: it is built once and reused), as the core encodes it. */
export function encodeClientFrame(opcode: number, payload: Buffer, rsv1 = false): Buffer {
  return encodeFrame(opcode, payload, { fin: true, rsv1, maskKey: MASK });
}

/** Payload of the given size: printable ASCII (valid UTF-8), mildly compressible like JSON. */
export function makePayload(size: number): Buffer {
  const words = ['{"user":', '"alice"', ',"text":', '"hello world"', ',"n":', '12345', '}', ' '];
  const out = Buffer.allocUnsafe(size);
  let i = 0;
  let w = 0;
  while (i < size) {
    const word = words[w++ % words.length]!;
    i += out.write(word, i, Math.min(word.length, size - i), 'latin1');
  }
  return out;
}

interface Target {
  secure: boolean;
  host: string;
  port: number;
  path: string;
  hostHeader: string;
}

export function parseTarget(url: string): Target {
  const u = new URL(url);
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  if (!secure && u.protocol !== 'ws:' && u.protocol !== 'http:') throw new Error(`unsupported URL scheme: ${u.protocol}`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { secure, host, port: Number(u.port || (secure ? 443 : 80)), path: `${u.pathname}${u.search}`, hostHeader: u.host };
}

export interface OpenedSocket {
  /** Paused, with no 'error' listener: the caller adds its own listeners, then calls resume(). */
  socket: Socket;
  /** Bytes received after the 101 response. */
  rest: Buffer;
  extensions: string;
  connectUs: number;
}

/** Default of LoadOptions.handshakeTimeout, in ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/**
 * Open a socket and complete the opening handshake. Rejects with an Error
 * whose `kind` names the failure. The socket comes back paused so that bytes
 * the server sends before the caller is ready (a ping, a greeting) wait in
 * its buffer instead of being emitted to no listener.
 */
export function openWebSocket(
  target: Target,
  options: Pick<LoadOptions, 'deflate' | 'subprotocol' | 'headers' | 'insecure' | 'handshake' | 'handshakeTimeout'>,
): Promise<OpenedSocket> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const limit = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const timer = limit > 0 ? setTimeout(() => fail('timeout', `no handshake response within ${limit} ms`), limit) : null;
    const resolve = (opened: OpenedSocket) => {
      if (timer !== null) clearTimeout(timer);
      socket.removeListener('close', onClose);
      resolvePromise(opened);
    };
    const key = randomBytes(16).toString('base64');
    const socket = target.secure
      ? // SNI carries host names only (RFC 6066 3): Node warns when given an IP address.
        tlsConnect({ host: target.host, port: target.port, ...(isIP(target.host) === 0 ? { servername: target.host } : {}), rejectUnauthorized: !options.insecure })
      : netConnect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const fail = (kind: string, message: string) => {
      if (timer !== null) clearTimeout(timer);
      socket.removeListener('close', onClose);
      socket.destroy();
      reject(Object.assign(new Error(message), { kind }));
    };
    // A server that closes without answering (no 'error'): fail rather than wait forever.
    const onClose = () => fail('bad handshake', 'connection closed before the handshake response');
    socket.once('close', onClose);
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? 'socket error', error.message));
    if (options.handshake === false) {
      socket.once(target.secure ? 'secureConnect' : 'connect', () => {
        socket.removeAllListeners('error');
        socket.pause();
        resolve({ socket, rest: Buffer.alloc(0), extensions: '', connectUs: (performance.now() - started) * 1000 });
      });
      return;
    }
    const lines = [
      `GET ${target.path} HTTP/1.1`,
      `Host: ${target.hostHeader}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
    ];
    if (options.subprotocol) lines.push(`Sec-WebSocket-Protocol: ${options.subprotocol}`);
    if (options.deflate) lines.push('Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; client_max_window_bits');
    for (const [k, v] of Object.entries(options.headers ?? {})) lines.push(`${k}: ${v}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > 16384) fail('bad handshake', 'response head too large');
        return;
      }
      socket.removeListener('data', onData);
      // Removing the last 'data' listener leaves the stream flowing: pause it, or what follows is lost.
      socket.pause();
      socket.removeAllListeners('error');
      const text = head.subarray(0, end).toString('latin1');
      const [status, ...headerLines] = text.split('\r\n');
      const code = Number(status!.split(' ')[1]);
      if (code !== 101) return fail(`HTTP ${code}`, `handshake refused: ${status}`);
      const headers = new Map(headerLines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      if (headers.get('sec-websocket-accept') !== accept) return fail('bad handshake', 'invalid Sec-WebSocket-Accept');
      resolve({ socket, rest: head.subarray(end + 4), extensions: headers.get('sec-websocket-extensions') ?? '', connectUs: (performance.now() - started) * 1000 });
    };
    socket.on('data', onData);
  });
}

/** Counts complete data messages in a server's byte stream; answers pings. */
export class EchoCounter {
  private carry: Buffer | null = null;
  private payloadLeft = 0;
  private frameFin = false;
  private frameOpcode = 0;
  private control: Buffer[] | null = null;

  constructor(
    private readonly onMessage: () => void,
    private readonly onControl: (opcode: number, payload: Buffer) => void,
  ) {}

  push(input: Buffer): void {
    let chunk = input;
    if (this.carry !== null) {
      chunk = Buffer.concat([this.carry, input]);
      this.carry = null;
    }
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, end - pos);
        if (this.control !== null) this.control.push(chunk.subarray(pos, pos + take));
        this.payloadLeft -= take;
        pos += take;
        if (this.payloadLeft > 0) return;
        this.endFrame();
        continue;
      }
      if (end - pos < 2) break;
      const b1 = chunk[pos + 1]!;
      const len7 = b1 & 0x7f;
      const headerLength = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      if (end - pos < headerLength) break;
      const b0 = chunk[pos]!;
      this.frameFin = (b0 & 0x80) !== 0;
      this.frameOpcode = b0 & 0x0f;
      let length = len7;
      if (len7 === 126) length = chunk.readUInt16BE(pos + 2);
      else if (len7 === 127) length = chunk.readUInt32BE(pos + 2) * 2 ** 32 + chunk.readUInt32BE(pos + 6);
      pos += headerLength;
      this.control = this.frameOpcode >= 0x8 ? [] : null;
      this.payloadLeft = length;
      if (length === 0) this.endFrame();
    }
    if (pos < end) this.carry = Buffer.from(chunk.subarray(pos));
  }

  private endFrame(): void {
    if (this.control !== null) {
      this.onControl(this.frameOpcode, Buffer.concat(this.control));
      this.control = null;
    } else if (this.frameFin) {
      this.onMessage();
    }
  }
}

/** Run a load test; resolves with its results after durationMs (plus connect time). */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = parseTarget(options.url);
  const pipeline = Math.max(1, options.pipeline ?? 1);
  const errors: Record<string, number> = {};
  const countError = (kind: string) => (errors[kind] = (errors[kind] ?? 0) + 1);
  const latency = new Histogram();
  const connectTimes = new Histogram();
  const payload = makePayload(options.size);
  let extensions = '';
  let connectError: LoadResult['connectError'] = null;

  let running = true;
  let open = 0;
  // Listeners shared by every connection, attached as soon as it opens: an
  // 'error' during the ramp-up must not go unhandled (it would end the process).
  function onSocketError(error: NodeJS.ErrnoException): void {
    if (running) countError(error.code ?? 'socket error');
  }
  function onSocketClose(): void {
    open--;
    if (running) countError('connection lost');
  }

  // Ramp up: open every connection first (bounded concurrency), then start the clock.
  const opened: OpenedSocket[] = [];
  const concurrency = Math.max(1, options.connectConcurrency ?? 100);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, options.connections) }, async () => {
      while (next < options.connections) {
        next++;
        try {
          const ws = await openWebSocket(target, options);
          ws.socket.on('error', onSocketError);
          ws.socket.on('close', onSocketClose);
          open++;
          connectTimes.record(ws.connectUs);
          opened.push(ws);
        } catch (error) {
          const kind = (error as { kind?: string }).kind ?? 'connect';
          connectError ??= { kind, message: (error as Error).message };
          countError(kind);
        }
      }
    }),
  );
  if (opened.length > 0) extensions = opened[0]!.extensions;
  const compressed = options.deflate === true && /permessage-deflate/.test(extensions);
  const deflate = { requested: options.deflate === true, accepted: compressed };
  const connections = { requested: options.connections, opened: opened.length };
  // Nothing to measure: no clock, no duration.
  if (opened.length === 0) {
    const none = summarize(new Histogram());
    return { durationMs: 0, connections, sent: 0, received: 0, messagesPerSecond: 0, bytesPerSecond: 0, latencyUs: none, connectUs: none, errors, extensions, connectError, deflate };
  }
  options.onConnected?.({ connections, connectError, deflate, extensions });
  const body = compressed ? deflatePayload(payload) : payload;
  const frame = encodeClientFrame(options.binary ? 0x2 : 0x1, body, compressed);
  const burst = pipeline > 1 ? Buffer.concat(Array.from({ length: pipeline }, () => frame)) : frame;

  let sent = 0;
  let received = 0;
  const start = performance.now();
  const openLoop = options.rate !== undefined && options.rate > 0;

  interface Conn {
    socket: Socket;
    /** Send times (ms) of messages in flight, FIFO (echoes come back in order). */
    times: Float64Array;
    head: number;
    tail: number;
    /** Closed loop: replies owed for the echoes of the current read, sent in one write after it. */
    owed: number;
  }
  const RING = ringSize(openLoop ? 1 << 16 : pipeline * 2);
  const conns: Conn[] = opened.map(({ socket, rest }) => {
    const conn: Conn = { socket, times: new Float64Array(RING), head: 0, tail: 0, owed: 0 };
    const counter = new EchoCounter(
      () => {
        received++;
        const now = performance.now();
        if (conn.head !== conn.tail) {
          latency.record((now - conn.times[conn.head & (RING - 1)]!) * 1000);
          conn.head++;
        }
        if (running && !openLoop) {
          conn.times[conn.tail++ & (RING - 1)] = now;
          sent++;
          conn.owed++;
        }
      },
      (opcode, data) => {
        if (opcode === 0x9) socket.write(encodeClientFrame(0xa, data));
        else if (opcode === 0x8 && running) countError('closed by server');
      },
    );
    const onData = (chunk: Buffer): void => {
      counter.push(chunk);
      // One write (one system call) for all the replies a read made due, as a
      // real pipelining client does: the generator must not be the bottleneck.
      while (conn.owed > 0) {
        const n = Math.min(conn.owed, pipeline);
        conn.owed -= n;
        socket.write(n === 1 ? frame : burst.subarray(0, n * frame.length));
      }
    };
    socket.on('data', onData);
    if (rest.length > 0) onData(rest);
    socket.resume();
    return conn;
  });

  let rateTimer: NodeJS.Timeout | null = null;
  if (openLoop) {
    const rate = options.rate!;
    let scheduled = 0;
    let rr = 0;
    rateTimer = setInterval(() => {
      const now = performance.now();
      const due = Math.floor(((now - start) / 1000) * rate);
      for (; scheduled < due && conns.length > 0; scheduled++) {
        const conn = conns[rr++ % conns.length]!;
        if (conn.tail - conn.head >= RING) {
          countError('backlog overflow');
          continue;
        }
        // Intended send time, not actual: coordinated omission stays visible.
        conn.times[conn.tail++ & (RING - 1)] = start + (scheduled * 1000) / rate;
        sent++;
        conn.socket.write(frame);
      }
    }, 1);
  } else {
    const now = performance.now();
    for (const conn of conns) {
      for (let i = 0; i < pipeline; i++) conn.times[conn.tail++ & (RING - 1)] = now;
      sent += pipeline;
      conn.socket.write(burst);
    }
  }

  const progressTimer = options.onProgress
    ? setInterval(() => {
        const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
        options.onProgress!({ elapsedMs: performance.now() - start, received, sent, errors: errorCount, open });
      }, 1000)
    : null;

  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  running = false;
  const elapsed = performance.now() - start;
  const receivedAtEnd = received;
  if (rateTimer) clearInterval(rateTimer);
  if (progressTimer) clearInterval(progressTimer);
  await closeAll(conns.map((c) => c.socket));

  return {
    durationMs: Math.round(elapsed),
    connections,
    sent,
    received: receivedAtEnd,
    messagesPerSecond: Math.round((receivedAtEnd / elapsed) * 1000),
    bytesPerSecond: Math.round(((receivedAtEnd * options.size) / elapsed) * 1000),
    latencyUs: summarize(latency),
    connectUs: summarize(connectTimes),
    errors,
    extensions,
    connectError,
    deflate,
  };
}

/**
 * Slots for the send times in flight on one connection: at least `needed`
 * (and 2), rounded up to a power of two, since the ring is indexed with
 * `& (size - 1)`.
 */
export function ringSize(needed: number): number {
  let size = 2;
  while (size < needed) size *= 2;
  return size;
}

function deflatePayload(payload: Buffer): Buffer {
  const out = deflateRawSync(payload, { level: 1, finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4); // drop 00 00 ff ff (RFC 7692 7.2.1)
}

const CLOSE_FRAME = encodeClientFrame(0x8, Buffer.from([0x03, 0xe8]));
const ignoreError = (): void => {};

/** Close every socket: a Close frame, then destroy whatever is still open shortly after. */
export async function closeAll(sockets: Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          const timer = setTimeout(() => socket.destroy(), 2000);
          socket.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          // A paused socket never sees the peer's FIN, so it would never close: drain it.
          // Errors while closing (a reset) change nothing, but must not go unhandled.
          socket.on('error', ignoreError);
          socket.resume();
          socket.write(CLOSE_FRAME);
          socket.end();
        }),
    ),
  );
}
