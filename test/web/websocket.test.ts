import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from '../../src/node/index.js';
import { CloseEvent, WebSocket } from '../../src/web/index.js';
import { opensslPath, skipReason } from '../support/system.js';
import { closePayload, Opcode, parseClosePayload, startRawServer, type RawPeer } from '../support/raw-socket.js';
import { createTestCertificate } from '../support/tls.js';
import { nextEvent, nextMessages, record, serverClosed, serverMessages, startServer } from './helpers.js';

const T = { timeout: 10_000 };

function isDOMException(name: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof DOMException, `expected a DOMException, got ${String(error)}`);
    assert.equal(error.name, name);
    return true;
  };
}

async function bytesOf(blob: unknown): Promise<number[]> {
  assert.ok(blob instanceof Blob, `expected a Blob, got ${String(blob)}`);
  return [...new Uint8Array(await blob.arrayBuffer())];
}

describe('constructor', () => {
  it('throws a SyntaxError DOMException for bad URLs, before connecting', T, () => {
    for (const url of ['not a url', '/relative', 'ftp://127.0.0.1/', 'file:///tmp/x', 'ws://[::1', 'ws://127.0.0.1/#', 'ws://127.0.0.1/#frag']) {
      assert.throws(() => new WebSocket(url), isDOMException('SyntaxError'), url);
    }
  });

  it('throws a SyntaxError DOMException for invalid or duplicated subprotocols', T, () => {
    const cases: Array<string | string[]> = ['', 'a b', 'a,b', 'caf\u00e9', 'x"y', ['chat', 'chat'], ['echo', 'eCho'], ['ok', '']];
    for (const protocols of cases) {
      assert.throws(() => new WebSocket('ws://127.0.0.1:9/', protocols), isDOMException('SyntaxError'), JSON.stringify(protocols));
    }
  });

  it('requires the url argument', T, () => {
    assert.throws(() => new (WebSocket as unknown as new () => WebSocket)(), TypeError);
  });

  it('maps http: to ws:, accepts URL objects and serializes url', T, async () => {
    const server = await startServer();
    const ws = new WebSocket(new URL(`http://127.0.0.1:${server.port}/a/b?c=1`));
    assert.equal(ws.url, `ws://127.0.0.1:${server.port}/a/b?c=1`);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    const { log, closed } = record(ws);
    await nextEvent(ws, 'open');
    ws.close();
    await closed;
    assert.deepEqual(log, [['open', 1], ['close', 1005, '', true, 3]]);
    await server.close();
  });

  it('maps https: to wss: (a TLS client against a plain server fails: error, then close 1006)', T, async () => {
    const server = await startServer();
    const ws = new WebSocket(`https://127.0.0.1:${server.port}/x`);
    assert.equal(ws.url, `wss://127.0.0.1:${server.port}/x`);
    const { log, closed } = record(ws);
    await closed;
    assert.deepEqual(log, [['error', 'Event', 3], ['close', 1006, '', false, 3]]);
    await server.close();
  });

  it('has the readyState constants on the class and on instances, read-only', T, async () => {
    assert.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
    assert.throws(() => {
      (WebSocket as unknown as { OPEN: number }).OPEN = 5;
    }, TypeError);
    const server = await startServer();
    const ws = new WebSocket(server.url);
    assert.deepEqual([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED], [0, 1, 2, 3]);
    assert.ok(ws instanceof EventTarget);
    assert.equal(Object.prototype.toString.call(ws), '[object WebSocket]');
    const { closed } = record(ws);
    ws.close();
    await closed;
    await server.close();
  });
});

describe('events', () => {
  it('open, text message, binary message (Blob by default), then the server closes 4001 "x"', T, async () => {
    const server = await startServer();
    server.wss.on('connection', (peer) => {
      peer.send('hello');
      peer.send(Buffer.from([1, 2, 3]));
      peer.close(4001, 'x');
    });
    const ws = new WebSocket(server.url);
    assert.equal(ws.binaryType, 'blob');
    const origins: string[] = [];
    ws.addEventListener('message', (event) => origins.push((event as MessageEvent).origin));
    const { log, closed } = record(ws);
    const event = await closed;
    assert.equal(log.length, 4);
    assert.deepEqual(log[0], ['open', 1]);
    assert.deepEqual(log[1], ['message', 'hello']);
    assert.deepEqual(await bytesOf(log[2]![1]), [1, 2, 3]);
    assert.deepEqual(log[3], ['close', 4001, 'x', true, 3]);
    assert.deepEqual(origins, [`ws://127.0.0.1:${server.port}`, `ws://127.0.0.1:${server.port}`]);
    assert.ok(event instanceof CloseEvent && event instanceof Event);
    assert.equal(event.type, 'close');
    assert.equal(event.target, ws);
    await server.close();
  });

  it("binaryType 'arraybuffer' delivers ArrayBuffers; other values are ignored", T, async () => {
    const server = await startServer();
    server.wss.on('connection', (peer) => {
      peer.send(Buffer.from([0, 255]));
      peer.send(Buffer.alloc(70_000, 7));
      peer.send('text stays a string');
      peer.close(1000);
    });
    const ws = new WebSocket(server.url);
    ws.binaryType = 'arraybuffer';
    ws.binaryType = 'nodebuffer' as 'blob';
    ws.binaryType = 'fragments' as 'blob';
    assert.equal(ws.binaryType, 'arraybuffer');
    const { log, closed } = record(ws);
    await closed;
    assert.equal(log.length, 5);
    const [first, second] = [log[1]![1], log[2]![1]];
    assert.ok(first instanceof ArrayBuffer && second instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(first)], [0, 255]);
    assert.equal(second.byteLength, 70_000);
    assert.ok(new Uint8Array(second).every((b) => b === 7));
    assert.deepEqual(log[3], ['message', 'text stays a string']);
    assert.deepEqual(log[4], ['close', 1000, '', true, 3]);
    await server.close();
  });

  it('the server terminating after open: close 1006, wasClean false, no error event', T, async () => {
    const server = await startServer();
    server.wss.on('connection', (peer) => peer.on('message', () => peer.terminate()));
    const ws = new WebSocket(server.url);
    ws.onopen = () => ws.send('kill me');
    const { log, closed } = record(ws);
    await closed;
    assert.deepEqual(log, [['open', 1], ['close', 1006, '', false, 3]]);
    await server.close();
  });

  it('a handshake refused by verifyClient: error, then close 1006; no open', T, async () => {
    const server = await startServer({ verifyClient: () => false });
    const ws = new WebSocket(server.url);
    const handlerCalls: string[] = [];
    ws.onerror = function (this: unknown, event: Event) {
      handlerCalls.push(`onerror:${this === ws}:${event.type}`);
    };
    ws.onclose = function (this: unknown, event: CloseEvent) {
      handlerCalls.push(`onclose:${this === ws}:${event.code}`);
    };
    const { log, closed } = record(ws);
    await closed;
    assert.deepEqual(log, [['error', 'Event', 3], ['close', 1006, '', false, 3]]);
    assert.deepEqual(handlerCalls, ['onerror:true:error', 'onclose:true:1006']);
    assert.equal(ws.protocol, '');
    await server.close();
  });

  it('a 101 response with a wrong Sec-WebSocket-Accept fails the connection: error, close 1006', T, async () => {
    const http = createServer();
    http.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBrZXk=\r\n\r\n');
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const { port } = http.address() as AddressInfo;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const { log, closed } = record(ws);
    await closed;
    assert.deepEqual(log, [['error', 'Event', 3], ['close', 1006, '', false, 3]]);
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  it('a protocol error from the server fails the connection: error, close 1006 (server sees 1002)', T, async () => {
    const server = await startServer();
    const connection = server.nextConnection();
    const ws = new WebSocket(server.url);
    const { log, closed } = record(ws);
    await nextEvent(ws, 'open');
    const peer = await connection;
    const peerClosed = serverClosed(peer);
    peer._socket!.write(Buffer.from([0x83, 0x00])); // reserved opcode 3
    await closed;
    assert.deepEqual(log, [['open', 1], ['error', 'Event', 3], ['close', 1006, '', false, 3]]);
    assert.equal((await peerClosed)[0], 1002);
    await server.close();
  });

  it('messages arriving after close() are not delivered', T, async () => {
    const server = await startServer();
    server.wss.on('connection', (peer) => peer.on('message', () => peer.send('too late')));
    const ws = new WebSocket(server.url);
    const { log, closed } = record(ws);
    ws.onopen = () => {
      ws.send('go');
      ws.close();
    };
    await closed;
    assert.deepEqual(log, [['open', 1], ['close', 1005, '', true, 3]]);
    await server.close();
  });

  it('negotiates a subprotocol: protocol is set when open fires', T, async () => {
    const offered: string[] = [];
    const server = await startServer({
      handleProtocols: (protocols) => {
        offered.push(...protocols);
        return protocols.has('superchat') ? 'superchat' : false;
      },
    });
    const ws = new WebSocket(server.url, ['chat', 'superchat']);
    assert.equal(ws.protocol, '');
    const seen: string[] = [];
    ws.onopen = () => seen.push(ws.protocol, ws.extensions);
    const { closed } = record(ws);
    await nextEvent(ws, 'open');
    ws.close();
    await closed;
    assert.deepEqual(offered, ['chat', 'superchat']);
    assert.deepEqual(seen, ['superchat', '']);

    const single = new WebSocket(server.url, 'chat');
    const singleClosed = record(single).closed;
    await nextEvent(single, 'open');
    assert.equal(single.protocol, '');
    single.close();
    await singleClosed;
    await server.close();
  });
});

describe('event handler attributes and listeners', () => {
  it('on* and addEventListener both fire, in registration order; a replaced handler keeps its place', T, async () => {
    const server = await startServer();
    const connection = server.nextConnection();
    const ws = new WebSocket(server.url);
    const calls: string[] = [];
    const first = (): number => calls.push('first');
    ws.addEventListener('message', first);
    const h1 = function (this: unknown): void {
      calls.push(`h1:${this === ws}`);
    };
    ws.onmessage = h1;
    ws.addEventListener('message', () => calls.push('last'));
    assert.equal(ws.onmessage, h1);
    await nextEvent(ws, 'open');
    const peer = await connection;

    peer.send('one');
    await nextEvent(ws, 'message');
    assert.deepEqual(calls, ['first', 'h1:true', 'last']);

    calls.length = 0;
    ws.onmessage = () => calls.push('h2'); // replaces h1 in place
    peer.send('two');
    await nextEvent(ws, 'message');
    assert.deepEqual(calls, ['first', 'h2', 'last']);

    calls.length = 0;
    ws.onmessage = null;
    assert.equal(ws.onmessage, null);
    ws.removeEventListener('message', first);
    ws.onmessage = () => calls.push('h3'); // registered again: now at the end
    peer.send('three');
    await nextEvent(ws, 'message');
    assert.deepEqual(calls, ['last', 'h3']);

    calls.length = 0;
    ws.onmessage = 'not a function' as unknown as null; // non-objects mean null
    assert.equal(ws.onmessage, null);
    peer.send('four');
    await nextEvent(ws, 'message');
    assert.deepEqual(calls, ['last']);

    const { closed } = record(ws);
    ws.close();
    await closed;
    await server.close();
  });
});

describe('send', () => {
  it('throws InvalidStateError while CONNECTING and counts nothing', T, async () => {
    const server = await startServer();
    const ws = new WebSocket(server.url);
    assert.throws(() => ws.send('x'), isDOMException('InvalidStateError'));
    assert.equal(ws.bufferedAmount, 0);
    const { closed } = record(ws);
    ws.close();
    await closed;
    await server.close();
  });

  it('sends strings, ArrayBuffers, views (their window only) and Blobs as the right frames', T, async () => {
    const server = await startServer();
    const connection = server.nextConnection();
    const ws = new WebSocket(server.url);
    await nextEvent(ws, 'open');
    const peer = await connection;
    const got = serverMessages(peer, 5);
    const backing = new Uint8Array([9, 1, 2, 9]);
    ws.send('h\u00e9llo \uD800'); // a lone surrogate becomes U+FFFD
    ws.send(new Uint8Array([0xaa, 0xbb]).buffer);
    ws.send(backing.subarray(1, 3));
    ws.send(new DataView(backing.buffer, 3, 1));
    ws.send(new Blob(['blob!']));
    assert.deepEqual(await got, [
      ['h\u00e9llo \uFFFD', false],
      ['bin:aabb', true],
      ['bin:0102', true],
      ['bin:09', true],
      [`bin:${Buffer.from('blob!').toString('hex')}`, true],
    ]);
    const { closed } = record(ws);
    ws.close();
    await closed;
    await server.close();
  });

  it('keeps call order behind a pending Blob read, close() included; queued bytes are snapshots', T, async () => {
    const server = await startServer();
    const connection = server.nextConnection();
    const ws = new WebSocket(server.url);
    await nextEvent(ws, 'open');
    const peer = await connection;
    const got = serverMessages(peer, 4);
    const peerClosed = serverClosed(peer);
    const view = new Uint8Array([0x64]);
    ws.send(new Blob(['a']));
    ws.send('b');
    ws.send(new Blob(['c']));
    ws.send(view);
    view[0] = 0xff; // must not change what is sent
    ws.close(4000, 'after the blobs');
    assert.equal(ws.readyState, WebSocket.CLOSING);
    const { log, closed } = record(ws);
    await closed;
    assert.deepEqual(await got, [['bin:61', true], ['b', false], ['bin:63', true], ['bin:64', true]]);
    assert.deepEqual(await peerClosed, [4000, 'after the blobs']);
    assert.deepEqual(log, [['close', 4000, 'after the blobs', true, 3]]);
    await server.close();
  });

  it('bufferedAmount: UTF-8/view byte counts, back to 0 once sent, and only growing after close()', T, async () => {
    const server = await startServer();
    server.wss.on('connection', (peer) => peer.on('message', (data: Buffer, isBinary: boolean) => peer.send(data, { binary: isBinary })));
    const ws = new WebSocket(server.url);
    ws.binaryType = 'arraybuffer';
    await nextEvent(ws, 'open');
    assert.equal(ws.bufferedAmount, 0);
    const echoed = nextMessages(ws, 2);
    ws.send('h\u00e9llo'); // 6 UTF-8 bytes
    assert.equal(ws.bufferedAmount, 6);
    ws.send(new Uint8Array(new ArrayBuffer(100), 10, 10)); // the view's 10 bytes, not the buffer's 100
    assert.equal(ws.bufferedAmount, 16);
    const [text, bytes] = await echoed;
    assert.equal(text, 'h\u00e9llo');
    assert.equal((bytes as ArrayBuffer).byteLength, 10);
    assert.equal(ws.bufferedAmount, 0);

    ws.close();
    ws.send('abc');
    assert.equal(ws.bufferedAmount, 3);
    ws.send(new Blob(['1234']));
    assert.equal(ws.bufferedAmount, 7);
    ws.send(new ArrayBuffer(5));
    assert.equal(ws.bufferedAmount, 12);
    const { closed } = record(ws);
    await closed;
    assert.equal(ws.bufferedAmount, 12);
    ws.send('xy');
    assert.equal(ws.bufferedAmount, 14);
    await server.close();
  });
});

describe('close', () => {
  it('validates the code (InvalidAccessError) and the reason length (SyntaxError) first, in every state', T, async () => {
    const server = await startServer();
    const connection = server.nextConnection();
    const ws = new WebSocket(server.url);
    await nextEvent(ws, 'open');
    const peerClosed = serverClosed(await connection);
    // [Clamp] unsigned short: -1 -> 0, 4999.5 -> 5000 (half to even), Infinity -> 65535, NaN -> 0.
    for (const code of [0, 999, 1001, 1005, 1006, 1015, 2999, 5000, 65535, -1, 4999.5, Infinity, NaN]) {
      assert.throws(() => ws.close(code), isDOMException('InvalidAccessError'), String(code));
    }
    assert.throws(() => ws.close(1000, 'x'.repeat(124)), isDOMException('SyntaxError'));
    assert.throws(() => ws.close(1000, '\u00e9'.repeat(62)), isDOMException('SyntaxError')); // 124 bytes
    assert.equal(ws.readyState, WebSocket.OPEN);
    const { log, closed } = record(ws);
    ws.close(1000.5, '\u00e9'.repeat(61) + 'x'); // half to even: 1000; 123 bytes is the limit
    await closed;
    assert.deepEqual(await peerClosed, [1000, '\u00e9'.repeat(61) + 'x']);
    assert.deepEqual(log, [['close', 1000, '\u00e9'.repeat(61) + 'x', true, 3]]);
    assert.throws(() => ws.close(1001), isDOMException('InvalidAccessError'));
    ws.close(1000); // CLOSED: nothing happens
    assert.equal(ws.readyState, WebSocket.CLOSED);
    await server.close();
  });

  it("close(4000, 'bye'): the server sees 4000 'bye'; the client gets the server's echo, wasClean", T, async () => {
    const server = await startServer();
    const connection = server.nextConnection();
    const ws = new WebSocket(server.url);
    const { log, closed } = record(ws);
    await nextEvent(ws, 'open');
    const peerClosed = serverClosed(await connection);
    ws.close(4000, 'bye');
    assert.equal(ws.readyState, WebSocket.CLOSING);
    ws.close(1000); // already CLOSING: nothing happens
    await closed;
    assert.deepEqual(await peerClosed, [4000, 'bye']);
    assert.deepEqual(log, [['open', 1], ['close', 4000, 'bye', true, 3]]);
    await server.close();
  });

  it('close() sends no status (1005 both ways); close(undefined, reason) sends 1000', T, async () => {
    const server = await startServer();
    for (const [args, expected] of [
      [[], [1005, '']],
      [[undefined, 'r'], [1000, 'r']],
    ] as Array<[[number?, string?], [number, string]]>) {
      const connection = server.nextConnection();
      const ws = new WebSocket(server.url);
      const { closed } = record(ws);
      await nextEvent(ws, 'open');
      const peerClosed = serverClosed(await connection);
      ws.close(...args);
      const event = await closed;
      assert.deepEqual(await peerClosed, expected);
      assert.deepEqual([event.code, event.reason, event.wasClean], [...expected, true]); // the server echoes both
    }
    await server.close();
  });

  it("after the peer's Close frame, readyState is CLOSING until close fires; send() then only counts", T, async () => {
    let gotPeer!: (peer: RawPeer) => void;
    const peerPromise = new Promise<RawPeer>((resolve) => (gotPeer = resolve));
    const raw = await startRawServer(async (peer) => {
      await peer.acceptUpgrade();
      gotPeer(peer);
    });
    const ws = new WebSocket(raw.url);
    const { log, closed } = record(ws);
    await nextEvent(ws, 'open');
    const peer = await peerPromise;
    await peer.sendFrame({ opcode: Opcode.CLOSE, payload: closePayload(4001, 'x') });
    const echo = await peer.readFrame(); // the client has processed our Close frame
    assert.deepEqual([echo.opcode, parseClosePayload(echo.payload).code], [Opcode.CLOSE, 4001]);
    assert.equal(ws.readyState, WebSocket.CLOSING);
    ws.send('late');
    assert.equal(ws.bufferedAmount, 4);
    ws.close(1000); // CLOSING: nothing happens
    peer.end();
    await closed;
    assert.equal((await peer.readUntilEnd()).length, 0); // nothing was written after the echo
    assert.deepEqual(log, [['open', 1], ['close', 4001, 'x', true, 3]]);
    await raw.close();
  });

  it('close() while CONNECTING fails the connection: CLOSING at once, later error then close 1006', T, async () => {
    const server = await startServer();
    const ws = new WebSocket(server.url);
    const { log, closed } = record(ws);
    ws.close();
    assert.equal(ws.readyState, WebSocket.CLOSING);
    ws.close(); // CLOSING: nothing happens
    assert.deepEqual(log, []); // events come from a later task, never from inside close()
    await closed;
    assert.deepEqual(log, [['error', 'Event', 3], ['close', 1006, '', false, 3]]);
    await server.close();
  });
});

describe('CloseEvent', () => {
  it('has spec defaults and converts its init dictionary', T, () => {
    const plain = new CloseEvent('close');
    assert.deepEqual([plain.type, plain.code, plain.reason, plain.wasClean, plain.bubbles, plain.cancelable], ['close', 0, '', false, false, false]);
    const init = new CloseEvent('close', { code: 4001, reason: 'x', wasClean: true, cancelable: true });
    assert.deepEqual([init.code, init.reason, init.wasClean, init.cancelable], [4001, 'x', true, true]);
    assert.equal(new CloseEvent('close', { code: 65537 }).code, 1); // unsigned short wraps
    assert.equal(new CloseEvent('close', { reason: '\uD800' }).reason, '\uFFFD'); // USVString
    assert.ok(plain instanceof Event);
    assert.equal(Object.prototype.toString.call(plain), '[object CloseEvent]');
    assert.throws(() => new (CloseEvent as unknown as new () => CloseEvent)(), TypeError);
  });
});

const openssl = opensslPath();

describe('wss', () => {
  it('connects over TLS with the non-standard nodeOptions (ca); without it the handshake fails', { ...T, skip: skipReason(openssl), timeout: 60_000 }, async () => {
    const { key, cert, ca } = await createTestCertificate();
    const https = createHttpsServer({ key, cert });
    https.on('tlsClientError', () => {});
    const wss = new WebSocketServer({ server: https });
    wss.on('connection', (peer) => peer.send('secure'));
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    const { port } = https.address() as AddressInfo;

    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, [], { ca });
    const { log, closed } = record(ws);
    await nextEvent(ws, 'message');
    ws.close(1000);
    await closed;
    assert.deepEqual(log, [['open', 1], ['message', 'secure'], ['close', 1000, '', true, 3]]);

    const untrusted = new WebSocket(`wss://127.0.0.1:${port}/`);
    const refused = record(untrusted);
    await refused.closed;
    assert.deepEqual(refused.log, [['error', 'Event', 3], ['close', 1006, '', false, 3]]);

    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => https.close(() => resolve()));
  });
});
