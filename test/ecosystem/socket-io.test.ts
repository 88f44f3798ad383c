// socket.io 4 over hyperws, both ends: the server takes our WebSocketServer
// as its wsEngine, and socket.io-client's engine.io-client requires `ws`,
// which resolves to hyperws here (../support/ws-alias.ts), so its websocket
// transport is our client. Each test checks the data end to end and that
// the WebSockets under both ends really are ours.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { T, clientWebSocket, nextEvent, recordWrites, serverWebSocket, startSocketIo, type SocketIoSetup } from './helpers.js';
import { hyperws, realWsLoaded } from '../support/ws-alias.js';

const { WebSocket } = hyperws();

async function withServer(options: Parameters<typeof startSocketIo>[0], fn: (s: SocketIoSetup) => Promise<void>): Promise<void> {
  const setup = await startSocketIo(options);
  try {
    await fn(setup);
  } finally {
    await setup.close();
  }
}

describe('socket.io with wsEngine: hyperws', () => {
  it('websocket transport only: events both ways, acknowledgements both ways, over our WebSockets', T, async () => {
    await withServer({ transports: ['websocket'] }, async (s) => {
      s.io.on('connection', (socket) => {
        socket.on('add', (a: number, b: number, ack: (sum: number) => void) => ack(a + b));
        socket.on('echo', (payload: unknown) => socket.emit('echoed', payload));
      });
      const { client, server } = await s.connect();
      assert.ok(serverWebSocket(server) instanceof WebSocket, 'the server end is a hyperws WebSocket');
      assert.ok(clientWebSocket(client) instanceof WebSocket, 'the client end is a hyperws WebSocket');
      assert.equal(server.conn.transport.name, 'websocket');

      assert.equal(await client.emitWithAck('add', 2, 40), 42);
      const echoed = nextEvent(client, 'echoed');
      client.emit('echo', { text: 'héllo ☃', list: [1, 2, 3], nested: { ok: true } });
      assert.deepEqual(await echoed, [{ text: 'héllo ☃', list: [1, 2, 3], nested: { ok: true } }]);

      client.on('question', (q: string, ack: (answer: string) => void) => ack(`answer to ${q}`));
      assert.equal(await server.timeout(10_000).emitWithAck('question', 'life'), 'answer to life');
      assert.deepEqual(realWsLoaded(), []);
    });
  });

  it('rooms and broadcasts reach exactly their members, in order', T, async () => {
    await withServer({ transports: ['websocket'] }, async (s) => {
      const a1 = await s.connect();
      const a2 = await s.connect();
      const b1 = await s.connect();
      a1.server.join('a');
      a2.server.join('a');
      b1.server.join('b');
      const got = new Map<string, string[]>();
      for (const [name, c] of [['a1', a1], ['a2', a2], ['b1', b1]] as const) {
        got.set(name, []);
        c.client.on('news', (text: string) => got.get(name)!.push(text));
      }
      // Each client's last message tells it is done.
      const done = [a1, a2, b1].map((c) => nextEvent(c.client, 'end'));
      s.io.to('a').emit('news', 'to a');
      s.io.to('b').emit('news', 'to b');
      s.io.except('a').emit('news', 'all but a');
      a1.server.broadcast.emit('news', 'from a1 to the others');
      a1.server.to('a').emit('news', 'from a1 to the rest of a');
      s.io.emit('news', 'to everyone');
      s.io.emit('end');
      await Promise.all(done);
      assert.deepEqual(Object.fromEntries(got), {
        a1: ['to a', 'to everyone'],
        a2: ['to a', 'from a1 to the others', 'from a1 to the rest of a', 'to everyone'],
        b1: ['to b', 'all but a', 'from a1 to the others', 'to everyone'],
      });
    });
  });

  it('binary payloads, alone and inside objects, both ways and broadcast', T, async () => {
    await withServer({ transports: ['websocket'] }, async (s) => {
      const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
      s.io.on('connection', (socket) => {
        socket.on('upload', (file: Buffer, meta: { name: string }, ack: (r: unknown) => void) => {
          ack({ name: meta.name, size: file.length, first: file[0], last: file[file.length - 1], same: Buffer.compare(file, bytes) === 0 });
        });
      });
      const one = await s.connect();
      const two = await s.connect();
      assert.deepEqual(await one.client.emitWithAck('upload', bytes, { name: 'f.bin' }), { name: 'f.bin', size: 300, first: 0, last: 43, same: true });

      const received = [one, two].map((c) => nextEvent<[{ label: string; data: Buffer }, Buffer]>(c.client, 'blob'));
      s.io.emit('blob', { label: 'both', data: bytes }, Buffer.from('tail'));
      for (const [object, tail] of await Promise.all(received)) {
        assert.equal(object.label, 'both');
        assert.deepEqual(Buffer.from(object.data), bytes);
        assert.equal(Buffer.from(tail).toString(), 'tail');
      }
    });
  });

  it('polling first, then the upgrade to our websocket transport; messages keep their order across it', T, async () => {
    await withServer({}, async (s) => {
      // The Engine.IO connection starts with the first polling request, before any upgrade can begin.
      const engine = new Promise<{ initial: string; upgraded: Promise<unknown> }>((resolve) =>
        s.io.engine.once('connection', (conn: { transport: { name: string }; once(e: string, f: () => void): void }) =>
          resolve({ initial: conn.transport.name, upgraded: new Promise<void>((done) => conn.once('upgrade', done)) }),
        ),
      );
      const seen: number[] = [];
      s.io.on('connection', (socket) => socket.on('n', (n: number) => seen.push(n)));
      const { client, server } = await s.connect({ transports: ['polling', 'websocket'] });
      for (let n = 0; n < 5; n++) client.emit('n', n);
      const { initial, upgraded } = await engine;
      assert.equal(initial, 'polling');
      await upgraded;
      for (let n = 5; n < 10; n++) client.emit('n', n);
      const reply = nextEvent(client, 'seen');
      server.on('last', () => server.emit('seen', seen.slice()));
      client.emit('last');
      assert.deepEqual(await reply, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
      assert.equal(server.conn.transport.name, 'websocket');
      assert.equal(client.io.engine.transport.name, 'websocket');
      assert.ok(serverWebSocket(server) instanceof WebSocket);
      assert.ok(clientWebSocket(client) instanceof WebSocket);
    });
  });

  it('permessage-deflate: negotiated, compressed on the wire (RSV1), data intact both ways', T, async () => {
    await withServer({ transports: ['websocket'], perMessageDeflate: { threshold: 0 } }, async (s) => {
      s.io.on('connection', (socket) => socket.on('echo', (text: string, ack: (t: string) => void) => ack(text)));
      const { client, server } = await s.connect();
      const ws = serverWebSocket(server);
      assert.equal(ws.extensions, 'permessage-deflate');
      assert.equal((clientWebSocket(client) as { extensions: string }).extensions, 'permessage-deflate');
      const writes = recordWrites(ws);
      const text = JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ id: i, name: `item ${i}` })));
      assert.equal(await client.emitWithAck('echo', text), text);
      // The ack went out as one compressed frame, far smaller than its text.
      const frames = Buffer.concat(writes);
      assert.equal(frames[0]! & 0x40, 0x40, 'RSV1 set: compressed');
      assert.ok(frames.length < text.length / 4, `${frames.length} bytes on the wire for ${text.length}`);
    });
  });

  it('disconnect reasons on both ends', T, async () => {
    await withServer({ transports: ['websocket'], pingInterval: 200, pingTimeout: 200 }, async (s) => {
      const reasons = async (setup: () => void, c: { client: import('socket.io-client').Socket; server: import('socket.io').Socket }) => {
        const both = Promise.all([nextEvent<[string]>(c.server, 'disconnect'), nextEvent<[string]>(c.client, 'disconnect')]);
        setup();
        const [[server], [client]] = await both;
        return { server, client };
      };
      const c1 = await s.connect();
      assert.deepEqual(await reasons(() => c1.server.disconnect(true), c1), { server: 'server namespace disconnect', client: 'io server disconnect' });
      const c2 = await s.connect();
      assert.deepEqual(await reasons(() => c2.client.disconnect(), c2), { server: 'client namespace disconnect', client: 'io client disconnect' });
      const c3 = await s.connect();
      // The connection itself drops (our server-side WebSocket terminated).
      assert.deepEqual(await reasons(() => serverWebSocket(c3.server).terminate(), c3), { server: 'transport close', client: 'transport close' });
      const c4 = await s.connect();
      // The server stops reading: the client's pongs go unheard (the client still gets the pings).
      const paused = serverWebSocket(c4.server);
      c4.server.once('disconnect', () => paused.resume()); // so that the closing handshake completes
      assert.deepEqual(await reasons(() => paused.pause(), c4), { server: 'ping timeout', client: 'transport close' });
      const c5 = await s.connect();
      const last = Promise.all([nextEvent<[string]>(c5.server, 'disconnect'), nextEvent<[string]>(c5.client, 'disconnect')]);
      s.io.close();
      const [[server], [client]] = await last;
      assert.deepEqual({ server, client }, { server: 'server shutting down', client: 'transport close' });
    });
  });
});
