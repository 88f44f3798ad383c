/**
 * Harness for the client-side conformance cases: a raw server
 * (test/support/raw-socket.ts) accepts our client `new WebSocket(url)` and
 * then plays the server by hand: unmasked frames out, the client's frames
 * read and checked byte for byte (they must be masked).
 *
 * The transport is pluggable, as in server-harness.ts: after
 * useTransport('h2') (see client-over-http2.test.ts) the same cases run over
 * HTTP/2 (RFC 8441): the raw server is a node:http2 h2c server
 * (test/support/h2-server.ts) answering our client's Extended CONNECT
 * (`http2: true`) with :status 200, and the frames travel on that stream.
 * RFC 8441 5 maps TCP onto the stream: the FIN is END_STREAM, a reset is
 * RST_STREAM (CANCEL); the cases' "closes TCP" read that way over HTTP/2.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, type ClientOptions } from '../../src/node/index.js';
import {
  Opcode,
  closePayload,
  parseClosePayload,
  startRawServer,
  type Frame,
  type RawPeer,
  type RawServer,
} from '../support/raw-socket.js';
import { RawH2Peer, startRawH2Server } from '../support/h2-server.js';

export { Opcode, closePayload };

export type Transport = 'tcp' | 'h2';
let transport: Transport = 'tcp';

/** Run the cases registered from now on over this transport. */
export function useTransport(which: Transport): void {
  transport = which;
}

/** The transport cases registered now run over. */
export function currentTransport(): Transport {
  return transport;
}

/** A test that only makes sense over TCP (it writes HTTP/1.1 by hand, or its server is ws): not registered over HTTP/2. */
export function tcpOnlyTest(name: string, options: { timeout?: number }, body: (t: TestContext) => Promise<void>): void {
  if (transport === 'tcp') test(name, options, body);
}

/** Name of a test registered now: "[h2] " first over HTTP/2. */
export function caseName(name: string): string {
  return transport === 'h2' ? `[h2] ${name}` : name;
}

/**
 * A raw server over `over` (default: the current transport): `onConnection`
 * gets each WebSocket request as a RawPeer, whose acceptUpgrade() answers 101
 * (TCP) or :status 200 (HTTP/2).
 */
export function startPeerServer(onConnection: (peer: RawPeer) => void | Promise<void>, over: Transport = transport): Promise<RawServer> {
  return over === 'h2' ? startRawH2Server(onConnection) : startRawServer(onConnection);
}

/** Our client's options for `over`: `http2: true` (h2c with prior knowledge to a ws: URL) over HTTP/2. */
export function clientOptionsFor<O extends ClientOptions>(options: O, over: Transport = transport): O {
  return over === 'h2' ? { ...options, http2: true } : options;
}

export interface Message {
  data: Buffer;
  isBinary: boolean;
}

/** Everything our client emitted, in order, plus waiters. */
export class ClientEvents {
  /** One line per event: 'open', 'message:text:<utf8>' / 'message:binary:<n> bytes', 'ping:<hex>', 'pong:<hex>', 'error:<code>', 'close:<code>:<reason>'. */
  readonly log: string[] = [];
  readonly errors: Array<Error & { code?: string; closeCode?: number }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly messages: Message[] = [];
  private waiting: Array<(m: Message) => void> = [];

  constructor(ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      assert.ok(Buffer.isBuffer(data), 'message data is a Buffer (binaryType nodebuffer)');
      this.log.push(isBinary ? `message:binary:${data.length} bytes` : `message:text:${data.length > 64 ? `${data.length} bytes` : data.toString()}`);
      const m = { data, isBinary };
      const w = this.waiting.shift();
      if (w) w(m);
      else this.messages.push(m);
    });
    ws.on('ping', (d: Buffer) => this.log.push(`ping:${d.toString('hex')}`));
    ws.on('pong', (d: Buffer) => this.log.push(`pong:${d.toString('hex')}`));
    ws.on('error', (e: Error & { code?: string }) => {
      this.errors.push(e);
      this.log.push(`error:${e.code ?? e.message}`);
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code: number, reason: Buffer) => {
        this.log.push(`close:${code}:${reason.toString()}`);
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  nextMessage(): Promise<Message> {
    const m = this.messages.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

export class ClientCase {
  constructor(
    readonly ws: WebSocket,
    readonly peer: RawPeer,
    readonly events: ClientEvents,
    readonly server: RawServer,
  ) {}

  /** Sends one (unmasked unless `mask` is given) frame from the raw server. */
  send(spec: Parameters<RawPeer['sendFrame']>[0]): Promise<void> {
    return this.peer.sendFrame(spec);
  }

  async expectMessage(data: Buffer | string, isBinary: boolean): Promise<void> {
    const expected = typeof data === 'string' ? Buffer.from(data) : data;
    const m = await this.events.nextMessage();
    assert.equal(m.isBinary, isBinary, 'isBinary');
    assert.equal(m.data.length, expected.length, 'message length');
    assert.ok(m.data.equals(expected), 'message bytes');
  }

  /** The client's next frame: masked, unfragmented, with `opcode` and `payload`. */
  async expectFrame(opcode: number, payload: Buffer | string = ''): Promise<Frame> {
    const expected = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const frame = await this.peer.readFrame();
    assert.deepEqual(
      { fin: frame.fin, rsv: frame.rsv, opcode: frame.opcode, masked: frame.masked, maskLength: frame.mask?.length },
      { fin: true, rsv: 0, opcode, masked: true, maskLength: 4 },
      'client frame header',
    );
    assert.deepEqual(frame.payload, expected, 'client frame payload');
    return frame;
  }

  /**
   * _Fail the WebSocket Connection_ on the client: it sends a masked Close
   * with `code`, closes its side of TCP without waiting for us, and reports
   * `code` on 'error' (with `errorCode`) and 'close'.
   */
  async expectFailure(code: number, errorCode?: string): Promise<void> {
    const frame = await this.peer.readFrame();
    assert.equal(frame.opcode, Opcode.CLOSE, `expected a Close frame, got opcode ${frame.opcode}`);
    assert.equal(frame.masked, true, 'client Close is masked');
    assert.equal(parseClosePayload(frame.payload).code, code, 'client close code');
    // Nothing after the Close; the failing client closes TCP first: a FIN
    // (over HTTP/2 END_STREAM), not a reset (RST_STREAM), RFC 8441 5.
    assert.equal((await this.peer.readUntilEnd()).length, 0, 'no bytes after the Close frame');
    assert.equal(this.peer.error, undefined, 'the client closed without a reset');
    this.peer.end();
    const closed = await this.events.closed;
    assert.equal(closed.code, code, 'client close event code');
    assert.equal(this.events.errors.length, 1, 'one error event');
    if (errorCode !== undefined) assert.equal(this.events.errors[0]!.code, errorCode);
  }

  /**
   * Server-initiated closing handshake: we send Close(code, reason); the
   * client answers with a masked Close echoing code and reason, and then waits for us to close
   * TCP first (RFC 6455 7.1.1); its 'close' event reports our code/reason.
   */
  async serverCloses(code: number | undefined = 1000, reason = ''): Promise<void> {
    const socket = this.ws._socket!;
    // Runs after the client's own 'data' listener processed our Close.
    const processed = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    await this.send({ opcode: Opcode.CLOSE, payload: closePayload(code, reason) });
    await processed;
    await this.expectFrame(Opcode.CLOSE, closePayload(code, reason));
    assert.equal(this.ws.readyState, WebSocket.CLOSING);
    assert.equal(socket.writableEnded, false, 'the client must not close TCP before the server');
    assert.equal(this.peer.ended, false);
    this.peer.end();
    assert.deepEqual(await this.events.closed, { code: code ?? 1005, reason });
    // The client closes its side once ours is closed.
    await this.peer.waitForEnd();
    assert.deepEqual(this.events.errors, []);
  }
}

export interface ClientCaseOptions {
  client?: ClientOptions;
  timeout?: number;
}

/** Registers a client case: raw server + our client, both torn down at the end. */
export function clientCase(name: string, body: (c: ClientCase) => Promise<void>, options: ClientCaseOptions = {}): void {
  const over = transport;
  test(caseName(name), { timeout: options.timeout ?? 20_000 }, async (t) => {
    let accepted!: (p: RawPeer) => void;
    const peerPromise = new Promise<RawPeer>((resolve) => (accepted = resolve));
    const server = await startPeerServer(async (peer) => {
      await peer.acceptUpgrade();
      accepted(peer);
    }, over);
    let ws: WebSocket | undefined;
    const onAbort = (): void => {
      ws?.terminate();
      void server.close();
    };
    t.signal.addEventListener('abort', onAbort);
    try {
      ws = new WebSocket(server.url, clientOptionsFor(options.client ?? {}, over));
      const events = new ClientEvents(ws);
      await new Promise<void>((resolve, reject) => {
        ws!.once('open', () => resolve());
        ws!.once('close', () => reject(new Error('closed before open')));
      });
      events.log.push('open');
      const peer = await peerPromise;
      // The case really runs over the transport it is named after.
      assert.equal(peer instanceof RawH2Peer, over === 'h2', 'transport');
      assert.equal(ws._socket?.constructor.name, over === 'h2' ? 'ClientHttp2Stream' : 'Socket', "the client's byte stream");
      await body(new ClientCase(ws, peer, events, server));
    } finally {
      t.signal.removeEventListener('abort', onAbort);
      ws?.terminate();
      await server.close();
      if (ws && ws.readyState !== WebSocket.CLOSED) await new Promise((resolve) => ws!.once('close', resolve));
    }
  });
}
