/**
 * Harness for the server-side conformance cases (Autobahn TestSuite style):
 * our WebSocketServer echoes every message with its type, a raw client
 * (test/support/raw-socket.ts) drives it with hand-made masked frames over a
 * real socket, and assertions read the server's frames byte for byte.
 *
 * Every case gets its own server and client, both torn down when it ends.
 *
 * The transport is pluggable: after useTransport('h2') (see
 * server-over-http2.test.ts) the same cases run over HTTP/2 (RFC 8441): the
 * server is ours with `http2: true` (h2c), the client a raw HTTP/2 session
 * whose Extended CONNECT stream carries the hand-made frames; a stream's
 * END_STREAM stands for TCP's FIN and RST_STREAM for its reset.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions } from '../../src/node/index.js';
import type { WebSocket } from '../../src/node/websocket.js';
import type { ProtocolError } from '../../src/protocol/index.js';
import {
  Opcode,
  closePayload,
  encodeFrame,
  handshakeRaw,
  parseClosePayload,
  type Frame,
  type FrameSpec,
  type RawClient,
} from '../support/raw-socket.js';
import { hex, pseudoRandomBytes, sha256 } from '../support/bytes.js';
import { handshakeH2 } from '../support/h2-client.js';

export type Transport = 'tcp' | 'h2';
let transport: Transport = 'tcp';

/** Run the cases registered from now on over this transport. */
export function useTransport(which: Transport): void {
  transport = which;
}

/** A test that only makes sense over TCP (it writes HTTP/1.1 by hand): not registered over HTTP/2. */
export function tcpOnlyTest(name: string, options: { timeout?: number }, body: (t: TestContext) => Promise<void>): void {
  if (transport === 'tcp') test(name, options, body);
}

export { Opcode, closePayload, encodeFrame };
export { hex, pseudoRandomBytes, sha256 };

/** What the server side saw of the (single) connection. */
export interface ServerSide {
  ws: WebSocket;
  /** '1.1' for an upgrade, '2.0' for an Extended CONNECT stream. */
  httpVersion: string;
  errors: ProtocolError[];
  /** The server WebSocket's 'close' event. */
  closed: Promise<{ code: number; reason: string }>;
}

export interface EchoServer {
  wss: WebSocketServer;
  port: number;
  /** The first accepted connection. */
  connection: Promise<ServerSide>;
  close(): Promise<void>;
}

/** Our server, echoing every message with its type (text stays text, binary stays binary). */
export async function startEchoServer(options: Omit<ServerOptions, 'port'> = {}): Promise<EchoServer> {
  const wss = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1', ...(transport === 'h2' ? { http2: true } : {}) });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const connection = new Promise<ServerSide>((resolve) => {
    wss.on('connection', (ws: WebSocket, req: { httpVersion: string }) => {
      const errors: ProtocolError[] = [];
      ws.on('error', (err: ProtocolError) => errors.push(err));
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
      const closed = new Promise<{ code: number; reason: string }>((res) =>
        ws.once('close', (code: number, reason: Buffer) => res({ code, reason: reason.toString() })),
      );
      resolve({ ws, httpVersion: req.httpVersion, errors, closed });
    });
  });
  return {
    wss,
    port: (wss.address() as AddressInfo).port,
    connection,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

/** One conformance case: a fresh echo server and an upgraded raw client. */
export class Case {
  constructor(
    readonly client: RawClient,
    readonly server: EchoServer,
  ) {}

  /** Sends one masked frame in one write. */
  send(spec: FrameSpec): Promise<void> {
    return this.client.sendFrame(spec);
  }

  sendText(text: string | Buffer, fin = true): Promise<void> {
    return this.client.sendFrame({ opcode: Opcode.TEXT, payload: text, fin });
  }

  /** Writes raw bytes in one write. */
  write(bytes: Uint8Array): Promise<void> {
    return this.client.write(bytes);
  }

  /** Writes `bytes` in pieces of `size` bytes, each write awaited ("chops"). */
  async writeChopped(bytes: Uint8Array, size: number): Promise<void> {
    for (let i = 0; i < bytes.length; i += size) await this.client.write(bytes.subarray(i, i + size));
  }

  /** Sends several frames as separate, awaited writes (one per frame). */
  async sendEach(frames: FrameSpec[]): Promise<void> {
    for (const f of frames) await this.client.sendFrame(f);
  }

  /** Sends several frames concatenated into one write ("one chop"). */
  sendTogether(frames: FrameSpec[]): Promise<void> {
    return this.client.write(Buffer.concat(frames.map((f) => encodeFrame(f))));
  }

  readFrame(): Promise<Frame> {
    return this.client.readFrame();
  }

  /** The next frame is exactly an unfragmented, unmasked `opcode` frame with `payload`. */
  async expectFrame(opcode: number, payload: Uint8Array | string = ''): Promise<Frame> {
    const expected = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload);
    const frame = await this.client.readFrame();
    assert.deepEqual(
      { fin: frame.fin, rsv: frame.rsv, opcode: frame.opcode, masked: frame.masked, length: frame.payload.length },
      { fin: true, rsv: 0, opcode, masked: false, length: expected.length },
      'frame header',
    );
    if (expected.length <= 1024) assert.deepEqual(frame.payload, expected, 'frame payload');
    else assert.equal(sha256(frame.payload), sha256(expected), 'frame payload (sha256)');
    return frame;
  }

  expectText(payload: Uint8Array | string): Promise<Frame> {
    return this.expectFrame(Opcode.TEXT, payload);
  }

  expectBinary(payload: Uint8Array | string): Promise<Frame> {
    return this.expectFrame(Opcode.BINARY, payload);
  }

  expectPong(payload: Uint8Array | string = ''): Promise<Frame> {
    return this.expectFrame(Opcode.PONG, payload);
  }

  /**
   * The next frame is the server's Close with `code` (undefined: empty
   * payload), then nothing else: the server closes TCP (FIN) on its own,
   * without waiting for the client to close first.
   */
  async expectClose(code: number | undefined, reason?: string): Promise<{ code: number | undefined; reason: string }> {
    const frame = await this.client.readFrame();
    assert.equal(frame.opcode, Opcode.CLOSE, `expected a Close frame, got opcode ${frame.opcode} (${frame.payload.length} bytes)`);
    assert.deepEqual({ fin: frame.fin, rsv: frame.rsv, masked: frame.masked }, { fin: true, rsv: 0, masked: false });
    const parsed = parseClosePayload(frame.payload);
    assert.equal(parsed.code, code, `close code (reason: ${JSON.stringify(parsed.reason)})`);
    if (code === undefined) assert.equal(frame.payload.length, 0, 'empty close payload');
    if (reason !== undefined) assert.deepEqual(frame.payload, closePayload(code, reason), 'close payload (code + reason)');
    // A failure's reason is free text, but it must be valid UTF-8 (RFC 6455 7.1.6).
    assert.ok(isUtf8(frame.payload.subarray(2)), 'close reason is UTF-8');
    assert.ok(frame.payload.length <= 125);
    // Nothing follows the Close frame, and the server closes TCP first.
    const rest = await this.client.readUntilEnd();
    assert.equal(rest.length, 0, `bytes after the Close frame: ${rest.toString('hex').slice(0, 64)}`);
    assert.equal(this.client.ended, true);
    assert.equal(this.client.error, undefined, 'no socket error (RST) before the server FIN');
    return parsed;
  }

  /**
   * _Fail the WebSocket Connection_: the server sends Close(`code`) and
   * closes TCP; its WebSocket reports the same code on 'error' and 'close'.
   */
  async expectFailure(code: number, errorCode?: string): Promise<void> {
    await this.expectClose(code);
    const side = await this.server.connection;
    this.client.end();
    const closed = await side.closed;
    assert.equal(closed.code, code, 'server-side close event code');
    assert.equal(side.errors.length, 1, 'one server-side error');
    assert.equal(side.errors[0]!.closeCode, code);
    if (errorCode !== undefined) assert.equal(side.errors[0]!.code, errorCode);
  }

  /**
   * A clean closing handshake initiated by the client: Close(code, reason)
   * is answered with the same code and reason (as ws and Chromium do), and
   * the server closes TCP. Any frame still pending (an unexpected echo or
   * pong) fails the case.
   */
  async closeHandshake(code: number | undefined = 1000, reason = ''): Promise<void> {
    await this.client.sendFrame({ opcode: Opcode.CLOSE, payload: closePayload(code, reason) });
    await this.expectClosedCleanly(code, reason);
  }

  /** After our Close was sent: its exact echo, server FIN, server 'close' with our code and reason. */
  async expectClosedCleanly(code: number | undefined, reason = ''): Promise<void> {
    await this.expectClose(code, reason);
    const side = await this.server.connection;
    this.client.end();
    const closed = await side.closed;
    assert.deepEqual(closed, { code: code ?? 1005, reason });
    assert.deepEqual(side.errors, []);
  }
}

export interface CaseOptions {
  server?: Omit<ServerOptions, 'port'>;
  timeout?: number;
}

/** Registers an Autobahn-style case: `name` should start with its case number. */
export function serverCase(name: string, body: (c: Case) => Promise<void>, options: CaseOptions = {}): void {
  const over = transport;
  test(over === 'h2' ? `[h2] ${name}` : name, { timeout: options.timeout ?? 20_000 }, async (t) => {
    const server = await startEchoServer(options.server);
    let client: RawClient | undefined;
    // On timeout, destroy the socket: pending reads then throw and `finally`
    // runs, so a hung case cannot keep the test process alive.
    const onAbort = (): void => void client?.destroy();
    t.signal.addEventListener('abort', onAbort);
    try {
      client = over === 'h2' ? await handshakeH2(server.port) : await handshakeRaw(server.port);
      await body(new Case(client, server));
      // The case really ran over the transport it is named after.
      assert.equal((await server.connection).httpVersion, over === 'h2' ? '2.0' : '1.1');
    } finally {
      t.signal.removeEventListener('abort', onAbort);
      await client?.destroy();
      for (const ws of server.wss.clients) ws.terminate();
      await server.close();
    }
  });
}

/** Several frames encoded back to back (to chop them into writes). */
export const concatFrames = (frames: FrameSpec[]): Buffer => Buffer.concat(frames.map((f) => encodeFrame(f)));

/**
 * Exactly `n` bytes of valid UTF-8 text, mostly multi-byte: a 21-byte unit
 * (2-, 3- and 4-byte sequences) repeated, so power-of-two frame and write
 * sizes cut through sequences; the tail is padded with ASCII.
 */
export function utf8Text(n: number): Buffer {
  const unit = hex('cebae1bdb9cf83cebcceb5 f09f9880 e282ac 61 c2b5'); // κόσμε, U+1F600, €, 'a', µ
  const out = Buffer.alloc(n, 'a');
  for (let i = 0; i + unit.length <= n; i += unit.length) unit.copy(out, i);
  return out;
}
