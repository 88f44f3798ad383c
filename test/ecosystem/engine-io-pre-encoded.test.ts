// engine.io's pre-encoded broadcast over hyperws. socket.io-adapter encodes a
// broadcast's frame once with require('ws').Sender.frame() (here hyperws's,
// see ../support/ws-alias.ts), and engine.io's websocket transport hands that
// frame to each socket's `_sender.sendFrame()` when its perMessageDeflate is
// off. Asserted where it shows: the frame is built once for N sockets, and
// every connection's net.Socket is handed that very Buffer. With
// perMessageDeflate on, engine.io encodes per socket: the control case.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { T, nextEvent, recordWrites, serverWebSocket, startSocketIo, type SocketIoSetup } from './helpers.js';
import { hyperws, realWsLoaded } from '../support/ws-alias.js';

const { Sender } = hyperws();
const N = 4;

interface Counted {
  frames: Buffer[][];
  sendFrames: number;
  restore(): void;
}

/** Count Sender.frame() calls (keeping what they return) and sendFrame() calls. */
function countEncoding(): Counted {
  const frame = Sender.frame;
  const sendFrame = Sender.prototype.sendFrame;
  const counted: Counted = {
    frames: [],
    sendFrames: 0,
    restore() {
      Sender.frame = frame;
      Sender.prototype.sendFrame = sendFrame;
    },
  };
  Sender.frame = (...args: Parameters<typeof frame>) => {
    const list = frame(...args);
    counted.frames.push(list);
    return list;
  };
  Sender.prototype.sendFrame = function (this: InstanceType<typeof Sender>, ...args: Parameters<typeof sendFrame>) {
    counted.sendFrames++;
    return sendFrame.apply(this, args);
  };
  return counted;
}

/** N connected clients, each server-side WebSocket's writes recorded from now on. */
async function clients(s: SocketIoSetup): Promise<{ received: Array<Promise<unknown[]>>; writes: Buffer[][] }> {
  const connected = [];
  for (let i = 0; i < N; i++) connected.push(await s.connect());
  for (const c of connected) c.server.join('room');
  return {
    received: connected.map((c) => nextEvent(c.client, 'news')),
    writes: connected.map((c) => recordWrites(serverWebSocket(c.server))),
  };
}

describe('engine.io pre-encoded frames over hyperws', () => {
  for (const [what, emit] of [
    ['io.emit', (s: SocketIoSetup) => s.io.emit('news', { n: 1, text: 'encoded once' })],
    ['io.to(room).emit', (s: SocketIoSetup) => s.io.to('room').emit('news', { n: 1, text: 'encoded once' })],
  ] as const) {
    it(`${what}: one frame built for ${N} sockets, the same Buffer written to each`, T, async () => {
      const s = await startSocketIo({ transports: ['websocket'] });
      const counted = countEncoding();
      try {
        const { received, writes } = await clients(s);
        emit(s);
        for (const args of await Promise.all(received)) assert.deepEqual(args, [{ n: 1, text: 'encoded once' }]);
        assert.equal(counted.frames.length, 1, 'Sender.frame() called once');
        assert.equal(counted.sendFrames, N, 'sendFrame() once per socket');
        const [frame] = counted.frames[0]!;
        assert.equal(frame!.toString('latin1', 2), '42["news",{"n":1,"text":"encoded once"}]');
        for (const w of writes) {
          assert.equal(w.length, 1);
          assert.equal(w[0], frame, 'the very Buffer Sender.frame() built');
        }
        assert.deepEqual(realWsLoaded(), []);
      } finally {
        counted.restore();
        await s.close();
      }
    });
  }

  it('with perMessageDeflate on, engine.io encodes per socket: no sendFrame(), a distinct Buffer per connection', T, async () => {
    const s = await startSocketIo({ transports: ['websocket'], perMessageDeflate: { threshold: 1 << 20 } });
    const counted = countEncoding();
    try {
      const { received, writes } = await clients(s);
      s.io.emit('news', { n: 2 });
      for (const args of await Promise.all(received)) assert.deepEqual(args, [{ n: 2 }]);
      assert.equal(counted.sendFrames, 0);
      const written = writes.map((w) => {
        assert.equal(w.length, 1);
        return w[0]!;
      });
      assert.equal(new Set(written).size, N, 'one Buffer per connection');
      for (const b of written) assert.equal(b.toString('latin1', 2), '42["news",{"n":2}]'); // below the threshold: not compressed
    } finally {
      counted.restore();
      await s.close();
    }
  });
});
