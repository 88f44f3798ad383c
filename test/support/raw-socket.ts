// Raw TCP WebSocket endpoints for conformance tests, independent of the
// library under test: a client (to poke our server byte by byte) and a
// server (to feed our client hand-made handshakes and frames).
//
// Reads are buffered and exact; they wait as long as needed (no timeouts:
// test files set node:test's `timeout` option). Issue reads sequentially.

import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** The RFC 6455 sample key; its accept value is 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='. */
export const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
export const DEFAULT_MASK: Readonly<Buffer> = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** XORs `payload` with the 4-byte `mask` (returns a new buffer). */
export function maskPayload(payload: Uint8Array, mask: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

export interface FrameSpec {
  fin?: boolean;
  /** 3-bit RSV1..RSV3 value (RSV1 = 4). */
  rsv?: number;
  opcode: number;
  payload?: Uint8Array | string;
  /** 4-byte key; undefined = DEFAULT_MASK; false = unmasked. */
  mask?: Uint8Array | false;
  /** Force a (possibly non-minimal) length encoding; default: minimal. */
  lengthBits?: 7 | 16 | 64;
}

/** Raw frame bytes. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const { fin = true, rsv = 0, opcode } = spec;
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload, 'utf8') : Buffer.from(spec.payload ?? []);
  const mask = spec.mask === false ? undefined : Buffer.from(spec.mask ?? DEFAULT_MASK);
  if (mask && mask.length !== 4) throw new RangeError('mask must be 4 bytes');
  const len = payload.length;
  const bits = spec.lengthBits ?? (len < 126 ? 7 : len < 0x10000 ? 16 : 64);
  if (bits === 7 && len > 125) throw new RangeError('payload too long for a 7-bit length');
  if (bits === 16 && len > 0xffff) throw new RangeError('payload too long for a 16-bit length');
  const head = Buffer.alloc(2 + (bits === 16 ? 2 : bits === 64 ? 8 : 0) + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  head[1] = (mask ? 0x80 : 0) | (bits === 7 ? len : bits === 16 ? 126 : 127);
  let o = 2;
  if (bits === 16) o = head.writeUInt16BE(len, o);
  else if (bits === 64) o = head.writeBigUInt64BE(BigInt(len), o);
  if (mask) {
    mask.copy(head, o);
    return Buffer.concat([head, maskPayload(payload, mask)]);
  }
  return Buffer.concat([head, payload]);
}

export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** The masking key when masked. */
  mask?: Buffer;
  /** Unmasked payload. */
  payload: Buffer;
}

/** Close frame payload: 2-byte code + UTF-8 reason (empty when code is undefined). */
export function closePayload(code?: number, reason = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason, 'utf8')]);
}

export function parseClosePayload(payload: Buffer): { code: number | undefined; reason: string } {
  if (payload.length < 2) return { code: undefined, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}

/** Header maps: keys are case-insensitive; a null value removes a default header. */
export type HeaderOverrides = Record<string, string | null>;

function buildHeaders(defaults: Record<string, string>, extra: HeaderOverrides = {}): string {
  const out = new Map<string, [string, string]>();
  for (const [k, v] of Object.entries(defaults)) out.set(k.toLowerCase(), [k, v]);
  for (const [k, v] of Object.entries(extra)) {
    if (v === null) out.delete(k.toLowerCase());
    else out.set(k.toLowerCase(), [k, v]);
  }
  return [...out.values()].map(([k, v]) => `${k}: ${v}\r\n`).join('');
}

/**
 * A GET upgrade request (Host: localhost, key SAMPLE_KEY, version 13).
 * `extraHeaders` override defaults case-insensitively; null removes one.
 */
export function upgradeRequest(path = '/', extraHeaders?: HeaderOverrides): string {
  return (
    `GET ${path} HTTP/1.1\r\n` +
    buildHeaders(
      {
        Host: 'localhost',
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': SAMPLE_KEY,
        'Sec-WebSocket-Version': '13',
      },
      extraHeaders,
    ) +
    '\r\n'
  );
}

function parseHeaderLines(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  return headers;
}

export interface HttpResponseHead {
  status: number;
  statusText: string;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The head as received, including the final \r\n\r\n. */
  raw: string;
}

export interface HttpRequestHead {
  method: string;
  path: string;
  httpVersion: string;
  headers: Record<string, string>;
  raw: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Buffered, exact reads over a net.Socket. Base of RawClient and RawPeer. */
export class RawSocket {
  /** True once the peer's FIN ('end') arrived or the socket closed. */
  ended = false;
  /** True once the socket is fully closed. */
  closed = false;
  /** First socket error, if any (ECONNRESET etc.). */
  error: Error | undefined;

  private chunks: Buffer[] = [];
  private size = 0;
  private waiters: Array<() => void> = [];
  private readonly endPromise: Promise<void>;
  private readonly closePromise: Promise<void>;

  constructor(readonly socket: Socket) {
    // An HTTP/2 stream (test/support/h2-client.ts) stands in for a socket without setNoDelay.
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.size += chunk.length;
      this.wake();
    });
    socket.on('error', (err) => {
      this.error ??= err;
      this.wake();
    });
    this.endPromise = new Promise((resolve) => {
      const done = (): void => {
        this.ended = true;
        this.wake();
        resolve();
      };
      socket.once('end', done);
      socket.once('close', done);
    });
    this.closePromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Bytes received but not yet read. */
  get buffered(): number {
    return this.size;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private flatten(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const all = this.flatten();
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    return out;
  }

  /** Waits for more data (or end/error). Throws if none can come. */
  private async more(want: string): Promise<void> {
    if (this.ended || this.closed) {
      throw new Error(
        `connection ended while waiting for ${want} (${this.size} bytes buffered)` +
          (this.error ? `: ${this.error.message}` : ''),
      );
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }

  write(bytes: Uint8Array | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** Exactly `n` bytes. */
  async read(n: number): Promise<Buffer> {
    while (this.size < n) await this.more(`${n} bytes`);
    return this.take(n);
  }

  /** Everything until the peer's FIN (resolves after 'end'/'close'). */
  async readUntilEnd(): Promise<Buffer> {
    await this.waitForEnd();
    return this.take(this.size);
  }

  /** Reads up to and including \r\n\r\n; the rest stays buffered. */
  protected async readHeadText(): Promise<string> {
    for (;;) {
      if (this.size > 0) {
        const i = this.flatten().indexOf(HEAD_END);
        if (i >= 0) return this.take(i + HEAD_END.length).toString('latin1');
      }
      await this.more('an HTTP head (\\r\\n\\r\\n)');
    }
  }

  /** One frame, unmasked if masked. */
  async readFrame(): Promise<Frame> {
    const [b0, b1] = await this.read(2);
    const masked = (b1! & 0x80) !== 0;
    let len = b1! & 0x7f;
    if (len === 126) len = (await this.read(2)).readUInt16BE(0);
    else if (len === 127) {
      const big = (await this.read(8)).readBigUInt64BE(0);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`frame length ${big} too large`);
      len = Number(big);
    }
    const mask = masked ? await this.read(4) : undefined;
    const data = await this.read(len);
    const frame: Frame = {
      fin: (b0! & 0x80) !== 0,
      rsv: (b0! >> 4) & 7,
      opcode: b0! & 0x0f,
      masked,
      payload: mask ? maskPayload(data, mask) : data,
    };
    if (mask) frame.mask = mask;
    return frame;
  }

  /** Resolves on the peer's FIN ('end') or on 'close'. */
  waitForEnd(): Promise<void> {
    return this.endPromise;
  }

  /** Resolves once the socket is fully closed. */
  waitForClose(): Promise<void> {
    return this.closePromise;
  }

  /** Sends our FIN (half-close); does not wait. */
  end(): void {
    this.socket.end();
  }

  /**
   * Graceful close: FIN, then wait for the socket to close; destroys it if the
   * peer has not closed its side within `graceMs` (a cleanup net, not an assertion).
   */
  async close(graceMs = 2_000): Promise<void> {
    if (this.closed) return;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), graceMs);
    try {
      await this.closePromise;
    } finally {
      clearTimeout(t);
    }
  }

  /** Abortive close: a TCP reset (RST), at once. */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  /** Immediate teardown (RST if data is pending); resolves when closed. */
  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closePromise;
  }
}

/** Client side of a raw connection. */
export class RawClient extends RawSocket {
  /** The 101 (or other) response head once read. */
  response: HttpResponseHead | undefined;

  async readHttpHead(): Promise<HttpResponseHead> {
    const raw = await this.readHeadText();
    const [statusLine = '', ...lines] = raw.slice(0, -4).split('\r\n');
    const m = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) throw new Error(`bad HTTP status line: ${JSON.stringify(statusLine)}`);
    this.response = { status: Number(m[1]), statusText: m[2] ?? '', headers: parseHeaderLines(lines), raw };
    return this.response;
  }

  /** Sends a frame; masked with DEFAULT_MASK unless `mask` says otherwise. */
  sendFrame(spec: FrameSpec): Promise<void> {
    return this.write(encodeFrame(spec));
  }
}

export function connectRaw(port: number, host = '127.0.0.1'): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(new RawClient(socket));
    });
  });
}

/**
 * Connects, sends upgradeRequest(path, {Host: 127.0.0.1:port, ...headers}),
 * reads the response head and asserts status 101 (else destroys and throws).
 */
export async function handshakeRaw(port: number, path = '/', headers?: HeaderOverrides): Promise<RawClient> {
  const client = await connectRaw(port);
  try {
    await client.write(upgradeRequest(path, { Host: `127.0.0.1:${port}`, ...headers }));
    const head = await client.readHttpHead();
    if (head.status !== 101) throw new Error(`expected HTTP 101, got ${head.status}:\n${head.raw}`);
    return client;
  } catch (err) {
    await client.destroy();
    throw err;
  }
}

/** Server side of a raw connection. */
export class RawPeer extends RawSocket {
  /** The upgrade request head once read. */
  request: HttpRequestHead | undefined;

  async readHttpHead(): Promise<HttpRequestHead> {
    const raw = await this.readHeadText();
    const [requestLine = '', ...lines] = raw.slice(0, -4).split('\r\n');
    const m = /^(\S+) (\S+) HTTP\/(\d\.\d)$/.exec(requestLine);
    if (!m) throw new Error(`bad HTTP request line: ${JSON.stringify(requestLine)}`);
    this.request = { method: m[1]!, path: m[2]!, httpVersion: m[3]!, headers: parseHeaderLines(lines), raw };
    return this.request;
  }

  /**
   * Writes a 101 response whose Sec-WebSocket-Accept matches the request key
   * (reads the request head first if not read yet). `extraHeaders` override
   * the defaults case-insensitively (e.g. a wrong accept); null removes one.
   */
  async acceptUpgrade(extraHeaders?: HeaderOverrides): Promise<HttpRequestHead> {
    const req = this.request ?? (await this.readHttpHead());
    const key = req.headers['sec-websocket-key'];
    const defaults: Record<string, string> = { Upgrade: 'websocket', Connection: 'Upgrade' };
    if (key !== undefined) defaults['Sec-WebSocket-Accept'] = acceptKey(key);
    await this.write(`HTTP/1.1 101 Switching Protocols\r\n${buildHeaders(defaults, extraHeaders)}\r\n`);
    return req;
  }

  /** Writes any HTTP response (e.g. a 403 rejection) with Content-Length. */
  async respond(status: number, statusText: string, headers: HeaderOverrides = {}, body = ''): Promise<void> {
    const b = Buffer.from(body, 'utf8');
    await this.write(
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 ${status} ${statusText}\r\n` +
            buildHeaders({ 'Content-Length': String(b.length), Connection: 'close' }, headers) +
            '\r\n',
          'latin1',
        ),
        b,
      ]),
    );
  }

  /** Sends a frame; unmasked unless `mask` is given (servers must not mask). */
  sendFrame(spec: FrameSpec): Promise<void> {
    return this.write(encodeFrame({ ...spec, mask: spec.mask ?? false }));
  }
}

export interface RawServer {
  port: number;
  /** ws://127.0.0.1:<port> */
  url: string;
  /** Every connection accepted so far. */
  peers: RawPeer[];
  /** Errors thrown/rejected by onConnection (the peer is destroyed when that happens). */
  errors: unknown[];
  /** Resolves when every onConnection call started so far has settled. */
  idle(): Promise<void>;
  /** Destroys all accepted sockets and closes the listener. */
  close(): Promise<void>;
}

/**
 * A raw server on 127.0.0.1, port 0. Sockets are half-open capable
 * (allowHalfOpen): the server sends its FIN only when the test calls
 * peer.end()/close()/destroy() (or server.close()).
 */
export async function startRawServer(onConnection: (peer: RawPeer) => void | Promise<void>): Promise<RawServer> {
  const peers: RawPeer[] = [];
  const errors: unknown[] = [];
  const running: Promise<void>[] = [];
  let shuttingDown = false;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const peer = new RawPeer(socket);
    peers.push(peer);
    running.push(
      (async () => {
        try {
          await onConnection(peer);
        } catch (err) {
          errors.push(err);
          // Reads failing because server.close() destroyed the socket are expected.
          if (!shuttingDown) process.stderr.write(`raw server handler error: ${err instanceof Error ? err.stack : String(err)}\n`);
          socket.destroy();
        }
      })(),
    );
  });
  const port = await listenOnLoopback(server);
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    peers,
    errors,
    idle: () => settleAll(running),
    close: () =>
      (closing ??= new Promise<void>((res) => {
        shuttingDown = true;
        server.close(() => res());
        for (const p of peers) p.socket.destroy();
      }).then(() => Promise.all(peers.map((p) => p.waitForClose())).then(() => undefined))),
  };
}

/** Listens on an ephemeral port of 127.0.0.1; resolves with the port. */
export function listenOnLoopback(server: { listen(port: number, host: string, callback: () => void): unknown; address(): unknown; once(event: 'error', listener: (error: Error) => void): unknown; off(event: 'error', listener: (error: Error) => void): unknown }): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Resolves once every task of `running` has settled, tasks added meanwhile included. */
export async function settleAll(running: readonly Promise<unknown>[]): Promise<void> {
  let n = -1;
  while (n !== running.length) {
    n = running.length;
    await Promise.allSettled(running);
  }
}

/**
 * A slowloris: writes `head` (a request head without its final empty line),
 * then one more byte of a never-ending header every 10 ms until the socket
 * closes, so Node's idle timers never fire and only a handshake deadline can
 * end the connection.
 */
export async function trickle(client: RawClient, head: string): Promise<void> {
  await client.write(`${head}X-Slow: `);
  const timer = setInterval(() => client.socket.destroyed || client.socket.write('a'), 10);
  client.socket.once('close', () => clearInterval(timer));
}

/**
 * Everything the server sent until it closed the connection; rejects when
 * `signal` (the test's) aborts first: the test then failed on its timeout.
 */
export function untilDropped(client: RawClient, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(new Error('the connection was not dropped')), { once: true });
    client.readUntilEnd().then((rest) => resolve(rest.toString('latin1')), reject);
  });
}
