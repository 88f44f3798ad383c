// The driver between a duplex stream and a Connection, over an in-memory
// Duplex (no sockets): events are projections of the lifecycle, writes of a
// tick leave as one buffer, pause/resume reach the stream, and the
// transport's end follows the lifecycle's rule of who closes first.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { Duplex } from 'node:stream';
import { Driver } from '../../src/node/driver.js';
import { Opcode } from '../../src/protocol/opcode.js';
import { resolveSettings } from '../../src/protocol/options.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import type { MessageTransform } from '../../src/protocol/extension.js';
import { ManualTransform, clientFrame, closePayload, decodeFrames, serverFrame } from '../protocol/helpers.js';

/** A duplex whose written bytes are recorded; `feed` plays the peer. */
class FakeStream extends Duplex {
  writes: Buffer[] = [];
  constructor(options: { autoDestroy?: boolean } = {}) {
    super({ allowHalfOpen: true, ...options });
  }

  /** As a readable-stream 3 Duplex (Duplexify's base): no `readableEnded`, and no closing by itself. */
  static legacy(): FakeStream {
    const stream = new FakeStream({ autoDestroy: false });
    Object.defineProperty(stream, 'readableEnded', { value: undefined });
    return stream;
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writes.push(Buffer.from(chunk));
    callback();
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) this.writes.push(Buffer.from(chunk));
    callback();
  }
  feed(...frames: Buffer[]): void {
    for (const f of frames) this.push(f);
  }
  sent(): Buffer {
    return Buffer.concat(this.writes.splice(0));
  }
}

type Recorded = Array<[string, ...unknown[]]>;

function setup(role: 'server' | 'client' = 'server', closeTimeout = 30_000, extension: MessageTransform | null = null, stream = new FakeStream()) {
  const events = new EventEmitter();
  const log: Recorded = [];
  for (const name of ['message', 'ping', 'pong', 'close', 'drain', 'error']) {
    events.on(name, (...args: unknown[]) => log.push([name, ...args]));
  }
  const settings = resolveSettings({ role, closeTimeout, ...(role === 'client' ? { maskKeySource: () => new Uint8Array(4) } : {}) });
  const driver = new Driver(stream, Buffer.alloc(0), events, settings, extension);
  return { stream, events, log, driver };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Driver', () => {
  it('bytes in become events: messages, pings (answered), pongs', async () => {
    const { stream, log } = setup();
    stream.feed(clientFrame(Opcode.Text, 'hi'), clientFrame(Opcode.Ping, 'p'), clientFrame(Opcode.Pong, 'q'));
    await tick();
    assert.deepEqual(log, [
      ['message', Buffer.from('hi'), false],
      ['ping', Buffer.from('p')],
      ['pong', Buffer.from('q')],
    ]);
    assert.deepEqual(stream.sent(), serverFrame(Opcode.Pong, 'p'));
  });

  it('head bytes from the handshake are read first, after listeners could attach', async () => {
    const stream = new FakeStream();
    const events = new EventEmitter();
    const got: unknown[] = [];
    stream.feed(clientFrame(Opcode.Text, 'second'));
    new Driver(stream, clientFrame(Opcode.Text, 'first'), events, resolveSettings({ role: 'server' }), null);
    events.on('message', (data: Buffer) => got.push(data.toString()));
    await tick();
    assert.deepEqual(got, ['first', 'second']);
  });

  it('binaryType shapes messages', async () => {
    const { stream, log, driver } = setup();
    driver.binaryType = 'arraybuffer';
    stream.feed(clientFrame(Opcode.Binary, Buffer.from([1, 2])));
    await tick();
    const data = log[0]![1] as ArrayBuffer;
    assert.ok(data instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(data)], [1, 2]);
  });

  it('frames sent in one tick leave as one write; bufferedAmount counts them meanwhile', async () => {
    const { stream, driver } = setup();
    driver.connection.send('a', false);
    driver.connection.send('b', false);
    driver.connection.send('c', false);
    assert.equal(driver.bufferedAmount, 9);
    assert.equal(stream.writes.length, 0);
    await tick();
    assert.equal(stream.writes.length, 1);
    assert.deepEqual(stream.sent(), Buffer.concat([serverFrame(Opcode.Text, 'a'), serverFrame(Opcode.Text, 'b'), serverFrame(Opcode.Text, 'c')]));
  });

  it("close(): our Close, then the peer's; a server ends the stream, 'close' reports the peer's code, clean", async () => {
    const { stream, log, driver } = setup();
    driver.close(1000, 'bye');
    assert.equal(driver.readyState, 2);
    await tick();
    assert.deepEqual(decodeFrames(stream.sent()).map((f) => [f.opcode, f.payload.readUInt16BE(0)]), [[Opcode.Close, 1000]]);
    stream.feed(clientFrame(Opcode.Close, closePayload(1001, 'ok')));
    await once(stream, 'finish'); // the server closes the transport first
    stream.push(null);
    stream.destroy();
    await once(stream, 'close');
    await tick();
    assert.deepEqual(log, [['close', 1001, Buffer.from('ok')]]);
    assert.equal(driver.readyState, 3);
    assert.equal(driver.connection.lifecycle.wasClean, true);
  });

  it("a client waits for the server's FIN after a clean close, then the close timer destroys the stream", async () => {
    const { stream, log, driver } = setup('client', 50);
    // Listen first: on a loaded machine the 50 ms timer may fire before the tick below.
    const closed = once(stream, 'close');
    driver.close(1000, '');
    stream.feed(serverFrame(Opcode.Close, closePayload(1000)));
    await tick();
    assert.equal(stream.writableEnded, false, 'the client does not end first');
    await closed; // destroyed by the close timer
    await tick();
    assert.deepEqual(log, [['close', 1000, Buffer.alloc(0)]]);
    assert.equal(driver.connection.lifecycle.wasClean, true);
  });

  it("a protocol error: Close 1002 sent, input detached, 'error' only with a listener, 'close' reports 1002", async () => {
    const { stream, log, events } = setup();
    stream.feed(clientFrame(Opcode.Text, 'x', { rsv2: true }));
    await once(stream, 'finish');
    const frames = decodeFrames(stream.sent());
    assert.equal(frames.at(-1)!.payload.readUInt16BE(0), 1002);
    assert.equal(stream.listenerCount('data'), 0, 'input detached');
    assert.equal(events.listenerCount('error'), 1);
    assert.equal(log[0]![0], 'error');
    stream.destroy();
    await once(stream, 'close');
    await tick();
    assert.deepEqual(log.slice(1), [['close', 1002, Buffer.alloc(0)]]);
  });

  it("the peer's EOF without a Close: unclean 1006", async () => {
    const { stream, log, driver } = setup();
    const finished = once(stream, 'finish');
    const closed = once(stream, 'close');
    stream.push(null);
    await finished; // our side ended in answer (both ended: the stream then closes itself)
    assert.equal(driver.connection.lifecycle.cause, 3 /* Cause.Eof */);
    await closed;
    await tick();
    assert.deepEqual(log, [['close', 1006, Buffer.alloc(0)]]);
    assert.equal(driver.connection.lifecycle.wasClean, false);
  });

  it("a stream that never closes by itself (readable-stream 3's Duplexes: injectWS): destroyed once both directions ended, 'close' follows", async () => {
    // Server: the peer's Close, our answer and our FIN, then the peer's FIN.
    const server = setup('server', 30_000, null, FakeStream.legacy());
    server.stream.feed(clientFrame(Opcode.Close, closePayload(1000)));
    await once(server.stream, 'finish');
    await tick();
    assert.equal(server.stream.destroyed, false, 'half open: the peer has not ended yet');
    server.stream.push(null);
    await once(server.stream, 'close');
    await tick();
    assert.deepEqual(server.log, [['close', 1000, Buffer.alloc(0)]]);
    // Client: the server's Close, then its FIN; the client ends in answer.
    const client = setup('client', 30_000, null, FakeStream.legacy());
    client.driver.close(1000, '');
    client.stream.feed(serverFrame(Opcode.Close, closePayload(1000)));
    client.stream.push(null);
    await once(client.stream, 'close');
    await tick();
    assert.deepEqual(client.log, [['close', 1000, Buffer.alloc(0)]]);
    assert.equal(client.driver.connection.lifecycle.wasClean, true);
  });

  it('pause() stops reading until resume()', async () => {
    const { stream, log, driver } = setup();
    driver.pause();
    assert.equal(driver.isPaused, true);
    stream.feed(clientFrame(Opcode.Text, 'later'));
    await tick();
    assert.deepEqual(log, []);
    driver.resume();
    await tick();
    assert.deepEqual(log, [['message', Buffer.from('later'), false]]);
  });

  it('takeActivity: true once after data arrived', async () => {
    const { stream, driver } = setup();
    assert.equal(driver.takeActivity(), false);
    stream.feed(clientFrame(Opcode.Pong, ''));
    await tick();
    assert.equal(driver.takeActivity(), true);
    assert.equal(driver.takeActivity(), false);
  });

  it("terminate(): destroyed at once, 'close' 1006, nothing more read", async () => {
    const { stream, log, driver } = setup();
    driver.terminate();
    stream.feed(clientFrame(Opcode.Text, 'ignored'));
    await once(stream, 'close');
    await tick();
    assert.deepEqual(log, [['close', 1006, Buffer.alloc(0)]]);
  });

  it("the transport closes while a message is decoded, then the decode fails: 'close' still comes, with the failure's 1007", async () => {
    const transform = new ManualTransform();
    const { stream, log } = setup('server', 30_000, transform);
    stream.feed(clientFrame(Opcode.Binary, 'zzz', { rsv1: true }));
    await tick();
    assert.equal(transform.pending.length, 1);
    stream.destroy();
    await once(stream, 'close');
    await tick();
    assert.deepEqual(log, [], "'close' waits for the message being decoded");
    const error = new ProtocolError('WS_ERR_INVALID_COMPRESSED_DATA', 1007, 'bad data');
    transform.finish(error);
    await tick();
    assert.deepEqual(log, [['error', error], ['close', 1007, Buffer.alloc(0)]]);
  });

  it("the transport closes while a message is decoded, then held input breaks the protocol: 'close' reports 1002", async () => {
    const transform = new ManualTransform();
    const { stream, log } = setup('server', 30_000, transform);
    stream.feed(Buffer.concat([clientFrame(Opcode.Binary, 'zzz', { rsv1: true }), clientFrame(0x3, 'x')]));
    await tick();
    stream.destroy();
    await once(stream, 'close');
    transform.finish();
    await tick();
    assert.deepEqual(log.map((e) => (e[0] === 'error' ? ['error', (e[1] as ProtocolError).code] : e)), [
      ['message', Buffer.from('ZZZ'), true],
      ['error', 'WS_ERR_INVALID_OPCODE'],
      ['close', 1002, Buffer.alloc(0)],
    ]);
  });

  it("terminate() after the transport closed during a decode: 'close' 1006 once", async () => {
    const transform = new ManualTransform();
    const { stream, log, driver } = setup('server', 30_000, transform);
    stream.feed(clientFrame(Opcode.Binary, 'zzz', { rsv1: true }));
    await tick();
    stream.destroy();
    await once(stream, 'close');
    driver.terminate();
    await tick();
    assert.deepEqual(log, [['close', 1006, Buffer.alloc(0)]]);
    transform.finish(); // late: nothing more
    await tick();
    assert.equal(log.length, 1);
  });
});
