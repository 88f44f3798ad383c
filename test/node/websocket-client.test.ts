// The client side of the ws-compatible WebSocket: constructor options,
// handshake failures (against raw servers that misbehave on purpose), state,
// send/ping/close/terminate and the properties apps read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ClientRequest } from 'node:http';
import { Opcode, parseClosePayload, startRawServer, type RawPeer } from '../support/raw-socket.js';
import { WebSocket } from '../../src/index.js';
import {
  closePair,
  closeServer,
  closed,
  connectPair,
  errorThenClose,
  freePort,
  nextConnection,
  nextMessage,
  opened,
  startServer,
} from './helpers.js';

const T = { timeout: 20_000 };

test('custom headers and the origin option reach the server', T, async () => {
  const started = await startServer();
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url + '/h', { headers: { 'X-Custom': 'yes', 'X-Other': '42' }, origin: 'https://app.example' });
    const [server, req] = await connection;
    assert.equal(req.headers['x-custom'], 'yes');
    assert.equal(req.headers['x-other'], '42');
    assert.equal(req.headers['origin'], 'https://app.example');
    await opened(client);
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('credentials in the URL are sent as HTTP Basic authentication (percent-decoded), as ws does', T, async () => {
  const started = await startServer();
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url.replace('ws://', 'ws://al%40ice:p%3Ass@') + '/private');
    const [server, req] = await connection;
    assert.equal(req.headers['authorization'], `Basic ${Buffer.from('al@ice:p:ss').toString('base64')}`);
    assert.equal(req.url, '/private');
    await opened(client);
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('handshakeTimeout: a server that never answers -> error "Opening handshake has timed out", then close 1006', T, async () => {
  const raw = await startRawServer(async (peer) => {
    await peer.readHttpHead();
    await peer.waitForEnd(); // never answer
  });
  try {
    const client = new WebSocket(raw.url, { handshakeTimeout: 100 });
    const r = await errorThenClose(client);
    assert.equal(r.error.message, 'Opening handshake has timed out');
    assert.equal(r.close.code, 1006);
    assert.deepEqual(r.order, ['error', 'close']);
    assert.equal(client.readyState, WebSocket.CLOSED);
    await raw.idle(); // the server saw our socket end
    assert.equal(raw.peers.length, 1);
    assert.equal(raw.peers[0]!.ended, true);
  } finally {
    await raw.close();
  }
});

test('a 401 answer -> error "Unexpected server response: 401", then close 1006', T, async () => {
  const raw = await startRawServer(async (peer) => {
    await peer.readHttpHead();
    await peer.respond(401, 'Unauthorized', {}, 'who are you?');
    peer.end();
  });
  try {
    const client = new WebSocket(raw.url);
    const r = await errorThenClose(client);
    assert.equal(r.error.message, 'Unexpected server response: 401');
    assert.equal(r.close.code, 1006);
    assert.deepEqual(r.order, ['error', 'close']);
  } finally {
    await raw.close();
  }
});

test("with an 'unexpected-response' listener the error is not emitted", T, async () => {
  const raw = await startRawServer(async (peer) => {
    await peer.readHttpHead();
    await peer.respond(401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer' }, 'who are you?');
    peer.end();
  });
  try {
    const client = new WebSocket(raw.url);
    const events: string[] = [];
    client.on('error', (e: Error) => events.push(`error:${e.message}`));
    client.on('close', () => events.push('close'));
    const [status, auth, body] = await new Promise<[number, string, string]>((resolve) => {
      client.on('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve([res.statusCode!, String(res.headers['www-authenticate']), Buffer.concat(chunks).toString()]));
      });
    });
    assert.deepEqual([status, auth, body], [401, 'Bearer', 'who are you?']);
    await raw.idle();
    assert.deepEqual(events, []);
    assert.equal(client.readyState, WebSocket.CONNECTING);
    // The app decides what to do: here it gives up, which ws reports as an error.
    const ended = errorThenClose(client);
    client.terminate();
    const r = await ended;
    assert.equal(r.error.message, 'WebSocket was closed before the connection was established');
    assert.equal(r.close.code, 1006);
  } finally {
    await raw.close();
  }
});

test('ECONNREFUSED -> error, then close 1006', T, async () => {
  const port = await freePort();
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const r = await errorThenClose(client);
  assert.equal((r.error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  assert.equal(r.close.code, 1006);
  assert.deepEqual(r.order, ['error', 'close']);
  assert.equal(client.readyState, WebSocket.CLOSED);
});

test('an invalid URL or a non-ws scheme throws SyntaxError', T, () => {
  assert.throws(() => new WebSocket('not a url'), SyntaxError);
  assert.throws(() => new WebSocket('ftp://127.0.0.1/'), SyntaxError);
  assert.throws(() => new WebSocket('ws://127.0.0.1/#frag'), SyntaxError);
  assert.throws(() => new WebSocket('ws://127.0.0.1/', ['dup', 'dup']), SyntaxError);
});

/** A raw server answering every upgrade with a 101 carrying `headers`. */
async function badUpgrade(headers: Record<string, string | null>, protocols?: string[]): Promise<{ message: string; code: number }> {
  const raw = await startRawServer(async (peer) => {
    await peer.acceptUpgrade(headers);
    await peer.waitForEnd();
  });
  try {
    const client = protocols ? new WebSocket(raw.url, protocols) : new WebSocket(raw.url);
    const r = await errorThenClose(client);
    assert.deepEqual(r.order, ['error', 'close']);
    await raw.idle();
    assert.equal(raw.peers[0]!.ended, true, 'the client dropped the connection');
    return { message: r.error.message, code: r.close.code };
  } finally {
    await raw.close();
  }
}

test('a wrong Sec-WebSocket-Accept -> error "Invalid Sec-WebSocket-Accept header"', T, async () => {
  assert.deepEqual(await badUpgrade({ 'Sec-WebSocket-Accept': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }), {
    message: 'Invalid Sec-WebSocket-Accept header',
    code: 1006,
  });
});

test('a subprotocol we did not offer -> error', T, async () => {
  assert.deepEqual(await badUpgrade({ 'Sec-WebSocket-Protocol': 'other' }, ['chat']), {
    message: 'Server sent an invalid subprotocol',
    code: 1006,
  });
  assert.deepEqual(await badUpgrade({ 'Sec-WebSocket-Protocol': 'chat' }), {
    message: 'Server sent a subprotocol but none was requested',
    code: 1006,
  });
});

test('an extension we did not offer -> error', T, async () => {
  assert.deepEqual(await badUpgrade({ 'Sec-WebSocket-Extensions': 'x-unknown-ext' }), {
    message: 'Server indicated an extension that was not requested',
    code: 1006,
  });
});

test('readyState: CONNECTING -> OPEN -> CLOSING -> CLOSED; send while CONNECTING throws', T, async () => {
  const started = await startServer();
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(started.url);
    const states: number[] = [client.readyState];
    assert.throws(() => client.send('too early'), /CONNECTING/);
    assert.throws(() => client.ping(), /CONNECTING/);
    await opened(client);
    states.push(client.readyState);
    const [server] = await connection;
    const done = closed(client);
    client.close(1000);
    states.push(client.readyState);
    await done;
    states.push(client.readyState);
    assert.deepEqual(states, [0, 1, 2, 3]);
    // The constants name those values, on the class and on every instance.
    const names = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;
    assert.deepEqual(names.map((name) => WebSocket[name]), [0, 1, 2, 3]);
    assert.deepEqual(names.map((name) => client[name]), [0, 1, 2, 3]);
    if (server.readyState !== WebSocket.CLOSED) await closed(server);
  } finally {
    await closeServer(started.wss);
  }
});

test('send after close: the callback gets an error and bufferedAmount grows', T, async () => {
  const started = await startServer();
  try {
    const { client, server } = await connectPair(started);
    await closePair(client, server);
    assert.equal(client.bufferedAmount, 0);
    const error = await new Promise<Error | null | undefined>((resolve) => client.send('12345', resolve));
    assert.ok(error instanceof Error);
    assert.match(error.message, /CLOSED/);
    assert.equal(client.bufferedAmount, 5);
    client.send(Buffer.alloc(10));
    assert.equal(client.bufferedAmount, 15);
  } finally {
    await closeServer(started.wss);
  }
});

test("binaryType 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob'", T, async () => {
  const started = await startServer();
  try {
    const { client, server } = await connectPair(started);
    assert.equal(client.binaryType, 'nodebuffer');

    server.send(Buffer.from([1, 2, 3]));
    const [b1, bin1] = await nextMessage(client);
    assert.ok(Buffer.isBuffer(b1));
    assert.deepEqual(b1, Buffer.from([1, 2, 3]));
    assert.equal(bin1, true);

    client.binaryType = 'arraybuffer';
    server.send(Buffer.from([4, 5]));
    const [b2] = await nextMessage(client);
    assert.ok(b2 instanceof ArrayBuffer);
    assert.deepEqual([...new Uint8Array(b2)], [4, 5]);

    client.binaryType = 'fragments';
    server.send(Buffer.from('ab'), { fin: false });
    server.send(Buffer.from('cd'), { fin: true });
    const [b3, bin3] = await nextMessage(client);
    assert.ok(Array.isArray(b3));
    assert.ok(b3.every((p) => Buffer.isBuffer(p)));
    assert.equal(Buffer.concat(b3 as Buffer[]).toString(), 'abcd');
    assert.equal(bin3, true);

    client.binaryType = 'blob';
    server.send(Buffer.from([6, 7]));
    const [b4, bin4] = await nextMessage(client);
    assert.ok(b4 instanceof Blob);
    assert.deepEqual([...new Uint8Array(await (b4 as Blob).arrayBuffer())], [6, 7]);
    assert.equal(bin4, true);

    // As ws: binaryType shapes binary messages only; text comes as one Buffer.
    for (const type of ['arraybuffer', 'fragments', 'blob'] as const) {
      client.binaryType = type;
      server.send('text');
      const [t, isBinary] = await nextMessage(client);
      assert.ok(Buffer.isBuffer(t), type);
      assert.equal(t.toString(), 'text');
      assert.equal(isBinary, false);
    }

    // An unknown value is ignored (as ws).
    client.binaryType = 'bytes' as never;
    assert.equal(client.binaryType, 'blob');
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('send options: {binary} and a message in two fragments ({fin:false} then {fin:true})', T, async () => {
  const started = await startServer();
  try {
    const { client, server } = await connectPair(started);
    const got: Array<[string, boolean]> = [];
    server.on('message', (data: Buffer, isBinary: boolean) => got.push([data.toString(), isBinary]));
    client.send('text as binary', { binary: true });
    client.send(Buffer.from('buffer as text'), { binary: false });
    client.send('first half, ', { fin: false });
    client.send('second half', { fin: true });
    await new Promise<void>((resolve) => client.send('last', () => resolve()));
    while (got.length < 4) await nextMessage(server);
    assert.deepEqual(got, [
      ['text as binary', true],
      ['buffer as text', false],
      ['first half, second half', false],
      ['last', false],
    ]);
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('ping/pong events carry their payloads both ways', T, async () => {
  const started = await startServer();
  try {
    const { client, server } = await connectPair(started);
    const serverPing = new Promise<Buffer>((resolve) => server.once('ping', resolve));
    const clientPong = new Promise<Buffer>((resolve) => client.once('pong', resolve));
    client.ping('are you there?');
    assert.equal((await serverPing).toString(), 'are you there?');
    assert.equal((await clientPong).toString(), 'are you there?');

    const clientPing = new Promise<Buffer>((resolve) => client.once('ping', resolve));
    const serverPong = new Promise<Buffer>((resolve) => server.once('pong', resolve));
    server.ping(Buffer.from([0, 1, 2]));
    assert.deepEqual(await clientPing, Buffer.from([0, 1, 2]));
    assert.deepEqual(await serverPong, Buffer.from([0, 1, 2]));

    // Unsolicited pong.
    const unsolicited = new Promise<Buffer>((resolve) => server.once('pong', resolve));
    client.pong('just so you know');
    assert.equal((await unsolicited).toString(), 'just so you know');
    assert.throws(() => client.ping(Buffer.alloc(126)), RangeError);
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('close(code, reason): the server sees both', T, async () => {
  const started = await startServer();
  try {
    const { client, server } = await connectPair(started);
    const serverClose = closed(server);
    const clientClose = closed(client);
    client.close(4001, 'done here');
    assert.deepEqual(await serverClose, { code: 4001, reason: 'done here' });
    assert.equal((await clientClose).code, 4001);
  } finally {
    await closeServer(started.wss);
  }
});

test('close() with an invalid code throws TypeError; a too long reason throws', T, async () => {
  const started = await startServer();
  try {
    const { client, server } = await connectPair(started);
    assert.throws(() => client.close(999), TypeError);
    assert.throws(() => client.close(1005), TypeError);
    assert.throws(() => client.close(1006), TypeError);
    assert.throws(() => client.close(5000), TypeError);
    assert.throws(() => client.close(1000, 'x'.repeat(124)), RangeError);
    assert.equal(client.readyState, WebSocket.OPEN, 'nothing was sent');
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('terminate(): both sides close with 1006', T, async () => {
  const started = await startServer();
  try {
    const { client, server } = await connectPair(started);
    const serverClose = closed(server);
    const clientClose = closed(client);
    client.terminate();
    assert.equal(client.readyState, WebSocket.CLOSING);
    assert.equal((await clientClose).code, 1006);
    assert.equal((await serverClose).code, 1006);
  } finally {
    await closeServer(started.wss);
  }
});

test('url, protocol and extensions properties', T, async () => {
  const started = await startServer();
  try {
    const connection = nextConnection(started.wss);
    const client = new WebSocket(`${started.url}/path?q=1`, 'proto-x');
    assert.equal(client.url, `${started.url}/path?q=1`);
    assert.equal(client.protocol, '');
    assert.equal(client.extensions, '');
    await opened(client);
    const [server] = await connection;
    assert.equal(client.protocol, 'proto-x');
    assert.equal(client.extensions, '');
    assert.equal(server.url, '');
    assert.equal(server.protocol, 'proto-x');
    await closePair(client, server);
  } finally {
    await closeServer(started.wss);
  }
});

test('server frames that arrive in the same packet as the 101 are delivered after open', T, async () => {
  const raw = await startRawServer(async (peer: RawPeer) => {
    const req = await peer.readHttpHead();
    const { acceptKey, encodeFrame } = await import('../support/raw-socket.js');
    await peer.write(
      Buffer.concat([
        Buffer.from(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${acceptKey(req.headers['sec-websocket-key']!)}\r\n\r\n`,
        ),
        encodeFrame({ opcode: Opcode.TEXT, payload: 'hello at once', mask: false }),
      ]),
    );
    const frame = await peer.readFrame();
    assert.equal(frame.opcode, Opcode.CLOSE);
    assert.equal(parseClosePayload(frame.payload).code, 1000);
    await peer.sendFrame({ opcode: Opcode.CLOSE, payload: frame.payload.subarray(0, 2) });
    peer.end();
    await peer.waitForEnd();
  });
  try {
    const client = new WebSocket(raw.url);
    const events: string[] = [];
    client.on('open', () => events.push('open'));
    client.on('message', (data: Buffer) => events.push(`message:${String(data)}`));
    await nextMessage(client);
    assert.deepEqual(events, ['open', 'message:hello at once']);
    const done = closed(client);
    client.close(1000);
    assert.equal((await done).code, 1000);
    await raw.idle();
    assert.deepEqual(raw.errors, []);
  } finally {
    await raw.close();
  }
});

test('close() or terminate() from an error listener while connecting: no throw, then one close (1006)', T, async () => {
  for (const method of ['close', 'terminate'] as const) {
    const ws = new WebSocket('ws://127.0.0.1:1/'); // nothing listens on port 1
    const log: unknown[] = [];
    ws.on('error', () => {
      ws[method]();
      log.push(['error', ws.readyState]);
    });
    await new Promise<void>((resolve) =>
      ws.on('close', (code: number) => {
        log.push(['close', code, ws.readyState]);
        resolve();
      }),
    );
    assert.deepEqual(log, [['error', WebSocket.CLOSING], ['close', 1006, WebSocket.CLOSED]], method);
  }
});

test('attributes and constants are shaped as in ws: enumerable accessors; constants enumerable, read-only, fixed on class and prototype', () => {
  for (const name of ['readyState', 'url', 'protocol', 'extensions', 'bufferedAmount', 'binaryType', 'isPaused']) {
    const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(WebSocket.prototype), name) ?? Object.getOwnPropertyDescriptor(WebSocket.prototype, name);
    assert.ok(d, name);
    assert.equal(typeof d.get, 'function', `${name} is an accessor`);
    assert.equal(d.enumerable, true, `${name} is enumerable`);
    assert.equal(d.configurable, true, `${name} is configurable`);
  }
  for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]] as const) {
    for (const target of [WebSocket, WebSocket.prototype]) {
      assert.deepEqual(Object.getOwnPropertyDescriptor(target, name), { value, enumerable: true, writable: false, configurable: false }, name);
    }
  }
});

test('ping(callback) and pong(callback): an empty payload, and the callback called', T, async () => {
  const started = await startServer();
  try {
    const seen: Array<[string, string]> = [];
    const connected = new Promise<WebSocket>((resolve) => started.wss.once('connection', resolve));
    const ws = new WebSocket(started.url);
    await new Promise((resolve) => ws.once('open', resolve));
    const server = await connected;
    const both = new Promise<void>((resolve) => {
      server.on('ping', (payload: Buffer) => seen.push(['ping', payload.toString('hex')]));
      server.on('pong', (payload: Buffer) => {
        seen.push(['pong', payload.toString('hex')]);
        resolve();
      });
    });
    const called: string[] = [];
    await new Promise<void>((resolve) => ws.ping((error?: Error) => (called.push(`ping ${error ?? 'ok'}`), resolve())));
    await new Promise<void>((resolve) => ws.pong((error?: Error) => (called.push(`pong ${error ?? 'ok'}`), resolve())));
    await both;
    assert.deepEqual(seen, [['ping', ''], ['pong', '']], 'empty payloads, not the function source');
    assert.deepEqual(called, ['ping ok', 'pong ok']);
    ws.terminate();
  } finally {
    await closeServer(started.wss);
  }
});

test('bufferedAmount counts messages waiting behind one being compressed (as ws)', T, async () => {
  const started = await startServer({ perMessageDeflate: true });
  try {
    const connected = new Promise<WebSocket>((resolve) => started.wss.once('connection', resolve));
    const ws = new WebSocket(started.url, { perMessageDeflate: true });
    await new Promise((resolve) => ws.once('open', resolve));
    const server = await connected;
    assert.equal(ws.extensions, 'permessage-deflate');
    const big = 'abcdefgh'.repeat(64 * 1024); // 512 KiB, compressed asynchronously
    const received: number[] = [];
    const both = new Promise<void>((resolve) =>
      server.on('message', (data: Buffer) => {
        received.push(data.length);
        if (received.length === 2) resolve();
      }),
    );
    ws.send(big);
    ws.send('behind it');
    assert.ok(ws.bufferedAmount >= big.length + 'behind it'.length, `bufferedAmount ${ws.bufferedAmount} counts both messages`);
    await both;
    assert.deepEqual(received, [big.length, 'behind it'.length]);
    ws.terminate();
  } finally {
    await closeServer(started.wss);
  }
});

test('ws+unix: URLs reach a server listening on a Unix socket, with the request path after the colon (as ws)', T, async () => {
  const { createServer } = await import('node:http');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'hyperws-unix-'));
  const socketPath = join(dir, 'ws.sock');
  const http = createServer();
  const { WebSocketServer } = await import('../../src/index.js');
  const wss = new WebSocketServer({ server: http });
  const paths: string[] = [];
  wss.on('connection', (ws, req) => {
    paths.push(req.url ?? '');
    ws.on('message', (data: Buffer) => ws.send(data));
  });
  await new Promise<void>((resolve) => http.listen(socketPath, resolve));
  try {
    const ws = new WebSocket(`ws+unix://${socketPath}:/chat?room=1`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('over a unix socket');
    const echo = await new Promise<Buffer>((resolve) => ws.once('message', (data: Buffer) => resolve(data)));
    assert.equal(echo.toString(), 'over a unix socket');
    assert.deepEqual(paths, ['/chat?room=1']);
    assert.equal(ws.url, `ws+unix://${socketPath}:/chat?room=1`);
    await new Promise((resolve) => {
      ws.once('close', resolve);
      ws.close();
    });
    assert.throws(() => new WebSocket('ws+unix:'), { name: 'SyntaxError', message: "The URL's pathname is empty" });
  } finally {
    await closeServer(wss);
    await new Promise((resolve) => http.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const deflate of [false, true]) {
  test(`send(Blob)${deflate ? ' with permessage-deflate' : ''}: sent as binary, in order with the sends around it`, T, async () => {
    const started = await startServer({ perMessageDeflate: deflate });
    try {
      const connected = new Promise<WebSocket>((resolve) => started.wss.once('connection', resolve));
      const ws = new WebSocket(started.url, { perMessageDeflate: deflate });
      await new Promise((resolve) => ws.once('open', resolve));
      const server = await connected;
      const got: Array<[string, boolean]> = [];
      const all = new Promise<void>((resolve) =>
        server.on('message', (data: Buffer, isBinary: boolean) => {
          got.push([data.toString(), isBinary]);
          if (got.length === 4) resolve();
        }),
      );
      const big = 'blob '.repeat(4000); // above the compression threshold
      const sentBack: Array<Error | null | undefined> = [];
      ws.send('before');
      ws.send(new Blob([big]), (error) => sentBack.push(error));
      ws.send('after');
      ws.send(new Blob(['small']));
      await all;
      assert.deepEqual(got, [['before', false], [big, true], ['after', false], ['small', true]]);
      assert.equal(sentBack.length, 1, 'the Blob send called back once');
      assert.ok(!sentBack[0], 'without an error');
      ws.terminate();
    } finally {
      await closeServer(started.wss);
    }
  });
}
