// The ws internals that ws-based packages call (src/node/ws-compat.ts):
// Sender.frame() and ws._sender.sendFrame() (socket.io/engine.io's
// pre-encoded broadcast), setSocket() and _isServer (@fastify/websocket's
// injectWS). Frames are checked byte for byte on a raw client, or on the
// real net.Socket's writes where the point is that bytes are not re-encoded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import DefaultExport, { Sender, WebSocket, type ServerOptions } from '../../src/index.js';
import { Opcode, closePayload, handshakeRaw, type RawClient } from '../support/raw-socket.js';
import { closePair, closed, connectPair, nextConnection, nextMessage, startServer, closeServer } from './helpers.js';

const T = { timeout: 20_000 };

type FrameList = Buffer[];
/** ws's own Sender.frame (require('ws').Sender; not in @types/ws). */
const wsFrame = (createRequire(import.meta.url)('ws') as { Sender: { frame(data: Buffer, options: object): FrameList } }).Sender.frame;

/** Record every chunk handed to a connection's net.Socket (the objects themselves). */
function recordWrites(ws: WebSocket): Buffer[] {
  const socket = ws._socket as Socket;
  const writes: Buffer[] = [];
  const write = socket.write;
  socket.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    writes.push(chunk as Buffer);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Socket['write'];
  return writes;
}

/** A server and `n` raw clients past the handshake, with the server side of each. */
async function rawClients(n: number, fn: (clients: RawClient[], servers: WebSocket[]) => Promise<void>, options: ServerOptions = {}): Promise<void> {
  const started = await startServer(options);
  const clients: RawClient[] = [];
  try {
    const servers: WebSocket[] = [];
    for (let i = 0; i < n; i++) {
      const connection = nextConnection(started.wss);
      clients.push(await handshakeRaw(started.port));
      servers.push((await connection)[0]);
    }
    await fn(clients, servers);
  } finally {
    await Promise.all(clients.map((c) => c.destroy()));
    await closeServer(started.wss);
  }
}

describe('Sender.frame', () => {
  it('is the package\'s WebSocket.Sender, as ws has it', () => {
    assert.equal((DefaultExport as unknown as { Sender: unknown }).Sender, Sender);
  });

  it('encodes one whole frame as a list of one Buffer: exact bytes', () => {
    assert.deepEqual(Sender.frame(Buffer.from('hi'), { opcode: 1, fin: true, mask: false, rsv1: false, readOnly: false }), [Buffer.from([0x81, 0x02, 0x68, 0x69])]);
    assert.deepEqual(Sender.frame('hi', { opcode: 2, fin: true }), [Buffer.from([0x82, 0x02, 0x68, 0x69])]);
    // As ws: fin left out makes a fragment; rsv1 sets the bit.
    assert.deepEqual(Sender.frame('', { opcode: 1 }), [Buffer.from([0x01, 0x00])]);
    assert.deepEqual(Sender.frame('a', { opcode: 1, fin: true, rsv1: true }), [Buffer.from([0xc1, 0x01, 0x61])]);
    const big = Buffer.alloc(300, 7);
    assert.deepEqual(Sender.frame(big, { opcode: 2, fin: true }), [Buffer.concat([Buffer.from([0x82, 126, 0x01, 0x2c]), big])]);
  });

  it('is byte for byte what ws\'s Sender.frame makes for socket.io\'s options', () => {
    const data = Buffer.from('42["news",{"a":1}]');
    const options = { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true };
    assert.deepEqual(Buffer.concat(Sender.frame(data, options)), Buffer.concat(wsFrame(Buffer.from(data), options)));
  });

  it('mask: true masks a copy with a fresh key; the data given is not modified', () => {
    const data = Buffer.from('hello');
    const [frame] = Sender.frame(data, { opcode: 1, fin: true, mask: true });
    assert.equal(data.toString(), 'hello');
    assert.equal(frame!.length, 2 + 4 + 5);
    assert.deepEqual(frame!.subarray(0, 2), Buffer.from([0x81, 0x85]));
    const key = frame!.subarray(2, 6);
    const payload = Buffer.from(frame!.subarray(6).map((b, i) => b ^ key[i & 3]!));
    assert.equal(payload.toString(), 'hello');
  });

  it('mask with generateMask and maskBuffer: the key ws would use, byte for byte', () => {
    const fill = (mask: Buffer) => mask.set([1, 2, 3, 4]);
    const ours = Sender.frame('hello', { opcode: 1, fin: true, mask: true, generateMask: fill });
    const theirs = wsFrame(Buffer.from('hello'), { opcode: 1, fin: true, mask: true, readOnly: false, generateMask: fill });
    assert.deepEqual(Buffer.concat(ours), Buffer.concat(theirs));
    assert.deepEqual(ours[0]!.subarray(2, 6), Buffer.from([1, 2, 3, 4]));
    const maskBuffer = Buffer.alloc(4);
    const [frame] = Sender.frame('hello', { opcode: 1, fin: true, mask: true, maskBuffer });
    assert.deepEqual(frame!.subarray(2, 6), maskBuffer, 'the random key is the one written to maskBuffer');
    const withBoth = Buffer.alloc(4);
    Sender.frame('x', { opcode: 1, fin: true, mask: true, maskBuffer: withBoth, generateMask: fill });
    assert.deepEqual(withBoth, Buffer.from([1, 2, 3, 4]));
  });

  it('an opcode outside 0-15 is a TypeError', () => {
    assert.throws(() => Sender.frame('x', { opcode: 16, fin: true }), TypeError);
    assert.throws(() => Sender.frame('x', { opcode: 1.5, fin: true }), TypeError);
  });
});

describe('ws._sender.sendFrame', () => {
  it('_sender is null until open (a client connecting, a WebSocket made with null)', T, async () => {
    const started = await startServer();
    try {
      assert.equal(new WebSocket(null)._sender, null);
      const connection = nextConnection(started.wss);
      const client = new WebSocket(started.url);
      assert.equal(client._sender, null);
      await once(client, 'open');
      const [server] = await connection;
      assert.equal(typeof server._sender?.sendFrame, 'function');
      assert.ok(client._sender! instanceof Sender);
      await closePair(client, server);
    } finally {
      await closeServer(started.wss);
    }
  });

  it('writes the very same Buffer to every server connection: the frame is not re-encoded', T, async () => {
    await rawClients(3, async (clients, servers) => {
      const list = Sender.frame('42["news",1]', { opcode: 1, fin: true, mask: false, rsv1: false, readOnly: false });
      const writes = servers.map(recordWrites);
      const done = servers.map((ws) => new Promise<Error | null | undefined>((resolve) => ws._sender!.sendFrame(list, resolve)));
      for (const client of clients) {
        const frame = await client.readFrame();
        assert.deepEqual([frame.opcode, frame.fin, frame.masked, frame.payload.toString()], [Opcode.TEXT, true, false, '42["news",1]']);
      }
      for (const w of writes) {
        assert.equal(w.length, 1);
        assert.equal(w[0], list[0]); // the object itself
      }
      for (const error of await Promise.all(done)) assert.equal(error ?? null, null);
    });
  });

  it('takes ws\'s own frame lists ([header, payload]): joined once, the same bytes written to each connection', T, async () => {
    await rawClients(2, async (clients, servers) => {
      const list = wsFrame(Buffer.from('x'.repeat(200)), { readOnly: false, mask: false, rsv1: false, opcode: 2, fin: true });
      assert.equal(list.length, 2);
      const writes = servers.map(recordWrites);
      for (const ws of servers) ws._sender!.sendFrame(list, () => {});
      for (const client of clients) {
        const frame = await client.readFrame();
        assert.deepEqual([frame.opcode, frame.payload.toString()], [Opcode.BINARY, 'x'.repeat(200)]);
      }
      assert.equal(writes[0]!.length, 1);
      assert.equal(writes[1]!.length, 1);
      assert.equal(writes[0]![0], writes[1]![0]);
      assert.deepEqual(writes[0]![0], Buffer.concat(list));
    });
  });

  it('goes out in order with send() around it, also behind a message being compressed', T, async () => {
    const started = await startServer({ perMessageDeflate: true });
    try {
      const { client, server } = await connectPair(started);
      assert.equal(server.extensions, 'permessage-deflate');
      const received: string[] = [];
      const all = new Promise<void>((resolve) =>
        client.on('message', (data: Buffer) => {
          received.push(data.length > 100 ? `big ${data.length}` : data.toString());
          if (received.length === 4) resolve();
        }),
      );
      server.send('first');
      server.send('z'.repeat(200_000)); // compressed asynchronously (above 64 KiB): later frames queue behind it
      server._sender!.sendFrame(Sender.frame('pre-encoded', { opcode: 1, fin: true }));
      server.send('last');
      await all;
      assert.deepEqual(received, ['first', 'big 200000', 'pre-encoded', 'last']);
      await closePair(client, server);
    } finally {
      await closeServer(started.wss);
    }
  });

  it('after close: nothing is written and the callback gets an error, as send() does', T, async () => {
    await rawClients(1, async ([client], [server]) => {
      const writes = recordWrites(server!);
      server!.close(1000);
      const error = await new Promise<Error | null | undefined>((resolve) => server!._sender!.sendFrame(Sender.frame('late', { opcode: 1, fin: true }), resolve));
      assert.match(String(error?.message), /WebSocket is not open: readyState 2 \(CLOSING\)/);
      assert.deepEqual(writes, [Buffer.from([0x88, 0x02, 0x03, 0xe8])]); // our Close, nothing after it
      const frame = await client!.readFrame();
      assert.deepEqual([frame.opcode, frame.payload], [Opcode.CLOSE, closePayload(1000)]);
    });
  });

  it("above maxBackpressure: refused like a publication, the callback gets WS_ERR_BACKPRESSURE (policy 'error' does not throw: a broadcast goes on)", T, async () => {
    await rawClients(
      1,
      async ([client], [server]) => {
        client!.socket.pause();
        server!.send(Buffer.alloc(4 << 20, 1)); // the peer does not read: most of it stays unsent
        assert.ok(server!.bufferedAmount > 64 * 1024);
        const error = await new Promise<(Error & { code?: string }) | null | undefined>((resolve) =>
          server!._sender!.sendFrame(Sender.frame('refused', { opcode: 1, fin: true }), resolve),
        );
        assert.equal(error?.code, 'WS_ERR_BACKPRESSURE');
        assert.equal(server!.readyState, WebSocket.OPEN);
        client!.socket.resume();
        assert.equal((await client!.readFrame()).payload.length, 4 << 20);
        server!.send('marker');
        assert.equal((await client!.readFrame()).payload.toString(), 'marker', 'the refused frame never went out');
      },
      { maxBackpressure: 64 * 1024, backpressurePolicy: 'error' },
    );
  });

  it('while our fragmented message is unfinished: throws, nothing written', T, async () => {
    await rawClients(1, async ([client], [server]) => {
      server!.send('part', { fin: false });
      assert.throws(() => server!._sender!.sendFrame(Sender.frame('x', { opcode: 1, fin: true })), /fragmented/);
      server!.send('end');
      const a = await client!.readFrame();
      const b = await client!.readFrame();
      assert.deepEqual([a.opcode, a.fin, a.payload.toString(), b.opcode, b.fin, b.payload.toString()], [Opcode.TEXT, false, 'part', Opcode.CONTINUATION, true, 'end']);
    });
  });

  it('refuses a list that is not one whole data frame (TypeError)', T, async () => {
    await rawClients(1, async (_clients, [server]) => {
      const sender = server!._sender!;
      assert.throws(() => sender.sendFrame([]), TypeError);
      assert.throws(() => sender.sendFrame(['x' as unknown as Buffer]), TypeError);
      assert.throws(() => sender.sendFrame(Sender.frame('x', { opcode: 9, fin: true })), TypeError); // a ping
      assert.throws(() => sender.sendFrame(Sender.frame('x', { opcode: 1 })), TypeError); // a fragment
    });
  });

  it('on a client the message goes out masked, through send()', T, async () => {
    const started = await startServer();
    try {
      const { client, server } = await connectPair(started);
      const message = nextMessage(server);
      client._sender!.sendFrame(Sender.frame('from client', { opcode: 1, fin: true }));
      const [data, isBinary] = await message;
      assert.deepEqual([String(data), isBinary], ['from client', false]); // an unmasked frame would have failed with 1002
      await closePair(client, server);
    } finally {
      await closeServer(started.wss);
    }
  });
});

describe('setSocket and _isServer', () => {
  /** Two ends of one TCP connection on 127.0.0.1 (no handshake: setSocket starts at frames). */
  async function socketPair(): Promise<{ a: Socket; b: Socket; close: () => Promise<void> }> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const b = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(b, 'connect');
    const [a] = await accepted;
    return {
      a,
      b,
      close: async () => {
        a.destroy();
        b.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  it('_isServer: true for a WebSocket made with null, false for a client; settable until open', T, async () => {
    const ws = new WebSocket(null);
    assert.equal(ws._isServer, true);
    ws._isServer = false;
    assert.equal(ws._isServer, false);
    const started = await startServer();
    try {
      const connection = nextConnection(started.wss);
      const client = new WebSocket(started.url);
      assert.equal(client._isServer, false);
      await once(client, 'open');
      const [server] = await connection;
      assert.equal(server._isServer, true);
      server._isServer = false; // ignored once open
      assert.equal(server._isServer, true);
      await closePair(client, server);
    } finally {
      await closeServer(started.wss);
    }
  });

  it('opens both ends of a stream, emits open synchronously; client frames are masked, server ones not; clean close', T, async () => {
    const pair = await socketPair();
    try {
      const server = new WebSocket(null);
      const client = new WebSocket(null);
      client._isServer = false;
      const events: string[] = [];
      server.on('open', () => events.push('server open'));
      client.on('open', () => events.push('client open'));
      const raw: Buffer[] = [];
      pair.a.on('data', (chunk: Buffer) => raw.push(Buffer.from(chunk))); // what the server end receives, as sent
      server.setSocket(pair.a, Buffer.alloc(0), { maxPayload: 0 });
      client.setSocket(pair.b, Buffer.alloc(0), { maxPayload: 0 });
      assert.deepEqual(events, ['server open', 'client open']);
      assert.deepEqual([server.readyState, client.readyState], [WebSocket.OPEN, WebSocket.OPEN]);

      const atServer = nextMessage(server);
      client.send('ping me');
      assert.equal(String((await atServer)[0]), 'ping me');
      assert.equal(raw[0]![1]! & 0x80, 0x80, 'the client masked its frame');
      const atClient = nextMessage(client);
      server.send(Buffer.from([1, 2, 3]));
      assert.deepEqual((await atClient)[0], Buffer.from([1, 2, 3]));

      const closes = Promise.all([closed(server), closed(client)]);
      client.close(1000, 'bye');
      assert.deepEqual(await closes, [{ code: 1000, reason: 'bye' }, { code: 1000, reason: 'bye' }]);
    } finally {
      await pair.close();
    }
  });

  it('head bytes are read first; maxPayload applies (1009 above it)', T, async () => {
    const pair = await socketPair();
    try {
      const server = new WebSocket(null);
      const client = new WebSocket(null);
      client._isServer = false;
      // A masked text frame "ok" (key 0) that arrived with the handshake.
      server.setSocket(pair.a, Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x6f, 0x6b]), { maxPayload: 4 });
      client.setSocket(pair.b, Buffer.alloc(0), {});
      const got: string[] = [];
      server.on('message', (data: Buffer) => got.push(data.toString()));
      const closes = Promise.all([closed(server), closed(client)]);
      client.send('too long');
      const [atServer, atClient] = await closes;
      assert.deepEqual(got, ['ok']);
      assert.equal(atServer.code, 1009);
      assert.equal(atClient.code, 1009);
    } finally {
      await pair.close();
    }
  });

  it('refuses an open WebSocket and one made with a URL', T, async () => {
    const pair = await socketPair();
    try {
      const ws = new WebSocket(null);
      ws.setSocket(pair.a, Buffer.alloc(0));
      assert.throws(() => ws.setSocket(pair.a, Buffer.alloc(0)), /already open/);
      const client = new WebSocket('ws://127.0.0.1:1/');
      client.on('error', () => {});
      assert.throws(() => client.setSocket(pair.b, Buffer.alloc(0)), /created with null/);
      client.terminate();
      ws.terminate();
    } finally {
      await pair.close();
    }
  });
});
